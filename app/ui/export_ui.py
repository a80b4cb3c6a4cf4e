"""File ▸ Export: render the redacted video in a worker, from a frozen copy of the project.

The output is never the input; an existing file is replaced only after the operator agreed, and
only when the export succeeded (the pipeline writes a temporary file and renames it into place,
so a cancel or an error leaves nothing behind). Tracks that still need review are named first.

:meth:`ExportController.export_dialog` opens :class:`app.ui.export_dialog.ExportDialog` (format,
audio, range, checks); :meth:`ExportController.start` runs the delivery job
(:func:`app.jobs.delivery.delivery_job`: export, then the leak check and the audit report, as the
CLI and batch run them) with the chosen options in one worker. The status bar shows the progress
(fps, time left) and a Cancel button (it skips the leak check once the file is written); when the
file is written, a "Show in folder" button opens its folder. What the report says about detection
comes from the analysis that really ran on this video in this session (none: ``ran: false``).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from PySide6.QtCore import QObject, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox, QPushButton

from app.errors import ObscuraError
from app.ui.export_dialog import ExportDialog
from app.ui.export_dialog import default_output_path as _default_output_path
from app.ui.job_progress import JobProgress
from app.ui.workers import PipelineWorker


def default_output_path(media_path: str) -> str:
    return _default_output_path(media_path)


class ExportController(QObject):
    leakCheckFinished = Signal(object)  # the LeakReport of the last export's output
    afterExportFinished = Signal(object)  # the Delivery (leak check, report paths, notes)

    def __init__(self, win):
        super().__init__(win)
        self.win, self.doc = win, win.doc
        self.worker: PipelineWorker | None = None
        self.dialog: ExportDialog | None = None
        self.last_result = None
        self.last_after = None  # the last export's Delivery, once its steps after the export are over
        self.last_output: str | None = None
        self._job: dict = {}
        self._busy = False  # from start() until the job's end has been handled here (not only the thread's)
        sb = win.statusBar()
        self.job_progress = JobProgress("Cancel export")
        self.job_progress.cancelRequested.connect(self.cancel)
        self.progress, self.cancel_button = self.job_progress.bar, self.job_progress.cancel_button
        self.show_button = QPushButton("Show in folder")
        self.show_button.setToolTip("Open the folder of the exported file in the file manager")
        self.show_button.setVisible(False)
        self.show_button.clicked.connect(self.show_in_folder)
        sb.addPermanentWidget(self.job_progress)
        sb.addPermanentWidget(self.show_button)

    def running(self) -> bool:
        """True from :meth:`start` until the export and the steps after it are over."""
        return self._busy or (self.worker is not None and self.worker.running)

    # -- the dialog ------------------------------------------------------------------------------
    def export_dialog(self) -> bool:
        """Open the export dialog (window-modal, not blocking); Export in it starts the export."""
        if not self.doc.has_media or self.running():
            return False
        if self.dialog is not None:
            self.dialog.deleteLater()
        self.dialog = ExportDialog(self.doc, default_output_path(self.doc.media_path), self.win)
        self.dialog.accepted.connect(self._start_from_dialog)
        self.dialog.open()
        return True

    def _start_from_dialog(self) -> bool:
        opts = self.dialog.options()
        reasons = getattr(self.win, "reasons", None)
        if reasons is not None:
            reasons.set_case(opts.case_id, opts.operator)  # the project's case ID; the name for next time
        if not self.win.edit_actions.warn_unreviewed():
            return False
        # the dialog already asked about replacing an existing file
        return self.start(opts.output, confirm=False, settings=opts.settings, frame_range=opts.frame_range,
                          leak_check=opts.leak_check, report=opts.report, leak_mode=opts.leak_mode)

    # -- running ---------------------------------------------------------------------------------
    def start(self, output: str, confirm: bool = True, settings=None, frame_range: tuple[int, int] | None = None,
              leak_check: bool = False, report: bool = False, leak_mode: str | None = None) -> bool:
        """Export to ``output`` (asks about unreviewed tracks and overwriting when ``confirm``).

        ``settings``: :class:`app.media.writer.EncodeSettings` (default: H.264 CRF 18, audio copied);
        ``frame_range``: (first, last) frames, None for the whole video; ``leak_check`` and
        ``report``: the steps to run once the file is written (the delivery job runs them);
        ``leak_mode``: "quick" (None: the default) or "thorough"."""
        from app.jobs.delivery import DeliveryOptions, LeakOptions, delivery_job, preflight
        from app.media.facts import of_video

        if self.running():
            return False
        src = self.doc.media_path
        if os.path.abspath(output) == os.path.abspath(src) or (
            os.path.exists(output) and os.path.samefile(output, src)
        ):
            self.win.error("the output cannot be the input video: choose another file name")
            return False
        media = of_video(self.doc.info)  # probed when the video was opened: no second packet scan
        analysis = getattr(self.win, "analysis", None)
        facts = analysis.detection_facts() if analysis is not None else None
        # the leak check runs above the settings of the analysis that made these tracks (else the
        # inspector's settings for the next analysis)
        config = analysis.config if facts is not None else None
        if config is None and hasattr(self.win, "inspector"):
            config = self.win.inspector.detector_config()
        options = DeliveryOptions(output=output, settings=settings, frame_range=frame_range,
                                  leak=LeakOptions(enabled=bool(leak_check), config=config,
                                                   **({"mode": leak_mode} if leak_mode else {})),
                                  report=bool(report),
                                  operator=getattr(self.doc, "operator", ""), started=datetime.now(UTC))
        try:
            preflight(media, options)
        except ObscuraError as e:
            self.win.error(str(e))
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
        self._job = {"output": output, "project": frozen}
        self.last_after = self.last_output = None
        self.worker = PipelineWorker(lambda cancel: delivery_job(frozen, media, options, facts, cancel))
        # bound methods of this (main-thread) object: queued to the main thread. A lambda would run
        # in the worker's thread, where no widget may be touched.
        self.worker.progress.connect(self._on_progress)
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        total = (frame_range[1] - frame_range[0] + 1) if frame_range else self.doc.frame_count
        self.job_progress.begin(total, "export %p%", "Cancel export")
        self.show_button.setVisible(False)
        self.win.statusBar().showMessage(f"exporting {os.path.basename(output)}…")
        self._busy = True
        self.worker.start()
        return True

    def cancel(self) -> None:
        if self.worker is not None and self.worker.running:
            self.worker.cancel()

    @Slot(object)
    def _on_progress(self, p) -> None:
        from app.jobs.text import NOTE

        if p.stage == NOTE:
            if p.message.startswith("wrote ") and not p.message.startswith("wrote audit"):
                self.last_output = self._job.get("output")  # the file is in place: it can be shown
                self.show_button.setVisible(True)
            return
        if p.stage == "audit report":
            self.job_progress.busy("audit report")
            return
        if p.stage == "leak check":
            self.cancel_button.setText("Skip leak check")
        self.job_progress.show_progress(p)

    def _finish(self) -> None:
        self.job_progress.end()
        self._busy = False

    @Slot(object)
    def _on_finished(self, delivery) -> None:
        """The delivery job ended: the export (cancelled or written) and the steps after it."""
        self._finish()
        result = delivery.export
        self.last_result = result
        if result.cancelled:
            self.show_button.setVisible(False)
            self.win.statusBar().showMessage("export cancelled: no file was written", 8000)
            return
        self.last_output = result.output
        self.show_button.setVisible(True)
        self.last_after = delivery
        frozen = self._job.get("project")
        exempt = [t.id for t in frozen.tracks if not t.enabled] if frozen is not None else []
        parts = [f"exported {os.path.basename(result.output)}: {result.frames} frames, "
                 f"{result.masked_frames} with masks"]
        if result.audio_mutes:
            parts.append(f"{result.audio_mutes} audio span(s) muted")
        if exempt:
            parts.append(f"exempt (left visible): {', '.join(exempt)}")
        if delivery.leak is not None:
            self.leakCheckFinished.emit(delivery.leak)
            leaks = delivery.leak.leaks
            parts.append(f"leak check: {len(leaks)} possible leak(s)" if leaks else "leak check: nothing found")
        if delivery.report_paths:
            parts.append(f"report: {os.path.basename(delivery.report_paths[1])}")
        parts.extend(delivery.notes)
        self.win.statusBar().showMessage("; ".join(parts), 20000)
        self.afterExportFinished.emit(delivery)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._finish()
        written = self.last_output is not None and self.last_output == self._job.get("output")
        self.win.error(f"the export was written, but a step after it failed: {message}" if written else message)

    def show_in_folder(self) -> bool:
        """Open the folder of the last exported file in the file manager."""
        if not self.last_output:
            return False
        folder = os.path.dirname(os.path.abspath(self.last_output))
        return QDesktopServices.openUrl(QUrl.fromLocalFile(folder))
