"""Real test media, written with PyAV, and helpers to decode and compare it.

Every clip has texture (noise over gradients) and shapes that move, so an effect applied to a
region is measurable, and every clip is small (320x240 or so, 1-2 s) so the suite stays fast.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from app.core import Keyframe, KeyframeSource, Project, RedactionStyle, Shape, Track

NTSC = Fraction(30000, 1001)
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_DATA = SHARED / "data"
SHARED_VIDEOS = SHARED_DATA / "videos"
REDACTION_CHECK = SHARED / "tools" / "redaction_check.py"


# -- clip descriptions -------------------------------------------------------------------------
@dataclass(frozen=True)
class ClipSpec:
    """How to write one synthetic clip."""

    name: str
    ext: str = ".mp4"
    width: int = 320
    height: int = 240
    frames: int = 45
    rate: Fraction = NTSC
    codec: str = "libx264"
    pix_fmt: str = "yuv420p"
    audio: bool = False
    time_base: Fraction | None = None  # default 1/rate
    pts: tuple[int, ...] | None = None  # explicit pts (in time_base) for variable frame rate
    rotation: int = 0
    options: dict = field(default_factory=dict)

    @property
    def vfr(self) -> bool:
        return self.pts is not None

    @property
    def bit_depth(self) -> int:
        return 10 if "10" in self.pix_fmt else 8


def vfr_pts(frames: int, time_base: Fraction = Fraction(1, 90000)) -> tuple[int, ...]:
    """Timestamps with gaps alternating 1/30 s and 1/15 s."""
    short, long_ = int(Fraction(1, 30) / time_base), int(Fraction(1, 15) / time_base)
    pts, t = [], 0
    for i in range(frames):
        pts.append(t)
        t += short if i % 2 == 0 else long_
    return tuple(pts)


_X264 = {"preset": "ultrafast", "crf": "20"}

# The catalogue of synthetic clips the suite uses (see conftest.py for the fixtures).
CLIPS: dict[str, ClipSpec] = {
    spec.name: spec
    for spec in (
        ClipSpec("ntsc_audio", audio=True, options=_X264),
        ClipSpec("ntsc_silent", options=_X264),
        ClipSpec("cfr25", rate=Fraction(25), frames=30, options=_X264),
        ClipSpec("vfr", ext=".mp4", frames=30, rate=Fraction(20), time_base=Fraction(1, 90000),
                 pts=vfr_pts(30), options=_X264),
        ClipSpec("vfr_mkv", ext=".mkv", frames=30, rate=Fraction(20), time_base=Fraction(1, 1000),
                 pts=vfr_pts(30, Fraction(1, 1000)), codec="ffv1", options={"g": "1"}),
        ClipSpec("rotated", rotation=90, frames=30, options=_X264),
        ClipSpec("odd", width=321, height=243, pix_fmt="yuv444p", frames=30, options=_X264),
        ClipSpec("odd_ffv1", ext=".mkv", width=321, height=243, codec="ffv1", frames=20),
        ClipSpec("ten_bit", pix_fmt="yuv420p10le", frames=30, options=_X264),
        ClipSpec("bframes", frames=60, options={"preset": "medium", "crf": "20",
                                                "x264-params": "bframes=8:b-adapt=0:b-pyramid=normal:keyint=24"}),
        ClipSpec("lossless", ext=".mkv", codec="ffv1", frames=24, audio=True, options={"g": "1"}),
    )
}


# -- frame content -----------------------------------------------------------------------------
def textured_frame(i: int, width: int, height: int, seed: int = 0, high_bit: bool = False) -> np.ndarray:
    """Frame ``i``: gradients, noise and a few moving shapes (RGB, uint8 or uint16 when ``high_bit``)."""
    rng = np.random.default_rng(seed * 100_003 + i)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.empty((height, width, 3), np.float32)
    img[..., 0] = 60 + 120 * xx / max(1, width - 1)
    img[..., 1] = 60 + 120 * yy / max(1, height - 1)
    img[..., 2] = 128 + 60 * np.sin((xx + yy + 4 * i) / 9.0)
    # checkerboard detail, so blur and pixelation are obvious
    img += 30 * (((xx // 6 + yy // 6) % 2) - 0.5)[..., None]
    img = np.clip(img, 0, 255).astype(np.uint8)
    t = i / 10.0
    cx, cy = int(width * (0.3 + 0.2 * math.sin(t))), int(height * (0.5 + 0.2 * math.cos(t)))
    cv2.circle(img, (cx, cy), max(4, min(width, height) // 8), (240, 40, 40), -1)
    rx = int((i * 7) % max(1, width - 60))
    cv2.rectangle(img, (rx, height // 6), (rx + 50, height // 6 + 30), (20, 220, 60), -1)
    cv2.putText(img, f"{i:03d}", (8, height - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (250, 250, 250), 2)
    img = img.astype(np.float32) + rng.normal(0, 5, img.shape).astype(np.float32)
    if high_bit:
        return np.clip(img * 257.0, 0, 65535).astype(np.uint16)
    return np.clip(img, 0, 255).astype(np.uint8)


# -- writing -----------------------------------------------------------------------------------
_CONTAINER = {".mp4": "mp4", ".mkv": "matroska", ".mov": "mov"}


def blob_texture(rng: np.random.Generator, w: int, h: int, blobs: int, cell: int = 16,
                 radii: tuple[int, int] = (24, 7), noise: float = 5.0) -> np.ndarray:
    """A trackable BGR texture (the object and the background of the click-to-track clips): smooth
    colour noise (one random value per ``cell`` px, cubic), ``blobs`` discs of radius between
    min(w, h) / radii[0] and / radii[1], and grain of sigma ``noise``."""
    img = np.zeros((h, w, 3), np.float32)
    for c in range(3):
        small = rng.random((max(2, h // cell), max(2, w // cell))).astype(np.float32)
        img[:, :, c] = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC) * 140 + 50
    for _ in range(blobs):
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
        r = int(rng.integers(max(2, min(w, h) // radii[0]), max(3, min(w, h) // radii[1])))
        cv2.circle(img, (cx, cy), r, tuple(float(v) for v in rng.integers(0, 255, 3)), -1, cv2.LINE_AA)
    img += rng.normal(0, noise, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def write_clip(path: str | os.PathLike, spec: ClipSpec, seed: int = 0) -> Path:
    """Write ``spec`` to ``path`` and return the path."""
    path = Path(path)
    tb = spec.time_base or 1 / Fraction(spec.rate)
    pts = spec.pts or tuple(int(i / spec.rate / tb) for i in range(spec.frames))
    assert len(pts) == spec.frames
    out = av.open(str(path), "w", format=_CONTAINER[spec.ext])
    try:
        vs = out.add_stream(spec.codec, rate=spec.rate)
        vs.width, vs.height, vs.pix_fmt = spec.width, spec.height, spec.pix_fmt
        vs.time_base = tb
        vs.codec_context.time_base = tb
        if spec.options:
            vs.codec_context.options = dict(spec.options)
        if spec.rotation:
            vs.set_display_rotation(spec.rotation)
        aus = None
        if spec.audio:
            aus = out.add_stream("aac", rate=48000)
            aus.layout = "stereo"
        end = (pts[-1] + (pts[-1] - pts[-2] if len(pts) > 1 else 1)) * tb
        audio_samples = int(end * 48000)
        audio_written = 0
        high = spec.bit_depth > 8
        for i, p in enumerate(pts):
            img = textured_frame(i, spec.width, spec.height, seed, high_bit=high)
            vf = av.VideoFrame.from_ndarray(img, format="rgb48le" if high else "rgb24")
            vf.pts, vf.time_base = p, tb
            out.mux(vs.encode(vf))
            if aus is not None:
                upto = min(audio_samples, int((p * tb + Fraction(1, 10)) * 48000))
                audio_written = _write_tone(out, aus, audio_written, upto)
        out.mux(vs.encode(None))
        if aus is not None:
            _write_tone(out, aus, audio_written, audio_samples)
            out.mux(aus.encode(None))
    finally:
        out.close()
    return path


def _write_tone(out, aus, start: int, stop: int, chunk: int = 1024) -> int:
    """Encode a 440 Hz stereo tone for samples [start, stop) in ``chunk``-sample frames."""
    s = start
    while s < stop:
        n = min(chunk, stop - s)
        t = (np.arange(s, s + n) / 48000.0).astype(np.float64)
        tone = (0.2 * np.sin(2 * math.pi * 440 * t)).astype(np.float32)
        af = av.AudioFrame.from_ndarray(np.ascontiguousarray(np.stack([tone, tone])), format="fltp",
                                        layout="stereo")
        af.sample_rate, af.pts, af.time_base = 48000, s, Fraction(1, 48000)
        out.mux(aus.encode(af))
        s += n
    return s


def write_random_bytes(path: str | os.PathLike, size: int = 64 * 1024, seed: int = 1) -> Path:
    path = Path(path)
    path.write_bytes(np.random.default_rng(seed).integers(0, 256, size, np.uint8).tobytes())
    return path


def write_truncated(src: str | os.PathLike, dst: str | os.PathLike, fraction: float = 0.5) -> Path:
    data = Path(src).read_bytes()
    Path(dst).write_bytes(data[: int(len(data) * fraction)])
    return Path(dst)


def remux_faststart(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Copy ``src``'s streams into an MP4 with the index (moov) at the front."""
    with av.open(str(src)) as inp, av.open(str(dst), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        mapping = {s.index: out.add_stream_from_template(s) for s in inp.streams if s.type in ("video", "audio")}
        for pkt in inp.demux(*[inp.streams[i] for i in mapping]):
            if pkt.dts is None:
                continue
            pkt.stream = mapping[pkt.stream.index]
            out.mux(pkt)
    return Path(dst)


# -- reading -----------------------------------------------------------------------------------
def decode_planes(path: str | os.PathLike) -> list[list[np.ndarray]]:
    """Every video frame of ``path`` in its native format, as a list of plane arrays (copies)."""
    with av.open(str(path)) as c:
        return [frame_planes(f) for f in c.decode(video=0)]


def frame_planes(frame: av.VideoFrame) -> list[np.ndarray]:
    """``frame``'s planes as (h, w) arrays in their own dtype, without padding."""
    bits = max(c.bits for c in frame.format.components)
    dtype = np.dtype("<u2") if bits > 8 else np.uint8
    out = []
    for p in frame.planes:
        bpp = 2 if bits > 8 else 1
        arr = np.frombuffer(p, np.uint8).reshape(p.height, p.line_size)[:, : p.width * bpp]
        out.append(arr.copy().view(dtype) if bpp == 2 else arr.copy())
    return out


def frame_times(path: str | os.PathLike) -> list[Fraction]:
    """Presentation times (pts * time_base, exact) of every decoded video frame."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return [f.pts * s.time_base for f in c.decode(s)]


def decoded_frame_count(path: str | os.PathLike) -> int:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def audio_payloads(path: str | os.PathLike) -> list[bytes]:
    """The bytes of every (non-empty) packet of the first audio stream."""
    with av.open(str(path)) as c:
        if not c.streams.audio:
            return []
        return [bytes(p) for p in c.demux(c.streams.audio[0]) if p.size]


def audio_info(path: str | os.PathLike) -> tuple[str, int, int] | None:
    """(codec, sample rate, decoded sample count) of the first audio stream, or None."""
    with av.open(str(path)) as c:
        if not c.streams.audio:
            return None
        s = c.streams.audio[0]
        n = sum(f.samples for f in c.decode(s))
        return s.codec_context.name, s.codec_context.sample_rate, n


def first_rotation(path: str | os.PathLike) -> int:
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            return int(f.rotation or 0) % 360
    raise AssertionError(f"no frame in {path}")


# -- projects and shared media ----------------------------------------------------------------
def shared_video(name: str) -> Path:
    """A clip from ../shared/data/videos, or skip the test when the shared data is absent."""
    path = SHARED_VIDEOS / name
    if not path.is_file():
        pytest.skip(f"shared test media not found: {path} (expected beside the repository in ../shared/data)")
    return path


def make_project(width: int, height: int, frames: int) -> Project:
    """Three tracks over the whole clip: a moving rectangle, an ellipse and a polygon.

    Shapes are placed relative to the frame size so the same project fits every test clip.
    """
    w, h, last = width, height, max(1, frames - 1)
    p = Project()
    p.add_track(
        Track(
            "face-0001",
            "face",
            [
                Keyframe(0, Shape.rect(0.05 * w, 0.1 * h, 0.3 * w, 0.45 * h), KeyframeSource.MANUAL),
                Keyframe(last, Shape.rect(0.45 * w, 0.35 * h, 0.7 * w, 0.7 * h), KeyframeSource.MANUAL),
            ],
        )
    )
    p.add_track(
        Track(
            "plate-0001",
            "plate",
            [Keyframe(0, Shape.ellipse(0.6 * w, 0.05 * h, 0.9 * w, 0.3 * h), KeyframeSource.MANUAL),
             Keyframe(last, Shape.ellipse(0.6 * w, 0.05 * h, 0.9 * w, 0.3 * h), KeyframeSource.MANUAL)],
            style=RedactionStyle(method="pixelate", margin=5, feather=0),
        )
    )
    tri = [(0.1 * w, 0.95 * h), (0.35 * w, 0.6 * h), (0.5 * w, 0.95 * h)]
    p.add_track(
        Track(
            "manual-0001",
            "manual",
            [Keyframe(0, Shape.polygon(tri), KeyframeSource.MANUAL),
             Keyframe(last, Shape.polygon(tri), KeyframeSource.MANUAL)],
            style=RedactionStyle(method="solid", color=(255, 0, 255)),
        )
    )
    return p



# -- measures ----------------------------------------------------------------------------------
def ssim(a: np.ndarray, b: np.ndarray, where: np.ndarray | None = None, peak: float = 255.0) -> float:
    """Mean 7x7 SSIM of two single-channel images (any dtype), over ``where`` (bool) if given."""
    m = ssim_map(a, b, peak)
    return float(m[where].mean() if where is not None else m.mean())


def ssim_map(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> np.ndarray:
    """The 7x7 SSIM map (as shared/tools/redaction_check.py computes it)."""
    a = a.astype(np.float32)
    b = b.astype(np.float32)
    k, s = (7, 7), 1.5
    mu_a, mu_b = cv2.GaussianBlur(a, k, s), cv2.GaussianBlur(b, k, s)
    va = cv2.GaussianBlur(a * a, k, s) - mu_a**2
    vb = cv2.GaussianBlur(b * b, k, s) - mu_b**2
    cov = cv2.GaussianBlur(a * b, k, s) - mu_a * mu_b
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    return ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (va + vb + c2))


def detail_map(gray: np.ndarray, peak: float = 255.0) -> np.ndarray:
    """Pixels with local structure (7x7 local std > 6 on an 8-bit scale), as redaction_check.py."""
    g = gray.astype(np.float32) * (255.0 / peak)
    mu = cv2.GaussianBlur(g, (7, 7), 1.5)
    return np.sqrt(np.maximum(cv2.GaussianBlur(g * g, (7, 7), 1.5) - mu * mu, 0)) > 6


def redaction_scores(orig: np.ndarray, out: np.ndarray, where: np.ndarray, peak: float = 255.0):
    """How well ``out`` hides ``orig`` over the bool map ``where`` (single-channel images).

    Returns (detailed, share, structure): the fraction of ``where`` with local detail in the input;
    the share of those detailed pixels whose SSIM dropped below 0.85 (the acceptance measure of
    shared/tools/redaction_check.py, which wants >= 0.9); and their mean SSIM. Only detailed
    pixels are judged: on a flat area an untouched and a blurred patch look alike anyway.
    """
    det = detail_map(orig, peak) & where
    if not det.any():
        return 0.0, 1.0, 0.0
    smap = ssim_map(orig, out, peak)[det]
    return float(det.sum() / max(1, where.sum())), float((smap < 0.85).mean()), float(smap.mean())


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(peak * peak / mse)


def laplacian_var(gray: np.ndarray) -> float:
    return float(cv2.Laplacian(gray.astype(np.float32), cv2.CV_32F).var())
