"""The jobs every adapter calls: the CLI, ``obscura batch``, the REST service and the editor's
worker threads. One pipeline, thin adapters.

* :func:`~app.jobs.analysis.analysis_job`: media facts + a detector + typed options -> the tracks
  and their statistics (no project is changed); :func:`~app.jobs.analysis.apply_analysis` puts them
  into a project, keeping the operator's work.
* :func:`~app.jobs.delivery.delivery_job`: export -> leak check -> audit report, one range rule
  (leak events always in the project's frame numbers), one typed :class:`~app.jobs.delivery.Delivery`.
* :func:`~app.jobs.process.process_job`: both, for one file (``process``, batch, the service).

Each is a generator that yields :class:`~app.base.progress.Progress` and honours a
:class:`~app.base.progress.CancelToken`; drive it with :func:`app.base.progress.run`. Nothing here
imports Qt or argparse.
"""

_WHERE = {
    "AnalysisOptions": "analysis", "AnalysisOutcome": "analysis", "DetectionFacts": "analysis",
    "analysis_job": "analysis", "apply_analysis": "analysis",
    "Delivery": "delivery", "DeliveryOptions": "delivery", "LeakOptions": "delivery",
    "delivery_job": "delivery", "preflight": "delivery",
    "ProcessOutcome": "process", "process_job": "process",
}
__all__ = list(_WHERE)


def __getattr__(name: str):
    """The jobs load their pipelines (PyAV, OpenCV) only when first used: ``import app.jobs`` is cheap."""
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f"app.jobs.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'app.jobs' has no attribute {name!r}")
