"""The main window's actions, menus and toolbars.

Every action has a stable ``objectName`` (``act_`` + its text in lower case: the key under which
a remapped shortcut is saved, :mod:`app.ui.shortcuts`), an icon where one helps (:mod:`app.ui.icons`)
and a tooltip that ends with its shortcut, e.g. "Split at playhead (Ctrl+B)" (:func:`refresh_tooltips`,
again after a remap). The toolbars show icons only, so the main and the edit toolbar, Split, Merge,
Exempt and Approve/Reject included, fit on one row of a 1366 px wide screen.

Menus: File, Edit, View, Analysis, Track, Mask, Review, Audio, Help. View ▸ Reset Layout puts the
docks back (:mod:`app.ui.layout`), View ▸ Taller / Shorter Lanes change the timeline's lane height
(also Ctrl+Alt+wheel on the timeline; saved in the settings as ``timeline/lane_height``), and
Edit ▸ Preferences… remaps the shortcuts.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QToolBar

from app.ui.icons import icon

TOOLBAR_ICON = 18  # px (logical): sharp at 200 % since the icons are drawn from a font


def action_name(text: str) -> str:
    """The stable object name of an action with this text: "&Split at Playhead" -> "act_split_at_playhead"."""
    slug = re.sub(r"[^a-z0-9]+", "_", text.replace("&", "").replace("…", "").lower()).strip("_")
    return "act_" + slug


def make_action(parent, text: str, slot=None, shortcut=None, tip: str = "", icon_key: str | None = None) -> QAction:
    a = QAction(text, parent)
    a.setObjectName(action_name(text))
    if shortcut is not None:
        seqs = shortcut if isinstance(shortcut, (list, tuple)) else [shortcut]
        a.setShortcuts([QKeySequence(k) for k in seqs])
    a.setStatusTip(tip or text.replace("&", ""))
    if icon_key:
        a.setIcon(icon(icon_key))
    if slot is not None:
        a.triggered.connect(slot)
    return a


def plain(text: str) -> str:
    return text.replace("&", "").replace("…", "").strip()


def refresh_tooltips(actions) -> None:
    """Tooltips that name the action and its shortcuts: "Approve (A)"."""
    for a in actions:
        keys = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in a.shortcuts() if not k.isEmpty())
        tip = a.statusTip() if a.statusTip() and len(a.statusTip()) < 90 else plain(a.text())
        a.setToolTip(f"{tip} ({keys})" if keys else tip)


def icon_toolbar(win, title: str, name: str) -> QToolBar:
    tb = win.addToolBar(title)
    tb.setObjectName(name)
    tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
    tb.setIconSize(QSize(TOOLBAR_ICON, TOOLBAR_ICON))
    return tb


def build_window_actions(win) -> None:
    """File, Edit (undo/redo), View, Analysis and Help; the main toolbar."""
    from app.ui.video_view import ViewMode

    A = make_action  # noqa: N806
    win.act_open = A(win, "&Open Video…", win.open_video_dialog, QKeySequence.StandardKey.Open, icon_key="open")
    win.act_open_project = A(win, "Open &Project…", win.open_project_dialog, "Ctrl+Shift+O", icon_key="open_project")
    win.act_save = A(win, "&Save Project", win.save, QKeySequence.StandardKey.Save, icon_key="save")
    win.act_save_as = A(win, "Save Project &As…", win.save_as, QKeySequence.StandardKey.SaveAs)
    win.act_quit = A(win, "&Quit", win.close, QKeySequence.StandardKey.Quit)
    win.act_undo = win.doc.undo.createUndoAction(win, "&Undo")
    win.act_undo.setObjectName("act_undo")
    win.act_undo.setShortcuts([QKeySequence(QKeySequence.StandardKey.Undo)])
    win.act_undo.setIcon(icon("undo"))
    win.act_undo.setStatusTip("Undo")
    win.act_redo = win.doc.undo.createRedoAction(win, "&Redo")
    win.act_redo.setObjectName("act_redo")
    # Ctrl+Shift+Z as in Premiere and Resolve, and Ctrl+Y (whatever the platform's standard is)
    win.act_redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    win.act_redo.setIcon(icon("redo"))
    win.act_redo.setStatusTip("Redo")
    win.act_analyze = A(win, "&Analyze", win.start_analysis, "Ctrl+R", "Detect and track faces and plates",
                        icon_key="analyze")
    win.act_cancel = A(win, "&Cancel Analysis", win.cancel_analysis, "Ctrl+.", icon_key="cancel")
    win.act_cancel.setEnabled(False)
    win.mode_actions = {}
    for mode, text, key, ik in ((ViewMode.ORIGINAL, "&Original", "1", "view_original"),
                                (ViewMode.REDACTED, "&Redacted Preview", "2", "view_redacted"),
                                (ViewMode.SPLIT, "&Split View", "3", "view_split")):
        a = A(win, text, lambda _c=False, m=mode: win.set_view_mode(m), key, icon_key=ik)
        a.setObjectName("act_view_" + ik.split("_", 1)[1])
        a.setCheckable(True)
        win.mode_actions[mode] = a
    win.mode_actions[ViewMode.ORIGINAL].setChecked(True)
    win.act_fit = A(win, "&Fit to Window", lambda: win.view.fit(), "F", icon_key="fit")

    mb = win.menuBar()
    m = mb.addMenu("&File")
    for a in (win.act_open, win.act_open_project):
        m.addAction(a)
    win.recent_menu = m.addMenu("Open &Recent")
    win._refresh_recent()
    m.addSeparator()
    for a in (win.act_save, win.act_save_as):
        m.addAction(a)
    m.addSeparator()
    m.addAction(win.act_quit)
    m = mb.addMenu("&Edit")
    m.addAction(win.act_undo)
    m.addAction(win.act_redo)
    m = mb.addMenu("&View")
    for a in win.mode_actions.values():
        m.addAction(a)
    m.addAction(win.act_fit)
    m.addSeparator()
    for d in (win.timeline_dock, win.tracks_dock, win.inspector_dock):
        m.addAction(d.toggleViewAction())
    m = mb.addMenu("&Analysis")
    m.addAction(win.act_analyze)
    m.addAction(win.act_cancel)
    m = mb.addMenu("&Help")
    m.addAction(A(win, "&About Obscura", win.about, icon_key="about"))

    tb = icon_toolbar(win, "Main", "main_toolbar")
    for a in (win.act_open, win.act_save, None, win.act_undo, win.act_redo, None, win.act_analyze, win.act_cancel,
              None, *win.mode_actions.values(), win.act_fit):
        tb.addSeparator() if a is None else tb.addAction(a)


def menu(win, title: str):
    """The menu bar's menu called ``title`` ("&View")."""
    return next((a.menu() for a in win.menuBar().actions() if a.text() == title), None)


