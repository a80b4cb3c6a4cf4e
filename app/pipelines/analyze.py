"""Analysis: decode, detect, link detections into tracks, and put them into the project.

A generator that yields ``Progress`` and returns an ``AnalyzeResult``. Frames are decoded and
detected in small batches, so memory stays bounded whatever the video's length. Tracks made here
have ``source = auto`` keyframes; running analysis again replaces only auto tracks that carry no
operator edit, so manual work is never overwritten.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass, field

from app.core.project import Keyframe, KeyframeSource, MediaRef, Project, Track
from app.core.shapes import Shape
from app.detection.detections import CLASS_NAMES, Detections
from app.media.images import read_image
from app.media.probe import is_image_path, probe
from app.media.reader import VideoReader
from app.pipelines.progress import CancelToken, Progress, RateMeter
from app.tracking.linker import IouLinker


@dataclass
class AnalyzeResult:
    frames: int = 0
    detections: int = 0
    tracks: int = 0
    seconds: float = 0.0
    cancelled: bool = False
    by_class: dict = field(default_factory=dict)


def _media_ref(path: str) -> MediaRef:
    import os
    from fractions import Fraction

    if is_image_path(path):
        img = read_image(path)
        return MediaRef(os.path.abspath(path), img.shape[1], img.shape[0], Fraction(1), 1)
    info = probe(path)
    return MediaRef(os.path.abspath(path), info.width, info.height, info.fps, info.frame_count)


def analyze(
    project: Project,
    path: str,
    detector,
    cancel: CancelToken | None = None,
    batch: int = 4,
) -> Generator[Progress, None, AnalyzeResult]:
    """Detect and track faces and plates in ``path`` and add the tracks to ``project``."""
    cancel = cancel or CancelToken()
    t0 = time.perf_counter()
    result = AnalyzeResult()
    if project.media is None:
        project.media = _media_ref(path)
    linker = IouLinker()
    if is_image_path(path):
        det = detector.detect([read_image(path)], [0])
        linker.update(0, det)
        result.frames, result.detections = 1, len(det)
        yield Progress("analyze", 1, 1, message="done")
    else:
        info = probe(path)
        meter = RateMeter("analyze", info.frame_count)
        with VideoReader(path, info) as reader:
            frames, idx = [], []
            for fr in reader.frames():
                if cancel.cancelled:
                    result.cancelled = True
                    break
                frames.append(fr.to_bgr())
                idx.append(fr.index)
                if len(frames) == batch:
                    result.detections += _run(detector, linker, frames, idx)
                    result.frames += len(frames)
                    frames, idx = [], []
                    p = meter.progress(result.frames)
                    if p is not None:
                        yield p
            if frames and not result.cancelled:
                result.detections += _run(detector, linker, frames, idx)
                result.frames += len(frames)
        yield meter.progress(result.frames, force=True, message="cancelled" if result.cancelled else "done")
    if not result.cancelled:
        _replace_auto_tracks(project, linker.finish())
        result.tracks = len([t for t in project.tracks if _is_auto(t)])
        for t in project.tracks:
            result.by_class[t.cls] = result.by_class.get(t.cls, 0) + 1
    result.seconds = time.perf_counter() - t0
    return result


def _run(detector, linker, frames, idx) -> int:
    det: Detections = detector.detect(frames, idx)
    for f in idx:
        linker.update(f, det[det.frame == f])
    return len(det)


def _is_auto(track: Track) -> bool:
    return all(k.source == KeyframeSource.AUTO for k in track.keyframes)


def _replace_auto_tracks(project: Project, tracks: list[list[tuple[int, tuple, float, int]]]) -> None:
    """Swap the project's untouched auto tracks for the new ones; keep every track an operator edited."""
    for t in [t for t in project.tracks if _is_auto(t) and t.enabled and t.review == "unreviewed"]:
        project.remove_track(t.id)
    for points in tracks:
        cls = CLASS_NAMES.get(points[0][3], "face")
        track = Track(id=project.new_track_id(cls), cls=cls, keyframes=[])
        track.keyframes = [
            Keyframe(f, Shape.rect(*box), KeyframeSource.AUTO, True, round(score, 4)) for f, box, score, _c in points
        ]
        project.add_track(track)
