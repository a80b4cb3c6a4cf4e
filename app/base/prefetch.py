"""Run an iterator ahead in a background thread, a few items at a time (bounded memory).

The analysis decodes and converts frames (PyAV and numpy release the GIL while they work) while
ONNX Runtime runs the detector on the frames before: on 2 cores the decoder no longer waits for
the models, nor the models for the decoder. The iterator runs entirely in the worker thread (a
``VideoReader`` is used by one thread only); its exceptions reach the consumer at the item where
they happened. ``close()`` (or leaving a ``with`` block) stops the worker and waits for it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")
_END = object()


class _Raised:
    def __init__(self, exc: BaseException):
        self.exc = exc


class Prefetch(Generic[T]):
    def __init__(self, items: Iterable[T], depth: int = 4, name: str = "prefetch"):
        self._q: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._items = items
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for item in self._items:
                if not self._put(item):
                    break
        except BaseException as e:  # noqa: BLE001 - handed to the consumer, raised there
            self._put(_Raised(e))
            return
        finally:
            close = getattr(self._items, "close", None)
            if close is not None and self._stop.is_set():
                try:
                    close()
                except Exception:  # noqa: BLE001 - a generator closed early
                    pass
        self._put(_END)

    def __iter__(self) -> Iterator[T]:
        while True:
            item = self._q.get()
            if item is _END:
                return
            if isinstance(item, _Raised):
                raise item.exc
            yield item

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._q.get(timeout=0.05)
            except queue.Empty:
                pass
        self._thread.join()

    def __enter__(self) -> Prefetch[T]:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
