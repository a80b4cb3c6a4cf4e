"""Run the analysis job the way the adapters do (probe once, analyse, apply) for tests that look
at the project afterwards."""

from __future__ import annotations

from app.base.progress import run
from app.jobs.analysis import AnalysisOptions, analysis_job, apply_analysis
from app.jobs.text import NOTE
from app.media.facts import open_media


def analyse_into(project, path, detector, cancel=None, on_progress=None, **options):
    """Analyse ``path`` into ``project`` (untouched auto tracks replaced); the pipeline's result.
    ``on_progress`` gets the progress events (not the notes)."""
    def progress(p):
        if on_progress is not None and p.stage != NOTE:
            on_progress(p)

    outcome = run(analysis_job(open_media(str(path)), detector, AnalysisOptions(**options), cancel), progress)
    apply_analysis(project, outcome)
    return outcome.result


def progress_only(gen):
    """The job's progress events without its notes (lines of text)."""
    for p in gen:
        if p.stage != NOTE:
            yield p
