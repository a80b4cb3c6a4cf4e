"""The "Leak check" review list: what the post-export check still found in the output.

Each row is one event (an object visible over some frames, outside every mask), strongest first;
events at or above the gate are marked. Clicking a row seeks to its strongest frame and draws its
box on the frame (``leakSelected``: the window hands the event to the viewport's
:class:`~app.ui.overlays.LeakMarker`); "Add mask here" turns the event's boxes into a manual track
(one undo step) that starts from the box drawn, so the next export covers it. Exempt and rejected hits (the operator's own decisions) are listed after the
leaks, greyed, for the record.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core import edits
from app.core.shapes import Shape
from app.core.track import Keyframe, KeyframeSource, Track

EVENT_ROLE = Qt.ItemDataRole.UserRole + 10


class LeakPanel(QWidget):
    leakSelected = Signal(object)  # the LeakEvent picked (None: none), for the box on the frame

    def __init__(self, doc, parent: QWidget | None = None):
        super().__init__(parent)
        self.doc = doc
        self.report = None
        self.gate = 0.5
        self.summary = QLabel("No leak check yet: it runs after each export.")
        self.summary.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["", "Class", "Time", "Frames", "Score"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.itemSelectionChanged.connect(self._on_select)
        self.add_button = QPushButton("Add mask here")
        self.add_button.setToolTip("Make a manual mask track from this event's boxes (then export again)")
        self.add_button.clicked.connect(self.add_mask)
        self.add_button.setEnabled(False)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.add_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.summary)
        lay.addWidget(self.tree, 1)
        lay.addLayout(row)
        doc.projectReplaced.connect(lambda: self.set_report(None))

    # -- content ---------------------------------------------------------------------------------
    def set_report(self, report, gate: float = 0.5) -> None:
        """Show ``report`` (a LeakReport; None clears). Its events are in the project's frames, a
        range export's too (the delivery job numbers them so)."""
        self.report, self.gate = report, gate
        self.tree.clear()
        self.add_button.setEnabled(False)
        self.leakSelected.emit(None)
        if report is None:
            self.summary.setText("No leak check yet: it runs after each export.")
            return
        leaks = sorted(report.leaks, key=lambda e: -e.max_score)
        others = report.exempt + report.rejected
        failing = [e for e in leaks if e.max_score >= gate]
        checked = f"{report.frames_checked} frames checked" + (f" (every {report.stride})" if report.stride > 1 else "")
        if not leaks:
            self.summary.setText(f"✓ {report.output}: nothing visible outside the masks ({checked}).")
        else:
            self.summary.setText(f"{report.output}: {len(leaks)} possible leak(s), {len(failing)} at score ≥ "
                                 f"{gate:.2f} ({checked}). Click one to see it.")
        for e in leaks + others:
            it = QTreeWidgetItem(["⚠" if e.kind == "leak" and e.max_score >= gate else
                                  ("•" if e.kind == "leak" else e.kind), e.cls,
                                  f"{e.start_tc}" + ("" if e.first_frame == e.last_frame else f" – {e.end_tc}"),
                                  f"{e.first_frame}–{e.last_frame}", f"{e.max_score:.2f}"])
            it.setData(0, EVENT_ROLE, e)
            it.setToolTip(0, e.describe())
            if e.kind != "leak":
                for c in range(5):
                    it.setForeground(c, QColor("#868e96"))
            elif e.max_score >= gate:
                it.setForeground(0, QColor("#fa5252"))
            self.tree.addTopLevelItem(it)
        for c in range(5):
            self.tree.resizeColumnToContents(c)

    def events(self) -> list:
        return [self.tree.topLevelItem(i).data(0, EVENT_ROLE) for i in range(self.tree.topLevelItemCount())]

    def current_event(self):
        items = self.tree.selectedItems()
        return items[0].data(0, EVENT_ROLE) if items else None

    # -- actions ---------------------------------------------------------------------------------
    def _on_select(self) -> None:
        e = self.current_event()
        self.add_button.setEnabled(e is not None and e.kind == "leak")
        self.leakSelected.emit(e)
        if e is not None:
            self.doc.set_frame(e.peak_frame)
            self.doc.message.emit(e.describe())

    def add_mask(self) -> Track | None:
        """A manual track from the selected event's boxes (grown a little), one undo step."""
        e = self.current_event()
        if e is None or not e.boxes:
            return None
        tid = self.doc.project.new_track_id("manual")
        frames = sorted(e.boxes)
        kfs = []
        for f in frames:
            x1, y1, x2, y2 = e.boxes[f]
            pad = 0.15 * max(x2 - x1, y2 - y1)
            kfs.append(Keyframe(f, Shape.rect(x1 - pad, y1 - pad, x2 + pad, y2 + pad), KeyframeSource.MANUAL))
        track = Track(tid, "manual", kfs, label="other", review="approved")
        if len(kfs) > 2:  # the fewest keyframes that reproduce the boxes
            track = edits.apply_follow(edits.new_manual_track(tid, kfs[0].shape, frames[0], label="other"),
                                       frames[0], kfs[0].shape, {k.frame: k.shape.bbox for k in kfs})
            track = edits.clone(track, keyframes=[Keyframe(k.frame, k.shape, KeyframeSource.MANUAL)
                                                  for k in track.keyframes])
        self.doc.edit(f"Mask leak {e.id}", [*self.doc.project.tracks, track], selection=[tid])
        self.doc.message.emit(f"added {tid} over frames {frames[0]}-{frames[-1]}: export again to redact it")
        return self.doc.project.track(tid)
