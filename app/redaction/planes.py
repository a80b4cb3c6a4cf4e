"""A frame as a list of numpy planes, so redaction can work in the video's own pixel format.

Redacting in the native format (YUV 4:2:0, 4:2:2, 4:4:4, 8 or 10 bit, NV12, packed RGB, gray) means
no full-frame colour conversion: pixels outside every mask stay bit-identical to the decoded
input, and only the small regions under masks are touched. A BGR numpy image (a photo, the
editor's preview) is the one-plane case.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Plane:
    """One plane of a frame: ``data`` is (h, w) or (h, w, c), writable.

    ``sx, sy`` is the plane's subsampling relative to the frame's pixel grid (2, 2 for 4:2:0 chroma).
    ``channels`` names what each channel holds: "Y", "U", "V", "R", "G", "B", "A".
    """

    data: np.ndarray
    sx: int
    sy: int
    channels: str


@dataclass
class PlaneImage:
    planes: list[Plane]
    width: int
    height: int
    full_range: bool = True  # YUV only: full (0-255) or limited (16-235) range
    bt709: bool = False  # YUV only: BT.709 matrix, else BT.601
    bits: int = 8

    @property
    def align(self) -> tuple[int, int]:
        """Regions are aligned to this grid so that subsampled planes line up exactly."""
        return max(p.sx for p in self.planes), max(p.sy for p in self.planes)

    @classmethod
    def from_bgr(cls, image: np.ndarray) -> PlaneImage:
        if image.ndim == 2:
            return cls([Plane(image, 1, 1, "Y")], image.shape[1], image.shape[0])
        chans = {3: "BGR", 4: "BGRA"}[image.shape[2]]
        return cls([Plane(image, 1, 1, chans)], image.shape[1], image.shape[0])

    def fill_value(self, plane: Plane, rgb: tuple[int, int, int]) -> np.ndarray:
        """The value a solid ``rgb`` colour takes in ``plane``, per channel."""
        maxval = (1 << self.bits) - 1
        r, g, b = (c / 255.0 for c in rgb)
        if self.bt709:
            kr, kb = 0.2126, 0.0722
        else:
            kr, kb = 0.299, 0.114
        y = kr * r + (1 - kr - kb) * g + kb * b
        u = (b - y) / (2 * (1 - kb))
        v = (r - y) / (2 * (1 - kr))
        scale = maxval / 255.0
        if self.full_range:
            yy, uu, vv = y * 255, 128 + u * 255, 128 + v * 255
        else:
            yy, uu, vv = 16 + y * 219, 128 + u * 224, 128 + v * 224
        table = {
            "Y": yy * scale,
            "U": uu * scale,
            "V": vv * scale,
            "R": r * maxval,
            "G": g * maxval,
            "B": b * maxval,
            "A": maxval,
        }
        if plane.channels == "Y" and len(self.planes) == 1 and plane.data.ndim == 2:
            table["Y"] = y * maxval  # a gray image (or gray video) has no range offset worth modelling
        return np.array([table[c] for c in plane.channels], dtype=np.float32)
