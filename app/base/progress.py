"""Progress events and the cancel flag shared by every long-running pipeline."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Progress:
    stage: str
    done: int
    total: int
    fps: float = 0.0
    eta_s: float | None = None
    message: str = ""
    partial: object = None  # an interim result for a live view (e.g. provisional tracks)

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0


class CancelToken:
    """Set from any thread; the pipeline checks it between frames and stops cleanly."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


class RateMeter:
    """Frames per second and time left, smoothed.

    A pipeline's progress comes in steps (the analysis decodes a batch of frames at once, then
    detects in it for a while), so the rate over the first second says little: the editor showed
    "0:33 left" and then "15:09 left" a few seconds later. The meter therefore gives no time left
    during a warm-up (:attr:`WARMUP_S`, and at least two rate samples), starts from the mean rate
    of the warm-up, and then follows an exponentially weighted rate (time constant :attr:`TAU_S`)
    sampled at most every :attr:`SAMPLE_S`, so one slow or fast batch moves the estimate a little,
    and a lasting change of speed moves it within a few time constants. ``clock`` is for tests.
    """

    WARMUP_S = 3.0
    SAMPLE_S = 0.5
    TAU_S = 8.0

    def __init__(self, stage: str, total: int, clock: Callable[[], float] = time.perf_counter):
        self.stage, self.total = stage, total
        self.clock = clock
        self.t0 = clock()
        self._last_emit = -1e9
        self._sample = (self.t0, 0)  # (time, done) of the last rate sample
        self._samples = 0
        self.rate: float | None = None  # smoothed frames per second; None during the warm-up

    def _update(self, now: float, done: int) -> None:
        t, d = self._sample
        dt = now - t
        if dt < self.SAMPLE_S:
            return
        self._sample = (now, done)
        self._samples += 1
        if self.rate is None:
            if now - self.t0 >= self.WARMUP_S and self._samples >= 2 and done > 0:
                self.rate = done / (now - self.t0)
            return
        alpha = 1.0 - math.exp(-dt / self.TAU_S)
        self.rate = alpha * ((done - d) / dt) + (1.0 - alpha) * self.rate

    def progress(self, done: int, force: bool = False, message: str = "") -> Progress | None:
        now = self.clock()
        if not force and now - self._last_emit < 0.1 and done < self.total:
            return None
        self._last_emit = now
        self._update(now, done)
        elapsed = max(1e-6, now - self.t0)
        fps = self.rate if self.rate is not None else done / elapsed
        if self.total and done >= self.total:
            eta = 0.0
        elif self.rate is not None and self.rate > 0 and self.total:
            eta = (self.total - done) / self.rate
        else:
            eta = None
        return Progress(self.stage, done, self.total, fps, eta, message)


def run(gen: Generator[Progress, None, T], on_progress: Callable[[Progress], None] | None = None) -> T:
    """Drive a pipeline generator to the end and return its result."""
    while True:
        try:
            p = next(gen)
        except StopIteration as stop:
            return stop.value
        if on_progress is not None:
            on_progress(p)
