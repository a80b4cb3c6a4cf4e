"""File ▸ Export from the editor, driven like an operator: the export dialog (format, audio mutes,
in/out range, refusing the input), cancelling halfway, "Show in folder"; and the "Audio mutes"
lane of the timeline (add, select, move, trim, delete, undo) with the I / O / Alt+X marks."""

from __future__ import annotations

import math
import os
from fractions import Fraction

import av
import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from app.core import MediaRef, Project
from app.core.audio import AudioMute
from app.media.probe import probe
from app.ui.document import Document
from app.ui.timeline import TimelineWidget
from tests.ui.conftest import wait_frame

LEFT = Qt.MouseButton.LeftButton
ALT = Qt.KeyboardModifier.AltModifier
RATE = 48000
FPS = Fraction(30000, 1001)


def write_av_clip(path: str, frames: int = 40, size: tuple[int, int] = (320, 240)) -> str:
    """A small H.264 clip at 29.97 fps with a 440 Hz AAC stereo tone (0.2 peak) under it."""
    w, h = size
    out = av.open(path, "w")
    try:
        vs = out.add_stream("libx264", rate=FPS, options={"preset": "ultrafast", "crf": "23"})
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        aus = out.add_stream("aac", rate=RATE)
        aus.layout = "stereo"
        rng = np.random.default_rng(5)
        base = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
        for i in range(frames):
            img = np.roll(base, 4 * i, axis=1)
            vf = av.VideoFrame.from_ndarray(img, format="bgr24")
            vf.pts = i
            vf.time_base = 1 / FPS
            out.mux(vs.encode(vf))
        n = int(frames * RATE / FPS)
        t = np.arange(n) / RATE
        tone = (0.2 * np.sin(2 * math.pi * 440 * t)).astype(np.float32)
        for s in range(0, n, 1024):
            block = np.ascontiguousarray(np.stack([tone[s : s + 1024]] * 2))
            af = av.AudioFrame.from_ndarray(block, format="fltp", layout="stereo")
            af.sample_rate, af.pts, af.time_base = RATE, s, Fraction(1, RATE)
            out.mux(aus.encode(af))
        out.mux(vs.encode(None))
        out.mux(aus.encode(None))
    finally:
        out.close()
    return path


@pytest.fixture(scope="module")
def av_clip(tmp_path_factory) -> str:
    return write_av_clip(str(tmp_path_factory.mktemp("avclip") / "clip.mp4"))


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory) -> str:
    """The full sample clip (180 frames at 1280x720): long enough to cancel halfway."""
    from app.media.sample import write_sample

    path = str(tmp_path_factory.mktemp("long") / "sample.mp4")
    write_sample(path)
    return path


def decoded_audio(path) -> np.ndarray:
    with av.open(str(path)) as c:
        return np.concatenate([f.to_ndarray() for f in c.decode(c.streams.audio[0])], axis=1).astype(np.float64)


def dbfs(x) -> float:
    return 20 * math.log10(math.sqrt(float(np.mean(np.square(x)))) + 1e-12)


def samples(first: int, end: int) -> slice:
    """Samples of frames ``first`` .. ``end - 1`` less one AAC frame at each boundary."""
    return slice(math.ceil(first / FPS * RATE) + 1024, math.ceil(end / FPS * RATE) - 1024)


def open_clip(qtbot, window, clip) -> None:
    assert window.open_path(clip)
    wait_frame(qtbot, window, 0)
    window.view.setFocus()


def open_dialog(window):
    assert window.exporter.export_dialog()
    dlg = window.exporter.dialog
    assert dlg is not None and dlg.isVisible()
    return dlg


def fast(dlg, out: str) -> None:
    dlg.path_edit.setText(out)
    dlg.preset_combo.setCurrentText("ultrafast")
    dlg.set_leak_mode(None)
    dlg.report_box.setChecked(False)


