"""The timeline widget driven like a user would: clicks, double-clicks, wheel, with a real Document."""

from __future__ import annotations

from fractions import Fraction

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QWheelEvent
from PySide6.QtWidgets import QApplication

from app.core import Keyframe, MediaRef, Project, Shape, Track
from app.ui.document import Document
from app.ui.timeline import TimelineWidget
from app.ui.timeline.ruler import choose_ticks
from app.ui.track_list import TrackListPanel

pytestmark = pytest.mark.gui

BOX = Shape.rect(10, 10, 60, 60)


def make_track(tid: str, cls: str, spans, source="auto", score=0.8, enabled=True) -> Track:
    """A track visible over each inclusive (start, end) span, keyframes every 10 frames."""
    kfs = []
    for a, b in spans:
        kfs += [Keyframe(f, BOX, source=source, score=score) for f in range(a, b + 1, 10)]
        if kfs[-1].frame != b:
            kfs.append(Keyframe(b, BOX, source=source, score=score))
        kfs.append(Keyframe(b + 1, BOX, source=source, visible=False))
    return Track(tid, cls, kfs, enabled=enabled)


def make_doc(tracks=(), frames=300, fps=30) -> Document:
    doc = Document()
    doc.project = Project(media=MediaRef("/nonexistent/clip.mp4", 640, 360, Fraction(fps), frames),
                          tracks=list(tracks))
    doc.projectReplaced.emit()
    return doc


def standard_tracks() -> list[Track]:
    return [
        make_track("face-0001", "face", [(10, 60), (150, 200)]),
        make_track("plate-0001", "plate", [(30, 120)], score=0.4),
        make_track("manual-0001", "manual", [(0, 40)], source="manual", score=None),
        make_track("face-0002", "face", [(220, 290)], enabled=False),
    ]


@pytest.fixture
def timeline(qtbot):
    doc = make_doc(standard_tracks())
    tl = TimelineWidget(doc)
    qtbot.addWidget(tl)
    tl.resize(1000, 400)
    tl.show()
    qtbot.waitExposed(tl)
    tl.set_zoom(3.0, anchor_x=tl.LABEL_W)
    return tl


def wheel(widget, pos: QPointF, dy: int = 0, dx: int = 0, mods=Qt.KeyboardModifier.NoModifier) -> None:
    ev = QWheelEvent(pos, widget.mapToGlobal(pos), QPoint(), QPoint(dx, dy), Qt.MouseButton.NoButton,
                     mods, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, ev)


