"""A rotated video (a phone's portrait clip stored sideways, with a display matrix) in the editor.

The viewport and the timeline show the picture upright, as every player does; the operator draws,
drags and nudges on that upright picture; the project keeps every shape in the coded frame's
pixels (where analysis, export and the leak check work), so a mask drawn on the upright face
covers that face in the exported file. The clip is the demo's first frames (a real face photo and
a car plate, ground truth known) stored turned, as ``tests/hostile_corpus.py`` writes it.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from app.core import Keyframe, KeyframeSource, Shape, Track
from app.media.frames import Orientation, points_to_coded, upright
from app.media.reader import VideoReader
from app.media.sample import HEIGHT, WIDTH, render_frames
from app.ui.video_view import ViewMode
from tests.hostile_corpus import ROTATED_FRAMES, _rotated_sample, rotated_sample_truth
from tests.ui.conftest import wait_frame

ROTATION = 270  # "rotate 90 clockwise": how phones tag a portrait clip held the other way
ALT = Qt.KeyboardModifier.AltModifier


@pytest.fixture(scope="module")
def rotated_clip(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("rotated") / "sideways.mp4"
    _rotated_sample(path, ROTATION)
    return str(path)


def _upright_truth(frame: int, cls: str) -> list[float]:
    for i, _bgr, truth in render_frames():
        if i == frame:
            return next(t["box"] for t in truth if t["cls"] == cls)
    raise AssertionError(frame)


def _coded_truth(frame: int, cls: str) -> list[float]:
    return next(t["box"] for t in rotated_sample_truth(ROTATION)[frame] if t["cls"] == cls)


def _coded_frame(path: str, index: int) -> np.ndarray:
    with VideoReader(path) as r:
        return r.read(index).frame.to_ndarray(format="bgr24")


def _open(qtbot, window, clip) -> None:
    assert window.open_path(clip)
    wait_frame(qtbot, window, 0)
    window.view.setFocus()


def _near(a, b, tol=1.0) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))


def test_the_picture_and_the_masks_are_shown_upright(qtbot, window, rotated_clip):
    _open(qtbot, window, rotated_clip)
    info, view = window.doc.info, window.view
    assert info.rotation == ROTATION and (info.width, info.height) == (HEIGHT, WIDTH)  # stored sideways
    shown = view.displayed_image()
    assert shown.shape[:2] == (HEIGHT, WIDTH)  # shown as the landscape picture it is
    coded = _coded_frame(rotated_clip, 0)
    assert np.abs(shown.astype(int) - upright(coded, ROTATION).astype(int)).mean() < 1.0
    rendered = next(bgr for i, bgr, _t in render_frames())  # what the camera saw, upright
    assert np.abs(shown.astype(int) - rendered.astype(int)).mean() < 8.0  # turned the right way, not mirrored
    mirrored = np.abs(shown.astype(int) - rendered[:, ::-1].astype(int)).mean()
    assert mirrored > 3 * np.abs(shown.astype(int) - rendered.astype(int)).mean()

    # a track kept in coded pixels is drawn over the upright face
    x1, y1, x2, y2 = _coded_truth(0, "face")
    track = Track("face-0001", "face", [Keyframe(f, Shape.rect(x1, y1, x2, y2), KeyframeSource.AUTO, True, 0.9)
                                        for f in range(ROTATED_FRAMES)])
    window.doc.edit("a face", [track], stamp=False)
    item = view.item_for_track("face-0001")
    r = item.path().boundingRect()
    assert _near((r.left(), r.top(), r.right(), r.bottom()), _upright_truth(0, "face"), tol=1.0)

    # redacted view: the upright face is hidden, the rest of the upright picture untouched
    view.set_view_mode(ViewMode.REDACTED)
    red = view.displayed_image().astype(int)
    ux1, uy1, ux2, uy2 = (int(v) for v in _upright_truth(0, "face"))
    inside = np.abs(red[uy1:uy2, ux1:ux2] - shown[uy1:uy2, ux1:ux2].astype(int)).mean()
    outside = np.abs(red[:, ux2 + 60:] - shown[:, ux2 + 60:].astype(int)).mean()
    assert inside > 10 and outside < 0.5, (inside, outside)


def test_a_mask_drawn_on_the_upright_face_hides_it_in_the_export(qtbot, window, rotated_clip, tmp_path):
    _open(qtbot, window, rotated_clip)
    view, doc = window.view, window.doc
    ux1, uy1, ux2, uy2 = _upright_truth(0, "face")
    window.edit_actions.set_tool("rect")
    vp = view.viewport()
    a, b = view.scene_to_view(QPointF(ux1 - 6, uy1 - 6)), view.scene_to_view(QPointF(ux2 + 6, uy2 + 6))
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=a)
    for i in range(1, 5):
        qtbot.mouseMove(vp, a + (b - a) * (i / 4))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=b)
    manual = [t for t in doc.project.tracks if t.cls == "manual"]
    assert len(manual) == 1, doc.project.tracks
    box = manual[0].shape_at(0).bbox  # kept in coded pixels ...
    cx1, cy1, cx2, cy2 = _coded_truth(0, "face")
    assert box[0] <= cx1 and box[1] <= cy1 and box[2] >= cx2 and box[3] >= cy2, (box, (cx1, cy1, cx2, cy2))
    # ... turned a quarter: the drawn box's height on screen is its width in the stored frame
    assert abs((box[2] - box[0]) - (uy2 - uy1 + 12)) <= 2 and abs((box[3] - box[1]) - (ux2 - ux1 + 12)) <= 2, box
    item = view.item_for_track(manual[0].id)  # ... and shown where it was drawn
    r = item.path().boundingRect()
    assert _near((r.left(), r.top(), r.right(), r.bottom()), (ux1 - 6, uy1 - 6, ux2 + 6, uy2 + 6), tol=2.0)

    from app.base.progress import run
    from app.pipelines.export import export

    out = tmp_path / "out.mp4"
    run(export(doc.project, rotated_clip, str(out)))
    src, dst = _coded_frame(rotated_clip, 0).astype(int), _coded_frame(str(out), 0).astype(int)
    x1, y1, x2, y2 = (int(v) for v in (cx1, cy1, cx2, cy2))
    face_change = np.abs(dst[y1:y2, x1:x2] - src[y1:y2, x1:x2]).mean()
    assert face_change > 10, face_change  # the face is blurred in the file's own pixels
    from app.media.probe import probe

    assert probe(str(out)).rotation == ROTATION  # and the output plays upright too


def test_drag_and_nudge_move_the_mask_as_seen(qtbot, window, rotated_clip):
    _open(qtbot, window, rotated_clip)
    view, doc = window.view, window.doc
    x1, y1, x2, y2 = _coded_truth(0, "face")
    doc.edit("a face", [Track("face-0001", "face", [Keyframe(0, Shape.rect(x1, y1, x2, y2), KeyframeSource.AUTO,
                                                                  True, 0.9)])], stamp=False)
    doc.set_selection(["face-0001"])
    orient = view.orientation
    before = orient.shape_upright(doc.project.track("face-0001").shape_at(0)).bbox
    ux1, uy1, ux2, uy2 = _upright_truth(0, "face")  # the inspector gives the size as seen
    assert window.inspector.track_fields["shape"].text().startswith(f"rect {ux2 - ux1:.0f}×{uy2 - uy1:.0f} px")
    start = view.scene_to_view(QPointF((before[0] + before[2]) / 2, (before[1] + before[3]) / 2))
    end = start + type(start)(40, 0)  # 40 screen pixels to the right
    vp = view.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=start)
    for i in range(1, 5):
        qtbot.mouseMove(vp, start + (end - start) * (i / 4))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=end)
    moved = orient.shape_upright(doc.project.track("face-0001").shape_at(0)).bbox
    dx = 40 / view.zoom
    assert abs((moved[0] - before[0]) - dx) <= 1.5 / view.zoom and abs(moved[1] - before[1]) < 0.01, (before, moved)

    qtbot.keyClick(view, Qt.Key.Key_Right, ALT)  # one pixel to the right, on screen
    nudged = orient.shape_upright(doc.project.track("face-0001").shape_at(0)).bbox
    assert _near(nudged, (moved[0] + 1, moved[1], moved[2] + 1, moved[3]), tol=1e-3), (moved, nudged)
    qtbot.keyClick(view, Qt.Key.Key_Up, ALT)
    up = orient.shape_upright(doc.project.track("face-0001").shape_at(0)).bbox
    assert _near(up, (nudged[0], nudged[1] - 1, nudged[2], nudged[3] - 1), tol=1e-3), (nudged, up)


def test_timeline_thumbnails_are_upright(qtbot, window, rotated_clip):
    _open(qtbot, window, rotated_clip)
    window.thumbs.thumbnail(0, 36)  # queued; decoded in the thumbnail thread
    qtbot.waitUntil(lambda: window.thumbs.thumbnail(0, 36) is not None, timeout=10_000)
    img = window.thumbs.thumbnail(0, 36)
    assert img.height() == 36 and img.width() == round(36 * WIDTH / HEIGHT)  # landscape, as shown
    ptr = img.constBits()
    rgb = np.frombuffer(ptr, np.uint8, img.sizeInBytes()).reshape(img.height(), img.bytesPerLine())
    rgb = rgb[:, : img.width() * 3].reshape(img.height(), img.width(), 3)
    rendered = next(bgr for i, bgr, _t in render_frames())
    small = cv2.resize(rendered, (img.width(), img.height()), interpolation=cv2.INTER_AREA)[:, :, ::-1]
    assert np.abs(rgb.astype(int) - small.astype(int)).mean() < 12


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_orientation_round_trips_shapes_on_real_pixels(rotation):
    """A box painted in a coded frame lies, once the frame is turned, exactly where
    ``shape_upright`` says; ``shape_coded`` brings it back; movements turn with the picture."""
    w, h = 320, 240
    coded = np.zeros((h, w), np.uint8)
    coded[30:80, 200:260] = 255
    o = Orientation(rotation, w, h)
    shown = o.image(coded)
    assert shown.shape == (o.upright_size[1], o.upright_size[0])
    ys, xs = np.nonzero(shown)
    up = o.shape_upright(Shape.rect(200, 30, 260, 80))
    assert up.bbox == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    assert o.shape_coded(up) == Shape.rect(200, 30, 260, 80)
    tri = Shape.polygon([(10, 20), (50, 20), (30, 60)])
    assert o.shape_coded(o.shape_upright(tri)) == tri
    dx, dy = o.vector_coded(5, 0)  # 5 px to the right on screen, in coded pixels
    p = points_to_coded(np.array([[100.0, 50.0], [105.0, 50.0]]), rotation, w, h)
    assert (dx, dy) == (float(p[1, 0] - p[0, 0]), float(p[1, 1] - p[0, 1]))
