"""The process job: one input from start to finish (``obscura process``, batch, the service).

Probe once, check the output before a frame is analysed, analyse (or take the tracks of a
project), put the tracks into a fresh project, deliver. One generator, one typed result.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from app.base.progress import CancelToken, Progress
from app.core.edits import ReviewRules
from app.core.project import Project
from app.jobs.analysis import AnalysisOptions, AnalysisOutcome, DetectionFacts, analysis_job, apply_analysis
from app.jobs.delivery import Delivery, DeliveryOptions, delivery_job, preflight
from app.media.facts import MediaFacts


@dataclass
class ProcessOutcome:
    project: Project
    analysis: AnalysisOutcome | None  # None: the tracks came from a project file
    delivery: Delivery | None  # None: cancelled during the analysis

    @property
    def cancelled(self) -> bool:
        return (self.analysis is not None and self.analysis.cancelled) or self.delivery is None \
            or self.delivery.cancelled

    @property
    def exit_code(self) -> int:
        return 130 if self.cancelled else self.delivery.exit_code


def process_job(media: MediaFacts, detector, delivery: DeliveryOptions,
                analysis: AnalysisOptions | None = None, *, project: Project | None = None,
                rules: ReviewRules | None = None, styles: dict | None = None,
                cancel: CancelToken | None = None) -> Generator[Progress, None, ProcessOutcome]:
    """Analyse ``media`` with ``detector`` and deliver the redacted output. With ``project``, its
    tracks are used as they are and ``detector`` may be None (no detection runs). ``styles``: style
    fields to change for every class (``{"method": "solid"}``), or per class
    (``{"face": {"strength": 90}}``)."""
    cancel = cancel or CancelToken()
    delivery = delivery if delivery.started else replace(delivery, started=datetime.now(UTC))
    preflight(media, delivery)  # a wrong output type or folder fails now, not after the analysis
    outcome = None
    if project is None:
        analysis = analysis or AnalysisOptions()
        outcome = yield from analysis_job(media, detector, replace(analysis, refuse_damaged=True), cancel)
        project = Project()
        if outcome.cancelled:
            return ProcessOutcome(project, outcome, None)
        apply_analysis(project, outcome, rules)
        if delivery.leak.enabled and delivery.leak.config is None:
            delivery = replace(delivery, leak=replace(delivery.leak, config=outcome.detector_config))
    _restyle(project, styles or {})
    facts = outcome.detection if outcome is not None else DetectionFacts.none()
    done = yield from delivery_job(project, media, delivery, facts, cancel)
    return ProcessOutcome(project, outcome, done)


def _restyle(project: Project, styles: dict) -> None:
    per_class = {k: v for k, v in styles.items() if isinstance(v, dict)}
    common = {k: v for k, v in styles.items() if not isinstance(v, dict)}
    project.override_styles(common)
    for cls, changes in per_class.items():
        project.override_styles(changes, classes=[cls])
