"""The analysis job: detect and track one input; return the tracks, change no project.

``analysis_job(media, detector, options, cancel)`` yields progress and returns an
:class:`AnalysisOutcome`: the tracks found (``built``), their statistics, and the facts of the
detection that really ran (models, thresholds, the device). :func:`apply_analysis` is the separate,
pure step that puts those tracks into a project: it replaces only untouched automatic tracks, so
re-analysis never overwrites the operator's work.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field

from app.base.progress import CancelToken, Progress
from app.core.edits import ReviewRules
from app.core.project import Project, Track
from app.jobs.text import analysis_line, note
from app.media.facts import MediaFacts
from app.pipelines.analyze import AnalyzeResult, analyze, apply_tracks


@dataclass(frozen=True)
class AnalysisOptions:
    stride: int = 1  # detect on every k-th frame only (tracks carry the frames between)
    frame_range: tuple[int, int] | None = None  # (start, end) frames, end exclusive; None: all
    extend: bool = True  # follow each track visually past its detections
    refuse_damaged: bool = False  # a truncated video is refused before any detection (process, batch)
    preview_every: float | None = None  # seconds between provisional tracks in progress (the editor)
    thorough: bool = False  # the reference detection on every frame instead of the scheduler (slower)

    def __post_init__(self) -> None:
        from app.errors import ObscuraError

        if int(self.stride) < 1:
            raise ObscuraError(f"stride must be 1 or more, got {self.stride}")
        if self.frame_range is not None:
            a, b = self.frame_range
            if not (0 <= int(a) < int(b)):
                raise ObscuraError(f"analysis range must be START:END with 0 <= START < END, got {a}:{b}")


@dataclass(frozen=True)
class DetectionFacts:
    """What detection really ran in this run: for the audit report ("detection") and the leak check."""

    ran: bool
    device: str = ""  # e.g. "CPU (no NVIDIA GPU driver found)"
    config: dict | None = None  # the detector's settings and thresholds (JSON types)

    @classmethod
    def of(cls, detector) -> DetectionFacts:
        from app.pipelines.report import detector_facts

        return cls(True, detector.device.describe(), detector_facts(detector))

    @classmethod
    def none(cls) -> DetectionFacts:
        return cls(False, "none (no detection in this run)", None)


@dataclass
class AnalysisOutcome:
    result: AnalyzeResult
    detection: DetectionFacts
    media: MediaFacts
    detector_config: object = None  # the DetectorConfig (the leak check runs above it)
    by_class: dict = field(default_factory=dict)

    @property
    def built(self) -> list:
        return self.result.built

    @property
    def cancelled(self) -> bool:
        return self.result.cancelled


def analysis_job(media: MediaFacts, detector, options: AnalysisOptions | None = None,
                 cancel: CancelToken | None = None) -> Generator[Progress, None, AnalysisOutcome]:
    """Detect and track ``media`` with ``detector``. Cancelling returns an outcome with
    ``cancelled`` set and no tracks; nothing else was changed."""
    o = options or AnalysisOptions()
    yield note(f"obscura: {detector.describe()}")
    from app.pipelines.schedule import Schedule

    sched = Schedule.off() if o.thorough else Schedule()
    result = yield from analyze(media, detector, cancel, stride=o.stride, frame_range=o.frame_range,
                                extend=o.extend, refuse_damaged=o.refuse_damaged, preview_every=o.preview_every,
                                schedule=sched)
    if not result.cancelled:
        yield note(analysis_line(result))
    facts = DetectionFacts.of(detector)
    if facts.config is not None and result.passes:
        fast = getattr(detector, "fast_precision", lambda: "fp32")()
        facts.config["schedule"] = {
            "mode": "thorough" if o.thorough else "fast", "description": sched.describe(),
            "frames": dict(result.passes), "fast_pass_graphs": fast if result.passes.get("full", 0) < result.frames
            else "fp32 (reference)",
        }
        if getattr(detector, "precision_note", ""):
            facts.config["schedule"]["note"] = detector.precision_note
    return AnalysisOutcome(result, facts, media, getattr(detector, "config", None), dict(result.by_class))


def apply_analysis(project: Project, outcome: AnalysisOutcome,
                   rules: ReviewRules | None = None) -> tuple[list[Track], list[str]]:
    """Put ``outcome``'s tracks into ``project`` (its media set when it has none): the untouched
    automatic tracks are replaced, every track an operator touched is kept. Returns (the tracks
    removed, the ids added). A cancelled outcome changes nothing."""
    if outcome.cancelled:
        return [], []
    if project.media is None:
        project.media = outcome.media.ref()
    return apply_tracks(project, outcome.built, rules)
