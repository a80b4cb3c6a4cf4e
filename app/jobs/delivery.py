"""The delivery job: export -> leak check -> audit report, as one generator with one typed result.

Every adapter delivers through here (``obscura export`` and ``process``, batch, the service, the
editor's export dialog), so the steps after an export cannot drift apart again. Rules held here
and nowhere else:

* **One range rule.** ``frame_range=(first, last)`` exports those input frames; the leak check of
  that output numbers its hits and events in the *project's* frames (output frame ``i`` is project
  frame ``first + i``), so an editor seeks to them and masks them where they are.
* **What ran is what the report says.** The report's "detection" is the analysis this run really
  made (``DetectionFacts``: models, thresholds, device) or, when the tracks came from a project
  file, ``ran: false``.
* A cancel during the export leaves no file; a cancel (or a missing model) during the leak check
  still writes the report, which says the check did not finish.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from app.base.progress import CancelToken, Progress
from app.core.project import Project
from app.errors import ObscuraError, OutputError
from app.jobs.analysis import DetectionFacts
from app.jobs.text import export_line, leak_line, note, report_line
from app.media.facts import MediaFacts
from app.pipelines.export import ExportResult, check_frame_range, export
from app.pipelines.leakcheck import DEFAULT_GATE, DEFAULT_MODE, LeakReport, check_mode

LEAKS_FOUND_EXIT = 8  # the leak check found more events at or above the gate than allowed


@dataclass(frozen=True)
class LeakOptions:
    """How the leak check runs: every adapter (CLI, batch, the service, the editor) fills these.

    ``mode``: "quick" (the default: about 5 frames a second) or "thorough" (every frame);
    ``stride``, when set, overrides the mode's stride."""

    enabled: bool = False
    stride: int | None = None  # check every k-th frame (and the last); None: the mode's stride
    gate: float = DEFAULT_GATE  # an event whose best score reaches this fails the check
    max_events: int = 0  # failing events allowed
    config: object = None  # the analysis's DetectorConfig (the check runs above it); None: defaults
    mode: str = DEFAULT_MODE  # "quick" or "thorough" (app.pipelines.leakcheck.MODES)

    def check(self) -> None:
        check_mode(self.mode)
        if (self.stride is not None and int(self.stride) < 1) or int(self.max_events) < 0:
            raise ObscuraError("the leak check's stride must be 1 or more and its allowed events 0 or more")


@dataclass(frozen=True)
class DeliveryOptions:
    output: str
    settings: object = None  # app.media.writer.EncodeSettings for a video (None: the defaults)
    frame_range: tuple[int, int] | None = None  # (first, last) input frames, inclusive; None: all
    leak: LeakOptions = field(default_factory=LeakOptions)
    report: bool = True  # write OUTPUT.report.json and .html
    operator: str = ""
    started: datetime | None = None  # when the run began (the report's "started")


@dataclass
class Delivery:
    export: ExportResult
    detection: DetectionFacts
    leak: LeakReport | None = None
    report: dict | None = None
    report_paths: tuple[str, str] | None = None
    notes: tuple[str, ...] = ()  # steps skipped or failed after the export, in words
    gate: float = DEFAULT_GATE
    max_events: int = 0

    @property
    def cancelled(self) -> bool:
        return self.export.cancelled

    @property
    def frame_offset(self) -> int:
        """The project frame of the output's first frame."""
        return self.export.frame_range[0] if self.export.frame_range else 0

    @property
    def leak_passed(self) -> bool:
        return self.leak is None or self.leak.passed(self.gate, self.max_events)

    @property
    def exit_code(self) -> int:
        if self.cancelled:
            return 130
        return 0 if self.leak_passed else LEAKS_FOUND_EXIT


