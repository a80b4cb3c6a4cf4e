"""Analyze (Ctrl+R): the analysis job in a worker thread, its tracks shown as they are found.

A thin adapter over :func:`app.jobs.analysis.analysis_job`: the job runs in a
:class:`~app.ui.workers.PipelineWorker` and changes no project; its provisional tracks (progress
events with ``partial``) are shown outside the undo stack, and when it finishes,
:func:`app.jobs.analysis.apply_analysis` puts the final tracks into a copy of the project's tracks,
which becomes one undoable step. Only this (main) thread touches the document.

The facts of the last finished analysis (which detection ran, on which device: from the job's own
outcome, never from the status bar's text) are kept for the export's leak check and audit report.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QMessageBox

from app.jobs.text import NOTE
from app.ui.workers import PipelineWorker


def is_auto(track) -> bool:
    from app.core.edits import is_untouched_auto

    return is_untouched_auto(track)


class AnalysisController(QObject):
    def __init__(self, win):
        super().__init__(win)
        self.win, self.doc = win, win.doc
        self.worker: PipelineWorker | None = None
        self.config = None  # the DetectorConfig of the last analysis started (the leak check runs above it)
        self.facts = None  # DetectionFacts of the last analysis that finished in this session
        self.facts_media: str | None = None  # ... and the video they belong to
        self._baseline: tuple | None = None  # (tracks, undo index) before provisional tracks were shown
        self._provisional: list[str] = []
        self._busy = False  # from start() until the job's end has been handled here (not only the thread's)

    def running(self) -> bool:
        return self._busy or (self.worker is not None and self.worker.running)

    # -- starting and stopping -------------------------------------------------------------------
    def start(self, confirm: bool = True) -> bool:
        from app.media.facts import of_video

        win, doc = self.win, self.doc
        if not doc.has_media or self.running():
            return False
        auto = sum(1 for t in doc.project.tracks if is_auto(t))
        kept = len(doc.project.tracks) - auto
        if confirm and auto:
            r = QMessageBox.question(
                win, "Analyze again?",
                f"Analysis will replace {auto} automatic track(s). {kept} track(s) with your edits, "
                "reviews or exemptions are kept as they are.",
            )
            if r != QMessageBox.StandardButton.Yes:
                return False
        config = win.inspector.detector_config()
        self.config = config
        media = of_video(doc.info)  # the editor probed the video when it opened it: no second scan
        frame_count = media.frame_count

        def job(cancel):
            from app.detection.detector import Detector
            from app.jobs.analysis import AnalysisOptions, analysis_job

            detector = Detector(config)
            return (yield from analysis_job(media, detector, AnalysisOptions(preview_every=1.0), cancel))

        self._baseline = None
        self._provisional = []
        self.worker = PipelineWorker(job)
        self.worker.progress.connect(self._on_progress)
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        win.progress.setRange(0, max(1, frame_count))
        win.progress.setValue(0)
        win.progress.setVisible(True)
        win.cancel_button.setVisible(True)
        win.act_cancel.setEnabled(True)
        win.act_analyze.setEnabled(False)
        win.analysis_label.setText("analysing…")
        self._busy = True
        self.worker.start()
        return True

    def cancel(self) -> None:
        if self.running():
            self.win.analysis_label.setText("cancelling…")
            self.worker.cancel()

    # -- provisional tracks ----------------------------------------------------------------------
    def _apply_provisional(self, built: list) -> None:
        """Show the tracks found so far (outside the undo stack; replaced by one command at the end)."""
        from app.pipelines.analyze import apply_tracks

        if self._baseline is None:  # the project as it was, and the undo position then
            self._baseline = (list(self.doc.project.tracks), self.doc.undo.index())
        _removed, added = apply_tracks(self.doc.project, built, self.win.review_rules())
        self._provisional = added
        self.doc.tracksChanged.emit()

    def _restore_baseline(self) -> None:
        """Take the provisional tracks away again: the project exactly as before the analysis (or,
        if the operator edited meanwhile, their edits with the provisional tracks removed)."""
        self.doc.project.tracks = self.tracks_without_analysis()
        self._provisional = []
        self._baseline = None
        self.doc.tracksChanged.emit()

    def tracks_without_analysis(self) -> list | None:
        """The tracks as they would be if the running analysis were cancelled now (None: no
        provisional tracks are shown)."""
        if self._baseline is None:
            return None
        tracks, undo_index = self._baseline
        if self.doc.undo.index() == undo_index:
            return list(tracks)
        provisional = set(self._provisional)
        keep = [t for t in self.doc.project.tracks if t.id not in provisional]
        have = {t.id for t in keep}
        return keep + [t for t in tracks if t.id not in have and is_auto(t)]

    # -- the worker's signals (queued to this thread) ----------------------------------------------
    @Slot(object)
    def _on_progress(self, p) -> None:
        win = self.win
        if p.stage == NOTE:
            if p.message.startswith("obscura: detection on"):  # which models run where: the job says
                win.device_label.setText(p.message.removeprefix("obscura: "))
            return
        if p.total:
            win.progress.setRange(0, p.total)
        win.progress.setValue(p.done)
        eta = f", {int(p.eta_s // 60)}:{int(p.eta_s % 60):02d} left" if p.eta_s is not None else ""
        if p.stage == "extend":
            win.analysis_label.setText(f"following tracks past the detections: {p.done}/{p.total}{eta}")
        else:
            win.analysis_label.setText(f"analysing {p.done}/{p.total} frames, {p.fps:.1f} fps{eta}")
        if p.partial is not None:
            self._apply_provisional(p.partial)
            win.autosave_now()

    def _finish_ui(self, text: str) -> None:
        self._busy = False
        win = self.win
        win.progress.setVisible(False)
        win.cancel_button.setVisible(False)
        win.act_cancel.setEnabled(False)
        win.act_analyze.setEnabled(True)
        win.analysis_label.setText(text)

    @Slot(object)
    def _on_finished(self, outcome) -> None:
        from app.core.project import Project
        from app.jobs.analysis import apply_analysis

        if self._baseline is not None:
            self._restore_baseline()
        if outcome is None or outcome.cancelled:
            self._finish_ui("analysis cancelled: nothing changed")
            return
        after = Project(media=self.doc.project.media, tracks=list(self.doc.project.tracks))
        apply_analysis(after, outcome, self.win.review_rules())
        self.doc.edit(f"Analysis ({len(outcome.built)} tracks)", after.tracks, stamp=False)
        self.facts, self.facts_media = outcome.detection, self.doc.media_path
        r = outcome.result
        by = ", ".join(f"{n} {c}" for c, n in sorted(r.by_class.items())) or "nothing found"
        self._finish_ui(f"analysed {r.frames} frames: {by} ({r.seconds:.0f} s)")
        self.win.autosave_now()

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        if self._baseline is not None:
            self._restore_baseline()
        self._finish_ui("analysis failed")
        self.win.error(message)

    def detection_facts(self):
        """What detection ran on the open video in this session (None: none did)."""
        return self.facts if self.facts is not None and self.facts_media == self.doc.media_path else None
