"""The soundtrack for the editor: a waveform (one peak per video frame) for the timeline, and the
samples playback plays, with the project's audio mutes applied exactly as the export applies them
(the same :func:`app.pipelines.export.audio_edit` spans through the same editor the AAC encoder is
fed by), so what the operator hears is what the export will hold.

No Qt here: the editor runs :func:`waveform` in a worker thread (:mod:`app.ui.waveform`) and keeps
the result in memory only (never on disk: a soundtrack can hold a spoken name).
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import av
import numpy as np

PLAY_RATE = 48_000  # what playback plays: 48 kHz stereo float
PLAY_LAYOUT = "stereo"


def frame_start_samples(info, rate: int) -> np.ndarray:
    """The first sample (at ``rate``) of each video frame, exactly: ``ceil(pts * time_base * rate)``
    on the input's clock, the export's own rule for where a mute starts."""
    tb = Fraction(info.time_base)
    num, den = tb.numerator * rate, tb.denominator
    return np.array([-((-p * num) // den) for p in info.pts], dtype=np.int64)


def waveform(path: str, info, cancelled: Callable[[], bool] = lambda: False) -> np.ndarray | None:
    """The soundtrack's loudest sample (0..1, all channels) in each video frame: an array of
    ``info.frame_count`` floats; None when the video has no audio. Decodes the first audio stream
    once, in blocks (memory stays small for an hour of sound). ``cancelled`` is polled."""
    if not getattr(info, "audio", None) or not info.frame_count:
        return None
    peaks = np.zeros(info.frame_count, dtype=np.float32)
    with av.open(path) as c:
        if not c.streams.audio:
            return None
        stream = c.streams.audio[0]
        stream.thread_type = "AUTO"
        rate = stream.rate or stream.codec_context.sample_rate
        starts = frame_start_samples(info, rate)
        next_s: int | None = None
        for frame in c.decode(stream):
            if cancelled():
                return None
            data = frame.to_ndarray()
            if data.size == 0:
                continue
            if not frame.format.is_planar:
                data = data.reshape(-1, len(frame.layout.channels)).T
            if data.dtype.kind in "iu":
                data = data.astype(np.float32) / float(np.iinfo(data.dtype).max)
            amp = np.abs(data).max(axis=0)
            if frame.pts is not None and frame.time_base:
                s0 = round(frame.pts * Fraction(frame.time_base) * rate)  # exact: samples are integers
            else:
                s0 = next_s or 0
            next_s = s0 + len(amp)
            _add_block(peaks, starts, s0, amp)
    return np.clip(peaks, 0.0, 1.0)


def _add_block(peaks: np.ndarray, starts: np.ndarray, s0: int, amp: np.ndarray) -> None:
    """Fold one decoded block (``amp[k]`` is sample ``s0 + k``) into the per-frame peaks: one
    max per frame the block touches (a block is about one frame long), not a lookup per sample."""
    if s0 < starts[0]:  # sound before the first frame: not shown
        cut = int(starts[0] - s0)
        if cut >= len(amp):
            return
        amp, s0 = amp[cut:], int(starts[0])
    f0 = int(np.searchsorted(starts, s0, side="right")) - 1
    f1 = int(np.searchsorted(starts, s0 + len(amp) - 1, side="right")) - 1
    f1 = min(f1, len(peaks) - 1)
    if f0 > f1:
        return
    offsets = np.concatenate(([0], starts[f0 + 1:f1 + 1] - s0)).astype(np.int64)
    block = np.maximum.reduceat(amp, offsets)
    np.maximum(peaks[f0:f1 + 1], block, out=peaks[f0:f1 + 1])


class PlaybackAudio:
    """Decoded, mute-applied soundtrack from a video frame on: :meth:`read` gives the next block
    of 48 kHz stereo float32 samples (shape ``(n, 2)``, interleaved order) as playback needs
    them. Sample-exact with the export: the mutes are the export's own spans and editor."""

    def __init__(self, path: str, info, project, frame: int = 0):
        from app.media.writer import _AudioEditor
        from app.pipelines.export import audio_edit, frame_time

        self.start_s = frame_time(info, max(0, min(frame, info.frame_count - 1))) if info.frame_count else Fraction(0)
        self._container = av.open(path)
        self._stream = self._container.streams.audio[0]
        self._resampler = av.AudioResampler(format="fltp", layout=PLAY_LAYOUT, rate=PLAY_RATE)
        self._editor = _AudioEditor(audio_edit(project, info), PLAY_RATE, PLAY_LAYOUT, Fraction(1, PLAY_RATE))
        tb = self._stream.time_base
        self._container.seek(int(self.start_s / tb) if tb else 0, stream=self._stream, backward=True)
        self._frames = self._container.decode(self._stream)
        self._pending = np.zeros((0, 2), dtype=np.float32)
        self._skip_before = int(self.start_s * PLAY_RATE)  # samples before the start: dropped
        self.done = False

    def _more(self) -> bool:
        for frame in self._frames:
            out = []
            for rf in self._resampler.resample(frame):
                if rf.pts is None and frame.pts is not None:
                    rf.pts = int(frame.pts * frame.time_base * PLAY_RATE)
                rf.time_base = Fraction(1, PLAY_RATE)
                edited = self._editor.process(rf)
                if edited is None:
                    continue
                data = edited.to_ndarray()  # (2, n) planar, mutes applied
                first = int(edited.pts)
                if first + data.shape[1] <= self._skip_before:
                    continue
                if first < self._skip_before:
                    data = data[:, self._skip_before - first:]
                self._skip_before = 0
                out.append(data.T)
            if out:
                self._pending = np.concatenate([self._pending, *out])
                return True
        self.done = True
        return False

    def read(self, n: int) -> np.ndarray:
        """Up to ``n`` sample frames (fewer only at the end of the soundtrack)."""
        while len(self._pending) < n and not self.done:
            self._more()
        out, self._pending = self._pending[:n], self._pending[n:]
        return np.ascontiguousarray(out, dtype=np.float32)

    def close(self) -> None:
        self._container.close()
