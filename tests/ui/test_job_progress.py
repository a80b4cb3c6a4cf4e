"""The status bar's time left, as the operator reads it: on the analysis's uneven rate (a batch
decoded at once, then detected for seconds) it never jumps like 0:33 -> 15:09."""

from __future__ import annotations

import re

from app.base.progress import RateMeter
from app.ui.job_progress import JobProgress
from tests.test_progress import Clock, _staircase


def _seconds(text: str) -> int | None:
    m = re.search(r"(\d+):(\d\d) left", text)
    return int(m.group(1)) * 60 + int(m.group(2)) if m else None


def test_shown_time_left_is_steady_on_an_uneven_rate(qtbot):
    bar = JobProgress()
    qtbot.addWidget(bar)
    total = 900
    bar.begin(total, "analyze")
    clock = Clock()
    meter = RateMeter("analyze", total, clock=clock)
    shown: list[str] = []
    real_progress = meter.progress

    def progress(done, force=False, message=""):
        p = real_progress(done, force, message)
        if p is not None:
            bar.show_progress(p)
            shown.append(bar.bar.text() + " | " + bar.bar.format())
        return p

    meter.progress = progress
    _staircase(meter, clock, total, batch=4, decode_s=0.02, detect_s=2.5)
    assert "estimating…" in shown[0] and _seconds(shown[0]) is None  # the warm-up says so, with no number
    secs = [s for s in (_seconds(t) for t in shown) if s is not None]
    assert len(secs) > 100
    pairs = [(a, b) for a, b in zip(secs, secs[1:], strict=False) if a > 30]
    assert pairs and max(b / a for a, b in pairs) < 1.5  # never 0:33 -> 15:09
    assert secs[0] > 6 * 60  # the first number is about right (9 minutes of work): not 0:33
