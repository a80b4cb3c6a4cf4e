"""Export speed: what do masks cost next to decoding and encoding?

On one 1080p clip, in one run, it measures the frames per second of
  (i)   decode only,
  (ii)  decode + re-encode with no masks (the export pipeline with an empty project),
  (iii) export with 10 moving masks (gaussian, the default style; pixelate and solid too),
and prints the ratio (iii)/(ii). Target: >= 0.9 (masks must cost almost nothing next to x264).

    python bench/export_bench.py [--clip VIDEO] [--frames 150] [--preset medium]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.base.progress import run  # noqa: E402
from app.core.project import Keyframe, Project, Track  # noqa: E402
from app.core.shapes import Shape  # noqa: E402
from app.core.style import RedactionMethod, RedactionStyle  # noqa: E402
from app.media.frames import plane_image  # noqa: E402
from app.media.reader import VideoReader  # noqa: E402
from app.media.writer import EncodeSettings  # noqa: E402
from app.pipelines.export import export  # noqa: E402
from app.redaction.compose import redact  # noqa: E402


def _path(k: int, f: int, width: int, height: int) -> tuple[float, float, int]:
    """Where object ``k`` is at frame ``f``: top-left corner and size (80..260 px, like faces)."""
    size = 80 + 20 * k
    x = (width - size) * (0.5 + 0.45 * math.sin(0.05 * f + k))
    y = (height - size * 1.25) * (0.5 + 0.45 * math.cos(0.04 * f + 2 * k))
    return x, y, size


def make_clip(path: str, frames: int, w: int = 1920, h: int = 1080) -> None:
    """A textured 1080p29.97 clip: a slowly panning scene with 10 textured objects moving over it.

    The masks of (iii) sit on these objects, as a face's mask sits on the face: the encoder sees
    the same kind of motion with and without masks, so the ratio measures the masks' own cost.
    """
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (h // 8, w // 8 + 64, 3), dtype=np.uint8)
    base = cv2.resize(base, None, fx=8, fy=8, interpolation=cv2.INTER_CUBIC)
    sprites = [rng.integers(0, 255, (40, 32, 3), dtype=np.uint8) for _ in range(10)]
    out = av.open(path, "w")
    vs = out.add_stream("libx264", rate=Fraction(30000, 1001))
    vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
    vs.codec_context.options = {"crf": "20", "preset": "veryfast"}
    for i in range(frames):
        img = base[:, i : i + w].copy()
        for k, sp in enumerate(sprites):
            x, y, size = _path(k, i, w, h)
            patch = cv2.resize(sp, (size, int(size * 1.25)), interpolation=cv2.INTER_CUBIC)
            xi, yi = int(round(x)), int(round(y))
            img[yi : yi + patch.shape[0], xi : xi + patch.shape[1]] = patch[: h - yi, : w - xi]
        noise = rng.integers(0, 6, (h, w, 1), dtype=np.uint8)  # mild sensor-like noise
        f = av.VideoFrame.from_ndarray(np.ascontiguousarray(img + noise), format="bgr24")
        f.pts = i
        out.mux(vs.encode(f))
    out.mux(vs.encode(None))
    out.close()


def moving_masks(n_frames: int, width: int, height: int, count: int = 10, method=RedactionMethod.GAUSSIAN) -> Project:
    """One track per object of ``make_clip``, a keyframe every 5 frames (as the tracker would give)."""
    p = Project()
    style = RedactionStyle(method=method)
    for k in range(count):
        t = Track(id=f"face-{k:04d}", cls="face", keyframes=[], style=style)
        for f in list(range(0, n_frames, 5)) + [n_frames - 1]:
            x, y, size = _path(k, f, width, height)
            t.set_keyframe(Keyframe(f, Shape.rect(x, y, x + size, y + size * 1.25)))
        p.add_track(t)
    return p


def fps_of(fn) -> tuple[float, float]:
    t0 = time.perf_counter()
    n = fn()
    dt = time.perf_counter() - t0
    return n / dt, dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clip", help="1080p clip to use (default: generate one)")
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--preset", default="medium")
    ap.add_argument("--crf", type=int, default=18)
    ap.add_argument("--repeat", type=int, default=1, help="repeat (ii) and (iii) and keep the best of each")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="obscura-bench-")
    clip = args.clip or os.path.join(tmp, "clip1080.mp4")
    if not args.clip:
        make_clip(clip, args.frames)
    reader = VideoReader(clip)
    info = reader.info
    n = info.frame_count
    print(f"clip: {info.width}x{info.height} {info.codec} {float(info.fps):.3f} fps, {n} frames; "
          f"x264 preset={args.preset} crf={args.crf}; {os.cpu_count()} CPUs")

    def decode_only():
        return sum(1 for _ in reader.frames())

    settings = EncodeSettings(preset=args.preset, crf=args.crf, audio="drop")
    out = os.path.join(tmp, "out.mp4")

    def export_with(project):
        return lambda: run(export(project, clip, out, settings)).frames

    dec_fps, dec_t = fps_of(decode_only)
    print(f"(i)   decode only:                  {dec_fps:7.1f} fps  ({dec_t:.1f} s)")
    empty = Project()
    masks = {m: moving_masks(n, info.width, info.height, 10, m) for m in RedactionMethod}

    def decode_and_redact(project):
        def go():
            k = 0
            for fr in reader.frames():
                frame = fr.frame
                frame.make_writable()
                redact(plane_image(frame), [(s, st) for _t, s, st in project.masks_at(fr.index)])
                k += 1
            return k
        return go

    for m, proj in masks.items():
        f, _t = fps_of(decode_and_redact(proj))
        cost_ms = 1000.0 * (1.0 / f - 1.0 / dec_fps)
        print(f"      decode + 10 {m.value:<8} masks, no encode: {f:6.1f} fps -> masks cost {cost_ms:5.2f} ms/frame")
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        for name, proj in [("none", empty)] + [(m.value, p) for m, p in masks.items()]:
            f, _t = fps_of(export_with(proj))
            best[name] = max(best.get(name, 0.0), f)
    print(f"(ii)  decode + encode, no masks:    {best['none']:7.1f} fps")
    for m in RedactionMethod:
        print(f"(iii) export, 10 masks, {m.value:<9}: {best[m.value]:7.1f} fps  ratio (iii)/(ii) = "
              f"{best[m.value] / best['none']:.3f}")
    ratio = best["gaussian"] / best["none"]
    print(f"RESULT ratio (iii)/(ii) with the default gaussian style: {ratio:.3f} (target >= 0.9)")


if __name__ == "__main__":
    main()
