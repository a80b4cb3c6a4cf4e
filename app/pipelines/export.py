"""Export: read the input, draw the project's masks frame by frame, write the redacted output.

A generator that yields ``Progress`` and returns an ``ExportResult``. It renders from the project
it is given (the editor passes a frozen copy), writes to a temporary file beside the target and
renames it into place only when everything succeeded: a cancel or an error leaves no file.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass, field

from app.core.project import Project
from app.errors import CorruptMedia, OutputError
from app.media.frames import fallback_format, native_format_supported, plane_image
from app.media.images import read_image, write_image
from app.media.output import atomic_output
from app.media.probe import is_image_path, probe
from app.media.reader import AudioPacket, VideoReader
from app.media.writer import EncodeSettings, VideoWriter
from app.pipelines.progress import CancelToken, Progress, RateMeter
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
) -> Generator[Progress, None, ExportResult]:
    """Redact ``input_path`` with ``project``'s tracks into ``output_path``."""
    cancel = cancel or CancelToken()
    settings = settings or EncodeSettings()
    if is_image_path(input_path) or is_image_path(output_path):
        return (yield from _export_image(project, input_path, output_path))
    settings.validate()
    t0 = time.perf_counter()
    info = probe(input_path)
    if info.damage:
        raise CorruptMedia(f"{input_path} is truncated or corrupt: {info.damage}; no output was written")
    result = ExportResult(output=output_path, settings=settings.__dict__.copy())
    meter = RateMeter("export", info.frame_count)
    try:
        with atomic_output(output_path, [input_path]) as tmp, VideoReader(input_path, info) as reader:
            audio = reader.audio_streams
            writer = VideoWriter(tmp, info, settings, audio, final_name=output_path)
            try:
                for item in reader.packets():
                    if isinstance(item, AudioPacket):
                        writer.write_audio(item.stream_index, item.packet)
                        continue
                    if cancel.cancelled:
                        raise _Cancel
                    frame = item.frame
                    masks = _masks(project, item.index)
                    if masks:
                        if not native_format_supported(frame.format.name):
                            frame = frame.reformat(format=fallback_format(frame))
                        frame.make_writable()
                        drawn = redact(plane_image(frame), masks)
                        if drawn:
                            result.masked_frames += 1
                            result.masks_drawn += drawn
                    writer.write(frame, item.pts)
                    result.frames += 1
                    p = meter.progress(result.frames)
                    if p is not None:
                        yield p
                writer.close()
            except BaseException:
                writer.abort()
                raise
            if result.frames != info.frame_count:
                raise CorruptMedia(
                    f"{input_path} is truncated or corrupt: only {result.frames} of its {info.frame_count} "
                    "frames could be decoded; no output was written"
                )
    except _Cancel:
        result.cancelled = True
    result.seconds = time.perf_counter() - t0
    yield meter.progress(result.frames, force=True, message="cancelled" if result.cancelled else "done")
    return result


def _export_image(project: Project, input_path: str, output_path: str) -> Generator[Progress, None, ExportResult]:
    if not (is_image_path(input_path) and is_image_path(output_path)):
        raise OutputError("a photo exports to a photo: use .jpg or .png for both input and output")
    t0 = time.perf_counter()
    image = read_image(input_path)
    masks = _masks(project, 0)
    out = redact_bgr(image, masks)
    with atomic_output(output_path, [input_path]) as tmp:
        write_image(tmp, out)
    yield Progress("export", 1, 1, message="done")
    return ExportResult(
        output=output_path,
        frames=1,
        masked_frames=int(bool(masks)),
        masks_drawn=len(masks),
        seconds=time.perf_counter() - t0,
    )