def key(qtbot, window, k, mods=Qt.KeyboardModifier.NoModifier) -> None:
    qtbot.keyClick(window.view, k, mods)


# -- the dialog ---------------------------------------------------------------------------------
def test_dialog_defaults_follow_the_input(qtbot, window, av_clip):
    open_clip(qtbot, window, av_clip)
    dlg = open_dialog(window)
    assert dlg.format_key() == "same" and "H.264 in .mp4" in dlg.format_combo.currentText()
    assert dlg.path_edit.text().endswith("clip.redacted.mp4")
    s = dlg.settings()
    assert (s.codec, s.crf, s.preset, s.audio) == ("h264", 18, "medium", "copy")
    assert dlg.leak_mode() == "quick" and dlg.report_box.isChecked()
    assert dlg.range_whole.isChecked() and not dlg.range_marked.isEnabled()
    assert dlg.frame_range() is None
    assert dlg.mute_note.text() == "Audio packets are copied unchanged."
    dlg.format_combo.setCurrentIndex(dlg.format_combo.findData("mkv"))
    assert dlg.path_edit.text().endswith("clip.redacted.mkv")
    assert dlg.settings().codec == "ffv1" and not dlg.quality_row.isEnabled()
    dlg.format_combo.setCurrentIndex(dlg.format_combo.findData("mp4"))
    assert dlg.path_edit.text().endswith("clip.redacted.mp4") and dlg.quality_row.isEnabled()
    dlg.audio_combo.setCurrentIndex(dlg.audio_combo.findData("drop"))
    assert dlg.settings().audio == "drop"
    dlg.reject()


def test_dialog_offers_the_in_out_range_and_names_the_mutes(qtbot, window, av_clip):
    open_clip(qtbot, window, av_clip)
    window.doc.set_frame(5)
    key(qtbot, window, Qt.Key.Key_I)
    window.doc.set_frame(24)
    key(qtbot, window, Qt.Key.Key_O)
    assert window.doc.in_out_range() == (5, 24)
    window.edit_actions.mute_audio.trigger()
    window.edit_actions.bleep_audio.trigger()
    dlg = open_dialog(window)
    assert dlg.range_marked.isEnabled() and "20 frames" in dlg.range_marked.text()
    dlg.range_marked.setChecked(True)
    assert dlg.frame_range() == (5, 24)
    assert dlg.mute_note.text() == "2 muted spans will be applied (audio re-encoded)."
    dlg.reject()
    key(qtbot, window, Qt.Key.Key_X, ALT)
    assert window.doc.in_out_range() is None
    dlg = open_dialog(window)
    assert not dlg.range_marked.isEnabled()
    dlg.reject()


def test_the_input_path_is_refused_and_replacing_asks(qtbot, window, av_clip, tmp_path, _no_blocking_dialogs):
    said = _no_blocking_dialogs
    open_clip(qtbot, window, av_clip)
    dlg = open_dialog(window)
    dlg.path_edit.setText(av_clip)
    qtbot.mouseClick(dlg.export_button, LEFT)
    assert dlg.isVisible() and not window.exporter.running()
    assert "cannot be the input video" in said[-1][1]
    dlg.path_edit.setText(os.path.join(os.path.dirname(av_clip), ".", os.path.basename(av_clip)))
    qtbot.mouseClick(dlg.export_button, LEFT)
    assert dlg.isVisible() and "cannot be the input video" in said[-1][1]
    other = tmp_path / "taken.mp4"
    other.write_bytes(b"someone else's file")
    dlg.path_edit.setText(str(other))
    qtbot.mouseClick(dlg.export_button, LEFT)  # the test's answer: No
    assert said[-1][0] == "Replace file?" and dlg.isVisible() and not window.exporter.running()
    assert other.read_bytes() == b"someone else's file"
    dlg.path_edit.setText(str(tmp_path / "clip.mov"))
    dlg.format_combo.setCurrentIndex(dlg.format_combo.findData("mkv"))
    assert dlg.path_edit.text().endswith("clip.mkv")
    dlg.reject()
    assert not window.exporter.start(av_clip, confirm=False)  # the controller refuses it too


