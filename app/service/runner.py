"""The one call the service makes into the product: run a delivery job on one file.

``run_job(input_path, output_path, options, cancel, on_progress) -> JobResult``: detect, track,
redact, leak-check and report, as ``obscura process`` does. ``cancel`` is checked by every stage
between frames; a cancelled job leaves no output (the pipelines write through temporary files).

Interim: until the job layer (``app.jobs``) lands, this calls the pipeline generators in the
order ``obscura process`` does; it is the only place to change when it does.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from app.errors import ObscuraError
from app.pipelines.progress import CancelToken, Progress
from app.service.options import JobOptions

# share of the whole job per stage (progress 0..1)
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
        if on_progress is None:
            return
        stage = p.stage
        before = sum(_WEIGHTS[k] for k in order[: order.index(stage)]) if stage in order else 0.0
        on_progress(min(1.0, (before + _WEIGHTS.get(stage, 0.0) * p.fraction) / total), p.stage)

    return show


def run_job(input_path: str, output_path: str, options: JobOptions, cancel: CancelToken,
            on_progress: Callable[[float, str], None] | None = None) -> JobResult:
    from app.core.project import Project
    from app.detection.detector import Detector, DetectorConfig
    from app.media.probe import is_image_path
    from app.media.writer import EncodeSettings
    from app.pipelines.analyze import analyze
    from app.pipelines.export import export
    from app.pipelines.leakcheck import DEFAULT_GATE, leak_check
    from app.pipelines.progress import run
    from app.pipelines.report import build_report, detector_facts, write_report

    started = datetime.now(UTC)
    show = _progress(on_progress, options.leak_check)
    result = JobResult()
    detector = Detector(DetectorConfig(device="auto", faces="face" in options.classes,
                                       plates="plate" in options.classes))
    project = Project()
    analysed = run(analyze(project, input_path, detector, cancel=cancel, refuse_damaged=True), show)
    if analysed.cancelled or cancel.cancelled:
        return JobResult(cancelled=True)
    try:
        for cls, style in options.styles.items():
            changes = style.model_dump(exclude_none=True)
            if changes:
                project.styles[cls] = project.styles[cls].replace(**changes)
    except ValueError as e:
        raise ObscuraError(f"options: styles: {e}") from None
    settings = None if is_image_path(input_path) else EncodeSettings(preset=options.preset)
    if settings is not None:
        settings.validate()
    exported = run(export(project, input_path, output_path, settings, cancel=cancel), show)
    if exported.cancelled or cancel.cancelled:
        return JobResult(cancelled=True)
    leak = None
    if options.leak_check:
        leak = run(leak_check(output_path, project, config=detector.config, stride=options.leak_stride,
                              cancel=cancel), show)
        if leak.cancelled or cancel.cancelled:
            return JobResult(cancelled=True)
    try:
        operator = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name from the OS: the report says "not set"
        operator = ""
    report = build_report(project, input_path, output_path, exported, operator=operator, started=started,
                          finished=datetime.now(UTC), device=detector.device.describe(),
                          detector_config=detector_facts(detector), leak=leak, leak_gate=DEFAULT_GATE,
                          leak_max_failing=0)
    result.report_path, _html = write_report(report, output_path)
    result.frames = int(exported.frames)
    result.tracks = len(project.tracks)
    if leak is not None:
        failing = leak.failing(DEFAULT_GATE)
        result.leak_events, result.leak_passed = len(leak.leaks), leak.passed(DEFAULT_GATE, 0)
        if not result.leak_passed:
            result.leak_message = (f"leak check failed: {len(failing)} leak event(s) with score >= "
                                   f"{DEFAULT_GATE:g}; review the output in the editor")
    if on_progress is not None:
        on_progress(1.0, "done")
    return result
