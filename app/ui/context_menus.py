"""Right-click menus: on shapes in the viewport, on lanes, spans and group headers in the timeline,
on rows of the track list, and on audio mutes.

The widget under the mouse first selects what was right-clicked (unless it is selected already),
then asks for a menu here with a :class:`MenuContext` (where, which tracks, the frame and span
under the mouse, the group, the mute). The menus hold the window's own actions (so they show
their shortcuts and stay in step with the menu bar) plus a few that only make sense at the
mouse (go to this span, mark this span as the in/out range, fold this group).

Other parts of the editor add their own entries with :meth:`ContextMenus.add_extension`: a
function ``(menu, context) -> None`` called for every track, group and mute menu after the
built-in entries (e.g. the reason for a redaction or an exemption, :mod:`app.ui.reasons`).

The menu opens with ``popup`` (it does not block); the last one stays in ``last_menu``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QPoint
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QInputDialog, QMenu

from app.core.groups import group_names
from app.ui.icons import icon


@dataclass
class MenuContext:
    where: str  # "list", "timeline", "viewport"
    kind: str  # "track", "group", "mute", "empty"
    ids: list[str] = field(default_factory=list)
    frame: int | None = None
    span: tuple[int, int] | None = None
    group: str = ""
    mute_id: str | None = None


Extension = Callable[[QMenu, MenuContext], None]


class ContextMenus(QObject):
    def __init__(self, win):
        super().__init__(win)
        self.win, self.doc = win, win.doc
        self.last_menu: QMenu | None = None
        self.last_context: MenuContext | None = None
        self._extensions: list[Extension] = []
        win.track_list.contextMenuRequested.connect(self._from_list)
        if hasattr(win.timeline, "contextMenuRequested"):
            win.timeline.contextMenuRequested.connect(self._from_timeline)
        if hasattr(win.view, "contextMenuRequested"):
            win.view.contextMenuRequested.connect(self._from_viewport)

    def add_extension(self, fn: Extension) -> None:
        self._extensions.append(fn)

    # -- entry points ------------------------------------------------------------------------------
    def _from_list(self, global_pos: QPoint) -> None:
        ids = self.doc.selection
        groups = {t.group for t in (self.doc.project.track(i) for i in ids) if t is not None}
        whole = len(groups) == 1 and "" not in groups and self._is_whole_group(next(iter(groups)), ids)
        ctx = MenuContext("list", "group" if whole else ("track" if ids else "empty"), ids,
                          frame=self.doc.frame, group=next(iter(groups)) if whole else "")
        self.open(ctx, global_pos)

    def _from_timeline(self, hit) -> None:
        kind = {"lane": "track", "group": "group", "mute": "mute"}.get(hit.kind, "empty")
        ctx = MenuContext("timeline", kind, list(hit.ids or []), frame=hit.frame, span=hit.span,
                          group=hit.group if kind == "group" else "", mute_id=hit.mute_id)
        self.open(ctx, hit.global_pos)

    def _from_viewport(self, hit: dict) -> None:
        ids = list(hit.get("ids") or [])
        ctx = MenuContext("viewport", "track" if ids else "empty", ids, frame=self.doc.frame)
        self.open(ctx, hit.get("global_pos"))

    def _is_whole_group(self, name: str, ids: list[str]) -> bool:
        m = [t.id for t in self.doc.project.tracks if t.group == name]
        return bool(m) and set(m) == set(ids)

    # -- building ----------------------------------------------------------------------------------
    def open(self, ctx: MenuContext, global_pos=None) -> QMenu:
        m = self.build(ctx)
        self.last_menu, self.last_context = m, ctx
        m.popup(global_pos if global_pos is not None else QCursor.pos())
        return m

    def build(self, ctx: MenuContext) -> QMenu:
        m = QMenu(self.win)
        m.setObjectName(f"context_menu_{ctx.where}_{ctx.kind}")
        if ctx.kind == "mute":
            self._mute_entries(m)
            for fn in self._extensions:
                fn(m, ctx)
        elif ctx.kind in ("track", "group"):
            self._track_entries(m, ctx)
            for fn in self._extensions:
                fn(m, ctx)
        else:
            self._empty_entries(m, ctx)
        return m

    def _title(self, m: QMenu, text: str) -> None:
        a = m.addAction(text)
        a.setEnabled(False)
        f = a.font()
        f.setBold(True)
        a.setFont(f)

    def _track_entries(self, m: QMenu, ctx: MenuContext) -> None:
        ea = self.win.edit_actions
        ids = ctx.ids
        tracks = [t for t in (self.doc.project.track(i) for i in ids) if t is not None]
        if ctx.kind == "group":
            self._title(m, f"{ctx.group} ({len(tracks)} tracks)")
            folded = self.doc.is_folded(ctx.group)
            fold = m.addAction(icon("fold"), "Unfold Group" if folded else "Fold Group",
                               lambda g=ctx.group, f=folded: self.doc.set_folded(g, not f))
            fold.setObjectName("ctx_fold")
        elif len(tracks) == 1:
            t = tracks[0]
            self._title(m, f"{t.id}{' — ' + t.label if t.label else ''}{' · ' + t.group if t.group else ''}")
        else:
            self._title(m, f"{len(tracks)} tracks")
        starts = [t.first_frame for t in tracks if t.first_frame is not None]
        if ctx.span is not None and ctx.kind == "track":
            a, b = ctx.span
            m.addAction(icon("goto"), f"Go to Span Start ({self.doc.timecode(a)})",
                        lambda f=a: self.doc.set_frame(f)).setObjectName("ctx_goto_span")
            m.addAction(f"Go to Span End ({self.doc.timecode(b)})", lambda f=b: self.doc.set_frame(f))
            m.addAction(icon("mark_in"), "Mark Span as In/Out", lambda a=a, b=b: self._mark(a, b)).setObjectName(
                "ctx_mark_span")
        elif starts:
            first = min(starts)
            m.addAction(icon("goto"), "Go to First Frame", lambda f=first: self.doc.set_frame(f))
        m.addSeparator()
        for a in (ea.approve, ea.reject, ea.needs, ea.exempt):
            m.addAction(a)
        m.addMenu(self._style_menu(m))
        m.addMenu(self._group_menu(m, ctx, tracks))
        classes = m.addMenu("&Class")
        for a in ea.class_actions:
            classes.addAction(a)
        m.addSeparator()
        if len(tracks) == 1:
            if ctx.where == "viewport":
                for a in (ea.follow_fwd, ea.follow_back):
                    m.addAction(a)
            for a in (ea.split, ea.add_kf, ea.del_kf, ea.set_start, ea.set_end):
                m.addAction(a)
        elif len(tracks) > 1:
            m.addAction(ea.merge)
            m.addAction(ea.merge_gap)
        m.addSeparator()
        m.addAction(ea.delete)

    def _style_menu(self, parent: QMenu) -> QMenu:
        sm = QMenu("St&yle", parent)
        for a in self.win.group_actions.style_actions:
            sm.addAction(a)
        return sm

    def _group_menu(self, parent: QMenu, ctx: MenuContext, tracks) -> QMenu:
        ga = self.win.group_actions
        gm = QMenu("&Group", parent)
        gm.setIcon(icon("group"))
        gm.addAction(ga.group_person)
        gm.addAction(ga.group_vehicle)
        others = [n for n in group_names(self.doc.project.tracks) if not all(t.group == n for t in tracks)]
        if others:
            add = gm.addMenu("Add to Group")
            for name in others:
                add.addAction(name, lambda n=name: ga.add_to_group(n))
        if any(t.group for t in tracks):
            gm.addAction(ga.ungroup)
        if ctx.kind == "group":
            gm.addSeparator()
            gm.addAction("Rename Group…", lambda g=ctx.group: self._rename(g)).setObjectName("ctx_rename_group")
        return gm

    def _mute_entries(self, m: QMenu) -> None:
        ea = self.win.edit_actions
        mute = ea.selected_mute()
        if mute is not None:
            self._title(m, f"{'Bleep' if mute.mode == 'tone' else 'Mute'} {self.doc.timecode(mute.start)}–"
                           f"{self.doc.timecode(mute.end)}")
            m.addAction(icon("goto"), "Go to Start", lambda f=mute.start: self.doc.set_frame(f))
            m.addAction(icon("mark_in"), "Mark as In/Out", lambda a=mute.start, b=mute.end: self._mark(a, b))
        m.addAction(ea.mute_mode)
        m.addAction(ea.delete_mute)

    def _empty_entries(self, m: QMenu, ctx: MenuContext) -> None:
        ea = self.win.edit_actions
        if ctx.where == "viewport":
            for a in ea.tool_actions.values():
                m.addAction(a)
            m.addSeparator()
            for a in self.win.mode_actions.values():
                m.addAction(a)
            m.addAction(self.win.act_fit)
        else:
            if ctx.frame is not None:
                m.addAction(icon("goto"), f"Go to {self.doc.timecode(ctx.frame)}",
                            lambda f=ctx.frame: self.doc.set_frame(f))
            for a in (ea.mark_in, ea.mark_out, ea.clear_marks, None, ea.mute_audio, ea.bleep_audio, None,
                      ea.select_all, self.win.group_actions.fold_all, self.win.group_actions.unfold_all):
                m.addSeparator() if a is None else m.addAction(a)

    # -- small actions -----------------------------------------------------------------------------
    def _mark(self, first: int, last: int) -> None:
        self.doc.set_in_point(first)
        self.doc.set_out_point(last)
        self.doc.message.emit(f"in/out: {self.doc.timecode(first)} – {self.doc.timecode(last)}")

    def _rename(self, name: str) -> None:
        new, ok = QInputDialog.getText(self.win, "Rename group", "Group name:", text=name)
        if ok:
            self.win.group_actions.rename_group(name, new)
