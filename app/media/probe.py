"""Probe a media file: streams, exact frame rate, frame count and the frame-index -> pts table.

The frame table comes from a demux-only scan (no decoding), so it is exact and cheap: the
presentation timestamps of every video packet, sorted. Frame ``i`` of the file is the frame whose
pts is ``pts[i]``. The reader uses the same table for exact random access, and the writer keeps
those timestamps, so variable-frame-rate input stays variable.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
from dataclasses import dataclass, field
from fractions import Fraction

import av
import av.logging

from app.errors import CorruptMedia, InputNotFound, NotAMediaFile, UnsupportedMedia

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png"}
MAX_SIDE = 8192
# Decoders refuse frames larger than this before allocating them (FFmpeg's ``max_pixels``), so a
# file whose header claims a giant frame costs nothing to open.
MAX_PIXELS = MAX_SIDE * MAX_SIDE
_PICTURE_SIZE = re.compile(r"picture size (\d+)x(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class AudioInfo:
    index: int
    codec: str
    sample_rate: int
    channels: int
    time_base: Fraction
    duration: Fraction | None


@dataclass
class VideoInfo:
    """What the product needs to know about a video, with exact (Fraction) time."""

    path: str
    container: str
    codec: str
    width: int
    height: int
    pix_fmt: str
    rotation: int  # counter-clockwise degrees, as PyAV reports it (0, 90, 180, 270)
    fps: Fraction  # average frame rate, exact: 29.97 stays 30000/1001
    time_base: Fraction
    frame_count: int
    duration: Fraction  # seconds, from the first frame's pts to the end of the last frame
    start_pts: int
    is_vfr: bool
    stream_index: int
    color_range: int = 0
    colorspace: int = 0
    color_primaries: int = 0
    color_trc: int = 0
    bit_depth: int = 8
    audio: list[AudioInfo] = field(default_factory=list)
    damage: str | None = None  # why the file looks truncated or damaged (None: it reads to the end)
    sar: Fraction = Fraction(1)  # sample (pixel) aspect ratio: 32:27 for a 16:9 DVD
    field_order: str = "progressive"  # or "tff" / "bff" (interlaced, top or bottom field first)
    last_duration: int = 0  # the last frame's duration (time_base units): a VFR clip's may be long
    skipped_leading: int = 0  # frames before the first decodable one (a stream cut mid-GOP): not in the table
    dropped_streams: list[str] = field(default_factory=list)  # streams the export leaves out, in words
    notes: list[str] = field(default_factory=list)  # what the probe corrected or ignored, in words
    pts: list[int] = field(default_factory=list, repr=False)  # frame index -> pts (time_base units)
    keyframe_pts: list[int] = field(default_factory=list, repr=False)

    def time_of(self, index: int) -> Fraction:
        """Seconds from the first frame to frame ``index``."""
        return (self.pts[index] - self.start_pts) * self.time_base

    def index_of_pts(self, pts: int) -> int:
        """Frame index whose pts is the last one <= ``pts`` (clamped to the file)."""
        import bisect

        i = bisect.bisect_right(self.pts, pts) - 1
        return max(0, min(i, self.frame_count - 1))

    def index_of_decoded(self, pts: int | None, last: int, after_seek: bool) -> int:
        """Frame index of a frame just decoded with ``pts``, ``last`` being the previous one's index.

        Frames with no pts follow the previous one; repeated timestamps in the file (which the
        probe nudged apart in the table) map to the next index rather than the same one.
        """
        if pts is None:
            index = last + 1
        else:
            index = self.index_of_pts(pts)
            if index <= last and not after_seek:
                index = last + 1
        return min(index, self.frame_count - 1)

    def frame_duration(self, index: int) -> int:
        """How long frame ``index`` is shown (time_base units): to the next frame, or the last
        frame's own duration."""
        if index + 1 < self.frame_count:
            return self.pts[index + 1] - self.pts[index]
        return self.last_duration or (self.pts[-1] - self.pts[-2] if self.frame_count > 1 else 1)

    def summary(self) -> dict:
        return {
            "path": os.path.basename(self.path),
            "container": self.container,
            "codec": self.codec,
            "width": self.width,
            "height": self.height,
            "pix_fmt": self.pix_fmt,
            "bit_depth": self.bit_depth,
            "rotation": self.rotation,
            "fps": str(self.fps),
            "fps_float": round(float(self.fps), 4),
            "time_base": str(self.time_base),
            "frame_count": self.frame_count,
            "duration_s": round(float(self.duration), 4),
            "variable_frame_rate": self.is_vfr,
            "start_s": str(self.start_pts * self.time_base),
            "sample_aspect_ratio": f"{self.sar.numerator}:{self.sar.denominator}",
            "field_order": self.field_order,
            "audio": [
                {"index": a.index, "codec": a.codec, "sample_rate": a.sample_rate, "channels": a.channels}
                for a in self.audio
            ],
            **({"skipped_leading_frames": self.skipped_leading} if self.skipped_leading else {}),
            **({"dropped_streams": self.dropped_streams} if self.dropped_streams else {}),
            **({"notes": self.notes} if self.notes else {}),
            **({"damage": self.damage} if self.damage else {}),
        }


