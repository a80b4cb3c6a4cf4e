"""File ▸ Export: render the redacted video in a worker, from a frozen copy of the project.

The output is never the input; an existing file is replaced only after the operator agreed, and
only when the export succeeded (the pipeline writes a temporary file and renames it into place,
so a cancel or an error leaves nothing behind). Tracks that still need review are named first.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QMessageBox, QProgressBar, QPushButton

from app.ui.workers import PipelineWorker


def default_output_path(media_path: str) -> str:
    base, ext = os.path.splitext(media_path)
    return f"{base}.redacted{ext if ext.lower() in ('.mp4', '.mov', '.mkv', '.m4v') else '.mp4'}"


class ExportController(QObject):
    def __init__(self, win):
        super().__init__(win)
        self.win, self.doc = win, win.doc
        self.worker: PipelineWorker | None = None
        self.last_result = None
        sb = win.statusBar()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(200)
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel export")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel)
        sb.addPermanentWidget(self.progress)
        sb.addPermanentWidget(self.cancel_button)

    def running(self) -> bool:
        return self.worker is not None and self.worker.running

    def export_dialog(self) -> bool:
        if not self.doc.has_media or self.running():
            return False
        start = default_output_path(self.doc.media_path)
        path, _ = QFileDialog.getSaveFileName(self.win, "Export redacted video", start,
                                              "Videos (*.mp4 *.mkv *.mov);;All files (*)")
        return self.start(path) if path else False

    def start(self, output: str, confirm: bool = True) -> bool:
        """Export to ``output`` (asks about unreviewed tracks and overwriting when ``confirm``)."""
        from app.pipelines.export import export

        src = self.doc.media_path
        if os.path.abspath(output) == os.path.abspath(src) or (
            os.path.exists(output) and os.path.samefile(output, src)
        ):
            self.win.error("the output cannot be the input video: choose another file name")
            return False
        if confirm:
            if not self.win.edit_actions.warn_unreviewed():
                return False
            if os.path.exists(output):
                r = QMessageBox.question(self.win, "Replace file?",
                                         f"{os.path.basename(output)} already exists. Replace it?")
                if r != QMessageBox.StandardButton.Yes:
                    return False
        frozen = self.doc.project.copy()  # editing goes on while the export renders this copy
        self.worker = PipelineWorker(lambda cancel: export(frozen, src, output, cancel=cancel))
        self.worker.progress.connect(self._on_progress)
        self.worker.finished.connect(lambda r: self._on_done(r, frozen))
        self.worker.failed.connect(self._on_failed)
        self.progress.setRange(0, max(1, self.doc.frame_count))
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.win.statusBar().showMessage(f"exporting {os.path.basename(output)}…")
        self.worker.start()
        return True

    def cancel(self) -> None:
        if self.running():
            self.worker.cancel()

    def _on_progress(self, p) -> None:
        self.progress.setValue(p.done)
        eta = f", {int(p.eta_s // 60)}:{int(p.eta_s % 60):02d} left" if p.eta_s is not None else ""
        self.progress.setFormat(f"export %p% ({p.fps:.0f} fps{eta})")

    def _finish(self) -> None:
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)

    def _on_done(self, result, frozen) -> None:
        self._finish()
        self.last_result = result
        if result is None or result.cancelled:
            self.win.statusBar().showMessage("export cancelled: no file was written", 8000)
            return
        exempt = [t.id for t in frozen.tracks if not t.enabled]
        note = f"; exempt (left visible): {', '.join(exempt)}" if exempt else ""
        self.win.statusBar().showMessage(
            f"exported {os.path.basename(result.output)}: {result.frames} frames, "
            f"{result.masked_frames} with masks{note}", 15000)

    def _on_failed(self, message: str) -> None:
        self._finish()
        self.win.error(message)
