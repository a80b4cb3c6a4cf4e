"""The status bar's progress for a job (analysis, export): a bar with the stage, fps and time left,
and a cancel button. One widget for every job the editor runs in a worker.

The time left is the job's smoothed estimate (:class:`app.base.progress.RateMeter`): none during
its warm-up ("estimating…"), then one that moves steadily on an uneven rate."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QPushButton, QWidget


def eta_text(eta_s: float | None) -> str:
    return f"{int(eta_s // 60)}:{int(eta_s % 60):02d} left" if eta_s is not None else ""


class JobProgress(QWidget):
    cancelRequested = Signal()

    def __init__(self, cancel_text: str = "Cancel", parent: QWidget | None = None):
        super().__init__(parent)
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(220)
        self.cancel_button = QPushButton(cancel_text)
        self.cancel_button.clicked.connect(self.cancelRequested)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.bar)
        lay.addWidget(self.cancel_button)
        self.setVisible(False)

    def begin(self, total: int, text: str, cancel_text: str | None = None) -> None:
        self.bar.setRange(0, max(1, total))
        self.bar.setValue(0)
        self.bar.setFormat(text)
        if cancel_text:
            self.cancel_button.setText(cancel_text)
        self.cancel_button.setVisible(True)
        self.bar.setVisible(True)
        self.setVisible(True)

    def show_progress(self, p) -> None:
        """A job's :class:`~app.base.progress.Progress`: the stage, %, fps and time left."""
        if p.total:
            self.bar.setRange(0, max(1, p.total))
        self.bar.setValue(p.done)
        eta = eta_text(p.eta_s)
        if not eta and p.total and p.done < p.total:
            eta = "estimating…"  # the meter's warm-up: no number until it means something
        self.bar.setFormat(f"{p.stage} %p% ({p.fps:.0f} fps{', ' + eta if eta else ''})")

    def busy(self, text: str) -> None:
        """A step without a count (the audit report): an indeterminate bar, no cancel."""
        self.bar.setRange(0, 0)
        self.bar.setFormat(text)
        self.cancel_button.setVisible(False)

    def end(self) -> None:
        self.setVisible(False)
