"""Grouping tracks (one person, one vehicle) and acting on a group as a whole.

Track ▸ Group as Person (Ctrl+G) / Group as Vehicle put the selected tracks in a new group
("Person 3"); Track ▸ Add to Group puts them in an existing one; Ungroup (Ctrl+Shift+G) takes them
out. Each is one undo step, and none changes what is redacted. A group is selected as a whole by
its row in the track list or its header lane in the timeline, and then Approve, Reject, Exempt
and Track ▸ Style apply to all its tracks in one step. Style gives the selected tracks their own
style (a solid box, a strong blur or pixelation) or gives them back their class's default.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction

from app.core import edits
from app.core.groups import default_kind, expand, group_names, members, new_group_name
from app.core.style import RedactionMethod, RedactionStyle
from app.ui.menus import make_action, menu

# Track ▸ Style presets: (text, style or None for "the class default")
STYLE_PRESETS = (
    ("Solid &Box", RedactionStyle(method=RedactionMethod.SOLID, strength=100.0, margin=20.0, feather=0.0)),
    ("Strong &Blur", RedactionStyle(method=RedactionMethod.GAUSSIAN, strength=90.0, margin=20.0, feather=10.0)),
    ("&Pixelate", RedactionStyle(method=RedactionMethod.PIXELATE, strength=85.0, margin=20.0, feather=0.0)),
    ("Class &Default", None),
)


class GroupActions(QObject):
    def __init__(self, win):
        super().__init__(win)
        self.win, self.doc = win, win.doc
        A = make_action  # noqa: N806
        self.group_person = A(win, "Group as &Person", lambda: self.group_selected("person"), "Ctrl+G",
                              "Put the selected tracks in a new group: one person, shown as one row that folds",
                              icon_key="group_person")
        self.group_vehicle = A(win, "Group as &Vehicle", lambda: self.group_selected("vehicle"), "Ctrl+Alt+G",
                               "Put the selected tracks in a new group: one vehicle", icon_key="group_vehicle")
        self.ungroup = A(win, "&Ungroup", self.ungroup_selected, "Ctrl+Shift+G",
                         "Take the selected tracks out of their groups", icon_key="ungroup")
        self.fold_all = A(win, "Fold All Groups", lambda: self.fold_all_groups(True), None, icon_key="fold")
        self.unfold_all = A(win, "Unfold All Groups", lambda: self.fold_all_groups(False))
        self.style_actions: list[QAction] = []
        for text, st in STYLE_PRESETS:
            a = A(win, f"Style: {text.replace('&', '')}", lambda _c=False, s=st: self.set_style(s), None,
                  "The selected tracks' own style" if st is not None else "The selected tracks take their class's style")
            a.setText(text)
            self.style_actions.append(a)
        for a in (self.group_person, self.group_vehicle, self.ungroup, *self.style_actions):
            win.addAction(a)
        track = menu(win, "&Track")
        if track is not None:
            first = track.actions()[0] if track.actions() else None
            self.add_menu = track.addMenu("Add to &Group")
            self.add_menu.aboutToShow.connect(lambda: self.fill_add_menu(self.add_menu))
            self.style_menu = track.addMenu("St&yle")
            for a in self.style_actions:
                self.style_menu.addAction(a)
            for a in (self.group_person, self.group_vehicle, self.ungroup):
                track.insertAction(first, a)
            track.insertMenu(first, self.add_menu)
            track.insertSeparator(first)
            track.insertMenu(first, self.style_menu)
            track.insertSeparator(first)
        view = menu(win, "&View")
        if view is not None:
            view.addSeparator()
            view.addAction(self.fold_all)
            view.addAction(self.unfold_all)
        self.doc.selectionChanged.connect(lambda _ids: self.update_enabled())
        self.doc.tracksChanged.connect(self.update_enabled)
        self.update_enabled()

    def _selected(self):
        return [t for t in (self.doc.project.track(i) for i in self.doc.selection) if t is not None]

    def update_enabled(self) -> None:
        sel = self._selected()
        for a in (self.group_person, self.group_vehicle, *self.style_actions):
            a.setEnabled(bool(sel))
        self.ungroup.setEnabled(any(t.group for t in sel))

    def fill_add_menu(self, m) -> None:
        """Add to Group ▸ one entry per group in the project."""
        m.clear()
        names = group_names(self.doc.project.tracks)
        for name in names:
            a = m.addAction(name, lambda n=name: self.add_to_group(n))
            a.setEnabled(bool(self.doc.selection))
        if not names:
            m.addAction("no groups yet").setEnabled(False)

    # -- edits -------------------------------------------------------------------------------------
    def group_selected(self, kind: str | None = None) -> str | None:
        """A new group of the selected tracks, named "Person N" / "Vehicle N"; returns its name."""
        sel = self._selected()
        if not sel:
            self.doc.message.emit("select the tracks of one person or vehicle first")
            return None
        name = new_group_name(self.doc.project.tracks, kind or default_kind(sel))
        ids = [t.id for t in sel]
        if self.doc.edit_tracks(f"Group {len(ids)} track(s) as {name}", ids, lambda t: edits.clone(t, group=name)):
            self.doc.message.emit(f"{name}: {len(ids)} track(s)")
        return name

    def add_to_group(self, name: str) -> bool:
        ids = [t.id for t in self._selected() if t.group != name]
        if not ids:
            return False
        return self.doc.edit_tracks(f"Add {len(ids)} track(s) to {name}", ids, lambda t: edits.clone(t, group=name))

    def ungroup_selected(self) -> bool:
        ids = [t.id for t in self._selected() if t.group]
        if not ids:
            self.doc.message.emit("the selected tracks are in no group")
            return False
        return self.doc.edit_tracks(f"Ungroup {len(ids)} track(s)", ids, lambda t: edits.clone(t, group=""))

    def ungroup_all(self, name: str) -> bool:
        ids = [t.id for t in members(self.doc.project.tracks, name)]
        return bool(ids) and self.doc.edit_tracks(f"Ungroup {name}", ids, lambda t: edits.clone(t, group=""))

    def rename_group(self, name: str, new: str) -> bool:
        new = new.strip()
        ids = [t.id for t in members(self.doc.project.tracks, name)]
        if not ids or not new or new == name:
            return False
        try:
            ok = self.doc.edit_tracks(f"Rename {name} to {new}", ids, lambda t: edits.clone(t, group=new))
        except ValueError as e:  # a name Track refuses (too long, control characters)
            self.doc.message.emit(str(e))
            return False
        if ok and not self.doc.is_folded(name):
            self.doc.set_folded(new, False)
        return ok

    def set_style(self, style: RedactionStyle | None) -> bool:
        """The selected tracks' own style (None: their class's), one undo step."""
        ids = [t.id for t in self._selected() if t.style != style]
        if not ids:
            return False
        what = "class default style" if style is None else f"{style.method.value} style"
        return self.doc.edit_tracks(f"{what.capitalize()}: {len(ids)} track(s)", ids,
                                    lambda t: edits.clone(t, style=style))

    def select_group(self, name: str) -> None:
        self.doc.set_selection([t.id for t in members(self.doc.project.tracks, name)])

    def select_with_groups(self) -> None:
        """Widen the selection to whole groups."""
        self.doc.set_selection(expand(self.doc.project.tracks, self.doc.selection))

    def fold_all_groups(self, folded: bool) -> None:
        for name in group_names(self.doc.project.tracks):
            self.doc.set_folded(name, folded)