@pytest.mark.slow
def test_export_from_the_dialog_applies_the_mute(qtbot, window, av_clip, tmp_path, monkeypatch):
    from PySide6.QtGui import QDesktopServices

    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: opened.append(url) or True))
    open_clip(qtbot, window, av_clip)
    window.doc.set_frame(10)
    key(qtbot, window, Qt.Key.Key_I)
    window.doc.set_frame(29)
    key(qtbot, window, Qt.Key.Key_O)
    window.edit_actions.mute_audio.trigger()
    assert [(m.start, m.end, m.mode) for m in window.doc.project.audio_mutes] == [(10, 29, "silence")]
    dlg = open_dialog(window)
    out = str(tmp_path / "muted.mp4")
    fast(dlg, out)
    qtbot.mouseClick(dlg.export_button, LEFT)
    assert not dlg.isVisible()
    qtbot.waitUntil(lambda: not window.exporter.running(), timeout=60000)
    result = window.exporter.last_result
    assert result is not None and not result.cancelled and result.audio_mutes == 1
    assert probe(out).frame_count == 40
    pcm = decoded_audio(out)
    for ch in pcm:
        assert dbfs(ch[samples(10, 30)]) < -60
        for a, b in ((0, 10), (30, 40)):
            assert abs(dbfs(ch[samples(a, b)]) - (20 * math.log10(0.2 / math.sqrt(2)))) < 0.5
    assert "1 audio span(s) muted" in window.statusBar().currentMessage()
    assert window.exporter.show_button.isVisible()
    qtbot.mouseClick(window.exporter.show_button, LEFT)
    assert [u.toLocalFile() for u in opened] == [str(tmp_path)]


@pytest.mark.slow
def test_export_of_the_in_out_range(qtbot, window, av_clip, tmp_path):
    open_clip(qtbot, window, av_clip)
    window.doc.set_in_point(5)
    window.doc.set_out_point(24)
    dlg = open_dialog(window)
    out = str(tmp_path / "range.mkv")
    fast(dlg, out)
    dlg.format_combo.setCurrentIndex(dlg.format_combo.findData("mkv"))
    dlg.range_marked.setChecked(True)
    qtbot.mouseClick(dlg.export_button, LEFT)
    qtbot.waitUntil(lambda: not window.exporter.running(), timeout=60000)
    assert window.exporter.last_result.frame_range == (5, 24)
    info = probe(out)
    assert info.frame_count == 20 and info.codec == "ffv1"
    assert abs(decoded_audio(out).shape[1] - 20 / FPS * RATE) < 2048


@pytest.mark.slow
def test_cancel_halfway_leaves_no_output_file(qtbot, window, long_clip, tmp_path, monkeypatch):
    from app.base.progress import RateMeter

    monkeypatch.setattr(RateMeter, "WARMUP_S", 0.3)  # the time left shows early enough to be seen here
    open_clip(qtbot, window, long_clip)
    dlg = open_dialog(window)
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "cancelled.mp4"
    dlg.path_edit.setText(str(out))
    dlg.set_leak_mode(None)
    dlg.report_box.setChecked(False)
    qtbot.mouseClick(dlg.export_button, LEFT)
    bar = window.exporter.progress
    qtbot.waitUntil(lambda: bar.value() > 0, timeout=60000)  # the first progress report
    assert "fps" in bar.format()
    qtbot.waitUntil(lambda: "left" in bar.format(), timeout=60000)  # the time left, after its warm-up
    done = bar.value()
    qtbot.mouseClick(window.exporter.cancel_button, LEFT)
    qtbot.waitUntil(lambda: not window.exporter.running(), timeout=120000)
    result = window.exporter.last_result
    assert result.cancelled and done <= result.frames < 180
    assert not out.exists() and os.listdir(folder) == []  # no partial or temporary file
    assert "no file was written" in window.statusBar().currentMessage()
    assert not window.exporter.show_button.isVisible()


