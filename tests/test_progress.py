"""The time-left estimate: no wild jumps early on (the analysis decodes a batch, then detects)."""

from __future__ import annotations

import pytest

from app.base.progress import RateMeter


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _staircase(meter: RateMeter, clock: Clock, total: int, batch: int, decode_s: float, detect_s: float):
    """What the analysis does: each frame of a batch is decoded (and counted) quickly, then the
    whole batch is detected at once. Yields (time, eta) of every progress event."""
    done = 0
    out = []
    while done < total:
        for _ in range(batch):
            done += 1
            clock.t += decode_s
            p = meter.progress(done)
            if p is not None:
                out.append((clock.t - meter.t0, p.eta_s, done))
        clock.t += detect_s
    return out


def test_early_estimate_does_not_jump():
    clock = Clock()
    total, batch, detect_s = 900, 4, 2.5  # about 0.6 s per frame: 9 minutes in all
    meter = RateMeter("analyze", total, clock=clock)
    events = _staircase(meter, clock, total, batch, 0.02, detect_s)
    early = [eta for t, eta, _d in events if t < RateMeter.WARMUP_S]
    assert early and all(eta is None for eta in early)  # no estimate before it means something
    shown = [(t, eta, d) for t, eta, d in events if eta is not None and d < total]
    assert shown[0][0] < 10  # ... but one comes within seconds
    per_frame = (batch * 0.02 + detect_s) / batch
    for t, eta, done in shown:
        truth = (total - done) * per_frame
        assert 0.5 * truth <= eta <= 2.0 * truth, (t, eta, truth)
    jumps = [b / a for (_t, a, _d), (_u, b, _e) in zip(shown, shown[1:], strict=False) if a > 30]
    assert max(jumps) < 1.5 and min(jumps) > 0.6  # steady, never 0:33 -> 15:09


def test_rate_follows_a_lasting_change_and_finishes_at_zero():
    clock = Clock()
    meter = RateMeter("export", 2000, clock=clock)
    done = 0
    for _ in range(100):  # 10 s at 50 fps
        clock.t += 0.1
        done += 5
        meter.progress(done)
    assert meter.rate == pytest.approx(50, rel=0.05)
    for _ in range(400):  # then 40 s at 10 fps
        clock.t += 0.1
        done += 1
        meter.progress(done)
    assert meter.rate == pytest.approx(10, rel=0.1)
    assert meter.progress(2000, force=True).eta_s == 0.0
