"""Export: read the input, draw the project's masks frame by frame, write the redacted output.

A generator that yields ``Progress`` and returns an ``ExportResult``. It renders from the project
it is given (the editor passes a frozen copy), writes to a temporary file beside the target and
renames it into place only when everything succeeded: a cancel or an error leaves no file.

The project's audio mutes are applied to the soundtrack (see :class:`app.media.writer.AudioEdit`):
frame spans become times with the video's own timestamps, so a mute covers exactly the frames it
names. ``frame_range=(first, last)`` renders only those frames, shifted so the output starts
where the input started, with the matching stretch of audio.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass, field
from fractions import Fraction

from app.base.atomic import atomic_output
from app.base.progress import CancelToken, Progress, RateMeter
from app.base.stages import stage, timed
from app.core.project import Project
from app.errors import CorruptMedia, OutputError
from app.media.frames import fallback_format, native_format_supported, plane_image
from app.media.images import read_alpha, read_image, write_image
from app.media.probe import VideoInfo, is_image_path, probe, require_complete
from app.media.reader import AudioPacket, VideoReader
from app.media.writer import AudioEdit, EncodeSettings, MuteSpan, VideoWriter
from app.redaction.compose import redact, redact_bgr


@dataclass
class ExportResult:
    output: str
    frames: int = 0
    masked_frames: int = 0
    masks_drawn: int = 0
    seconds: float = 0.0
    cancelled: bool = False
    settings: dict = field(default_factory=dict)
    frame_range: tuple[int, int] | None = None  # (first, last) input frames, when not the whole video
    audio_mutes: int = 0  # muted spans applied to the soundtrack


class _Cancel(Exception):
    pass


def _masks(project: Project, frame: int):
    return [(shape, style) for _track, shape, style in project.masks_at(frame)]


def export(
    project: Project,
    input_path: str,
    output_path: str,
    settings: EncodeSettings | None = None,
    cancel: CancelToken | None = None,
    frame_range: tuple[int, int] | None = None,
    info: VideoInfo | None = None,
) -> Generator[Progress, None, ExportResult]:
    """Redact ``input_path`` with ``project``'s tracks into ``output_path``.

    ``frame_range``: (first, last) input frames, inclusive, to export instead of the whole video.
    ``info``: the input's probe when the caller has it (one packet scan per run), else it probes."""
    cancel = cancel or CancelToken()
    settings = settings or EncodeSettings()
    if is_image_path(input_path) or is_image_path(output_path):
        return (yield from _export_image(project, input_path, output_path))
    settings.validate()
    t0 = time.perf_counter()
    info = info if info is not None else probe(input_path)
    require_complete(info)
    first, last = check_frame_range(frame_range, info.frame_count)
    whole = (first, last) == (0, info.frame_count - 1)
    edit = audio_edit(project, info, None if whole else (first, last))
    wanted = last - first + 1
    shift = info.pts[first] - info.pts[0]  # the range starts where the input started
    result = ExportResult(output=output_path, settings=settings.__dict__.copy(),
                          frame_range=None if whole else (first, last),
                          audio_mutes=len(edit.mutes) if settings.audio != "drop" else 0)
    audio_end = edit.window[1] if edit.window is not None else None
    meter = RateMeter("export", wanted)
    try:
        with atomic_output(output_path, [input_path], supersedes=_report_paths(output_path)) as tmp, \
                VideoReader(input_path, info) as reader:
            audio = reader.audio_streams
            if not audio:
                result.audio_mutes = 0
            writer = VideoWriter(tmp, info, settings, audio, final_name=output_path, audio_edit=edit)
            audio_left = {s.index for s in audio} if audio_end is not None and settings.audio != "drop" else set()
            video_done = False
            try:
                for item in timed("decode (export)", reader.packets()):
                    if isinstance(item, AudioPacket):
                        writer.write_audio(item.stream_index, item.packet)
                        if audio_left and _starts_after(item.packet, audio_end):
                            audio_left.discard(item.stream_index)
                            if video_done and not audio_left:
                                break
                        continue
                    if cancel.cancelled:
                        raise _Cancel
                    if item.index < first:
                        continue
                    if item.index > last:
                        video_done = True
                        if not audio_left:
                            break
                        continue
                    frame = item.frame
                    masks = _masks(project, item.index)
                    if masks:
                        if not native_format_supported(frame.format.name):
                            frame = frame.reformat(format=fallback_format(frame))
                        frame.make_writable()
                        with stage("render"):
                            drawn = redact(plane_image(frame), masks)
                        if drawn:
                            result.masked_frames += 1
                            result.masks_drawn += drawn
                    with stage("encode"):
                        writer.write(frame, item.pts - shift, info.frame_duration(item.index))
                    result.frames += 1
                    p = meter.progress(result.frames)
                    if p is not None:
                        yield p
                with stage("encode"):
                    writer.close()
            except BaseException:
                writer.abort()
                raise
            if result.frames != wanted:
                raise CorruptMedia(
                    f"{input_path} is truncated or corrupt: only {result.frames} of its {wanted} "
                    "frames could be decoded; no output was written"
                )
    except _Cancel:
        result.cancelled = True
    result.seconds = time.perf_counter() - t0
    yield meter.progress(result.frames, force=True, message="cancelled" if result.cancelled else "done")
    return result