@pytest.mark.slow
def test_after_export_runs_the_leak_check_on_the_range_and_writes_the_report(qtbot, window, av_clip, tmp_path,
                                                                               monkeypatch):
    import json

    from app.core import Keyframe, Shape, Track
    from app.pipelines.report import validate_report

    open_clip(qtbot, window, av_clip)
    box = Shape.rect(10, 10, 50, 50)
    window.doc.edit("t", [Track("face-0001", "face", [Keyframe(0, box), Keyframe(39, box)], review="approved")])
    window.doc.set_in_point(10)
    window.doc.set_out_point(19)
    reports = []
    window.exporter.leakCheckFinished.connect(reports.append)
    dlg = open_dialog(window)
    dlg.path_edit.setText(str(tmp_path / "r.mp4"))
    dlg.preset_combo.setCurrentText("ultrafast")
    dlg.range_marked.setChecked(True)
    assert dlg.leak_mode() == "quick" and dlg.report_box.isChecked()
    dlg.leak_combo.setCurrentIndex(dlg.leak_combo.findData("thorough"))  # every frame: the operator's choice
    qtbot.mouseClick(dlg.export_button, LEFT)
    qtbot.waitUntil(lambda: not window.exporter.running(), timeout=60000)
    after = window.exporter.last_after  # the real leak check and the real audit report ran
    assert after is not None and after.report_paths[0].endswith("r.mp4.report.json") and len(reports) == 1
    assert after.leak is reports[0] and after.leak.frames_checked == 10 and not after.leak.cancelled
    assert after.leak.output == "r.mp4" and after.leak.mode == "thorough" and after.leak.stride == 1
    assert after.leak.checked == list(range(10, 20))  # the project's frames
    with open(after.report_paths[0], encoding="utf-8") as f:
        rep = json.load(f)
    validate_report(rep)
    assert "leak" in json.dumps(rep).lower() and "face-0001" in json.dumps(rep)
    assert "leak check:" in window.statusBar().currentMessage()
    assert window.leak_panel.report is after.leak  # the Leak check list shows it


def test_the_leak_check_choice_reaches_the_export(qtbot, window, av_clip, tmp_path):
    """Off / Quick / Thorough in the dialog: the options say it, and the quick default checks every
    6th frame of this 29.97 fps clip (and the last) in the project's numbering."""
    from app.pipelines.leakcheck import mode_stride

    open_clip(qtbot, window, av_clip)
    dlg = open_dialog(window)
    texts = [dlg.leak_combo.itemText(i) for i in range(dlg.leak_combo.count())]
    assert texts[0] == "Off" and texts[1].startswith("Quick") and texts[2].startswith("Thorough")
    assert (dlg.options().leak_check, dlg.options().leak_mode) == (True, "quick")
    dlg.leak_combo.setCurrentIndex(dlg.leak_combo.findData("thorough"))
    assert (dlg.options().leak_check, dlg.options().leak_mode) == (True, "thorough")
    dlg.leak_combo.setCurrentIndex(dlg.leak_combo.findData(None))
    assert dlg.options().leak_check is False
    dlg.leak_combo.setCurrentIndex(dlg.leak_combo.findData("quick"))
    dlg.path_edit.setText(str(tmp_path / "q.mp4"))
    dlg.preset_combo.setCurrentText("ultrafast")
    dlg.report_box.setChecked(True)
    qtbot.mouseClick(dlg.export_button, LEFT)
    qtbot.waitUntil(lambda: not window.exporter.running(), timeout=60000)
    leak = window.exporter.last_after.leak
    k = mode_stride("quick", FPS)
    assert k == 6 and leak.mode == "quick" and leak.stride == k and leak.resolution_factor == 1.5
    assert leak.checked == [*range(0, 40, k), 39] and leak.frames_checked == len(leak.checked) < 40
    import json

    with open(window.exporter.last_after.report_paths[0], encoding="utf-8") as f:
        lc = json.load(f)["leak_check"]
    assert lc["mode"] == "quick" and lc["checked_frames"]["frames"] == leak.checked
    assert lc["checked_frames"]["rule"] == "every 6th frame from frame 0, and the last"


