"""The track list: a sortable, filterable tree of the project's tracks (a group of tracks, one
person or one vehicle, is one row that folds), its selection linked to the document's (and so to
the timeline and the viewport).

Under the filter bar, a score filter: "Hide below score" sets ``doc.min_score`` (auto tracks whose
best score is lower are hidden from the list, the timeline and the overlays, but still redacted),
and "Reject hidden" rejects them, as one undo step.

Keys (while the list has focus): Up/Down, Page Up/Down, Home/End move through the rows (and so the
selection, hundreds of tracks deep); Shift extends; Left/Right fold and unfold a group row. The
window's own Home/End (first and last frame) and Left/Right (step) apply elsewhere. Right-click a
row for what applies to it (``contextMenuRequested``, see :mod:`app.ui.context_menus`).

The model and the filter are in :mod:`app.ui.track_model`.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QItemSelection, QItemSelectionModel, QPoint, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.core.track import REVIEW_STATES, Track
from app.ui import style
from app.ui.document import Document
from app.ui.track_model import (  # noqa: F401 - re-exported: the list's columns and roles
    COL_CLASS,
    COL_DURATION,
    COL_ENABLED,
    COL_END,
    COL_ID,
    COL_KEYFRAMES,
    COL_MAX,
    COL_MEAN,
    COL_REVIEW,
    COL_START,
    COLUMNS,
    GROUP_ROLE,
    SORT_ROLE,
    TRACK_ID_ROLE,
    Group,
    TrackFilterProxy,
    TrackTableModel,
)

_NAV_KEYS = {Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown, Qt.Key.Key_Home,
             Qt.Key.Key_End}


class TrackTreeView(QTreeView):
    """The list's view: row navigation keys stay here (the window's Home/End/arrows shortcuts
    would take them otherwise), Left/Right only on a group row."""

    def selectRow(self, row: int) -> None:  # noqa: N802 - QTableView's name
        idx = self.model().index(row, 0)
        self.selectionModel().setCurrentIndex(
            idx, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)

    def _on_group_row(self) -> bool:
        idx = self.currentIndex()
        return idx.isValid() and bool(self.model().hasChildren(idx.siblingAtColumn(0)))

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride:
            key = event.key()
            mods = event.modifiers() & ~(Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier)
            if not mods and (key in _NAV_KEYS or (key in (Qt.Key.Key_Left, Qt.Key.Key_Right) and self._on_group_row())):
                event.accept()
                return True
        return super().event(event)


CLASS_FILTERS = (("All classes", None), ("Faces", "face"), ("Plates", "plate"), ("Manual", "manual"))
STATE_FILTERS = (("All states", None), *((s.replace("_", " ").capitalize(), s) for s in REVIEW_STATES),
                 ("Enabled", "enabled"), ("Disabled", "disabled"))


class TrackListPanel(QWidget):
    """The tree with its filter bar. Row selection and ``doc.selection`` follow each other: a
    selected group row stands for all its tracks, and a group whose tracks are all selected shows
    its row selected. ``contextMenuRequested(QPoint)`` (global position) on a right-click, after
    the row under the mouse was selected (unless it already was)."""

    contextMenuRequested = Signal(QPoint)

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

        self.view = v = TrackTreeView()
        v.setModel(self.proxy)
        v.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        v.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        v.setSortingEnabled(True)
        v.sortByColumn(COL_START, Qt.SortOrder.AscendingOrder)
        v.setAlternatingRowColors(True)
        v.setUniformRowHeights(True)  # thousands of rows lay out in no time
        v.setRootIsDecorated(True)
        v.setIndentation(14)
        v.setWordWrap(False)
        v.setAllColumnsShowFocus(True)
        v.setExpandsOnDoubleClick(False)  # a double-click jumps to the track (a group: the arrow folds)
        v.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        v.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        v.setMinimumHeight(3 * 22)
        h = v.header()
        h.setHighlightSections(False)
        h.setStretchLastSection(True)
        for col, width in ((COL_ID, 150), (COL_CLASS, 64), (COL_START, 92), (COL_END, 92), (COL_DURATION, 70),
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
        lay.addWidget(v, 1)  # the list takes the dock's height

        self.search_edit.textChanged.connect(self._apply_filters)
        self.class_combo.currentIndexChanged.connect(self._apply_filters)
        self.state_combo.currentIndexChanged.connect(self._apply_filters)
        v.selectionModel().selectionChanged.connect(self._on_view_selection)
        v.doubleClicked.connect(self._on_double_click)
        v.expanded.connect(lambda i: self._on_fold(i, False))
        v.collapsed.connect(lambda i: self._on_fold(i, True))
        v.customContextMenuRequested.connect(self._on_context_menu)
        self.proxy.modelReset.connect(self._apply_folds)
        self.proxy.layoutChanged.connect(self._apply_folds)
        doc.foldChanged.connect(self._apply_folds)
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
        tracks = self.doc.project.tracks
        total = len(tracks)
        filtered = bool(self.proxy.cls or self.proxy.state or self.proxy.text or self.proxy.hidden)
        shown = sum(1 for t in tracks if self.proxy._passes(
            t, bool(self.proxy.text) and bool(t.group) and self.proxy.text in t.group.lower())) if filtered else total
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
        """The selected tracks (a group row: all its tracks), in row order."""
        rows = sorted(self.view.selectionModel().selectedRows(), key=lambda i: (self._row_key(i)))
        picked = {(i.parent().row(), i.row()) for i in rows if i.parent().isValid()}
        out: list[str] = []
        for i in rows:
            ids = self.model.track_ids(self.proxy.mapToSource(i))
            if len(ids) > 1 or (ids and not i.parent().isValid() and self.proxy.hasChildren(i)):
                # an open group row with some of its rows picked: those rows only (Ctrl+click one off)
                kids = [(i.row(), k) for k in range(self.proxy.rowCount(i))]
                if self.view.isExpanded(i) and any(k in picked for k in kids) and not all(k in picked for k in kids):
                    continue
            out.extend(ids)
        return list(dict.fromkeys(out))

    def _row_key(self, index) -> tuple[int, int]:
        parent = index.parent()
        return (parent.row(), index.row()) if parent.isValid() else (index.row(), -1)

    def _on_view_selection(self, *args) -> None:
        if self._internal:
            return
        self._internal += 1
        try:
            self.doc.set_selection(self.selected_ids())
        finally:
            self._internal -= 1
        if self.model.has_groups:
            self._select_ids(self.doc.selection, scroll=False, keep_current=True)  # a group's rows follow

    def _on_doc_selection(self, ids: list) -> None:
        if not self._internal:
            self._select_ids(ids)

    def proxy_index(self, track_id: str, column: int = 0):
        """The list's index of a track (invalid when filtered out)."""
        return self.proxy.mapFromSource(self.model.index_of(track_id, column))

    def group_proxy_index(self, name: str, column: int = 0):
        return self.proxy.mapFromSource(self.model.group_index(name, column))

    def _select_ids(self, ids: list[str], scroll: bool = True, keep_current: bool = False) -> None:
        sel = QItemSelection()
        first = None
        shown: list = []
        last_col = len(COLUMNS) - 1
        wanted = set(ids)
        for tid in ids:
            pidx = self.proxy_index(tid)
            if not pidx.isValid():
                continue
            sel.select(pidx, pidx.siblingAtColumn(last_col))
            shown.append(pidx)
            first = pidx  # the last one: usually the one just added
        for g in self.model.groups():
            if g.members and all(t.id in wanted for t in g.members):
                gidx = self.group_proxy_index(g.name)
                if gidx.isValid():
                    sel.select(gidx, gidx.siblingAtColumn(last_col))
                    if self.doc.is_folded(g.name) or first is None:
                        first = gidx
                    shown.append(gidx)
        sm = self.view.selectionModel()
        self._internal += 1
        try:
            flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
            sm.select(sel, flags)
            if first is not None and not keep_current:
                sm.setCurrentIndex(first.siblingAtColumn(0), QItemSelectionModel.SelectionFlag.NoUpdate)
                if scroll and not any(self._index_visible(i) for i in shown):
                    self.view.scrollTo(self._visible_row(first))
        finally:
            self._internal -= 1

    def _visible_row(self, index):
        """``index``, or its group row when the group is folded."""
        parent = index.parent()
        return parent if parent.isValid() and not self.view.isExpanded(parent) else index

    def _index_visible(self, index) -> bool:
        rect = self.view.visualRect(self._visible_row(index))
        return rect.isValid() and self.view.viewport().rect().contains(rect)

    def _row_visible(self, row: int) -> bool:
        return self._index_visible(self.proxy.index(row, 0))

    def _on_double_click(self, index) -> None:
        if index.column() == COL_ENABLED:
            return
        ids = self.model.track_ids(self.proxy.mapToSource(index))
        if not ids:
            return
        self.doc.set_selection(ids)
        starts = [t.first_frame for t in (self.doc.project.track(i) for i in ids) if t and t.first_frame is not None]
        if starts:
            self.doc.set_frame(min(starts))

    # -- groups: folding -----------------------------------------------------------------------------
    def _on_fold(self, index, folded: bool) -> None:
        name = self.proxy.data(index.siblingAtColumn(0), GROUP_ROLE)
        if name and not getattr(self, "_applying_folds", False):
            self.doc.set_folded(name, folded)

    def _apply_folds(self, *args) -> None:
        """Fold and unfold the group rows as the document says (after a reset, or a fold made in
        the timeline)."""
        self._applying_folds = True
        try:
            for g in self.model.groups():
                idx = self.group_proxy_index(g.name)
                if idx.isValid():
                    self.view.setExpanded(idx, not self.doc.is_folded(g.name))
        finally:
            self._applying_folds = False

    # -- right-click ---------------------------------------------------------------------------------
    def _on_context_menu(self, pos: QPoint) -> None:
        index = self.view.indexAt(pos)
        if index.isValid():
            ids = self.model.track_ids(self.proxy.mapToSource(index))
            if ids and not set(ids) <= set(self.doc.selection):
                self.doc.set_selection(ids)  # the menu applies to the row right-clicked
        self.contextMenuRequested.emit(self.view.viewport().mapToGlobal(pos))
