"""Mouse, wheel and keys on the timeline (mixed into :class:`TimelineWidget`).

* click or drag in the ruler, the thumbnail strip or the empty area below the lanes: seek (a
  click below the lanes also clears the selection);
* click a lane (its label or its bars): select its track; Ctrl+click toggles it in the
  selection, Shift+click selects the range of lanes from the last one clicked;
* double-click a span: select its track and jump to the span's first frame;
* Ctrl+wheel: zoom, keeping the frame under the mouse in place; Shift+wheel, a horizontal wheel,
  the wheel over the ruler, or the wheel when all lanes fit: scroll in time; otherwise the wheel
  scrolls the lanes; + / - zoom around the playhead, \\ fits the whole clip.
"""

from __future__ import annotations

from bisect import bisect_left

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QToolTip


class TimelineInput:
    """Event handlers; relies on the geometry helpers of :class:`TimelineWidget`."""

    def _seek_to(self, x: float) -> None:
        self.doc.set_frame(self.frame_at_x(x))

    def _in_time_area(self, x: float) -> bool:
        return self.LABEL_W <= x < self.LABEL_W + self._view_w()

    def mousePressEvent(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        pos = event.position()
        row = self._row_at(pos.y())
        if row is not None and pos.x() < self.LABEL_W + self._view_w():
            self._select_row(row, event.modifiers())
        elif self._in_time_area(pos.x()) and pos.y() < self.HEADER_H + self._lanes_h():
            if pos.y() >= self.HEADER_H and not event.modifiers() & Qt.KeyboardModifier.ControlModifier:
                self.doc.set_selection([])
            self._scrubbing = True
            self._seek_to(pos.x())
        event.accept()

    def _select_row(self, row: int, mods) -> None:
        tid = self._tracks[row].id
        sel = self.doc.selection
        if mods & Qt.KeyboardModifier.ControlModifier:
            sel = [t for t in sel if t != tid] if tid in sel else sel + [tid]
            self._anchor_row = row
        elif mods & Qt.KeyboardModifier.ShiftModifier and self._anchor_row is not None:
            a, b = sorted((self._anchor_row, row))
            sel = [t.id for t in self._tracks[a:b + 1]]
        else:
            sel = [tid]
            self._anchor_row = row
        self.doc.set_selection(sel)

    def mouseMoveEvent(self, event) -> None:
        if self._scrubbing:
            x = min(max(event.position().x(), self.LABEL_W), self.LABEL_W + self._view_w() - 1)
            self._seek_to(x)
            event.accept()
        else:
            super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if self._scrubbing:
            self._scrubbing = False
            self.ensure_frame_visible(self.doc.frame)
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:
        pos = event.position()
        row = self._row_at(pos.y())
        if row is None or not self._in_time_area(pos.x()):
            return self.mousePressEvent(event)
        span = self.span_at(pos.x(), pos.y())
        if span is not None:
            self.doc.set_selection([self._tracks[row].id])
            self.doc.set_frame(span[0])
        event.accept()

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

    def wheelEvent(self, event) -> None:
        d = event.angleDelta()
        mods = event.modifiers()
        if mods & Qt.KeyboardModifier.ControlModifier:
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
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.set_zoom(self._zoom * 1.5)
        elif key == Qt.Key.Key_Minus:
            self.set_zoom(self._zoom / 1.5)
        elif key == Qt.Key.Key_Backslash:
            self.zoom_to_fit()
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
        row = self._row_at(y)
        if row is None:
            return ""
        t = self._tracks[row]
        head = f"{t.id} ({t.cls}){' — ' + t.label if t.label else ''}"
        state = f"{t.review}{'' if t.enabled else ', disabled'}"
        span = self.span_at(x, y)
        if span is None:
            return f"{head}\n{len(t.keyframes)} keyframes · {state}"
        a, b = span
        return f"{head}\n{self.doc.timecode(a)} – {self.doc.timecode(b)} ({b - a + 1} frames) · {state}"
