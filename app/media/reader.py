"""Decode a video: sequentially, or by exact frame index.

Frame indices come from the probe's frame table (pts sorted in presentation order), so frame
``i`` is the same frame whether it is reached by playing, by seeking or by the exporter.
Random access seeks to the keyframe at or before the target and decodes forward; consecutive
requests continue decoding without seeking again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from app.errors import CorruptMedia, UnsupportedMedia
from app.media.probe import MAX_PIXELS, VideoInfo, _ffmpeg_reason, open_input, probe


@dataclass
class Frame:
    index: int
    pts: int
    time: Fraction  # seconds since the first frame
    frame: av.VideoFrame

    def to_bgr(self) -> np.ndarray:
        return self.frame.to_ndarray(format="bgr24")

    def to_bgr_scaled(self, width: int, height: int) -> np.ndarray:
        """Scaled BGR copy (one swscale pass), e.g. for detector input or thumbnails."""
        return self.frame.reformat(width=width, height=height, format="bgr24").to_ndarray()


@dataclass
class AudioPacket:
    stream_index: int
    packet: av.Packet


# How far ahead (in frames) a random-access request may be before we seek instead of decoding on.
_DECODE_AHEAD_LIMIT = 48


class VideoReader:
    """Decoder for one video file. Not thread-safe: one reader per thread."""

    def __init__(self, path: str, info: VideoInfo | None = None, threads: bool = True):
        self.info = info or probe(path)
        self.path = path
        self._container = open_input(path)
        self._stream = decoding_stream(self._container, self.info)
        if threads:
            self._stream.thread_type = "AUTO"
        self._decoder: Iterator | None = None
        self._last_index = -1
        self._fresh = True

    @property
    def audio_streams(self) -> list:
        return list(self._container.streams.audio)

    # -- lifetime -------------------------------------------------------------------------------
    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- sequential -----------------------------------------------------------------------------
    def frames(self, start: int = 0, end: int | None = None) -> Iterator[Frame]:
        """Every frame from ``start`` up to (not including) ``end``, in order."""
        end = self.info.frame_count if end is None else min(end, self.info.frame_count)
        if start >= end:
            return
        if start > 0:
            yield self.read(start)
            start += 1
        elif self._last_index != -1:
            self._seek(0)
        while self._last_index + 1 < end:
            frame = self._next_frame()
            if frame is None:
                return
            if frame.index >= start:
                yield frame

    def packets(self) -> Iterator[Frame | AudioPacket]:
        """Decoded video frames and raw audio packets, interleaved in file order (for export)."""
        self._seek(0)
        streams = [self._stream, *self._container.streams.audio]
        vindex = self._stream.index
        try:
            for packet in self._container.demux(streams):
                if packet.stream.index != vindex:
                    if packet.size:
                        yield AudioPacket(packet.stream.index, packet)
                    continue
                yield from self._decode_packet(packet)
        except av.error.FFmpegError as e:
            raise CorruptMedia(
                f"cannot read {self.path} after frame {self._last_index}, "
                f"the file is corrupt or truncated: {_ffmpeg_reason(e)}"
            ) from None

    def _decode_packet(self, packet) -> Iterator[Frame]:
        try:
            decoded = packet.decode()
        except av.error.FFmpegError as e:
            raise CorruptMedia(
                f"cannot decode {self.path} after frame {self._last_index}, "
                f"the file is corrupt or truncated: {_ffmpeg_reason(e)}"
            ) from None
        for f in decoded:
            yield self._wrap(f)

    # -- random access --------------------------------------------------------------------------
    def read(self, index: int) -> Frame:
        """The frame at ``index`` exactly."""
        if not 0 <= index < self.info.frame_count:
            raise IndexError(f"frame {index} is outside the video (0..{self.info.frame_count - 1})")
        target = self.info.pts[index]
        if not (self._last_index < index <= self._last_index + _DECODE_AHEAD_LIMIT):
            self._seek(index)
        while True:
            frame = self._next_frame()
            if frame is None:
                raise CorruptMedia(f"frame {index} of {self.path} cannot be decoded; the file is truncated")
            if frame.pts >= target:
                if frame.pts > target and frame.index != index:
                    # The seek landed past the target (broken index): back off one keyframe more.
                    self._seek(index, extra_back=True)
                    continue
                return frame

    def _seek(self, index: int, extra_back: bool = False) -> None:
        import bisect

        target = self.info.pts[index]
        keys = self.info.keyframe_pts
        k = bisect.bisect_right(keys, target) - 1
        if extra_back:
            k -= 1
        seek_pts = keys[max(0, k)] if keys else target
        if k < 0 or index == 0:
            seek_pts = self.info.pts[0]
        try:
            if seek_pts == self.info.pts[0] and self._last_index == -1 and self._decoder is None:
                pass  # freshly opened: already at the start
            else:
                self._container.seek(seek_pts, stream=self._stream, backward=True, any_frame=False)
        except av.error.FFmpegError:
            # Some formats (GIF, raw streams) can't seek: reopen and decode from the start.
            self._reopen()
            seek_pts = self.info.pts[0]
        self._decoder = None
        self._fresh = True
        self._last_index = self.info.index_of_pts(seek_pts) - 1

    def _reopen(self) -> None:
        threads = self._stream.thread_type
        self._container.close()
        self._container = open_input(self.path)
        self._stream = decoding_stream(self._container, self.info)
        self._stream.thread_type = threads

    def _next_frame(self) -> Frame | None:
        if self._decoder is None:
            self._decoder = self._container.decode(self._stream)
        try:
            f = next(self._decoder)
        except StopIteration:
            return None
        except av.error.FFmpegError as e:
            raise CorruptMedia(
                f"cannot decode {self.path} after frame {self._last_index}, "
                f"the file is corrupt or truncated: {_ffmpeg_reason(e)}"
            ) from None
        return self._wrap(f)

    def _wrap(self, f: av.VideoFrame) -> Frame:
        check_frame_size(f, self.info, self._last_index + 1)
        index = self.info.index_of_decoded(f.pts, self._last_index, self._fresh)
        self._fresh = False
        self._last_index = index
        return Frame(index, self.info.pts[index], (self.info.pts[index] - self.info.start_pts) * self.info.time_base, f)


def decoding_stream(container, info: VideoInfo):
    """The probed video stream of a freshly opened ``container``, its decoder limited to frames of
    ``MAX_PIXELS`` (a frame that grows past it mid-stream fails to decode instead of allocating)."""
    stream = container.streams[info.stream_index]
    stream.codec_context.options = {"max_pixels": str(MAX_PIXELS)}
    return stream


def check_frame_size(frame: av.VideoFrame, info: VideoInfo, index: int) -> None:
    """Refuse a frame whose size differs from the probed one: masks are placed in the probed frame's
    pixels, and the encoder would silently rescale such a frame."""
    if (frame.width, frame.height) != (info.width, info.height):
        raise UnsupportedMedia(
            f"the frame size of {info.path} changes from {info.width}x{info.height} to "
            f"{frame.width}x{frame.height} near frame {max(0, index)}; videos whose frame size changes "
            "are not supported"
        )
