"""The timeline panel: ruler, thumbnails, one lane per track and the playhead.

``TimelineWidget`` is imported lazily, so walking the package tree (tests/test_architecture.py
imports every package to list its modules) does not load Qt.
"""

__all__ = ["TimelineWidget"]


def __getattr__(name: str):
    if name == "TimelineWidget":
        from app.ui.timeline.widget import TimelineWidget

        return TimelineWidget
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
