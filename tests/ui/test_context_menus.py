"""Right-click menus on shapes in the viewport, lanes, spans and group headers in the timeline,
rows in the track list and audio mutes, each with what applies there; picked with the mouse."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt

from tests.ui.conftest import wait_frame
from tests.ui.test_group_lanes_ui import add_tracks

RIGHT, LEFT = Qt.MouseButton.RightButton, Qt.MouseButton.LeftButton


def texts(menu) -> list[str]:
    out = []
    for a in menu.actions():
        if a.isSeparator():
            continue
        out.append(a.text().replace("&", ""))
        if a.menu() is not None:
            out.extend("  " + t for t in texts(a.menu()))
    return out


def pick(qtbot, menu, text: str) -> None:
    """Click the menu entry whose text starts with ``text``, with the mouse, as an operator would."""
    a = next(a for a in menu.actions() if a.text().replace("&", "").startswith(text))
    assert a.isEnabled(), text
    qtbot.waitUntil(menu.isVisible, timeout=2000)
    qtbot.mouseMove(menu.windowHandle(), pos=menu.actionGeometry(a).center())
    qtbot.mouseClick(menu.windowHandle(), LEFT, pos=menu.actionGeometry(a).center())


def right_click(qtbot, widget, pos: QPoint) -> None:
    """A right-click through the window, as the window system delivers it (Qt turns it into the
    context-menu event the widget handles)."""
    from PySide6.QtWidgets import QApplication

    qtbot.waitUntil(lambda: QApplication.activePopupWidget() is None, timeout=2000)  # the last menu is gone
    top = widget.window()
    qtbot.mouseClick(top.windowHandle(), RIGHT, pos=widget.mapTo(top, pos))
    qtbot.waitUntil(lambda: QApplication.activePopupWidget() is not None, timeout=2000)


@pytest.fixture
def opened(qtbot, window, short_sample):
    assert window.open_path(short_sample)
    wait_frame(qtbot, window, 0)
    ids = add_tracks(window, 5)
    qtbot.waitUntil(lambda: window.view.item_for_track(ids[0]) is not None, timeout=5000)
    return window, ids


def test_right_click_on_a_shape_in_the_viewport(qtbot, opened):
    win, ids = opened
    win.doc.set_selection([])
    view = win.view
    shape = view.item_for_track(ids[0]).path().boundingRect()
    pos = view.scene_to_view(shape.center())
    right_click(qtbot, view.viewport(), pos)
    menu = win.context_menus.last_menu
    assert menu is not None and win.context_menus.last_context.where == "viewport"
    assert win.doc.selection == [ids[0]]  # the shape right-clicked is what the menu acts on
    items = texts(menu)
    for want in ("Approve", "Reject (not a face/plate)", "Exempt / Redact (keep visible)", "Track Forward",
                 "Split at Playhead", "Delete Tracks", "Style", "  Solid Box", "Group", "  Group as Person"):
        assert want in items, (want, items)
    pick(qtbot, menu, "Approve")
    assert win.doc.project.track(ids[0]).review == "approved"
    # on the picture but on no shape: the drawing tools and the view modes
    right_click(qtbot, view.viewport(), QPoint(view.viewport().width() - 5, view.viewport().height() - 5))
    items = texts(win.context_menus.last_menu)
    assert "Rectangle Mask" in items and "Redacted Preview" in items and "Approve" not in items
    win.context_menus.last_menu.close()


def test_right_click_on_a_span_and_on_a_header_in_the_timeline(qtbot, opened):
    win, ids = opened
    tl, doc = win.timeline, win.doc
    t = doc.project.track(ids[2])
    a, b = t.spans()[0]
    doc.set_frame(30)
    pos = QPoint(round(tl.x_of_frame((a + b) / 2)), tl.lane_rect(ids[2]).center().y())
    right_click(qtbot, tl, pos)
    menu = win.context_menus.last_menu
    assert doc.selection == [ids[2]] and win.context_menus.last_context.span == (a, b)
    items = texts(menu)
    assert f"Go to Span Start ({doc.timecode(a)})" in items and "Mark Span as In/Out" in items
    pick(qtbot, menu, "Go to Span Start")
    assert doc.frame == a
    right_click(qtbot, tl, pos)
    pick(qtbot, win.context_menus.last_menu, "Mark Span as In/Out")
    assert doc.in_out_range() == (a, b)
    # a group's header: fold / unfold and rename
    doc.set_selection(ids[:2])
    win.group_actions.group_selected("person")
    header = tl.group_lane_rect("Person 1")
    right_click(qtbot, tl, QPoint(60, header.center().y()))
    menu = win.context_menus.last_menu
    assert win.context_menus.last_context.kind == "group" and doc.selection == ids[:2]
    items = texts(menu)
    assert "Person 1 (2 tracks)" in items and "Unfold Group" in items and "  Rename Group…" in items
    pick(qtbot, menu, "Unfold Group")
    assert not doc.is_folded("Person 1")


def test_right_click_on_a_row_of_the_track_list(qtbot, opened):
    win, ids = opened
    panel = win.track_list
    view = panel.view
    win.doc.set_selection([])
    rect = view.visualRect(panel.proxy_index(ids[3]))
    right_click(qtbot, view.viewport(), rect.center())
    menu = win.context_menus.last_menu
    assert win.doc.selection == [ids[3]] and win.context_menus.last_context.where == "list"
    items = texts(menu)
    assert "Go to First Frame" in items and "Approve" in items and "  Group as Vehicle" in items
    assert "Track Forward" not in items  # following a mask starts from the picture
    gm = next(a.menu() for a in menu.actions() if a.menu() is not None and a.text() == "&Group")
    pick(qtbot, menu, "Group")  # opens the submenu
    qtbot.waitUntil(gm.isVisible, timeout=2000)
    pick(qtbot, gm, "Group as Vehicle")
    assert win.doc.project.track(ids[3]).group == "Vehicle 1"


def test_right_click_on_an_audio_mute(qtbot, opened):
    win, ids = opened
    tl = win.timeline
    mute = win.edit_actions.add_audio_mute("silence")
    tl.set_selected_mute(None)
    lane = tl.mute_lane_rect()
    right_click(qtbot, tl, QPoint(round(tl.x_of_frame((mute.start + mute.end) / 2)), lane.center().y()))
    menu = win.context_menus.last_menu
    assert tl.selected_mute == mute.id
    assert "Delete Audio Mute" in texts(menu) and "Switch Silence / Bleep" in texts(menu)
    pick(qtbot, menu, "Delete Audio Mute")
    assert win.doc.project.audio_mutes == []


def test_other_parts_can_add_entries(qtbot, opened):
    win, ids = opened
    seen = []

    def extra(menu, ctx):
        seen.append((ctx.where, tuple(ctx.ids)))
        menu.addAction("Reason…")

    win.context_menus.add_extension(extra)
    view = win.track_list.view
    right_click(qtbot, view.viewport(), view.visualRect(win.track_list.proxy_index(ids[1])).center())
    assert "Reason…" in texts(win.context_menus.last_menu) and seen == [("list", (ids[1],))]
    win.context_menus.last_menu.close()
