"""One lane per track: its spans as rounded bars and its keyframes as diamonds.

A disabled (exempt, "keep this person visible") track's bars are hatched, a rejected one's are
drawn faint (:data:`REJECTED_OPACITY`); its label keeps the review mark.

Drawing only touches what is visible: :class:`LaneData` keeps a track's spans and keyframe frames
as sorted lists (rebuilt only when the track's keyframes tuple changes), the visible spans and
keyframes are found by bisection, and spans or keyframes closer than a few pixels at the current
zoom are merged or skipped, so a lane costs a handful of draw calls whatever its length.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen, QPixmap, QPolygonF

from app.core.track import KeyframeSource, Track
from app.ui import style

AUTO, MANUAL, TRACKED, HIDDEN = range(4)
_KIND = {KeyframeSource.AUTO: AUTO, KeyframeSource.MANUAL: MANUAL, KeyframeSource.TRACKED: TRACKED}

LANE_BG = (QColor("#1e1f22"), QColor("#232428"))
LABEL_BG = (QColor("#2b2d31"), QColor("#2f3136"))
SELECTED_TINT = QColor(76, 110, 245, 60)
SELECTED_LABEL = QColor("#3b4a8a")
TRACKED_COLOR = QColor("#c5cad3")
REVIEW_COLORS = {
    "approved": QColor("#51cf66"),
    "rejected": QColor("#fa5252"),
    "needs_review": QColor("#ff922b"),
}
REJECTED_OPACITY = 0.35  # a rejected track's bars and keyframes are drawn this faint
DIAMOND = 9  # px, the keyframe marker's size
KEYFRAME_GAP = 8  # px: a keyframe this close to the last one drawn is skipped


@dataclass(slots=True)
class LaneData:
    """A track's spans and keyframes as sorted lists, for bisection while painting."""

    kfs: tuple  # the keyframes tuple these were computed from (identity = still valid)
    starts: list[int]
    ends: list[int]  # inclusive
    frames: list[int]
    kinds: list[int]

    @classmethod
    def of(cls, track: Track) -> LaneData:
        kfs = track.keyframes
        spans = track.spans()
        return cls(
            kfs,
            [s for s, _ in spans],
            [e for _, e in spans],
            [kf.frame for kf in kfs],
            [_KIND.get(kf.source, AUTO) if kf.visible else HIDDEN for kf in kfs],
        )

    def span_at(self, frame: int) -> tuple[int, int] | None:
        i = bisect_left(self.ends, frame)
        if i < len(self.starts) and self.starts[i] <= frame:
            return self.starts[i], self.ends[i]
        return None


