"""Visual extension of track ends: follow each track past its spans where the detector saw nothing.

The detector misses an object while it is small (an approaching plate), blurred or turned away;
tracking alone bridges only short gaps and holds a track a few frames. After the tracks are
built, each span's ends are followed with the visual tracker of click-to-track
(``app.tracking.follow``: the object's own pixels, with a template-correlation confidence that
stops the follow when the object is lost): backward from the span's first detection, forward
from its last, for up to ``EXTEND_S``. The followed boxes, grown by a margin that widens with
every frame followed, join the track as non-observed (tracked) frames, so masks cover the
object where the detector missed it. Two ends that meet close the gap between them.

A follow never crosses a scene cut, the clip's (or the analysed range's) edges, or the
neighbouring span of the same track; tracks with too few detections (short false positives) are
not extended, and the number of ends followed is capped per minute of video. Frames are decoded
by ``follow`` as it goes (bounded memory).
"""

from __future__ import annotations

import time
from bisect import bisect_right
from collections import deque
from collections.abc import Generator
from dataclasses import dataclass, field, replace

import numpy as np

from app.base.progress import CancelToken, Progress, RateMeter
from app.core.keyframes import reduce_boxes
from app.media.probe import VideoInfo
from app.media.reader import VideoReader
from app.tracking.build_tracks import BuiltTrack
from app.tracking.follow import FollowParams, _Follow, follow
from app.tracking.reacquire import ReacquireParams, Reacquirer

EXTEND_S = 1.0  # each span end is followed at most this long


@dataclass(frozen=True)
class ExtendParams:
    max_frames: int = 25  # frames followed past each span end (EXTEND_S at the clip's rate)
    min_observed: int = 3  # tracks with fewer detections than this are not extended
    margin: float = 0.1  # a followed box is grown by this share of its size per side ...
    margin_growth: float = 0.01  # ... plus this per frame followed ...
    max_margin: float = 0.3  # ... up to this
    ends_per_minute: float = 120.0  # at most this many ends followed per minute of video ...
    min_ends: int = 40  # ... but at least this many
    follow: FollowParams = field(default_factory=FollowParams)  # CSRT where OpenCV has it, else MIL
    reacquire: ReacquireParams | None = field(default_factory=ReacquireParams)  # None: off
    reacquire_frames: int = 0  # a lost forward follow is looked for again this far past the span end


@dataclass
class ExtendedTrack(BuiltTrack):
    """A built track with frames added by the visual extension (non-observed, like holds)."""

    followed: np.ndarray | None = None  # bool per dense frame: added by the extension

    @property
    def followed_frames(self) -> int:
        return int(self.followed.sum()) if self.followed is not None else 0


@dataclass
class ExtendStats:
    ends: int = 0  # span ends that could be followed
    followed: int = 0  # ... that were (the rest: over the cap)
    frames_added: int = 0  # track frames the follows added (not in any span before)
    gaps_closed: int = 0  # gaps between two spans of a track that the follows closed
    reacquired: int = 0  # objects found again after an occlusion (app.tracking.reacquire)
    seconds: float = 0.0
    cancelled: bool = False


@dataclass
class _End:
    track: int
    start: int  # the frame the follow starts at (a detection)
    box: tuple[float, float, float, float]
    direction: int
    stop: int  # the last frame it may reach (inclusive)
    priority: float
    far: int | None = None  # forward: the last frame a re-acquisition may reach (None: stop)


def extension_params(fps: float, extend_s: float = EXTEND_S, **kw) -> ExtendParams:
    p = ExtendParams(max_frames=max(1, int(round(fps * extend_s))), **kw)
    if p.reacquire is not None and "reacquire_frames" not in kw:
        p = replace(p, reacquire_frames=int(round(fps * p.reacquire.horizon_s)))
    return p


