"""Editing on the timeline and in the track list, driven like a user would, with a real Document:
span drags (move, trim), multi-selection, the look of exempt and rejected tracks, the score filter."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor

from app.core import Keyframe, MediaRef, Project, Shape, Track
from app.core.edits import clone
from app.project_io import project_to_dict
from app.ui.document import Document
from app.ui.timeline import TimelineWidget
from app.ui.timeline.input import MOVE, TRIM_END, TRIM_START
from app.ui.timeline.lanes import REJECTED_OPACITY, lane_opacity, span_brush
from app.ui.track_list import COL_REVIEW, TrackListPanel

pytestmark = pytest.mark.gui

BOX = Shape.rect(10, 10, 60, 60)
ZOOM = 4.0
LEFT = Qt.MouseButton.LeftButton
CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


def make_track(tid: str, cls: str, spans, source="auto", score=0.8, **kw) -> Track:
    """A track visible over each inclusive (start, end) span, keyframes every 10 frames."""
    kfs = []
    for a, b in spans:
        kfs += [Keyframe(f, BOX, source=source, score=score) for f in range(a, b + 1, 10)]
        if kfs[-1].frame != b:
            kfs.append(Keyframe(b, BOX, source=source, score=score))
        kfs.append(Keyframe(b + 1, BOX, source=source, visible=False))
    return Track(tid, cls, kfs, **kw)


def make_doc(tracks, frames=300) -> Document:
    doc = Document()
    doc.project = Project(media=MediaRef("/nonexistent/clip.mp4", 640, 360, Fraction(30), frames),
                          tracks=list(tracks))
    doc.projectReplaced.emit()
    return doc


@pytest.fixture
def doc():
    return make_doc([
        make_track("face-0001", "face", [(50, 100)]),
        make_track("plate-0001", "plate", [(30, 120)], score=0.4),
        make_track("face-0002", "face", [(10, 60), (150, 200)], score=0.3),
        make_track("face-0003", "face", [(20, 120)], enabled=False),
        make_track("manual-0001", "manual", [(0, 40)], source="manual", score=None),
    ])


@pytest.fixture
def tl(doc, qtbot):
    w = TimelineWidget(doc)
    qtbot.addWidget(w)
    w.resize(1200, 400)
    w.show()
    qtbot.waitExposed(w)
    w.set_zoom(ZOOM, anchor_x=w.LABEL_W)
    assert w.zoom == ZOOM
    return w


@pytest.fixture
def panel(doc, qtbot):
    p = TrackListPanel(doc)
    qtbot.addWidget(p)
    p.resize(1000, 300)
    p.show()
    qtbot.waitExposed(p)
    return p


def lane_y(tl, tid) -> int:
    return tl.lane_rect(tid).center().y()


def at(tl, frame: float, tid: str) -> QPoint:
    return QPoint(round(tl.x_of_frame(frame)), lane_y(tl, tid))


def drag(qtbot, tl, start: QPoint, dx: int, steps: int = 6) -> None:
    """Press at ``start``, move right by ``dx`` px in a few steps, release."""
    qtbot.mousePress(tl, LEFT, pos=start)
    for i in range(1, steps + 1):
        qtbot.mouseMove(tl, start + QPoint(round(dx * i / steps), 0))
    qtbot.mouseRelease(tl, LEFT, pos=start + QPoint(dx, 0))


def project_json(doc) -> str:
    return json.dumps(project_to_dict(doc.project), indent=2, ensure_ascii=False)


def frames(doc, tid) -> list[int]:
    return [k.frame for k in doc.project.track(tid).keyframes]


# -- span drags -------------------------------------------------------------------------------------
def test_drag_span_body_moves_the_track_as_one_undo_step(tl, doc, qtbot):
    before = project_json(doc)
    old = frames(doc, "face-0001")
    doc.set_frame(200)
    drag(qtbot, tl, at(tl, 75.5, "face-0001"), round(23 * ZOOM), steps=8)
    assert frames(doc, "face-0001") == [f + 23 for f in old]
    assert doc.project.track("face-0001").spans() == [(73, 123)]
    assert doc.selection == ["face-0001"]
    assert doc.frame == 200  # a drag does not seek
    assert doc.undo.count() == 1 and doc.undo.undoText() == "Move span"
    after = project_json(doc)
    doc.undo.undo()
    assert project_json(doc) == before  # byte-identical
    doc.undo.redo()
    assert project_json(doc) == after
    assert frames(doc, "face-0001") == [f + 23 for f in old]


def test_drag_back_and_forth_does_not_accumulate_rounding(tl, doc, qtbot):
    start = at(tl, 75.5, "face-0001")
    qtbot.mousePress(tl, LEFT, pos=start)
    for dx in (4, 7, 11, -5, 16, 31):  # px, not whole frames
        qtbot.mouseMove(tl, start + QPoint(dx, 0))
    qtbot.mouseRelease(tl, LEFT, pos=start + QPoint(31, 0))
    assert doc.project.track("face-0001").spans() == [(50 + round(31 / ZOOM), 100 + round(31 / ZOOM))]
    assert doc.undo.count() == 1


def test_drag_there_and_back_leaves_nothing_to_undo(tl, doc, qtbot):
    start = at(tl, 75.5, "face-0001")
    qtbot.mousePress(tl, LEFT, pos=start)
    qtbot.mouseMove(tl, start + QPoint(round(12 * ZOOM), 0))
    assert doc.project.track("face-0001").spans() == [(62, 112)]
    qtbot.mouseMove(tl, start + QPoint(1, 0))
    qtbot.mouseRelease(tl, LEFT, pos=start + QPoint(1, 0))
    assert doc.project.track("face-0001").spans() == [(50, 100)]
    assert not doc.undo.canUndo() and not doc.dirty
    assert doc.frame == 0  # it was a drag, not a click: no seek


def test_move_is_clamped_to_the_clip(tl, doc, qtbot):
    drag(qtbot, tl, at(tl, 20.5, "manual-0001"), round(-60 * ZOOM))
    assert doc.project.track("manual-0001").spans()[0][0] == 0
    assert doc.undo.count() == 0  # it could not move left at all: nothing to undo


def test_drag_right_edge_extends_and_left_edge_trims(tl, doc, qtbot):
    # Grab the right edge 2 px inside the bar, drag 20 frames right: the span ends 20 frames later.
    edge = at(tl, 101, "face-0001") - QPoint(2, 0)
    assert tl.span_handle_at(edge.x(), edge.y()).mode == TRIM_END
    drag(qtbot, tl, edge, round(20 * ZOOM))
    assert doc.project.track("face-0001").spans() == [(50, 120)]
    assert doc.undo.undoText() == "Trim span end"
    # Left edge, 2 px outside the bar, 30 frames to the left: starts there.
    edge = at(tl, 50, "face-0001") - QPoint(2, 0)
    assert tl.span_handle_at(edge.x(), edge.y()).mode == TRIM_START
    drag(qtbot, tl, edge, round(-30 * ZOOM))
    assert doc.project.track("face-0001").spans() == [(20, 120)]
    # Left edge inwards: trims.
    drag(qtbot, tl, at(tl, 20, "face-0001") + QPoint(1, 0), round(15 * ZOOM))
    assert doc.project.track("face-0001").spans() == [(35, 120)]
    assert doc.undo.count() == 3
    doc.undo.undo()
    doc.undo.undo()
    doc.undo.undo()
    assert doc.project.track("face-0001").spans() == [(50, 100)]


def test_edge_drag_stops_at_the_neighbouring_span(tl, doc, qtbot):
    # face-0002 shows 10..60 and 150..200: its first span's end cannot pass the second's start.
    drag(qtbot, tl, at(tl, 61, "face-0002") - QPoint(1, 0), round(200 * ZOOM))
    spans = doc.project.track("face-0002").spans()
    assert spans[0][0] == 10 and spans[-1][1] == 200
    assert doc.project.track("face-0002").shape_at(175) is not None


def test_click_without_moving_selects_and_seeks(tl, doc, qtbot):
    p = at(tl, 80.5, "plate-0001")
    qtbot.mousePress(tl, LEFT, pos=p)
    qtbot.mouseMove(tl, p + QPoint(2, 0))  # below the drag threshold
    qtbot.mouseRelease(tl, LEFT, pos=p + QPoint(2, 0))
    assert doc.selection == ["plate-0001"]
    assert doc.frame == 81  # the frame boundary nearest the press
    assert doc.undo.count() == 0
    assert doc.project.track("plate-0001").spans() == [(30, 120)]


def test_drag_where_a_lane_shows_nothing_scrubs(tl, doc, qtbot):
    drag(qtbot, tl, at(tl, 130, "face-0001"), round(40 * ZOOM))
    assert doc.frame == 170 and doc.selection == ["face-0001"]
    assert doc.undo.count() == 0


def test_escape_cancels_a_drag(tl, doc, qtbot):
    start = at(tl, 75.5, "face-0001")
    qtbot.mousePress(tl, LEFT, pos=start)
    qtbot.mouseMove(tl, start + QPoint(round(10 * ZOOM), 0))
    assert doc.project.track("face-0001").spans() == [(60, 110)]
    qtbot.keyClick(tl, Qt.Key.Key_Escape)
    assert doc.project.track("face-0001").spans() == [(50, 100)]
    qtbot.mouseMove(tl, start + QPoint(60, 0))
    qtbot.mouseRelease(tl, LEFT, pos=start + QPoint(60, 0))
    assert doc.project.track("face-0001").spans() == [(50, 100)]
    assert not doc.undo.canUndo()


def test_cursor_shows_what_a_press_would_drag(tl, qtbot):
    y = lane_y(tl, "face-0001")
    assert tl.span_handle_at(tl.x_of_frame(75), y).mode == MOVE
    assert tl.span_handle_at(tl.x_of_frame(140), y) is None
    assert tl.span_handle_at(tl.x_of_frame(75), lane_y(tl, "plate-0001")).track_id == "plate-0001"
    def hover(p: QPoint) -> None:  # a plain move event (QTest's depends on earlier tests' cursor state)
        from PySide6.QtCore import QPointF
        from PySide6.QtGui import QMouseEvent
        from PySide6.QtWidgets import QApplication

        ev = QMouseEvent(QMouseEvent.Type.MouseMove, QPointF(p), tl.mapToGlobal(QPointF(p)),
                         Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(tl, ev)

    hover(at(tl, 101, "face-0001"))
    assert tl.cursor().shape() == Qt.CursorShape.SizeHorCursor
    hover(at(tl, 75.5, "face-0001"))
    assert tl.cursor().shape() == Qt.CursorShape.OpenHandCursor
    hover(at(tl, 140, "face-0001"))
    assert tl.cursor().shape() == Qt.CursorShape.ArrowCursor


# -- multi-selection --------------------------------------------------------------------------------
def test_ctrl_and_shift_click_select_several_lanes(tl, doc, panel, qtbot):
    qtbot.mouseClick(tl, LEFT, pos=QPoint(40, lane_y(tl, "face-0001")))
    qtbot.mouseClick(tl, LEFT, CTRL, at(tl, 140.5, "face-0002"))
    assert doc.selection == ["face-0001", "face-0002"]
    assert set(panel.selected_ids()) == {"face-0001", "face-0002"}
    # Shift+click: the range from the last lane clicked (face-0002) to this one.
    qtbot.mouseClick(tl, LEFT, SHIFT, QPoint(40, lane_y(tl, "manual-0001")))
    assert doc.selection == ["face-0002", "face-0003", "manual-0001"]
    assert tl.highlighted_ids() == ["face-0002", "face-0003", "manual-0001"]
    # Ctrl+Shift+click adds a range; a plain click selects one again.
    qtbot.mouseClick(tl, LEFT, CTRL | SHIFT, QPoint(40, lane_y(tl, "face-0001")))
    assert set(doc.selection) == {"face-0001", "plate-0001", "face-0002", "face-0003", "manual-0001"}
    qtbot.mouseClick(tl, LEFT, pos=QPoint(40, lane_y(tl, "plate-0001")))
    assert doc.selection == ["plate-0001"]


def test_multi_selection_in_the_list_reaches_the_document_and_back(tl, doc, panel, qtbot):
    view, proxy, model = panel.view, panel.proxy, panel.model

    def row_pos(tid):
        return view.visualRect(proxy.mapFromSource(model.index(model.row_of(tid), 0))).center()

    qtbot.mouseClick(view.viewport(), LEFT, pos=row_pos("plate-0001"))
    qtbot.mouseClick(view.viewport(), LEFT, CTRL, row_pos("manual-0001"))
    assert set(doc.selection) == {"plate-0001", "manual-0001"}
    assert set(tl.highlighted_ids()) == {"plate-0001", "manual-0001"}
    doc.set_selection(["face-0001", "face-0003"])
    assert set(panel.selected_ids()) == {"face-0001", "face-0003"}


# -- look -------------------------------------------------------------------------------------------
def bar_pixels(tl, tid, f0, f1) -> list[QColor]:
    """The colours along the middle of a lane between frames f0 and f1 (no keyframe there)."""
    img = tl.grab().toImage()
    y = lane_y(tl, tid)
    return [img.pixelColor(x, y) for x in range(round(tl.x_of_frame(f0)), round(tl.x_of_frame(f1)))]


def test_exempt_track_is_hatched_and_rejected_one_faint(tl, doc):
    assert span_brush(doc.project.track("face-0003"), False).style() == Qt.BrushStyle.BDiagPattern
    assert span_brush(doc.project.track("face-0001"), False).style() == Qt.BrushStyle.SolidPattern
    # face-0001 (enabled) and face-0003 (disabled) both show 52..58 between keyframes 50 and 60.
    solid = bar_pixels(tl, "face-0001", 52, 58)
    hatched = bar_pixels(tl, "face-0003", 52, 58)
    assert len({c.rgb() for c in solid}) == 1
    assert len({c.rgb() for c in hatched}) >= 2  # the diagonal lines cross the row
    assert {c.rgb() for c in hatched}.isdisjoint({c.rgb() for c in solid})

    background = bar_pixels(tl, "face-0001", 130, 131)[0]
    before = solid[0]
    doc.edit_tracks("Reject", ["face-0001"], lambda t: clone(t, review="rejected"))
    assert lane_opacity(doc.project.track("face-0001")) == REJECTED_OPACITY
    after = bar_pixels(tl, "face-0001", 52, 58)[0]

    def dist(a, b):
        return abs(a.red() - b.red()) + abs(a.green() - b.green()) + abs(a.blue() - b.blue())

    assert 0 < dist(after, background) < 0.5 * dist(before, background)


# -- hidden tracks and the score filter -------------------------------------------------------------
def test_hidden_tracks_have_no_lane_and_no_row(tl, doc, panel):
    doc.set_selection(["face-0001", "plate-0001"])
    doc.set_min_score(0.5)  # plate-0001 (0.4) and face-0002 (0.3); never manual tracks
    assert doc.hidden == {"plate-0001", "face-0002"}
    assert tl.lane_rect("plate-0001").isEmpty() and tl.lane_rect("face-0002").isEmpty()
    assert [tl.track_at(tl.lane_rect(t).center().y()) for t in ("face-0001", "face-0003", "manual-0001")] == [
        "face-0001", "face-0003", "manual-0001"]
    shown = {panel.proxy.index(r, 0).data() for r in range(panel.proxy.rowCount())}
    assert shown == {"face-0001", "face-0003", "manual-0001"}
    assert panel.selected_ids() == ["face-0001"]
    assert panel.hidden_label.text() == "2 hidden"
    assert panel.score_slider.value() == 50  # the slider follows a change made elsewhere
    doc.set_min_score(0.0)
    assert not tl.lane_rect("plate-0001").isEmpty()
    assert panel.proxy.rowCount() == 5
    assert panel.selected_ids() == ["face-0001"] == doc.selection  # hiding a track deselected it


def test_slider_and_reject_hidden_in_one_undo_step(tl, doc, panel, qtbot):
    assert not panel.reject_button.isEnabled()
    panel.score_slider.setValue(35)
    assert doc.min_score == pytest.approx(0.35)
    assert panel.score_label.text() == "0.35"
    assert doc.hidden == {"face-0002"}
    panel.set_min_score(0.45)
    assert doc.hidden == {"plate-0001", "face-0002"}
    assert panel.hidden_label.text() == "2 hidden" and panel.reject_button.isEnabled()
    before = project_json(doc)
    qtbot.mouseClick(panel.reject_button, LEFT)
    review = {t.id: t.review for t in doc.project.tracks}
    assert review["plate-0001"] == review["face-0002"] == "rejected"
    assert [tid for tid, r in review.items() if r == "rejected"] == ["plate-0001", "face-0002"]
    assert doc.undo.count() == 1 and doc.undo.undoText() == "Reject 2 low-score tracks"
    assert not panel.reject_button.isEnabled()  # nothing left to reject
    doc.undo.undo()
    assert project_json(doc) == before
    assert panel.reject_button.isEnabled()


def test_review_column_shows_and_sorts_the_review_state(doc, panel):
    doc.edit_tracks("Reject", ["plate-0001"], lambda t: clone(t, review="rejected"))
    doc.edit_tracks("Approve", ["manual-0001"], lambda t: clone(t, review="approved"))
    panel.view.sortByColumn(COL_REVIEW, Qt.SortOrder.AscendingOrder)
    proxy = panel.proxy
    col = [proxy.index(r, COL_REVIEW).data() for r in range(proxy.rowCount())]
    assert col == ["needs review"] * 3 + ["approved", "rejected"]
    row = col.index("rejected")
    assert proxy.index(row, COL_REVIEW).data(Qt.ItemDataRole.ForegroundRole).name() == "#fa5252"
    assert proxy.index(row, 0).data(Qt.ItemDataRole.ForegroundRole) is not None  # dimmed
