"""Mouse, wheel and keys on the timeline (mixed into :class:`TimelineWidget`).

* click or drag in the ruler, the thumbnail strip or the empty area below the lanes: seek (a
  click below the lanes also clears the selection);
* click a lane (its label or its bars): select its track (a click in the bars also seeks there);
  Ctrl+click toggles it in the selection, Shift+click selects the range of lanes from the last one
  clicked (Ctrl+Shift+click adds that range);
* drag the body of a span: move the whole track in time; drag within a few px of a span's left or
  right edge: trim or extend that span. One drag is one undo step; Esc during a drag cancels it.
  Dragging where a lane has no span scrubs;
* double-click a span: select its track and jump to the span's first frame;
* in the "Audio mutes" lane: click a mute to select it (``selected_mute``; the track selection is
  cleared), drag its body to move it, drag an edge to trim it (one undo step per drag, Esc
  cancels); a click on the lane's empty part clears the mute selection and seeks;
* Ctrl+wheel: zoom, keeping the frame under the mouse in place; Ctrl+Alt+wheel: taller or
  shorter lanes; Shift+wheel, a horizontal wheel, the wheel over the ruler, or the wheel when all
  lanes fit: scroll in time; otherwise the wheel scrolls the lanes; + / - zoom around the
  playhead, \\ fits the whole clip;
* a group's header lane: a click on its arrow (or a double-click on its label) folds or unfolds
  it, a click elsewhere selects all its tracks; its bar (the union of their spans) is not dragged;
* Up / Down select the lane above / below, Page Up / Page Down a page of lanes further (Shift
  extends the selection); the playhead keys (Home, End, arrows) stay the transport's;
* right-click: selects what is under the mouse (unless it is selected already) and emits
  ``contextMenuRequested`` with a :class:`ContextHit` (the window opens the menu for it).
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtWidgets import QToolTip

from app.core.audio import AudioMute
from app.core.edits import set_end, set_start, shift
from app.core.track import Track
from app.ui.timeline.groups import ARROW_W, is_group_lane
from app.ui.timeline.mutes import MuteHandle, describe, moved, replaced, trimmed

EDGE_PX = 5  # a press this close to a span's edge trims it
DRAG_PX = 3  # the mouse must move this far (Manhattan) before a press becomes a drag

MOVE, TRIM_START, TRIM_END = "move", "start", "end"
_TEXT = {MOVE: "Move span", TRIM_START: "Trim span start", TRIM_END: "Trim span end"}
_MUTE_TEXT = {MOVE: "Move audio mute", TRIM_START: "Trim audio mute start", TRIM_END: "Trim audio mute end"}
_CURSOR = {MOVE: Qt.CursorShape.OpenHandCursor, TRIM_START: Qt.CursorShape.SizeHorCursor,
           TRIM_END: Qt.CursorShape.SizeHorCursor}
_EXTEND = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


@dataclass(slots=True)
class SpanHandle:
    """What a press at a point of a lane grabs: ``mode`` (MOVE, TRIM_START or TRIM_END) of the
    span ``start..end`` (inclusive) of track ``track_id``; ``lo..hi`` bound the edge being moved
    (the neighbouring spans, the clip)."""

    mode: str
    track_id: str
    start: int
    end: int
    lo: int
    hi: int


@dataclass
class ContextHit:
    """What a right-click on the timeline hit: ``kind`` is "lane" (a track's lane: ``ids`` its
    track; ``span`` the span under the mouse, if any), "group" (a header: ``ids`` its tracks,
    ``group`` its name), "mute" (``mute_id``) or "empty"; ``frame`` the frame under the mouse,
    ``global_pos`` where the menu opens."""

    kind: str
    global_pos: object
    frame: int | None = None
    ids: list[str] | None = None
    span: tuple[int, int] | None = None
    group: str = ""
    mute_id: str | None = None


@dataclass(slots=True)
class _Press:
    """A left press in a lane's bars, until release: a click, or a drag once it moved DRAG_PX."""

    pos: QPointF
    handle: SpanHandle | None
    track: Track  # the track as it was at the press: every step of the drag edits this one
    serial: int
    active: bool = False
    applied: int = 0  # the frame delta last applied


