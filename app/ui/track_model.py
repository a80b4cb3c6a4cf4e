"""The track list's model: one row per track, and one folding row per group of tracks.

The top level holds, in project order, every track that is in no group and one row per group
(``Track.group``: the tracks of one person or one vehicle), placed where the group's first track
is; a group's rows hold its tracks. A group row sums up its members: the first start, the last
end, all keyframes, the best score, the Enabled box (partly checked when only some are exempt)
and the review state ("mixed" when the members differ).

Updates are granular when the document's change allows it (tracks appended, removed or edited,
in a project without groups, as before groups existed: a list of thousands of tracks stays quick),
else the model resets; ``refreshStarted`` / ``refreshFinished`` bracket every update, so the view
can tell its own selection changes (the user's) from those the update causes.

Indexes: a top-level index has internal id 0, a member's index the serial of its group (stable
while the group exists), so rows can move without invalidating what an index points to.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QColor

from app.core.groups import group_kind
from app.core.track import REVIEW_STATES, Track
from app.ui import style
from app.ui.document import Document

COLUMNS = ("ID", "Class", "Start", "End", "Duration", "Keyframes", "Max score", "Mean score", "Enabled", "Review")
(COL_ID, COL_CLASS, COL_START, COL_END, COL_DURATION, COL_KEYFRAMES, COL_MAX, COL_MEAN, COL_ENABLED,
 COL_REVIEW) = range(len(COLUMNS))
SORT_ROLE = Qt.ItemDataRole.UserRole + 1  # numbers for numeric columns, lower-case text otherwise
TRACK_ID_ROLE = Qt.ItemDataRole.UserRole + 2  # a track's id; "" on a group row
GROUP_ROLE = Qt.ItemDataRole.UserRole + 3  # a group row's name; "" on a track row
REVIEW_COLORS = {"approved": "#51cf66", "rejected": "#fa5252", "needs_review": "#ff922b"}
_NUMERIC = {COL_START, COL_END, COL_DURATION, COL_KEYFRAMES, COL_MAX, COL_MEAN}


@dataclass(slots=True)
class _KeyframeFacts:
    """What the table shows that depends on the keyframes; recomputed when they change."""

    kfs: tuple
    first: int | None
    last: int | None
    max_score: float | None
    mean_score: float | None

    @classmethod
    def of(cls, track: Track) -> _KeyframeFacts:
        scores = [kf.score for kf in track.keyframes if kf.score is not None]
        return cls(track.keyframes, track.first_frame, track.last_frame,
                   max(scores) if scores else None, sum(scores) / len(scores) if scores else None)


@dataclass(eq=False)
class Group:
    """A group row: its name, a serial that stays while the group exists, and its members."""

    name: str
    serial: int
    members: list[Track] = field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        return [t.id for t in self.members]


class TrackTableModel(QAbstractItemModel):
    """Tracks of ``doc.project`` (project order), groups as folding rows. See the module docstring."""

    refreshStarted = Signal()
    refreshFinished = Signal()

    def __init__(self, doc: Document, parent=None):
        super().__init__(parent)
        self._doc = doc
        self._tracks: list[Track] = []
        self._top: list[Track | Group] = []
        self._groups: dict[str, Group] = {}
        self._by_serial: dict[int, Group] = {}
        self._serial = 0
        self._pos: dict[str, tuple[int, int]] = {}  # track id -> (group serial or 0, row)
        self._group_row: dict[int, int] = {}  # group serial -> top-level row
        self._facts: dict[str, _KeyframeFacts] = {}
        self._snap: list[tuple] = []  # per top-level row (flat projects only)
        self._build(list(doc.project.tracks))
        doc.projectReplaced.connect(self._on_project_replaced)
        doc.tracksChanged.connect(self._on_tracks_changed)

    # -- lookups -----------------------------------------------------------------------------------
    @property
    def has_groups(self) -> bool:
        return bool(self._groups)

    def track(self, row: int) -> Track:
        """The top-level row's track (a group row has none: see :meth:`node`)."""
        node = self._top[row]
        if isinstance(node, Group):
            raise IndexError(f"row {row} is the group {node.name!r}, not a track")
        return node

    def node(self, index: QModelIndex) -> Track | Group | None:
        if not index.isValid():
            return None
        serial = index.internalId()
        if serial == 0:
            return self._top[index.row()] if index.row() < len(self._top) else None
        g = self._by_serial.get(serial)
        return g.members[index.row()] if g is not None and index.row() < len(g.members) else None

    def row_of(self, track_id: str) -> int | None:
        """The row of a track within its parent (the top level, or its group)."""
        pos = self._pos.get(track_id)
        return pos[1] if pos is not None else None

    def index_of(self, track_id: str, column: int = 0) -> QModelIndex:
        pos = self._pos.get(track_id)
        if pos is None:
            return QModelIndex()
        serial, row = pos
        return self.createIndex(row, column, serial)

    def group_index(self, name: str, column: int = 0) -> QModelIndex:
        g = self._groups.get(name)
        if g is None:
            return QModelIndex()
        return self.createIndex(self._group_row[g.serial], column, 0)

    def group(self, name: str) -> Group | None:
        return self._groups.get(name)

    def groups(self) -> list[Group]:
        return [n for n in self._top if isinstance(n, Group)]

    def track_ids(self, index: QModelIndex) -> list[str]:
        """The tracks a row stands for: its track, or every member of its group."""
        node = self.node(index)
        if node is None:
            return []
        return node.ids if isinstance(node, Group) else [node.id]

    def _kf(self, t: Track) -> _KeyframeFacts:
        f = self._facts.get(t.id)
        if f is None or f.kfs is not t.keyframes:
            f = self._facts[t.id] = _KeyframeFacts.of(t)
        return f

    def max_score(self, t: Track) -> float | None:
        v = t.stats.get("max_score")
        return float(v) if v is not None else self._kf(t).max_score

    def mean_score(self, t: Track) -> float | None:
        v = t.stats.get("mean_score")
        return float(v) if v is not None else self._kf(t).mean_score

    @staticmethod
    def _snapshot(t: Track) -> tuple:
        return (id(t), t.keyframes, t.cls, t.enabled, t.review, t.label, t.group, tuple(t.stats.items()))

    def _node_snapshot(self, node: Track | Group) -> tuple:
        if isinstance(node, Group):
            return tuple(self._snapshot(t) for t in node.members)
        return self._snapshot(node)

    # -- structure ---------------------------------------------------------------------------------
    @staticmethod
    def _layout(tracks: list[Track]) -> list[tuple[str, tuple[str, ...]]]:
        """The top level as (kind + key, member ids): what a reset is needed for when it changes."""
        out: list[tuple[str, tuple[str, ...]]] = []
        seen: dict[str, int] = {}
        for t in tracks:
            if not t.group:
                out.append(("t" + t.id, ()))
            elif t.group in seen:
                k, ids = out[seen[t.group]]
                out[seen[t.group]] = (k, (*ids, t.id))
            else:
                seen[t.group] = len(out)
                out.append(("g" + t.group, (t.id,)))
        return out

    def _build(self, tracks: list[Track]) -> None:
        self._tracks = tracks
        top: list[Track | Group] = []
        groups: dict[str, Group] = {}
        for t in tracks:
            if not t.group:
                top.append(t)
                continue
            g = groups.get(t.group)
            if g is None:
                old = self._groups.get(t.group)
                if old is None:
                    self._serial += 1
                g = groups[t.group] = Group(t.group, old.serial if old is not None else self._serial)
                top.append(g)
            g.members.append(t)
        self._top, self._groups = top, groups
        self._by_serial = {g.serial: g for g in groups.values()}
        self._reindex()

    def _reindex(self) -> None:
        pos: dict[str, tuple[int, int]] = {}
        self._group_row = {}
        for row, node in enumerate(self._top):
            if isinstance(node, Group):
                self._group_row[node.serial] = row
                for k, t in enumerate(node.members):
                    pos[t.id] = (node.serial, k)
            else:
                pos[node.id] = (0, row)
        self._pos = pos
        self._snap = [self._node_snapshot(n) for n in self._top]
        if len(self._facts) > len(pos):
            self._facts = {k: v for k, v in self._facts.items() if k in pos}

    # -- refresh -----------------------------------------------------------------------------------
    def _on_project_replaced(self) -> None:
        self.refreshStarted.emit()
        try:
            self._reset()
        finally:
            self.refreshFinished.emit()

    def _reset(self) -> None:
        self.beginResetModel()
        self._facts.clear()
        self._build(list(self._doc.project.tracks))
        self.endResetModel()

    def _on_tracks_changed(self) -> None:
        self.refreshStarted.emit()
        try:
            self._update_rows()
        finally:
            self.refreshFinished.emit()

    def _update_rows(self) -> None:
        new = list(self._doc.project.tracks)
        if self._groups or any(t.group for t in new):
            self._update_grouped(new)
        else:
            self._update_flat(new)

    def _update_grouped(self, new: list[Track]) -> None:
        """With groups: the same rows (a track or a group member edited) update in place, any
        change of rows resets."""
        if self._layout(new) != self._layout(self._tracks):
            self._reset()
            return
        old_snap = self._snap
        self._build(new)
        last = len(COLUMNS) - 1
        for row, node in enumerate(self._top):
            if self._snap[row] == old_snap[row]:
                continue
            self.dataChanged.emit(self.index(row, 0), self.index(row, last))
            if isinstance(node, Group) and node.members:
                parent = self.index(row, 0)
                self.dataChanged.emit(self.index(0, 0, parent), self.index(len(node.members) - 1, last, parent))

    def _update_flat(self, new: list[Track]) -> None:
        """Granular updates where the change is an append, a removal or an edit; else a reset."""
        old_ids = [t.id for t in self._tracks]
        new_ids = [t.id for t in new]
        if new_ids[: len(old_ids)] == old_ids and len(new_ids) > len(old_ids):
            self.beginInsertRows(QModelIndex(), len(old_ids), len(new_ids) - 1)
            snap = self._snap
            self._build(new)
            self._snap[: len(snap)] = snap
            self.endInsertRows()
        elif len(new_ids) < len(old_ids) and _is_subsequence(new_ids, old_ids):
            keep = set(new_ids)
            gone = [i for i, tid in enumerate(old_ids) if tid not in keep]
            for a, b in reversed(_blocks(gone)):
                self.beginRemoveRows(QModelIndex(), a, b)
                del self._top[a : b + 1]
                del self._snap[a : b + 1]
                self._tracks = list(self._top)
                self.endRemoveRows()
        elif new_ids != old_ids:
            self._reset()
            return
        # Same rows now: tell the views about the ones whose content changed.
        old_snap = self._snap
        self._build(new)
        changed = [i for i, s in enumerate(self._snap) if i >= len(old_snap) or s != old_snap[i]]
        for a, b in _blocks(changed):
            self.dataChanged.emit(self.index(a, 0), self.index(b, len(COLUMNS) - 1))

    # -- Qt model ----------------------------------------------------------------------------------
    def index(self, row: int, column: int, parent=QModelIndex()) -> QModelIndex:  # noqa: B008
        if column < 0 or column >= len(COLUMNS) or row < 0:
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, 0) if row < len(self._top) else QModelIndex()
        node = self.node(parent)
        if isinstance(node, Group) and parent.internalId() == 0 and row < len(node.members):
            return self.createIndex(row, column, node.serial)
        return QModelIndex()

    def parent(self, index: QModelIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        if not index.isValid():
            return QModelIndex()
        serial = index.internalId()
        if serial == 0 or serial not in self._group_row:
            return QModelIndex()
        return self.createIndex(self._group_row[serial], 0, 0)

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        if not parent.isValid():
            return len(self._top)
        if parent.column() > 0 or parent.internalId() != 0:
            return 0
        node = self.node(parent)
        return len(node.members) if isinstance(node, Group) else 0

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return len(COLUMNS)

    def hasChildren(self, parent=QModelIndex()) -> bool:  # noqa: B008
        return self.rowCount(parent) > 0

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def flags(self, index):
        f = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == COL_ENABLED:
            f |= Qt.ItemFlag.ItemIsUserCheckable
        return f

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        node = self.node(index)
        if node is None:
            return None
        if isinstance(node, Group):
            return self._group_data(node, index.column(), role)
        t, col = node, index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._cell(t, col)[0]
        if role == SORT_ROLE:
            return self._cell(t, col)[1]
        if role == TRACK_ID_ROLE:
            return t.id
        if role == GROUP_ROLE:
            return ""
        if role == Qt.ItemDataRole.CheckStateRole and col == COL_ENABLED:
            return Qt.CheckState.Checked if t.enabled else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.DecorationRole and col == COL_CLASS:
            return style.class_color(t.cls)
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == COL_REVIEW and t.review in REVIEW_COLORS:
                return QColor(REVIEW_COLORS[t.review])
            if not t.enabled or t.review == "rejected":
                return style.MUTED_TEXT
        if role == Qt.ItemDataRole.TextAlignmentRole and col in _NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and col == COL_ID:
            return f"{t.id} ({t.cls}){' — ' + t.label if t.label else ''}{' · ' + t.group if t.group else ''}"
        return None

    def _cell(self, t: Track, col: int) -> tuple[str | None, object]:
        """(shown text, sort key) of one cell; the sort keys of numeric columns are numbers."""
        kf = self._kf(t)
        if col in (COL_START, COL_END, COL_DURATION):
            if kf.first is None:
                return "—", -1
            if col == COL_DURATION:
                n = kf.last - kf.first + 1
                return _duration(n, float(self._doc.fps)), n
            f = kf.first if col == COL_START else kf.last
            return self._doc.timecode(f), f
        if col in (COL_MAX, COL_MEAN):
            v = self.max_score(t) if col == COL_MAX else self.mean_score(t)
            return (f"{v:.2f}", v) if v is not None else ("—", -1.0)
        if col == COL_KEYFRAMES:
            return str(len(t.keyframes)), len(t.keyframes)
        if col == COL_ENABLED:
            return None, int(t.enabled)
        if col == COL_REVIEW:
            return t.review.replace("_", " "), REVIEW_STATES.index(t.review)
        text = t.id if col == COL_ID else t.cls
        return text, text.lower()

    def _group_cell(self, g: Group, col: int) -> tuple[str | None, object]:
        ms = g.members
        facts = [self._kf(t) for t in ms]
        firsts = [f.first for f in facts if f.first is not None]
        lasts = [f.last for f in facts if f.last is not None]
        if col == COL_ID:
            return f"{g.name} ({len(ms)})", g.name.lower()  # short: the column is narrow on a laptop
        if col == COL_CLASS:
            classes = sorted({t.cls for t in ms})
            text = classes[0] if len(classes) == 1 else "mixed"
            return text, text
        if col in (COL_START, COL_END, COL_DURATION):
            if not firsts:
                return "—", -1
            a, b = min(firsts), max(lasts)
            if col == COL_DURATION:
                return _duration(b - a + 1, float(self._doc.fps)), b - a + 1
            f = a if col == COL_START else b
            return self._doc.timecode(f), f
        if col == COL_KEYFRAMES:
            n = sum(len(t.keyframes) for t in ms)
            return str(n), n
        if col in (COL_MAX, COL_MEAN):
            vals = [v for v in (self.max_score(t) if col == COL_MAX else self.mean_score(t) for t in ms)
                    if v is not None]
            if not vals:
                return "—", -1.0
            v = max(vals) if col == COL_MAX else sum(vals) / len(vals)
            return f"{v:.2f}", v
        if col == COL_ENABLED:
            return None, sum(t.enabled for t in ms) / max(1, len(ms))
        states = {t.review for t in ms}
        if len(states) == 1:
            s = next(iter(states))
            return s.replace("_", " "), REVIEW_STATES.index(s)
        return "mixed", -1

    def _group_data(self, g: Group, col: int, role):
        if role == Qt.ItemDataRole.DisplayRole:
            return self._group_cell(g, col)[0]
        if role == SORT_ROLE:
            return self._group_cell(g, col)[1]
        if role == TRACK_ID_ROLE:
            return ""
        if role == GROUP_ROLE:
            return g.name
        if role == Qt.ItemDataRole.CheckStateRole and col == COL_ENABLED:
            n = sum(t.enabled for t in g.members)
            return (Qt.CheckState.Checked if n == len(g.members) else
                    Qt.CheckState.Unchecked if n == 0 else Qt.CheckState.PartiallyChecked)
        if role == Qt.ItemDataRole.DecorationRole and col == COL_ID:
            from app.ui.icons import icon

            return icon("group_vehicle" if group_kind(g.name) == "vehicle" else "group_person")
        if role == Qt.ItemDataRole.FontRole and col == COL_ID:
            from PySide6.QtGui import QFont

            f = QFont()
            f.setBold(True)
            return f
        if role == Qt.ItemDataRole.ForegroundRole:
            states = {t.review for t in g.members}
            if col == COL_REVIEW and len(states) == 1 and next(iter(states)) in REVIEW_COLORS:
                return QColor(REVIEW_COLORS[next(iter(states))])
            if not any(t.redacted for t in g.members):
                return style.MUTED_TEXT
        if role == Qt.ItemDataRole.TextAlignmentRole and col in _NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and col == COL_ID:
            return f"{g.name}: {', '.join(g.ids)}"
        return None

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or index.column() != COL_ENABLED or role != Qt.ItemDataRole.CheckStateRole:
            return False
        enabled = Qt.CheckState(value) != Qt.CheckState.Unchecked
        node = self.node(index)
        if isinstance(node, Group):
            self.set_tracks_enabled(node.members, enabled, f"{node.name}: ")
        elif node is not None and node.enabled != enabled:
            self.set_track_enabled(node, enabled)
        return True

    def set_track_enabled(self, track: Track, enabled: bool) -> None:
        """The one place the list edits a track: an undo command on the document's stack."""
        from app.core.edits import clone

        self._doc.edit_tracks("Redact track" if enabled else "Exempt track (keep visible)", [track.id],
                              lambda t: clone(t, enabled=enabled))

    def set_tracks_enabled(self, tracks: list[Track], enabled: bool, prefix: str = "") -> None:
        """Exempt (or redact again) several tracks, a group's, as one undo step."""
        from app.core.edits import clone

        ids = [t.id for t in tracks if t.enabled != enabled]
        if ids:
            text = f"{prefix}{'Redact' if enabled else 'Exempt (keep visible)'} {len(ids)} track(s)"
            self._doc.edit_tracks(text, ids, lambda t: clone(t, enabled=enabled))


class TrackFilterProxy(QSortFilterProxyModel):
    """Filters by class, by state (a review state, "enabled" or "disabled"), by text (a track's id
    or label, or its group's name: then the whole group shows), and leaves out the ``hidden``
    track ids (the document's score filter). A group row shows while any of its members does."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.cls: str | None = None
        self.state: str | None = None
        self.text = ""
        self.hidden: frozenset[str] = frozenset()
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)

    def set_filters(self, cls: str | None = None, state: str | None = None, text: str = "") -> None:
        self.beginFilterChange()
        self.cls, self.state, self.text = cls, state, text.strip().lower()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_hidden(self, ids) -> None:
        ids = frozenset(ids)
        if ids != self.hidden:
            self.beginFilterChange()
            self.hidden = ids
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def _passes(self, t: Track, text_ok: bool = False) -> bool:
        if t.id in self.hidden:
            return False
        if self.cls and t.cls != self.cls:
            return False
        if self.state == "enabled":
            if not t.enabled:
                return False
        elif self.state == "disabled":
            if t.enabled:
                return False
        elif self.state and t.review != self.state:
            return False
        return text_ok or not self.text or self.text in t.id.lower() or self.text in t.label.lower()

    def filterAcceptsRow(self, source_row: int, source_parent) -> bool:
        model = self.sourceModel()
        node = model.node(model.index(source_row, 0, source_parent))
        if node is None:
            return False
        if isinstance(node, Group):
            named = bool(self.text) and self.text in node.name.lower()
            return any(self._passes(t, named) for t in node.members)
        named = bool(self.text) and bool(node.group) and self.text in node.group.lower()
        return self._passes(node, named)


def _is_subsequence(short: list, long: list) -> bool:
    it = iter(long)
    return all(x in it for x in short)


def _blocks(rows: list[int]) -> list[tuple[int, int]]:
    """Sorted row numbers as inclusive (first, last) runs."""
    out: list[tuple[int, int]] = []
    for r in rows:
        if out and out[-1][1] + 1 == r:
            out[-1] = (out[-1][0], r)
        else:
            out.append((r, r))
    return out


def _duration(frames: int, fps: float) -> str:
    s = frames / fps
    if s < 60:
        return f"{s:.1f} s"
    m, s = divmod(s, 60)
    return f"{int(m)}:{s:04.1f}"
