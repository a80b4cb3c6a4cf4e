"""The whole editor window, driven like an operator would: open, seek, analyse, select, save, recover."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.media.reader import VideoReader
from tests.ui.conftest import wait_frame as _wait_frame


def test_open_and_seek_by_keys_shows_exact_frames(qtbot, window, short_sample):
    assert window.open_path(short_sample)
    _wait_frame(qtbot, window, 0)
    window.view.setFocus()
    for _ in range(3):
        qtbot.keyClick(window.view, Qt.Key.Key_Right)
    _wait_frame(qtbot, window, 3)
    qtbot.keyClick(window.view, Qt.Key.Key_End)
    _wait_frame(qtbot, window, 39)
    with VideoReader(short_sample) as r:
        assert np.array_equal(window.view.displayed_image(), r.read(39).to_bgr())
    assert "frame 39" in window.position_label.text()
    qtbot.keyClick(window.view, Qt.Key.Key_Home)
    _wait_frame(qtbot, window, 0)


def test_analysis_finds_tracks_then_undo_and_cancel(qtbot, window, short_sample):
    assert window.open_path(short_sample)
    assert window.start_analysis(confirm=False)
    qtbot.waitUntil(lambda: not window.analysis_running(), timeout=180000)
    qtbot.waitUntil(lambda: window.act_analyze.isEnabled(), timeout=5000)
    classes = sorted(t.cls for t in window.doc.project.tracks)
    assert classes.count("face") >= 1 and classes.count("plate") >= 1, classes
    # the tracks appear in the list and on the timeline
    assert window.track_list.model.rowCount() == len(window.doc.project.tracks)
    for t in window.doc.project.tracks:
        assert not window.timeline.lane_rect(t.id).isEmpty()
    assert "analysed" in window.analysis_label.text()
    # the analysis is one undoable step
    n = len(window.doc.project.tracks)
    window.doc.undo.undo()
    assert window.doc.project.tracks == []
    window.doc.undo.redo()
    assert len(window.doc.project.tracks) == n
    # select in the list -> selected on the timeline and the viewport
    view = window.track_list.view
    view.selectRow(0)
    tid = window.track_list.selected_ids()[0]
    assert window.doc.selection == [tid]
    assert tid in window.timeline.highlighted_ids()
    # a cancelled re-run changes nothing
    before = [(t.id, t.keyframes) for t in window.doc.project.tracks]
    assert window.start_analysis(confirm=False)
    qtbot.waitUntil(lambda: window.progress.isVisible(), timeout=5000)
    window.cancel_analysis()
    qtbot.waitUntil(lambda: not window.analysis_running(), timeout=60000)
    qtbot.waitUntil(lambda: window.act_analyze.isEnabled(), timeout=5000)
    assert [(t.id, t.keyframes) for t in window.doc.project.tracks] == before
    assert "cancelled" in window.analysis_label.text()


def test_save_reopen_compare(qtbot, window, short_sample, tmp_path):
    from app.core.project import Keyframe, KeyframeSource, Track
    from app.core.shapes import Shape

    assert window.open_path(short_sample)
    t = Track(id="manual-0001", cls="manual", label="logo", keyframes=[
        Keyframe(2, Shape.ellipse(10, 10, 80, 60), KeyframeSource.MANUAL),
        Keyframe(30, Shape.ellipse(100, 10, 170, 60), KeyframeSource.MANUAL),
    ])
    window.doc.project.add_track(t)
    window.doc.mark_changed()
    assert window.doc.dirty and window.windowTitle().startswith("*")
    path = str(tmp_path / "p.obscura.json")
    assert window._save_to(path)
    assert not window.doc.dirty
    saved = json.loads(open(path).read())
    window.open_path(path)
    assert window.doc.project_path == os.path.abspath(path)
    (track,) = window.doc.project.tracks
    assert track.id == "manual-0001" and track.label == "logo"
    assert track.shape_at(16).bbox == pytest.approx((55, 10, 125, 60))
    assert json.loads(open(path).read()) == saved
    assert os.path.abspath(path) in window.recent_files()


def test_recover_after_a_crash(qtbot, data_dir, short_sample, tmp_path):
    """A child process edits, autosaves and is killed; the next window offers the autosave back."""
    code = textwrap.dedent(f"""
        import os, signal
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        from app.ui.main_window import MainWindow
        from app.core.project import Track, Keyframe, KeyframeSource
        from app.core.shapes import Shape
        w = MainWindow()
        assert w.open_path({short_sample!r})
        w.doc.project.add_track(Track(id="manual-0001", cls="manual", keyframes=[
            Keyframe(5, Shape.rect(1, 2, 30, 40), KeyframeSource.MANUAL)]))
        w.doc.mark_changed()
        w.autosave_now()
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    env = dict(os.environ, OBSCURA_DATA=str(data_dir))
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
                       cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert r.returncode == -9, r.stderr[-2000:]
    from app.ui.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    offered = []
    assert win.offer_recovery(ask=lambda rec: offered.append(rec.media_path) or True)
    assert offered == [os.path.abspath(short_sample)]
    (track,) = win.doc.project.tracks
    assert track.id == "manual-0001" and track.shape_at(5).bbox == (1, 2, 30, 40)
    assert win.doc.dirty  # recovered work is unsaved until the operator saves it
    win.doc._dirty = False
    win.doc.undo.setClean()
    win.close()
    from app.ui import autosave

    assert autosave.pending() == []  # a clean close leaves nothing to recover


def test_layout_is_remembered(qtbot, data_dir):
    from app.ui.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    win.tracks_dock.setFloating(True)
    win.close()
    win2 = MainWindow()
    qtbot.addWidget(win2)
    assert win2.tracks_dock.isFloating()
    win2.close()


def test_bad_file_gives_a_message_not_a_traceback(qtbot, window, tmp_path, _no_blocking_dialogs):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(os.urandom(5000))
    assert not window.open_path(str(bad))
    shown = [text for _title, text in _no_blocking_dialogs]
    assert shown and "\n" not in shown[-1] and str(bad) in shown[-1] and "Traceback" not in shown[-1]
    assert not window.doc.has_media
