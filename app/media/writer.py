"""Encode a video that matches its input in every way but the redacted pixels.

* The same frame count, each frame's pts and the time base: variable frame rate stays variable.
* The input's pixel format when the encoder supports it (so 10-bit stays 10-bit), colour tags and
  display rotation.
* Audio packets copied unchanged when the output container accepts the codec, otherwise
  transcoded to AAC, or dropped on request.
* Audio mutes and frame ranges (:class:`AudioEdit`): the soundtrack is decoded, the muted spans
  replaced sample-exactly (silence, or a 1 kHz tone at -20 dBFS), the samples outside the range
  cut off, and the result encoded to AAC at the input's sample rate and channel layout. Packets
  cannot be copied then; without mutes or a range they still are, byte for byte.
* Container metadata (which can hold GPS positions, device serials, names) is not copied.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from app.base.atomic import describe_os_error
from app.errors import OutputError, UnsupportedMedia
from app.media.probe import VideoInfo

CODECS = {"h264": "libx264", "ffv1": "ffv1"}
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
_CONTAINERS = {
    ".mp4": "mp4",
    ".m4v": "mp4",
    ".mov": "mov",
    ".mkv": "matroska",
    ".avi": "avi",
}
_FFV1_CONTAINERS = {"matroska", "avi"}


@dataclass(frozen=True)
class EncodeSettings:
    codec: str = "h264"  # "h264" (libx264, CRF) or "ffv1" (lossless, MKV)
    crf: int = 18  # visually lossless
    preset: str = "medium"
    audio: str = "copy"  # "copy" (transcode to AAC only if the container can't hold it), "aac", "drop"
    faststart: bool = True  # MP4/MOV: index at the front, for streaming and quick opening

    def validate(self) -> None:
        if self.codec not in CODECS:
            raise OutputError(f"unknown codec '{self.codec}' (choose {', '.join(CODECS)})")
        if not 0 <= self.crf <= 51:
            raise OutputError(f"CRF must be between 0 and 51, got {self.crf}")
        if self.preset not in PRESETS:
            raise OutputError(f"unknown x264 preset '{self.preset}'")
        if self.audio not in ("copy", "aac", "drop"):
            raise OutputError(f"audio must be copy, aac or drop, got '{self.audio}'")


TONE_HZ = 1000
TONE_DBFS = -20.0


@dataclass(frozen=True)
class MuteSpan:
    """A stretch of the soundtrack to replace: ``start``..``end`` (end exclusive) in seconds on the
    input's clock (the streams' common presentation timeline, as ``pts * time_base``)."""

    start: Fraction
    end: Fraction
    mode: str = "silence"  # "silence" or "tone" (1 kHz at -20 dBFS, a "bleep")


@dataclass(frozen=True)
class AudioEdit:
    """What to do to the soundtrack besides copying it.

    ``mutes``: spans to silence or bleep. ``window``: keep only the samples in ``[start, end)``
    seconds (None on either side: no limit), for a frame-range export. ``shift``: seconds taken
    off every kept sample's time, so the audio stays in sync with video that was shifted the same.
    """

    mutes: tuple[MuteSpan, ...] = ()
    window: tuple[Fraction | None, Fraction | None] | None = None
    shift: Fraction = Fraction(0)

    @property
    def needed(self) -> bool:
        """True when the audio must be decoded and re-encoded (packets can't be copied)."""
        return bool(self.mutes) or (self.window is not None and self.window != (None, None))


def container_for(path: str, settings: EncodeSettings) -> str:
    ext = os.path.splitext(path)[1].lower()
    fmt = _CONTAINERS.get(ext)
    if fmt is None:
        raise OutputError(f"unsupported output type '{ext or path}': use .mp4, .mov, .m4v, .mkv or .avi")
    if settings.codec == "ffv1" and fmt not in _FFV1_CONTAINERS:
        raise OutputError("lossless FFV1 output needs an .mkv (or .avi) file name")
    return fmt


def check_container(fmt: str, info: VideoInfo, name: str, codec: str = "h264") -> None:
    """Refuse what the container cannot hold, naming the property: AVI has one frame rate and no
    frame times, so neither a variable frame rate nor a start between two frames."""
    if info is None:
        return
    if codec == "ffv1" and info.sar != 1:
        # H.264 carries the pixel shape in its bitstream; FFV1 relies on the container's, which
        # PyAV gives no way to set
        raise OutputError(f"{os.path.basename(name)}: lossless FFV1 output cannot hold this video's pixel aspect "
                          f"ratio ({info.sar.numerator}:{info.sar.denominator}, non-square pixels): use H.264")
    if fmt != "avi":
        return
    if info.is_vfr:
        raise OutputError(f"{os.path.basename(name)}: AVI cannot hold a variable frame rate (each frame's time "
                          "would be lost): use .mp4, .mov or .mkv")
    start = info.start_pts * info.time_base
    if info.fps and (start * info.fps).denominator != 1:
        raise OutputError(f"{os.path.basename(name)}: AVI cannot hold this video's start time ({float(start):.4f} s "
                          "is not a whole number of frames): use .mp4, .mov or .mkv")


def _movie_timescale(time_base: Fraction) -> int:
    """The MP4 movie timescale (edit lists, the movie's duration) that holds the video's start
    exactly: its time base's denominator, within the 32-bit field (else 1000, FFmpeg's default)."""
    ts = Fraction(time_base).denominator
    if not 0 < ts < 2**31:
        return 1000
    while ts < 1000:  # multiples keep it exact; at least FFmpeg's millisecond
        ts *= 2
    return ts if ts < 2**31 else 1000


def choose_pix_fmt(codec_name: str, input_fmt: str, bit_depth: int) -> str:
    supported = {f.name for f in (av.codec.Codec(codec_name, "w").video_formats or [])}
    if input_fmt in supported:
        return input_fmt
    if codec_name == "libx264":
        return "yuv420p10le" if bit_depth > 8 else "yuv420p"
    for cand in ("yuv444p16le" if bit_depth > 8 else "yuv444p", "gbrp", "yuv420p"):
        if cand in supported:
            return cand
    raise UnsupportedMedia(f"no pixel format for {codec_name} matches {input_fmt}")


class VideoWriter:
    """Writes frames (PyAV VideoFrames with the input's pts) and audio packets to ``path``.

    ``path`` is the final file's temporary stand-in (see ``media.output.atomic_output``); the
    container type comes from ``final_name`` (or ``path``) so the temporary suffix doesn't matter.
    """

    def __init__(
        self,
        path: str,
        info: VideoInfo,
        settings: EncodeSettings | None = None,
        audio_streams: list | None = None,
        final_name: str | None = None,
        audio_edit: AudioEdit | None = None,
    ):
        settings = settings or EncodeSettings()
        settings.validate()
        self.path = path
        self._name = final_name or path  # what error messages call the file (not the temp name)
        self.info = info
        self.settings = settings
        self.audio_edit = audio_edit if audio_edit is not None and audio_edit.needed else None
        fmt = container_for(final_name or path, settings)
        codec_name = CODECS[settings.codec]
        check_container(fmt, info, self._name, settings.codec)
        opts = {}
        if fmt in ("mp4", "mov"):
            if settings.faststart:
                opts["movflags"] = "+faststart"
            # the edit list (the start offset) in the video's own clock, not whole milliseconds
            opts["movie_timescale"] = str(_movie_timescale(info.time_base))
        if fmt == "matroska" and info.pts and info.pts[0] >= 0:
            # audio priming before 0 (and B-frames' decode times) must not shift the video; a video
            # that itself starts before 0 is shifted as FFmpeg does (Matroska reads such frames untimed)
            opts["avoid_negative_ts"] = "disabled"
        try:
            self._out = av.open(path, mode="w", format=fmt, options=opts)
        except OSError as e:
            raise OutputError(describe_os_error(e, self._name)) from None
        self._out.metadata.clear() if hasattr(self._out.metadata, "clear") else None
        self.frames_written = 0
        self._durations: dict[int, int] = {}  # output pts -> the frame's duration, for the muxer
        self._audio_map: dict[int, tuple] = {}
        try:
            self._video = self._add_video(codec_name)
            for s in audio_streams or []:
                self._add_audio(s)
        except BaseException:
            self._out.close()
            raise

    # -- setup ----------------------------------------------------------------------------------
    def _add_video(self, codec_name: str):
        info = self.info
        vs = self._out.add_stream(codec_name, rate=info.fps)
        vs.width, vs.height = info.width, info.height
        vs.pix_fmt = choose_pix_fmt(codec_name, info.pix_fmt, info.bit_depth)
        if codec_name == "libx264" and (info.width % 2 or info.height % 2) and vs.pix_fmt.startswith(
                ("yuv420", "yuv422", "nv")):
            # H.264's 4:2:0 and 4:2:2 need even sizes; 4:4:4 keeps an odd-sized frame exactly as it is
            vs.pix_fmt = "yuv444p10le" if info.bit_depth > 8 else "yuv444p"
        ctx = vs.codec_context
        # AVI has no frame times, only a frame rate: its clock is one tick a frame (PyAV rescales
        # the frames' pts into it); every other container keeps the input's time base
        self._avi = self._out.format.name == "avi"
        tb = Fraction(1) / info.fps if self._avi and info.fps else info.time_base
        vs.time_base = tb
        ctx.time_base = tb
        if info.sar != 1:
            ctx.sample_aspect_ratio = info.sar  # non-square pixels: the picture keeps its shape
        interlaced = info.field_order in ("tff", "bff")
        if interlaced:
            ctx.field_order = 2 if info.field_order == "tff" else 3
            ctx.flags |= av.codec.context.Flags.interlaced_dct | av.codec.context.Flags.interlaced_me
        for attr in ("color_range", "colorspace", "color_primaries", "color_trc"):
            value = getattr(info, attr)
            if value:
                try:
                    setattr(ctx, attr, value)
                except (ValueError, TypeError, AttributeError):
                    pass
        if codec_name == "libx264":
            opts = {"crf": str(self.settings.crf), "preset": self.settings.preset}
            params = []
            if interlaced:
                params.append("interlaced=1:" + ("tff=1" if info.field_order == "tff" else "bff=1"))
            if self._avi:
                params.append("bframes=0")  # AVI stores no presentation times: frames in coded order
            if params:
                opts["x264-params"] = ":".join(params)
            ctx.options = opts
        else:
            ctx.options = {"level": "3", "g": "1", "slicecrc": "1"}
            ctx.thread_count = 0
        if info.rotation:
            vs.set_display_rotation(info.rotation)
        return vs

    def _add_audio(self, in_stream) -> None:
        mode = self.settings.audio
        if mode == "drop":
            return
        name = in_stream.codec_context.name if in_stream.codec_context else ""
        # AVI has no filter to turn AAC in ADTS frames (a transport stream's) into the stored form
        # that it needs: such a track is transcoded rather than copied
        adts = name == "aac" and not in_stream.codec_context.extradata and self._out.format.name == "avi"
        if self.audio_edit is None and mode == "copy" and name in self._out.supported_codecs and not adts:
            out_stream = self._out.add_stream_from_template(in_stream)
            self._audio_map[in_stream.index] = ("copy", out_stream, None)
            return
        rate = in_stream.codec_context.sample_rate or 48000
        out_stream = self._out.add_stream("aac", rate=rate)
        try:
            out_stream.layout = in_stream.codec_context.layout.name
        except (AttributeError, ValueError):
            out_stream.layout = "stereo"
        decoder = av.codec.CodecContext.create(in_stream.codec_context.name, "r")
        decoder.sample_rate = in_stream.codec_context.sample_rate
        decoder.layout = in_stream.codec_context.layout
        if in_stream.codec_context.extradata:
            decoder.extradata = in_stream.codec_context.extradata
        if self.audio_edit is not None:
            editor = _AudioEditor(self.audio_edit, rate, out_stream.layout.name,
                                  in_stream.time_base or Fraction(1, rate))
            self._audio_map[in_stream.index] = ("edit", out_stream, decoder, editor)
            return
        self._audio_map[in_stream.index] = ("aac", out_stream, decoder)

    # -- writing --------------------------------------------------------------------------------
    def write(self, frame: av.VideoFrame, pts: int, duration: int | None = None) -> None:
        """Encode ``frame`` at ``pts``; ``duration`` (time_base units): how long it is shown, which
        the muxer stores for the last frame (a VFR clip's last frame may last seconds)."""
        frame.pts = pts
        frame.time_base = self.info.time_base
        frame.pict_type = 0  # let the encoder choose frame types
        if duration and not self._avi:
            self._durations[pts] = int(duration)
        self._mux_video(self._video.encode(frame))
        self.frames_written += 1

    def _mux_video(self, packets) -> None:
        for p in packets:
            d = self._durations.pop(p.pts, None) if p.pts is not None else None
            if d:
                p.duration = d
        self._mux(packets)

    def write_audio(self, stream_index: int, packet: av.Packet) -> None:
        entry = self._audio_map.get(stream_index)
        if entry is None:
            return
        mode, out_stream, decoder = entry[:3]
        if mode == "copy":
            packet.stream = out_stream
            self._mux([packet])
            return
        try:
            frames = decoder.decode(packet)
        except av.error.FFmpegError:
            return  # a damaged audio packet: skip it rather than lose the video
        if mode == "edit":
            for f in frames:
                self._mux_edited(out_stream, entry[3].process(f))
            return
        for f in frames:
            f.pts = None
            self._mux(out_stream.encode(f))

    def _mux_edited(self, out_stream, frame) -> None:
        if frame is not None:
            self._mux(out_stream.encode(frame))

    def _mux(self, packets) -> None:
        try:
            self._out.mux(packets)
        except OSError as e:
            raise OutputError(describe_os_error(e, self._name)) from None

    def close(self) -> None:
        """Flush the encoders and finish the file."""
        self._mux_video(self._video.encode(None))
        for entry in self._audio_map.values():
            mode, out_stream, decoder = entry[:3]
            if mode == "aac":
                for f in decoder.decode(None):
                    f.pts = None
                    self._mux(out_stream.encode(f))
                self._mux(out_stream.encode(None))
            elif mode == "edit":
                for f in decoder.decode(None):
                    self._mux_edited(out_stream, entry[3].process(f))
                self._mux(out_stream.encode(None))
        try:
            self._out.close()
        except OSError as e:
            raise OutputError(describe_os_error(e, self._name)) from None

    def abort(self) -> None:
        try:
            self._out.close()
        except Exception:
            pass


class _AudioEditor:
    """Turns decoded audio frames into edited float-planar frames for the AAC encoder.

    Samples are counted on the input's clock: sample ``k`` plays at ``k / rate`` seconds. The first
    frame's position comes from its pts; later frames follow on sample by sample (AAC is gapless),
    unless their pts says the stream jumped (a gap in the file), which is then kept.
    """

    def __init__(self, edit: AudioEdit, rate: int, layout: str, time_base: Fraction):
        self.rate, self.layout, self.time_base = rate, layout, Fraction(time_base)
        self.spans = [(_sample(m.start, rate), _sample(m.end, rate), m.mode) for m in edit.mutes]
        self.spans = [s for s in self.spans if s[1] > s[0]]
        lo, hi = edit.window if edit.window is not None else (None, None)
        self.lo = _sample(lo, rate) if lo is not None else None
        self.hi = _sample(hi, rate) if hi is not None else None
        self.shift = _sample(edit.shift, rate)
        self.next_sample: int | None = None
        # a pts this far off the running count is a real jump, not time-base rounding
        self._tolerance = max(2, math.ceil(rate * self.time_base) + 1)
        self.amplitude = 10 ** (TONE_DBFS / 20)

    def process(self, frame: av.AudioFrame) -> av.AudioFrame | None:
        data = _as_float_planar(frame)
        n = data.shape[1]
        if n == 0:
            return None
        start = self.next_sample
        if frame.pts is not None:
            tb = frame.time_base or self.time_base
            at = _sample(frame.pts * Fraction(tb), self.rate)
            if start is None or abs(at - start) > self._tolerance:
                start = at
        if start is None:
            start = 0
        self.next_sample = start + n
        end = start + n
        for span_start, span_end, mode in self.spans:
            a, b = max(span_start, start), min(span_end, end)
            if a >= b:
                continue
            if mode == "tone":  # the phase runs from the span's start: continuous across frames
                k = np.arange(a - span_start, b - span_start, dtype=np.float64)
                tone = (self.amplitude * np.sin(2 * np.pi * TONE_HZ * k / self.rate)).astype(np.float32)
                data[:, a - start:b - start] = tone
            else:
                data[:, a - start:b - start] = 0.0
        i0 = 0 if self.lo is None else max(0, self.lo - start)
        i1 = n if self.hi is None else min(n, self.hi - start)
        if i1 <= i0:
            return None
        if i0 or i1 != n:
            data = data[:, i0:i1]
        out = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format="fltp", layout=self.layout)
        out.sample_rate = self.rate
        out.pts = start + i0 - self.shift
        out.time_base = Fraction(1, self.rate)
        return out


def _sample(seconds: Fraction | float, rate: int) -> int:
    """The first sample at or after ``seconds`` (exact for Fractions)."""
    return math.ceil(Fraction(seconds) * rate)


def _as_float_planar(frame: av.AudioFrame) -> np.ndarray:
    """The frame's samples as float32, shape (channels, samples), values in [-1, 1]."""
    arr = frame.to_ndarray()
    fmt = frame.format
    channels = len(frame.layout.channels) or 1
    if not fmt.is_planar:
        arr = arr.reshape(-1, channels).T
    kind = arr.dtype
    if kind == np.uint8:
        out = (arr.astype(np.float32) - 128.0) / 128.0
    elif np.issubdtype(kind, np.integer):
        out = arr.astype(np.float32) / float(2 ** (8 * kind.itemsize - 1))
    else:
        out = arr.astype(np.float32)
    return np.array(out, dtype=np.float32, copy=True)
