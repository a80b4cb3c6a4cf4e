"""The redaction effects, on one plane region at a time.

Strength (0..100) is relative to the mask's size, so a style looks the same on a 40-px and a
400-px face:

* gaussian: sigma = 0.25 * strength/100 * the grown mask's shorter side. The default strength
  70 gives sigma = 17.5 % of the side: on a 200-px face with the default 20 % margin (280 px)
  that is sigma ~ 49 px, which leaves only blobs of colour: no eyes, nose or mouth survive.
  It is computed by downscaling (INTER_AREA), blurring at sigma ~ 2.5 px and upscaling, which looks
  the same as a full-size kernel at a small fraction of the cost.
* pixelate: the mask's shorter side is cut into 4 + 12 * (100 - strength)/100 blocks: 8 at the
  default strength, 4 at 100. Each block is the mean of its pixels.
* solid: the style's colour.
"""

from __future__ import annotations

import cv2
import numpy as np

_BLUR_SMALL_SIGMA = 2.5


def blur_sigma(strength: float, short_side: float) -> float:
    return max(1.5, 0.25 * strength / 100.0 * short_side)


def pixel_blocks(strength: float) -> float:
    return 4.0 + 12.0 * (100.0 - strength) / 100.0


def gaussian(src: np.ndarray, sigma_x: float, sigma_y: float | None = None) -> np.ndarray:
    """Blur ``src`` (h, w[, c]) with a Gaussian of ``sigma_x`` by ``sigma_y`` px.

    Large sigmas are computed at reduced size: a bilinear downscale to where sigma is ~2.5 px
    (each small pixel still averages its 2x2 neighbourhood, and the blur that follows averages
    ~40 of them, so nothing aliases visibly), a small Gaussian, and a bilinear upscale. This looks
    like the full-size kernel and costs a few percent of it.
    """
    sigma_y = sigma_x if sigma_y is None else sigma_y
    h, w = src.shape[:2]
    fx = max(1.0, sigma_x / _BLUR_SMALL_SIGMA)
    fy = max(1.0, sigma_y / _BLUR_SMALL_SIGMA)
    if fx > 1.5 or fy > 1.5:
        sw, sh = max(2, int(round(w / fx))), max(2, int(round(h / fy)))
        small = cv2.resize(src, (sw, sh), interpolation=cv2.INTER_LINEAR)
        small = cv2.GaussianBlur(small, (0, 0), sigma_x * sw / w, sigmaY=sigma_y * sh / h,
                                 borderType=cv2.BORDER_REPLICATE)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.GaussianBlur(src, (0, 0), sigma_x, sigmaY=sigma_y, borderType=cv2.BORDER_REPLICATE)


def pixelate(src: np.ndarray, block_x: float, block_y: float | None = None) -> np.ndarray:
    """Replace ``src`` by blocks of ``block_x`` by ``block_y`` px, the grid starting at its top-left."""
    block_y = block_x if block_y is None else block_y
    h, w = src.shape[:2]
    bw, bh = max(1, int(round(w / block_x))), max(1, int(round(h / block_y)))
    # Block means: a box filter of the block size, sampled at the block centres (INTER_AREA with a
    # non-integer ratio is ~100x slower for the same result).
    kx, ky = max(1, int(round(w / bw))), max(1, int(round(h / bh)))
    box = cv2.blur(src, (kx, ky), borderType=cv2.BORDER_REPLICATE)
    cx = np.minimum(((np.arange(bw) + 0.5) * w / bw).astype(np.intp), w - 1)
    cy = np.minimum(((np.arange(bh) + 0.5) * h / bh).astype(np.intp), h - 1)
    small = box[cy][:, cx]
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)


def solid(src: np.ndarray, value: np.ndarray) -> np.ndarray:
    out = np.empty_like(src)
    out[...] = value.astype(src.dtype) if src.ndim == 3 else value[0].astype(src.dtype)
    return out


def blend_region(dst: np.ndarray, effect: np.ndarray, alpha: np.ndarray, inner=None) -> None:
    """Blend ``effect`` into ``dst``; inside ``inner`` (x0, y0, x1, y1, local coords, alpha == 1) copy."""
    if inner is None:
        blend(dst, effect, alpha)
        return
    x0, y0, x1, y1 = inner
    dst[y0:y1, x0:x1] = effect[y0:y1, x0:x1]
    for ys, xs in ((np.s_[:y0], np.s_[:]), (np.s_[y1:], np.s_[:]), (np.s_[y0:y1], np.s_[:x0]), (np.s_[y0:y1], np.s_[x1:])):
        d = dst[ys, xs]
        if d.size:
            blend(d, effect[ys, xs], alpha[ys, xs])


def blend(dst: np.ndarray, effect: np.ndarray, alpha: np.ndarray) -> None:
    """dst = dst + alpha * (effect - dst), in place, rounding to dst's integer type."""
    if dst.dtype == np.uint8:
        a = np.ascontiguousarray(alpha)
        dst[...] = cv2.blendLinear(np.ascontiguousarray(effect), np.ascontiguousarray(dst), a, 1.0 - a)
        return
    a = alpha if dst.ndim == 2 else alpha[:, :, None]
    mixed = dst.astype(np.float32)
    mixed += a * (effect.astype(np.float32) - mixed)
    np.rint(mixed, out=mixed)
    dst[...] = mixed.astype(dst.dtype)
