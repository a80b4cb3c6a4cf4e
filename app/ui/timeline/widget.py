"""The timeline: ruler, thumbnail strip, the audio-mute lane, one lane per track, playhead; zoom,
scroll, seek, select, drag spans. Tracks in ``doc.hidden`` (the score filter) get no lane. A group
of tracks (one person, one vehicle) is one header lane that folds (:mod:`app.ui.timeline.groups`);
lanes are ``lane_height`` px tall (:meth:`TimelineWidget.set_lane_height`, Ctrl+Alt+wheel).

The header (fixed at the top, not scrolled with the lanes) holds the ruler, with the in/out range
shaded on it, the thumbnails, the "Waveform" lane (:mod:`app.ui.timeline.waveform`,
:meth:`TimelineWidget.set_waveform`) and the "Audio mutes" lane (:mod:`app.ui.timeline.mutes`): a click
selects a mute (``selected_mute``), dragging its body moves it and dragging an edge trims it.

Coordinates are the widget's own: ``x_of_frame(f)`` is the left edge of frame ``f`` (where the
playhead stands when ``f`` is shown), ``frame_at_x(x)`` the nearest frame boundary. Only the
visible lanes, and in them only the spans and keyframes of the visible frames, are drawn (see
:mod:`app.ui.timeline.lanes`); a playhead step repaints two thin columns. The mouse, wheel and
keys are handled in :mod:`app.ui.timeline.input`.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal, Slot
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QScrollBar, QStyle, QWidget

from app.ui import style
from app.ui.document import Document
from app.ui.timeline.groups import (
    INDENT,
    build_rows,
    is_group_lane,
    paint_header_label,
    union_data,
)
from app.ui.timeline.input import TimelineInput
from app.ui.timeline.lanes import LANE_BG, SELECTED_LABEL, SELECTED_TINT, LaneData, LanePainter
from app.ui.timeline.mutes import MuteLanePainter
from app.ui.timeline.ruler import paint_in_out, paint_playhead, paint_ruler
from app.ui.timeline.strip import ThumbnailSource, ThumbnailStrip
from app.ui.timeline.waveform import WaveformPainter

BEYOND_END = QColor("#161719")


class TimelineWidget(TimelineInput, QWidget):
    zoomChanged = Signal(float)
    muteSelectionChanged = Signal(object)  # the selected audio mute's id, or None
    laneHeightChanged = Signal(int)
    contextMenuRequested = Signal(object)  # a ContextHit (app.ui.timeline.input): what was right-clicked

    LABEL_W = 176
    RULER_H = 26
    THUMB_H = 46
    WAVE_H = 30  # the waveform lane, under the thumbnails
    MUTE_H = 22  # the audio-mute lane, under the waveform
    LANE_H = 20  # the default lane height (each timeline has its own: set_lane_height)
    MIN_LANE_H, MAX_LANE_H = 14, 64
    MAX_ZOOM = 48.0  # px per frame
    HEADER_H = RULER_H + THUMB_H + WAVE_H + MUTE_H

    def __init__(self, doc: Document, parent: QWidget | None = None):
        super().__init__(parent)
        self.doc = doc
        self._zoom = 1.0
        self._fit = True  # follow the widget's width until the user zooms
        self._tracks: list = []  # the rows: tracks (less doc.hidden) and group headers (GroupLane)
        self._n_hidden = 0
        self._row_of: dict[str, int] = {}
        self._cache: dict[str, LaneData] = {}
        self._selected: set[str] = set()
        self._anchor_id: str | None = None  # the lane last clicked (Shift+click extends from it)
        self._scrubbing = False
        self._playhead_x: float | None = None
        self._lanes = LanePainter()
        self._mute_painter = MuteLanePainter()
        self._wave_painter = WaveformPainter()
        self._waveform = None  # peaks per frame (app.ui.audio_samples.waveform), or None
        self._waveform_state = ""  # what the lane's label says besides its name ("computing…")
        self._selected_mute: str | None = None
        self._strip = ThumbnailStrip()
        self._hbar = QScrollBar(Qt.Orientation.Horizontal, self)
        self._vbar = QScrollBar(Qt.Orientation.Vertical, self)
        self._hbar.valueChanged.connect(self.update)
        self._vbar.valueChanged.connect(self.update)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)  # the cursor shows what a press over a span would drag
        self.LANE_H = self.LANE_H  # an instance value from here on (set_lane_height)
        self._update_minimum()
        self._tc_font = QFont("DejaVu Sans Mono")
        self._tc_font.setStyleHint(QFont.StyleHint.Monospace)
        self._tc_font.setBold(True)
        doc.projectReplaced.connect(self._on_project_replaced)
        doc.tracksChanged.connect(self._on_tracks_changed)
        doc.selectionChanged.connect(self._on_selection_changed)
        doc.frameChanged.connect(self._on_frame_changed)
        doc.hiddenChanged.connect(self._on_tracks_changed)
        if hasattr(doc, "foldChanged"):
            doc.foldChanged.connect(self._on_tracks_changed)
        if hasattr(doc, "inOutChanged"):
            doc.inOutChanged.connect(lambda: self.update(QRect(0, 0, self.width(), self.RULER_H)))
        self._on_project_replaced()

    # -- lane height ---------------------------------------------------------------------------------
    @property
    def lane_height(self) -> int:
        return self.LANE_H

    def set_lane_height(self, px: int) -> None:
        """Lanes ``px`` tall (clamped to MIN_LANE_H..MAX_LANE_H), keeping the top lane in place."""
        px = max(self.MIN_LANE_H, min(self.MAX_LANE_H, int(px)))
        if px == self.LANE_H:
            return
        top_row = self._vbar.value() / self.LANE_H
        self.LANE_H = px
        self._update_minimum()
        self._update_ranges()
        self._vbar.setValue(round(top_row * px))
        self.update()
        self.laneHeightChanged.emit(px)

    def _update_minimum(self) -> None:
        self.setMinimumSize(420, self.HEADER_H + 2 * self.LANE_H + self._sb())

    # -- thumbnails --------------------------------------------------------------------------------
    def set_thumbnail_source(self, source: ThumbnailSource | None) -> None:
        """``source(frame_index, height) -> QImage | None``; None while the image is being made."""
        self._strip.source = source
        self._strip.clear()
        self.update(self._strip_rect())

    @Slot(int, QImage)
    def thumbnail_ready(self, frame: int, image: QImage) -> None:
        self._strip.ready(frame, image)
        self.update(self._strip_rect())

    # -- geometry ----------------------------------------------------------------------------------
    def _sb(self) -> int:
        return self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)

    def _view_w(self) -> int:
        return max(1, self.width() - self.LABEL_W - self._sb())

    def _lanes_h(self) -> int:
        return max(1, self.height() - self.HEADER_H - self._sb())

    def _strip_rect(self) -> QRect:
        return QRect(self.LABEL_W, self.RULER_H, self._view_w(), self.THUMB_H)

    def wave_lane_rect(self) -> QRect:
        """The waveform lane's row (label and waveform) in widget coordinates."""
        return QRect(0, self.RULER_H + self.THUMB_H, self.width() - self._sb(), self.WAVE_H)

    def mute_lane_rect(self) -> QRect:
        """The audio-mute lane's row (label and bars) in widget coordinates."""
        return QRect(0, self.RULER_H + self.THUMB_H + self.WAVE_H, self.width() - self._sb(), self.MUTE_H)

    def _in_mute_lane(self, y: float) -> bool:
        top = self.RULER_H + self.THUMB_H + self.WAVE_H
        return top <= y < top + self.MUTE_H

    # -- waveform ----------------------------------------------------------------------------------
    def set_waveform(self, peaks, state: str = "") -> None:
        """The soundtrack's peak per frame (None: none to show) and the lane's note."""
        self._waveform, self._waveform_state = peaks, state
        self.update(self.wave_lane_rect())

    @property
    def waveform(self):
        return self._waveform

    @property
    def waveform_state(self) -> str:
        return self._waveform_state

    # -- audio mutes -------------------------------------------------------------------------------
    @property
    def selected_mute(self) -> str | None:
        """The id of the audio mute selected in its lane, or None."""
        return self._selected_mute

    def set_selected_mute(self, mute_id: str | None) -> None:
        """Select an audio mute (the track selection is cleared: one kind of thing is selected)."""
        if mute_id is not None and not any(m.id == mute_id for m in self.doc.project.audio_mutes):
            mute_id = None
        if mute_id is not None and self.doc.selection:
            self.doc.set_selection([])
        if mute_id != self._selected_mute:
            self._selected_mute = mute_id
            self.update(self.mute_lane_rect())
            self.muteSelectionChanged.emit(mute_id)

    def _origin(self) -> float:
        return self.LABEL_W - self._hbar.value()

    def _fit_zoom(self) -> float:
        n = self.doc.frame_count
        return min(self.MAX_ZOOM, self._view_w() / n) if n else 1.0

    @property
    def zoom(self) -> float:
        """Pixels per frame."""
        return self._zoom

    @zoom.setter
    def zoom(self, value: float) -> None:
        self.set_zoom(value)

    def x_of_frame(self, frame: float) -> float:
        return self._origin() + frame * self._zoom

    def frame_at_x(self, x: float) -> int:
        """The frame boundary nearest to ``x``, clamped to the media."""
        n = self.doc.frame_count
        f = math.floor((x - self._origin()) / self._zoom + 0.5)
        return max(0, min(f, n - 1)) if n else 0

    def _cell_at_x(self, x: float) -> int:
        return math.floor((x - self._origin()) / self._zoom)

    def visible_frame_range(self) -> tuple[int, int]:
        """First and last frame (inclusive) at least partly visible in the lanes."""
        n = self.doc.frame_count
        if not n:
            return 0, -1
        first = max(0, self._cell_at_x(self.LABEL_W))
        last = min(n - 1, self._cell_at_x(self.LABEL_W + self._view_w() - 1))
        return first, last

    def _row_top(self, row: int) -> int:
        return self.HEADER_H + row * self.LANE_H - self._vbar.value()

    def lane_rect(self, track_id: str) -> QRect:
        """The lane's row (label and bars) in widget coordinates; empty for an unknown track."""
        row = self._row_of.get(track_id)
        if row is None:
            return QRect()
        return QRect(0, self._row_top(row), self.width() - self._sb(), self.LANE_H)

    def highlighted_ids(self) -> list[str]:
        """The tracks whose lanes are drawn selected, in lane order."""
        return [t.id for t in self._tracks if not is_group_lane(t) and t.id in self._selected]

    def _row_selected(self, row_obj) -> bool:
        if is_group_lane(row_obj):
            return bool(row_obj.members) and all(t.id in self._selected for t in row_obj.members)
        return row_obj.id in self._selected

    def row_ids(self, row: int) -> list[str]:
        """The tracks a row stands for: its track, or a header's members."""
        r = self._tracks[row]
        return r.ids if is_group_lane(r) else [r.id]

    def group_lane_rect(self, name: str) -> QRect:
        """The header lane of group ``name``; empty when it has none."""
        from app.ui.timeline.groups import GROUP_PREFIX

        return self.lane_rect(GROUP_PREFIX + name)

    def _row_at(self, y: float) -> int | None:
        if y < self.HEADER_H or y >= self.HEADER_H + self._lanes_h():
            return None
        row = int((y - self.HEADER_H + self._vbar.value()) // self.LANE_H)
        return row if 0 <= row < len(self._tracks) else None

    def track_at(self, y: float) -> str | None:
        row = self._row_at(y)
        return self._tracks[row].id if row is not None else None

    def _data(self, track) -> LaneData:
        data = self._cache.get(track.id)
        if is_group_lane(track):
            key = track.key()
            if data is None or data.kfs != key:
                data = self._cache[track.id] = union_data(track)
            return data
        if data is None or data.kfs is not track.keyframes:
            data = self._cache[track.id] = LaneData.of(track)
        return data

    # -- zoom and scroll ---------------------------------------------------------------------------
    def _update_ranges(self) -> None:
        fit = self._fit_zoom()
        zoom = fit if self._fit else min(self.MAX_ZOOM, max(self._zoom, fit))
        if zoom != self._zoom:
            self._zoom = zoom
            self.zoomChanged.emit(zoom)
        view_w = self._view_w()
        content = math.ceil(self.doc.frame_count * self._zoom)
        self._hbar.setRange(0, max(0, content - view_w))
        self._hbar.setPageStep(view_w)
        self._hbar.setSingleStep(max(8, view_w // 20))
        lanes_h = self._lanes_h()
        self._vbar.setRange(0, max(0, len(self._tracks) * self.LANE_H - lanes_h))
        self._vbar.setPageStep(lanes_h)
        self._vbar.setSingleStep(self.LANE_H)

    def set_zoom(self, zoom: float, anchor_x: float | None = None) -> None:
        """Set px per frame, keeping the frame at ``anchor_x`` (default: the playhead) in place."""
        fit = self._fit_zoom()
        zoom = min(self.MAX_ZOOM, max(fit, float(zoom)))
        if anchor_x is None:
            px = self.x_of_frame(self.doc.frame)
            inside = self.LABEL_W <= px < self.LABEL_W + self._view_w()
            anchor_x = px if inside else self.LABEL_W + self._view_w() / 2
        anchor_frame = (anchor_x - self._origin()) / self._zoom
        self._fit = zoom <= fit * 1.0001
        old = self._zoom
        self._zoom = zoom
        self._update_ranges()
        self._hbar.setValue(round(anchor_frame * self._zoom - (anchor_x - self.LABEL_W)))
        if self._zoom != old:
            self.zoomChanged.emit(self._zoom)
        self.update()

    def zoom_to_fit(self) -> None:
        self._fit = True
        self._update_ranges()
        self._hbar.setValue(0)
        self.update()

    def ensure_frame_visible(self, frame: int) -> None:
        x = self.x_of_frame(frame)
        left, width = self.LABEL_W, self._view_w()
        if x < left or x >= left + width - 2:
            self._hbar.setValue(round(frame * self._zoom - width * 0.1))

    def ensure_track_visible(self, track_id: str) -> None:
        row = self._row_of.get(track_id)
        if row is None:
            return
        top = row * self.LANE_H
        if top < self._vbar.value():
            self._vbar.setValue(top)
        elif top + self.LANE_H > self._vbar.value() + self._lanes_h():
            self._vbar.setValue(top + self.LANE_H - self._lanes_h())

    def resizeEvent(self, event) -> None:
        sb = self._sb()
        w, h = self.width(), self.height()
        self._hbar.setGeometry(self.LABEL_W, h - sb, max(0, w - self.LABEL_W - sb), sb)
        self._vbar.setGeometry(w - sb, self.HEADER_H, sb, max(0, h - self.HEADER_H - sb))
        self._update_ranges()
        super().resizeEvent(event)

    # -- document ----------------------------------------------------------------------------------
    def _on_project_replaced(self) -> None:
        self._cache.clear()
        self._strip.clear()
        self._fit = True
        self._anchor_id = None
        self._press = None
        self._selected = set(self.doc.selection)
        self.set_selected_mute(None)
        self._on_tracks_changed()
        self._hbar.setValue(0)
        self._vbar.setValue(0)

    def _on_tracks_changed(self) -> None:
        hidden = self.doc.hidden
        tracks = self.doc.project.tracks
        if any(t.group for t in tracks):
            folded = getattr(self.doc, "is_folded", lambda _g: False)
            self._tracks, self._row_of = build_rows(tracks, hidden, folded)
        else:
            self._tracks = [t for t in tracks if t.id not in hidden] if hidden else list(tracks)
            self._row_of = {t.id: i for i, t in enumerate(self._tracks)}
        self._n_hidden = sum(1 for t in tracks if t.id in hidden)
        if len(self._cache) > len(self._row_of):
            self._cache = {k: v for k, v in self._cache.items() if k in self._row_of}
        self._selected = set(self.doc.selection)
        if self._selected_mute is not None:
            self.set_selected_mute(self._selected_mute)  # drops a mute that no longer exists
        self._update_ranges()
        self.update()

    def _on_selection_changed(self, ids: list) -> None:
        self._selected = set(ids)
        if ids and self._selected_mute is not None:
            self.set_selected_mute(None)
        if ids and not any(self._lane_visible(t) for t in ids):
            self.ensure_track_visible(ids[-1])
        self.update()

    def _lane_visible(self, track_id: str) -> bool:
        row = self._row_of.get(track_id)
        if row is None:
            return False
        top = row * self.LANE_H - self._vbar.value()
        return top >= 0 and top + self.LANE_H <= self._lanes_h()

    def _on_frame_changed(self, frame: int) -> None:
        before = self._hbar.value()
        if not self._scrubbing:
            self.ensure_frame_visible(frame)
        if self._hbar.value() != before or self._playhead_x is None:
            self.update()
            return
        pad = max(8, math.ceil(self._zoom)) + 2
        for x in (self._playhead_x, self.x_of_frame(frame)):
            self.update(QRect(int(x) - 8, 0, pad + 8, self.height()))
        self.update(QRect(0, 0, self.LABEL_W, self.RULER_H))

    # -- painting ----------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        region = event.region()
        rects = list(region) if region.rectCount() <= 4 else [region.boundingRect()]
        for r in rects:
            p.save()
            p.setClipRect(r)
            self._paint(p, r)
            p.restore()
        p.end()

    def _paint(self, p: QPainter, r: QRect) -> None:
        n = self.doc.frame_count
        sb = self._sb()
        view_w, lanes_h = self._view_w(), self._lanes_h()
        origin, zoom = self._origin(), self._zoom
        tl_left, tl_right = self.LABEL_W, self.LABEL_W + view_w
        first = max(0, math.floor((max(r.left(), tl_left) - origin) / zoom) - 1)
        last = min(n - 1, math.floor((min(r.right() + 1, tl_right) - origin) / zoom) + 1)
        end_x = origin + n * zoom

        if r.top() < self.HEADER_H:
            if r.right() >= tl_left:
                p.save()
                p.setClipRect(QRect(tl_left, 0, view_w, self.HEADER_H).intersected(r))
                paint_ruler(p, QRectF(tl_left, 0, view_w, self.RULER_H - 1), first=first, last=last,
                            fps=self.doc.fps, x_of_frame=self.x_of_frame, zoom=zoom, frame_count=n)
                self._paint_in_out(p, QRectF(tl_left, 0, view_w, self.RULER_H - 1))
                self._strip.paint(p, QRectF(self._strip_rect()), x_from=max(r.left(), tl_left),
                                  x_to=min(r.right() + 1, tl_right), origin=origin, zoom=zoom,
                                  frame_count=n, aspect=self._aspect())
                p.restore()
            if r.left() < tl_left:
                self._paint_corner(p)
            if r.bottom() >= self.RULER_H + self.THUMB_H:
                self._paint_wave_lane(p, r, first, last, origin, zoom, view_w)
                self._paint_mute_lane(p, r, first, last, origin, zoom, view_w)
            p.fillRect(QRect(tl_right, 0, sb, self.HEADER_H), style.PANEL)

        if r.bottom() >= self.HEADER_H:
            self._paint_lanes(p, r, first, last, origin, zoom, view_w, lanes_h)

        if r.bottom() >= self.height() - sb:
            p.fillRect(QRect(0, self.height() - sb, self.LABEL_W, sb), style.PANEL)
            p.fillRect(QRect(tl_right, self.height() - sb, sb, sb), style.PANEL)

        if n and end_x < tl_right:
            p.save()
            p.setClipRect(QRect(tl_left, self.RULER_H, view_w, self.THUMB_H + lanes_h).intersected(r))
            p.setPen(style.GRID)
            p.drawLine(QPointF(round(end_x) + 0.5, self.RULER_H), QPointF(round(end_x) + 0.5, self.HEADER_H + lanes_h))
            p.restore()

        x = self.x_of_frame(self.doc.frame)
        self._playhead_x = x
        if n and tl_left - 8 <= x < tl_right + 8:
            p.save()
            p.setClipRect(QRect(tl_left, 0, view_w, self.HEADER_H + lanes_h).intersected(r))
            paint_playhead(p, x, 0, self.HEADER_H + lanes_h, zoom, self.RULER_H)
            p.restore()

    def _paint_in_out(self, p: QPainter, rect: QRectF) -> None:
        marks = getattr(self.doc, "in_point", None), getattr(self.doc, "out_point", None)
        if marks == (None, None) or not self.doc.frame_count:
            return
        x_in = None if marks[0] is None else self.x_of_frame(marks[0])
        x_out = None if marks[1] is None else self.x_of_frame(marks[1] + 1)
        paint_in_out(p, rect, x_in, x_out)

    def _paint_wave_lane(self, p: QPainter, r: QRect, first: int, last: int, origin: float, zoom: float,
                         view_w: int) -> None:
        lane = self.wave_lane_rect()
        if not lane.intersects(r):
            return
        p.save()
        if r.left() < self.LABEL_W:
            p.setClipRect(QRect(0, lane.top(), self.LABEL_W, lane.height()).intersected(r))
            self._wave_painter.paint_label(p, QRectF(0, lane.top(), self.LABEL_W - 1, lane.height()),
                                           self._waveform_state)
        content = QRect(self.LABEL_W, lane.top(), view_w, lane.height()).intersected(r)
        if not content.isEmpty():
            p.setClipRect(content)
            self._wave_painter.paint_lane(p, QRectF(self.LABEL_W, lane.top(), view_w, lane.height()),
                                          self._waveform, first=first, last=last, origin=origin, zoom=zoom,
                                          x_from=content.left(), x_to=content.right() + 1)
            self._fill_beyond_end(p, lane, origin, zoom, view_w)
        self._close_lane(p, lane, r)

    def _paint_mute_lane(self, p: QPainter, r: QRect, first: int, last: int, origin: float, zoom: float,
                         view_w: int) -> None:
        lane = self.mute_lane_rect()
        mutes = self.doc.project.audio_mutes
        info = self.doc.info
        has_audio = bool(info.audio) if info is not None else True
        p.save()
        if r.left() < self.LABEL_W:
            p.setClipRect(QRect(0, lane.top(), self.LABEL_W, lane.height()).intersected(r))
            self._mute_painter.paint_label(p, QRectF(0, lane.top(), self.LABEL_W - 1, lane.height()),
                                           len(mutes), has_audio)
            p.setPen(style.GRID)
            p.drawLine(self.LABEL_W - 1, lane.top(), self.LABEL_W - 1, lane.bottom())
        content = QRect(self.LABEL_W, lane.top(), view_w, lane.height()).intersected(r)
        if not content.isEmpty():
            p.setClipRect(content)
            self._mute_painter.paint_lane(p, QRectF(self.LABEL_W, lane.top(), view_w, lane.height()), mutes,
                                          first=first, last=last, origin=origin, zoom=zoom,
                                          selected=self._selected_mute)
            self._fill_beyond_end(p, lane, origin, zoom, view_w)
        self._close_lane(p, lane, r)

    def _fill_beyond_end(self, p: QPainter, lane: QRect, origin: float, zoom: float, view_w: int) -> None:
        """Shade the part of an audio lane past the video's last frame."""
        n = self.doc.frame_count
        end_x = origin + n * zoom
        if n and end_x < self.LABEL_W + view_w:
            p.fillRect(QRectF(end_x, lane.top(), self.LABEL_W + view_w - end_x, lane.height()), BEYOND_END)

    def _close_lane(self, p: QPainter, lane: QRect, r: QRect) -> None:
        """The lane's bottom grid line; ends the ``p.save()`` of the lane's painting."""
        p.setClipRect(QRect(0, lane.top(), self.width(), lane.height()).intersected(r))
        p.setPen(style.GRID)
        p.drawLine(0, lane.bottom(), self.width(), lane.bottom())
        p.restore()

    def _aspect(self) -> float:
        m = self.doc.project.media
        return m.width / m.height if m else 16 / 9

    def _paint_corner(self, p: QPainter) -> None:
        top = self.RULER_H + self.THUMB_H  # the audio-mute lane paints its own label below
        p.fillRect(QRect(0, 0, self.LABEL_W, top), style.PANEL)
        p.setFont(self._tc_font)
        p.setPen(style.PLAYHEAD_COLOR)
        p.drawText(QRect(10, 0, self.LABEL_W - 12, self.RULER_H), Qt.AlignmentFlag.AlignVCenter,
                   self.doc.timecode() if self.doc.frame_count else "--:--:--:--")
        p.setFont(self.font())
        p.setPen(style.MUTED_TEXT)
        n = len(self.doc.project.tracks) - self._n_hidden
        text = f"{n} track{'s' if n != 1 else ''}" + (f" · {self._n_hidden} hidden" if self._n_hidden else "")
        p.drawText(QRect(10, self.RULER_H, self.LABEL_W - 12, self.THUMB_H), Qt.AlignmentFlag.AlignVCenter, text)
        p.setPen(style.GRID)
        p.drawLine(0, top - 1, self.LABEL_W, top - 1)
        p.drawLine(self.LABEL_W - 1, 0, self.LABEL_W - 1, top)

    def _paint_lanes(self, p, r: QRect, first, last, origin, zoom, view_w, lanes_h) -> None:
        top = self.HEADER_H
        area = QRect(0, top, self.LABEL_W + view_w, lanes_h).intersected(r)
        if area.isEmpty():
            return
        voff = self._vbar.value()
        row0 = max(0, (area.top() - top + voff) // self.LANE_H)
        row1 = min(len(self._tracks) - 1, (area.bottom() - top + voff) // self.LANE_H)
        lanes_bottom = top + len(self._tracks) * self.LANE_H - voff
        n = self.doc.frame_count
        end_x = origin + n * zoom
        tl_left = self.LABEL_W
        labels = QRect(0, top, tl_left, lanes_h).intersected(r)
        content = QRect(tl_left, top, view_w, lanes_h).intersected(r)
        lh = self.LANE_H
        p.save()
        if not labels.isEmpty():
            p.setClipRect(labels)
            p.fillRect(labels, style.PANEL)
            for row in range(row0, row1 + 1):
                t = self._tracks[row]
                cell = QRectF(0, top + row * lh - voff, tl_left - 1, lh)
                if is_group_lane(t):
                    paint_header_label(p, t, cell, self._row_selected(t), SELECTED_LABEL)
                elif t.group:  # a member under its open header: indented
                    p.fillRect(QRectF(0, cell.top(), INDENT, lh), style.PANEL)
                    self._lanes.paint_label(p, t, row, cell.adjusted(INDENT, 0, 0, 0), t.id in self._selected)
                else:
                    self._lanes.paint_label(p, t, row, cell, t.id in self._selected)
            p.setPen(style.GRID)
            p.drawLine(tl_left - 1, top, tl_left - 1, top + lanes_h)
        if not content.isEmpty():
            p.setClipRect(content)
            p.fillRect(content, style.BACKGROUND)
            for row in range(row0, row1 + 1):
                t = self._tracks[row]
                y = top + row * lh - voff
                sel = self._row_selected(t)
                lane = QRectF(tl_left, y, view_w, lh)
                p.fillRect(lane, LANE_BG[row & 1])
                if sel:
                    p.fillRect(lane, SELECTED_TINT)
                if n:
                    self._lanes.paint_lane(p, t, self._data(t), lane, first=first, last=last,
                                           origin=origin, zoom=zoom, selected=sel)
            if n and end_x < tl_left + view_w:
                p.fillRect(QRectF(end_x, top, tl_left + view_w - end_x, lanes_h), BEYOND_END)
            if lanes_bottom < top + lanes_h:
                p.fillRect(QRect(tl_left, lanes_bottom, view_w, top + lanes_h - lanes_bottom), style.BACKGROUND)
        p.restore()