def find_ends(built: list[BuiltTrack], cuts: list[int], p: ExtendParams, frame_range: tuple[int, int],
              size: tuple[int, int]) -> list[_End]:
    """The span ends worth following: not at the range's edge, a cut, or the next span; the box
    (clipped to the frame of ``size`` (width, height)) at least 2 px wide and high."""
    lo_all, hi_all = frame_range[0], frame_range[1] - 1
    ends: list[_End] = []
    for ti, b in enumerate(built):
        n_obs = int(b.observed.sum())
        if n_obs < p.min_observed:
            continue
        priority = n_obs * (float(b.scores.mean()) if len(b.scores) else 0.0)
        for si, (s0, s1) in enumerate(b.spans):
            idx = np.nonzero((b.frames >= s0) & (b.frames <= s1) & b.observed)[0]
            if not len(idx):
                continue
            f0, f1 = int(b.frames[idx[0]]), int(b.frames[idx[-1]])
            # backward, from the span's first detection
            lo = max(lo_all, _shot_start(cuts, f0), f0 - p.max_frames)
            if si > 0:
                lo = max(lo, b.spans[si - 1][1] + 1)
            box0 = _clip(b.boxes[idx[0]], size)
            if lo < s0 and box0 is not None:
                ends.append(_End(ti, f0, box0, -1, lo, priority))
            # forward, from its last
            hi = min(hi_all, _shot_end(cuts, f1, hi_all), f1 + p.max_frames)
            far = min(hi_all, _shot_end(cuts, f1, hi_all), f1 + max(p.max_frames, p.reacquire_frames))
            if si + 1 < len(b.spans):
                hi = min(hi, b.spans[si + 1][0] - 1)
                far = min(far, b.spans[si + 1][0] - 1)
            box1 = _clip(b.boxes[idx[-1]], size)
            if hi > s1 and box1 is not None:
                ends.append(_End(ti, f1, box1, 1, hi, priority, far if p.reacquire is not None else None))
    return ends


def extend_tracks(
    path: str,
    info: VideoInfo,
    built: list[BuiltTrack],
    cuts: list[int],
    p: ExtendParams,
    frame_range: tuple[int, int] | None = None,
    cancel: CancelToken | None = None,
) -> Generator[Progress, None, tuple[list[BuiltTrack], ExtendStats]]:
    """Follow the tracks' span ends (see the module's doc); return the extended tracks and stats.

    Yields ``Progress`` (stage "extend"; done and total count the frames to follow at most). A
    cancelled run returns ``built`` unchanged, with ``stats.cancelled`` set.
    """
    t0 = time.perf_counter()
    frame_range = frame_range or (0, info.frame_count)
    stats = ExtendStats()
    ends = find_ends(built, cuts, p, frame_range, (info.width, info.height))
    stats.ends = len(ends)
    if not ends:
        stats.seconds = time.perf_counter() - t0
        return built, stats
    minutes = (frame_range[1] - frame_range[0]) / max(1e-6, float(info.fps)) / 60.0
    cap = max(p.min_ends, int(np.ceil(p.ends_per_minute * minutes)))
    if len(ends) > cap:
        ends = sorted(ends, key=lambda e: -e.priority)[:cap]
    ends.sort(key=lambda e: (e.start, e.direction))  # roughly in decoding order
    total = sum(abs(e.stop - e.start) for e in ends)  # frames to follow at most
    meter = RateMeter("extend", total)
    results = yield from _follow_all(path, info, ends, replace(p.follow, max_frames=None), cancel, meter,
                                     p.reacquire)
    if results is None:
        stats.cancelled = True
        stats.seconds = time.perf_counter() - t0
        return built, stats
    added: dict[int, dict[int, np.ndarray]] = {}  # track -> frame -> grown followed box
    for e, res in zip(ends, results, strict=True):
        stats.followed += 1
        stats.reacquired += res.reacquired
        out = added.setdefault(e.track, {})
        for f, box in res.boxes.items():
            if f == e.start:
                continue
            m = min(p.max_margin, p.margin + p.margin_growth * abs(f - e.start))
            g = _grow(np.asarray(box, np.float64), m)
            out[f] = _union(out[f], g) if f in out else g
    result = []
    for ti, b in enumerate(built):
        extra = added.get(ti)
        if not extra:
            result.append(b)
            continue
        nb, n_new, closed = _merge(b, extra, cuts)
        stats.frames_added += n_new
        stats.gaps_closed += closed
        result.append(nb)
    stats.seconds = time.perf_counter() - t0
    yield meter.progress(total, force=True, message="done")
    return result, stats


_SHARED_BUDGET = 160 << 20  # bytes of decoded frames held for the backward follows of one pass
_CLUSTER_GAP = 250  # frames: windows closer than this are decoded in one pass (else: a seek)