def _report_paths(output_path: str) -> tuple[str, str]:
    """The audit report of an earlier export to ``output_path``: it goes when the new file replaces
    the old one (a new report, when asked for, is written after the export)."""
    from app.pipelines.report import report_paths

    return report_paths(output_path)


def check_frame_range(frame_range: tuple[int, int] | None, frame_count: int) -> tuple[int, int]:
    """``frame_range`` as (first, last), checked against the video; the whole video for None."""
    if frame_range is None:
        return 0, frame_count - 1
    try:
        first, last = (int(v) for v in frame_range)
    except (TypeError, ValueError):
        raise OutputError(f"frame range must be two frame numbers, got {frame_range!r}") from None
    if not 0 <= first <= last < frame_count:
        raise OutputError(f"frame range {first}-{last} is outside the video (frames 0-{frame_count - 1})")
    return first, last


def frame_time(info: VideoInfo, index: int) -> Fraction:
    """Where frame ``index`` starts on the file's clock (``pts * time_base``), in seconds; for
    ``index == frame_count``, where the last frame ends."""
    if index < info.frame_count:
        return info.pts[index] * info.time_base
    return info.start_pts * info.time_base + info.duration


def audio_edit(project: Project, info: VideoInfo, frame_range: tuple[int, int] | None = None) -> AudioEdit:
    """The project's audio mutes (and the range) as times on the input's clock.

    A mute of frames ``start..end`` covers the sound from the start of frame ``start`` to the start
    of frame ``end + 1`` (the end of the video for the last frame)."""
    n = info.frame_count
    mutes = []
    for m in sorted(project.audio_mutes, key=lambda m: (m.start, m.end, m.id)):
        if m.start >= n:
            continue
        mutes.append(MuteSpan(frame_time(info, m.start), frame_time(info, min(m.end, n - 1) + 1), m.mode))
    if frame_range is None:
        return AudioEdit(tuple(mutes))
    first, last = frame_range
    lo = frame_time(info, first) if first > 0 else None
    hi = frame_time(info, last + 1) if last < n - 1 else None
    shift = (info.pts[first] - info.pts[0]) * info.time_base
    return AudioEdit(tuple(mutes), (lo, hi), shift)


def _starts_after(packet, when: Fraction) -> bool:
    """The audio packet starts at or after ``when`` seconds (False when it has no timestamp)."""
    if packet.pts is None or packet.time_base is None:
        return False
    return packet.pts * Fraction(packet.time_base) >= when


def _export_image(project: Project, input_path: str, output_path: str) -> Generator[Progress, None, ExportResult]:
    if not (is_image_path(input_path) and is_image_path(output_path)):
        raise OutputError("a photo exports to a photo: use .jpg or .png for both input and output")
    t0 = time.perf_counter()
    image = read_image(input_path)
    alpha = read_alpha(input_path)  # a transparent PNG stays transparent: redaction changes colour only
    if alpha is not None and not output_path.lower().endswith(".png"):
        raise OutputError(f"{input_path} has transparency (alpha), which a JPEG cannot hold: export it to .png")
    if alpha is not None and alpha.shape != image.shape[:2]:
        raise OutputError(f"{input_path}: a transparent PNG turned by its EXIF orientation is not supported")
    masks = _masks(project, 0)
    out = redact_bgr(image, masks)
    with atomic_output(output_path, [input_path], supersedes=_report_paths(output_path)) as tmp:
        write_image(tmp, out, alpha=alpha)
    yield Progress("export", 1, 1, message="done")
    return ExportResult(
        output=output_path,
        frames=1,
        masked_frames=int(bool(masks)),
        masks_drawn=len(masks),
        seconds=time.perf_counter() - t0,
    )