def preflight(media: MediaFacts, options: DeliveryOptions) -> None:
    """Everything that can be known about the output before a frame is analysed or written: the
    kind (a photo to a photo, a video to a video file type the writer makes), the codec and
    container together, the folder, not the input itself, the range and the leak options. Raises a
    one-line :class:`~app.errors.OutputError`."""
    from app.base.atomic import check_output_path
    from app.media.probe import is_image_path

    out = options.output
    if media.is_image != is_image_path(out):
        raise OutputError("a photo exports to a photo and a video to a video: use .jpg or .png for a photo, "
                          ".mp4, .mov, .m4v, .mkv or .avi for a video")
    if not media.is_image:
        from app.media.writer import EncodeSettings, check_container, container_for

        settings = options.settings or EncodeSettings()
        settings.validate()
        check_container(container_for(out, settings), media.info, out, settings.codec)
        check_frame_range(options.frame_range, media.frame_count)
    elif options.frame_range not in (None, (0, 0)):
        raise OutputError("a photo has one frame: no frame range")
    elif not out.lower().endswith(".png"):
        from app.media.images import read_alpha

        if read_alpha(media.path) is not None:
            raise OutputError(f"{media.path} has transparency (alpha), which a JPEG cannot hold: export it to .png")
    check_output_path(out, [media.path])
    options.leak.check()


def input_notes(media: MediaFacts, output: str | None = None) -> list[str]:
    """What the output holds less than the input file, in words (the report has the same, but the
    rounding of ``output``'s clock)."""
    info = media.info
    if info is None:
        return []
    lines = []
    if output is not None and output.lower().endswith(".mkv"):
        from fractions import Fraction

        worst = max(abs(t - round(t * 1000) / Fraction(1000)) for t in (p * info.time_base for p in info.pts))
        if worst:
            lines.append(f"Matroska keeps times to the millisecond: frame times are rounded by up to "
                         f"{float(worst) * 1000:.3f} ms (.mp4 and .mov keep them exactly)")
    if info.skipped_leading:
        lines.append(f"{media.path} starts mid-GOP: its first {info.skipped_leading} frames cannot be decoded "
                     f"(they need a keyframe the file does not have); the output holds the {info.frame_count} "
                     "frames from its first keyframe on")
    if info.dropped_streams:
        lines.append("not carried over to the output: " + "; ".join(info.dropped_streams))
    lines.extend(info.notes)
    return lines


def delivery_job(project: Project, media: MediaFacts, options: DeliveryOptions,
                 detection: DetectionFacts | None = None,
                 cancel: CancelToken | None = None) -> Generator[Progress, None, Delivery]:
    """Export ``project``'s masks over ``media`` into ``options.output``, then (as asked) run the
    leak check on the output and write the audit report. ``project`` is read throughout: pass a
    frozen copy when it may change meanwhile (the editor does). ``detection``: the facts of the
    analysis this run made (None: the tracks came from a project file)."""
    cancel = cancel or CancelToken()
    detection = detection or DetectionFacts.none()
    started = options.started or datetime.now(UTC)
    preflight(media, options)
    settings = None if media.is_image else options.settings
    result = yield from export(project, media.path, options.output, settings, cancel=cancel,
                               frame_range=options.frame_range, info=media.info)
    lo = options.leak
    out = Delivery(result, detection, gate=lo.gate, max_events=lo.max_events)
    if result.cancelled:
        return out
    yield note(export_line(options.output, result))
    for line in input_notes(media, options.output):
        yield note(line)
    notes = []
    if lo.enabled:
        from app.pipelines.leakcheck import leak_check

        try:
            out.leak = yield from leak_check(options.output, project, config=lo.config, stride=lo.stride,
                                             cancel=cancel, frame_offset=out.frame_offset, mode=lo.mode)
        except ObscuraError as e:  # e.g. a model missing: the report is still written, and says so
            notes.append(f"leak check failed: {e}")
        if out.leak is not None:
            yield note(leak_line(out.leak, lo.gate))
            if out.leak.cancelled:
                notes.append("leak check cancelled")
    if options.report:
        from app.pipelines.report import build_report, write_report

        yield Progress("audit report", 0, 0, message="writing the audit report")
        device = (detection.device if detection.ran else out.leak.device if out.leak is not None
                  else detection.device)
        out.report = build_report(
            project, media.path, options.output, result, operator=options.operator, started=started,
            finished=datetime.now(UTC), device=device, detector_config=detection.config if detection.ran else None,
            leak=out.leak, leak_gate=lo.gate, leak_max_failing=lo.max_events, media=media,
        )
        out.report_paths = write_report(out.report, options.output)
        yield note(report_line(out.report_paths))
    for n in notes:
        yield note(n)
    out.notes = tuple(notes)
    return out
