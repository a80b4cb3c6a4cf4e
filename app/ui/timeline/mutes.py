"""The "Audio mutes" lane: the project's audio mutes as bars in one fixed row under the thumbnails.

It is drawn unlike the video tracks' lanes: a speaker icon in its label, a blue-grey background,
silenced spans as teal bars with a crossed speaker, bleeps (1 kHz tone) as amber bars with a
wave. The pure helpers here (new ids, moving and trimming a mute) are shared by the timeline's
mouse handling and the editing actions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen, QPolygonF

from app.core.audio import AudioMute
from app.ui import style

LANE_BG = QColor("#1b2430")
LABEL_BG = QColor("#243040")
SILENCE_COLOR = QColor("#3bc9db")
TONE_COLOR = QColor("#fcc419")
NO_AUDIO_TEXT = "no audio"


@dataclass(slots=True)
class MuteHandle:
    """What a press in the mute lane grabs: ``mode`` (move, start or end, as the track spans) of the
    mute ``mute_id`` whose frames were ``start..end`` at the press."""

    mode: str
    mute_id: str
    start: int
    end: int


def new_mute_id(mutes) -> str:
    """A fresh ``mute-NNNN`` id, numbered after the highest in use."""
    highest = 0
    for m in mutes:
        head, _, num = m.id.rpartition("-")
        if head == "mute" and num.isdigit():
            highest = max(highest, int(num))
    return f"mute-{highest + 1:04d}"


def moved(mute: AudioMute, delta: int, frame_count: int) -> AudioMute:
    """``mute`` shifted by ``delta`` frames, kept inside the clip (its length unchanged)."""
    hi = (frame_count - 1 - mute.end) if frame_count else delta
    delta = max(-mute.start, min(delta, hi))
    return mute if delta == 0 else replace(mute, start=mute.start + delta, end=mute.end + delta)


def trimmed(mute: AudioMute, start: int | None = None, end: int | None = None,
            frame_count: int = 0) -> AudioMute:
    """``mute`` with a new first or last frame, kept inside the clip and at least one frame long."""
    last = frame_count - 1 if frame_count else None
    s = mute.start if start is None else max(0, min(int(start), mute.end))
    e = mute.end if end is None else max(s, int(end))
    if last is not None:
        e = min(e, max(last, s))
    return mute if (s, e) == (mute.start, mute.end) else replace(mute, start=s, end=e)


def replaced(mutes, new: AudioMute | None, mute_id: str) -> list[AudioMute]:
    """The list with the mute ``mute_id`` replaced by ``new`` (removed when ``new`` is None)."""
    return [new if m.id == mute_id else m for m in mutes if m.id != mute_id or new is not None]


def mute_color(mute: AudioMute) -> QColor:
    return QColor(TONE_COLOR if mute.mode == "tone" else SILENCE_COLOR)


def describe(mute: AudioMute) -> str:
    kind = "bleep (1 kHz tone)" if mute.mode == "tone" else "silence"
    return f"{mute.id}: {kind}{' — ' + mute.label if mute.label else ''}"


class MuteLanePainter:
    def paint_label(self, p: QPainter, rect: QRectF, count: int, has_audio: bool) -> None:
        p.fillRect(rect, LABEL_BG)
        chip = QRectF(rect.left(), rect.top(), 4, rect.height())
        p.fillRect(chip, SILENCE_COLOR)
        icon = QRectF(rect.left() + 10, rect.center().y() - 6, 14, 12)
        speaker(p, icon, style.TEXT if has_audio else style.MUTED_TEXT, muted=True)
        text_rect = rect.adjusted(30, 0, -6, 0)
        align = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft
        p.setPen(style.TEXT if has_audio else style.MUTED_TEXT)
        fm = p.fontMetrics()
        name = "Audio mutes"
        p.drawText(text_rect, align, name)
        extra = f"{count}" if has_audio else NO_AUDIO_TEXT
        room = text_rect.width() - fm.horizontalAdvance(name) - 8
        if room > fm.horizontalAdvance(extra):
            p.setPen(style.MUTED_TEXT)
            p.drawText(text_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, extra)

    def paint_lane(self, p: QPainter, rect: QRectF, mutes, *, first: int, last: int, origin: float,
                   zoom: float, selected: str | None) -> None:
        p.fillRect(rect, LANE_BG)
        top, h = rect.top(), rect.height()
        left, right = rect.left() - 4, rect.right() + 4
        ordered = sorted(mutes, key=lambda m: (m.id == selected, m.start))  # the selected one on top
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        for m in ordered:
            if m.end < first or m.start > last:
                continue
            x0 = max(left, origin + m.start * zoom)
            x1 = min(right, origin + (m.end + 1) * zoom)
            bar = QRectF(x0, top + 3, max(3.0, x1 - x0), h - 6)
            color = mute_color(m)
            fill = QColor(color)
            fill.setAlpha(170 if m.id == selected else 120)
            p.setBrush(fill)
            p.setPen(QPen(style.SELECTED_COLOR, 1.6) if m.id == selected else QPen(color.darker(130), 1.0))
            p.drawRoundedRect(bar, 3, 3)
            if bar.width() > 22:
                icon = QRectF(bar.left() + 5, bar.center().y() - 5, 12, 10)
                if m.mode == "tone":
                    wave(p, icon, QColor("#1b1b1b"))
                else:
                    speaker(p, icon, QColor("#102027"), muted=True)
                label = m.label or ("bleep" if m.mode == "tone" else "mute")
                room = bar.width() - 26
                fm = p.fontMetrics()
                if room > fm.horizontalAdvance("…") + 4:
                    p.setPen(QColor("#0d1117"))
                    p.drawText(bar.adjusted(22, 0, -3, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                               fm.elidedText(label, Qt.TextElideMode.ElideRight, int(room)))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)


def speaker(p: QPainter, r: QRectF, color: QColor, muted: bool = False) -> None:
    """A small loudspeaker in ``r`` (crossed out when ``muted``)."""
    w, h = r.width(), r.height()
    x, y = r.left(), r.top()
    body = QPolygonF([QPointF(x, y + h * 0.35), QPointF(x + w * 0.22, y + h * 0.35),
                      QPointF(x + w * 0.5, y), QPointF(x + w * 0.5, y + h),
                      QPointF(x + w * 0.22, y + h * 0.65), QPointF(x, y + h * 0.65)])
    p.save()
    p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(color)
    p.drawPolygon(body)
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.setPen(QPen(color, 1.4))
    if muted:
        p.drawLine(QPointF(x + w * 0.62, y + h * 0.25), QPointF(x + w, y + h * 0.75))
        p.drawLine(QPointF(x + w * 0.62, y + h * 0.75), QPointF(x + w, y + h * 0.25))
    else:
        p.drawArc(QRectF(x + w * 0.3, y + h * 0.15, w * 0.5, h * 0.7), -60 * 16, 120 * 16)
    p.restore()


def wave(p: QPainter, r: QRectF, color: QColor) -> None:
    """A short sine wave in ``r`` (the bleep's mark)."""
    path = QPainterPath()
    steps = 24
    for i in range(steps + 1):
        t = i / steps
        pt = QPointF(r.left() + t * r.width(), r.center().y() - math.sin(t * 4 * math.pi) * r.height() / 2)
        path.moveTo(pt) if i == 0 else path.lineTo(pt)
    p.save()
    p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    p.setPen(QPen(color, 1.4))
    p.drawPath(path)
    p.restore()
