"""Groups of tracks in the editor, and a list and timeline that scale: group, fold, act on a
group as a whole (one undo step), save and reopen; keys through hundreds of tracks; lane height."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from app.core import Keyframe, Shape, Track
from tests.ui.conftest import wait_frame

LEFT = Qt.MouseButton.LeftButton


def add_tracks(win, n: int, cls: str = "face") -> list[str]:
    """``n`` tracks on the open clip (staggered spans), added as one edit; their ids."""
    frames = win.doc.frame_count
    tracks = []
    for i in range(n):
        a = (i * 3) % max(1, frames - 10)
        x = 20 + (i * 37) % 400
        kfs = [Keyframe(a, Shape.rect(x, 40, x + 60, 110), score=0.9),
               Keyframe(min(frames - 1, a + 8), Shape.rect(x + 10, 40, x + 70, 110), score=0.8)]
        tracks.append(Track(f"{cls}-{i + 1:04d}", cls, kfs, review="needs_review"))
    win.doc.edit(f"add {n}", [*win.doc.project.tracks, *tracks])
    return [t.id for t in tracks]


def project_json(doc) -> str:
    from app.project_io.schema import project_to_dict

    return json.dumps(project_to_dict(doc.project), sort_keys=True)


@pytest.fixture
def grouped(qtbot, window, short_sample):
    assert window.open_path(short_sample)
    wait_frame(qtbot, window, 0)
    ids = add_tracks(window, 6)
    window.doc.set_selection(ids[1:4])
    window.track_list.view.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)  # Track > Group as Person
    return window, ids


def test_group_is_one_folding_row_and_one_header_lane(qtbot, grouped):
    win, ids = grouped
    doc, panel, tl = win.doc, win.track_list, win.timeline
    assert [doc.project.track(i).group for i in ids] == ["", "Person 1", "Person 1", "Person 1", "", ""]
    assert doc.undo.undoText().startswith("Group 3 track(s) as Person 1")
    # the list: 4 top-level rows (3 tracks, 1 group), the group folded, its row selected
    assert panel.model.rowCount() == 4
    g = panel.group_proxy_index("Person 1")
    assert g.isValid() and panel.proxy.rowCount(g) == 3 and not panel.view.isExpanded(g)
    assert g.data() == "Person 1 (3)" and "face-0003" in g.data(Qt.ItemDataRole.ToolTipRole)
    assert panel.view.selectionModel().isSelected(g)
    # the timeline: one header lane for the three tracks
    header = tl.group_lane_rect("Person 1")
    assert not header.isEmpty() and all(tl.lane_rect(i) == header for i in ids[1:4])
    assert tl.lane_rect(ids[4]).top() == header.bottom() + 1
    img = tl.grab().toImage()  # drawn: the header's label cell differs from a track's
    assert img.pixelColor(60, header.center().y()) != img.pixelColor(60, tl.lane_rect(ids[0]).center().y())
    # unfold it in the timeline (a click on its arrow): the list follows
    qtbot.mouseClick(tl, LEFT, pos=QPoint(6, header.center().y()))
    assert not doc.is_folded("Person 1") and panel.view.isExpanded(panel.group_proxy_index("Person 1"))
    rects = [tl.lane_rect(i) for i in ids[1:4]]
    assert rects[0].top() == header.bottom() + 1 and rects[1].top() == rects[0].bottom() + 1
    # fold it in the list: the timeline follows
    panel.view.collapse(panel.group_proxy_index("Person 1"))
    assert doc.is_folded("Person 1") and tl.lane_rect(ids[2]) == tl.group_lane_rect("Person 1")


def test_a_group_is_approved_exempted_and_styled_as_a_whole(qtbot, grouped):
    from app.core.edits import clone

    win, ids = grouped
    doc, panel = win.doc, win.track_list
    before = project_json(doc)
    n = doc.undo.count()
    # click the group row: all three are selected
    g = panel.group_proxy_index("Person 1")
    qtbot.mouseClick(panel.view.viewport(), LEFT, pos=panel.view.visualRect(g).center())
    assert doc.selection == ids[1:4]
    qtbot.keyClick(win, Qt.Key.Key_A)  # Approve
    assert [doc.project.track(i).review for i in ids] == ["needs_review", "approved", "approved", "approved",
                                                          "needs_review", "needs_review"]
    assert doc.undo.count() == n + 1
    # the group's Enabled box exempts the whole group in one step; it shows partly checked on a mix
    ge = panel.group_proxy_index("Person 1", 8)
    assert panel.proxy.setData(ge, Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
    assert not any(doc.project.track(i).enabled for i in ids[1:4]) and doc.undo.count() == n + 2
    doc.edit_tracks("Redact one again", [ids[2]], lambda t: clone(t, enabled=True))
    assert panel.group_proxy_index("Person 1", 8).data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.PartiallyChecked
    # Track > Style > Solid Box on the group: every member, one step
    doc.set_selection(ids[1:4])
    solid = win.group_actions.style_actions[0]
    solid.trigger()
    assert {doc.project.track(i).style.method.value for i in ids[1:4]} == {"solid"}
    assert doc.project.track(ids[0]).style is None
    assert doc.undo.count() == n + 4
    for _ in range(4):
        doc.undo.undo()
    assert project_json(doc) == before  # undo is exact


def test_group_is_saved_and_reopens_folded(qtbot, grouped, tmp_path):
    win, ids = grouped
    win.doc.set_folded("Person 1", False)
    path = str(tmp_path / "g.obscura.json")
    assert win._save_to(path)
    raw = json.loads(open(path).read())
    assert raw["version"] == 2 and [t.get("group", "") for t in raw["tracks"]][1:4] == ["Person 1"] * 3
    assert win.open_path(path)
    assert [win.doc.project.track(i).group for i in ids[1:4]] == ["Person 1"] * 3
    assert win.doc.is_folded("Person 1") and win.track_list.model.rowCount() == 4
    # ungroup: back to six rows, one undo step
    win.doc.set_selection(ids[1:4])
    win.group_actions.ungroup.trigger()
    assert win.track_list.model.rowCount() == 6 and win.timeline.group_lane_rect("Person 1").isEmpty()
    win.doc.undo.undo()
    assert win.track_list.model.rowCount() == 4


def test_search_finds_a_group_by_name_and_a_member_inside_it(qtbot, grouped):
    win, ids = grouped
    panel = win.track_list
    panel.set_search("person 1")
    assert panel.proxy.rowCount() == 1 and panel.proxy.rowCount(panel.group_proxy_index("Person 1")) == 3
    panel.set_search(ids[2])
    g = panel.group_proxy_index("Person 1")
    assert panel.proxy.rowCount() == 1 and panel.proxy.rowCount(g) == 1
    assert panel.count_label.text() == "1 of 6 tracks"
    panel.set_search("")
    panel.set_class_filter("plate")
    assert panel.proxy.rowCount() == 0


@pytest.mark.slow
def test_keys_move_through_hundreds_of_tracks(qtbot, window, short_sample):
    assert window.open_path(short_sample)
    wait_frame(qtbot, window, 0)
    add_tracks(window, 300)
    window.doc.set_frame(5)
    panel, tl, doc = window.track_list, window.timeline, window.doc
    view = panel.view
    view.setFocus()
    qtbot.waitUntil(view.hasFocus)
    view.selectRow(0)
    first = doc.selection
    assert len(first) == 1
    for _ in range(5):
        qtbot.keyClick(view, Qt.Key.Key_Down)
    row = panel.proxy_index(doc.selection[0]).row()
    assert row == 5 and len(doc.selection) == 1
    qtbot.keyClick(view, Qt.Key.Key_PageDown)
    assert panel.proxy_index(doc.selection[0]).row() > 10
    qtbot.keyClick(view, Qt.Key.Key_End)  # the list's End, not the transport's last frame
    assert panel.proxy_index(doc.selection[0]).row() == 299 and doc.frame == 5
    assert tl.highlighted_ids() == doc.selection and tl._lane_visible(doc.selection[0])
    assert panel._index_visible(panel.proxy_index(doc.selection[0]))
    qtbot.keyClick(view, Qt.Key.Key_Home)
    assert doc.selection == first and doc.frame == 5
    qtbot.keyClick(view, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    assert len(doc.selection) == 2
    # the timeline: Down / Page Down select the lanes below, and scroll them into view
    tl.setFocus()
    qtbot.waitUntil(tl.hasFocus)
    doc.set_selection([doc.project.tracks[0].id])
    tl._anchor_id = doc.selection[0]
    qtbot.keyClick(tl, Qt.Key.Key_Down)
    assert doc.selection == [doc.project.tracks[1].id]
    for _ in range(12):
        qtbot.keyClick(tl, Qt.Key.Key_PageDown)
    tid = doc.selection[0]
    assert doc.project.tracks.index(doc.project.track(tid)) > 12 * 3 and tl._lane_visible(tid)
    assert panel._index_visible(panel.proxy_index(tid))  # the list scrolled to it too
    qtbot.keyClick(tl, Qt.Key.Key_Up)
    assert doc.selection != [tid] and doc.frame == 5


def _wheel(widget, pos: QPointF, dy: int, mods) -> None:
    ev = QWheelEvent(pos, widget.mapToGlobal(pos), QPoint(), QPoint(0, dy), Qt.MouseButton.NoButton, mods,
                     Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, ev)


def test_lane_height_from_the_menu_and_ctrl_alt_wheel_is_kept(qtbot, window, short_sample, data_dir):
    from app.ui.main_window import MainWindow

    assert window.open_path(short_sample)
    ids = add_tracks(window, 20)
    tl = window.timeline
    h0 = tl.lane_height
    top = tl.lane_rect(ids[3]).top()
    window.act_lanes_taller.trigger()
    assert tl.lane_height == h0 + 4 and tl.lane_rect(ids[3]).height() == h0 + 4
    assert tl.lane_rect(ids[3]).top() > top
    y = tl.lane_rect(ids[0]).center().y()
    mods = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
    for _ in range(3):
        _wheel(tl, QPointF(300, y), -120, mods)
    assert tl.lane_height == h0 - 2
    zoom = tl.zoom
    _wheel(tl, QPointF(300, y), 120, Qt.KeyboardModifier.ControlModifier)  # plain Ctrl+wheel still zooms
    assert tl.zoom > zoom and tl.lane_height == h0 - 2
    assert int(window.settings.value("timeline/lane_height")) == h0 - 2
    other = MainWindow()
    qtbot.addWidget(other)
    assert other.timeline.lane_height == h0 - 2  # kept for the next start
    other.close()
