"""Geometry for editing shapes in the viewport: handles, resizing, moving a vertex (no Qt widgets).

Everything is in source pixels (the viewport's scene coordinates). Handles are named ``tl``, ``t``,
``tr``, ``r``, ``br``, ``b``, ``bl``, ``l`` (the bounding box's corners and edge midpoints) and
``p0``, ``p1``, ... (a polygon's vertices).
"""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.core.shapes import Shape, ShapeKind

TOOLS = ("select", "rect", "ellipse", "polygon")
MIN_SIZE = 2.0  # px: a resized shape keeps at least this width and height
BOX_HANDLES = ("tl", "t", "tr", "r", "br", "b", "bl", "l")
# Which bbox edges a handle drags: (x edge, y edge), 0 = left/top, 1 = right/bottom, None = neither.
_EDGES = {"tl": (0, 0), "t": (None, 0), "tr": (1, 0), "r": (1, None),
          "br": (1, 1), "b": (None, 1), "bl": (0, 1), "l": (0, None)}
_CURSORS = {"tl": Qt.CursorShape.SizeFDiagCursor, "br": Qt.CursorShape.SizeFDiagCursor,
            "tr": Qt.CursorShape.SizeBDiagCursor, "bl": Qt.CursorShape.SizeBDiagCursor,
            "t": Qt.CursorShape.SizeVerCursor, "b": Qt.CursorShape.SizeVerCursor,
            "l": Qt.CursorShape.SizeHorCursor, "r": Qt.CursorShape.SizeHorCursor}


def rounded(v: float) -> float:
    """Coordinates an operator places are kept to 1/100 px (readable project files)."""
    return round(float(v), 2)


def box_handles(shape: Shape) -> dict[str, tuple[float, float]]:
    x1, y1, x2, y2 = shape.bbox
    mx, my = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    return {"tl": (x1, y1), "t": (mx, y1), "tr": (x2, y1), "r": (x2, my),
            "br": (x2, y2), "b": (mx, y2), "bl": (x1, y2), "l": (x1, my)}


def vertex_handles(shape: Shape) -> dict[str, tuple[float, float]]:
    if shape.kind is not ShapeKind.POLYGON:
        return {}
    return {f"p{i}": p for i, p in enumerate(shape.points)}


def is_vertex(name: str) -> bool:
    return name.startswith("p")


def handle_cursor(name: str) -> Qt.CursorShape:
    return _CURSORS.get(name, Qt.CursorShape.CrossCursor)


def resize(shape: Shape, handle: str, dx: float, dy: float, min_size: float = MIN_SIZE) -> Shape:
    """``shape`` with the bbox edges that ``handle`` holds moved by (dx, dy); the opposite edges
    stay, and the box keeps at least ``min_size`` (the edge stops, it does not flip)."""
    x1, y1, x2, y2 = shape.bbox
    ex, ey = _EDGES[handle]
    if ex == 0:
        x1 = min(x1 + dx, x2 - min_size)
    elif ex == 1:
        x2 = max(x2 + dx, x1 + min_size)
    if ey == 0:
        y1 = min(y1 + dy, y2 - min_size)
    elif ey == 1:
        y2 = max(y2 + dy, y1 + min_size)
    return shape.with_bbox(rounded(x1), rounded(y1), rounded(x2), rounded(y2))


def move(shape: Shape, dx: float, dy: float) -> Shape:
    return Shape(shape.kind, tuple((rounded(x + dx), rounded(y + dy)) for x, y in shape.points))


def move_vertex(shape: Shape, index: int, dx: float, dy: float, min_size: float = MIN_SIZE) -> Shape | None:
    """The polygon with vertex ``index`` moved by (dx, dy); None when that would make it thinner
    than ``min_size`` in either direction."""
    pts = list(shape.points)
    x, y = pts[index]
    pts[index] = (rounded(x + dx), rounded(y + dy))
    out = Shape.polygon(pts)
    if out.width < min_size or out.height < min_size:
        return None
    return out


def box_from_corners(kind: str, a: tuple[float, float], b: tuple[float, float]) -> Shape:
    """A rect or ellipse drawn from corner ``a`` to corner ``b`` (any direction)."""
    pts = ((rounded(a[0]), rounded(a[1])), (rounded(b[0]), rounded(b[1])))
    return Shape(ShapeKind(kind), pts)