def _follow_all(path: str, info: VideoInfo, ends: list[_End], fp: FollowParams, cancel: CancelToken | None,
                meter: RateMeter, reacquire: ReacquireParams | None = None) -> Generator[Progress, None, list | None]:
    """Every end's ``FollowResult`` (in ``ends``' order), or None when cancelled.

    The video is decoded once for all the follows, in passes over clusters of nearby windows
    (each follow's frames from its start to its stop): forward follows are fed as the frames
    come, backward ones from a buffer of the last decoded frames when their start frame arrives.
    Decoding per follow instead (``follow``'s own reader, which seeks to the keyframe before the
    start and decodes up to it) cost about half the extension's time on clips with long GOPs.
    Without ``reacquire`` the results are the same frames fed to the same follow either way.
    Frames too large for the buffer's budget fall back to one ``follow`` per end.

    With ``reacquire``, a forward follow that loses its object (an occluder, say) before its
    end's ``far`` frame is watched for the object again (``app.tracking.reacquire``); found, the
    gap is covered and a new follow carries on, up to ``far``.
    """
    span = max((abs(e.stop - e.start) for e in ends), default=0)
    frame_bytes = info.width * info.height * 3 // 2  # a decoded 4:2:0 frame
    if (span + 1) * frame_bytes > _SHARED_BUDGET:
        return (yield from _follow_each(path, info, ends, fp, cancel, meter))
    follows = [_Follow(info, e.start, e.box, e.direction, fp, e.stop) for e in ends]
    far = [max(f.end, e.far) if (reacquire is not None and e.direction > 0 and e.far is not None) else f.end
           for e, f in zip(ends, follows, strict=True)]
    order = sorted(range(len(ends)), key=lambda i: min(ends[i].start, ends[i].stop))
    clusters: list[list[int]] = []
    hi = -(10**9)
    for i in order:
        lo_i, hi_i = min(ends[i].start, follows[i].end), max(ends[i].start, far[i])
        if clusters and lo_i <= hi + _CLUSTER_GAP:
            clusters[-1].append(i)
            hi = max(hi, hi_i)
        else:
            clusters.append([i])
            hi = hi_i
    done = 0
    cur: dict[int, _Follow] = {}  # end -> the follow now running for it (a later one after a re-acquisition)
    watch: dict[int, Reacquirer] = {}  # end -> looking for its lost object
    with VideoReader(path, info) as reader:
        for members in clusters:
            lo = min(min(ends[i].start, follows[i].end) for i in members)
            hi = max(max(ends[i].start, far[i]) for i in members)
            fwd_at: dict[int, list[int]] = {}
            back_at: dict[int, list[int]] = {}
            for i in members:
                (fwd_at if ends[i].direction > 0 else back_at).setdefault(ends[i].start, []).append(i)
            active: list[int] = []
            buffer: deque = deque(maxlen=span + 1)
            for fr in reader.frames(lo, hi + 1):
                if cancel is not None and cancel.cancelled:
                    return None
                k = fr.index
                if back_at:
                    buffer.append(fr)
                images: dict[float, np.ndarray] = {}  # scale -> this frame converted

                def image(f: _Follow, frame=fr, images=images):
                    if f.scale not in images:
                        images[f.scale] = f.convert(frame)
                    return images[f.scale]

                still = []
                for i in active:
                    f = cur[i]
                    ok = f.feed(k, image(f))
                    done += 1
                    if ok and k != f.end:
                        still.append(i)
                        continue
                    _fold(follows[i], f)
                    if not ok and reacquire is not None and k < far[i] and _occluded(f):
                        watch[i] = Reacquirer(f, reacquire)
                active = still
                for i in list(watch):
                    w = watch[i]
                    if k > far[i]:
                        del watch[i]
                        continue
                    found = w.feed(k, image(w.follow))
                    if not found:
                        continue
                    del watch[i]
                    res = follows[i].result
                    for g, box in w.gap_boxes(found[0][0], found[0][1]).items():
                        res.boxes.setdefault(g, box)
                        res.scores.setdefault(g, 0.0)
                    for g, box, score in found:
                        res.boxes[g], res.scores[g] = box, round(score, 4)
                    res.reacquired += 1
                    if k < far[i]:
                        nf = _Follow(info, k, found[-1][1], 1, fp, far[i])
                        nf.feed(k, image(nf))
                        cur[i] = nf
                        active.append(i)
                for i in fwd_at.get(k, ()):
                    f = follows[i]
                    cur[i] = f
                    if f.span and f.feed(k, image(f)):
                        active.append(i)
                for i in back_at.get(k, ()):
                    f = follows[i]
                    if not f.span:
                        continue
                    for old in reversed(buffer):
                        if old.index > k:
                            continue
                        if old.index < f.end or not f.feed(old.index, image(f) if old is fr else f.convert(old)):
                            break
                        if cancel is not None and cancel.cancelled:
                            return None
                    done += f.done
                pr = meter.progress(min(done, max(0, meter.total - 1)))  # re-acquired follows add frames
                if pr is not None:
                    yield pr
            for i in active:  # ran to the end of the decoded range
                _fold(follows[i], cur[i])
            watch.clear()
    return [f.finish() for f in follows]


