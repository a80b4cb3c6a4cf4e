"""Redaction-safe tracks: from the tracker's output and the raw detections to dense, then sparse boxes.

The rules, in order of importance:

1. **No detection is ever dropped.** Every detection at or above its class's seed score ends up in
   some track, whether the tracker confirmed it or not. (Lower-score detections are used only when
   a track claims them: that is how a face is followed through blur.)
2. **Back-fill.** A track starts at the first frame it was seen, not when it was confirmed, and a
   backward pass of the tracker extends it further back over low-score detections (someone walking
   in from the edge is detected weakly before confidently).
3. **Gap fill.** Gaps of up to ``max_gap`` frames between sightings are interpolated.
4. **Hold.** A track stays ``hold`` frames past its last sighting (and ``pre_hold`` before its
   first), following its last motion with a margin that grows each frame.
5. **Smoothing without lag.** A centred moving average (offline, so it looks ahead as much as
   behind), then grown again wherever needed to contain the raw detection box.
6. **Scene cuts end all tracks**: no span, gap fill or hold crosses a cut.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

import numpy as np

from app.core.keyframes import reduce_boxes


@dataclass
class BuildParams:
    max_gap: int = 15  # frames (about 0.5 s at 30 fps)
    stitch_gap: int = 60  # tracks broken for up to this many frames are joined (about 2 s)
    hold: int = 6  # frames past the last sighting
    pre_hold: int = 2  # frames before the first sighting
    hold_growth: float = 0.04  # each hold frame grows the box by this share of its size per side
    smooth_radius: int = 2  # centred moving average over 2r+1 frames
    tolerance: float = 2.0  # px, dense -> keyframes: at least this ...
    rel_tolerance: float = 0.05  # ... or this share of the box's shorter side, whichever is larger
    seed_score: dict = field(default_factory=lambda: {0: 0.3, 1: 0.1})  # class id -> always-keep score
    frame_count: int | None = None


@dataclass
class BuiltTrack:
    class_id: int
    frames: np.ndarray  # dense, increasing (one span: no gaps), or several spans
    boxes: np.ndarray  # (N, 4)
    spans: list[tuple[int, int]]  # inclusive ranges covered by `frames`
    keyframe_idx: list[int]  # indices into frames/boxes kept as keyframes
    observed: np.ndarray  # bool per dense frame: a real detection was there
    scores: np.ndarray  # the real detections' scores
    pad: float = 0.0  # keyframe boxes are the dense boxes grown by this (see ``keyframe_box``)

    def keyframe_box(self, i: int) -> tuple[float, float, float, float]:
        x1, y1, x2, y2 = self.boxes[i]
        return (x1 - self.pad, y1 - self.pad, x2 + self.pad, y2 + self.pad)

    @property
    def stats(self) -> dict[str, float]:
        return {
            "max_score": round(float(self.scores.max()), 4) if len(self.scores) else 0.0,
            "mean_score": round(float(self.scores.mean()), 4) if len(self.scores) else 0.0,
            "detected_share": round(float(self.observed.mean()), 4) if len(self.observed) else 0.0,
            "detections": int(len(self.scores)),
        }


def merge_passes(
    forward: list[list[int]], backward: list[list[int]], det_frame: np.ndarray
) -> list[list[int]]:
    """Forward tracks, each extended back over its backward-pass track; then backward-only tracks."""
    owner = {}
    for ti, ids in enumerate(forward):
        for d in ids:
            owner[d] = ti
    back_of = {}
    for bi, ids in enumerate(backward):
        for d in ids:
            back_of[d] = bi
    out = [list(ids) for ids in forward]
    for ti, ids in enumerate(out):
        first = min(ids, key=lambda d: det_frame[d])
        bi = back_of.get(first)
        if bi is None:
            continue
        f0 = det_frame[first]
        extra = [d for d in backward[bi] if det_frame[d] < f0 and d not in owner]
        for d in extra:
            owner[d] = ti
        ids.extend(extra)
    for ids in backward:
        rest = [d for d in ids if d not in owner]
        if len(rest) >= 2:
            for d in rest:
                owner[d] = len(out)
            out.append(rest)
    return out


def link_leftovers(
    leftovers: list[int], det_frame: np.ndarray, det_box: np.ndarray, max_gap: int, min_iou: float = 0.3
) -> list[list[int]]:
    """Greedy IoU chaining of detections no track took (so they aren't one-frame fragments)."""
    from app.detection.detections import box_iou

    chains: list[list[int]] = []
    for d in sorted(leftovers, key=lambda d: det_frame[d]):
        best, best_iou = None, min_iou
        for c in chains:
            last = c[-1]
            gap = det_frame[d] - det_frame[last]
            if 0 < gap <= max_gap + 1:
                iou = float(box_iou(det_box[last][None], det_box[d][None])[0, 0])
                if iou >= best_iou:
                    best, best_iou = c, iou
        if best is None:
            chains.append([d])
        else:
            best.append(d)
    return chains


def absorb_duplicates(
    groups: list[list[int]], extra: list[int], det_frame: np.ndarray, det_box: np.ndarray, min_iou: float = 0.3
) -> tuple[list[list[int]], list[int]]:
    """Fold duplicates into the track they duplicate.

    A second box on the same face in the same frame (a head box beside a face box that NMS kept,
    or a backward-pass fragment running alongside a forward track) would otherwise become its own
    short track: one more lane for the operator, for the same object. A group whose detections
    mostly overlap (IoU >= ``min_iou``, same frames) one bigger track joins it; so does each single
    leftover detection in ``extra``. Returns the groups and the leftovers that matched nothing.
    """
    from app.detection.detections import box_iou

    order = sorted(range(len(groups)), key=lambda i: -len(groups[i]))
    owner: dict[int, list[tuple[int, int]]] = {}  # frame -> (group, det) of the groups kept so far
    kept: list[int] = []
    merged = {i: list(groups[i]) for i in range(len(groups))}

    def best_overlap(d: int) -> int | None:
        cands = owner.get(int(det_frame[d]), [])
        if not cands:
            return None
        ious = box_iou(det_box[d][None], det_box[[c[1] for c in cands]])[0]
        k = int(np.argmax(ious))
        return cands[k][0] if ious[k] >= min_iou else None

    for gi in order:
        votes: dict[int, int] = {}
        for d in groups[gi]:
            h = best_overlap(d)
            if h is not None:
                votes[h] = votes.get(h, 0) + 1
        target = max(votes, key=votes.get) if votes else None
        if target is not None and votes[target] * 2 >= len(groups[gi]):
            merged[target].extend(groups[gi])
            del merged[gi]
            continue
        kept.append(gi)
        for d in groups[gi]:
            owner.setdefault(int(det_frame[d]), []).append((gi, d))
    rest = []
    for d in extra:
        h = best_overlap(d)
        if h is None:
            rest.append(d)
        else:
            merged[h].append(d)
    return [merged[i] for i in kept], rest


def stitch(
    groups: list[list[int]], det_frame: np.ndarray, det_box: np.ndarray, cuts: list[int], max_gap: int
) -> list[list[int]]:
    """Join a track that ends to one that starts soon after where it was heading (same shot).

    A detector that misses an object for longer than the tracker's buffer (an occlusion, a blur)
    splits it in two tracks; the operator should review one. B continues A when B starts within
    ``max_gap`` frames after A ends, in the same shot, with a similar size, and B's first box lies
    within one box size of A's last box moved on by A's velocity.
    """
    def ends(g):
        order = sorted(g, key=lambda d: det_frame[d])
        return order[0], order[-1], order

    info = [ends(g) for g in groups]
    parent = list(range(len(groups)))
    taken_start: set[int] = set()
    candidates = []
    for a, (_fa, la, order_a) in enumerate(info):
        end_f = int(det_frame[la])
        tail = order_a[-5:]
        box_a = det_box[la].astype(np.float64)
        centre = lambda b: np.array([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2])  # noqa: E731
        if len(tail) >= 2 and det_frame[tail[-1]] > det_frame[tail[0]]:
            v = (centre(det_box[tail[-1]]) - centre(det_box[tail[0]])) / float(det_frame[tail[-1]] - det_frame[tail[0]])
        else:
            v = np.zeros(2)
        size_a = max(1.0, float(np.sqrt(max(1.0, (box_a[2] - box_a[0]) * (box_a[3] - box_a[1])))))
        for b, (fb, _lb, _ob) in enumerate(info):
            start_f = int(det_frame[fb])
            gap = start_f - end_f
            if b == a or gap <= 0 or gap > max_gap:
                continue
            if bisect_right(cuts, end_f) != bisect_right(cuts, start_f):
                continue
            box_b = det_box[fb].astype(np.float64)
            size_b = max(1.0, float(np.sqrt(max(1.0, (box_b[2] - box_b[0]) * (box_b[3] - box_b[1])))))
            if not 1 / 3 <= size_b / size_a <= 3.0:  # partial occlusion shrinks a box
                continue
            dist = float(np.hypot(*(centre(box_a) + v * gap - centre(box_b))))
            if dist <= 1.5 * max(size_a, size_b):
                candidates.append((dist / size_a + gap / max_gap, a, b))
    taken_end: set[int] = set()
    for _cost, a, b in sorted(candidates):
        if a in taken_end or b in taken_start:
            continue
        ra, rb = _root(parent, a), _root(parent, b)
        if ra == rb:
            continue
        parent[rb] = ra
        taken_end.add(a)
        taken_start.add(b)
    merged: dict[int, list[int]] = {}
    for i, g in enumerate(groups):
        merged.setdefault(_root(parent, i), []).extend(g)
    return list(merged.values())


def _root(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def build(
    ids: list[int],
    det_frame: np.ndarray,
    det_box: np.ndarray,
    det_score: np.ndarray,
    class_id: int,
    cuts: list[int],
    p: BuildParams,
) -> BuiltTrack:
    """Dense boxes, spans and keyframes of one track made of detections ``ids``."""
    # one observation per frame: if two detections fell on one frame, take their union
    by_frame: dict[int, tuple[np.ndarray, float]] = {}
    for d in ids:
        f = int(det_frame[d])
        box = det_box[d].astype(np.float64)
        if f in by_frame:
            ob, os_ = by_frame[f]
            box = np.concatenate([np.minimum(ob[:2], box[:2]), np.maximum(ob[2:], box[2:])])
            by_frame[f] = (box, max(os_, float(det_score[d])))
        else:
            by_frame[f] = (box, float(det_score[d]))
    obs_frames = np.array(sorted(by_frame), np.int64)
    obs_boxes = np.stack([by_frame[f][0] for f in obs_frames])
    scores = np.array([by_frame[f][1] for f in obs_frames], np.float32)

    # segments: split at long gaps and at scene cuts
    segments: list[tuple[int, int]] = []  # index ranges into obs (inclusive)
    start = 0
    for i in range(1, len(obs_frames)):
        a, b = obs_frames[i - 1], obs_frames[i]
        crosses_cut = bisect_right(cuts, a) != bisect_right(cuts, b)
        if b - a > p.max_gap + 1 or crosses_cut:
            segments.append((start, i - 1))
            start = i
    segments.append((start, len(obs_frames) - 1))

    all_frames, all_boxes, all_obs, spans = [], [], [], []
    last_frame = (p.frame_count - 1) if p.frame_count else None
    prev_end = -1
    for si, (a, b) in enumerate(segments):
        fr = obs_frames[a : b + 1]
        bx = obs_boxes[a : b + 1]
        dense_f = np.arange(fr[0], fr[-1] + 1)
        dense_b = np.stack([np.interp(dense_f, fr, bx[:, k]) for k in range(4)], axis=1)
        observed = np.isin(dense_f, fr)
        dense_b = _contain(_smooth(dense_b, p.smooth_radius), bx, observed, p.smooth_radius)
        # holds, bounded by cuts, the video and the neighbouring segments
        lo_limit = max(prev_end + 1, _shot_start(cuts, int(fr[0])))
        nxt = obs_frames[segments[si + 1][0]] if si + 1 < len(segments) else None
        hi_limit = _shot_end(cuts, int(fr[-1]), last_frame)
        if nxt is not None:
            hi_limit = min(hi_limit, int(nxt) - 1)
        pre = _hold(dense_b[:3], -1, min(p.pre_hold, int(fr[0]) - lo_limit), p.hold_growth)
        post = _hold(dense_b[-3:], 1, min(p.hold, hi_limit - int(fr[-1])), p.hold_growth)
        seg_f = np.concatenate([np.arange(fr[0] - len(pre), fr[0]), dense_f, np.arange(fr[-1] + 1, fr[-1] + 1 + len(post))])
        seg_b = np.concatenate([x for x in (pre, dense_b, post) if len(x)])
        seg_o = np.concatenate([np.zeros(len(pre), bool), observed, np.zeros(len(post), bool)])
        all_frames.append(seg_f)
        all_boxes.append(seg_b)
        all_obs.append(seg_o)
        spans.append((int(seg_f[0]), int(seg_f[-1])))
        prev_end = int(seg_f[-1])
    frames = np.concatenate(all_frames)
    boxes = np.concatenate(all_boxes)
    # Keyframes: the boxes are grown by tol/2 and reduced within tol/2, so the interpolated masks
    # contain every dense box and exceed it by at most `tol`.
    short = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    tol = max(p.tolerance, p.rel_tolerance * float(np.median(short)))
    keep: list[int] = []
    offset = 0
    for f in all_frames:
        n = len(f)
        keep.extend(offset + i for i in reduce_boxes(frames[offset : offset + n], boxes[offset : offset + n], tol / 2))
        offset += n
    return BuiltTrack(class_id, frames, boxes, spans, keep, np.concatenate(all_obs), scores, pad=tol / 2)


def _smooth(boxes: np.ndarray, r: int) -> np.ndarray:
    if r <= 0 or len(boxes) < 3:
        return boxes.copy()
    k = np.ones(2 * r + 1) / (2 * r + 1)
    padded = np.pad(boxes, ((r, r), (0, 0)), mode="reflect", reflect_type="odd")  # keeps linear motion at the ends
    return np.stack([np.convolve(padded[:, j], k, mode="valid") for j in range(4)], axis=1)


def _contain(smooth: np.ndarray, raw: np.ndarray, observed: np.ndarray, r: int) -> np.ndarray:
    """Grow ``smooth`` smoothly so that it contains the raw detection box on every observed frame.

    The excess of the raw box over the smooth one, per side, is max-filtered over 4r+1 frames and
    then averaged over 2r+1: the result is at least the excess everywhere, and still smooth.
    """
    excess = np.zeros_like(smooth)
    full = smooth.copy()
    full[observed] = raw
    excess[:, :2] = np.maximum(0, smooth[:, :2] - full[:, :2])
    excess[:, 2:] = np.maximum(0, full[:, 2:] - smooth[:, 2:])
    if not excess.any():
        return smooth
    if r > 0 and len(excess) > 1:
        from scipy.ndimage import maximum_filter1d, uniform_filter1d

        excess = maximum_filter1d(excess, size=4 * r + 1, axis=0, mode="nearest")
        excess = uniform_filter1d(excess, size=2 * r + 1, axis=0, mode="nearest")
    out = smooth.copy()
    out[:, :2] -= excess[:, :2]
    out[:, 2:] += excess[:, 2:]
    return out


def _hold(edge: np.ndarray, direction: int, n: int, growth: float) -> np.ndarray:
    """``n`` boxes continuing ``edge``'s motion (forward: direction 1, from its last box; backward: -1)."""
    if n <= 0:
        return np.zeros((0, 4))
    ref = edge[-1] if direction > 0 else edge[0]
    if len(edge) >= 2:
        step = (edge[-1] - edge[-2]) if direction > 0 else (edge[0] - edge[1])
        vel = np.array([(step[0] + step[2]) / 2, (step[1] + step[3]) / 2])
    else:
        vel = np.zeros(2)
    out = []
    w, h = ref[2] - ref[0], ref[3] - ref[1]
    for k in range(1, n + 1):
        c = np.array([(ref[0] + ref[2]) / 2, (ref[1] + ref[3]) / 2]) + vel * k
        gw, gh = w * (1 + 2 * growth * k) / 2, h * (1 + 2 * growth * k) / 2
        out.append([c[0] - gw, c[1] - gh, c[0] + gw, c[1] + gh])
    out = np.array(out)
    return out if direction > 0 else out[::-1]


def _shot_start(cuts: list[int], frame: int) -> int:
    """First frame of the shot containing ``frame`` (a cut at c means frame c starts a new shot)."""
    i = bisect_right(cuts, frame)
    return cuts[i - 1] if i else 0


def _shot_end(cuts: list[int], frame: int, last_frame: int | None) -> int:
    i = bisect_right(cuts, frame)
    end = cuts[i] - 1 if i < len(cuts) else (last_frame if last_frame is not None else frame + 10**9)
    return end