def not_same_video(info: VideoInfo, width: int, height: int, frame_count: int) -> str | None:
    """Why ``info`` is not the video a project was made on (masks are in that video's pixels and
    frames), e.g. "it is 320x240 with 30 frames, the project's is 320x240 with 60 frames"; None
    when frame size and count match (a moved or copied file)."""
    if (info.width, info.height, info.frame_count) == (width, height, frame_count):
        return None
    return (f"it is {info.width}x{info.height} with {info.frame_count} frames, the project's is "
            f"{width}x{height} with {frame_count} frames")


def is_image_path(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in IMAGE_EXTENSIONS


def open_input(path: str) -> av.container.InputContainer:
    """Open ``path`` with PyAV, turning every failure into a one-line ObscuraError.

    Checked before FFmpeg sees the file: it exists, is not empty, and is not a JPEG or PNG photo
    (FFmpeg would open one as a one-frame video; the photo path handles photos). While FFmpeg
    opens it, its decoders refuse frames of more than ``MAX_PIXELS`` before allocating them.
    """
    if not os.path.exists(path):
        raise InputNotFound(f"input not found: {path}")
    if os.path.isdir(path):
        raise NotAMediaFile(f"input is a folder, not a video file: {path}")
    if os.path.getsize(path) == 0:
        raise NotAMediaFile(f"input is empty (0 bytes): {path}")
    head = _head(path)
    from app.media.images import image_kind, media_kind

    kind = image_kind(head)
    if kind is not None:
        raise NotAMediaFile(f"{path} is a {kind} image, not a video: give it a .jpg or .png name to redact "
                            "it as a photo")
    logs: list = []
    try:
        container = _open_quietly(path, logs)
    except av.error.InvalidDataError:
        if media_kind(head) in ("an MP4/MOV video", "a QuickTime/MP4 video"):
            raise CorruptMedia(f"{path} is an MP4/MOV file without a readable index (moov box): it is "
                               "truncated or corrupt") from None
        raise NotAMediaFile(f"not a video file, or the file is corrupt: {path}") from None
    except av.error.FFmpegError as e:
        raise CorruptMedia(f"cannot open {path}: {_ffmpeg_reason(e)}") from None
    except OSError as e:
        raise CorruptMedia(f"cannot open {path}: {e.strerror or e}") from None
    video = video_stream(container)
    if video is not None and video.codec_context is not None and not (video.width and video.height):
        size = _refused_size(logs)
        if size is not None:
            container.close()
            raise UnsupportedMedia(f"frame size {size[0]}x{size[1]} in {path} is too large "
                                   f"(max {MAX_SIDE}x{MAX_SIDE})")
    return container


def _head(path: str, n: int = 32) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(n)
    except OSError as e:
        raise InputNotFound(f"cannot read {path}: {e.strerror or e}") from None


def _open_quietly(path: str, logs: list) -> av.container.InputContainer:
    """``av.open`` with the frame-size guard, collecting FFmpeg's error messages into ``logs``."""
    with _ffmpeg_errors_captured() as captured:
        try:
            return av.open(path, metadata_errors="ignore", options={"max_pixels": str(MAX_PIXELS)})
        finally:
            logs.extend(captured)


_LOG_LOCK = threading.Lock()
_log_state = {"users": 0, "level": None, "skip": True}
# FFmpeg messages that PyAV forwards to Python logging (from decoder threads, while a capture is
# on) are not for the terminal: the operator gets one clear message from Obscura instead.
logging.getLogger("libav").addHandler(logging.NullHandler())


@contextlib.contextmanager
def _ffmpeg_errors_captured():
    """Collect FFmpeg's error messages logged by this thread (PyAV ignores them by default). The
    log level is raised while any thread is inside, and "repeated N times" folding is off, so that
    every message is seen."""
    with _LOG_LOCK:
        if _log_state["users"] == 0:
            _log_state["level"] = level = av.logging.get_level()
            _log_state["skip"] = av.logging.get_skip_repeated()
            av.logging.set_level(av.logging.ERROR if level is None else max(level, av.logging.ERROR))
            av.logging.set_skip_repeated(False)
        _log_state["users"] += 1
    try:
        with av.logging.Capture(local=True) as logs:
            yield logs
    finally:
        with _LOG_LOCK:
            _log_state["users"] -= 1
            if _log_state["users"] == 0:
                av.logging.set_skip_repeated(_log_state["skip"])
                av.logging.set_level(_log_state["level"])


def _refused_size(logs: list) -> tuple[int, int] | None:
    """The frame size a decoder refused as too large ("Picture size WxH is invalid/exceeds ...")."""
    for _level, _name, message in reversed(logs):
        m = _PICTURE_SIZE.search(message)
        if m and "(repeated" not in message:
            return int(m.group(1)), int(m.group(2))
    return None


def video_stream(container):
    """The video to work on: the first video stream that is not a cover picture (an MP4/MKV
    "attached picture" is one still image stored as a video stream), or None."""
    for s in container.streams.video:
        if not (s.disposition & av.stream.Disposition.attached_pic):
            return s
    return None


def _ffmpeg_reason(e: Exception) -> str:
    msg = getattr(e, "strerror", None) or str(e)
    return str(msg).strip().rstrip(".").lower() or type(e).__name__


def require_complete(info: VideoInfo) -> None:
    """Raise CorruptMedia when ``info`` says its file is truncated or damaged: nothing may be
    exported from it (the part after the damage would be lost, unredacted frames mis-timed)."""
    if info.damage:
        raise CorruptMedia(f"{info.path} is truncated or corrupt: {info.damage}; no output was written")


def probe(path: str) -> VideoInfo:
    """Probe ``path`` and scan its video packets. Raises a clear ObscuraError on bad input."""
    first, field_order = _check_video(path)
    container = open_input(path)  # a fresh demuxer: seeking back is unreliable for some formats
    try:
        return _probe_container(path, container, first, field_order)
    finally:
        container.close()


def check_video(path: str) -> av.VideoFrame:
    """Open ``path``, check its video stream and decode its first frame (returned); no packet scan."""
    return _check_video(path)[0]


FIELD_ORDERS = {2: "tff", 3: "bff", 4: "tff", 5: "bff"}  # FFmpeg's AVFieldOrder: TT, BB, TB, BT


def _check_video(path: str) -> tuple[av.VideoFrame, str]:
    """The first decoded frame and the field order ("progressive", "tff" or "bff")."""
    from app.media.mp4info import refuse_encrypted

    refuse_encrypted(path)
    container = open_input(path)
    try:
        vs = _check_video_stream(path, container)
        first = _first_frame(container, vs, path)
        order = FIELD_ORDERS.get(int(getattr(vs.codec_context, "field_order", 0) or 0))
        if order is None and first.interlaced_frame:
            order = "tff"  # interlaced frames with no order stated: top first, FFmpeg's default
        return first, order if first.interlaced_frame or order else "progressive"
    finally:
        container.close()


def _check_video_stream(path: str, container):
    """The video stream to work on, checked: a known codec and a sane frame size."""
    vs = video_stream(container)
    if vs is None:
        kinds = sorted({s.type for s in container.streams}) or ["none"]
        cover = ", only a cover picture" if container.streams.video else ""
        raise NotAMediaFile(f"no video stream in {path}{cover} (streams found: {', '.join(kinds)})")
    ctx = vs.codec_context
    codec_name = ctx.name if ctx is not None else "unknown"
    if ctx is None or codec_name in ("unknown", "none"):
        raise CorruptMedia(f"cannot identify the video codec in {path}; the file is corrupt or in an "
                           "unsupported format")
    try:
        av.codec.Codec(codec_name, "r")
    except Exception:
        raise UnsupportedMedia(f"unsupported video codec '{codec_name}' in {path}") from None
    if not vs.width or not vs.height:
        raise CorruptMedia(f"video stream in {path} has no frame size; the file is corrupt or truncated")
    if vs.width > MAX_SIDE or vs.height > MAX_SIDE:
        raise UnsupportedMedia(f"frame size {vs.width}x{vs.height} in {path} is too large (max {MAX_SIDE}x{MAX_SIDE})")
    return vs


def _probe_container(path: str, container, first, field_order: str = "progressive") -> VideoInfo:
    vs = video_stream(container)
    codec_name = vs.codec_context.name if vs.codec_context is not None else "unknown"
    time_base = vs.time_base or Fraction(1, 90000)

    raw_pts: list[int | None] = []  # per packet, in file order; None: the packet has no timestamp
    is_key: list[bool] = []
    last_duration = 0
    packets = 0  # every video packet with data, discarded ones included (to compare with the index)
    damage = None
    try:
        for packet in container.demux(vs):
            if packet.size == 0:
                continue  # flush packet
            packets += 1
            if packet.is_discard:
                continue
            pts = packet.pts if packet.pts is not None else packet.dts
            raw_pts.append(None if pts is None else int(pts))
            is_key.append(bool(packet.is_keyframe))
            last_duration = packet.duration or last_duration
    except av.error.FFmpegError as e:
        if not raw_pts:
            raise CorruptMedia(f"cannot read video packets from {path}: {_ffmpeg_reason(e)}") from None
        # A damaged tail: keep what was readable (the editor can still show it); export refuses it.
        damage = f"reading stopped after {len(raw_pts)} frames ({_ffmpeg_reason(e)})"
    if not raw_pts:
        raise CorruptMedia(f"no video frames in {path}; the file is empty, truncated or corrupt")
    step = last_duration or max(1, int(round(1 / (_exact_rate(vs, [], time_base) * time_base))))
    pts_list = _fill_missing(raw_pts, step)
    skipped = 0
    if is_key and not is_key[0] and first.pts is not None:
        # A stream cut mid-GOP (a recording started mid-broadcast): the frames before the first
        # decodable one reference pictures that are not in the file. The table starts at the first
        # frame that decodes, so the probe, the reader and the export count the same frames.
        keep = [i for i, p in enumerate(pts_list) if p >= first.pts]
        skipped = len(pts_list) - len(keep)
        if keep and skipped:
            pts_list = [pts_list[i] for i in keep]
            is_key = [is_key[i] for i in keep]
    key_pts = [p for p, k in zip(pts_list, is_key, strict=True) if k]
    pts_list.sort()
    # Duplicate timestamps would make frame lookup ambiguous; nudge them apart by one tick.
    for i in range(1, len(pts_list)):
        if pts_list[i] <= pts_list[i - 1]:
            pts_list[i] = pts_list[i - 1] + 1
    key_pts.sort()
    if not key_pts:
        key_pts = [pts_list[0]]

    fps = _exact_rate(vs, pts_list, time_base)
    deltas = {b - a for a, b in zip(pts_list, pts_list[1:], strict=False)}
    is_vfr = len(deltas) > 1 and (max(deltas) - min(deltas)) > 1
    if not last_duration:
        last_duration = int(round(1 / (fps * time_base))) if fps else 1
    duration = (pts_list[-1] - pts_list[0] + last_duration) * time_base
    damage = damage or _truncation(vs, packets, Fraction(duration), fps)

    rotation, notes = _checked_rotation(first)
    pix_fmt = first.format.name
    bit_depth = max((c.bits for c in first.format.components), default=8)

    audio = []
    for a in container.streams.audio:
        actx = a.codec_context
        dur = a.duration * a.time_base if a.duration is not None and a.time_base else None
        audio.append(
            AudioInfo(
                index=a.index,
                codec=actx.name if actx is not None else "unknown",
                sample_rate=actx.sample_rate if actx is not None else 0,
                channels=actx.channels if actx is not None else 0,
                time_base=a.time_base,
                duration=dur,
            )
        )
    return VideoInfo(
        path=os.path.abspath(path),
        container=container.format.name,
        codec=codec_name,
        width=first.width,
        height=first.height,
        pix_fmt=pix_fmt,
        rotation=rotation,
        fps=fps,
        time_base=Fraction(time_base),
        frame_count=len(pts_list),
        duration=Fraction(duration),
        start_pts=pts_list[0],
        is_vfr=is_vfr,
        stream_index=vs.index,
        color_range=int(first.color_range or 0),
        colorspace=int(first.colorspace or 0),
        color_primaries=int(first.color_primaries or 0),
        color_trc=int(first.color_trc or 0),
        bit_depth=bit_depth,
        audio=audio,
        damage=damage,
        sar=_sample_aspect_ratio(vs),
        field_order=field_order,
        last_duration=int(last_duration),
        skipped_leading=skipped,
        dropped_streams=_dropped_streams(container, vs),
        notes=notes,
        pts=pts_list,
        keyframe_pts=key_pts,
    )


def _checked_rotation(first) -> tuple[int, list[str]]:
    """The display rotation in quarter turns (counter-clockwise degrees), and a note when the
    file's display matrix is not a rotation by a multiple of 90 degrees (then it is ignored: the
    frames are shown as they are coded)."""
    raw = getattr(first, "rotation", 0) or 0
    angle = float(raw) % 360
    nearest = round(angle / 90) * 90 % 360
    if abs(angle - round(angle / 90) * 90) > 0.5:
        return 0, [f"the display matrix asks for a {angle:.0f} degree turn, not a multiple of 90: ignored "
                   "(shown as coded)"]
    return int(nearest), []


def _sample_aspect_ratio(vs) -> Fraction:
    """The pixel shape: the container's, else the codec's; 1 (square) when unknown or absurd."""
    for sar in (vs.sample_aspect_ratio, vs.codec_context.sample_aspect_ratio if vs.codec_context else None):
        try:
            r = Fraction(sar) if sar else None
        except (TypeError, ValueError, ZeroDivisionError):
            r = None
        if r and Fraction(1, 10) <= r <= 10 and r.denominator <= 65535 and r.numerator <= 65535:
            return r
    return Fraction(1)


def _dropped_streams(container, vs) -> list[str]:
    """The streams an export does not carry over (all but the video and the audio), in words:
    "stream 2: subtitle (mov_text)"."""
    out = []
    for s in container.streams:
        if s.index == vs.index or s.type == "audio":
            continue
        name = s.codec_context.name if getattr(s, "codec_context", None) is not None else None
        kind = "cover picture" if s.type == "video" and s.disposition & av.stream.Disposition.attached_pic \
            else f"{s.type}"
        out.append(f"stream {s.index}: {kind}" + (f" ({name})" if name else ""))
    return out


def _fill_missing(raw: list[int | None], step: int) -> list[int]:
    """Timestamps for packets that have none, ``step`` apart from their neighbours: before the first
    timestamped packet they count back from it (Matroska gives frames stored before zero no
    timestamp), after it they follow the previous packet. A stream with no timestamps at all (raw
    streams) is numbered 0, 1, 2 ... as before."""
    known = [i for i, p in enumerate(raw) if p is not None]
    if not known:
        return list(range(len(raw)))
    out = list(raw)
    first = known[0]
    for i in range(first - 1, -1, -1):
        out[i] = out[i + 1] - step
    for i in range(first + 1, len(out)):
        if out[i] is None:
            out[i] = out[i - 1] + step
    return out


def _truncation(vs, packets: int, scanned: Fraction, fps: Fraction) -> str | None:
    """Why the video stream ends before its header says it should (a cut-off copy), or None.

    MP4/MOV (and AVI) index every frame up front: fewer packets than ``vs.frames`` means the file was
    cut. Matroska has no frame count, but FFmpeg and mkvmerge store the stream's DURATION tag.
    """
    declared = int(vs.frames or 0)
    if declared and packets < declared:
        return f"its index lists {declared} video frames but only {packets} are in the file"
    tag = next((v for k, v in (vs.metadata or {}).items() if k.upper() == "DURATION"), None)
    expected = _parse_duration_tag(tag) if tag else None
    if expected:
        frame = 1 / fps if fps else Fraction(1, 25)
        if expected - scanned > max(3 * frame, expected / 50):
            return f"its header says {float(expected):.2f} s of video but only {float(scanned):.2f} s are in the file"
    return None


def _parse_duration_tag(tag: str) -> Fraction | None:
    """``HH:MM:SS.fffffffff`` (Matroska's DURATION tag) in seconds, or None."""
    try:
        h, m, s = str(tag).strip().split(":")
        return int(h) * 3600 + int(m) * 60 + Fraction(s)
    except (ValueError, ZeroDivisionError):
        return None


def _exact_rate(vs, pts_list: list[int], time_base: Fraction) -> Fraction:
    for rate in (vs.average_rate, vs.guessed_rate, vs.base_rate):
        if rate and rate > 0:
            r = Fraction(rate)
            if r.denominator > 1001 * 1000:  # nonsense like 2997003/100000: snap to a nearby clean ratio
                r = r.limit_denominator(1001) or r  # (a rate below 1/2002 fps would snap to 0: keep it)
            return r
    if len(pts_list) > 1:
        span = (pts_list[-1] - pts_list[0]) * time_base
        if span > 0:
            exact = Fraction(len(pts_list) - 1) / span
            return exact.limit_denominator(1001) or exact
    return Fraction(25)


def _first_frame(container, vs, path: str):
    try:
        for frame in container.decode(vs):
            return frame
    except av.error.FFmpegError as e:
        raise CorruptMedia(f"cannot decode the video in {path}: the file is truncated or corrupt "
                           f"({_ffmpeg_reason(e)})") from None
    raise CorruptMedia(f"no decodable video frame in {path}: its video stream holds no pictures, or the file "
                       "is truncated or corrupt")
