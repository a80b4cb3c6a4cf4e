"""Sound while playing: the soundtrack, with the project's mutes and bleeps applied, played in sync
with the video through Qt Multimedia's ``QAudioSink``, fed from PyAV decode
(:class:`app.ui.audio_samples.PlaybackAudio`, the export's own mute spans and editor).

Playback is heard at 1x forward; at other speeds, backwards and while paused it is silent. The
sink is topped up every few milliseconds; when the sound and the video clock drift apart by more
than :data:`MAX_DRIFT_S` (a stall, a seek, a new mute), the sound restarts at the playhead.

Qt Multimedia is not in ``PySide6-Essentials`` (what the project installs); it comes with
``PySide6-Addons`` (PyPI, about 175 MB to download, 440 MB installed, for this one module) and
needs the system's ``libpulse0``. Without it the editor still plays the video, silently, and the
transport's speaker note says why (:func:`multimedia_status`). The waveform lane does not need it.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QLabel

from app.ui.audio_samples import PLAY_RATE

FEED_MS = 15
MAX_DRIFT_S = 0.12
LATENCY_S = 0.1  # what the sink may hold ahead


def multimedia_status() -> tuple[bool, str]:
    """(True, the output device's name) when sound can be played, else (False, why not). Call it
    with a QApplication running: Qt Multimedia set up without one breaks later (it aborted here)."""
    from PySide6.QtCore import QCoreApplication

    if QCoreApplication.instance() is None:
        return False, "no sound: ask again once the application runs"
    try:
        from PySide6.QtMultimedia import QMediaDevices
    except ImportError as e:
        missing = str(e).split(":")[0] if "cannot open shared object" in str(e) else "PySide6.QtMultimedia"
        return False, (f"no sound: {missing} is missing. PySide6-Essentials has no Qt Multimedia; "
                       "PySide6-Addons (PyPI) provides it, and it needs the system's libpulse0")
    dev = QMediaDevices.defaultAudioOutput()
    if dev.isNull():
        return False, "no sound: the system has no audio output device"
    return True, dev.description()


class AudioPlayback(QObject):
    """One per window: follows the playback controller and plays the soundtrack at 1x."""

    def __init__(self, doc, controller, parent: QObject | None = None):
        super().__init__(parent)
        self.doc, self.controller = doc, controller
        self.available, self.reason = multimedia_status()
        self.label = QLabel("🔊" if self.available else "🔇")
        self.label.setObjectName("audio_status")
        self.label.setToolTip(f"Sound while playing at 1x: {self.reason}" if self.available else self.reason)
        self.enabled = True
        self.fed: list[np.ndarray] | None = None  # the blocks written since the last start (set a list to keep them)
        self.fed_segments: list[tuple[int, list[np.ndarray]]] = []  # (start frame, blocks) while ``fed`` is kept
        self.started_at_frame: int | None = None
        self.starts: list[tuple[int, str]] = []  # (frame, why) of each start: for tests and the log
        self._sink = self._io = self._src = None
        self._t0 = 0.0
        self._written = 0  # sample frames written since the start
        self._timer = QTimer(self)
        self._timer.setInterval(FEED_MS)
        self._timer.timeout.connect(self._feed)
        if not self.available:
            return
        controller.stateChanged.connect(self._follow)
        doc.frameChanged.connect(self._on_frame)
        doc.tracksChanged.connect(self._on_edit)
        doc.projectReplaced.connect(self.stop)

    @property
    def active(self) -> bool:
        return self._sink is not None

    def _wanted(self) -> bool:
        info = self.doc.info
        return (self.enabled and self.available and info is not None and bool(info.audio)
                and self.controller.playing and self.controller.speed == 1.0)

    def _follow(self) -> None:
        if self._wanted():
            if not self.active:
                self.start(self.doc.frame, "play")
        else:
            self.stop()

    def _on_frame(self, frame: int) -> None:
        """The playhead moved: along with the sound while it plays on; elsewhere (a seek, a review
        loop going round) the sound goes there too."""
        if not (self.active and self.controller.playing) or self.started_at_frame is None:
            return
        expected = self.started_at_frame + (time.perf_counter() - self._t0) * float(self.doc.fps)
        if abs(frame - expected) > max(3.0, MAX_DRIFT_S * float(self.doc.fps)):
            self.start(frame, "seek")

    def _on_edit(self) -> None:
        if self.active:
            self.start(self.doc.frame, "edit")  # a mute added or moved: heard at once

    # -- the sink ------------------------------------------------------------------------------
    def start(self, frame: int, why: str = "play") -> None:
        from PySide6.QtMultimedia import QAudioFormat, QAudioSink, QMediaDevices

        from app.ui.audio_samples import PlaybackAudio

        self.stop()
        fmt = QAudioFormat()
        fmt.setSampleRate(PLAY_RATE)
        fmt.setChannelCount(2)
        fmt.setSampleFormat(QAudioFormat.SampleFormat.Float)
        self._src = PlaybackAudio(self.doc.media_path, self.doc.info, self.doc.project, frame)
        self._sink = QAudioSink(QMediaDevices.defaultAudioOutput(), fmt, self)
        self._sink.setBufferSize(int(PLAY_RATE * LATENCY_S) * 8 * 2)
        self._io = self._sink.start()
        self.started_at_frame = frame
        self.starts.append((frame, why))
        if self.fed is not None:
            self.fed = []
            self.fed_segments.append((frame, self.fed))
        self._t0 = time.perf_counter()
        self._written = 0
        self._feed()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        if self._sink is not None:
            self._sink.stop()
            self._sink.deleteLater()
        if self._src is not None:
            self._src.close()
        self._sink = self._io = self._src = None

    def _feed(self) -> None:
        if self._sink is None:
            return
        elapsed = time.perf_counter() - self._t0
        ahead = self._written / PLAY_RATE - elapsed  # seconds written beyond what the clock says
        if ahead < -MAX_DRIFT_S:  # fell behind (a stall): start again where the video is
            self.start(self.doc.frame, "drift")
            return
        want = int((elapsed + LATENCY_S) * PLAY_RATE) - self._written
        room = self._sink.bytesFree() // 8
        n = min(want, room)
        if n <= 0:
            return
        block = self._src.read(n)
        if not len(block):
            self._timer.stop()  # the end of the soundtrack
            return
        self._io.write(block.tobytes())
        self._written += len(block)
        if self.fed is not None:
            self.fed.append(block)