@dataclass(slots=True)
class _MutePress:
    """A left press on an audio mute, until release (like :class:`_Press`, for the mute lane)."""

    pos: QPointF
    handle: MuteHandle | None
    mute: AudioMute | None  # the mute as it was at the press
    serial: int
    active: bool = False
    applied: int = 0


class TimelineInput:
    """Event handlers; relies on the geometry helpers of :class:`TimelineWidget`."""

    _press: _Press | None = None
    _drag_serial = 0

    def _seek_to(self, x: float) -> None:
        self.doc.set_frame(self.frame_at_x(x))

    def _in_time_area(self, x: float) -> bool:
        return self.LABEL_W <= x < self.LABEL_W + self._view_w()

    # -- press, drag, release ------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        pos = event.position()
        mods = event.modifiers()
        self._press = None
        row = self._row_at(pos.y())
        if self._in_mute_lane(pos.y()) and pos.x() < self.LABEL_W + self._view_w():
            self._press_mute_lane(pos)
        elif row is not None and pos.x() < self.LABEL_W + self._view_w():
            if is_group_lane(self._tracks[row]) and pos.x() < ARROW_W:
                self.toggle_fold(row)
                return event.accept()
            self._select_row(row, mods)
            if self._in_time_area(pos.x()) and not mods & _EXTEND:
                TimelineInput._drag_serial += 1
                self._press = _Press(QPointF(pos), self.span_handle_at(pos.x(), pos.y()), self._tracks[row],
                                     TimelineInput._drag_serial)
                if self._press.handle is not None and self._press.handle.mode == MOVE:
                    self.setCursor(Qt.CursorShape.ClosedHandCursor)
        elif self._in_time_area(pos.x()) and pos.y() < self.HEADER_H + self._lanes_h():
            if pos.y() >= self.HEADER_H and not mods & Qt.KeyboardModifier.ControlModifier:
                self.doc.set_selection([])
                self.set_selected_mute(None)
            self._scrubbing = True
            self._seek_to(pos.x())
        event.accept()

    def _press_mute_lane(self, pos: QPointF) -> None:
        if not self._in_time_area(pos.x()):
            self.set_selected_mute(None)
            return
        h = self.mute_handle_at(pos.x(), pos.y())
        if h is None:
            self.set_selected_mute(None)
            self._scrubbing = True
            self._seek_to(pos.x())
            return
        self.set_selected_mute(h.mute_id)
        TimelineInput._drag_serial += 1
        mute = next((m for m in self.doc.project.audio_mutes if m.id == h.mute_id), None)
        self._press = _MutePress(QPointF(pos), h, mute, TimelineInput._drag_serial)
        if h.mode == MOVE:
            self.setCursor(Qt.CursorShape.ClosedHandCursor)

    def _select_row(self, row: int, mods) -> None:
        ids = self.row_ids(row)
        key = self._tracks[row].id
        sel = self.doc.selection
        anchor = self._row_of.get(self._anchor_id) if self._anchor_id is not None else None
        if mods & Qt.KeyboardModifier.ShiftModifier and anchor is not None:
            a, b = sorted((anchor, row))
            rng = [i for r in range(a, b + 1) for i in self.row_ids(r)]
            if mods & Qt.KeyboardModifier.ControlModifier:
                sel = sel + [t for t in rng if t not in sel]
            else:
                sel = list(dict.fromkeys(rng))
        elif mods & Qt.KeyboardModifier.ControlModifier:
            sel = [t for t in sel if t not in ids] if all(i in sel for i in ids) else sel + [
                i for i in ids if i not in sel]
            self._anchor_id = key
        else:
            sel = list(ids)
            self._anchor_id = key
        self.doc.set_selection(sel)

    def toggle_fold(self, row: int) -> None:
        """Fold or unfold the group whose header is ``row``."""
        lane = self._tracks[row]
        if is_group_lane(lane) and hasattr(self.doc, "set_folded"):
            self.doc.set_folded(lane.name, not lane.folded)

    def select_step(self, rows: int, extend: bool = False) -> None:
        """Keyboard: select the row ``rows`` away from the last one selected (Up/Down: 1, Page:
        a lane page), or extend the selection to it; the lane is scrolled into view."""
        n = len(self._tracks)
        if not n:
            return
        here = self._row_of.get(self._anchor_id) if self._anchor_id is not None else None
        if here is None:
            sel = self.doc.selection
            here = self._row_of.get(sel[-1]) if sel else None
        target = (0 if rows > 0 else n - 1) if here is None else max(0, min(n - 1, here + rows))
        if extend and here is not None:
            a, b = sorted((here, target))
            ids = [i for r in range(a, b + 1) for i in self.row_ids(r)]
            self.doc.set_selection(self.doc.selection + [i for i in ids if i not in self.doc.selection])
        else:
            self.doc.set_selection(self.row_ids(target))
        self._anchor_id = self._tracks[target].id
        top = target * self.LANE_H
        if top < self._vbar.value():
            self._vbar.setValue(top)
        elif top + self.LANE_H > self._vbar.value() + self._lanes_h():
            self._vbar.setValue(top + self.LANE_H - self._lanes_h())

    def mouseMoveEvent(self, event) -> None:
        pos = event.position()
        press = self._press
        if self._scrubbing:
            x = min(max(pos.x(), self.LABEL_W), self.LABEL_W + self._view_w() - 1)
            self._seek_to(x)
        elif press is not None and event.buttons() & Qt.MouseButton.LeftButton:
            if not press.active:
                if (pos - press.pos).manhattanLength() < DRAG_PX:
                    return event.accept()
                press.active = True
                if press.handle is None:  # a drag where the lane shows nothing: scrub
                    self._press = None
                    self._scrubbing = True
                    return self.mouseMoveEvent(event)
            self._drag_to(pos.x())
        elif not event.buttons():
            self._update_cursor(pos.x(), pos.y())
            return super().mouseMoveEvent(event)
        else:
            return super().mouseMoveEvent(event)
        event.accept()

    def _drag_to(self, x: float) -> None:
        """Apply the drag of ``self._press`` to the mouse at ``x``: the total delta since the press,
        to the track as it was at the press, merged into the drag's one undo command."""
        if isinstance(self._press, _MutePress):
            return self._drag_mute_to(x)
        press, h = self._press, self._press.handle
        delta = round((x - press.pos.x()) / self._zoom)
        if h.mode == MOVE:
            n, t = self.doc.frame_count, press.track
            delta = max(-(t.first_frame or 0), min(delta, (n - 1 - (t.last_frame or 0)) if n else delta))
        elif h.mode == TRIM_START:
            delta = max(h.lo, min(h.start + delta, h.hi)) - h.start
        else:
            delta = max(h.lo, min(h.end + delta, h.hi)) - h.end
        if delta == press.applied:
            return
        if self.doc.project.track(h.track_id) is None:  # gone under the drag (e.g. undone)
            self._press = None
            return
        if delta == 0:  # back where it started: take the drag's step back rather than stack a no-op
            self._take_back(press)
            return
        orig = press.track
        if h.mode == MOVE:
            def fn(_t, n=self.doc.frame_count):
                return shift(orig, delta, n)
        elif h.mode == TRIM_START:
            def fn(_t, f=h.start + delta):
                return set_start(orig, f)
        else:
            def fn(_t, f=h.end + delta):
                return set_end(orig, f)
        if self.doc.edit_tracks(_TEXT[h.mode], [h.track_id], fn, merge_key=self._drag_key(press)):
            press.applied = delta

    def _drag_mute_to(self, x: float) -> None:
        """Move or trim the pressed audio mute to the mouse at ``x`` (one undo step per drag)."""
        press, h = self._press, self._press.handle
        n = self.doc.frame_count
        delta = round((x - press.pos.x()) / self._zoom)
        orig = press.mute
        if h.mode == MOVE:
            new = moved(orig, delta, n)
        elif h.mode == TRIM_START:
            new = trimmed(orig, start=orig.start + delta, frame_count=n)
        else:
            new = trimmed(orig, end=orig.end + delta, frame_count=n)
        applied = (new.start - orig.start) if h.mode != TRIM_END else (new.end - orig.end)
        if applied == press.applied:
            return
        mutes = self.doc.project.audio_mutes
        if not any(m.id == h.mute_id for m in mutes):  # gone under the drag (e.g. undone)
            self._press = None
            return
        if applied == 0:
            self._take_back(press)
            return
        self.doc.edit(_MUTE_TEXT[h.mode], list(self.doc.project.tracks), merge_key=self._drag_key(press),
                      audio_mutes=replaced(mutes, new, h.mute_id))
        press.applied = applied

    @staticmethod
    def _drag_key(press) -> tuple:
        if isinstance(press, _MutePress):
            return ("mute", press.handle.mute_id, press.serial)
        return ("span", press.handle.track_id, press.serial)

    def mouseReleaseEvent(self, event) -> None:
        press, self._press = self._press, None
        if self._scrubbing:
            self._scrubbing = False
            self.ensure_frame_visible(self.doc.frame)
        elif press is not None and not press.active and event.button() == Qt.MouseButton.LeftButton:
            self._seek_to(press.pos.x())  # a click in a lane: select (on press) and seek
        pos = event.position()
        self._update_cursor(pos.x(), pos.y())
        super().mouseReleaseEvent(event)

    def cancel_drag(self) -> bool:
        """Stop a span drag in progress and take back what it changed; True if one was."""
        press, self._press = self._press, None
        if press is None or not press.active:
            self._press = press
            return False
        self._take_back(press)
        self.unsetCursor()
        return True

    def _take_back(self, press: _Press) -> None:
        """Undo what the drag of ``press`` changed (its one command, on top of the stack)."""
        from app.ui.commands import EditCommand

        stack = self.doc.undo
        top = stack.command(stack.index() - 1) if stack.index() > 0 else None
        if press.applied and isinstance(top, EditCommand) and top.merge_key == self._drag_key(press):
            stack.undo()
        press.applied = 0

    def _update_cursor(self, x: float, y: float) -> None:
        h = self.mute_handle_at(x, y) if self._in_mute_lane(y) else self.span_handle_at(x, y)
        shape = Qt.CursorShape.ArrowCursor if h is None else _CURSOR[h.mode]
        if shape != self.cursor().shape():
            if h is None:
                self.unsetCursor()
            else:
                self.setCursor(shape)

    def mouseDoubleClickEvent(self, event) -> None:
        pos = event.position()
        row = self._row_at(pos.y())
        if row is not None and is_group_lane(self._tracks[row]) and ARROW_W <= pos.x() < self.LABEL_W:
            self.toggle_fold(row)  # the first click of the double-click selected the group
            return event.accept()
        if row is None or not self._in_time_area(pos.x()):
            return self.mousePressEvent(event)
        self._press = None
        span = self.span_at(pos.x(), pos.y())
        if span is not None:
            self.doc.set_selection(self.row_ids(row))
            self._anchor_id = self._tracks[row].id
            self.doc.set_frame(span[0])
        event.accept()

    # -- hit tests -----------------------------------------------------------------------------------
    def span_at(self, x: float, y: float) -> tuple[int, int] | None:
        """The span (inclusive frames) drawn under the point, with a few px of slack."""
        row = self._row_at(y)
        if row is None or not self._in_time_area(x):
            return None
        data = self._data(self._tracks[row])
        f0, f1 = self._cell_at_x(x - 3), self._cell_at_x(x + 3)
        i = bisect_left(data.ends, f0)
        if i < len(data.starts) and data.starts[i] <= f1:
            return data.starts[i], data.ends[i]
        return None

    def span_handle_at(self, x: float, y: float) -> SpanHandle | None:
        """What a press at the point would drag: a span's body (MOVE) or one of its edges (within
        EDGE_PX of it, less inside a narrow span); None off the spans."""
        row = self._row_at(y)
        if row is None or not self._in_time_area(x) or is_group_lane(self._tracks[row]):
            return None  # a header's bar is a summary: not dragged
        data = self._data(self._tracks[row])
        starts, ends = data.starts, data.ends
        n = self.doc.frame_count
        i = bisect_left(ends, self._cell_at_x(x - EDGE_PX))
        best: tuple[float, str, int] | None = None
        while i < len(starts) and starts[i] <= self._cell_at_x(x + EDGE_PX):
            x0, x1 = self.x_of_frame(starts[i]), self.x_of_frame(ends[i] + 1)
            inner = min(EDGE_PX, (x1 - x0) / 3)
            if x0 + inner < x < x1 - inner:
                best = (-1.0, MOVE, i)  # inside the body: it wins
                break
            for mode, edge in ((TRIM_START, x0), (TRIM_END, x1)):
                d = abs(x - edge)
                inside = x0 <= x <= x1
                if (d <= inner if inside else d <= EDGE_PX) and (best is None or d < best[0]):
                    best = (d, mode, i)
            i += 1
        if best is None:
            return None
        _d, mode, i = best
        s, e = starts[i], ends[i]
        if mode == TRIM_START:
            lo, hi = (ends[i - 1] + 1 if i > 0 else 0), e
        elif mode == TRIM_END:
            lo, hi = s, (starts[i + 1] - 1 if i + 1 < len(starts) else max(e, n - 1))
        else:
            lo, hi = 0, max(e, n - 1)
        return SpanHandle(mode, self._tracks[row].id, s, e, lo, hi)

    def mute_at(self, x: float, y: float) -> AudioMute | None:
        """The audio mute drawn under the point (the selected one first, as it is drawn on top)."""
        h = self.mute_handle_at(x, y)
        if h is None:
            return None
        return next((m for m in self.doc.project.audio_mutes if m.id == h.mute_id), None)

    def mute_handle_at(self, x: float, y: float) -> MuteHandle | None:
        """What a press at the point would drag in the mute lane: a mute's body (MOVE) or an edge."""
        if not self._in_mute_lane(y) or not self._in_time_area(x):
            return None
        sel = self.selected_mute
        best: tuple[float, str, AudioMute] | None = None
        # hit in drawing order reversed: the selected mute is on top, then later starts
        for m in sorted(self.doc.project.audio_mutes, key=lambda m: (m.id == sel, m.start), reverse=True):
            x0, x1 = self.x_of_frame(m.start), self.x_of_frame(m.end + 1)
            if x1 - x0 < 3:
                x1 = x0 + 3
            if not x0 - EDGE_PX <= x <= x1 + EDGE_PX:
                continue
            inner = min(EDGE_PX, (x1 - x0) / 3)
            if x0 + inner < x < x1 - inner:
                if best is None or best[0] > -1:
                    best = (-1.0, MOVE, m)
                break
            for mode, edge in ((TRIM_START, x0), (TRIM_END, x1)):
                d = abs(x - edge)
                inside = x0 <= x <= x1
                if (d <= inner if inside else d <= EDGE_PX) and (best is None or d < best[0]):
                    best = (d, mode, m)
        if best is None:
            return None
        _d, mode, m = best
        return MuteHandle(mode, m.id, m.start, m.end)

    # -- right-click ---------------------------------------------------------------------------------
    def contextMenuEvent(self, event) -> None:
        hit = self.context_hit(event.pos().x(), event.pos().y())
        hit.global_pos = event.globalPos()
        if hit.ids and not set(hit.ids) <= set(self.doc.selection):
            self.doc.set_selection(hit.ids)  # the menu applies to what was right-clicked
            row = self._row_at(event.pos().y())
            if row is not None:
                self._anchor_id = self._tracks[row].id
        if hit.kind == "mute":
            self.set_selected_mute(hit.mute_id)
        self.contextMenuRequested.emit(hit)
        event.accept()

    def context_hit(self, x: float, y: float) -> ContextHit:
        """What is at the point (see :class:`ContextHit`)."""
        frame = self.frame_at_x(x) if self._in_time_area(x) and self.doc.frame_count else None
        if self._in_mute_lane(y):
            m = self.mute_at(x, y)
            return ContextHit("mute" if m else "empty", None, frame, mute_id=m.id if m else None)
        row = self._row_at(y)
        if row is None:
            return ContextHit("empty", None, frame)
        t = self._tracks[row]
        if is_group_lane(t):
            return ContextHit("group", None, frame, ids=t.ids, group=t.name, span=self.span_at(x, y))
        return ContextHit("lane", None, frame, ids=[t.id], span=self.span_at(x, y), group=t.group)

    # -- wheel and keys ------------------------------------------------------------------------------
    def wheelEvent(self, event) -> None:
        d = event.angleDelta()
        mods = event.modifiers()
        if mods & Qt.KeyboardModifier.ControlModifier and mods & Qt.KeyboardModifier.AltModifier:
            steps = (d.y() or d.x()) / 120  # (some platforms turn Alt+wheel into a horizontal wheel)
            if steps:
                self.set_lane_height(self.LANE_H + (2 if steps > 0 else -2))
        elif mods & Qt.KeyboardModifier.ControlModifier:
            steps = (d.y() or d.x()) / 120
            x = event.position().x()
            anchor = x if self._in_time_area(x) else None
            self.set_zoom(self._zoom * 1.25 ** steps, anchor)
        elif (mods & Qt.KeyboardModifier.ShiftModifier or d.x() or event.position().y() < self.HEADER_H
              or self._vbar.maximum() == 0):
            delta = d.x() or d.y()
            self._hbar.setValue(self._hbar.value() - round(delta / 120 * self._view_w() / 10))
        else:
            self._vbar.setValue(self._vbar.value() - round(d.y() / 120 * 3 * self.LANE_H))
        event.accept()

    def keyPressEvent(self, event) -> None:
        key = event.key()
        if key == Qt.Key.Key_Escape and self.cancel_drag():
            pass
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.set_zoom(self._zoom * 1.5)
        elif key == Qt.Key.Key_Minus:
            self.set_zoom(self._zoom / 1.5)
        elif key == Qt.Key.Key_Backslash:
            self.zoom_to_fit()
        elif key in (Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown) and not (
                event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)):
            page = max(1, self._lanes_h() // self.LANE_H - 1)
            step = {Qt.Key.Key_Up: -1, Qt.Key.Key_Down: 1, Qt.Key.Key_PageUp: -page, Qt.Key.Key_PageDown: page}[key]
            self.select_step(step, bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier))
        else:
            return super().keyPressEvent(event)
        event.accept()

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            text = self._tooltip(event.pos().x(), event.pos().y())
            if text:
                QToolTip.showText(event.globalPos(), text, self)
            else:
                QToolTip.hideText()
            return True
        return super().event(event)

    def _tooltip(self, x: float, y: float) -> str:
        wave = self.wave_lane_rect() if hasattr(self, "wave_lane_rect") else None
        if wave is not None and wave.top() <= y <= wave.bottom():
            return ("Waveform: the soundtrack's loudness, to place mutes and bleeps (computed in the "
                    "background, kept in memory only)")
        if self._in_mute_lane(y):
            m = self.mute_at(x, y)
            if m is None:
                return "Audio mutes: spans of the soundtrack silenced or bleeped in the export" \
                    if x < self.LABEL_W else ""
            return (f"{describe(m)}\n{self.doc.timecode(m.start)} – {self.doc.timecode(m.end)} "
                    f"({m.end - m.start + 1} frames)\ndrag to move, drag an edge to trim, Delete removes it")
        row = self._row_at(y)
        if row is None:
            return ""
        t = self._tracks[row]
        if is_group_lane(t):
            return (f"{t.name}: {len(t.members)} tracks ({', '.join(t.ids[:6])}{'…' if len(t.ids) > 6 else ''})\n"
                    f"click the arrow to {'unfold' if t.folded else 'fold'}; click to select them all")
        head = f"{t.id} ({t.cls}){' — ' + t.label if t.label else ''}{' · ' + t.group if t.group else ''}"
        state = f"{t.review.replace('_', ' ')}{'' if t.enabled else ', exempt (kept visible)'}"
        span = self.span_at(x, y)
        if span is None:
            return f"{head}\n{len(t.keyframes)} keyframes · {state}"
        a, b = span
        hint = "\ndrag to move the track, drag an edge to trim" if self._in_time_area(x) else ""
        return f"{head}\n{self.doc.timecode(a)} – {self.doc.timecode(b)} ({b - a + 1} frames) · {state}{hint}"
