"""The time ruler: tick spacing chosen from the zoom, timecode labels, the playhead handle."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPolygonF

from app.core.timebase import timecode
from app.ui import style

# Label spacings above one second, in seconds: 1 s, 2 s, 5 s, 10 s, 15 s, 30 s, 1 min ... 2 h.
NICE_SECONDS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)
MIN_MINOR_PX = 7  # minor ticks closer than this are left out
LABEL_GAP_PX = 18  # free space after a label before the next major tick


@dataclass(frozen=True)
class Ticks:
    major: int  # frames between labelled ticks
    minor: int  # frames between small ticks (0: none)
    with_frames: bool  # labels show HH:MM:SS:FF (sub-second spacing) rather than HH:MM:SS


def nominal_rate(fps: Fraction) -> int:
    """Frames per timecode second (as :func:`app.core.timebase.timecode` counts them)."""
    return max(1, round(fps))


def _candidates(nominal: int) -> tuple[list[int], list[int]]:
    sub = [d for d in range(1, nominal) if nominal % d == 0]
    return sub, [s * nominal for s in NICE_SECONDS]


def choose_ticks(zoom: float, fps: Fraction, long_label_px: int, short_label_px: int) -> Ticks:
    """The finest spacing whose labels do not collide at ``zoom`` px per frame.

    Sub-second spacings (divisors of the nominal rate, so labels fall on whole frames of every
    second) label with frames; from one second up the labels drop the frame field.
    """
    nominal = nominal_rate(fps)
    sub, secs = _candidates(nominal)
    major = 0
    with_frames = False
    for c in sub:
        if c * zoom >= long_label_px + LABEL_GAP_PX:
            major, with_frames = c, True
            break
    if not major:
        major = secs[-1]
        for c in secs:
            if c * zoom >= short_label_px + LABEL_GAP_PX:
                major = c
                break
    minor = 0
    for c in sub + secs:
        if c >= major:
            break
        if major % c == 0 and c * zoom >= MIN_MINOR_PX and major // c <= 10:
            minor = c
            break
    return Ticks(major, minor, with_frames)


def label(frame: int, fps: Fraction, with_frames: bool) -> str:
    tc = timecode(frame, fps)
    return tc if with_frames else tc[:-3]


def paint_ruler(
    p: QPainter,
    rect: QRectF,
    *,
    first: int,
    last: int,
    fps: Fraction,
    x_of_frame,
    zoom: float,
    frame_count: int,
) -> None:
    """Ticks and labels for frames ``first..last`` (inclusive) inside ``rect`` (already clipped)."""
    p.fillRect(rect, style.PANEL)
    fm = QFontMetrics(p.font())
    long_px = fm.horizontalAdvance("00:00:00:00")
    short_px = fm.horizontalAdvance("00:00:00")
    ticks = choose_ticks(zoom, fps, long_px, short_px)
    bottom = rect.bottom()
    end = min(last, frame_count)  # a tick may sit on the end boundary of the last frame

    minor_lines: list[QLineF] = []
    if ticks.minor:
        f = (first // ticks.minor) * ticks.minor
        while f <= end:
            if f % ticks.major:
                x = round(x_of_frame(f)) + 0.5
                minor_lines.append(QLineF(x, bottom - 5, x, bottom))
            f += ticks.minor
    p.setPen(style.MUTED_TEXT.darker(140))
    if minor_lines:
        p.drawLines(minor_lines)

    # Labels start left of the range so the one whose tick is just off-screen still shows.
    f = max(0, (first // ticks.major - 1) * ticks.major)
    major_lines: list[QLineF] = []
    text_y = rect.top() + fm.ascent() + 3
    p.setPen(style.TEXT)
    while f <= end:
        x = round(x_of_frame(f)) + 0.5
        major_lines.append(QLineF(x, bottom - 11, x, bottom))
        p.drawText(QPointF(x + 4, text_y), label(f, fps, ticks.with_frames))
        f += ticks.major
    p.setPen(style.MUTED_TEXT)
    if major_lines:
        p.drawLines(major_lines)
    p.setPen(style.GRID)
    p.drawLine(QLineF(rect.left(), bottom + 0.5, rect.right(), bottom + 0.5))


IN_OUT_FILL = QColor(76, 110, 245, 70)
IN_OUT_EDGE = QColor("#748ffc")


def paint_in_out(p: QPainter, rect: QRectF, x_in: float | None, x_out: float | None) -> None:
    """The in/out range on the ruler ``rect``: a shaded band from ``x_in`` (the left edge of the in
    frame) to ``x_out`` (the right edge of the out frame), with a bracket at each mark that is set."""
    left = rect.left() if x_in is None else max(rect.left(), x_in)
    right = rect.right() + 1 if x_out is None else min(rect.right() + 1, x_out)
    if right > left:
        p.fillRect(QRectF(left, rect.top(), right - left, rect.height()), IN_OUT_FILL)
    p.setPen(IN_OUT_EDGE)
    top, bottom = rect.top() + 1, rect.bottom()
    for x, sign in ((x_in, 1), (x_out, -1)):
        if x is None:
            continue
        x = math.floor(x) + (0.5 if sign > 0 else -0.5)
        p.drawLine(QLineF(x, top, x, bottom))
        p.drawLine(QLineF(x, top, x + 5 * sign, top))
        p.drawLine(QLineF(x, bottom, x + 5 * sign, bottom))


def paint_playhead(p: QPainter, x: float, top: float, bottom: float, zoom: float, ruler_h: float) -> None:
    """The playhead: a shaded frame cell when zoomed in, a handle in the ruler and a line down."""
    x = math.floor(x) + 0.5
    color = style.PLAYHEAD_COLOR
    if zoom >= 6:
        cell = QColor(color)
        cell.setAlpha(40)
        p.fillRect(QRectF(x, top, zoom, bottom - top), cell)
    p.setPen(color)
    p.drawLine(QLineF(x, top, x, bottom))
    handle = QPolygonF([QPointF(x - 6, top + ruler_h - 12), QPointF(x + 6, top + ruler_h - 12),
                        QPointF(x + 6, top + ruler_h - 6), QPointF(x, top + ruler_h),
                        QPointF(x - 6, top + ruler_h - 6)])
    p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    p.setBrush(color)
    p.setPen(Qt.PenStyle.NoPen)
    p.drawPolygon(handle)
    p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
    p.setBrush(Qt.BrushStyle.NoBrush)
