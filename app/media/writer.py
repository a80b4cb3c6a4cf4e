"""Encode a video that matches its input in every way but the redacted pixels.

* The same frame count, each frame's pts and the time base: variable frame rate stays variable.
* The input's pixel format when the encoder supports it (so 10-bit stays 10-bit), colour tags and
  display rotation.
* Audio packets copied unchanged when the output container accepts the codec, otherwise
  transcoded to AAC, or dropped on request.
* Container metadata (which can hold GPS positions, device serials, names) is not copied.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import av

from app.errors import OutputError, UnsupportedMedia
from app.media.output import describe_os_error
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


def container_for(path: str, settings: EncodeSettings) -> str:
    ext = os.path.splitext(path)[1].lower()
    fmt = _CONTAINERS.get(ext)
    if fmt is None:
        raise OutputError(f"unsupported output type '{ext or path}': use .mp4, .mov, .m4v, .mkv or .avi")
    if settings.codec == "ffv1" and fmt not in _FFV1_CONTAINERS:
        raise OutputError("lossless FFV1 output needs an .mkv (or .avi) file name")
    return fmt


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
    ):
        settings = settings or EncodeSettings()
        settings.validate()
        self.path = path
        self._name = final_name or path  # what error messages call the file (not the temp name)
        self.info = info
        self.settings = settings
        fmt = container_for(final_name or path, settings)
        codec_name = CODECS[settings.codec]
        opts = {}
        if settings.faststart and fmt in ("mp4", "mov"):
            opts["movflags"] = "+faststart"
        try:
            self._out = av.open(path, mode="w", format=fmt, options=opts)
        except OSError as e:
            raise OutputError(describe_os_error(e, self._name)) from None
        self._out.metadata.clear() if hasattr(self._out.metadata, "clear") else None
        self.frames_written = 0
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
        vs.time_base = info.time_base
        ctx = vs.codec_context
        ctx.time_base = info.time_base
        for attr in ("color_range", "colorspace", "color_primaries", "color_trc"):
            value = getattr(info, attr)
            if value:
                try:
                    setattr(ctx, attr, value)
                except (ValueError, TypeError, AttributeError):
                    pass
        if codec_name == "libx264":
            ctx.options = {"crf": str(self.settings.crf), "preset": self.settings.preset}
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
        if mode == "copy" and name in self._out.supported_codecs:
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
        self._audio_map[in_stream.index] = ("aac", out_stream, decoder)

    # -- writing --------------------------------------------------------------------------------
    def write(self, frame: av.VideoFrame, pts: int) -> None:
        frame.pts = pts
        frame.time_base = self.info.time_base
        frame.pict_type = 0  # let the encoder choose frame types
        self._mux(self._video.encode(frame))
        self.frames_written += 1

    def write_audio(self, stream_index: int, packet: av.Packet) -> None:
        entry = self._audio_map.get(stream_index)
        if entry is None:
            return
        mode, out_stream, decoder = entry
        if mode == "copy":
            packet.stream = out_stream
            self._mux([packet])
            return
        try:
            frames = decoder.decode(packet)
        except av.error.FFmpegError:
            return  # a damaged audio packet: skip it rather than lose the video
        for f in frames:
            f.pts = None
            self._mux(out_stream.encode(f))

    def _mux(self, packets) -> None:
        try:
            self._out.mux(packets)
        except OSError as e:
            raise OutputError(describe_os_error(e, self._name)) from None

    def close(self) -> None:
        """Flush the encoders and finish the file."""
        self._mux(self._video.encode(None))
        for mode, out_stream, decoder in self._audio_map.values():
            if mode == "aac":
                for f in decoder.decode(None):
                    f.pts = None
                    self._mux(out_stream.encode(f))
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
