"""Apply a list of masks (shape + style) to a frame: the one renderer used by export and preview."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from app.core.shapes import Shape
from app.core.style import RedactionMethod, RedactionStyle
from app.redaction import effects
from app.redaction.masks import MaskRegion, build_mask
from app.redaction.planes import PlaneImage


def redact(image: PlaneImage, masks: Iterable[tuple[Shape, RedactionStyle]]) -> int:
    """Redact ``image`` in place. Returns the number of masks that touched the frame."""
    ax, ay = image.align
    done = 0
    for shape, style in masks:
        region = build_mask(shape, style, image.width, image.height, (ax, ay))
        if region is None:
            continue
        _apply(image, region, style)
        done += 1
    return done


def redact_bgr(bgr: np.ndarray, masks: Iterable[tuple[Shape, RedactionStyle]]) -> np.ndarray:
    """A redacted copy of a BGR (or BGRA, or gray) numpy image."""
    out = np.ascontiguousarray(bgr).copy()
    redact(PlaneImage.from_bgr(out), masks)
    return out


def _context_box(image: PlaneImage, r: MaskRegion, pad: float) -> tuple[int, int, int, int]:
    ax, ay = image.align
    x0 = int(max(0, np.floor((r.x0 - pad) / ax) * ax))
    y0 = int(max(0, np.floor((r.y0 - pad) / ay) * ay))
    x1 = int(min(image.width, np.ceil((r.x1 + pad) / ax) * ax))
    y1 = int(min(image.height, np.ceil((r.y1 + pad) / ay) * ay))
    return x0, y0, x1, y1


def _apply(image: PlaneImage, r: MaskRegion, style: RedactionStyle) -> None:
    short = r.short_side
    method = RedactionMethod(style.method)
    if method == RedactionMethod.GAUSSIAN:
        sigma = effects.blur_sigma(style.strength, short)
        cx0, cy0, cx1, cy1 = _context_box(image, r, 2.0 * sigma)
    else:
        cx0, cy0, cx1, cy1 = r.x0, r.y0, r.x1, r.y1
    for plane in image.planes:
        sx, sy = plane.sx, plane.sy
        px0, py0, px1, py1 = r.x0 // sx, r.y0 // sy, -(-r.x1 // sx), -(-r.y1 // sy)
        px1, py1 = min(px1, plane.data.shape[1]), min(py1, plane.data.shape[0])
        if px1 <= px0 or py1 <= py0:
            continue
        dst = plane.data[py0:py1, px0:px1]
        alpha = r.alpha_for(sx, sy, dst.shape[0], dst.shape[1])
        inner = None
        if r.inner is not None:
            ix0, iy0, ix1, iy1 = r.inner
            inner = (ix0 // sx - px0, iy0 // sy - py0, ix1 // sx - px0, iy1 // sy - py0)
        if method == RedactionMethod.GAUSSIAN:
            qx0, qy0, qx1, qy1 = cx0 // sx, cy0 // sy, -(-cx1 // sx), -(-cy1 // sy)
            ctx = plane.data[qy0:qy1, qx0:qx1]
            blurred = effects.gaussian(ctx, sigma / sx, sigma / sy)
            effect = blurred[py0 - qy0 : py1 - qy0, px0 - qx0 : px1 - qx0]
        elif method == RedactionMethod.PIXELATE:
            block = short / effects.pixel_blocks(style.strength)
            effect = effects.pixelate(dst, max(1.0, block / sx), max(1.0, block / sy))
        else:
            effect = effects.solid(dst, image.fill_value(plane, style.color))
        effects.blend_region(dst, effect, alpha, inner)
