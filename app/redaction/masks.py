"""Shape + style -> a region of the frame and a soft alpha mask over it.

The margin grows the shape on every side by ``margin`` % of its width (left, right) and height
(top, bottom). The feather is a soft edge added *outside* the grown shape (``feather`` % of its
shorter side), so the core is always covered at full strength and the feather only softens the
surroundings, never the face itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from app.core.shapes import Shape, ShapeKind
from app.core.style import RedactionStyle

_SHIFT = 4  # sub-pixel bits for cv2 drawing
_ONE = 1 << _SHIFT


@dataclass
class MaskRegion:
    """``alpha`` (float32, 0..1) covers frame pixels [y0:y1, x0:x1]. ``core`` is the grown shape's bbox."""

    x0: int
    y0: int
    x1: int
    y1: int
    alpha: np.ndarray
    core: tuple[float, float, float, float]

    @property
    def short_side(self) -> float:
        return max(1.0, min(self.core[2] - self.core[0], self.core[3] - self.core[1]))


def grown_points(shape: Shape, margin: float) -> np.ndarray:
    """The shape's defining points after the margin is applied (float64, N x 2)."""
    x1, y1, x2, y2 = shape.bbox
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    k = 1.0 + 2.0 * margin / 100.0
    pts = np.asarray(shape.points, dtype=np.float64)
    return np.stack([cx + (pts[:, 0] - cx) * k, cy + (pts[:, 1] - cy) * k], axis=1)


def build_mask(
    shape: Shape, style: RedactionStyle, width: int, height: int, align: tuple[int, int] = (2, 2)
) -> MaskRegion | None:
    """The soft mask of ``shape`` with ``style``'s margin and feather, clipped to the frame.

    Returns None when nothing of the mask falls inside the frame.
    """
    pts = grown_points(shape, style.margin)
    gx1, gy1 = pts.min(axis=0)
    gx2, gy2 = pts.max(axis=0)
    short = max(1.0, min(gx2 - gx1, gy2 - gy1))
    feather = style.feather / 100.0 * short
    pad = feather + 2
    ax, ay = align
    x0 = int(np.floor(max(0.0, gx1 - pad) / ax) * ax)
    y0 = int(np.floor(max(0.0, gy1 - pad) / ay) * ay)
    x1 = int(min(width, np.ceil(min(float(width), gx2 + pad) / ax) * ax))
    y1 = int(min(height, np.ceil(min(float(height), gy2 + pad) / ay) * ay))
    if x1 - x0 < 1 or y1 - y0 < 1:
        return None
    h, w = y1 - y0, x1 - x0
    hard = np.zeros((h, w), np.uint8)
    local = pts - (x0, y0)
    if shape.kind == ShapeKind.ELLIPSE:
        (ex1, ey1), (ex2, ey2) = local[0], local[1]
        center = (int(round((ex1 + ex2) / 2 * _ONE)), int(round((ey1 + ey2) / 2 * _ONE)))
        axes = (int(round(abs(ex2 - ex1) / 2 * _ONE)), int(round(abs(ey2 - ey1) / 2 * _ONE)))
        cv2.ellipse(hard, center, axes, 0, 0, 360, 255, -1, cv2.LINE_AA, _SHIFT)
    else:
        if shape.kind == ShapeKind.RECT:
            (rx1, ry1), (rx2, ry2) = local[0], local[1]
            local = np.array([[rx1, ry1], [rx2, ry1], [rx2, ry2], [rx1, ry2]])
        poly = np.round(local * _ONE).astype(np.int32).reshape(-1, 1, 2)
        cv2.fillPoly(hard, [poly], 255, cv2.LINE_AA, _SHIFT)
    if not hard.any():
        return None
    if feather >= 1.0:
        # Linear ramp from 1 at the grown shape's edge to 0 at `feather` px outside it.
        outside = cv2.distanceTransform((hard < 128).astype(np.uint8), cv2.DIST_L2, 3)
        alpha = np.clip(1.0 - outside / feather, 0.0, 1.0).astype(np.float32)
        # smoothstep for a softer look; keeps exact 1 inside and 0 far away
        alpha = alpha * alpha * (3.0 - 2.0 * alpha)
    else:
        alpha = hard.astype(np.float32) / 255.0
    return MaskRegion(x0, y0, x1, y1, alpha, (float(gx1), float(gy1), float(gx2), float(gy2)))
