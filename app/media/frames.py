"""Views of a decoded PyAV frame as writable numpy planes, for redaction in the native format."""

from __future__ import annotations

from dataclasses import dataclass

import av
import numpy as np

from app.core.shapes import Shape, ShapeKind
from app.redaction.planes import Plane, PlaneImage

# Packed formats: one plane, channel order as named.
_PACKED = {
    "rgb24": "RGB",
    "bgr24": "BGR",
    "rgba": "RGBA",
    "bgra": "BGRA",
    "argb": "ARGB",
    "abgr": "ABGR",
    "rgb0": "RGB",  # the 4th byte is padding; treated as a colour byte that is never read
    "bgr0": "BGR",
    "gray": "Y",
    "gray10le": "Y",
    "gray12le": "Y",
    "gray16le": "Y",
}
_PLANAR_RGB = {"gbrp": "GBR", "gbrp10le": "GBR", "gbrp12le": "GBR", "gbrp16le": "GBR", "gbrap": "GBRA"}
_SEMI_PLANAR = {"nv12": "UV", "nv21": "VU", "nv16": "UV", "p010le": "UV", "nv20le": "UV"}
_YUV_PLANAR_PREFIXES = ("yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "yuva420p")


def native_format_supported(fmt: str) -> bool:
    return (
        fmt in _PACKED
        or fmt in _PLANAR_RGB
        or fmt in _SEMI_PLANAR
        or (fmt.startswith(_YUV_PLANAR_PREFIXES) and (fmt.endswith("p") or fmt.endswith("le")))
    )


def fallback_format(frame: av.VideoFrame) -> str:
    """Format to convert an unusual frame (pal8, big-endian, bayer...) to before redaction."""
    bits = max((c.bits for c in frame.format.components), default=8)
    if frame.format.is_rgb or frame.format.name.startswith("pal"):
        return "rgb24" if bits <= 8 else "gbrp16le"
    return "yuv444p" if bits <= 8 else "yuv444p16le"


def plane_image(frame: av.VideoFrame) -> PlaneImage:
    """Writable numpy views of ``frame``'s planes. Call ``frame.make_writable()`` first."""
    fmt = frame.format.name
    bits = max((c.bits for c in frame.format.components), default=8)
    dtype = np.uint8 if bits <= 8 else np.dtype("<u2")
    itemsize = np.dtype(dtype).itemsize
    w, h = frame.width, frame.height
    planes: list[Plane] = []

    def view(i: int, pw: int, ph: int, ch: int) -> np.ndarray:
        p = frame.planes[i]
        arr = np.frombuffer(p, dtype=dtype)
        stride = p.line_size // itemsize
        arr = arr[: stride * ph].reshape(ph, stride)[:, : pw * ch]
        return arr.reshape(ph, pw, ch) if ch > 1 else arr

    if fmt in _PACKED:
        chans = _PACKED[fmt]
        data = view(0, w, h, 4 if fmt.endswith("0") else len(chans))
        if fmt.endswith("0"):
            data = data[:, :, :3]
        planes.append(Plane(data, 1, 1, chans))
    elif fmt in _PLANAR_RGB:
        for i, c in enumerate(_PLANAR_RGB[fmt]):
            planes.append(Plane(view(i, w, h, 1), 1, 1, c))
    elif fmt in _SEMI_PLANAR:
        planes.append(Plane(view(0, w, h, 1), 1, 1, "Y"))
        cp = frame.planes[1]
        sx, sy = _ratio(w, cp.width), _ratio(h, cp.height)
        planes.append(Plane(view(1, -(-w // sx), -(-h // sy), 2), sx, sy, _SEMI_PLANAR[fmt]))
    else:
        names = "YUVA"
        for i, p in enumerate(frame.planes):
            sx, sy = _ratio(w, p.width), _ratio(h, p.height)
            planes.append(Plane(view(i, p.width, p.height, 1), sx, sy, names[i]))
    full = fmt.startswith("yuvj") or int(frame.color_range or 0) == 2
    bt709 = int(frame.colorspace or 0) == 1 or (int(frame.colorspace or 0) in (0, 2) and h >= 720)
    if frame.format.is_rgb or fmt.startswith("gray"):
        full = True
    return PlaneImage(planes, w, h, full_range=full, bt709=bt709, bits=bits)


def _ratio(full: int, part: int) -> int:
    return max(1, int(round(full / max(1, part))))


# -- display rotation ---------------------------------------------------------------------------
# A video's display matrix (``VideoInfo.rotation``, counter-clockwise degrees as PyAV reports it)
# says how to turn the coded frame to show it upright; a phone's portrait clip is usually stored
# as a landscape frame with 270 (90 clockwise). Obscura keeps every shape in the coded frame's
# pixels and the export keeps the tag (players show the redacted output upright); the detectors
# look at the upright picture, the way the operator sees it and the way they were trained.


def quarter_turns(rotation: int) -> int:
    return int(round((rotation or 0) / 90.0)) % 4


def upright(image: np.ndarray, rotation: int) -> np.ndarray:
    """``image`` (a coded frame, rows first) as it is shown: turned ``rotation`` degrees
    counter-clockwise, in quarter turns."""
    k = quarter_turns(rotation)
    return np.ascontiguousarray(np.rot90(image, k)) if k else image


def points_to_coded(points: np.ndarray, rotation: int, width: int, height: int) -> np.ndarray:
    """Points (..., 2) on the upright picture of a ``width`` x ``height`` coded frame, in the coded
    frame's pixels (continuous coordinates: pixel edges map to pixel edges)."""
    k = quarter_turns(rotation)
    p = np.asarray(points, dtype=np.float32)
    if not k:
        return p
    x, y = p[..., 0], p[..., 1]
    if k == 1:
        xc, yc = width - y, x
    elif k == 2:
        xc, yc = width - x, height - y
    else:
        xc, yc = y, height - x
    return np.stack([xc, yc], axis=-1).astype(np.float32)


def points_to_upright(points: np.ndarray, rotation: int, width: int, height: int) -> np.ndarray:
    """The inverse of :func:`points_to_coded`: points of a ``width`` x ``height`` coded frame, on
    its upright picture."""
    k = quarter_turns(rotation)
    p = np.asarray(points, dtype=np.float32)
    if not k:
        return p
    xc, yc = p[..., 0], p[..., 1]
    if k == 1:
        x, y = yc, width - xc
    elif k == 2:
        x, y = width - xc, height - yc
    else:
        x, y = height - yc, xc
    return np.stack([x, y], axis=-1).astype(np.float32)


@dataclass(frozen=True)
class Orientation:
    """How a ``width`` x ``height`` coded frame is shown: its display rotation in quarter turns.

    Tracks and masks stay in the coded frame's pixels (the project's coordinates); what the
    operator sees, and draws on, is the upright picture. These turn pictures, shapes and
    movements between the two, exactly (quarter turns keep pixel edges on pixel edges)."""

    rotation: int = 0
    width: int = 0
    height: int = 0

    @classmethod
    def of(cls, info) -> Orientation:
        """A video's (anything with ``rotation``, ``width`` and ``height``; None: no turn)."""
        return cls() if info is None else cls(info.rotation, info.width, info.height)

    @property
    def turns(self) -> int:
        return quarter_turns(self.rotation)

    @property
    def upright_size(self) -> tuple[int, int]:
        return (self.height, self.width) if self.turns % 2 else (self.width, self.height)

    def image(self, coded: np.ndarray) -> np.ndarray:
        """A coded frame (rows first) as it is shown."""
        return upright(coded, self.rotation)

    def _map(self, shape: Shape, fn) -> Shape:
        if not self.turns:
            return shape
        pts = fn(np.asarray(shape.points, np.float64), self.rotation, self.width, self.height)
        pts = [(float(x), float(y)) for x, y in pts.tolist()]
        if shape.kind is ShapeKind.POLYGON:
            return Shape.polygon(pts)
        (ax, ay), (bx, by) = pts  # a box's two corners: turned, they are other corners
        return Shape(shape.kind, ((min(ax, bx), min(ay, by)), (max(ax, bx), max(ay, by))))

    def shape_upright(self, shape: Shape) -> Shape:
        """A shape in coded pixels, as it lies on the upright picture."""
        return self._map(shape, points_to_upright)

    def shape_coded(self, shape: Shape) -> Shape:
        """A shape drawn on the upright picture, in coded pixels."""
        return self._map(shape, points_to_coded)

    def vector_coded(self, dx: float, dy: float) -> tuple[float, float]:
        """A movement on the upright picture (a nudge to the right: (1, 0)) in coded pixels."""
        a, b = points_to_coded(np.array([[0.0, 0.0], [dx, dy]], np.float64), self.rotation, self.width, self.height)
        return float(b[0] - a[0]), float(b[1] - a[1])


def boxes_to_coded(xyxy: np.ndarray, rotation: int, width: int, height: int) -> np.ndarray:
    """Boxes (N, 4) on the upright picture, as boxes in the coded frame's pixels."""
    b = np.asarray(xyxy, dtype=np.float32).reshape(-1, 4)
    if not quarter_turns(rotation) or not len(b):
        return b
    a = points_to_coded(b[:, 0:2], rotation, width, height)
    c = points_to_coded(b[:, 2:4], rotation, width, height)
    return np.concatenate([np.minimum(a, c), np.maximum(a, c)], axis=1)