# -- the audio-mute lane ---------------------------------------------------------------------------
ZOOM = 4.0


def make_doc(frames=300) -> Document:
    doc = Document()
    doc.project = Project(media=MediaRef("/nonexistent/clip.mp4", 640, 360, Fraction(30), frames))
    doc.projectReplaced.emit()
    return doc


@pytest.fixture
def tl(qtbot):
    w = TimelineWidget(make_doc())
    qtbot.addWidget(w)
    w.resize(1200, 300)
    w.show()
    qtbot.waitExposed(w)
    w.set_zoom(ZOOM, anchor_x=w.LABEL_W)
    return w


def add_mute(doc, mute: AudioMute) -> None:
    doc.edit("Add mute", list(doc.project.tracks), audio_mutes=[*doc.project.audio_mutes, mute])


def mute_at(tl, frame: float) -> QPoint:
    return QPoint(round(tl.x_of_frame(frame)), tl.mute_lane_rect().center().y())


def drag(qtbot, tl, start: QPoint, dx: int, steps: int = 6) -> None:
    qtbot.mousePress(tl, LEFT, pos=start)
    for i in range(1, steps + 1):
        qtbot.mouseMove(tl, start + QPoint(round(dx * i / steps), 0))
    qtbot.mouseRelease(tl, LEFT, pos=start + QPoint(dx, 0))


def spans(doc):
    return [(m.id, m.start, m.end, m.mode) for m in doc.project.audio_mutes]


def test_mute_lane_click_selects_and_drags_move_and_trim(tl, qtbot):
    doc = tl.doc
    add_mute(doc, AudioMute("mute-0001", 40, 79))
    add_mute(doc, AudioMute("mute-0002", 150, 169, "tone"))
    doc.undo.clear()
    qtbot.mouseClick(tl, LEFT, pos=mute_at(tl, 60.2))
    assert tl.selected_mute == "mute-0001" and doc.frame == 60  # a click selects and seeks
    drag(qtbot, tl, mute_at(tl, 60.5), round(10 * ZOOM))
    assert spans(doc)[0] == ("mute-0001", 50, 89, "silence")
    assert doc.undo.count() == 1 and doc.undo.undoText() == "Move audio mute"
    drag(qtbot, tl, mute_at(tl, 150), round(-5 * ZOOM))  # the left edge of the bleep
    assert spans(doc)[1] == ("mute-0002", 145, 169, "tone") and tl.selected_mute == "mute-0002"
    drag(qtbot, tl, mute_at(tl, 170), round(200 * ZOOM))  # its right edge: stops at the clip's end
    assert spans(doc)[1] == ("mute-0002", 145, 299, "tone")
    assert doc.undo.count() == 3
    doc.undo.undo()
    doc.undo.undo()
    doc.undo.undo()
    assert spans(doc) == [("mute-0001", 40, 79, "silence"), ("mute-0002", 150, 169, "tone")]
    qtbot.mouseClick(tl, LEFT, pos=mute_at(tl, 120))  # the empty lane: no mute selected
    assert tl.selected_mute is None and doc.frame == 120
    assert "mute-0002" in tl._tooltip(mute_at(tl, 160).x(), mute_at(tl, 160).y())


