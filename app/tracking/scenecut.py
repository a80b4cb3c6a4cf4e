"""Scene-cut detection on tiny thumbnails: a cut ends every track (no mask crosses it)."""

from __future__ import annotations

import cv2
import numpy as np


class CutDetector:
    """``update(thumb)`` with a small BGR thumbnail of each consecutive frame; True on a cut.

    A cut is a large colour-histogram change (Bhattacharyya distance) together with a large
    pixel change, so a fast pan or a flash alone doesn't end the tracks.
    """

    def __init__(self, hist_threshold: float = 0.45, diff_threshold: float = 30.0):
        self.hist_threshold = hist_threshold
        self.diff_threshold = diff_threshold
        self._prev_hist = None
        self._prev_gray = None

    def update(self, thumb: np.ndarray) -> bool:
        hsv = cv2.cvtColor(thumb, cv2.COLOR_BGR2HSV)
        hist = cv2.calcHist([hsv], [0, 1, 2], None, [8, 4, 4], [0, 180, 0, 256, 0, 256])
        cv2.normalize(hist, hist)
        gray = cv2.cvtColor(thumb, cv2.COLOR_BGR2GRAY).astype(np.float32)
        cut = False
        if self._prev_hist is not None:
            d_hist = cv2.compareHist(self._prev_hist, hist, cv2.HISTCMP_BHATTACHARYYA)
            d_pix = float(np.abs(gray - self._prev_gray).mean())
            cut = d_hist > self.hist_threshold and d_pix > self.diff_threshold
        self._prev_hist, self._prev_gray = hist, gray
        return cut
