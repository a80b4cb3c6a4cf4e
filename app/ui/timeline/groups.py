"""Group lanes: a group of tracks (one person, one vehicle) is one lane header that folds.

The timeline's rows are built here from the project's tracks (project order, less the hidden
ones): an ungrouped track is a lane; a group is a header lane (:class:`GroupLane`), placed where
its first track is, whose bar is the union of its members' spans, followed by its members' lanes
when the group is unfolded (``doc.is_folded``). A header quacks like a track for painting (id,
class, enabled, review, label) so the lane painter draws it; it is never edited by a drag.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPolygonF

from app.core.groups import group_kind
from app.core.track import Track
from app.ui import style
from app.ui.timeline.lanes import LaneData

GROUP_PREFIX = "group:"  # a header lane's id: GROUP_PREFIX + the group's name (never a track id)
ARROW_W = 16  # px at the left of a header label: a click there folds / unfolds
INDENT = 10  # px a member lane's label is moved right under an open header
HEADER_BG = QColor("#33363c")


@dataclass(eq=False)
class GroupLane:
    """The header lane of a group (see the module docstring)."""

    name: str
    members: list[Track] = field(default_factory=list)
    folded: bool = True
    keyframes: tuple = ()

    @property
    def id(self) -> str:
        return GROUP_PREFIX + self.name

    @property
    def ids(self) -> list[str]:
        return [t.id for t in self.members]

    @property
    def cls(self) -> str:
        classes = {t.cls for t in self.members}
        return next(iter(classes)) if len(classes) == 1 else "group"

    @property
    def enabled(self) -> bool:
        return any(t.enabled for t in self.members)

    @property
    def review(self) -> str:
        states = {t.review for t in self.members}
        return next(iter(states)) if len(states) == 1 else "mixed"

    @property
    def label(self) -> str:
        return f"{len(self.members)} tracks"

    @property
    def group(self) -> str:
        return self.name

    def key(self) -> tuple:
        """What the union bar depends on (identity of every member's keyframes)."""
        return tuple(id(t.keyframes) for t in self.members)


def is_group_lane(row) -> bool:
    return isinstance(row, GroupLane)


def build_rows(tracks: list[Track], hidden: set[str], is_folded) -> tuple[list, dict[str, int]]:
    """(rows, row_of): the lanes in order, and the row of every track id and header id (a track
    of a folded group maps to its header's row)."""
    rows: list = []
    row_of: dict[str, int] = {}
    headers: dict[str, GroupLane] = {}
    order: list = []
    for t in tracks:
        if t.id in hidden:
            continue
        if not t.group:
            order.append(t)
            continue
        g = headers.get(t.group)
        if g is None:
            g = headers[t.group] = GroupLane(t.group, folded=is_folded(t.group))
            order.append(g)
        g.members.append(t)
    for node in order:
        row_of[node.id] = len(rows)
        rows.append(node)
        if isinstance(node, GroupLane):
            head = len(rows) - 1
            for t in node.members:
                if node.folded:
                    row_of[t.id] = head
                else:
                    row_of[t.id] = len(rows)
                    rows.append(t)
    return rows, row_of


def union_data(lane: GroupLane) -> LaneData:
    """The header's bar: the union of its members' spans (no keyframe marks)."""
    spans = sorted(s for t in lane.members for s in t.spans())
    starts: list[int] = []
    ends: list[int] = []
    for a, b in spans:
        if ends and a <= ends[-1] + 1:
            ends[-1] = max(ends[-1], b)
        else:
            starts.append(a)
            ends.append(b)
    return LaneData(lane.key(), starts, ends, [], [])


def paint_header_label(p: QPainter, lane: GroupLane, rect: QRectF, selected: bool, selected_bg: QColor) -> None:
    """The header's label cell: a fold arrow, the group's icon colour chip, name and count."""
    p.fillRect(rect, selected_bg if selected else HEADER_BG)
    color = style.class_color(lane.members[0].cls) if lane.cls != "group" else QColor(style.MUTED_TEXT)
    p.fillRect(QRectF(rect.left(), rect.top(), 4, rect.height()), color)
    cy, x = rect.center().y(), rect.left() + 9
    s = min(4.5, rect.height() / 4)
    arrow = (QPolygonF([QPointF(x - s * 0.6, cy - s), QPointF(x + s * 0.8, cy), QPointF(x - s * 0.6, cy + s)])
             if lane.folded else
             QPolygonF([QPointF(x - s, cy - s * 0.6), QPointF(x + s, cy - s * 0.6), QPointF(x, cy + s * 0.8)]))
    p.save()
    p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(style.TEXT)
    p.drawPolygon(arrow)
    p.restore()
    font = QFont(p.font())
    font.setBold(True)
    p.save()
    p.setFont(font)
    fm = p.fontMetrics()
    kind = group_kind(lane.name)
    mark = {"person": "●", "vehicle": "■"}.get(kind, "◆")
    text_rect = rect.adjusted(ARROW_W + 2, 0, -4, 0)
    p.setPen(style.TEXT if lane.enabled else style.MUTED_TEXT)
    text = fm.elidedText(f"{mark} {lane.name} · {len(lane.members)}", Qt.TextElideMode.ElideRight,
                         int(text_rect.width()))
    p.drawText(text_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)
    p.restore()
