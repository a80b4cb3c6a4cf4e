"""The track list: a sortable, filterable table of the project's tracks, its selection linked to
the document's (and so to the timeline and the viewport).

Under the filter bar, a score filter: "Hide below score" sets ``doc.min_score`` (auto tracks whose
best score is lower are hidden from the list, the timeline and the overlays, but still redacted),
and "Reject hidden" rejects them, as one undo step."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.core.track import REVIEW_STATES, Track
from app.ui import style
from app.ui.document import Document

COLUMNS = ("ID", "Class", "Start", "End", "Duration", "Keyframes", "Max score", "Mean score", "Enabled", "Review")
(COL_ID, COL_CLASS, COL_START, COL_END, COL_DURATION, COL_KEYFRAMES, COL_MAX, COL_MEAN, COL_ENABLED,
 COL_REVIEW) = range(len(COLUMNS))
SORT_ROLE = Qt.ItemDataRole.UserRole + 1  # numbers for numeric columns, lower-case text otherwise
TRACK_ID_ROLE = Qt.ItemDataRole.UserRole + 2
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


class TrackTableModel(QAbstractTableModel):
    """One row per track of ``doc.project``, in project order.

    ``refreshStarted`` / ``refreshFinished`` bracket every update made for the document, so a view
    can tell its own selection changes (the user's) from those the update causes.
    """

    refreshStarted = Signal()
    refreshFinished = Signal()

    def __init__(self, doc: Document, parent=None):
        super().__init__(parent)
        self._doc = doc
        self._tracks: list[Track] = list(doc.project.tracks)
        self._row_of: dict[str, int] = {}
        self._facts: dict[str, _KeyframeFacts] = {}
        self._snap: list[tuple] = []
        self._reindex()
        doc.projectReplaced.connect(self._on_project_replaced)
        doc.tracksChanged.connect(self._on_tracks_changed)

    # -- lookups -----------------------------------------------------------------------------------
    def track(self, row: int) -> Track:
        return self._tracks[row]

    def row_of(self, track_id: str) -> int | None:
        return self._row_of.get(track_id)

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

    def _snapshot(self, t: Track) -> tuple:
        return (id(t), t.keyframes, t.cls, t.enabled, t.review, t.label, tuple(t.stats.items()))

    def _reindex(self) -> None:
        self._row_of = {t.id: i for i, t in enumerate(self._tracks)}
        self._snap = [self._snapshot(t) for t in self._tracks]
        if len(self._facts) > len(self._row_of):
            self._facts = {k: v for k, v in self._facts.items() if k in self._row_of}

    # -- refresh -----------------------------------------------------------------------------------
    def _on_project_replaced(self) -> None:
        self.refreshStarted.emit()
        try:
            self._reset()
        finally:
            self.refreshFinished.emit()

    def _reset(self) -> None:
        self.beginResetModel()
        self._tracks = list(self._doc.project.tracks)
        self._facts.clear()
        self._reindex()
        self.endResetModel()

    def _on_tracks_changed(self) -> None:
        self.refreshStarted.emit()
        try:
            self._update_rows()
        finally:
            self.refreshFinished.emit()

    def _update_rows(self) -> None:
        """Granular updates where the change is an append, a removal or an edit; else a reset."""
        new = list(self._doc.project.tracks)
        old_ids = [t.id for t in self._tracks]
        new_ids = [t.id for t in new]
        if new_ids[: len(old_ids)] == old_ids and len(new_ids) > len(old_ids):
            self.beginInsertRows(QModelIndex(), len(old_ids), len(new_ids) - 1)
            self._tracks = new
            self._reindex_keep_snap(len(old_ids))
            self.endInsertRows()
        elif len(new_ids) < len(old_ids) and _is_subsequence(new_ids, old_ids):
            keep = set(new_ids)
            gone = [i for i, tid in enumerate(old_ids) if tid not in keep]
            for a, b in reversed(_blocks(gone)):
                self.beginRemoveRows(QModelIndex(), a, b)
                del self._tracks[a : b + 1]
                del self._snap[a : b + 1]
                self.endRemoveRows()
        elif new_ids != old_ids:
            self._reset()
            return
        # Same rows now: tell the views about the ones whose content changed.
        old_snap = self._snap
        self._tracks = new
        self._reindex()
        changed = [i for i, s in enumerate(self._snap) if i >= len(old_snap) or s != old_snap[i]]
        for a, b in _blocks(changed):
            self.dataChanged.emit(self.index(a, 0), self.index(b, len(COLUMNS) - 1))

    def _reindex_keep_snap(self, n_old: int) -> None:
        snap = self._snap[:n_old]
        self._reindex()
        self._snap[:n_old] = snap

    # -- Qt model ----------------------------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._tracks)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

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
        if not index.isValid():
            return None
        t = self._tracks[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._cell(t, col)[0]
        if role == SORT_ROLE:
            return self._cell(t, col)[1]
        if role == TRACK_ID_ROLE:
            return t.id
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
            return f"{t.id} ({t.cls}){' — ' + t.label if t.label else ''}"
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

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or index.column() != COL_ENABLED or role != Qt.ItemDataRole.CheckStateRole:
            return False
        enabled = Qt.CheckState(value) == Qt.CheckState.Checked
        t = self._tracks[index.row()]
        if t.enabled != enabled:
            self.set_track_enabled(t, enabled)
        return True

    def set_track_enabled(self, track: Track, enabled: bool) -> None:
        """The one place the list edits a track: an undo command on the document's stack."""
        from app.core.edits import clone

        self._doc.edit_tracks("Redact track" if enabled else "Exempt track (keep visible)", [track.id],
                              lambda t: clone(t, enabled=enabled))


class TrackFilterProxy(QSortFilterProxyModel):
    """Filters by class, by state (a review state, "enabled" or "disabled"), by text, and leaves
    out the ``hidden`` track ids (the document's score filter)."""

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

    def filterAcceptsRow(self, source_row: int, source_parent) -> bool:
        t = self.sourceModel().track(source_row)
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
        return not self.text or self.text in t.id.lower() or self.text in t.label.lower()


CLASS_FILTERS = (("All classes", None), ("Faces", "face"), ("Plates", "plate"), ("Manual", "manual"))
STATE_FILTERS = (("All states", None), *((s.replace("_", " ").capitalize(), s) for s in REVIEW_STATES),
                 ("Enabled", "enabled"), ("Disabled", "disabled"))


class TrackListPanel(QWidget):
    """The table with its filter bar. Row selection and ``doc.selection`` follow each other."""

    def __init__(self, doc: Document, parent: QWidget | None = None):
        super().__init__(parent)
        self.doc = doc
        self.model = TrackTableModel(doc, self)
        self.proxy = TrackFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self._internal = 0  # > 0 while the view's selection changes for reasons other than the user

        self.search_edit = QLineEdit(placeholderText="Search id or label", clearButtonEnabled=True)
        self.class_combo = QComboBox()
        for text, value in CLASS_FILTERS:
            self.class_combo.addItem(text, value)
        self.state_combo = QComboBox()
        for text, value in STATE_FILTERS:
            self.state_combo.addItem(text, value)
        self.count_label = QLabel()
        self.count_label.setStyleSheet(f"color: {style.MUTED_TEXT.name()}")

        # The score filter: one row under the filter bar.
        self.score_slider = QSlider(Qt.Orientation.Horizontal)
        self.score_slider.setRange(0, 100)
        self.score_slider.setPageStep(5)
        self.score_slider.setToolTip("Hide auto tracks whose best detection score is below this "
                                     "(they are still redacted until rejected)")
        self.score_label = QLabel("0.00")
        self.score_label.setMinimumWidth(self.score_label.fontMetrics().horizontalAdvance("0.00") + 4)
        self.hidden_label = QLabel()
        self.hidden_label.setStyleSheet(f"color: {style.MUTED_TEXT.name()}")
        self.reject_button = QPushButton("Reject hidden")
        self.reject_button.setToolTip("Mark the hidden low-score tracks as rejected (not redacted), "
                                      "as one undo step")

        self.view = v = QTableView()
        v.setModel(self.proxy)
        v.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        v.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        v.setSortingEnabled(True)
        v.sortByColumn(COL_START, Qt.SortOrder.AscendingOrder)
        v.setAlternatingRowColors(True)
        v.setShowGrid(False)
        v.setWordWrap(False)
        v.verticalHeader().hide()
        v.verticalHeader().setDefaultSectionSize(22)
        v.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        h = v.horizontalHeader()
        h.setHighlightSections(False)
        h.setStretchLastSection(True)
        for col, width in ((COL_ID, 110), (COL_CLASS, 88), (COL_START, 92), (COL_END, 92), (COL_DURATION, 70),
                           (COL_KEYFRAMES, 78), (COL_MAX, 78), (COL_MEAN, 84), (COL_ENABLED, 64)):
            h.resizeSection(col, width)
        h.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.search_edit, 1)
        bar.addWidget(self.class_combo)
        bar.addWidget(self.state_combo)
        bar.addWidget(self.count_label)
        score_bar = QHBoxLayout()
        score_bar.setContentsMargins(0, 0, 0, 0)
        score_bar.addWidget(QLabel("Hide below score"))
        score_bar.addWidget(self.score_slider, 1)
        score_bar.addWidget(self.score_label)
        score_bar.addWidget(self.hidden_label)
        score_bar.addWidget(self.reject_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(4)
        lay.addLayout(bar)
        lay.addLayout(score_bar)
        lay.addWidget(v)

        self.search_edit.textChanged.connect(self._apply_filters)
        self.class_combo.currentIndexChanged.connect(self._apply_filters)
        self.state_combo.currentIndexChanged.connect(self._apply_filters)
        v.selectionModel().selectionChanged.connect(self._on_view_selection)
        v.doubleClicked.connect(self._on_double_click)
        self.model.refreshStarted.connect(self._begin_internal)
        self.model.refreshFinished.connect(self._end_internal)
        doc.selectionChanged.connect(self._on_doc_selection)
        self.proxy.rowsInserted.connect(self._update_count)
        self.proxy.rowsRemoved.connect(self._update_count)
        self.proxy.modelReset.connect(self._update_count)
        self.score_slider.valueChanged.connect(self._on_score_slider)
        self.reject_button.clicked.connect(self.reject_hidden)
        doc.hiddenChanged.connect(self._on_hidden_changed)
        doc.projectReplaced.connect(self._on_hidden_changed)
        doc.tracksChanged.connect(self._update_hidden_count)
        self._on_hidden_changed()
        self._update_count()
        self._select_ids(doc.selection)

    # -- filters -----------------------------------------------------------------------------------
    def set_class_filter(self, cls: str | None) -> None:
        self.class_combo.setCurrentIndex(max(0, self.class_combo.findData(cls)))

    def set_state_filter(self, state: str | None) -> None:
        self.state_combo.setCurrentIndex(max(0, self.state_combo.findData(state)))

    def set_search(self, text: str) -> None:
        self.search_edit.setText(text)

    def _apply_filters(self) -> None:
        self._internal += 1
        try:
            self.proxy.set_filters(self.class_combo.currentData(), self.state_combo.currentData(),
                                   self.search_edit.text())
        finally:
            self._internal -= 1
        self._select_ids(self.doc.selection, scroll=False)
        self._update_count()

    def _update_count(self, *args) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        self.count_label.setText(f"{total} tracks" if shown == total else f"{shown} of {total} tracks")

    # -- score filter ------------------------------------------------------------------------------
    def set_min_score(self, value: float) -> None:
        """Move the "Hide below score" slider to ``value`` (0..1), as the user would."""
        self.score_slider.setValue(round(value * 100))

    def _on_score_slider(self, value: int) -> None:
        self.score_label.setText(f"{value / 100:.2f}")
        if round(self.doc.min_score * 100) != value:
            self.doc.set_min_score(value / 100)

    def _on_hidden_changed(self) -> None:
        """``doc.hidden`` or ``doc.min_score`` changed (here or elsewhere): refilter, sync the slider."""
        value = round(self.doc.min_score * 100)
        if self.score_slider.value() != value:
            self.score_slider.blockSignals(True)
            self.score_slider.setValue(value)
            self.score_slider.blockSignals(False)
        self.score_label.setText(f"{value / 100:.2f}")
        self._internal += 1
        try:
            self.proxy.set_hidden(self.doc.hidden)
        finally:
            self._internal -= 1
        self._select_ids(self.doc.selection, scroll=False)
        self._update_count()
        self._update_hidden_count()

    def hidden_tracks(self) -> list[Track]:
        """The project's tracks the score filter hides, in project order."""
        hidden = self.doc.hidden
        return [t for t in self.doc.project.tracks if t.id in hidden] if hidden else []

    def _update_hidden_count(self, *args) -> None:
        hidden = self.hidden_tracks()
        todo = sum(t.review != "rejected" for t in hidden)
        self.hidden_label.setText(f"{len(hidden)} hidden")
        self.hidden_label.setToolTip(f"{todo} of them not rejected yet" if hidden else "")
        self.reject_button.setEnabled(todo > 0)

    def reject_hidden(self) -> int:
        """Reject every hidden track not rejected yet, as one undo step; returns how many."""
        from app.core.edits import clone

        ids = [t.id for t in self.hidden_tracks() if t.review != "rejected"]
        if not ids:
            return 0
        n = len(ids)
        with self.doc.macro(f"Reject {n} low-score track{'s' if n != 1 else ''}"):
            self.doc.edit_tracks("Reject low-score tracks", ids, lambda t: clone(t, review="rejected"))
        return n

    # -- selection ---------------------------------------------------------------------------------
    def _begin_internal(self, *args) -> None:
        self._internal += 1

    def _end_internal(self, *args) -> None:
        self._internal = max(0, self._internal - 1)
        if not self._internal:
            self._select_ids(self.doc.selection, scroll=False)
            self._update_count()

    def selected_ids(self) -> list[str]:
        rows = sorted(self.view.selectionModel().selectedRows(), key=lambda i: i.row())
        return [self.proxy.data(i, TRACK_ID_ROLE) for i in rows]

    def _on_view_selection(self, *args) -> None:
        if self._internal:
            return
        self._internal += 1
        try:
            self.doc.set_selection(self.selected_ids())
        finally:
            self._internal -= 1

    def _on_doc_selection(self, ids: list) -> None:
        if not self._internal:
            self._select_ids(ids)

    def _select_ids(self, ids: list[str], scroll: bool = True) -> None:
        sel = QItemSelection()
        first = None
        rows: list[int] = []
        last_col = len(COLUMNS) - 1
        for tid in ids:
            row = self.model.row_of(tid)
            if row is None:
                continue
            pidx = self.proxy.mapFromSource(self.model.index(row, 0))
            if not pidx.isValid():
                continue
            sel.select(pidx, self.proxy.index(pidx.row(), last_col))
            rows.append(pidx.row())
            first = QPersistentModelIndex(pidx)  # the last one: usually the one just added
        sm = self.view.selectionModel()
        self._internal += 1
        try:
            flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
            sm.select(sel, flags)
            if first is not None:
                sm.setCurrentIndex(self.proxy.index(first.row(), 0), QItemSelectionModel.SelectionFlag.NoUpdate)
                if scroll and not any(self._row_visible(r) for r in rows):
                    self.view.scrollTo(self.proxy.index(first.row(), 0))
        finally:
            self._internal -= 1

    def _row_visible(self, row: int) -> bool:
        rect = self.view.visualRect(self.proxy.index(row, 0))
        return rect.isValid() and self.view.viewport().rect().contains(rect)

    def _on_double_click(self, index) -> None:
        t = self.model.track(self.proxy.mapToSource(index).row())
        if index.column() == COL_ENABLED:
            return
        self.doc.set_selection([t.id])
        if t.first_frame is not None:
            self.doc.set_frame(t.first_frame)


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
