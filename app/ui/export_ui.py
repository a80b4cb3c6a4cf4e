"""File ▸ Export: render the redacted video in a worker, from a frozen copy of the project.

The output is never the input; an existing file is replaced only after the operator agreed, and
only when the export succeeded (the pipeline writes a temporary file and renames it into place,
so a cancel or an error leaves nothing behind). Tracks that still need review are named first.

:meth:`ExportController.export_dialog` opens :class:`app.ui.export_dialog.ExportDialog` (format,
audio, range, checks); :meth:`ExportController.start` runs an export with the chosen options. The
status bar shows the progress (fps, time left) and a Cancel button; when the file is written, a
"Show in folder" button opens its folder, and :meth:`ExportController._after_export` runs the
steps that follow an export (the leak check, the audit report) in the same worker slot.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime

from PySide6.QtCore import QObject, QThread, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox, QProgressBar, QPushButton

from app.errors import ObscuraError
from app.ui.export_dialog import ExportDialog, available
from app.ui.export_dialog import default_output_path as _default_output_path
from app.ui.workers import PipelineWorker


def default_output_path(media_path: str) -> str:
    return _default_output_path(media_path)


@dataclass
class AfterExport:
    """What ran after an export: the leak check's report and the audit report's files (or None
    when a step was off, unavailable or failed; ``notes`` says which and why)."""

    leak: object = None
    report_paths: tuple[str, str] | None = None
    notes: tuple[str, ...] = ()


class ExportController(QObject):
    leakCheckFinished = Signal(object)  # the LeakReport of the last export's output
    afterExportFinished = Signal(object)  # AfterExport

    def __init__(self, win):
        super().__init__(win)
        self.win, self.doc = win, win.doc
        self.worker: PipelineWorker | None = None
        self.dialog: ExportDialog | None = None
        self.last_result = None
        self.last_after: AfterExport | None = None
        self.last_output: str | None = None
        self._busy = False
        self._job: dict = {}
        sb = win.statusBar()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel export")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.show_button = QPushButton("Show in folder")
        self.show_button.setToolTip("Open the folder of the exported file in the file manager")
        self.show_button.setVisible(False)
        self.show_button.clicked.connect(self.show_in_folder)
        sb.addPermanentWidget(self.progress)
        sb.addPermanentWidget(self.cancel_button)
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
        if not self.win.edit_actions.warn_unreviewed():
            return False
        # the dialog already asked about replacing an existing file
        return self.start(opts.output, confirm=False, settings=opts.settings, frame_range=opts.frame_range,
                          leak_check=opts.leak_check, report=opts.report)

    # -- running ---------------------------------------------------------------------------------
    def start(self, output: str, confirm: bool = True, settings=None, frame_range: tuple[int, int] | None = None,
              leak_check: bool = False, report: bool = False) -> bool:
        """Export to ``output`` (asks about unreviewed tracks and overwriting when ``confirm``).

        ``settings``: :class:`app.media.writer.EncodeSettings` (default: H.264 CRF 18, audio copied);
        ``frame_range``: (first, last) frames, None for the whole video; ``leak_check`` and
        ``report``: the steps to run once the file is written (see :meth:`_after_export`)."""
        from app.pipelines.export import export

        if self.running():
            return False
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
        self._job = {"output": output, "input": src, "project": frozen, "frame_range": frame_range,
                     "leak_check": leak_check, "report": report, "started": datetime.now(UTC)}
        self.worker = PipelineWorker(lambda cancel: export(frozen, src, output, settings, cancel=cancel,
                                                           frame_range=frame_range))
        # bound methods of this (main-thread) object: queued to the main thread. A lambda would run
        # in the worker's thread, where no widget may be touched.
        self.worker.progress.connect(self._on_progress)
        self.worker.finished.connect(self._on_export_finished)
        self.worker.failed.connect(self._on_failed)
        total = (frame_range[1] - frame_range[0] + 1) if frame_range else self.doc.frame_count
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(0)
        self.progress.setFormat("export %p%")
        self.progress.setVisible(True)
        self.cancel_button.setText("Cancel export")
        self.cancel_button.setVisible(True)
        self.show_button.setVisible(False)
        self._busy = True
        self.win.statusBar().showMessage(f"exporting {os.path.basename(output)}…")
        self.worker.start()
        return True

    def cancel(self) -> None:
        if self.worker is not None and self.worker.running:
            self.worker.cancel()

    @Slot(object)
    def _on_progress(self, p) -> None:
        if p.total:
            self.progress.setRange(0, max(1, p.total))
        self.progress.setValue(p.done)
        eta = f", {int(p.eta_s // 60)}:{int(p.eta_s % 60):02d} left" if p.eta_s is not None else ""
        self.progress.setFormat(f"{p.stage} %p% ({p.fps:.0f} fps{eta})")

    def _finish(self) -> None:
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self._busy = False

    @Slot(object)
    def _on_export_finished(self, result) -> None:
        self._on_done(result, self._job.get("project"))

    def _on_done(self, result, frozen) -> None:
        self.last_result = result
        if result is None or result.cancelled:
            self._finish()
            self.win.statusBar().showMessage("export cancelled: no file was written", 8000)
            return
        self.last_output = result.output
        self.show_button.setVisible(True)
        exempt = [t.id for t in frozen.tracks if not t.enabled] if frozen is not None else []
        note = f"; exempt (left visible): {', '.join(exempt)}" if exempt else ""
        mutes = f"; {result.audio_mutes} audio span(s) muted" if getattr(result, "audio_mutes", 0) else ""
        self.win.statusBar().showMessage(
            f"exported {os.path.basename(result.output)}: {result.frames} frames, "
            f"{result.masked_frames} with masks{mutes}{note}", 15000)
        if not self._after_export(result):
            self._finish()

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._finish()
        self.win.error(message)

    def show_in_folder(self) -> bool:
        """Open the folder of the last exported file in the file manager."""
        if not self.last_output:
            return False
        folder = os.path.dirname(os.path.abspath(self.last_output))
        return QDesktopServices.openUrl(QUrl.fromLocalFile(folder))

    # -- after the export --------------------------------------------------------------------------
    def _after_export(self, result) -> bool:
        """Start the steps that follow a written export, in the worker: the leak check of the output
        (``app.pipelines.leakcheck.leak_check``) and the audit report (``app.pipelines.report``),
        each when asked for and importable (skipped, with a note, otherwise). True when a worker
        was started (the controller stays busy until it ends)."""
        job = self._job
        want_leak = job.get("leak_check") and available("app.pipelines.leakcheck")
        want_report = job.get("report") and available("app.pipelines.report")
        skipped = []
        if job.get("leak_check") and not want_leak:
            skipped.append("leak check not available: skipped")
        if job.get("report") and not want_report:
            skipped.append("audit report not available: skipped")
        if not (want_leak or want_report):
            self.last_after = AfterExport(notes=tuple(skipped)) if (job.get("leak_check") or job.get("report")) else None
            return False
        frozen, output, src, rng = job["project"], job["output"], job["input"], job["frame_range"]
        started = job["started"]
        operator = getattr(self.doc, "operator", "")
        device = self.win.device_label.text() if hasattr(self.win, "device_label") else ""
        # The analysis's detector settings (this session's last analysis, else the inspector's):
        # the leak check runs above them (higher resolution, lower thresholds).
        config = getattr(self.win, "last_detector_config", None)
        if config is None and hasattr(self.win, "inspector"):
            config = self.win.inspector.detector_config()
        detector_config = None
        if config is not None:
            import dataclasses

            detector_config = {k: (list(v) if isinstance(v, tuple) else v)
                               for k, v in dataclasses.asdict(config).items()
                               if isinstance(v, (int, float, str, bool, tuple, type(None)))}

        def steps(cancel):
            from app.pipelines.progress import Progress

            notes = list(skipped)
            leak = None
            if want_leak:
                from app.pipelines.export import range_project
                from app.pipelines.leakcheck import leak_check

                checked = range_project(frozen, *rng) if rng else frozen  # output frame i = input first + i
                try:
                    leak = yield from leak_check(output, checked, config=config, cancel=cancel)
                except ObscuraError as e:  # e.g. a model missing: the report is still written
                    notes.append(f"leak check failed: {e}")
                if getattr(leak, "cancelled", False):
                    notes.append("leak check cancelled")
            paths = None
            if want_report:
                from app.pipelines.report import build_report, write_report

                yield Progress("audit report", 0, 0, message="writing the audit report")
                rep = build_report(frozen, src, output, result, operator=operator, started=started,
                                   finished=datetime.now(UTC), device=device,
                                   detector_config=detector_config, leak=leak)
                paths = write_report(rep, output)
            return AfterExport(leak, paths, tuple(notes))

        if self.worker is not None and QThread.currentThread() is not self.worker.thread():
            self.worker.wait(5000)  # the export's thread is ending: let it go before its worker is dropped
        self.worker = PipelineWorker(steps)
        self.worker.progress.connect(self._on_progress)
        self.worker.finished.connect(self._on_after_done)
        self.worker.failed.connect(self._on_after_failed)
        self.progress.setValue(0)
        self.progress.setFormat("leak check %p%" if want_leak else "audit report")
        self.cancel_button.setText("Skip leak check" if want_leak else "Cancel")
        self.worker.start()
        return True

    @Slot(object)
    def _on_after_done(self, after: AfterExport) -> None:
        self._finish()
        self.last_after = after
        parts = []
        if after.leak is not None:
            self.leakCheckFinished.emit(after.leak)
            leaks = getattr(after.leak, "leaks", None) or []
            leaks = leaks() if callable(leaks) else leaks
            parts.append(f"leak check: {len(leaks)} possible leak(s)" if leaks else "leak check: nothing found")
        if after.report_paths:
            parts.append(f"report: {os.path.basename(after.report_paths[1])}")
        parts.extend(after.notes)
        if parts:
            self.win.statusBar().showMessage(f"exported {os.path.basename(self._job.get('output', ''))}; "
                                             + "; ".join(parts), 20000)
        self.afterExportFinished.emit(after)

    @Slot(str)
    def _on_after_failed(self, message: str) -> None:
        self._finish()
        self.last_after = AfterExport(notes=(message,))
        self.win.error(f"the export was written, but the step after it failed: {message}")
