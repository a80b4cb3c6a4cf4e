"""Computes the timeline's waveform in the background when a video opens, and keeps it in memory
only (a few recent videos, keyed by path, size and modification time; never written to disk: a
soundtrack can hold a spoken name). The result goes to the timeline's waveform lane."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict

from PySide6.QtCore import QObject, Signal

from app.ui.audio_samples import waveform

CACHE_SIZE = 8
_cache: OrderedDict[tuple, object] = OrderedDict()
_lock = threading.Lock()


def _key(path: str) -> tuple:
    st = os.stat(path)
    return os.path.abspath(path), st.st_size, st.st_mtime_ns


def cached(path: str):
    """The waveform kept for ``path`` (unchanged since), or None."""
    try:
        key = _key(path)
    except OSError:
        return None
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    return None


def _remember(path: str, peaks) -> None:
    try:
        key = _key(path)
    except OSError:
        return
    with _lock:
        _cache[key] = peaks
        _cache.move_to_end(key)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)


def clear_cache() -> None:
    with _lock:
        _cache.clear()


class WaveformLoader(QObject):
    """One per window: on each opened video, the waveform from memory or from a worker thread."""

    ready = Signal(str, object)  # (media path, peaks array or None for no audio)
    _done = Signal(int, str, object)  # from the worker thread: (generation, path, peaks)

    def __init__(self, doc, timeline, parent: QObject | None = None):
        super().__init__(parent)
        self.doc, self.timeline = doc, timeline
        self._generation = 0
        self._thread: threading.Thread | None = None
        self.computed = 0  # how many were decoded (not from memory), for tests
        self._done.connect(self._on_done)  # queued: the worker emits from its own thread
        doc.projectReplaced.connect(self.start)

    def start(self) -> None:
        self._generation += 1
        info, path = self.doc.info, self.doc.media_path
        if info is None or not path:
            self.timeline.set_waveform(None, "")
            return
        if not info.audio:
            self.timeline.set_waveform(None, "no audio")
            return
        peaks = cached(path)
        if peaks is not None:
            self.timeline.set_waveform(peaks, "")
            self.ready.emit(path, peaks)
            return
        self.timeline.set_waveform(None, "computing…")
        gen = self._generation
        self._thread = threading.Thread(target=self._run, args=(gen, path, info), name="obscura-waveform",
                                        daemon=True)
        self._thread.start()

    def _run(self, gen: int, path: str, info) -> None:
        try:
            peaks = waveform(path, info, cancelled=lambda: gen != self._generation)
        except Exception:  # noqa: BLE001 - an undecodable soundtrack: the lane says so, no traceback
            peaks = False
        self._done.emit(gen, path, peaks)

    def _on_done(self, gen: int, path: str, peaks) -> None:
        if gen != self._generation:
            return  # another video was opened meanwhile
        if peaks is False:
            self.timeline.set_waveform(None, "unreadable")
            return
        self.computed += 1
        if peaks is not None:
            _remember(path, peaks)
        self.timeline.set_waveform(peaks, "" if peaks is not None else "no audio")
        self.ready.emit(path, peaks)

    def wait(self, timeout: float = 30.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout)
