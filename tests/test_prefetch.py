"""app.base.prefetch: items in order, errors where they happened, early stop frees the worker."""

from __future__ import annotations

import threading
import time

import pytest

from app.base.prefetch import Prefetch


def test_items_arrive_in_order_and_the_worker_ends():
    with Prefetch(iter(range(50)), depth=3) as ahead:
        assert list(ahead) == list(range(50))
    assert not any(t.name == "prefetch" for t in threading.enumerate())


def test_an_error_reaches_the_consumer_at_its_item():
    def items():
        yield 1
        yield 2
        raise ValueError("the file is corrupt after frame 2")

    got = []
    with pytest.raises(ValueError, match="corrupt after frame 2"), Prefetch(items(), depth=2) as ahead:
        for x in ahead:
            got.append(x)
    assert got == [1, 2]


def test_stopping_early_closes_the_source_and_joins_the_worker():
    closed = threading.Event()

    def endless():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.set()

    t0 = time.perf_counter()
    ahead = Prefetch(endless(), depth=2, name="endless")
    for x in ahead:
        if x == 5:
            break
    ahead.close()
    assert closed.wait(2.0) and time.perf_counter() - t0 < 3.0
    assert not any(t.name == "endless" for t in threading.enumerate())