def _occluded(f: _Follow) -> bool:
    """Lost as an occluder makes it lost (not out of the frame, nor a collapsed box)."""
    d = f.result.detail
    return f.result.stopped == "lost" and (d.startswith("confidence fell") or d.startswith("the tracker lost"))


def _fold(first: _Follow, later: _Follow) -> None:
    """A follow after a re-acquisition: its boxes join the end's first follow's result."""
    if later is first:
        return
    r = later.finish()
    for g, box in r.boxes.items():
        if g != later.start:
            first.result.boxes[g], first.result.scores[g] = box, r.scores[g]


def _follow_each(path: str, info: VideoInfo, ends: list[_End], fp: FollowParams, cancel: CancelToken | None,
                 meter: RateMeter) -> Generator[Progress, None, list | None]:
    """The same, one ``follow`` (and one decoding) per end."""
    base = 0
    results = []
    for e in ends:
        res = None
        gen = follow(path, info, e.start, e.box, e.direction, fp, cancel, e.stop)
        while True:
            try:
                fpr = next(gen)
            except StopIteration as stop:
                res = stop.value
                break
            pr = meter.progress(base + min(fpr.done, abs(e.stop - e.start)))
            if pr is not None:
                yield pr
        if (cancel is not None and cancel.cancelled) or res.stopped == "cancelled":
            return None
        base += abs(e.stop - e.start)
        results.append(res)
    return results


def _clip(box: np.ndarray, size: tuple[int, int]) -> tuple[float, float, float, float] | None:
    x1, y1 = max(0.0, float(box[0])), max(0.0, float(box[1]))
    x2, y2 = min(float(size[0]), float(box[2])), min(float(size[1]), float(box[3]))
    return (x1, y1, x2, y2) if x2 - x1 >= 2 and y2 - y1 >= 2 else None


def _grow(box: np.ndarray, m: float) -> np.ndarray:
    w, h = box[2] - box[0], box[3] - box[1]
    return np.array([box[0] - m * w, box[1] - m * h, box[2] + m * w, box[3] + m * h])


def _union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.concatenate([np.minimum(a[:2], b[:2]), np.maximum(a[2:], b[2:])])


def _merge(b: BuiltTrack, extra: dict[int, np.ndarray], cuts: list[int]) -> tuple[ExtendedTrack, int, int]:
    """``b`` with the followed boxes added (unioned with its own boxes where it has some)."""
    boxes = {int(f): bx.copy() for f, bx in zip(b.frames.tolist(), b.boxes, strict=True)}
    observed = {int(f): bool(o) for f, o in zip(b.frames.tolist(), b.observed, strict=True)}
    followed = set()
    if isinstance(b, ExtendedTrack) and b.followed is not None:
        followed = {int(f) for f in b.frames[b.followed].tolist()}
    n_new = 0
    for f, g in extra.items():
        if f in boxes:
            if not observed[f]:  # a hold or gap-fill frame: keep it, and the followed box too
                boxes[f] = _union(boxes[f], g)
        else:
            boxes[f] = g
            observed[f] = False
            followed.add(f)
            n_new += 1
    frames = np.array(sorted(boxes), np.int64)
    dense = np.stack([boxes[f] for f in frames.tolist()])
    obs = np.array([observed[f] for f in frames.tolist()], bool)
    # spans: runs of consecutive frames, split at scene cuts
    breaks = [0]
    for i in range(1, len(frames)):
        a, c = int(frames[i - 1]), int(frames[i])
        if c != a + 1 or bisect_right(cuts, a) != bisect_right(cuts, c):
            breaks.append(i)
    breaks.append(len(frames))
    spans, keep = [], []
    for a, c in zip(breaks, breaks[1:], strict=False):
        spans.append((int(frames[a]), int(frames[c - 1])))
        keep.extend(a + i for i in reduce_boxes(frames[a:c], dense[a:c], b.pad))
    closed = sum(1 for a, c in zip(b.spans, b.spans[1:], strict=False)
                 if c[0] > a[1] + 1 and any(s0 <= a[1] and c[0] <= s1 for s0, s1 in spans))
    nb = ExtendedTrack(b.class_id, frames, dense, spans, keep, obs, b.scores, pad=b.pad,
                       followed=np.isin(frames, np.array(sorted(followed), np.int64)))
    return nb, n_new, closed


def _shot_start(cuts: list[int], frame: int) -> int:
    i = bisect_right(cuts, frame)
    return cuts[i - 1] if i else 0


def _shot_end(cuts: list[int], frame: int, last: int) -> int:
    i = bisect_right(cuts, frame)
    return min(last, cuts[i] - 1) if i < len(cuts) else last
