"""Shape + style -> a region of the frame and a soft alpha mask over it.

The margin grows the shape on every side by ``margin`` % of its width (left, right) and height
(top, bottom). The feather is a soft edge added *outside* the grown shape (``feather`` % of its
shorter side), so the core is always covered at full strength and the feather only softens the
surroundings, never the face itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    inner: tuple[int, int, int, int] | None = None  # frame box where alpha == 1 (aligned), if known
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def short_side(self) -> float:
        return max(1.0, min(self.core[2] - self.core[0], self.core[3] - self.core[1]))

    def alpha_for(self, sx: int, sy: int, h: int, w: int) -> np.ndarray:
        """The alpha sampled for a plane subsampled by (sx, sy), shaped (h, w), contiguous."""
        key = (sx, sy, h, w)
        a = self._cache.get(key)
        if a is None:
            a = self.alpha
            if (sx, sy) != (1, 1):
                a = a[sy // 2 :: sy, sx // 2 :: sx]
            a = a[:h, :w]
            if a.shape != (h, w):
                a = cv2.resize(self.alpha, (w, h), interpolation=cv2.INTER_LINEAR)
            a = np.ascontiguousarray(a, dtype=np.float32)
            self._cache[key] = a
        return a


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
    local = pts - (x0, y0)
    if shape.kind == ShapeKind.RECT:
        alpha = _rect_alpha(w, h, local, feather)
    elif shape.kind == ShapeKind.ELLIPSE:
        alpha = _ellipse_alpha(w, h, local, feather)
    else:
        alpha = _polygon_alpha(w, h, local, feather)
    if alpha is None:
        return None
    inner = _inner_box(shape, pts, (x0, y0, x1, y1), align)
    return MaskRegion(x0, y0, x1, y1, alpha, (float(gx1), float(gy1), float(gx2), float(gy2)), inner)


def _inner_box(shape: Shape, pts: np.ndarray, roi, align) -> tuple[int, int, int, int] | None:
    """A box of whole pixels (aligned inward to the plane grid) that lies fully inside the shape."""
    if shape.kind == ShapeKind.RECT:
        (bx1, by1), (bx2, by2) = pts[0], pts[1]
    elif shape.kind == ShapeKind.ELLIPSE:
        (ex1, ey1), (ex2, ey2) = pts[0], pts[1]
        cx, cy = (ex1 + ex2) / 2, (ey1 + ey2) / 2
        hw, hh = abs(ex2 - ex1) / 2 / np.sqrt(2) - 1, abs(ey2 - ey1) / 2 / np.sqrt(2) - 1
        bx1, by1, bx2, by2 = cx - hw, cy - hh, cx + hw, cy + hh
    else:
        return None
    ax, ay = align
    ix0 = int(np.ceil(np.ceil(max(bx1, roi[0])) / ax) * ax)
    iy0 = int(np.ceil(np.ceil(max(by1, roi[1])) / ay) * ay)
    ix1 = int(np.floor(np.floor(min(bx2, roi[2])) / ax) * ax)
    iy1 = int(np.floor(np.floor(min(by2, roi[3])) / ay) * ay)
    return (ix0, iy0, ix1, iy1) if ix1 > ix0 and iy1 > iy0 else None


def _ramp(d: np.ndarray, feather: float) -> np.ndarray:
    """1 for d <= 0 (inside), smoothstep down to 0 at d >= feather; hard edge when feather < 1."""
    if feather < 1.0:
        return np.clip(0.5 - d, 0.0, 1.0).astype(np.float32)  # 1-px anti-aliased edge
    t = np.clip(1.0 - d / feather, 0.0, 1.0).astype(np.float32)
    return t * t * (3.0 - 2.0 * t)


def _rect_alpha(w: int, h: int, local: np.ndarray, feather: float) -> np.ndarray | None:
    """Separable: the outer product of two 1-D ramps (rounded feathered corners)."""
    (rx1, ry1), (rx2, ry2) = local[0], local[1]
    xs = np.arange(w, dtype=np.float32) + 0.5
    ys = np.arange(h, dtype=np.float32) + 0.5
    ax = _ramp(np.maximum(rx1 - xs, xs - rx2), feather)
    ay = _ramp(np.maximum(ry1 - ys, ys - ry2), feather)
    if not ax.any() or not ay.any():
        return None
    return np.outer(ay, ax)


def _ellipse_alpha(w: int, h: int, local: np.ndarray, feather: float) -> np.ndarray | None:
    (ex1, ey1), (ex2, ey2) = local[0], local[1]
    cx, cy = (ex1 + ex2) / 2, (ey1 + ey2) / 2
    a, b = max(0.5, abs(ex2 - ex1) / 2), max(0.5, abs(ey2 - ey1) / 2)
    xs = ((np.arange(w, dtype=np.float32) + 0.5 - cx) / a) ** 2
    ys = ((np.arange(h, dtype=np.float32) + 0.5 - cy) / b) ** 2
    r = np.sqrt(ys[:, None] + xs[None, :])
    # Distance outside the ellipse, approximated along the radius (exact on the axes).
    d = (r - 1.0) * min(a, b)
    alpha = _ramp(d, feather)
    return alpha if alpha.any() else None


def _polygon_alpha(w: int, h: int, local: np.ndarray, feather: float) -> np.ndarray | None:
    hard = np.zeros((h, w), np.uint8)
    poly = np.round(local * _ONE).astype(np.int32).reshape(-1, 1, 2)
    cv2.fillPoly(hard, [poly], 255, cv2.LINE_AA, _SHIFT)
    if not hard.any():
        return None
    if feather < 1.0:
        return hard.astype(np.float32) / 255.0
    outside = cv2.distanceTransform((hard < 128).astype(np.uint8), cv2.DIST_L2, 3)
    return _ramp(outside, feather)
