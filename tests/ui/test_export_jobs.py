"""The editor's export runs the delivery job (the CLI's and batch's): a range export's leak events
are in the project's frames, where the Leak check panel seeks and masks; the audit report states
the detection that really ran in this session, and ``ran: false`` when none did."""

from __future__ import annotations

import json

import pytest

from app.media.sample import truth_project
from tests.test_leakcheck import write_short_sample
from tests.ui.test_export_dialog import open_clip, open_dialog

LEFT = pytest.importorskip("PySide6.QtCore").Qt.MouseButton.LeftButton


@pytest.fixture(scope="module")
def short(tmp_path_factory):
    path = tmp_path_factory.mktemp("short") / "short.mp4"
    truth = write_short_sample(path)  # 24 frames, a real face and a real plate, 640x360
    return str(path), truth


def _export(qtbot, window, out, leak=True, report=True, marked=False):
    dlg = open_dialog(window)
    dlg.path_edit.setText(str(out))
    dlg.preset_combo.setCurrentText("ultrafast")
    dlg.range_marked.setChecked(marked)
    dlg.set_leak_mode(leak if isinstance(leak, str) else "quick" if leak else None)
    dlg.report_box.setChecked(report)
    qtbot.mouseClick(dlg.export_button, LEFT)
    qtbot.waitUntil(lambda: not window.exporter.running(), timeout=180000)
    assert window.exporter.last_result is not None and window.exporter.last_result.output == str(out)
    return window.exporter.last_after


def _face_box(truth, frame):
    return next(b["box"] for b in truth[frame] if b["cls"] == "face")


@pytest.mark.slow
def test_range_export_leaks_are_in_project_frames_and_masked_there(qtbot, window, short, tmp_path):
    """In/Out 12..19 with the face unmasked: the events say frames 12..19 (not 0..7), clicking one
    seeks there, and "Add mask here" puts the mask over the face on those frames."""
    path, truth = short
    open_clip(qtbot, window, path)
    project = truth_project(truth, window.doc.project.media)
    window.doc.edit("plates only", [t for t in project.tracks if t.cls != "face"], stamp=False)
    window.doc.set_in_point(12)
    window.doc.set_out_point(19)
    after = _export(qtbot, window, tmp_path / "range.mp4", marked=True)
    assert after is not None and after.export.frame_range == (12, 19)
    faces = [e for e in after.leak.leaks if e.cls == "face"]
    assert faces, [e.describe() for e in after.leak.events]
    assert all(12 <= e.first_frame <= e.last_frame <= 19 for e in after.leak.events), \
        [e.describe() for e in after.leak.events]
    panel = window.leak_panel
    assert panel.report is after.leak
    event = max(faces, key=lambda e: e.max_score)
    panel.tree.setCurrentItem(panel.tree.topLevelItem(panel.events().index(event)))
    assert window.doc.frame == event.peak_frame and 12 <= window.doc.frame <= 19
    track = panel.add_mask()
    assert track is not None and all(12 <= k.frame <= 19 for k in track.keyframes)
    x1, y1, x2, y2 = _face_box(truth, event.peak_frame)
    mx1, my1, mx2, my2 = track.shape_at(event.peak_frame).bbox
    assert mx1 <= x1 + 4 and my1 <= y1 + 4 and mx2 >= x2 - 4 and my2 >= y2 - 4  # over the face, there


@pytest.mark.slow
def test_the_report_says_which_detection_ran_in_this_session(qtbot, window, short, tmp_path):
    path, _truth = short
    open_clip(qtbot, window, path)
    from app.core import Keyframe, Shape, Track

    box = Shape.rect(10, 10, 60, 60)
    window.doc.edit("a drawn mask", [Track("manual-0001", "manual", [Keyframe(0, box)], review="approved")])
    after = _export(qtbot, window, tmp_path / "no_analysis.mp4", leak=False)
    rep = json.loads(open(after.report_paths[0], encoding="utf-8").read())
    assert rep["detection"]["ran"] is False, rep["detection"]
    assert "no detection" in rep["detection"]["device"]

    assert window.start_analysis(confirm=False)
    qtbot.waitUntil(lambda: not window.analysis_running(), timeout=180000)
    assert any(t.cls == "face" for t in window.doc.project.tracks)
    facts = window.analysis.detection_facts()
    from app.core.edits import clone

    window.doc.edit("approve all", [clone(t, review="approved") for t in window.doc.project.tracks])
    after = _export(qtbot, window, tmp_path / "analysed.mp4", leak=False)
    assert after.export.output.endswith("analysed.mp4")
    rep = json.loads(open(after.report_paths[0], encoding="utf-8").read())
    assert rep["detection"]["ran"] is True
    assert rep["detection"]["device"] == facts.device and facts.device.startswith(("CPU", "CUDA"))
    assert rep["detection"]["thresholds"]["face"]["score"] == facts.config["thresholds"]["face"]["score"]