class LanePainter:
    """Paints lanes; caches the keyframe marker pixmaps per class colour."""

    def __init__(self) -> None:
        self._pixmaps: dict[tuple[int, str, float], QPixmap] = {}

    # -- markers -----------------------------------------------------------------------------------
    def _diamond(self, kind: int, color: QColor, dpr: float) -> QPixmap:
        key = (kind, color.name(), dpr)
        pix = self._pixmaps.get(key)
        if pix is not None:
            return pix
        size = DIAMOND
        pix = QPixmap(round(size * dpr), round(size * dpr))
        pix.setDevicePixelRatio(dpr)
        pix.fill(Qt.GlobalColor.transparent)
        q = QPainter(pix)
        q.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = size / 2
        inset = {TRACKED: 1.8, HIDDEN: 2.0}.get(kind, 0.8)
        d = r - inset
        poly = QPolygonF([QPointF(r, r - d), QPointF(r + d, r), QPointF(r, r + d), QPointF(r - d, r)])
        if kind == MANUAL:
            q.setPen(QPen(QColor("#f8f9fa"), 1.0))
            q.setBrush(color)
        elif kind == AUTO:
            q.setPen(QPen(color.lighter(125), 1.6))
            q.setBrush(style.BACKGROUND)
        elif kind == TRACKED:
            q.setPen(QPen(QColor("#16171a"), 0.8))
            q.setBrush(TRACKED_COLOR)
        else:
            q.setPen(QPen(style.MUTED_TEXT, 1.2))
            q.setBrush(Qt.BrushStyle.NoBrush)
        q.drawPolygon(poly)
        q.end()
        self._pixmaps[key] = pix
        return pix

    # -- label column ------------------------------------------------------------------------------
    def paint_label(self, p: QPainter, track: Track, row: int, rect: QRectF, selected: bool) -> None:
        p.fillRect(rect, SELECTED_LABEL if selected else LABEL_BG[row & 1])
        color = style.class_color(track.cls)
        chip = QRectF(rect.left(), rect.top(), 4, rect.height())
        if track.enabled:
            p.fillRect(chip, color)
        else:
            p.fillRect(chip, QBrush(color, Qt.BrushStyle.Dense5Pattern))
        fm = p.fontMetrics()
        text_rect = rect.adjusted(10, 0, -18, 0)
        align = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft
        p.setPen(style.TEXT if track.enabled and track.review != "rejected" else style.MUTED_TEXT)
        name = fm.elidedText(track.id, Qt.TextElideMode.ElideRight, int(text_rect.width()))
        p.drawText(text_rect, align, name)
        room = text_rect.width() - fm.horizontalAdvance(name) - 8
        if track.label and room > 16:
            p.setPen(style.MUTED_TEXT)
            p.drawText(text_rect.adjusted(text_rect.width() - room, 0, 0, 0), align,
                       fm.elidedText(track.label, Qt.TextElideMode.ElideRight, int(room)))
        mark = REVIEW_COLORS.get(track.review)
        if mark is not None:
            p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(mark)
            p.drawEllipse(QPointF(rect.right() - 9, rect.center().y()), 3.5, 3.5)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setRenderHint(QPainter.RenderHint.Antialiasing, False)

    # -- spans and keyframes -----------------------------------------------------------------------
    def paint_lane(
        self,
        p: QPainter,
        track: Track,
        data: LaneData,
        rect: QRectF,
        *,
        first: int,
        last: int,
        origin: float,
        zoom: float,
        selected: bool,
    ) -> None:
        """Spans and keyframes of frames ``first..last`` inside ``rect`` (one lane, clipped to view)."""
        color = style.class_color(track.cls)
        top = rect.top()
        h = rect.height()
        left, right = rect.left() - 4, rect.right() + 4

        # Spans: merge those closer than 2 px at this zoom into one bar.
        bars: list[QRectF] = []
        starts, ends = data.starts, data.ends
        i = bisect_left(ends, first)
        n = len(starts)
        cur0 = cur1 = None
        while i < n and starts[i] <= last:
            x0 = max(left, origin + starts[i] * zoom)
            x1 = min(right, origin + (ends[i] + 1) * zoom)
            if cur1 is not None and x0 - cur1 < 2:
                cur1 = max(cur1, x1)
            else:
                if cur0 is not None:
                    bars.append(QRectF(cur0, top + 3, max(3.0, cur1 - cur0), h - 6))
                cur0, cur1 = x0, x1
            i += 1
        if cur0 is not None:
            bars.append(QRectF(cur0, top + 3, max(3.0, cur1 - cur0), h - 6))

        faint = lane_opacity(track)
        if faint < 1.0:
            p.save()
            p.setOpacity(faint)
        if bars:
            p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            if not track.enabled:  # a faint fill under the hatch keeps the span readable
                under = QColor(color)
                under.setAlpha(45)
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(under)
                for r in bars:
                    p.drawRoundedRect(r, 3, 3)
            p.setBrush(span_brush(track, selected))
            p.setPen(span_pen(track, selected))
            for r in bars:
                p.drawRoundedRect(r, 3, 3)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        self._paint_keyframes(p, track, data, top, h, first, last, origin, zoom, color)
        if faint < 1.0:
            p.restore()

    def _paint_keyframes(self, p: QPainter, track: Track, data: LaneData, top: float, h: float,
                         first: int, last: int, origin: float, zoom: float, color: QColor) -> None:
        # Keyframes: skip those within KEYFRAME_GAP px of the last one drawn.
        frames, kinds = data.frames, data.kinds
        if not frames:
            return
        dpr = p.device().devicePixelRatioF() if p.device() is not None else 1.0
        if not track.enabled:
            color = QColor(style.MUTED_TEXT)
        pix = [self._diamond(k, color, dpr) for k in range(4)]
        half = DIAMOND / 2
        margin = int(half / zoom) + 1
        step = max(1, int(KEYFRAME_GAP / zoom + 0.999))
        cy = top + h / 2 - half
        hi = last + margin
        j = bisect_left(frames, max(0, first - margin))
        nf = len(frames)
        while j < nf:
            f = frames[j]
            if f > hi:
                break
            p.drawPixmap(QPointF(round(origin + f * zoom - half), round(cy)), pix[kinds[j]])
            j = bisect_left(frames, f + step, j + 1) if step > 1 else j + 1


def span_brush(track: Track, selected: bool) -> QBrush:
    """The brush of a track's span bars: the class colour, hatched for a disabled (exempt) track."""
    color = style.class_color(track.cls)
    if track.enabled:
        color.setAlpha(150 if selected else 105)
        return QBrush(color)
    color.setAlpha(170)
    return QBrush(color, Qt.BrushStyle.BDiagPattern)


def span_pen(track: Track, selected: bool) -> QPen:
    color = style.class_color(track.cls)
    if track.enabled:
        return QPen(style.SELECTED_COLOR if selected else color, 1.2 if selected else 1.0)
    edge = QColor(style.SELECTED_COLOR if selected else color)
    edge.setAlpha(200 if selected else 140)
    return QPen(edge, 1.0, Qt.PenStyle.DashLine)


def lane_opacity(track: Track) -> float:
    """How opaque a track's bars and keyframes are drawn: faint once rejected."""
    return REJECTED_OPACITY if track.review == "rejected" else 1.0
