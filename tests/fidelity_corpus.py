"""The fidelity corpus (issue 18): inputs with the properties other tools' files have, written from
scratch with PyAV, and a measure of what an export keeps of each.

Each case is an input (non-square pixels, interlaced fields, B-frames into AVI, a start offset, a
long last frame on VFR, a transparent PNG, a mid-GOP transport stream, a fragmented MP4, CENC
encryption, a broken display matrix, a data stream) and the output name it is exported to.
:func:`facts` measures a file independently of Obscura's own probe (PyAV directly): frame count,
every frame's time, duration, SAR, field order, alpha, audio streams. :func:`export_case` exports
it through the delivery job with one box mask over the middle of every frame.

Usage::

    python tests/fidelity_corpus.py OUTDIR     # write the corpus to OUTDIR

``bench/fidelity_table.py`` prints the input/output table; ``tests/test_fidelity.py`` checks it.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.media_factory import textured_frame  # noqa: E402

W, H = 320, 240
X264 = {"preset": "ultrafast", "crf": "23"}


@dataclass(frozen=True)
class Case:
    name: str
    filename: str
    output: str  # the output file name (its type is part of the case)
    about: str
    build: Callable[[Path], None] = field(repr=False, compare=False)
    expected: str = "ok"  # "ok" or "error"
    words: tuple[str, ...] = ()  # an "error" case's message names these


def _frame(i: int, w: int = W, h: int = H, fmt: str = "yuv420p") -> av.VideoFrame:
    f = av.VideoFrame.from_ndarray(textured_frame(i, w, h, seed=11), format="rgb24")
    return f.reformat(format=fmt)


def _tone(out, stream, seconds: float, start: int = 0, rate: int = 48000) -> None:
    total, s = int(seconds * rate), 0
    while s < total:
        n = min(1024, total - s)
        t = (0.2 * np.sin(2 * np.pi * 440 * np.arange(s, s + n) / rate)).astype(np.float32)
        af = av.AudioFrame.from_ndarray(np.ascontiguousarray(np.stack([t, t])), format="fltp", layout="stereo")
        af.sample_rate, af.pts, af.time_base = rate, start + s, Fraction(1, rate)
        out.mux(stream.encode(af))
        s += n
    out.mux(stream.encode(None))


def write(path: Path, *, fmt: str | None = None, codec: str = "libx264", pix_fmt: str = "yuv420p",
          w: int = W, h: int = H, pts: list[int] | None = None, time_base: Fraction = Fraction(1, 30),
          rate: Fraction = Fraction(30), frames: int = 10, options: dict | None = None,
          container_options: dict | None = None, audio: bool = False, sar: Fraction | None = None,
          flags: tuple[str, ...] = (), last_duration: int | None = None, field_order: int | None = None,
          data_stream: bool = False) -> Path:
    """A small textured clip; ``pts`` in ``time_base``; ``last_duration``: the last frame's
    duration in the file (the muxer takes the last packet's)."""
    pts = pts if pts is not None else [round(i / rate / time_base) for i in range(frames)]
    durations = {p: (q - p) for p, q in zip(pts, pts[1:], strict=False)}
    durations[pts[-1]] = last_duration or (pts[-1] - pts[-2] if len(pts) > 1 else 1)
    with av.open(str(path), "w", format=fmt, options=container_options or {}) as out:
        vs = out.add_stream(codec, rate=rate)
        vs.width, vs.height, vs.pix_fmt = w, h, pix_fmt
        vs.time_base = time_base
        ctx = vs.codec_context
        ctx.time_base = time_base
        if sar is not None:
            ctx.sample_aspect_ratio = sar
        for flag in flags:
            ctx.flags |= getattr(av.codec.context.Flags, flag)
        if field_order:
            ctx.field_order = field_order
        ctx.options = dict(X264 if options is None and codec == "libx264" else options or {})
        aus = None
        if audio:
            aus = out.add_stream("aac", rate=48000)
            aus.layout = "stereo"
        ds = out.add_data_stream() if data_stream else None
        for i, p in enumerate(pts):
            f = _frame(i, w, h, pix_fmt)
            f.pts, f.time_base = p, time_base
            _mux_video(out, vs.encode(f), durations)
        _mux_video(out, vs.encode(None), durations)
        if ds is not None:
            for i in range(3):
                pk = av.Packet(b"KLV-%d" % i)
                pk.stream, pk.pts, pk.dts, pk.time_base = ds, pts[0] + i, pts[0] + i, time_base
                out.mux(pk)
        if aus is not None:
            start = round(pts[0] * time_base * 48000)
            _tone(out, aus, float((pts[-1] - pts[0] + durations[pts[-1]]) * time_base), start)
    return path


def _mux_video(out, packets, durations: dict[int, int]) -> None:
    for pk in packets:
        if pk.pts is not None and pk.pts in durations:
            pk.duration = durations[pk.pts]
        out.mux(pk)


# -- the cases ------------------------------------------------------------------------------------
def _sar_h264(path: Path) -> None:
    write(path, sar=Fraction(2, 1))


def _dvd_mpeg2(path: Path) -> None:  # 720x480 16:9 NTSC DVD: SAR 32:27, 29.97 fps, in a program stream
    write(path, fmt="dvd", codec="mpeg2video", w=720, h=480, rate=Fraction(30000, 1001),
          time_base=Fraction(1001, 30000), frames=8, sar=Fraction(32, 27), options={"qscale": "4"})


def _mpeg4_avi(path: Path) -> None:  # MPEG-4 part 2 in AVI, PAL 4:3 (SAR 12:11)
    write(path, fmt="avi", codec="mpeg4", w=352, h=288, rate=Fraction(25), time_base=Fraction(1, 25),
          frames=8, sar=Fraction(12, 11), options={"qscale": "4"})


def _interlaced(path: Path) -> None:  # 480i MPEG-2, top field first, in a transport stream
    write(path, fmt="mpegts", codec="mpeg2video", w=720, h=480, rate=Fraction(30000, 1001),
          time_base=Fraction(1001, 30000), pts=[42 + i for i in range(8)], sar=Fraction(8, 9),
          flags=("interlaced_dct", "interlaced_me"), field_order=2, options={"qscale": "4"})


def _bframes(path: Path) -> None:  # H.264 with B-frames (to be exported into an AVI)
    write(path, frames=12, time_base=Fraction(1, 15360),
          options={"preset": "medium", "crf": "28", "x264-params": "bframes=3:b-adapt=0:keyint=12"})


def _ts_offset(path: Path) -> None:  # a transport stream starting at 10.0333 s (H.264 + AAC)
    write(path, fmt="mpegts", time_base=Fraction(1, 90000), pts=[903000 + 3003 * i for i in range(10)],
          rate=Fraction(30000, 1001), audio=True)


def _fmp4_offset(path: Path) -> None:  # a fragmented MP4 whose first frame is at 1001/30000 s * 37
    write(path, fmt="mp4", time_base=Fraction(1, 30000), pts=[37037 + 1001 * i for i in range(10)],
          rate=Fraction(30000, 1001), container_options={"movflags": "frag_keyframe+empty_moov+default_base_moof"})


def _edit_list(path: Path) -> None:  # an MP4 whose first frame is at 0.5005 s (an edit list)
    write(path, fmt="mp4", time_base=Fraction(1, 30000), pts=[15015 + 1001 * i for i in range(10)],
          rate=Fraction(30000, 1001), audio=True)


def _vfr_long_last(path: Path) -> None:  # VFR whose last frame lasts 1.57 s
    tb = Fraction(1, 90000)
    pts = [0, 3000, 6000, 15000, 18000, 27000, 30000, 33000]
    write(path, fmt="mp4", time_base=tb, pts=pts, last_duration=141300, audio=True)


def rgba_png() -> np.ndarray:
    """A 160x120 BGRA picture: 74 % fully transparent, an opaque disc, a half-transparent band."""
    img = np.zeros((120, 160, 4), np.uint8)
    img[..., :3] = textured_frame(0, 160, 120, seed=3)[..., ::-1]
    alpha = np.zeros((120, 160), np.uint8)
    cv2.circle(alpha, (80, 60), 32, 255, -1)
    alpha[100:110, :] = 128
    img[..., 3] = alpha
    return img


def _rgba_png(path: Path) -> None:
    cv2.imwrite(str(path), rgba_png())


def _midgop_ts(path: Path) -> None:
    """A transport stream cut mid-GOP: it starts 5 frames into a 12-frame GOP (7 frames cannot be
    decoded before the next keyframe)."""
    full = path.with_name("full_" + path.name)
    write(full, fmt="mpegts", time_base=Fraction(1, 90000), pts=[90000 + 3000 * i for i in range(30)],
          options={"preset": "ultrafast", "crf": "23", "x264-params": "keyint=12:min-keyint=12:scenecut=0"})
    with av.open(str(full)) as src, av.open(str(path), "w", format="mpegts") as out:
        ins = src.streams.video[0]
        os_ = out.add_stream_from_template(ins)
        for i, pk in enumerate(src.demux(ins)):
            if pk.size == 0 or i < 5:
                continue
            pk.stream = os_
            out.mux(pk)
    full.unlink()


def _cenc(path: Path) -> None:  # CENC (AES-CTR) encrypted MP4
    key = "00112233445566778899aabbccddeeff"
    write(path, fmt="mp4", container_options={"encryption_scheme": "cenc-aes-ctr", "encryption_key": key,
                                              "encryption_kid": "a7e61c373e219033c21091fa607bf3b8"})


def _broken_matrix(path: Path) -> None:
    """An MP4 whose track display matrix is a shear (not a rotation): PyAV reads a nonsense angle."""
    write(path, fmt="mp4")
    data = bytearray(path.read_bytes())
    i = data.find(b"tkhd")
    version = data[i + 4]
    m = i + 4 + 4 + (32 if version == 1 else 20) + 16  # version/flags, times/ids/durations, reserved...
    # matrix a, b, u, c, d, v, x, y, w (16.16 and 2.30 fixed point)
    vals = [0x00010000, 0x00030000, 0, -0x00020000, 0x00010000, 0, 0, 0, 0x40000000]
    data[m:m + 36] = struct.pack(">9i", *vals)
    path.write_bytes(bytes(data))


def _data_stream(path: Path) -> None:  # H.264 + AAC + a data (KLV-like) stream in a transport stream
    write(path, fmt="mpegts", time_base=Fraction(1, 90000), pts=[3003 * i for i in range(10)],
          rate=Fraction(30000, 1001), audio=True, data_stream=True)


def _ts_to_avi(path: Path) -> None:  # a TS at 1 s (a whole number of frames), AAC in ADTS frames
    write(path, fmt="mpegts", time_base=Fraction(1, 90000), pts=[90000 + 3000 * i for i in range(10)], audio=True)


def _cfr_control(path: Path) -> None:
    write(path, fmt="mp4", time_base=Fraction(1, 15360), audio=True)


CASES: list[Case] = [
    Case("control_mp4", "control.mp4", "control.mp4", "plain 30 fps H.264 + AAC (control)", _cfr_control),
    Case("control_to_mkv", "control.mp4", "control.mkv", "plain 30 fps H.264 + AAC, into Matroska", _cfr_control),
    Case("control_to_mov", "control.mp4", "control.mov", "plain 30 fps H.264 + AAC, into MOV", _cfr_control),
    Case("control_to_m4v", "control.mp4", "control.m4v", "plain 30 fps H.264 + AAC, into M4V", _cfr_control),
    Case("control_to_avi", "control.mp4", "control.avi", "plain 30 fps H.264 + AAC, into AVI", _cfr_control),
    Case("sar_2_1", "sar_2_1.mp4", "sar_2_1.mp4", "H.264, SAR 2:1 (1) ", _sar_h264),
    Case("dvd_mpeg2", "dvd.vob", "dvd.mp4", "720x480 MPEG-2 PS, SAR 32:27 (1)", _dvd_mpeg2),
    Case("mpeg4_avi", "mpeg4.avi", "mpeg4.avi", "MPEG-4 part 2 in AVI, SAR 12:11 (1)", _mpeg4_avi),
    Case("interlaced", "interlaced.ts", "interlaced.mp4", "480i MPEG-2 TS, bottom field first (2)", _interlaced),
    Case("interlaced_mkv", "interlaced.ts", "interlaced.mkv", "480i MPEG-2 TS into Matroska (2)", _interlaced),
    Case("bframes_avi", "bframes.mp4", "bframes.avi", "H.264 with B-frames into AVI (3)", _bframes),
    Case("ts_to_avi", "ts_1s.ts", "ts_1s.avi", "TS at 1 s with ADTS AAC, into AVI (3)", _ts_to_avi),
    Case("ts_offset", "offset.ts", "offset.mp4", "TS starting at 10.0333 s, + AAC (4)", _ts_offset),
    Case("fmp4_offset", "frag.mp4", "frag.mp4", "fragmented MP4 (4)", _fmp4_offset),
    Case("edit_list", "editlist.mp4", "editlist.mp4", "MP4 starting at 0.5005 s (edit list), + AAC (4)",
         _edit_list),
    Case("vfr_long_last", "vfr_last.mp4", "vfr_last.mp4", "VFR, the last frame lasts 1.57 s (5)", _vfr_long_last),
    Case("rgba_png", "alpha.png", "alpha.png", "RGBA PNG, 74 % transparent (6)", _rgba_png),
    Case("midgop_ts", "midgop.ts", "midgop.mp4", "TS that starts mid-GOP: 7 undecodable frames (8)", _midgop_ts),
    Case("cenc", "cenc.mp4", "cenc_out.mp4", "CENC-encrypted MP4 (9)", _cenc, expected="error",
         words=("encrypted",)),
    Case("broken_matrix", "matrix.mp4", "matrix_out.mp4", "display matrix that is a shear (10)", _broken_matrix),
    Case("data_stream", "data.ts", "data.mp4", "TS with a data stream, + AAC (10)", _data_stream),
]
BY_NAME = {c.name: c for c in CASES}


def write_corpus(folder: str | Path, names: list[str] | None = None) -> dict[str, Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for c in CASES:
        if names is not None and c.name not in names:
            continue
        p = folder / c.filename
        if not p.exists():
            c.build(p)
        paths[c.name] = p
    return paths


# -- measuring --------------------------------------------------------------------------------------
@dataclass
class Facts:
    frames: int = 0
    times: list[Fraction] = field(default_factory=list)  # every frame's pts * time_base, sorted
    duration: Fraction | None = None  # first frame's start to the last frame's end
    sar: Fraction | None = None
    field_order: str = "progressive"
    alpha: str = "-"
    rotation: float = 0.0  # the display matrix's turn, degrees (as PyAV reads it)
    audio: tuple[str, ...] = ()
    error: str | None = None

    def line(self) -> str:
        if self.error:
            return f"error: {self.error[:70]}"
        t = self.times
        times = (f"{float(t[0]):.6f}..{float(t[-1]):.6f}" if t else "-")
        dur = f"{float(self.duration):.4f}" if self.duration is not None else "-"
        sar = f"{self.sar.numerator}:{self.sar.denominator}" if self.sar else "1:1"
        return (f"{self.frames:>3} {times:>22} {dur:>7} {sar:>6} {self.field_order:>11} {self.alpha:>10} "
                f"{self.rotation:>4g} {','.join(self.audio) or '-'}")


FIELD_ORDERS = {0: "unknown", 1: "progressive", 2: "tff", 3: "bff", 4: "tb", 5: "bt"}


def facts(path: str | Path) -> Facts:
    """What a file holds, measured with PyAV (and OpenCV for a PNG), not with Obscura's probe."""
    path = str(path)
    if path.lower().endswith(".png"):
        img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        if img is None:
            return Facts(error="unreadable")
        alpha = "none"
        if img.ndim == 3 and img.shape[2] == 4:
            alpha = f"{(img[..., 3] == 0).mean() * 100:.0f}%clear"
        return Facts(frames=1, alpha=alpha)
    f = Facts()
    try:
        with av.open(path) as c:
            vs = c.streams.video[0]
            tb = vs.time_base
            ends = []
            for pk in c.demux(vs):
                if pk.size and pk.pts is not None and pk.duration:
                    ends.append((pk.pts + pk.duration) * tb)
            c.seek(0)
            first = None
            for fr in c.decode(vs):
                first = first or fr
                if fr.pts is not None:
                    f.times.append(fr.pts * tb)
                f.frames += 1
            f.times.sort()
            if f.times:
                end = max(ends) if ends else f.times[-1]
                f.duration = end - f.times[0]
            ctx = vs.codec_context
            sar = vs.sample_aspect_ratio or ctx.sample_aspect_ratio
            f.sar = Fraction(sar) if sar and Fraction(sar) != 1 else None
            order = FIELD_ORDERS.get(int(getattr(ctx, "field_order", 0) or 0), "unknown")
            inter = bool(first is not None and first.interlaced_frame)
            if inter:
                f.field_order = order if order not in ("unknown", "progressive") else "interlaced"
            elif order not in ("unknown", "progressive"):
                f.field_order = f"{order}(tag)"  # the stream says interlaced, the frames are not
            if first is not None:
                f.rotation = float(first.rotation or 0)
                f.alpha = "yes" if "a" in first.format.name.replace("gray", "") else "-"
            f.audio = tuple(a.codec_context.name for a in c.streams.audio)
    except av.error.FFmpegError as e:
        f.error = str(e)
    return f


def export_case(case: Case, src: Path, out_dir: Path):
    """Export ``src`` to ``out_dir / case.output`` through the delivery job, one box mask over the
    middle of every frame (no leak check, no report), x264 preset veryfast (B-frames, like the
    default medium). Returns the Delivery or the ObscuraError."""
    from app.base.progress import run
    from app.core import Keyframe, Project, RedactionStyle, Shape, Track
    from app.errors import ObscuraError
    from app.jobs.delivery import DeliveryOptions, delivery_job
    from app.media.facts import open_media
    from app.media.writer import EncodeSettings

    out = out_dir / case.output
    try:
        media = open_media(str(src))
        w, h = media.width, media.height
        box = Shape.rect(w * 0.3, h * 0.3, w * 0.7, h * 0.7)
        project = Project()
        last = max(0, media.frame_count - 1)
        keys = [Keyframe(0, box)] + ([Keyframe(last, box)] if last else [])
        project.add_track(Track("manual-0001", "manual", keys,
                                style=RedactionStyle(method="pixelate", margin=0, feather=0)))
        settings = None if media.is_image else EncodeSettings(preset="veryfast")  # B-frames, as the default
        return run(delivery_job(project, media, DeliveryOptions(str(out), settings=settings, report=False)))
    except ObscuraError as e:
        return e


if __name__ == "__main__":
    for name, p in write_corpus(sys.argv[1]).items():
        print(f"{name:>16}: {p}")
