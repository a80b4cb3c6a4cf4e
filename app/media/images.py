"""Photos in and out (JPEG, PNG). The output never carries EXIF, GPS, XMP, ICC or comments.

EXIF orientation is applied on read, so the pixels are upright and the stripped output still
shows the right way up.
"""

from __future__ import annotations

import os

import cv2
import numpy as np

from app.errors import CorruptMedia, InputNotFound, NotAMediaFile, OutputError

_WRITE_EXT = {".jpg": ".jpg", ".jpeg": ".jpg", ".png": ".png"}
MAX_PIXELS = 16384 * 16384 // 2


def read_image(path: str) -> np.ndarray:
    """Read a JPEG or PNG as a BGR uint8 array (EXIF orientation applied)."""
    if not os.path.exists(path):
        raise InputNotFound(f"input not found: {path}")
    if os.path.isdir(path):
        raise NotAMediaFile(f"input is a folder, not an image: {path}")
    with open(path, "rb") as f:
        data = f.read()
    if not data:
        raise NotAMediaFile(f"input is empty (0 bytes): {path}")
    head = data[:12]
    if not (head.startswith(b"\xff\xd8\xff") or head.startswith(b"\x89PNG\r\n\x1a\n")):
        raise NotAMediaFile(f"not a JPEG or PNG image: {path}")
    buf = np.frombuffer(data, np.uint8)
    try:
        img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    except cv2.error:
        img = None
    if img is None or img.size == 0:
        raise CorruptMedia(f"cannot decode image {path}: the file is truncated or corrupt")
    return img


def write_image(path: str, image: np.ndarray, quality: int = 95) -> None:
    """Write ``image`` (BGR) to ``path`` as JPEG or PNG by extension. cv2 writes no metadata."""
    ext = _WRITE_EXT.get(os.path.splitext(path)[1].lower())
    if ext is None:
        raise OutputError(f"unsupported image output type: {path} (use .jpg or .png)")
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)] if ext == ".jpg" else [cv2.IMWRITE_PNG_COMPRESSION, 3]
    ok, enc = cv2.imencode(ext, image, params)
    if not ok:
        raise OutputError(f"cannot encode image for {path}")
    with open(path, "wb") as f:
        f.write(enc.tobytes())
        f.flush()
        os.fsync(f.fileno())
