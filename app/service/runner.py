"""The one call the service makes into the product: run the process job on one file.

``run_job(input_path, output_path, options, cancel, on_progress) -> JobResult``: the same job as
``obscura process`` and ``obscura batch`` (:func:`app.jobs.process.process_job`: probe once,
analyse, deliver = export -> leak check -> audit report). ``cancel`` is the job's cancel token,
checked by every stage between frames; a cancelled export leaves no output.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from dataclasses import dataclass

from app.base.progress import CancelToken, Progress
from app.errors import ObscuraError
from app.service.options import JobOptions

# share of the whole job per stage (progress 0..1); other events (notes) do not move it
_WEIGHTS = {"analyze": 0.55, "extend": 0.10, "export": 0.20, "leak check": 0.15}


@dataclass
class JobResult:
    cancelled: bool = False
    frames: int = 0
    tracks: int = 0
    leak_events: int | None = None  # None: no leak check ran
    leak_passed: bool | None = None
    leak_message: str = ""
    report_path: str | None = None


def _progress(on_progress: Callable[[float, str], None] | None, leak: bool):
    order = [k for k in _WEIGHTS if leak or k != "leak check"]
    total = sum(_WEIGHTS[k] for k in order)

    def show(p: Progress) -> None:
        if on_progress is None or p.stage not in order:
            return
        before = sum(_WEIGHTS[k] for k in order[: order.index(p.stage)])
        on_progress(min(1.0, (before + _WEIGHTS[p.stage] * p.fraction) / total), p.stage)

    return show


def _operator() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name from the OS: the report says "not set"
        return ""


def run_job(input_path: str, output_path: str, options: JobOptions, cancel: CancelToken,
            on_progress: Callable[[float, str], None] | None = None) -> JobResult:
    from app.base.progress import run
    from app.detection.detector import Detector, DetectorConfig
    from app.jobs.analysis import AnalysisOptions
    from app.jobs.delivery import DeliveryOptions, LeakOptions
    from app.jobs.process import process_job
    from app.jobs.text import leak_failed_line
    from app.media.facts import open_media
    from app.media.writer import EncodeSettings

    media = open_media(input_path)
    config = DetectorConfig(device="auto", faces="face" in options.classes, plates="plate" in options.classes)
    delivery = DeliveryOptions(
        output=output_path, settings=None if media.is_image else EncodeSettings(preset=options.preset),
        leak=LeakOptions(enabled=options.leak_check, stride=options.leak_stride, config=config,
                          mode=options.leak_mode),
        report=True, operator=_operator())
    styles = {cls: changes for cls, s in options.styles.items() if (changes := s.model_dump(exclude_none=True))}
    detector = Detector(config)
    try:
        done = run(process_job(media, detector, delivery, AnalysisOptions(), styles=styles, cancel=cancel),
                   _progress(on_progress, options.leak_check))
    except ValueError as e:  # a style value the project refuses
        raise ObscuraError(f"options: styles: {e}") from None
    if done.cancelled or cancel.cancelled:
        return JobResult(cancelled=True)
    d = done.delivery
    if d.report is None or not d.report_paths:
        raise ObscuraError("no audit report was written")
    result = JobResult(frames=int(d.export.frames), tracks=len(done.project.tracks), report_path=d.report_paths[0])
    if d.leak is not None:
        result.leak_events, result.leak_passed = len(d.leak.leaks), d.leak_passed
        if not d.leak_passed:
            result.leak_message = leak_failed_line(d) + "; review the output in the editor"
    if on_progress is not None:
        on_progress(1.0, "done")
    return result
