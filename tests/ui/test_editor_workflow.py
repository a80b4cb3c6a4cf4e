"""Editor II, driven by keys and mouse like an operator: track operations, undo to the exact
byte, the review queue, exempt tracks in a real export."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.core import Keyframe, KeyframeSource, Shape, Track
from app.media.reader import VideoReader
from app.project_io.schema import project_to_dict
from tests.ui.conftest import wait_frame

CTRL, SHIFT, ALT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier, Qt.KeyboardModifier.AltModifier


def _json(project) -> str:
    return json.dumps(project_to_dict(project), sort_keys=True)


def _auto_track(tid: str, cls: str, frames, x0: float, score: float = 0.9, review: str = "approved") -> Track:
    kfs = [Keyframe(f, Shape.rect(x0 + 2 * f, 100, x0 + 2 * f + 80, 180), KeyframeSource.AUTO, True, score)
           for f in frames]
    return Track(tid, cls, kfs, review=review, stats={"max_score": score, "mean_score": score})


def _open_with_tracks(qtbot, window, clip, tracks) -> None:
    assert window.open_path(clip)
    wait_frame(qtbot, window, 0)
    window.doc.edit("Tracks for the test", tracks, stamp=False)
    window.doc.undo.clear()  # the starting point of the test
    window.view.setFocus()


def _key(qtbot, window, key, mods=Qt.KeyboardModifier.NoModifier) -> None:
    qtbot.keyClick(window.view, key, mods)


def test_every_shortcut_is_unique(window):
    seen: dict[str, str] = {}
    for text, keys in window.shortcut_rows():
        for k in keys.split(", "):
            assert k not in seen or seen[k] == text, f"{k} is both {seen[k]!r} and {text!r}"
            seen[k] = text
    for k in ("Space", "J", "K", "L", "Ins", "N", "A", "X", "E", "T", "Ctrl+B", "Ctrl+M", "F1"):
        assert k in seen, k


def test_edits_by_keys_then_undo_and_redo_restore_the_exact_bytes(qtbot, window, short_sample):
    tracks = [_auto_track("face-0001", "face", range(0, 40, 8), 100),
              _auto_track("face-0002", "face", range(0, 15, 5), 500),
              _auto_track("face-0003", "face", range(25, 40, 5), 520),
              _auto_track("plate-0001", "plate", range(0, 40, 13), 800)]
    _open_with_tracks(qtbot, window, short_sample, tracks)
    doc = window.doc
    states = [_json(doc.project)]

    def step(select, frame, *keys):
        doc.set_selection(select)
        doc.set_frame(frame)
        for k in keys:
            _key(qtbot, window, *k) if isinstance(k, tuple) else _key(qtbot, window, k)
        states.append(_json(doc.project))
        assert states[-1] != states[-2], f"{keys} changed nothing"

    step(["face-0001"], 12, Qt.Key.Key_Insert)                     # add a keyframe
    step(["face-0001"], 12, (Qt.Key.Key_Right, ALT), (Qt.Key.Key_Down, ALT | SHIFT))  # nudge 1 px and 10 px
    step(["face-0001"], 20, (Qt.Key.Key_B, CTRL))                   # split
    step(["face-0002", "face-0003"], 20, (Qt.Key.Key_M, CTRL))      # merge, gap interpolated
    step(["plate-0001"], 30, Qt.Key.Key_BracketRight)               # end the span at the playhead
    step(["plate-0001"], 30, Qt.Key.Key_E)                          # exempt
    step(["face-0002"], 30, Qt.Key.Key_X)                           # reject
    step(["face-0001"], 8, (Qt.Key.Key_Delete, SHIFT))              # delete the keyframe at the playhead
    assert doc.undo.count() >= 9  # every key press above is one undo step (the two nudges are two)
    for k in range(len(states) - 1, 0, -1):
        # undo until the state changes to the previous recorded one
        while _json(doc.project) != states[k - 1]:
            assert doc.undo.canUndo(), f"cannot get back to state {k - 1}"
            doc.undo.undo()
        assert _json(doc.project) == states[k - 1]
    assert not doc.undo.canUndo() and _json(doc.project) == states[0]
    while doc.undo.canRedo():
        doc.undo.redo()
    assert _json(doc.project) == states[-1]


def test_split_and_merge_by_keys(qtbot, window, short_sample):
    _open_with_tracks(qtbot, window, short_sample, [_auto_track("face-0001", "face", range(0, 40, 10), 100)])
    doc = window.doc
    before = {f: doc.project.track("face-0001").shape_at(f).bbox for f in range(31)}
    doc.set_selection(["face-0001"])
    doc.set_frame(15)
    _key(qtbot, window, Qt.Key.Key_B, CTRL)
    a, b = doc.project.tracks
    assert (a.last_frame, b.first_frame) == (14, 15) and doc.selection == [a.id, b.id]
    for f in range(31):
        t = a if f < 15 else b
        assert t.shape_at(f).bbox == pytest.approx(before[f])
    _key(qtbot, window, Qt.Key.Key_M, CTRL)
    (m,) = doc.project.tracks
    assert m.id == "face-0001" and m.spans() == [(0, 30)]
    assert all(m.shape_at(f).bbox == pytest.approx(before[f]) for f in range(31))
    doc.undo.undo()
    assert len(doc.project.tracks) == 2
    # different classes do not merge: a message, no change
    doc.set_selection([a.id])
    window.edit_actions.change_class("plate")
    doc.set_selection([a.id, b.id])
    _key(qtbot, window, Qt.Key.Key_M, CTRL)
    assert len(doc.project.tracks) == 2 and "one class" in window.statusBar().currentMessage()


def test_next_to_review_visits_every_track_that_needs_review_in_order(qtbot, window, short_sample):
    tracks = [_auto_track("face-0001", "face", (20, 30), 100, review="needs_review"),
              _auto_track("face-0002", "face", (0, 10), 300, review="approved"),
              _auto_track("plate-0001", "plate", (5, 12), 500, review="needs_review"),
              _auto_track("face-0003", "face", (2, 8), 700, review="needs_review")]
    _open_with_tracks(qtbot, window, short_sample, tracks)
    doc = window.doc
    assert "3 to do" in window.edit_actions.review_label.text()
    visited = []
    for _ in range(4):
        _key(qtbot, window, Qt.Key.Key_N)
        visited.append(doc.selection[0])
        assert window.playback.loop is not None and window.playback.playing
    assert visited == ["face-0003", "plate-0001", "face-0001", "face-0003"]  # by first frame, then around
    t = doc.project.track("face-0003")
    assert window.playback.loop == (t.first_frame, t.last_frame)
    qtbot.waitUntil(lambda: doc.frame > t.first_frame, timeout=3000)  # it plays the span
    # approve / reject with one key each; the loop moves on to the next one
    _key(qtbot, window, Qt.Key.Key_A)
    assert doc.project.track("face-0003").review == "approved" and doc.selection == ["plate-0001"]
    _key(qtbot, window, Qt.Key.Key_X)
    assert doc.project.track("plate-0001").review == "rejected" and doc.selection == ["face-0001"]
    assert "1 to do · 2 approved · 1 rejected" in window.edit_actions.review_label.text()
    _key(qtbot, window, Qt.Key.Key_A)
    assert "0 to do" in window.edit_actions.review_label.text()
    assert not window.playback.playing
    window.playback.pause()


@pytest.mark.slow
def test_exempt_track_stays_visible_in_the_export(qtbot, window, short_sample, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    asked = []
    monkeypatch.setattr(QMessageBox, "question", staticmethod(
        lambda parent, title, text, *a, **k: asked.append(text) or QMessageBox.StandardButton.Yes))
    box_a, box_b = (200, 200, 360, 360), (800, 300, 960, 460)
    tracks = [Track("face-0001", "face", [Keyframe(0, Shape.rect(*box_a)), Keyframe(39, Shape.rect(*box_a))],
                    review="approved"),
              Track("face-0002", "face", [Keyframe(0, Shape.rect(*box_b)), Keyframe(39, Shape.rect(*box_b))],
                    review="needs_review")]
    _open_with_tracks(qtbot, window, short_sample, tracks)
    window.doc.set_selection(["face-0002"])
    _key(qtbot, window, Qt.Key.Key_E)  # keep this person visible
    assert not window.doc.project.track("face-0002").enabled
    out = str(tmp_path / "out.mp4")
    assert window.exporter.start(out)  # asks first: one track still needs review (answered yes)
    assert len(asked) == 1 and "1 track(s) still need review" in asked[0]
    qtbot.waitUntil(lambda: not window.exporter.running(), timeout=60000)
    assert window.exporter.last_result is not None and not window.exporter.last_result.cancelled
    assert "exempt (left visible): face-0002" in window.statusBar().currentMessage()
    with VideoReader(short_sample) as src, VideoReader(out) as dst:
        for i in (0, 20, 39):
            a, b = src.read(i).to_bgr().astype(int), dst.read(i).to_bgr().astype(int)
            x1, y1, x2, y2 = box_a
            assert np.abs(a[y1 + 20:y2 - 20, x1 + 20:x2 - 20] - b[y1 + 20:y2 - 20, x1 + 20:x2 - 20]).mean() > 8
            x1, y1, x2, y2 = box_b
            assert np.abs(a[y1:y2, x1:x2] - b[y1:y2, x1:x2]).mean() < 3  # exempt: only coding noise


@pytest.mark.slow
def test_draw_a_polygon_mask_with_the_mouse_and_export_it(qtbot, window, short_sample, tmp_path):
    from PySide6.QtCore import QPointF

    _open_with_tracks(qtbot, window, short_sample, [])
    view, vp = window.view, window.view.viewport()
    window.doc.set_frame(10)
    wait_frame(qtbot, window, 10)
    window.edit_actions.label_combo.setCurrentIndex(window.edit_actions.label_combo.findData("badge"))
    _key(qtbot, window, Qt.Key.Key_P)  # polygon tool
    assert view.tool == "polygon"
    corners = [(600, 250), (900, 260), (880, 520), (620, 500)]
    pts = [view.scene_to_view(QPointF(x, y)) for x, y in corners]
    for p in pts[:-1]:
        qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=p)
    qtbot.mouseDClick(vp, Qt.MouseButton.LeftButton, pos=pts[-1])  # double-click closes it
    (track,) = window.doc.project.tracks
    assert (track.cls, track.label, track.review) == ("manual", "badge", "approved")
    assert track.spans() == [(10, 39)]  # from the playhead to the end of the clip
    shape = track.shape_at(25)
    assert shape.kind.value == "polygon" and len(shape.points) == 4
    zoom = view.zoom
    for (x, y), (gx, gy) in zip(corners, shape.points, strict=True):
        assert abs(gx - x) <= 1.5 / zoom + 0.5 and abs(gy - y) <= 1.5 / zoom + 0.5
    out = str(tmp_path / "poly.mp4")
    assert window.exporter.start(out, confirm=False)
    qtbot.waitUntil(lambda: not window.exporter.running(), timeout=60000)
    with VideoReader(short_sample) as src, VideoReader(out) as dst:
        for i, masked in ((5, False), (10, True), (39, True)):
            a, b = src.read(i).to_bgr().astype(int), dst.read(i).to_bgr().astype(int)
            inside = np.abs(a[300:460, 660:840] - b[300:460, 660:840]).mean()
            outside = np.abs(a[50:200, 50:300] - b[50:200, 50:300]).mean()
            assert outside < 3, i
            assert (inside > 8) == masked, (i, inside)


def test_operator_name_is_remembered_and_stamped_on_edited_tracks(qtbot, window, short_sample):
    _open_with_tracks(qtbot, window, short_sample, [_auto_track("face-0001", "face", (0, 30), 100)])
    window.set_operator_name("A. Reviewer")
    assert window.settings.value("operator/name") == "A. Reviewer"
    window.doc.set_selection(["face-0001"])
    _key(qtbot, window, Qt.Key.Key_A)
    t = window.doc.project.track("face-0001")
    assert (t.review, t.changed_by) == ("approved", "A. Reviewer")
    window.doc.undo.undo()
    assert window.doc.project.track("face-0001").changed_by == ""  # untouched again: the analysis's


@pytest.mark.slow
def test_click_to_track_follows_a_moving_object(qtbot, window, tmp_path):
    """Draw a box on a known moving object, press T: the mask follows it (IoU against the truth)."""
    from PySide6.QtCore import QPointF

    from tests.test_follow import N, iou, write_clip

    clip = tmp_path / "moving.mp4"
    truth = write_clip(clip)
    _open_with_tracks(qtbot, window, str(clip), [])
    view, vp = window.view, window.view.viewport()
    _key(qtbot, window, Qt.Key.Key_R)  # rectangle tool
    x1, y1, x2, y2 = truth[0]
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=view.scene_to_view(QPointF(x1, y1)))
    qtbot.mouseMove(vp, view.scene_to_view(QPointF((x1 + x2) / 2, (y1 + y2) / 2)))
    qtbot.mouseMove(vp, view.scene_to_view(QPointF(x2, y2)))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=view.scene_to_view(QPointF(x2, y2)))
    (track,) = window.doc.project.tracks
    assert window.doc.selection == [track.id]
    _key(qtbot, window, Qt.Key.Key_V)  # back to the select tool
    _key(qtbot, window, Qt.Key.Key_T)  # track forward from the playhead (frame 0)
    qtbot.waitUntil(lambda: not window.edit_actions.tracking_running(), timeout=90000)
    followed = window.doc.project.track(track.id)
    assert followed.spans() == [(0, N - 1)]
    sources = {k.source.value for k in followed.keyframes}
    assert sources == {"manual", "tracked"} and len(followed.keyframes) < N // 2  # a few editable keyframes
    ious = [iou(followed.shape_at(f).bbox, truth[f]) for f in range(N)]
    assert float(np.mean(ious)) >= 0.6 and min(ious) >= 0.35, (np.mean(ious), min(ious))
    window.doc.undo.undo()  # tracking is one undo step
    assert window.doc.project.track(track.id).spans() == [(0, N - 1)]  # the static mask again (to the end)
    assert len(window.doc.project.track(track.id).keyframes) == 2
