"""The editor half of the offline test: run ONLY as a child of tests/test_offline.py
(``test_editor_analysis_offline``), which preloads the network guard and watches the process.
The file name does not match ``test_*.py``, so the normal suite does not collect it."""

from __future__ import annotations

import json
import os

import pytest


@pytest.fixture
def no_dialogs(monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    said = []
    for name in ("question", "warning", "information", "critical"):
        monkeypatch.setattr(QMessageBox, name, staticmethod(
            lambda parent, title, text, *a, **k: said.append((title, text)) or QMessageBox.StandardButton.Yes))
    return said


def test_editor_analysis_under_the_guard(qtbot, no_dialogs):
    if not os.environ.get("OBSCURA_NETGUARD_LOG"):
        pytest.skip("run by tests/test_offline.py under the network guard only")
    from app.ui.main_window import MainWindow

    clip, project = os.environ["OBSCURA_OFFLINE_CLIP"], os.environ["OBSCURA_OFFLINE_PROJECT"]
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    assert win.open_path(clip)
    qtbot.waitUntil(lambda: win.view.displayed_frame == 0, timeout=20000)
    assert win.start_analysis(confirm=False)
    qtbot.waitUntil(lambda: not win.analysis_running(), timeout=240000)
    qtbot.waitUntil(lambda: win.act_analyze.isEnabled(), timeout=5000)
    classes = [t.cls for t in win.doc.project.tracks]
    assert "face" in classes, (classes, win.analysis_label.text(), no_dialogs)
    for i in range(0, win.doc.frame_count):  # the timeline's thumbnails and the viewport decode too
        win.timeline.update()
        win.doc.set_frame(i)
    qtbot.waitUntil(lambda: win.view.displayed_frame == win.doc.frame_count - 1, timeout=20000)
    win.autosave_now()
    assert win._save_to(project)
    assert json.loads(open(project).read())["tracks"]
    win.close()