def test_click_in_ruler_seeks(timeline, qtbot):
    doc = timeline.doc
    assert timeline.zoom == 3.0
    x = round(timeline.x_of_frame(40))
    qtbot.mouseClick(timeline, Qt.MouseButton.LeftButton, pos=QPoint(x, timeline.RULER_H // 2))
    assert doc.frame == 40
    assert timeline.frame_at_x(timeline.x_of_frame(123)) == 123


def test_drag_in_ruler_scrubs(timeline, qtbot):
    y = timeline.RULER_H // 2
    qtbot.mousePress(timeline, Qt.MouseButton.LeftButton, pos=QPoint(round(timeline.x_of_frame(10)), y))
    qtbot.mouseMove(timeline, QPoint(round(timeline.x_of_frame(90)), y))
    qtbot.mouseRelease(timeline, Qt.MouseButton.LeftButton, pos=QPoint(round(timeline.x_of_frame(90)), y))
    assert timeline.doc.frame == 90


def test_click_lane_selects_track_and_list_follows(timeline, qtbot):
    doc = timeline.doc
    panel = TrackListPanel(doc)
    qtbot.addWidget(panel)
    rect = timeline.lane_rect("plate-0001")
    assert rect.height() == timeline.LANE_H and rect.top() >= timeline.HEADER_H
    qtbot.mouseClick(timeline, Qt.MouseButton.LeftButton, pos=rect.center())
    assert doc.selection == ["plate-0001"]
    assert panel.selected_ids() == ["plate-0001"]
    assert timeline.highlighted_ids() == ["plate-0001"]
    # Ctrl+click adds a second track (on its label), then toggles it off again.
    label_pos = QPoint(40, timeline.lane_rect("face-0001").center().y())
    qtbot.mouseClick(timeline, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, label_pos)
    assert set(doc.selection) == {"plate-0001", "face-0001"}
    assert set(panel.selected_ids()) == {"plate-0001", "face-0001"}
    qtbot.mouseClick(timeline, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, label_pos)
    assert doc.selection == ["plate-0001"]
    # A click on the empty area below the lanes seeks and clears the selection.
    below = timeline.lane_rect("face-0002").bottom() + 30
    qtbot.mouseClick(timeline, Qt.MouseButton.LeftButton, pos=QPoint(round(timeline.x_of_frame(77)), below))
    assert doc.selection == [] and doc.frame == 77
    assert panel.selected_ids() == []


def test_list_selection_highlights_lane(timeline, qtbot):
    doc = timeline.doc
    panel = TrackListPanel(doc)
    qtbot.addWidget(panel)
    panel.resize(900, 300)
    panel.show()
    qtbot.waitExposed(panel)
    model, proxy, view = panel.model, panel.proxy, panel.view
    idx = proxy.mapFromSource(model.index(model.row_of("manual-0001"), 0))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(idx).center())
    assert doc.selection == ["manual-0001"]
    assert timeline.highlighted_ids() == ["manual-0001"]
    # The highlight is really drawn: the lane's label cell takes the selection colour.
    img = timeline.grab().toImage()
    y = timeline.lane_rect("manual-0001").center().y()
    other = timeline.lane_rect("face-0001").center().y()
    x = timeline.LABEL_W - 30
    assert img.pixelColor(x, y) != img.pixelColor(x, other)
    assert img.pixelColor(x, y).blue() > img.pixelColor(x, y).red()


def test_double_click_on_span_jumps_to_its_first_frame(timeline, qtbot):
    doc = timeline.doc
    y = timeline.lane_rect("face-0001").center().y()
    qtbot.mouseDClick(timeline, Qt.MouseButton.LeftButton, pos=QPoint(round(timeline.x_of_frame(180)), y))
    assert doc.frame == 150
    assert doc.selection == ["face-0001"]
    qtbot.mouseDClick(timeline, Qt.MouseButton.LeftButton, pos=QPoint(round(timeline.x_of_frame(35)), y))
    assert doc.frame == 10


def test_ctrl_wheel_zooms_around_the_mouse(timeline):
    before = timeline.zoom
    x = timeline.x_of_frame(100) + 1
    wheel(timeline, QPointF(x, 200), dy=120, mods=Qt.KeyboardModifier.ControlModifier)
    assert timeline.zoom == pytest.approx(before * 1.25)
    assert timeline.frame_at_x(x) == 100  # the frame under the mouse stayed there
    for _ in range(40):
        wheel(timeline, QPointF(x, 200), dy=-120, mods=Qt.KeyboardModifier.ControlModifier)
    first, last = timeline.visible_frame_range()
    assert (first, last) == (0, 299)  # zoomed out no further than the whole clip


def test_wheel_scrolls_horizontally(timeline):
    timeline.set_zoom(20.0)
    first, _ = timeline.visible_frame_range()
    wheel(timeline, QPointF(500, 200), dy=-120, mods=Qt.KeyboardModifier.ShiftModifier)
    assert timeline.visible_frame_range()[0] > first


def test_tracks_changed_adds_a_lane_and_a_row(timeline, qtbot):
    doc = timeline.doc
    panel = TrackListPanel(doc)
    qtbot.addWidget(panel)
    rows = panel.model.rowCount()
    assert timeline.lane_rect("plate-0002").isEmpty()
    doc.project.add_track(make_track("plate-0002", "plate", [(100, 140)]))
    doc.mark_changed()
    rect = timeline.lane_rect("plate-0002")
    assert not rect.isEmpty() and rect.top() == timeline.lane_rect("face-0002").bottom() + 1
    assert panel.model.rowCount() == rows + 1
    assert timeline.span_at(timeline.x_of_frame(120), rect.center().y()) == (100, 140)


def test_thumbnails_from_a_source_and_when_ready(timeline):
    asked = []

    def source(frame, height):
        asked.append((frame, height))
        return None

    timeline.set_thumbnail_source(source)
    timeline.grab()
    assert asked and all(h > 10 for _, h in asked)
    frame = asked[0][0]
    img = QImage(64, 36, QImage.Format.Format_RGB32)
    img.fill(QColor(0, 200, 0))
    timeline.thumbnail_ready(frame, img)
    shot = timeline.grab().toImage()
    px = shot.pixelColor(round(timeline.x_of_frame(frame)) + 10, timeline.RULER_H + timeline.THUMB_H // 2)
    assert px.green() > 150 and px.red() < 60


def test_only_visible_lanes_are_prepared(qtbot):
    tracks = [make_track(f"face-{i:04d}", "face", [(i % 200, i % 200 + 50)]) for i in range(3000)]
    doc = make_doc(tracks, frames=600)
    tl = TimelineWidget(doc)
    qtbot.addWidget(tl)
    tl.resize(1200, 600)
    tl.grab()
    visible = (600 - tl.HEADER_H) // tl.LANE_H + 2
    assert 0 < len(tl._cache) <= visible
    tl._vbar.setValue(tl._vbar.maximum())
    tl.grab()
    assert tl.track_at(tl.height() - tl._sb() - 5) == "face-2999"
    doc.set_selection(["face-1500"])  # e.g. from the track list: the timeline scrolls to it
    rect = tl.lane_rect("face-1500")
    assert tl.HEADER_H <= rect.top() and rect.bottom() < tl.height() - tl._sb()
    assert tl.track_at(rect.center().y()) == "face-1500"


def test_empty_document_paints(qtbot):
    doc = Document()  # no media, no tracks
    tl = TimelineWidget(doc)
    qtbot.addWidget(tl)
    tl.resize(600, 200)
    assert not tl.grab().isNull()
    assert tl.visible_frame_range() == (0, -1)
    qtbot.mouseClick(tl, Qt.MouseButton.LeftButton, pos=QPoint(300, 10))
    wheel(tl, QPointF(300, 100), dy=120, mods=Qt.KeyboardModifier.ControlModifier)
    assert doc.frame == 0


def test_ruler_ticks_follow_the_zoom():
    fps = Fraction(30)
    fine = choose_ticks(40.0, fps, 80, 60)
    assert fine.with_frames and fine.major < 30
    coarse = choose_ticks(0.01, fps, 80, 60)
    assert not coarse.with_frames and coarse.major % (60 * 30) == 0
    mid = choose_ticks(1.0, fps, 80, 60)
    assert mid.major in (30 * 5, 30 * 10, 30 * 15) and mid.major % mid.minor == 0
