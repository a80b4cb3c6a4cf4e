"""Waveform and playback-feed speed: a synthetic clip of SECONDS of 48 kHz stereo AAC (64x64
video), the timeline's waveform of it, and 10 s of playback samples read in 15-ms blocks.

    python bench/waveform_bench.py [SECONDS]
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.project import Project  # noqa: E402
from app.media.probe import probe  # noqa: E402
from app.ui.audio_samples import PLAY_RATE, PlaybackAudio, waveform  # noqa: E402

FPS = Fraction(30000, 1001)
RATE = 48000


def write_clip(path: str, secs: int) -> int:
    out = av.open(path, "w")
    vs = out.add_stream("libx264", rate=FPS, options={"preset": "ultrafast", "crf": "35"})
    vs.width = vs.height = 64
    vs.pix_fmt = "yuv420p"
    aus = out.add_stream("aac", rate=RATE)
    aus.layout = "stereo"
    frames = int(secs * FPS)
    img = np.zeros((64, 64, 3), np.uint8)
    for i in range(frames):
        vf = av.VideoFrame.from_ndarray(img, format="bgr24")
        vf.pts, vf.time_base = i, 1 / FPS
        out.mux(vs.encode(vf))
    n = int(secs * RATE)
    t = np.arange(n) / RATE
    x = (0.3 * np.sin(2 * math.pi * 300 * t) * (np.sin(2 * math.pi * 0.7 * t) > 0)).astype(np.float32)
    for s in range(0, n, 1024):
        block = np.ascontiguousarray(np.stack([x[s:s + 1024]] * 2))
        af = av.AudioFrame.from_ndarray(block, format="fltp", layout="stereo")
        af.sample_rate, af.pts, af.time_base = RATE, s, Fraction(1, RATE)
        out.mux(aus.encode(af))
    out.mux(vs.encode(None))
    out.mux(aus.encode(None))
    out.close()
    return frames


def main() -> None:
    secs = int(sys.argv[1]) if len(sys.argv) > 1 else 120
    path = os.path.join(tempfile.mkdtemp(), "wave_bench.mp4")
    frames = write_clip(path, secs)
    info = probe(path)
    t0 = time.perf_counter()
    w = waveform(path, info)
    dt = time.perf_counter() - t0
    print(f"waveform: {secs} s of 48 kHz stereo AAC, {info.frame_count} frames: {dt:.2f} s "
          f"({secs / dt:.0f}x real time), {w.nbytes} bytes in memory")
    player = PlaybackAudio(path, info, Project(), frame=frames // 2)
    t0 = time.perf_counter()
    got = 0
    while got < PLAY_RATE * 10:
        got += len(player.read(720))  # 15-ms blocks, as the sink is fed
    dt = time.perf_counter() - t0
    player.close()
    print(f"playback samples: 10 s from the middle in 15-ms blocks: {dt:.3f} s of CPU ({10 / dt:.0f}x real time)")


if __name__ == "__main__":
    main()
