"""Editing shapes and drawing manual masks in the viewport, with real mouse events on a real clip."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.core import Keyframe, Shape, ShapeKind, Track
from app.core.track import KeyframeSource
from app.project_io import project_to_dict
from app.ui.document import Document
from app.ui.frame_provider import FrameProvider
from app.ui.video_view import VideoView, ViewMode

pytestmark = pytest.mark.gui

WAIT_MS = 10_000
FACE = "face-0001"


@pytest.fixture
def editor(qtbot, ui_clip):
    doc = Document()
    provider = FrameProvider()
    view = VideoView(doc, provider)
    host = QWidget()
    lay = QVBoxLayout(host)
    lay.addWidget(view)
    host.resize(640, 480)
    qtbot.addWidget(host)
    host.show()
    qtbot.waitExposed(host)
    view.setFocus()
    doc.open_media(ui_clip)
    ed = SimpleNamespace(doc=doc, provider=provider, view=view, qtbot=qtbot, host=host)
    wait_shown(ed, 0)
    yield ed
    provider.close()


def wait_shown(ed, frame: int) -> None:
    ed.qtbot.waitUntil(lambda: ed.doc.frame == frame and ed.view.displayed_frame == frame, timeout=WAIT_MS)


def seek(ed, frame: int) -> None:
    ed.doc.set_frame(frame)
    wait_shown(ed, frame)


def add_tracks(ed, *tracks: Track) -> None:
    for t in tracks:
        ed.doc.project.add_track(t)
    ed.doc.mark_changed()


def project_json(doc) -> str:
    return json.dumps(project_to_dict(doc.project), indent=2, ensure_ascii=False)


def drag(ed, start: QPoint, end: QPoint, steps: int = 4, during=None, button=Qt.MouseButton.LeftButton) -> None:
    """Press at ``start``, move in ``steps`` to ``end``, release; ``during()`` runs mid-way."""
    vp = ed.view.viewport()
    ed.qtbot.mousePress(vp, button, pos=start)
    for i in range(1, steps + 1):
        ed.qtbot.mouseMove(vp, start + (end - start) * (i / steps))
        if during is not None and i == steps // 2:
            during()
    ed.qtbot.mouseRelease(vp, button, pos=end)


def view_pt(view, x: float, y: float) -> QPoint:
    return view.scene_to_view(QPointF(x, y))


def scene_of(view, p: QPoint) -> tuple[float, float]:
    s = view.viewportTransform().inverted()[0].map(QPointF(p))
    return s.x(), s.y()


def rect_track(tid=FACE, frames=(0, 30), box=(60, 60, 160, 160), **kw) -> Track:
    return Track(tid, kw.pop("cls", "face"), [Keyframe(f, Shape.rect(*box), score=0.9) for f in frames], **kw)


# -- moving, resizing, moving a vertex ----------------------------------------------------------
def test_drag_inside_moves_the_shape_as_one_undo_step(editor):
    doc, view = editor.doc, editor.view
    add_tracks(editor, rect_track())
    seek(editor, 15)
    original = project_json(doc)
    zoom = view.zoom
    assert zoom > 1.2  # fit: 320x240 in about 640x480
    start = view_pt(view, 110, 110)
    # A click selects and changes nothing.
    editor.qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=start)
    assert doc.selection == [FACE] and doc.undo.count() == 0
    assert set(view.handle_positions()) == {"tl", "t", "tr", "r", "br", "b", "bl", "l"}
    seen = []

    def mid_drag():  # the overlay follows the mouse during the drag
        seen.append(view.item_for_track(FACE).path().boundingRect().left())

    drag(editor, start, start + QPoint(40, 20), during=mid_drag)
    dx, dy = 40 / zoom, 20 / zoom
    assert seen and 60 < seen[0] < 60 + dx
    track = doc.project.track(FACE)
    kf = track.keyframe_at(15)
    assert kf is not None and kf.source is KeyframeSource.MANUAL and kf.visible
    assert kf.shape.kind is ShapeKind.RECT
    assert kf.shape.bbox == pytest.approx((60 + dx, 60 + dy, 160 + dx, 160 + dy), abs=0.02)
    assert track.shape_at(7).bbox[:2] == pytest.approx((60 + dx * 7 / 15, 60 + dy * 7 / 15), abs=0.02)
    assert track.shape_at(22).bbox[:2] == pytest.approx((60 + dx * 8 / 15, 60 + dy * 8 / 15), abs=0.02)
    assert track.keyframe_at(0).source is KeyframeSource.AUTO  # the neighbours are untouched
    assert view.item_for_track(FACE).path().boundingRect().left() == pytest.approx(60 + dx, abs=0.02)
    assert doc.undo.count() == 1 and doc.undo.undoText() == "Move mask"
    edited = project_json(doc)
    doc.undo.undo()
    assert project_json(doc) == original
    assert view.item_for_track(FACE).path().boundingRect().left() == pytest.approx(60)
    doc.undo.redo()
    assert project_json(doc) == edited
    # A second drag is a second undo step.
    drag(editor, view_pt(view, 110, 110), view_pt(view, 110, 110) + QPoint(0, -30))
    assert doc.undo.count() == 2
    assert doc.project.track(FACE).keyframe_at(15).shape.bbox[1] == pytest.approx(60 + dy - 30 / zoom, abs=0.02)
    doc.undo.undo()
    assert project_json(doc) == edited


def test_resize_with_a_corner_and_edge_handles(editor):
    doc, view = editor.doc, editor.view
    add_tracks(editor, rect_track(cls="plate", box=(60, 60, 160, 140)))
    seek(editor, 10)
    doc.set_selection([FACE])
    handles = view.handle_positions()
    assert handles["br"] == QPointF(view.viewportTransform().map(QPointF(160, 140)))
    assert handles["t"] == QPointF(view.viewportTransform().map(QPointF(110, 60)))
    zoom = view.zoom
    br = handles["br"].toPoint()
    editor.qtbot.mouseMove(view.viewport(), br)
    assert view.viewport().cursor().shape() == Qt.CursorShape.SizeFDiagCursor
    editor.qtbot.mouseMove(view.viewport(), view_pt(view, 110, 100))
    assert view.viewport().cursor().shape() == Qt.CursorShape.SizeAllCursor
    drag(editor, br, br + QPoint(30, 12))
    shape = doc.project.track(FACE).keyframe_at(10).shape
    assert shape.bbox == pytest.approx((60, 60, 160 + 30 / zoom, 140 + 12 / zoom), abs=0.02)
    assert doc.undo.undoText() == "Resize mask" and doc.undo.count() == 1
    # The left edge dragged far past the right one stops 2 px before it.
    left = view.handle_positions()["l"].toPoint()
    drag(editor, left, left + QPoint(600, 0))
    x1, _y1, x2, _y2 = doc.project.track(FACE).keyframe_at(10).shape.bbox
    assert x2 - x1 == pytest.approx(2.0, abs=0.02) and doc.undo.count() == 2
    # Partly outside the frame is allowed.
    tl = view.handle_positions()["tl"].toPoint()
    drag(editor, tl, tl - QPoint(0, round(100 * zoom)))
    assert doc.project.track(FACE).keyframe_at(10).shape.bbox[1] == pytest.approx(-40, abs=0.6)


def test_move_a_polygon_vertex_and_scale_a_polygon(editor):
    doc, view = editor.doc, editor.view
    pts = [(60.0, 60.0), (200.0, 80.0), (120.0, 200.0)]
    add_tracks(editor, Track("manual-0001", "manual", [Keyframe(0, Shape.polygon(pts), KeyframeSource.MANUAL)],
                             review="approved"))
    doc.set_selection(["manual-0001"])
    handles = view.handle_positions()
    assert {"p0", "p1", "p2", "br", "tl"} <= set(handles)
    zoom = view.zoom
    p1 = handles["p1"].toPoint()
    drag(editor, p1, p1 + QPoint(-20, 30))
    shape = doc.project.track("manual-0001").keyframe_at(0).shape
    assert shape.kind is ShapeKind.POLYGON
    assert shape.points[0] == pts[0] and shape.points[2] == pts[2]
    assert shape.points[1] == pytest.approx((200 - 20 / zoom, 80 + 30 / zoom), abs=0.02)
    assert doc.undo.undoText() == "Move point"
    # The bottom-right bbox handle scales the polygon; the top-left vertex stays put.
    before = shape
    br = view.handle_positions()["br"].toPoint()
    drag(editor, br, br + QPoint(round(before.width * zoom), 0))  # twice as wide
    after = doc.project.track("manual-0001").keyframe_at(0).shape
    assert after.points[0] == pytest.approx(pts[0], abs=0.02)
    assert after.width == pytest.approx(2 * before.width, abs=0.6)
    assert doc.undo.count() == 2


def test_empty_space_pans_and_divider_still_drags(editor):
    doc, view = editor.doc, editor.view
    add_tracks(editor, rect_track())
    doc.set_selection([FACE])
    view.set_zoom(3.0)
    before = view.mapToScene(view.viewport().rect().center())
    start = view_pt(view, 20, 20)  # on the frame, outside the shape
    drag(editor, start, start + QPoint(-50, -30))
    after = view.mapToScene(view.viewport().rect().center())
    assert after.x() > before.x() and after.y() > before.y()
    assert doc.selection == [] and doc.undo.count() == 0
    view.fit()
    view.set_view_mode(ViewMode.SPLIT)
    x = view_pt(view, view.split_x, 100)
    drag(editor, x, view_pt(view, 80, 100))
    assert view.split_x == pytest.approx(80, abs=1) and doc.undo.count() == 0


# -- drawing tools ------------------------------------------------------------------------------
def test_draw_rect_and_ellipse(editor):
    doc, view = editor.doc, editor.view
    add_tracks(editor, rect_track())
    drawn, tools = [], []
    view.shapeDrawn.connect(drawn.append)
    view.toolChanged.connect(tools.append)
    assert view.tool == "select"
    view.set_tool("rect")
    assert view.tool == "rect" and tools == ["rect"]
    assert view.viewport().cursor().shape() == Qt.CursorShape.CrossCursor
    a, b = view_pt(view, 80, 70), view_pt(view, 200, 180)  # starts on the track: draws, does not select
    preview = []
    drag(editor, a, b, during=lambda: preview.append(view.drawing_points()))
    assert doc.selection == [] and len(preview) == 1 and view.drawing_points() == []
    assert len(drawn) == 1 and drawn[0].kind is ShapeKind.RECT
    (ax, ay), (bx, by) = scene_of(view, a), scene_of(view, b)
    assert drawn[0].bbox == pytest.approx((ax, ay, bx, by), abs=0.02)
    editor.qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=a)  # too small: nothing
    drag(editor, a, a + QPoint(2, 40))
    assert len(drawn) == 1 and view.tool == "rect"
    view.set_tool("ellipse")
    c, d = view_pt(view, 250, 200), view_pt(view, 150, 120)  # drawn up and to the left
    drag(editor, c, d)
    assert len(drawn) == 2 and drawn[1].kind is ShapeKind.ELLIPSE
    (cx, cy), (dx, dy) = scene_of(view, c), scene_of(view, d)
    assert drawn[1].bbox == pytest.approx((dx, dy, cx, cy), abs=0.02)
    assert doc.project.tracks and len(doc.project.tracks) == 1 and doc.undo.count() == 0  # the window makes tracks
    # The middle button still pans in a drawing tool.
    view.set_zoom(3.0)
    before = view.mapToScene(view.viewport().rect().center())
    drag(editor, QPoint(300, 200), QPoint(250, 170), button=Qt.MouseButton.MiddleButton)
    assert view.mapToScene(view.viewport().rect().center()).x() > before.x() and len(drawn) == 2
    editor.qtbot.keyClick(view, Qt.Key.Key_Escape)  # nothing in progress: back to select
    assert view.tool == "select" and tools == ["rect", "ellipse", "select"]
    with pytest.raises(ValueError):
        view.set_tool("lasso")


def test_draw_polygon_close_cancel_and_backspace(editor):
    view, qtbot = editor.view, editor.qtbot
    vp = view.viewport()
    drawn = []
    view.shapeDrawn.connect(drawn.append)
    view.set_tool("polygon")
    clicks = [view_pt(view, x, y) for x, y in ((50, 50), (200, 60), (220, 190))]
    for p in clicks:
        qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=p)
    qtbot.mouseMove(vp, view_pt(view, 100, 150))
    assert len(view.drawing_points()) == 3 and view.is_drawing
    last = view_pt(view, 70, 180)
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=last)
    qtbot.mouseDClick(vp, Qt.MouseButton.LeftButton, pos=last)
    assert len(drawn) == 1 and drawn[0].kind is ShapeKind.POLYGON and not view.is_drawing
    expected = [scene_of(view, p) for p in [*clicks, last]]
    assert len(drawn[0].points) == 4
    for got, want in zip(drawn[0].points, expected, strict=True):
        assert got == pytest.approx(want, abs=0.02)
    # A double-click alone at a new place adds that point and closes.
    for p in clicks[:2]:
        qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=p)
    qtbot.mouseDClick(vp, Qt.MouseButton.LeftButton, pos=clicks[2])
    assert len(drawn) == 2 and len(drawn[1].points) == 3
    # Clicking the first point again closes it; Backspace drops the last point first.
    for p in [*clicks, view_pt(view, 10, 200)]:
        qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=p)
    qtbot.keyClick(view, Qt.Key.Key_Backspace)
    assert len(view.drawing_points()) == 3
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=clicks[0] + QPoint(3, -2))
    assert len(drawn) == 3 and len(drawn[2].points) == 3
    # Esc cancels a polygon in progress (the tool stays), a second Esc leaves the tool.
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=clicks[0])
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=clicks[1])
    qtbot.keyClick(view, Qt.Key.Key_Escape)
    assert not view.is_drawing and view.tool == "polygon" and len(drawn) == 3
    qtbot.keyClick(view, Qt.Key.Key_Escape)
    assert view.tool == "select"


# -- how tracks look ----------------------------------------------------------------------------
def test_disabled_rejected_and_hidden_tracks(editor):
    doc, view = editor.doc, editor.view
    add_tracks(editor,
               rect_track("face-0001", box=(20, 20, 80, 80), enabled=False),
               rect_track("face-0002", box=(100, 20, 160, 80), review="rejected"),
               Track("face-0003", "face", [Keyframe(0, Shape.rect(200, 20, 260, 80), score=0.3),
                                           Keyframe(30, Shape.rect(200, 20, 260, 80), score=0.3)]),
               rect_track("face-0004", box=(20, 120, 80, 180)))
    seek(editor, 5)
    off, rejected, low, normal = (view.item_for_track(f"face-000{i}") for i in range(1, 5))
    assert off.brush().style() == Qt.BrushStyle.BDiagPattern and off.pen().style() == Qt.PenStyle.DashLine
    assert off.label_text.endswith("(off)")
    assert rejected.pen().style() == Qt.PenStyle.DotLine and rejected.opacity() < 1
    assert rejected.label_text.endswith(" (rejected)") and rejected.pen().color() != normal.pen().color()
    assert normal.pen().style() == Qt.PenStyle.SolidLine and normal.brush().style() == Qt.BrushStyle.SolidPattern
    assert low is not None
    doc.set_selection(["face-0003"])
    assert view.handle_positions()
    doc.set_min_score(0.5)  # hides the low-scoring auto track (a view filter)
    assert doc.is_hidden("face-0003")
    assert view.item_for_track("face-0003") is None and view.handle_positions() == {}
    editor.qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view_pt(view, 230, 50))
    assert doc.selection == []  # not drawn, not clickable
    doc.set_min_score(0.0)
    assert view.item_for_track("face-0003") is not None
