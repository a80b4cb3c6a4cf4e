"""What other editors do: Ctrl+Shift+Z redoes, Backspace deletes, shortcuts can be remapped and
are kept, status messages are elided and cleared on open, drawn masks are named by their shape,
and every toolbar button has an icon and a tooltip with its shortcut."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QToolButton

from tests.ui.conftest import wait_frame
from tests.ui.test_group_lanes_ui import add_tracks

CTRL, SHIFT, ALT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier, Qt.KeyboardModifier.AltModifier
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def opened(qtbot, window, short_sample):
    assert window.open_path(short_sample)
    wait_frame(qtbot, window, 0)
    return window


def test_ctrl_shift_z_redoes_and_backspace_deletes(qtbot, opened):
    win = opened
    ids = add_tracks(win, 3)
    win.timeline.setFocus()
    qtbot.keyClick(win.timeline, Qt.Key.Key_Z, CTRL)
    assert win.doc.project.tracks == []
    qtbot.keyClick(win.timeline, Qt.Key.Key_Z, CTRL | SHIFT)
    assert [t.id for t in win.doc.project.tracks] == ids
    win.doc.set_selection([ids[1]])
    qtbot.keyClick(win.timeline, Qt.Key.Key_Backspace)
    assert [t.id for t in win.doc.project.tracks] == [ids[0], ids[2]]
    # in a text field Backspace edits the text
    win.track_list.search_edit.setText("abc")
    win.track_list.search_edit.setFocus()
    qtbot.keyClick(win.track_list.search_edit, Qt.Key.Key_Backspace)
    assert win.track_list.search_edit.text() == "ab" and len(win.doc.project.tracks) == 2
    keys = dict(win.shortcut_rows())
    assert "Ctrl+Shift+Z" in keys["Redo"] and "Backspace" in keys["Delete Tracks"]


def test_shortcuts_are_remapped_in_preferences_and_kept(qtbot, opened, data_dir):
    from app.ui.main_window import MainWindow

    win = opened
    ids = add_tracks(win, 2)
    split = win.edit_actions.split
    assert split.toolTip() == "Split the selected track at the playhead (Ctrl+B)"
    win.act_preferences.trigger()
    dlg = win.preferences_dialog
    qtbot.waitExposed(dlg)
    dlg.select("act_split_at_playhead")
    dlg.key_edit.setFocus()
    qtbot.keyClick(dlg.key_edit, Qt.Key.Key_S, CTRL | ALT)  # type the new keys
    qtbot.waitUntil(lambda: split.shortcuts() == [QKeySequence("Ctrl+Alt+S")], timeout=3000)
    assert split.toolTip().endswith("(Ctrl+Alt+S)")
    assert "Split at Playhead: Ctrl+Alt+S" in dlg.note.text()
    # a key another action had is taken from it
    dlg.select("act_approve")
    dlg.key_edit.setFocus()
    qtbot.keyClick(dlg.key_edit, Qt.Key.Key_E)
    qtbot.waitUntil(lambda: win.edit_actions.approve.shortcuts() == [QKeySequence("E")], timeout=3000)
    assert win.edit_actions.exempt.shortcuts() == [] and "taken from Exempt" in dlg.note.text()
    dlg.close()
    # the new keys work
    win.doc.set_selection([ids[0]])
    win.doc.set_frame(4)
    win.timeline.setFocus()
    qtbot.keyClick(win.timeline, Qt.Key.Key_S, CTRL | ALT)
    assert len(win.doc.project.tracks) == 3
    qtbot.keyClick(win.timeline, Qt.Key.Key_E)
    assert win.doc.project.track(win.doc.selection[0]).review == "approved"
    # and are there at the next start
    other = MainWindow()
    qtbot.addWidget(other)
    assert other.edit_actions.split.shortcuts() == [QKeySequence("Ctrl+Alt+S")]
    assert other.edit_actions.exempt.shortcuts() == []
    assert other.edit_actions.split.toolTip().endswith("(Ctrl+Alt+S)")
    other.shortcuts.reset()
    assert other.edit_actions.split.shortcuts() == [QKeySequence("Ctrl+B")]
    other.close()


def test_status_messages_are_elided_and_cleared_on_open(qtbot, opened, ui_clip):
    win = opened
    win.resize(1100, 700)
    qtbot.wait(20)
    bar = win.statusBar()
    long = "tracked face-0001 over 412 frames to frame 1234 (lost the object); " * 6
    bar.showMessage(long, 60000)
    qtbot.wait(20)
    label = bar.message_label
    assert bar.currentMessage() == long and label.toolTip() == long
    assert label.text().endswith("…") and len(label.text()) < len(long)
    right = label.mapTo(bar, label.rect().topRight()).x()
    permanent = [w for w in (win.analysis_label, win.device_label, win.edit_actions.review_label) if w.isVisible()]
    assert permanent and all(right < w.mapTo(bar, QPoint(0, 0)).x() for w in permanent)  # never runs into them
    assert win.open_path(ui_clip)
    assert bar.currentMessage() == "" and label.text() == ""
    # a status tip (hovering a toolbar button) goes through the same label
    tb = next(t for t in win.toolbars() if win.edit_actions.split in t.actions())
    button = tb.widgetForAction(win.edit_actions.split)
    qtbot.mouseMove(win.windowHandle(), pos=button.mapTo(win, button.rect().center()))
    qtbot.waitUntil(lambda: "Split the selected track" in bar.currentMessage(), timeout=2000)
    assert label.text().startswith("Split the selected track")


def test_a_drawn_mask_is_named_by_its_shape(qtbot, opened):
    win = opened
    view, vp = win.view, win.view.viewport()

    def pt(x, y):
        return view.scene_to_view(QPointF(x, y))

    view.setFocus()
    for key, (a, b) in ((Qt.Key.Key_R, ((100, 100), (300, 250))), (Qt.Key.Key_C, ((400, 100), (600, 300)))):
        qtbot.keyClick(view, key)
        qtbot.mousePress(vp, LEFT, pos=pt(*a))
        qtbot.mouseMove(vp, pt((a[0] + b[0]) / 2, (a[1] + b[1]) / 2))
        qtbot.mouseMove(vp, pt(*b))
        qtbot.mouseRelease(vp, LEFT, pos=pt(*b))
    qtbot.keyClick(view, Qt.Key.Key_P)
    for x, y in ((700, 400), (900, 420), (850, 600)):
        qtbot.mouseClick(vp, LEFT, pos=pt(x, y))
    qtbot.mouseDClick(vp, LEFT, pos=pt(850, 600))
    labels = [t.label for t in win.doc.project.tracks]
    assert labels == ["rectangle", "ellipse", "polygon"]
    # a label chosen in the toolbar still wins
    combo = win.edit_actions.label_combo
    combo.setCurrentIndex(combo.findData("logo"))
    qtbot.keyClick(view, Qt.Key.Key_R)
    qtbot.mousePress(vp, LEFT, pos=pt(100, 400))
    qtbot.mouseMove(vp, pt(200, 500))
    qtbot.mouseRelease(vp, LEFT, pos=pt(200, 500))
    assert win.doc.project.tracks[-1].label == "logo"
    assert win.track_list.model.data(win.track_list.model.index_of(win.doc.project.tracks[0].id),
                                     Qt.ItemDataRole.ToolTipRole).endswith("rectangle")


def test_toolbars_have_icons_and_tooltips_with_shortcuts(opened):
    win = opened
    buttons = 0
    for tb in win.toolbars():
        assert tb.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonIconOnly
        for a in tb.actions():
            if a.isSeparator() or not isinstance(tb.widgetForAction(a), QToolButton):
                continue  # the label box is a widget of its own
            assert not a.icon().isNull(), a.text()
            keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in a.shortcuts()]
            if keys:
                assert a.toolTip().endswith(f"({', '.join(keys)})"), (a.text(), a.toolTip())
            buttons += 1
    assert buttons >= 20
    assert win.edit_actions.approve.toolTip() == "Approve the selected tracks (A)"
    assert "(Ctrl+Shift+Z, Ctrl+Y)" in win.act_redo.toolTip()
