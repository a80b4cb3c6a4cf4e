"""The "Waveform" lane: the soundtrack's loudness over time, one column per pixel (the loudest
sample of the frames under it), drawn symmetric about the lane's middle, under the thumbnails and
over the "Audio mutes" lane, so mutes and bleeps are placed where the words are. The peaks come
from :func:`app.ui.audio_samples.waveform`, computed in the background (:mod:`app.ui.waveform`)."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter

from app.ui import style
from app.ui.timeline.mutes import LABEL_BG, LANE_BG, speaker

WAVE_COLOR = QColor("#74c0fc")


def column_peaks(peaks: np.ndarray, first: int, last: int, origin: float, zoom: float, x0: int, x1: int):
    """(xs, heights 0..1) for the pixel columns ``x0..x1`` showing frames ``first..last``."""
    n = len(peaks)
    if n == 0 or last < first:
        return np.zeros(0, int), np.zeros(0, np.float32)
    xs = np.arange(x0, x1, dtype=np.int64)
    fa = np.floor((xs - origin) / zoom).astype(np.int64)  # the frame at each column's left edge
    fb = np.floor((xs + 1 - origin) / zoom).astype(np.int64)  # ... and at its right edge
    ok = (fb >= 0) & (fa < n)
    xs, fa, fb = xs[ok], np.clip(fa[ok], 0, n - 1), np.clip(fb[ok], 0, n - 1)
    if not len(xs):
        return xs, np.zeros(0, np.float32)
    if zoom >= 1.0:
        return xs, peaks[fa]
    # several frames per column: the loudest of them (the frames whose left edge lies in it)
    h = np.fromiter((peaks[a:max(a + 1, b)].max() for a, b in zip(fa.tolist(), fb.tolist(), strict=True)),
                    dtype=np.float32, count=len(xs))
    return xs, h


class WaveformPainter:
    def paint_label(self, p: QPainter, rect: QRectF, state: str) -> None:
        p.fillRect(rect, LABEL_BG)
        p.fillRect(QRectF(rect.left(), rect.top(), 4, rect.height()), WAVE_COLOR)
        speaker(p, QRectF(rect.left() + 10, rect.center().y() - 6, 14, 12), style.TEXT)
        text_rect = rect.adjusted(30, 0, -6, 0)
        p.setPen(style.TEXT)
        p.drawText(text_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, "Waveform")
        if state:
            p.setPen(style.MUTED_TEXT)
            p.drawText(text_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, state)

    def paint_lane(self, p: QPainter, rect: QRectF, peaks: np.ndarray | None, *, first: int, last: int,
                   origin: float, zoom: float, x_from: float, x_to: float) -> None:
        p.fillRect(rect, LANE_BG)
        if peaks is None or not len(peaks):
            return
        mid = rect.center().y()
        half = rect.height() / 2 - 2
        p.setPen(style.GRID)
        p.drawLine(QRectF(rect.left(), mid, rect.width(), 0).topLeft(), QRectF(rect.right(), mid, 0, 0).topLeft())
        x0, x1 = math.floor(max(rect.left(), x_from)), math.ceil(min(rect.right() + 1, x_to))
        xs, h = column_peaks(peaks, first, last, origin, zoom, x0, x1)
        if not len(xs):
            return
        p.setPen(WAVE_COLOR)
        # loudness on a square-root scale: quiet speech still shows against silence
        amp = np.sqrt(np.clip(h, 0.0, 1.0)) * half
        for x, a in zip(xs.tolist(), amp.tolist(), strict=True):
            if a >= 0.5:
                p.drawLine(x, round(mid - a), x, round(mid + a))