def build_layout_actions(win) -> None:
    """View ▸ Reset Layout, Taller / Shorter Lanes; Edit ▸ Preferences…; Help moved to the end."""
    A = make_action  # noqa: N806
    win.act_reset_layout = A(win, "Reset &Layout", win.reset_layout, None,
                             "Put the panels back where they were at first, at their first sizes",
                             icon_key="reset_layout")
    win.act_lanes_taller = A(win, "&Taller Lanes", lambda: win.change_lane_height(+4), "Ctrl+Alt+=",
                             "Taller timeline lanes (also Ctrl+Alt+wheel on the timeline)", icon_key="lanes_taller")
    win.act_lanes_shorter = A(win, "S&horter Lanes", lambda: win.change_lane_height(-4), "Ctrl+Alt+-",
                              "Shorter timeline lanes: more of them in view", icon_key="lanes_shorter")
    win.act_preferences = A(win, "&Preferences…", win.show_preferences, "Ctrl+,",
                            "Keyboard shortcuts: change them and keep them", icon_key="preferences")
    for a in (win.act_lanes_taller, win.act_lanes_shorter):
        win.addAction(a)
    view = menu(win, "&View")
    view.addSeparator()
    view.addAction(win.act_lanes_taller)
    view.addAction(win.act_lanes_shorter)
    view.addSeparator()
    view.addAction(win.act_reset_layout)
    edit = menu(win, "&Edit")
    edit.addSeparator()
    edit.addAction(win.act_preferences)
    mb = win.menuBar()
    help_action = next((a for a in mb.actions() if a.text() == "&Help"), None)
    if help_action is not None:  # Help goes last, as in every other program
        mb.removeAction(help_action)
        mb.addAction(help_action)
