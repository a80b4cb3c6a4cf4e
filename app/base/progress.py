"""Progress events and the cancel flag shared by every long-running pipeline."""

from __future__ import annotations

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
    """Frames per second and time left, smoothed over the whole run so far."""

    def __init__(self, stage: str, total: int):
        self.stage, self.total = stage, total
        self.t0 = time.perf_counter()
        self._last_emit = 0.0

    def progress(self, done: int, force: bool = False, message: str = "") -> Progress | None:
        now = time.perf_counter()
        if not force and now - self._last_emit < 0.1 and done < self.total:
            return None
        self._last_emit = now
        elapsed = max(1e-6, now - self.t0)
        fps = done / elapsed
        eta = (self.total - done) / fps if fps > 0 and self.total else None
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
