"""Redaction shapes in source-pixel coordinates.

A :class:`Shape` is immutable. Rectangles and ellipses are stored as their bounding box, two
points ``((x1, y1), (x2, y2))`` normalised so ``x1 <= x2`` and ``y1 <= y2``; an ellipse is the one
inscribed in that box. Polygons keep their vertices in order (at least three).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

Point = tuple[float, float]


class ShapeKind(StrEnum):
    RECT = "rect"
    ELLIPSE = "ellipse"
    POLYGON = "polygon"


def _coord(value: Any) -> float:
    if type(value) is not float:  # fast path for the common case; subclasses checked below
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"shape coordinate must be a number, got {value!r}")
        value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"shape coordinate must be finite, got {value!r}")
    return value


def _point(p: Any) -> Point:
    if not isinstance(p, tuple | list) or len(p) != 2:
        raise ValueError(f"shape point must be an (x, y) pair, got {p!r}")
    return (_coord(p[0]), _coord(p[1]))


@dataclass(frozen=True)
class Shape:
    kind: ShapeKind
    points: tuple[Point, ...]

    def __post_init__(self) -> None:
        kind = self.kind
        if type(kind) is not ShapeKind:
            try:
                kind = ShapeKind(kind)
            except ValueError:
                raise ValueError(f"unknown shape kind {self.kind!r}") from None
        if not isinstance(self.points, tuple | list):
            raise ValueError(f"shape points must be a sequence of (x, y) pairs, got {self.points!r}")
        pts = tuple([_point(p) for p in self.points])
        if kind is ShapeKind.POLYGON:
            if len(pts) < 3:
                raise ValueError(f"a polygon needs at least 3 points, got {len(pts)}")
        else:
            if len(pts) != 2:
                raise ValueError(f"a {kind.value} needs exactly 2 points (its bounding box), got {len(pts)}")
            (ax, ay), (bx, by) = pts
            if ax > bx or ay > by:
                pts = ((min(ax, bx), min(ay, by)), (max(ax, bx), max(ay, by)))
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "points", pts)

    # --- constructors -------------------------------------------------------------------------

    @classmethod
    def rect(cls, x1: float, y1: float, x2: float, y2: float) -> Shape:
        return cls(ShapeKind.RECT, ((x1, y1), (x2, y2)))

    @classmethod
    def ellipse(cls, x1: float, y1: float, x2: float, y2: float) -> Shape:
        return cls(ShapeKind.ELLIPSE, ((x1, y1), (x2, y2)))

    @classmethod
    def polygon(cls, points: Iterable[Iterable[float]]) -> Shape:
        return cls(ShapeKind.POLYGON, tuple(tuple(p) for p in points))  # type: ignore[arg-type]

    # --- geometry -----------------------------------------------------------------------------

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """``(x1, y1, x2, y2)`` with ``x1 <= x2`` and ``y1 <= y2``."""
        if self.kind is not ShapeKind.POLYGON:
            (x1, y1), (x2, y2) = self.points
            return (x1, y1, x2, y2)
        xs = [p[0] for p in self.points]
        ys = [p[1] for p in self.points]
        return (min(xs), min(ys), max(xs), max(ys))

    @property
    def width(self) -> float:
        x1, _, x2, _ = self.bbox
        return x2 - x1

    @property
    def height(self) -> float:
        _, y1, _, y2 = self.bbox
        return y2 - y1

    @property
    def center(self) -> Point:
        x1, y1, x2, y2 = self.bbox
        return ((x1 + x2) / 2.0, (y1 + y2) / 2.0)

    def translated(self, dx: float, dy: float) -> Shape:
        return Shape(self.kind, tuple((x + dx, y + dy) for x, y in self.points))

    def with_bbox(self, x1: float, y1: float, x2: float, y2: float) -> Shape:
        """This shape moved and scaled so its bounding box becomes ``(x1, y1, x2, y2)``.

        Polygon vertices keep their relative position inside the box; a polygon with zero width
        (or height) is placed on the middle of the new box along that axis.
        """
        if self.kind is not ShapeKind.POLYGON:
            return Shape(self.kind, ((x1, y1), (x2, y2)))
        nx1, nx2 = min(x1, x2), max(x1, x2)
        ny1, ny2 = min(y1, y2), max(y1, y2)
        ox1, oy1, ox2, oy2 = self.bbox
        ow, oh = ox2 - ox1, oy2 - oy1

        def fx(x: float) -> float:
            return nx1 + (x - ox1) / ow * (nx2 - nx1) if ow > 0 else (nx1 + nx2) / 2.0

        def fy(y: float) -> float:
            return ny1 + (y - oy1) / oh * (ny2 - ny1) if oh > 0 else (ny1 + ny2) / 2.0

        return Shape(ShapeKind.POLYGON, tuple((fx(x), fy(y)) for x, y in self.points))

    # --- serialisation ------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "points": [[x, y] for x, y in self.points]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Shape:
        """Inverse of :meth:`to_dict`; raises ValueError on malformed input."""
        if not isinstance(d, dict):
            raise ValueError(f"shape must be an object, got {type(d).__name__}")
        if "kind" not in d or "points" not in d:
            raise ValueError("shape needs 'kind' and 'points'")
        return cls(d["kind"], d["points"])


def _unchecked(kind: ShapeKind, points: tuple[Point, ...]) -> Shape:
    """Build a Shape from already-valid, already-normalised points, skipping validation."""
    shape = object.__new__(Shape)
    object.__setattr__(shape, "kind", kind)
    object.__setattr__(shape, "points", points)
    return shape


def lerp_shape(a: Shape, b: Shape, t: float) -> Shape:
    """Shape a fraction ``t`` of the way from ``a`` (t=0) to ``b`` (t=1).

    Same kind and point count: pointwise linear interpolation. Polygons with different point
    counts: the bounding box is interpolated and ``a`` is fitted into it. Different kinds cannot
    be blended, so ``a`` is returned unchanged (a step at ``b``'s keyframe).
    """
    if a.kind is not b.kind:
        return a
    if len(a.points) == len(b.points):
        s = 1.0 - t
        pts = tuple(
            (ax * s + bx * t, ay * s + by * t) for (ax, ay), (bx, by) in zip(a.points, b.points, strict=True)
        )
        if 0.0 <= t <= 1.0:
            # Blends of valid, normalised points are valid and normalised: skip re-validation
            # (this runs for every track on every exported frame).
            return _unchecked(a.kind, pts)
        return Shape(a.kind, pts)
    ab, bb = a.bbox, b.bbox
    return a.with_bbox(*(u * (1.0 - t) + v * t for u, v in zip(ab, bb, strict=True)))
