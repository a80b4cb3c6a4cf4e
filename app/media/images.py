"""Photos in and out (JPEG, PNG). The output never carries EXIF, GPS, XMP, ICC or comments.

EXIF orientation is applied on read, so the pixels are upright and the stripped output still
shows the right way up.

A photo is checked before it is decoded: its content must be the JPEG or PNG that its name says
(a video named ``.jpg`` is refused with a message saying so), its header must declare a sane size
(a 40 KB PNG can declare 16384x16384 pixels, 800 MB once decoded: refused before any pixel is
allocated) and it must be complete (a cut-off JPEG decodes to a half-grey picture without
complaint; a damaged PNG makes libpng print to stderr). OpenCV's decoders print their own
warnings to stderr; those are kept off the operator's terminal and turned into one clear message.
"""

from __future__ import annotations

import contextlib
import os
import struct
import tempfile
import zlib

import numpy as np

from app.errors import CorruptMedia, InputNotFound, NotAMediaFile, OutputError, UnsupportedMedia

_WRITE_EXT = {".jpg": ".jpg", ".jpeg": ".jpg", ".png": ".png"}
MAX_SIDE = 16384  # pixels on a side
MAX_PIXELS = 100_000_000  # 100 MP (a medium-format camera); 300 MB as BGR
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers (all but DHT C4, JPG C8 and DAC CC), which carry the frame size
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def image_kind(head: bytes) -> str | None:
    """"JPEG" or "PNG" when ``head`` (a file's first bytes) starts like one, else None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(PNG_MAGIC):
        return "PNG"
    return None


def media_kind(head: bytes) -> str | None:
    """What a file that is not a photo looks like, for messages ("an MP4/MOV video"), or None."""
    if head[4:8] == b"ftyp":
        return "an MP4/MOV video" if head[8:11] != b"M4A" else "an MP4 audio file"
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip"):
        return "a QuickTime/MP4 video"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "a Matroska/WebM video"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "an AVI video"
    if head.startswith(b"\x00\x00\x01\xba"):
        return "an MPEG video"
    if head.startswith(b"GIF8"):
        return "a GIF"
    return None


def read_image(path: str) -> np.ndarray:
    """Read a JPEG or PNG as a BGR uint8 array (EXIF orientation applied)."""
    import cv2  # here, not at the top: the probe uses this module's header checks without OpenCV

    data, _kind, _size = _checked(path)
    buf = np.frombuffer(data, np.uint8)
    with _stderr_captured() as said:
        try:
            img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
        except cv2.error:
            img = None
        warnings = said.text().lower()
    if img is None or img.size == 0 or "premature end" in warnings:
        raise CorruptMedia(f"cannot decode image {path}: the file is truncated or corrupt")
    return img


def read_alpha(path: str) -> np.ndarray | None:
    """A PNG's alpha channel (uint8, 0 = transparent), oriented as :func:`read_image`'s pixels;
    None for a JPEG or a PNG without transparency. Call :func:`read_image` first (it checks the file)."""
    import cv2

    if os.path.splitext(path)[1].lower() != ".png":
        return None
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 26 or data[25] not in (4, 6) and b"tRNS" not in data[:65536]:
        return None  # colour type 4 (grey + alpha), 6 (RGBA), or a palette/colour key with tRNS
    with _stderr_captured():
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None or img.ndim != 3 or img.shape[2] != 4:
        return None
    alpha = img[..., 3]
    if alpha.dtype != np.uint8:  # 16-bit PNG: the same transparency in 8 bits
        alpha = (alpha >> 8).astype(np.uint8)
    return np.ascontiguousarray(alpha)


def check_photo(path: str) -> tuple[str, int, int]:
    """Every check :func:`read_image` makes before decoding: (kind, width, height)."""
    _data, kind, (width, height) = _checked(path)
    return kind, width, height


def photo_summary(path: str) -> dict:
    """What ``obscura probe`` prints for a photo (decoded in full, so a damaged one is refused)."""
    kind, width, height = check_photo(path)
    image = read_image(path)  # EXIF orientation applied: the size as shown
    return {"path": os.path.basename(path), "kind": "photo", "format": kind,
            "width": int(image.shape[1]), "height": int(image.shape[0]),
            **({"stored_size": f"{width}x{height}"} if (width, height) != image.shape[1::-1] else {})}


def sniff_photo(path: str) -> str:
    """"JPEG" or "PNG" for a file whose content is one; a clear ObscuraError for anything else
    (say, a video named ``.jpg``)."""
    if not os.path.exists(path):
        raise InputNotFound(f"input not found: {path}")
    if os.path.isdir(path):
        raise NotAMediaFile(f"input is a folder, not an image: {path}")
    with open(path, "rb") as f:
        head = f.read(16)
    if not head:
        raise NotAMediaFile(f"input is empty (0 bytes): {path}")
    kind = image_kind(head)
    if kind is None:
        other = media_kind(head)
        if other:
            raise NotAMediaFile(f"{path} is {other}, not a JPEG or PNG photo: give it its proper extension "
                                "(.mp4, .mov, .mkv ...) to process it as a video")
        raise NotAMediaFile(f"not a JPEG or PNG image: {path}")
    return kind


def _checked(path: str) -> tuple[bytes, str, tuple[int, int]]:
    kind = sniff_photo(path)
    with open(path, "rb") as f:
        data = f.read()
    size = image_size(data, kind, path)
    check_image_size(*size, path)
    return data, kind, size


def check_image_size(width: int, height: int, path: str) -> None:
    """Refuse a photo too large to decode safely (before a single pixel is allocated)."""
    if width <= 0 or height <= 0:
        raise CorruptMedia(f"image {path} declares a size of {width}x{height}; the file is corrupt")
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise UnsupportedMedia(
            f"image {path} declares {width}x{height} pixels ({width * height / 1e6:.0f} MP), more than the "
            f"{MAX_PIXELS // 1_000_000} MP (and {MAX_SIDE} pixels a side) that Obscura decodes")


def image_size(data: bytes, kind: str, path: str) -> tuple[int, int]:
    """(width, height) from the header, after checking that the file is complete."""
    return _png_size(data, path) if kind == "PNG" else _jpeg_size(data, path)


def _png_size(data: bytes, path: str) -> tuple[int, int]:
    """Walk the chunks (length, type, CRC): the file must end with IEND and every CRC must match."""
    truncated = CorruptMedia(f"cannot decode image {path}: the file is truncated or corrupt")
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise truncated
    width, height = struct.unpack(">II", data[16:24])
    pos = 8
    while pos + 12 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        end = pos + 12 + length
        if end > len(data):
            raise truncated
        crc = struct.unpack(">I", data[end - 4:end])[0]
        if zlib.crc32(data[pos + 4:end - 4]) & 0xFFFFFFFF != crc:
            raise CorruptMedia(f"cannot decode image {path}: its {kind.decode('latin-1')!r} chunk is corrupt "
                               "(checksum mismatch)")
        if kind == b"IEND":
            return width, height
        pos = end
    raise truncated


def _jpeg_size(data: bytes, path: str) -> tuple[int, int]:
    """Walk the marker segments to the frame header (SOF); the entropy-coded data after the first
    scan must reach an end-of-image marker."""
    corrupt = CorruptMedia(f"cannot decode image {path}: the file is truncated or corrupt")
    pos, size = 2, None
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise corrupt
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            pos += 2
            continue
        if marker == 0xD9:  # end of image before any scan
            raise corrupt
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        if length < 2 or pos + 2 + length > len(data):
            raise corrupt
        if marker in _SOF and length >= 7:
            height, width = struct.unpack(">HH", data[pos + 5:pos + 9])
            size = (width, height)
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            if size is None:
                raise corrupt
            if data.rfind(b"\xff\xd9", pos + 2 + length) < 0:
                raise corrupt
            return size
        pos += 2 + length
    raise corrupt


class _Captured:
    def __init__(self, file) -> None:
        self.file = file

    def text(self) -> str:
        """What was written so far (the first 64 KB)."""
        self.file.flush()
        self.file.seek(0)
        return self.file.read(65536).decode("utf-8", "replace")


@contextlib.contextmanager
def _stderr_captured():
    """Send what C libraries write to file descriptor 2 to a temporary file for the duration.

    libjpeg prints "Corrupt JPEG data: ..." and libpng "libpng error: ..." straight to stderr; the
    operator should see one clear message from Obscura instead."""
    with tempfile.TemporaryFile() as f:
        captured = _Captured(f)
        try:
            saved = os.dup(2)
        except OSError:  # no stderr at all (a GUI launcher): nothing to protect
            yield captured
            return
        try:
            os.dup2(f.fileno(), 2)
            yield captured
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def write_image(path: str, image: np.ndarray, quality: int = 95, alpha: np.ndarray | None = None) -> None:
    """Write ``image`` (BGR) to ``path`` as JPEG or PNG by extension. cv2 writes no metadata.
    ``alpha``: the transparency to keep (PNG only)."""
    import cv2

    ext = _WRITE_EXT.get(os.path.splitext(path)[1].lower())
    if ext is None:
        raise OutputError(f"unsupported image output type: {path} (use .jpg or .png)")
    if alpha is not None:
        if ext != ".png":
            raise OutputError(f"{os.path.basename(path)}: a JPEG cannot hold the photo's transparency (alpha): "
                              "export it to .png")
        image = np.dstack([image, alpha])
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)] if ext == ".jpg" else [cv2.IMWRITE_PNG_COMPRESSION, 3]
    ok, enc = cv2.imencode(ext, image, params)
    if not ok:
        raise OutputError(f"cannot encode image for {path}")
    with open(path, "wb") as f:
        f.write(enc.tobytes())
        f.flush()
        os.fsync(f.fileno())