def test_mute_drag_cancelled_with_escape(tl, qtbot):
    doc = tl.doc
    add_mute(doc, AudioMute("mute-0001", 40, 79))
    doc.undo.clear()
    start = mute_at(tl, 60.5)
    qtbot.mousePress(tl, LEFT, pos=start)
    qtbot.mouseMove(tl, start + QPoint(40, 0))
    assert spans(doc)[0][1] == 50
    qtbot.keyClick(tl, Qt.Key.Key_Escape)
    assert spans(doc)[0][1:3] == (40, 79) and not doc.undo.canUndo()
    qtbot.mouseMove(tl, start + QPoint(60, 0))  # the rest of that drag does nothing
    qtbot.mouseRelease(tl, LEFT, pos=start + QPoint(60, 0))
    assert spans(doc)[0][1:3] == (40, 79) and not doc.undo.canUndo()


def test_selecting_a_track_or_a_mute_is_exclusive(tl, qtbot):
    from app.core import Keyframe, Shape, Track

    doc = tl.doc
    doc.edit("t", [Track("face-0001", "face", [Keyframe(0, Shape.rect(0, 0, 9, 9)), Keyframe(99, Shape.rect(0, 0, 9, 9))])],
             audio_mutes=[AudioMute("mute-0001", 40, 79)])
    doc.set_selection(["face-0001"])
    tl.set_selected_mute("mute-0001")
    assert doc.selection == [] and tl.selected_mute == "mute-0001"
    doc.set_selection(["face-0001"])
    assert tl.selected_mute is None
    tl.set_selected_mute("mute-0001")
    doc.undo.undo()  # the mute is gone: so is the selection
    assert tl.selected_mute is None


def test_mute_actions_in_the_editor(qtbot, window, av_clip):
    open_clip(qtbot, window, av_clip)
    doc, acts, tl = window.doc, window.edit_actions, window.timeline
    doc.set_frame(20)
    acts.mute_audio.trigger()  # no in/out: one second either side of the playhead
    assert spans(doc) == [("mute-0001", 0, 39, "silence")]
    assert tl.selected_mute == "mute-0001" and acts.delete.isEnabled()
    acts.mute_mode.trigger()
    assert spans(doc)[0][3] == "tone"
    doc.set_frame(12)
    key(qtbot, window, Qt.Key.Key_I)
    doc.set_frame(15)
    key(qtbot, window, Qt.Key.Key_O)
    acts.bleep_audio.trigger()
    assert spans(doc)[1] == ("mute-0002", 12, 15, "tone") and tl.selected_mute == "mute-0002"
    key(qtbot, window, Qt.Key.Key_Delete)  # removes the selected mute, not a track
    assert [m[0] for m in spans(doc)] == ["mute-0001"] and tl.selected_mute is None
    assert doc.undo.undoText() == "Delete audio mute mute-0002"
    doc.undo.undo()
    assert [m[0] for m in spans(doc)] == ["mute-0001", "mute-0002"]
    rows = dict(window.shortcut_rows())
    assert rows["Mark In"] == "I" and rows["Mark Out"] == "O" and rows["Clear In/Out"] == "Alt+X"
    img = tl.grab()  # the lane and the marked range paint without errors
    assert not img.isNull()


def test_a_photo_goes_back_to_a_photo(qtbot, tmp_path):
    from types import SimpleNamespace

    from app.ui.export_dialog import ExportDialog

    photo = str(tmp_path / "street.jpg")
    doc = SimpleNamespace(media_path=photo, info=None, frame_count=1, project=Project(),
                          in_out_range=lambda: None, timecode=lambda f=None: "00:00:00:00")
    dlg = ExportDialog(doc)
    qtbot.addWidget(dlg)
    assert dlg.format_key() == "same" and dlg.path_edit.text().endswith("street.redacted.jpg")
    assert not dlg.quality_row.isEnabled() and not dlg.audio_combo.isEnabled()
    assert not dlg.range_whole.isEnabled() and dlg.frame_range() is None
    dlg.format_combo.setCurrentIndex(dlg.format_combo.findData("png"))
    assert dlg.path_edit.text().endswith("street.redacted.png") and dlg.problem() is None
    dlg.path_edit.setText(str(tmp_path / "street.mp4"))
    assert "photo exports to a photo" in dlg.problem()
