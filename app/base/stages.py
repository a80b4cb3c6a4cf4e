"""Time per pipeline stage, for benchmarks: off unless ``OBSCURA_STAGE_TIMES`` names a JSON file.

``with stage("face model"): ...`` adds the block's wall time to that stage; ``timed(name, it)``
times each step of an iterator (decoding). At exit the totals are written to the file (seconds
per stage and how many times each ran). Nothing else is recorded: no frames, no paths.
"""

from __future__ import annotations

import atexit
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

_PATH = os.environ.get("OBSCURA_STAGE_TIMES") or None
totals: dict[str, list[float]] = {}  # name -> [seconds, calls]


def enabled() -> bool:
    return _PATH is not None


def add(name: str, seconds: float) -> None:
    if _PATH is None:
        return
    t = totals.setdefault(name, [0.0, 0])
    t[0] += seconds
    t[1] += 1


@contextmanager
def stage(name: str):
    if _PATH is None:
        yield
        return
    t0 = time.perf_counter()
    try:
        yield
    finally:
        add(name, time.perf_counter() - t0)


def timed(name: str, it) -> Iterator:
    """Iterate ``it``, adding the time each ``next`` takes to ``name``."""
    if _PATH is None:
        yield from it
        return
    it = iter(it)
    while True:
        t0 = time.perf_counter()
        try:
            item = next(it)
        except StopIteration:
            add(name, time.perf_counter() - t0)
            return
        add(name, time.perf_counter() - t0)
        yield item


def _write() -> None:
    if _PATH and totals:
        with open(_PATH, "w") as f:
            json.dump({k: {"seconds": round(v[0], 4), "calls": v[1]} for k, v in totals.items()}, f, indent=1)


atexit.register(_write)
