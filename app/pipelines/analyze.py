"""Analysis: decode, detect and track; the tracks go into a project in a separate step.

A generator that yields ``Progress`` and returns an ``AnalyzeResult``.

* Memory is bounded: frames are decoded and detected in small batches and dropped; only the
  detections (a few numbers per face) and one thumbnail for scene-cut detection are kept.
* It can run on a frame range and on every k-th frame (``stride``); the frames in between are
  interpolated by the track keyframes.
* Tracking runs forward while decoding, then backward over the stored detections (no decoding),
  and ``build_tracks`` makes the result redaction-safe (no dropped detection, back-fill, gap
  fill, hold, lag-free smoothing, scene cuts) and sparse (keyframes within a pixel tolerance).
* It changes no project: :func:`apply_tracks` puts its tracks into one. Re-running replaces only
  untouched auto tracks there: any track with an operator's keyframe, or that the operator
  disabled or reviewed, is kept as it is.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from app.base.prefetch import Prefetch
from app.base.progress import CancelToken, Progress, RateMeter
from app.base.stages import add as add_stage
from app.base.stages import stage, timed
from app.core.edits import ReviewRules, initial_review, is_untouched_auto
from app.core.project import Keyframe, KeyframeSource, Project, Track
from app.core.shapes import Shape
from app.detection.detections import CLASS_NAMES, Detections
from app.detection.upright import UprightDetector
from app.media.facts import MediaFacts, open_media
from app.media.images import read_image
from app.media.probe import require_complete
from app.media.reader import VideoReader
from app.pipelines.schedule import Planner, Schedule
from app.tracking.build_tracks import (
    BuildParams,
    BuiltTrack,
    absorb_duplicates,
    build,
    link_leftovers,
    merge_passes,
    stitch,
)
from app.tracking.extend import (
    EXTEND_S,
    ExtendedTrack,
    ExtendParams,
    ExtendStats,
    extend_tracks,
    extension_params,
)
from app.tracking.scenecut import CutDetector

if TYPE_CHECKING:  # ByteTrack needs SciPy (a second or more to import): only when a video is tracked
    from app.tracking.bytetrack import ByteTracker, TrackerParams

# Per class: ByteTrack's high threshold (first association, births). Lower scores down to the
# detector's low threshold are used only to extend tracks; scores >= the class's seed threshold
# (the manifest's default) are always redacted.
HIGH_THRESH = {0: 0.5, 1: 0.35}
GAP_FILL_S = 1.0  # gaps between two sightings of one track shorter than this are interpolated
HOLD_S = 0.3  # a track is held this long past its last sighting ...
PRE_HOLD_S = 0.1  # ... and this long before its first
# EXTEND_S (app.tracking.extend): each track's span ends are followed visually this long past
# the detections (where the detector missed the object: small, blurred, turned away)


@dataclass
class AnalyzeResult:
    frames: int = 0  # frames decoded
    detected_frames: int = 0  # frames the detector ran on
    detections: int = 0
    tracks: int = 0
    cuts: list[int] = field(default_factory=list)
    seconds: float = 0.0
    cancelled: bool = False
    by_class: dict = field(default_factory=dict)
    raw: Detections | None = None  # every detection of the run (for benchmarks and the review queue)
    built: list = field(default_factory=list)  # the tracks found (BuiltTrack); see apply_tracks
    extension: ExtendStats | None = None  # the visual extension of track ends (None: not run)
    passes: dict = field(default_factory=dict)  # frames per detector pass: full, fine, coarse, skipped


class _Store:
    """All detections of the run as flat arrays (ids are positions)."""

    def __init__(self) -> None:
        self._parts: list[Detections] = []
        self.frames: list[int] = []  # frames the detector ran on, in order

    def add(self, det: Detections, frames: list[int]) -> None:
        if len(det):
            self._parts.append(det)
        self.frames.extend(frames)

    def finish(self) -> Detections:
        return Detections.merge(self._parts)


def analyze(
    media: MediaFacts | str,
    detector,
    cancel: CancelToken | None = None,
    batch: int = 4,
    tracking: bool = True,
    stride: int = 1,
    frame_range: tuple[int, int] | None = None,
    params: BuildParams | None = None,
    preview_every: float | None = None,
    extend: bool = True,
    extend_params: ExtendParams | None = None,
    refuse_damaged: bool = False,
    schedule: Schedule | None = None,
) -> Generator[Progress, None, AnalyzeResult]:
    """Detect and track faces and plates in ``media`` (its facts from one probe, or a path to probe);
    return the tracks in ``AnalyzeResult.built``. No project is read or changed: putting the tracks
    into one is :func:`apply_tracks`, a separate step.

    With ``extend`` (and tracking), each track is then followed visually past the ends of its
    spans (``app.tracking.extend``, up to ``EXTEND_S``; progress stage "extend").

    With ``preview_every`` (seconds), some progress events carry provisional tracks in
    ``partial`` (forward pass only), so an editor can show tracks as they are found.

    ``schedule``: which frames get the detector's fine and coarse passes (``app.pipelines.schedule``;
    default ``Schedule()``; ``Schedule.off()``: the reference pass on every analysed frame).

    ``refuse_damaged``: raise CorruptMedia before detecting anything when the video is truncated
    or damaged (``process`` and ``batch``, whose export would refuse it after the whole analysis).
    """
    if isinstance(media, str):
        media = open_media(media)
    path = media.path
    cancel = cancel or CancelToken()
    stride = max(1, int(stride))
    t0 = time.perf_counter()
    result = AnalyzeResult()
    store = _Store()
    seeds = detector.seed_scores()
    cuts: list[int] = []
    if media.is_image:
        det = detector.detect([read_image(path)], [0], low=False)
        store.add(det, [0])
        result.frames = result.detected_frames = 1
        yield Progress("analyze", 1, 1, message="done")
        tracking = False
        fps = Fraction(1)
    else:
        info = media.info
        if refuse_damaged:
            require_complete(info)
        fps = info.fps
        if info.rotation:  # detect on the picture as shown; the boxes come back in coded pixels
            detector = UprightDetector(detector, info.rotation)
        start, end = frame_range or (0, info.frame_count)
        start, end = max(0, start), min(info.frame_count, end)
        from app.tracking.bytetrack import ByteTracker

        trackers = {c: ByteTracker(_tracker_params(c, fps)) for c in seeds}
        forward = _Forward(trackers, cuts) if tracking else None
        meter = RateMeter("analyze", max(0, end - start))
        cut_detector = CutDetector()
        last_preview = time.perf_counter()
        preview_params = BuildParams(seed_score=seeds, frame_count=media.frame_count,
                                     max_gap=max(stride + 1, int(round(float(fps) * GAP_FILL_S))))
        det_id_base = 0
        planner = Planner(schedule or Schedule(), detector, info.width, info.height, start, end - 1)
        def decoded(reader):  # runs ahead in a worker thread (app.base.prefetch)
            for fr in timed("decode (analysis)", reader.frames(start, end)):
                wanted = (fr.index - start) % stride == 0 or fr.index == end - 1
                with stage("decode (analysis)"):
                    item = fr, fr.to_bgr_scaled(64, 36), fr.to_bgr() if wanted else None
                yield item  # (not timed: waiting for the consumer is not decoding)

        with VideoReader(path, info) as reader, Prefetch(decoded(reader), depth=4, name="analysis-decode") as ahead:
            frames, idx, cur = [], [], "full"
            for fr, thumb, bgr in ahead:
                if cancel.cancelled:
                    result.cancelled = True
                    break
                if cut_detector.update(thumb) and fr.index > start:
                    cuts.append(fr.index)
                    planner.cut()
                result.frames += 1
                if (fr.index - start) % stride == 0 or fr.index == end - 1:
                    kind = planner.pass_for(fr.index)
                    if kind is not None:
                        if frames and kind != cur:
                            det_id_base = _detect_batch(detector, frames, idx, store, forward, det_id_base, cur, planner)
                            frames, idx = [], []
                        cur = kind
                        frames.append(bgr)
                        idx.append(fr.index)
                if len(frames) >= (1 if cur == "fine" else batch):
                    det_id_base = _detect_batch(detector, frames, idx, store, forward, det_id_base, cur, planner)
                    frames, idx = [], []
                p = meter.progress(result.frames)
                if p is not None:
                    if tracking and preview_every and time.perf_counter() - last_preview >= preview_every:
                        last_preview = time.perf_counter()
                        p = replace(p, partial=_provisional(store, trackers, cuts, seeds, preview_params))
                    yield p
            if frames and not result.cancelled:
                _detect_batch(detector, frames, idx, store, forward, det_id_base, cur, planner)
        result.passes = dict(planner.counts)
        yield meter.progress(result.frames, force=True, message="cancelled" if result.cancelled else "done")
    result.cuts = cuts
    if result.cancelled:
        result.seconds = time.perf_counter() - t0
        return result
    dets = store.finish()
    result.raw = dets
    result.detected_frames = len(store.frames)
    result.detections = len(dets)
    p = params or BuildParams(
        max_gap=max(stride + 1, int(round(float(fps) * GAP_FILL_S))),
        stitch_gap=max(2 * stride + 2, int(round(float(fps) * 2.0))),
        hold=max(2, int(round(float(fps) * HOLD_S))),
        pre_hold=max(1, int(round(float(fps) * PRE_HOLD_S))),
        seed_score=seeds,
        frame_count=media.frame_count,
    )
    if tracking:
        with stage("tracking"):
            built = _build_tracks(dets, trackers, store.frames, cuts, seeds, p)
        if extend and built:
            ep = extend_params or extension_params(float(fps), EXTEND_S)
            t_ext = time.perf_counter()
            built, result.extension = yield from extend_tracks(path, info, built, cuts, ep, (start, end), cancel)
            add_stage("visual extension", time.perf_counter() - t_ext)
            if result.extension.cancelled:
                result.cancelled = True
                result.seconds = time.perf_counter() - t0
                return result
    else:
        built = [_single(dets, i) for i in range(len(dets))]
    result.built = built
    result.tracks = len(built)
    for b in built:
        name = CLASS_NAMES.get(b.class_id, "face")
        result.by_class[name] = result.by_class.get(name, 0) + 1
    result.seconds = time.perf_counter() - t0
    return result


def _tracker_params(class_id: int, fps: Fraction) -> TrackerParams:
    from app.tracking.bytetrack import TrackerParams

    high = HIGH_THRESH.get(class_id, 0.5)
    return TrackerParams(high_thresh=high, new_track_thresh=high, track_buffer=max(10, int(round(float(fps)))))


class _Forward:
    """The forward trackers (one per class), reset once at each scene cut."""

    def __init__(self, trackers: dict[int, ByteTracker], cuts: list[int]):
        self.trackers = trackers
        self.cuts = cuts  # grows while decoding
        self.applied = 0

    def update(self, f: int, det: Detections, sel: np.ndarray, id_base: int) -> None:
        while self.applied < len(self.cuts) and self.cuts[self.applied] <= f:
            for tr in self.trackers.values():
                tr.reset()
            self.applied += 1
        for c, tr in self.trackers.items():
            s = sel[det.class_id[sel] == c]
            tr.update(f, det.xyxy[s], det.score[s], [id_base + int(i) for i in s])


def _detect_batch(detector, frames, idx, store: _Store, forward: _Forward | None, id_base: int,
                  kind: str = "full", planner: Planner | None = None) -> int:
    kw = {} if kind == "full" else {"pass_": kind}
    rois = planner.rois_for(len(frames)) if planner is not None and kind == "coarse" else []
    if rois:
        kw["rois"] = rois
    det: Detections = detector.detect(frames, idx, low=forward is not None, **kw)
    if planner is not None:
        planner.saw(kind, det)
    if len(det):
        det = det[np.lexsort((det.class_id, det.frame))]
    store.add(det, idx)
    if forward is not None:
        with stage("tracking"):
            for f in idx:
                forward.update(f, det, np.nonzero(det.frame == f)[0], id_base)
    return id_base + len(det)


def _provisional(store: _Store, trackers, cuts, seeds, p: BuildParams) -> list[BuiltTrack]:
    """Tracks from the forward pass so far (no backward pass): a live preview, replaced at the end."""
    dets = Detections.merge(store._parts)
    out = []
    for c, tr in trackers.items():
        for g in tr.result():
            out.append(build(g, dets.frame, dets.xyxy, dets.score, c, cuts, p))
    return out


def _build_tracks(dets: Detections, trackers, det_frames: list[int], cuts: list[int], seeds: dict,
                  p: BuildParams) -> list[BuiltTrack]:
    built: list[BuiltTrack] = []
    frame_of = dets.frame
    for c, fwd in trackers.items():
        forward = fwd.result()
        backward = _backward_pass(dets, c, det_frames, cuts, fwd.p)
        groups = merge_passes(forward, backward, frame_of)
        used = {d for g in groups for d in g}
        cls_ids = np.nonzero(dets.class_id == c)[0]
        leftovers = [int(d) for d in cls_ids if int(d) not in used and dets.score[d] >= seeds.get(c, 0.0)]
        groups, leftovers = absorb_duplicates(groups, leftovers, frame_of, dets.xyxy)
        groups += link_leftovers(leftovers, frame_of, dets.xyxy, p.max_gap)
        groups = stitch(groups, frame_of, dets.xyxy, cuts, p.stitch_gap)
        for g in groups:
            built.append(build(g, frame_of, dets.xyxy, dets.score, c, cuts, p))
    built.sort(key=lambda b: (int(b.frames[0]), b.class_id))
    return built


def _backward_pass(dets: Detections, c: int, det_frames: list[int], cuts: list[int], tp: TrackerParams) -> list[list[int]]:
    from app.tracking.bytetrack import ByteTracker

    tracker = ByteTracker(tp)
    cut_set = set(cuts)
    sel_c = np.nonzero(dets.class_id == c)[0]
    by_frame: dict[int, list[int]] = {}
    for d in sel_c:
        by_frame.setdefault(int(dets.frame[d]), []).append(int(d))
    prev = None
    for f in reversed(det_frames):
        if prev is not None and any(f < k <= prev for k in cut_set):
            tracker.reset()
        ids = by_frame.get(f, [])
        tracker.update(f, dets.xyxy[ids] if ids else np.zeros((0, 4)), dets.score[ids] if ids else np.zeros(0), ids)
        prev = f
    return tracker.result()


def _single(dets: Detections, i: int) -> BuiltTrack:
    f = int(dets.frame[i])
    return BuiltTrack(int(dets.class_id[i]), np.array([f]), dets.xyxy[i : i + 1].astype(np.float64), [(f, f)], [0],
                      np.array([True]), dets.score[i : i + 1])


def apply_tracks(project: Project, built: list[BuiltTrack],
                 rules: ReviewRules | None = None) -> tuple[list[Track], list[str]]:
    """Swap the project's untouched auto tracks for ``built``; keep every track an operator touched.

    New tracks start "needs_review" when short or low-scoring (``rules``), else "approved".
    Returns (the tracks removed, the ids added), so that an editor can undo it exactly.
    """
    fps = float(project.media.fps) if project.media else 30.0
    rules = rules or ReviewRules()
    removed = [t for t in project.tracks if is_untouched_auto(t)]
    for t in removed:
        project.remove_track(t.id)
    added: list[str] = []
    for b in built:
        cls = CLASS_NAMES.get(b.class_id, "face")
        kfs = []
        score_at = dict(zip(b.frames[b.observed].tolist(), b.scores.tolist(), strict=False))
        for i in b.keyframe_idx:
            f = int(b.frames[i])
            s = score_at.get(f)
            kfs.append(Keyframe(f, Shape.rect(*b.keyframe_box(i)), KeyframeSource.AUTO, True,
                                None if s is None else round(float(s), 4)))
        # between two spans, an invisible keyframe ends the first (the track ends at its last keyframe)
        for span, nxt in zip(b.spans, b.spans[1:], strict=False):
            if nxt[0] > span[1] + 1:
                last = next(k for k in reversed(kfs) if k.frame <= span[1])
                kfs.append(Keyframe(span[1] + 1, last.shape, KeyframeSource.AUTO, False))
        track = Track(id=project.new_track_id(cls), cls=cls, keyframes=kfs, stats=b.stats)
        track.review = initial_review(track, fps, rules)
        if isinstance(b, ExtendedTrack) and len(b.frames) - b.followed_frames < rules.min_seconds * fps:
            track.review = "needs_review"  # short without the visual extension: judged as before it
        project.add_track(track)
        added.append(track.id)
    return removed, added
