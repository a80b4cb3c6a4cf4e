"""The hostile media corpus (issue 9, item 1): strange, broken and malicious files, written from scratch.

Nothing binary is committed: every file is generated here with PyAV, numpy and a few byte patches.
Each case names the outcome the product owes the operator:

* ``error``: a non-zero exit and exactly one line on stderr, ``obscura: error: ...``, naming the file
  and the problem; no output (and no temporary ``.part`` file) at the target;
* ``ok``: exit 0 and a correct output (it decodes; the frame count, the frame size, the bit depth,
  the rotation tag, the timestamps and the audio streams match the input; for the rotated demo
  clip, its face and plate are hidden);
* ``either``: a bit-flipped file may still be readable or not, depending on where the flips land;
  either outcome above is fine, but nothing else (no traceback, no hang, no partial output).

And for every case: no traceback, no internal error, no hang (a time limit per command), no
runaway memory (an address-space cap on the child, and its peak resident memory checked), and the
input's SHA-256 unchanged.

Usage::

    python tests/hostile_corpus.py OUTDIR              # write the corpus (and cases.json) to OUTDIR/corpus
    python tests/hostile_corpus.py --run OUTDIR        # write it, run the CLI on every case, print the table
    python tests/hostile_corpus.py --list              # the cases, what each owes, what each is
    python tests/hostile_corpus.py --run OUTDIR --json results.json --probe-only --cases trunc_50,vfr

    # before and after a fix: the old code unpacked beside, then the table with a "before" column
    mkdir -p /tmp/old && git archive HEAD app models/manifest.toml resources | tar -x -C /tmp/old
    python tests/hostile_corpus.py --run /tmp/h1 --source /tmp/old --json /tmp/before.json
    python tests/hostile_corpus.py --run /tmp/h2 --before /tmp/before.json

``tests/test_hostile_media.py`` runs the same cases under pytest.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import resource
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make ``tests.media_factory`` importable
    sys.path.insert(0, str(REPO))

from tests.media_factory import remux_faststart, textured_frame  # noqa: E402

W, H = 320, 240
FRAMES = 12
RATE = Fraction(30)
X264 = {"preset": "ultrafast", "crf": "23"}

# Limits for each CLI child process.
TIME_LIMIT_S = 60.0  # per command; a healthy case takes a few seconds
ADDRESS_SPACE_CAP = 4 << 30  # RLIMIT_AS: room for onnxruntime and the decoders, not for a 16k x 16k bomb
RSS_LIMIT_MB = 1536  # peak resident memory allowed (a `process` run of these clips: 600 MB, 1 GB at 720x1280)


# -- the cases ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    name: str
    filename: str
    expected: str  # "error", "ok" or "either"
    about: str
    build: Callable[[Path], None] = field(repr=False, compare=False)
    probe: str = ""  # what `probe` owes: "ok", "error", "damaged" (ok, and it reports damage); "" = expected
    words: tuple[str, ...] = ()  # words the one-line error must contain (the file name is always checked)
    audio: int = 0  # ok: audio streams the output keeps
    bit_depth: int = 8  # ok: the output's bit depth
    rotation: int = 0  # ok: the display rotation the output keeps
    process: bool = True  # run `process` on it in pytest too (False: probe only there; --run does both)
    classes: tuple[str, ...] = ("face",)  # what `process` detects (--classes)
    check: Callable[[Path, Path], list[str]] | None = field(default=None, repr=False, compare=False)

    @property
    def probe_expected(self) -> str:
        return self.probe or self.expected


# -- helpers to write media --------------------------------------------------------------------
def _frame(i: int, w: int = W, h: int = H, high: bool = False) -> av.VideoFrame:
    img = textured_frame(i, w, h, seed=7, high_bit=high)
    return av.VideoFrame.from_ndarray(img, format="rgb48le" if high else "rgb24")


def _tone(out, stream, seconds: float, rate: int = 48000, freq: float = 440.0) -> None:
    """Encode ``seconds`` of a stereo tone into ``stream`` (PyAV converts it to the encoder's format)."""
    total, s = int(seconds * rate), 0
    while s < total:
        n = min(1024, total - s)
        tone = (0.2 * np.sin(2 * math.pi * freq * np.arange(s, s + n) / rate)).astype(np.float32)
        af = av.AudioFrame.from_ndarray(np.ascontiguousarray(np.stack([tone, tone])), format="fltp", layout="stereo")
        af.sample_rate, af.pts, af.time_base = rate, s, Fraction(1, rate)
        out.mux(stream.encode(af))
        s += n
    out.mux(stream.encode(None))


def write_video(path: Path, *, fmt: str | None = None, codec: str = "libx264", pix_fmt: str = "yuv420p",
                w: int = W, h: int = H, frames: int = FRAMES, rate: Fraction = RATE, options: dict | None = None,
                audio: bool = False, rotation: int = 0, pts: list[int] | None = None,
                time_base: Fraction | None = None, container_options: dict | None = None) -> Path:
    """A small textured clip (and a 440 Hz AAC tone when ``audio``)."""
    high = any(b in pix_fmt for b in ("10", "12", "16"))
    tb = time_base or 1 / rate
    pts = pts or [int(i / rate / tb) for i in range(frames)]
    with av.open(str(path), "w", format=fmt, options=container_options or {}) as out:
        vs = out.add_stream(codec, rate=rate)
        vs.width, vs.height, vs.pix_fmt = w, h, pix_fmt
        vs.time_base = tb
        vs.codec_context.time_base = tb
        vs.codec_context.options = dict(X264 if options is None and codec == "libx264" else options or {})
        if rotation:
            vs.set_display_rotation(rotation)
        aus = None
        if audio:
            aus = out.add_stream("aac", rate=48000)
            aus.layout = "stereo"
        for i, p in enumerate(pts):
            f = _frame(i, w, h, high)
            f.pts, f.time_base = p, tb
            out.mux(vs.encode(f))
        out.mux(vs.encode(None))
        if aus is not None:
            _tone(out, aus, float((pts[-1] + (pts[-1] - pts[-2])) * tb))
    return path


def mp4_boxes(data: bytes) -> dict[bytes, tuple[int, int]]:
    """Top-level MP4 boxes: type -> (offset, size) (the first of each type)."""
    boxes, pos = {}, 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
        elif size == 0:
            size = len(data) - pos
        if size < 8:
            break
        boxes.setdefault(kind, (pos, size))
        pos += size
    return boxes


def _photo(i: int = 0) -> np.ndarray:
    return cv2.cvtColor(textured_frame(i, W, H, seed=3), cv2.COLOR_RGB2BGR)


def jpeg_bytes() -> bytes:
    return cv2.imencode(".jpg", _photo(), [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


def png_bytes() -> bytes:
    return cv2.imencode(".png", _photo())[1].tobytes()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(side: int = 16384) -> bytes:
    """A valid ``side`` x ``side`` black PNG, 1 bit per pixel: ~40 KB that decode to 800 MB of BGR."""
    row = b"\x00" + bytes(side // 8)  # filter type 0, then the packed bits
    comp = zlib.compressobj(9)
    body = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", body) + _png_chunk(b"IEND", b"")


def _patch_jpeg_size(data: bytearray, w: int, h: int, start: int = 0, end: int | None = None) -> int:
    """Set the frame size in every baseline/progressive SOF marker of the JPEG(s) in ``data``."""
    end = len(data) if end is None else end
    n, pos = 0, start
    while True:
        pos = data.find(b"\xff\xc0", pos, end)
        if pos < 0:
            return n
        struct.pack_into(">HH", data, pos + 5, h, w)
        n += 1
        pos += 2


def _flip_bits(data: bytearray, lo: int, hi: int, count: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    for off in rng.integers(lo, hi, count):
        data[int(off)] ^= 1 << int(rng.integers(0, 8))


# -- builders ----------------------------------------------------------------------------------
_cache: dict[str, bytes] = {}


def _base(kind: str) -> bytes:
    """Shared source files, written once per corpus build (12 frames, 320x240, with AAC audio)."""
    if kind not in _cache:
        import tempfile

        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            if kind == "mp4":  # index (moov) at the end, as a camera or a plain encoder writes it
                write_video(d / "a.mp4", audio=True)
                _cache[kind] = (d / "a.mp4").read_bytes()
            elif kind == "mp4_fast":  # index at the front
                _cache[kind] = remux_faststart(Path(_write_bytes(d / "a.mp4", _base("mp4"))), d / "b.mp4").read_bytes()
            elif kind == "mkv":
                write_video(d / "a.mkv", audio=True)
                _cache[kind] = (d / "a.mkv").read_bytes()
    return _cache[kind]


def _write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _truncate(kind: str, fraction: float) -> Callable[[Path], None]:
    def build(path: Path) -> None:
        data = _base(kind) if kind in ("mp4", "mp4_fast", "mkv") else (jpeg_bytes() if kind == "jpg" else png_bytes())
        path.write_bytes(data[: int(len(data) * fraction)])
    return build


def _truncate_in_moov(path: Path) -> None:
    data = _base("mp4_fast")
    off, size = mp4_boxes(data)[b"moov"]
    path.write_bytes(data[: off + size // 2])


def _flips(kind: str, where: str, seed: int, count: int) -> Callable[[Path], None]:
    def build(path: Path) -> None:
        data = bytearray(_base(kind))
        if kind == "mkv":
            lo, hi = (0, 400) if where == "header" else (len(data) // 4, len(data))
        else:
            boxes = mp4_boxes(bytes(data))
            moov, mdat = boxes[b"moov"], boxes[b"mdat"]
            lo, hi = (moov[0], moov[0] + moov[1]) if where == "header" else (mdat[0] + 16, mdat[0] + mdat[1])
        _flip_bits(data, lo, hi, count, seed)
        path.write_bytes(bytes(data))
    return build


def _bytes(data: Callable[[], bytes]) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data())


def _text(path: Path) -> None:
    path.write_text("This is not a video.\nIt is a note that somebody saved with the wrong name.\n" * 20)


def _random(path: Path) -> None:
    path.write_bytes(np.random.default_rng(9).integers(0, 256, 64 * 1024, np.uint8).tobytes())


def _audio_only(path: Path) -> None:
    with av.open(str(path), "w", format="mp4") as out:
        aus = out.add_stream("aac", rate=48000)
        aus.layout = "stereo"
        _tone(out, aus, 0.5)


def _no_frames(path: Path) -> None:
    """A video stream with no packets at all, beside real audio."""
    with av.open(str(path), "w", format="matroska") as out:
        vs = out.add_stream("libx264", rate=RATE)
        vs.width, vs.height, vs.pix_fmt = W, H, "yuv420p"
        aus = out.add_stream("aac", rate=48000)
        aus.layout = "stereo"
        _tone(out, aus, 0.5)
        out.mux(vs.encode(None))


def _huge_mjpeg(side: int) -> Callable[[Path], None]:
    """MJPEG in Matroska whose container and JPEG headers both claim ``side`` x ``side`` (the data is 320x272)."""
    def build(path: Path) -> None:
        write_video(path, fmt="matroska", codec="mjpeg", pix_fmt="yuvj420p", h=272, frames=4, options={})
        data = bytearray(path.read_bytes())
        # Matroska PixelWidth (0xB0) = 320 and PixelHeight (0xBA) = 272, stored as 2-byte unsigned ints
        for elem, value in ((b"\xb0\x82", 320), (b"\xba\x82", 272)):
            pos = data.find(elem + struct.pack(">H", value))
            assert pos >= 0, f"no {elem!r} element in {path}"
            struct.pack_into(">H", data, pos + 2, side)
        assert _patch_jpeg_size(data, side, side) >= 4
        path.write_bytes(bytes(data))
    return build


def _huge_jpeg(path: Path) -> None:
    data = bytearray(jpeg_bytes())
    assert _patch_jpeg_size(data, 16384, 16384) == 1
    path.write_bytes(bytes(data))


def _negative_ts(fmt: str) -> Callable[[Path], None]:
    """Frames whose timestamps start 5 frames below zero (the muxer is told not to shift them)."""
    def build(path: Path) -> None:
        _remux_with_ts(path, fmt, [i - 5 for i in range(FRAMES)])
    return build


def _remux_with_ts(path: Path, fmt: str, ts: list[int]) -> None:
    """Encode ``len(ts)`` frames without B-frames and mux them with these pts = dts (1/30 s units)."""
    cc = av.CodecContext.create("libx264", "w")
    cc.width, cc.height, cc.pix_fmt = W, H, "yuv420p"
    cc.time_base, cc.framerate = 1 / RATE, RATE
    cc.options = {**X264, "bf": "0"}
    packets = []
    for i in range(len(ts)):
        f = _frame(i)
        f.pts, f.time_base = i, cc.time_base
        packets += cc.encode(f)
    packets += cc.encode(None)
    with av.open(str(path), "w", format=fmt, options={"avoid_negative_ts": "disabled"}) as out:
        vs = out.add_stream("libx264", rate=RATE)
        vs.width, vs.height, vs.pix_fmt = W, H, "yuv420p"
        vs.time_base = 1 / RATE
        vs.codec_context.extradata = cc.extradata
        for p, t in zip(packets, ts, strict=True):
            p.pts = p.dts = t
            p.time_base, p.stream = 1 / RATE, vs
            out.mux(p)


def _cover_art(out):
    """Add a JPEG cover picture (an attached-picture video stream) to an MP4/MOV being written."""
    import io

    jp = av.open(io.BytesIO(jpeg_bytes()))
    cover = out.add_stream_from_template(jp.streams.video[0])
    cover.disposition = av.stream.Disposition.attached_pic
    return jp, cover


def _mux_cover(out, jp, cover) -> None:
    for pkt in jp.demux(jp.streams.video[0]):
        if pkt.size:
            pkt.stream = cover
            out.mux(pkt)
    jp.close()


def _audio_with_cover(path: Path) -> None:
    """An audio file (AAC) with album art: its only "video" stream is one attached picture."""
    with av.open(str(path), "w", format="mp4") as out:
        aus = out.add_stream("aac", rate=48000)
        aus.layout = "stereo"
        jp, cover = _cover_art(out)
        _mux_cover(out, jp, cover)
        _tone(out, aus, 0.5)


def _many_streams(path: Path) -> None:
    """Audio before video, two video streams, three audio tracks, subtitles, and a cover picture
    (Matroska) or a timecode data track (MOV)."""
    mkv = path.suffix.lower() == ".mkv"
    with av.open(str(path), "w", format="matroska" if mkv else "mov") as out:
        if mkv:
            out.add_attachment("cover.jpg", "image/jpeg", jpeg_bytes())
        a0 = out.add_stream("aac", rate=48000)
        a0.layout = "stereo"
        vs = out.add_stream("libx264", rate=RATE)
        vs.width, vs.height, vs.pix_fmt = W, H, "yuv420p"
        vs.codec_context.options = dict(X264)
        if not mkv:
            vs.metadata["timecode"] = "01:00:00:00"  # the MOV muxer adds a tmcd data track
        v2 = out.add_stream("mpeg4", rate=RATE)
        v2.width, v2.height, v2.pix_fmt = 160, 120, "yuv420p"
        a1 = out.add_stream("mp3" if mkv else "aac", rate=44100)
        a1.layout = "stereo"
        a2 = out.add_stream("libopus" if mkv else "pcm_s16le", rate=48000)
        a2.layout = "stereo"
        sub = out.add_mux_stream("subrip" if mkv else "mov_text")
        sub.time_base = 1 / RATE
        for i in range(FRAMES):
            f = _frame(i)
            f.pts, f.time_base = i, 1 / RATE
            out.mux(vs.encode(f))
            g = f.reformat(160, 120)
            g.pts, g.time_base = i, 1 / RATE
            out.mux(v2.encode(g))
        out.mux(vs.encode(None))
        out.mux(v2.encode(None))
        for s, rate in ((a0, 48000), (a1, 44100), (a2, 48000)):
            _tone(out, s, float(FRAMES / RATE), rate)
        for k in range(2):
            text = f"subtitle {k}".encode()
            pkt = av.Packet(text if mkv else struct.pack(">H", len(text)) + text)
            pkt.pts = pkt.dts = k * 6
            pkt.duration = 6
            pkt.time_base, pkt.stream = 1 / RATE, sub
            out.mux(pkt)


def _size_change(path: Path) -> None:
    """An H.264 stream whose frame size changes mid-stream (320x240, then 480x360)."""
    packets, extradata = [], None
    for w, h in ((W, H), (480, 360)):
        cc = av.CodecContext.create("libx264", "w")
        cc.width, cc.height, cc.pix_fmt = w, h, "yuv420p"
        cc.time_base, cc.framerate = 1 / RATE, RATE
        cc.options = {**X264, "bf": "0", "x264-params": "repeat-headers=1:annexb=1"}
        for i in range(FRAMES // 2):
            f = _frame(i, w, h)
            f.pts, f.time_base = i, cc.time_base
            packets += cc.encode(f)
        packets += cc.encode(None)
        extradata = extradata or cc.extradata
    with av.open(str(path), "w", format="matroska") as out:
        vs = out.add_stream("h264", rate=RATE)
        vs.width, vs.height, vs.pix_fmt = W, H, "yuv420p"
        vs.time_base = 1 / RATE
        for i, p in enumerate(packets):
            p.pts = p.dts = i
            p.time_base, p.stream = 1 / RATE, vs
            out.mux(p)


def _vfr(path: Path) -> None:
    tb = Fraction(1, 90000)
    pts, t = [], 0
    for i in range(FRAMES):
        pts.append(t)
        t += 3000 if i % 3 else 9000  # 1/30 s, and every third gap 1/10 s
    write_video(path, pts=pts, time_base=tb, audio=True)


ROTATED_FRAMES = 6


def rotated_sample_truth(rotation: int = 270) -> list[list[dict]]:
    """The ground truth of ``_rotated_sample``: per frame, the face and plate boxes in the coded
    (stored, sideways) frame's pixels."""
    from app.media.frames import boxes_to_coded
    from app.media.sample import HEIGHT, WIDTH, render_frames

    out = []
    coded_w, coded_h = (HEIGHT, WIDTH) if rotation % 180 else (WIDTH, HEIGHT)
    for i, _frame_bgr, truth in render_frames():
        if i >= ROTATED_FRAMES:
            break
        out.append([{**t, "box": boxes_to_coded(np.array([t["box"]]), rotation, coded_w, coded_h)[0].tolist()}
                    for t in truth])
    return out


def _rotated_sample(path: Path, rotation: int = 270) -> None:
    """The demo clip's first frames (a real face, a car plate) stored sideways, the way a phone
    stores a clip, with a display matrix that turns them upright ("rotate 90 clockwise")."""
    from app.media.sample import render_frames

    k = (rotation // 90) % 4
    with av.open(str(path), "w", format="mp4") as out:
        vs = None
        for i, frame_bgr, _truth in render_frames():
            if i >= ROTATED_FRAMES:
                break
            coded = np.ascontiguousarray(np.rot90(frame_bgr, -k))  # upright = rot90(coded, k)
            if vs is None:
                vs = out.add_stream("libx264", rate=RATE)
                vs.width, vs.height, vs.pix_fmt = coded.shape[1], coded.shape[0], "yuv420p"
                vs.codec_context.options = dict(X264)
                vs.set_display_rotation(rotation)
            f = av.VideoFrame.from_ndarray(coded, format="bgr24")
            f.pts, f.time_base = i, 1 / RATE
            out.mux(vs.encode(f))
        out.mux(vs.encode(None))


def check_rotated_sample(inp: Path, out: Path) -> list[str]:
    """Every face and plate of the rotated demo clip is hidden in the output: in each truth box
    (coded pixels) the output's structure differs from the input's (mean 7x7 SSIM below 0.6)."""
    from tests.media_factory import ssim

    problems = []
    truth = rotated_sample_truth()
    with av.open(str(inp)) as a, av.open(str(out)) as b:
        pairs = zip(a.decode(video=0), b.decode(video=0), strict=False)
        for i, (fa, fb) in enumerate(pairs):
            ga, gb = fa.to_ndarray(format="gray"), fb.to_ndarray(format="gray")
            for t in truth[i]:
                x1, y1, x2, y2 = (int(round(v)) for v in t["box"])
                score = ssim(ga[y1:y2, x1:x2], gb[y1:y2, x1:x2])
                if score > 0.6:
                    problems.append(f"frame {i}: the {t['cls']} at {x1},{y1}-{x2},{y2} is not hidden "
                                    f"(SSIM {score:.2f})")
    return problems[:4]


def _video(**kw) -> Callable[[Path], None]:
    return lambda path: write_video(path, **kw)


def _bframes(path: Path) -> None:
    write_video(path, frames=24, audio=True, options={
        "preset": "medium", "crf": "28", "x264-params": "bframes=8:b-adapt=0:b-pyramid=normal:keyint=12"})


CASES: list[Case] = [
    # controls: a plain video and a plain photo must still work
    Case("control_video", "control.mp4", "ok", "a plain H.264 + AAC clip (control)", lambda p: p.write_bytes(_base("mp4")),
         audio=1),
    Case("control_photo", "control.jpg", "ok", "a plain JPEG photo (control)", _bytes(jpeg_bytes)),
    # truncated
    Case("trunc_in_moov", "trunc_in_moov.mp4", "error", "cut inside the index (moov) at the front", _truncate_in_moov,
         words=("truncated",)),
    Case("trunc_10", "trunc_10.mp4", "error", "index at the front, cut at 10 %", _truncate("mp4_fast", 0.10),
         probe="damaged|error", words=("truncated",)),
    Case("trunc_50", "trunc_50.mp4", "error", "index at the front, cut at 50 %", _truncate("mp4_fast", 0.50),
         probe="damaged|error", words=("truncated",)),
    Case("trunc_90", "trunc_90.mp4", "error", "index at the front, cut at 90 %", _truncate("mp4_fast", 0.90),
         probe="damaged|error", words=("truncated",)),
    Case("trunc_no_moov", "trunc_no_moov.mp4", "error", "index at the end, cut at 90 % (no index left)",
         _truncate("mp4", 0.90), words=("truncated",)),
    Case("trunc_mkv_50", "trunc_50.mkv", "error", "Matroska cut at 50 %", _truncate("mkv", 0.50),
         probe="damaged|error", words=("truncated",)),
    Case("trunc_jpeg", "trunc.jpg", "error", "a JPEG photo cut at 50 %", _truncate("jpg", 0.50), words=("truncated",)),
    Case("trunc_png", "trunc.png", "error", "a PNG photo cut at 50 %", _truncate("png", 0.50), words=("truncated",)),
    # bit flips: readable or not depends on where they land; either way, cleanly
    *[Case(f"flip_{where}_{seed}", f"flip_{where}_{seed}.mp4", "either",
           f"{count} random bit flips in the {'index (moov)' if where == 'header' else 'frame data (mdat)'}, seed {seed}",
           _flips("mp4_fast", where, seed, count), process=seed == 1)
      for where, count in (("header", 6), ("payload", 40)) for seed in (1, 2, 3)],
    Case("flip_header_mkv", "flip_header.mkv", "either", "6 bit flips in the Matroska header", _flips("mkv", "header", 4, 6)),
    # empty
    Case("zero_video", "zero.mp4", "error", "a 0-byte .mp4", _bytes(lambda: b""), words=("empty",)),
    Case("zero_photo", "zero.jpg", "error", "a 0-byte .jpg", _bytes(lambda: b""), words=("empty",)),
    # wrong extension
    Case("video_as_jpg", "clip.jpg", "error", "a video that claims to be an image (MP4 named .jpg)",
         lambda p: p.write_bytes(_base("mp4")), words=("video",)),
    Case("jpeg_as_mp4", "photo_jpeg.mp4", "error", "an image that claims to be a video (JPEG named .mp4)",
         _bytes(jpeg_bytes), words=("JPEG", "image")),
    Case("png_as_mp4", "photo_png.mp4", "error", "an image that claims to be a video (PNG named .mp4)",
         _bytes(png_bytes), words=("PNG", "image")),
    Case("text_as_mp4", "notes.mp4", "error", "a text file named .mp4", _text, words=("not a video",)),
    Case("random_as_mp4", "random.mp4", "error", "64 KB of random bytes named .mp4", _random, words=("not a video",)),
    # no video
    Case("audio_only", "audio_only.mp4", "error", "an MP4 with an AAC stream and no video", _audio_only,
         words=("no video",)),
    Case("audio_cover_art", "song.m4a", "error", "AAC audio with album art (its only video stream is a picture)",
         _audio_with_cover, words=("no video",)),
    Case("no_frames", "no_frames.mkv", "error", "a video stream with no frames, beside audio", _no_frames,
         words=("no decodable video frame",)),
    # huge declared dimensions
    Case("huge_mjpeg_16k", "huge_16k.mkv", "error", "MJPEG whose headers claim 16384x16384 (FFmpeg's own limit)",
         _huge_mjpeg(16384), words=("16384x16384",)),
    Case("huge_mjpeg_12k", "huge_12k.mkv", "error", "MJPEG whose headers claim 12288x12288 (151 MP)",
         _huge_mjpeg(12288), words=("12288x12288",)),
    Case("huge_jpeg", "huge.jpg", "error", "a JPEG whose header claims 16384x16384", _huge_jpeg, words=("16384x16384",)),
    Case("png_bomb", "bomb.png", "error", "a valid 16384x16384 1-bit PNG (40 KB -> 800 MB decoded)",
         _bytes(png_bomb), words=("16384x16384",)),
    # unusual but valid
    Case("odd_444", "odd_444.mp4", "ok", "321x243, H.264 4:4:4", _video(w=321, h=243, pix_fmt="yuv444p"),
         process=False),
    Case("odd_420", "odd_420.mkv", "ok", "321x243, FFV1 4:2:0", _video(w=321, h=243, codec="ffv1", fmt="matroska",
                                                                       options={"g": "1"})),
    Case("ten_bit", "ten_bit.mp4", "ok", "H.264 10-bit 4:2:0", _video(pix_fmt="yuv420p10le", audio=True),
         audio=1, bit_depth=10),
    Case("yuv444", "yuv444.mp4", "ok", "H.264 8-bit 4:4:4", _video(pix_fmt="yuv444p"), process=False),
    Case("prores_444_10", "prores.mov", "ok", "ProRes 4444, 10-bit 4:4:4, in MOV",
         _video(codec="prores_ks", pix_fmt="yuv444p10le", fmt="mov", options={"profile": "4"}), bit_depth=10),
    Case("rotate_90", "rotate_90.mp4", "ok", "display matrix: rotate 90", _video(rotation=90, audio=True),
         audio=1, rotation=90),
    Case("rotate_270_odd", "rotate_270.mp4", "ok", "display matrix: rotate 270, 4:4:4 320x180",
         _video(rotation=270, h=180, pix_fmt="yuv444p"), rotation=270, process=False),
    Case("rotate_face", "rotate_face.mp4", "ok",
         "the demo clip's face and plate stored sideways, display matrix turns them upright (a phone clip)",
         _rotated_sample, rotation=90, classes=("face", "plate"), check=check_rotated_sample),
    Case("vfr", "vfr.mp4", "ok", "variable frame rate (gaps of 1/30 s and 1/10 s)", _vfr, audio=1),
    Case("bframes", "bframes.mp4", "ok", "B-frame-heavy GOP (8 B-frames, pyramid)", _bframes, audio=1),
    Case("negative_ts_mp4", "negative_ts.mp4", "ok", "timestamps from -5 frames (MP4 edit list)", _negative_ts("mp4")),
    Case("negative_ts_mkv", "negative_ts.mkv", "ok", "timestamps from -5 frames (Matroska)", _negative_ts("matroska")),
    Case("duplicate_ts", "duplicate_ts.mkv", "ok", "repeated timestamps (0 1 1 2 3 3 3 4 ...)",
         lambda p: _remux_with_ts(p, "matroska", [0, 1, 1, 2, 3, 3, 3, 4, 5, 6, 7, 8])),
    Case("many_streams_mkv", "many_streams.mkv", "ok",
         "audio first, 2 video, 3 audio (AAC, MP3, Opus), subtitles, a cover picture", _many_streams, audio=3),
    Case("many_streams_mov", "many_streams.mov", "ok",
         "audio first, 2 video, 3 audio (AAC, AAC, PCM), subtitles, a data stream", _many_streams, audio=3),
    Case("size_change", "size_change.mkv", "error", "H.264 whose frame size changes mid-stream", _size_change,
         probe="ok", words=("size",)),
]

BY_NAME = {c.name: c for c in CASES}


def write_corpus(folder: str | os.PathLike, names: list[str] | None = None) -> dict[str, Path]:
    """Write the cases (all, or ``names``) into ``folder``; returns name -> path. Also writes cases.json."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for case in CASES:
        if names and case.name not in names:
            continue
        path = folder / case.filename
        case.build(path)
        paths[case.name] = path
    meta = [{k: v for k, v in asdict(c).items() if k not in ("build", "check")} | {"sha256": sha256(paths[c.name])}
            for c in CASES if c.name in paths]
    (folder / "cases.json").write_text(json.dumps(meta, indent=2))
    return paths


def sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# -- running the CLI on a case -------------------------------------------------------------------
@dataclass
class Run:
    """One CLI child process: exit code, output, time and peak memory."""

    args: list[str]
    rc: int | None
    stdout: str
    stderr: str
    seconds: float
    peak_rss_mb: float
    timed_out: bool


def _cap_memory() -> None:  # runs in the child, before exec
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_CAP, ADDRESS_SPACE_CAP))


def child_env(data_dir: str | os.PathLike, source: Path = REPO) -> dict[str, str]:
    """The child's environment: a private data folder (crash logs land there), the installed models,
    and ``source`` (the folder holding the ``app`` package under test) first on the path."""
    from app.assets import models_dir

    env = dict(os.environ)
    env["OBSCURA_MODELS"] = str(models_dir())
    env["OBSCURA_DATA"] = str(data_dir)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source), env.get("PYTHONPATH", "")]))
    env.pop("QT_QPA_PLATFORM", None)
    return env


def run_cli(args: list[str], env: dict[str, str], timeout: float = TIME_LIMIT_S) -> Run:
    """Run ``python -m app.cli ARGS`` with an address-space cap and a time limit; measure its peak RSS."""
    import tempfile

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "app.cli", *args], stdin=subprocess.DEVNULL, stdout=out,
                                stderr=err, cwd=env["PYTHONPATH"].split(os.pathsep)[0], env=env,
                                preexec_fn=_cap_memory)
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            proc.kill()

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _pid, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage (peak RSS)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        return Run(list(args), None if timed_out.is_set() else proc.returncode,
                   out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"),
                   seconds, usage.ru_maxrss / 1024, timed_out.is_set())


@dataclass
class Outcome:
    """What one command did with a case, judged: ``status`` is "clear error", "correct result",
    "damage reported" or "FAIL"; ``detail`` the error line, or what went wrong."""

    command: str
    status: str
    detail: str
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.problems)

    def short(self) -> str:
        if self.failed:
            return "FAIL: " + "; ".join(self.problems)
        return self.status


@dataclass
class CaseResult:
    name: str
    expected: str
    probe: Outcome
    process: Outcome | None
    input_unchanged: bool

    @property
    def failed(self) -> bool:
        return (not self.input_unchanged or self.probe.failed
                or (self.process is not None and self.process.failed))

    @property
    def problems(self) -> list[str]:
        out = [f"probe: {p}" for p in self.probe.problems]
        if self.process is not None:
            out += [f"process: {p}" for p in self.process.problems]
        if not self.input_unchanged:
            out.append("the input file changed")
        return out

    def result(self) -> str:
        """One word per command: e.g. "error/error", "ok/ok", "damaged/error", or FAIL with why."""
        if self.failed:
            return "FAIL: " + "; ".join(self.problems)
        words = {"clear error": "error", "correct result": "ok", "damage reported": "damaged"}
        parts = [words.get(self.probe.status, self.probe.status)]
        if self.process is not None:
            parts.append(words.get(self.process.status, self.process.status))
        return "/".join(parts)


def _common_problems(run: Run, crash_logs: list[str]) -> list[str]:
    problems = []
    if run.timed_out:
        problems.append(f"no answer within {TIME_LIMIT_S:.0f} s (killed)")
    if run.peak_rss_mb > RSS_LIMIT_MB:
        problems.append(f"peak memory {run.peak_rss_mb:.0f} MB > {RSS_LIMIT_MB} MB")
    text = run.stdout + run.stderr
    if "Traceback" in text:
        problems.append("traceback")
    if "internal error" in text:
        problems.append("internal error: " + _first_line(run.stderr, "internal error"))
    if run.rc is not None and run.rc < 0:
        problems.append(f"killed by signal {-run.rc}")
    if crash_logs:
        problems.append(f"crash log written ({', '.join(crash_logs)})")
    return problems


def _first_line(text: str, needle: str = "") -> str:
    for line in text.splitlines():
        if needle in line:
            return line.strip()
    return ""


def _error_problems(run: Run, case: Case, path: Path) -> list[str]:
    """The rules for a clear error: non-zero exit, one line ``obscura: error: ...`` naming file and problem."""
    if run.rc == 0:
        return ["exit 0 where an error was due"]
    if run.rc is None:
        return []
    problems = []
    lines = [ln for ln in run.stderr.strip().splitlines() if ln.strip()]
    if len(lines) != 1:
        problems.append(f"{len(lines)} lines on stderr (want 1): {' | '.join(lines)[:300]!r}")
    line = lines[-1] if lines else ""
    if not line.startswith("obscura: error: "):
        problems.append(f"not an 'obscura: error:' line: {line[:200]!r}")
    elif path.name not in line:
        problems.append(f"the message does not name the file: {line!r}")
    for w in case.words:
        if w.lower() not in line.lower():
            problems.append(f"{w!r} not in the message {line!r}")
    return problems


def _crash_logs(data_dir: Path, before: list[str] = ()) -> list[str]:
    """The crash logs in the child's data folder (those not in ``before``)."""
    logs = data_dir / "logs"
    return sorted(p.name for p in logs.iterdir() if p.name not in before) if logs.is_dir() else []


def reference(path: Path) -> dict:
    """What a correct output must match, decoded straight from a valid input with PyAV: the frames
    the decoder shows (first video stream that is not cover art), their size, times and rotation."""
    if path.suffix.lower() in (".jpg", ".jpeg", ".png"):
        img = cv2.imread(str(path))
        return {"frames": 1, "width": img.shape[1], "height": img.shape[0]}
    with av.open(str(path)) as c:
        vs = next(s for s in c.streams.video if not s.disposition & av.stream.Disposition.attached_pic)
        pts, first = [], None
        for f in c.decode(vs):
            first = first or f
            pts.append(f.pts)
        known = sorted(p for p in pts if p is not None)
        for i in range(1, len(known)):  # repeated timestamps: one tick apart, as the probe documents
            known[i] = max(known[i], known[i - 1] + 1)
        return {"frames": len(pts), "width": first.width, "height": first.height,
                "rotation": int(first.rotation or 0) % 360, "time_base": vs.time_base,
                "times": [p * vs.time_base for p in known], "untimed": len(pts) - len(known)}


def check_output(out: Path, case: Case, ref: dict | None, probed: dict | None) -> list[str]:
    """Problems with an output that should be a correct result."""
    if not out.is_file():
        return ["exit 0 but no output file"]
    if out.suffix.lower() in (".jpg", ".jpeg", ".png"):
        img = cv2.imread(str(out))
        if img is None:
            return ["the output photo does not decode"]
        want = ref or probed or {}
        if want and (img.shape[1], img.shape[0]) != (want["width"], want["height"]):
            return [f"output photo is {img.shape[1]}x{img.shape[0]}, want {want['width']}x{want['height']}"]
        return []
    problems = []
    try:
        with av.open(str(out)) as c:
            if len(c.streams.video) != 1:
                problems.append(f"{len(c.streams.video)} video streams in the output")
            vs = c.streams.video[0]
            frames = list(c.decode(vs))
            audio = len(c.streams.audio)
            tb = vs.time_base
    except (av.error.FFmpegError, IndexError) as e:
        return [f"the output does not decode: {e}"]
    if not frames:
        return ["the output has no frames"]
    want = ref or probed
    if want is None:
        return problems
    f0 = frames[0]
    if len(frames) != want["frames"]:
        problems.append(f"output has {len(frames)} frames, want {want['frames']}")
    if (f0.width, f0.height) != (want["width"], want["height"]):
        problems.append(f"output is {f0.width}x{f0.height}, want {want['width']}x{want['height']}")
    if ref is not None:
        if int(f0.rotation or 0) % 360 != ref["rotation"]:
            problems.append(f"output rotation {f0.rotation}, want {ref['rotation']}")
        bits = max(c.bits for c in f0.format.components)
        if bits != case.bit_depth:
            problems.append(f"output is {bits}-bit ({f0.format.name}), want {case.bit_depth}-bit")
        if audio != case.audio:
            problems.append(f"output has {audio} audio streams, want {case.audio}")
        got = sorted(f.pts * tb for f in frames if f.pts is not None)
        rel = [t - got[0] for t in got]
        want_rel = [t - ref["times"][0] for t in ref["times"]] if ref["times"] else []
        if len(rel) == len(want_rel) and any(abs(a - b) > Fraction(1, 1000)
                                             for a, b in zip(rel, want_rel, strict=True)):
            problems.append("output frame times differ from the input's")
        gaps = sorted(b - a for a, b in zip(got, got[1:], strict=False))
        if ref["untimed"] and gaps and (len(got) != len(frames) or gaps[0] < gaps[len(gaps) // 2] / 4):
            # frames the input stores without timestamps must still get a plausible place in time
            problems.append(f"output frame times are implausible: gaps from {float(gaps[0]):.4f} s to "
                            f"{float(gaps[-1]):.4f} s")
    return problems


def output_suffix(path: Path) -> str:
    """The output's extension: the input's, when Obscura writes that kind of file, else .mp4."""
    ext = path.suffix.lower()
    return ext if ext in (".mp4", ".mov", ".mkv", ".m4v", ".avi", ".jpg", ".jpeg", ".png") else ".mp4"


def run_case(case: Case, path: Path, work: Path, process: bool = True, timeout: float = TIME_LIMIT_S,
             source: Path = REPO) -> CaseResult:
    """Run ``probe`` (and ``process``) on ``path`` and judge what they did."""
    work.mkdir(parents=True, exist_ok=True)
    data_dir = work / "data"
    env = child_env(data_dir, source)
    before = sha256(path)

    # probe
    logs = _crash_logs(data_dir)
    run = run_cli(["probe", "--json", str(path)], env, timeout)
    problems = _common_problems(run, _crash_logs(data_dir, logs))
    probed = None
    want = case.probe_expected
    if run.rc == 0:
        try:
            probed = json.loads(run.stdout)
        except ValueError:
            problems.append("probe --json printed no JSON")
            probed = {}
        damaged = bool(probed.get("damage"))
        status = "damage reported" if damaged else "correct result"
        if want == "error":
            problems.append(f"exit 0 where an error was due ({'damage: ' + probed['damage'] if damaged else 'no damage reported'})")
        elif want == "damaged|error" and not damaged:
            problems.append("exit 0 and no damage reported for a damaged file")
        elif want == "ok" and damaged:
            problems.append(f"damage reported for a sound file: {probed['damage']}")
    else:
        status = "clear error"
        if want in ("ok", "damaged"):
            problems.append(f"exit {run.rc} where a result was due: {run.stderr.strip()[:300]!r}")
        else:
            problems += _error_problems(run, case, path)
    probe_outcome = Outcome("probe", status, _first_line(run.stderr, "error") or run.stdout[:0], run.seconds,
                            run.peak_rss_mb, problems)

    process_outcome = None
    if process:
        out = work / f"out_{case.name}{output_suffix(path)}"
        for stale in work.glob(f"*out_{case.name}*"):
            stale.unlink()
        logs = _crash_logs(data_dir)
        run = run_cli(["process", str(path), "-o", str(out), "-q", "--classes", *case.classes, "--device", "cpu",
                       "--preset", "ultrafast"], env, timeout)
        problems = _common_problems(run, _crash_logs(data_dir, logs))
        leftovers = sorted(p.name for p in work.glob(f"*out_{case.name}*") if p.name != out.name)
        if run.rc == 0:
            status = "correct result"
            if case.expected == "error":
                problems.append("exit 0 where an error was due")
            ref = reference(path) if case.expected == "ok" else None
            claimed = ({"frames": probed.get("frame_count"), "width": probed.get("width"),
                        "height": probed.get("height")} if probed else None)
            problems += check_output(out, case, ref, claimed if case.expected == "either" else None)
            if case.expected == "either" and probed is None:
                problems.append("process wrote an output for a file that probe refused")
            if case.check is not None and out.is_file():
                problems += case.check(path, out)
            leftovers = [p for p in leftovers if ".part" in p]
        else:
            status = "clear error"
            if case.expected == "ok":
                problems.append(f"exit {run.rc} where a result was due: {run.stderr.strip()[:300]!r}")
            elif run.rc is not None:
                problems += _error_problems(run, case, path)
            if out.exists():
                problems.append("an output file was left at the target")
        if leftovers:
            problems.append(f"files left beside the target: {', '.join(leftovers)}")
        process_outcome = Outcome("process", status, _first_line(run.stderr, "error"), run.seconds,
                                  run.peak_rss_mb, problems)
    return CaseResult(case.name, case.expected, probe_outcome, process_outcome, sha256(path) == before)


# -- the table -----------------------------------------------------------------------------------
def format_table(results: list[CaseResult], before: dict[str, dict] | None = None) -> str:
    """One row per case; with ``before`` (name -> a ``results_json`` entry of an earlier run, e.g. of
    the code before a fix) a column says what that run did."""
    rows = [("case", "expected", *(("before",) if before else ()), "probe", "process", "seconds", "peak MB",
             "result")]
    for r in results:
        secs = r.probe.seconds + (r.process.seconds if r.process else 0)
        rss = max(r.probe.peak_rss_mb, r.process.peak_rss_mb if r.process else 0)
        was = ()
        if before:
            b = before.get(r.name)
            was = ("-" if b is None else "FAIL" if b["failed"] else b["result"],)
        rows.append((r.name, r.expected, *was, r.probe.short() if not r.probe.failed else "FAIL",
                     (r.process.short() if not r.process.failed else "FAIL") if r.process else "-",
                     f"{secs:.1f}", f"{rss:.0f}", "FAIL" if r.failed else "pass"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    errors = sum(1 for r in results if not r.failed and "error" in r.result().split("/")[-1])
    oks = sum(1 for r in results if not r.failed and r.result().split("/")[-1] == "ok")
    failed = [r for r in results if r.failed]
    lines.append("")
    lines.append(f"{len(results)} cases run: {errors} clear errors, {oks} correct results, {len(failed)} failed")
    for r in failed:
        lines.append(f"  FAILED {r.name}: " + "; ".join(r.problems))
    if before:
        was_failing = sorted(n for n, b in before.items() if b["failed"])
        lines.append(f"before: {len(was_failing)} of {len(before)} failed: {', '.join(was_failing) or 'none'}")
    return "\n".join(lines)


def results_json(results: list[CaseResult]) -> list[dict]:
    return [{"name": r.name, "expected": r.expected, "result": r.result(), "failed": r.failed,
             "problems": r.problems, "probe": asdict(r.probe), "process": asdict(r.process) if r.process else None,
             "input_unchanged": r.input_unchanged} for r in results]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir", nargs="?", help="folder for the corpus (and, with --run, the outputs)")
    ap.add_argument("--run", action="store_true", help="run probe and process on every case and print the table")
    ap.add_argument("--probe-only", action="store_true", help="with --run: probe only (much faster)")
    ap.add_argument("--cases", help="comma-separated case names (default: all)")
    ap.add_argument("--json", help="with --run: also write the results here")
    ap.add_argument("--before", help="with --run: the --json of an earlier run (e.g. with --source at the code "
                                     "before a fix), shown as a 'before' column")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--source", default=str(REPO),
                    help="folder holding the 'app' package to test (default: this checkout); e.g. an older "
                         "version unpacked with 'git archive REV app | tar -x -C DIR', to measure before a fix")
    args = ap.parse_args(argv)
    if args.list:
        for c in CASES:
            print(f"{c.name:<20} {c.expected:<7} {c.filename:<22} {c.about}")
        return 0
    if not args.outdir:
        ap.error("OUTDIR is required")
    names = [n.strip() for n in args.cases.split(",")] if args.cases else None
    unknown = sorted(set(names or []) - set(BY_NAME))
    if unknown:
        ap.error(f"unknown case(s): {', '.join(unknown)}")
    out = Path(args.outdir)
    t0 = time.perf_counter()
    paths = write_corpus(out / "corpus", names)
    print(f"wrote {len(paths)} cases to {out / 'corpus'} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    if not args.run:
        return 0
    results = []
    for name, path in paths.items():
        r = run_case(BY_NAME[name], path, out / "work", process=not args.probe_only, source=Path(args.source).resolve())
        print(f"{name}: {r.result()}", file=sys.stderr, flush=True)
        results.append(r)
    before = {b["name"]: b for b in json.loads(Path(args.before).read_text())} if args.before else None
    print(format_table(results, before))
    if args.json:
        Path(args.json).write_text(json.dumps(results_json(results), indent=2, default=str))
    return 1 if any(r.failed for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
