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

    Large sigmas go through downscale (INTER_AREA), a small blur and upscale (INTER_LINEAR).
    """
    sigma_y = sigma_x if sigma_y is None else sigma_y
    h, w = src.shape[:2]
    fx = max(1.0, sigma_x / _BLUR_SMALL_SIGMA)
    fy = max(1.0, sigma_y / _BLUR_SMALL_SIGMA)
    if fx > 1.0 or fy > 1.0:
        sw, sh = max(1, int(round(w / fx))), max(1, int(round(h / fy)))
        small = cv2.resize(src, (sw, sh), interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (0, 0), sigma_x / fx, sigmaY=sigma_y / fy, borderType=cv2.BORDER_REPLICATE)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.GaussianBlur(src, (0, 0), sigma_x, sigmaY=sigma_y, borderType=cv2.BORDER_REPLICATE)


def pixelate(src: np.ndarray, block_x: float, block_y: float | None = None) -> np.ndarray:
    """Replace ``src`` by blocks of ``block_x`` by ``block_y`` px, the grid starting at its top-left."""
    block_y = block_x if block_y is None else block_y
    h, w = src.shape[:2]
    bw, bh = max(1, int(round(w / block_x))), max(1, int(round(h / block_y)))
    small = cv2.resize(src, (bw, bh), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)


def solid(src: np.ndarray, value: np.ndarray) -> np.ndarray:
    out = np.empty_like(src)
    out[...] = value.astype(src.dtype) if src.ndim == 3 else value[0].astype(src.dtype)
    return out


def blend(dst: np.ndarray, effect: np.ndarray, alpha: np.ndarray) -> None:
    """dst = dst + alpha * (effect - dst), in place, rounding to dst's integer type."""
    if alpha.min() >= 1.0:
        dst[...] = effect
        return
    a = alpha if dst.ndim == 2 else alpha[:, :, None]
    mixed = dst.astype(np.float32)
    mixed += a * (effect.astype(np.float32) - mixed)
    np.rint(mixed, out=mixed)
    dst[...] = mixed.astype(dst.dtype)
