"""Operator edits on tracks, as pure functions: each takes tracks and returns new ones.

Nothing here mutates its input, so an undo command can keep the track before and the track after
an edit and swap them (the editor's ``QUndoStack`` does exactly that). Every shape an operator
places becomes a keyframe with ``source = manual``; re-running detection never replaces a track
that holds one (see :func:`is_untouched_auto`).

Frames are source frame indices; a track's *spans* are the ranges where it shows a shape
(:meth:`Track.spans`). An invisible keyframe ends a span, so gaps survive edits.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from app.core.keyframes import reduce_boxes
from app.core.shapes import Shape
from app.core.track import Keyframe, KeyframeSource, Track

MANUAL = KeyframeSource.MANUAL
TRACKED = KeyframeSource.TRACKED
MANUAL_LABELS = ("logo", "badge", "screen", "document", "other")
# A drawn mask with no label chosen is labelled by the shape drawn.
SHAPE_LABELS = {"rect": "rectangle", "ellipse": "ellipse", "polygon": "polygon"}


class EditError(ValueError):
    """An edit that cannot be made as asked (the message says why, for the status bar)."""


def clone(track: Track, **changes) -> Track:
    """A new Track with the same keyframes (immutable, shared) and ``changes`` applied."""
    out = copy.copy(track)
    out.stats = dict(track.stats)
    for k, v in changes.items():
        setattr(out, k, v)
    out.keyframes = changes.get("keyframes", track.keyframes)  # re-index (copy.copy shares the cache)
    Track.__post_init__(out)
    return out


# -- review ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReviewRules:
    """When an auto track starts as "needs review" (else "approved"). Editable in the settings."""

    min_seconds: float = 1.0  # shorter tracks are often false detections or fragments
    min_score: Mapping[str, float] = field(default_factory=lambda: {"face": 0.6, "plate": 0.45})
    default_min_score: float = 0.5

    def threshold(self, cls: str) -> float:
        return float(self.min_score.get(cls, self.default_min_score))


def initial_review(track: Track, fps: float, rules: ReviewRules | None = None) -> str:
    """"needs_review" for a short or low-scoring auto track, "approved" otherwise; manual tracks
    (any keyframe placed by the operator) start approved."""
    rules = rules or ReviewRules()
    if any(k.source == MANUAL for k in track.keyframes):
        return "approved"
    frames = sum(b - a + 1 for a, b in track.spans())
    best = track.stats.get("max_score", track.max_score)
    if frames < rules.min_seconds * fps or best is None or best < rules.threshold(track.cls):
        return "needs_review"
    return "approved"


def is_untouched_auto(track: Track) -> bool:
    """True for a track exactly as the analysis made it (re-analysis may replace it). An exempt
    (disabled) or rejected track is an operator's decision even without a name on it."""
    return (not track.changed_by and track.enabled and track.review != "rejected"
            and all(k.source == KeyframeSource.AUTO for k in track.keyframes))


# -- keyframes -----------------------------------------------------------------------------------

def set_shape(track: Track, frame: int, shape: Shape, source: KeyframeSource = MANUAL) -> Track:
    """Place ``shape`` at ``frame`` as a (manual) keyframe: a new one or the one already there."""
    old = track.keyframe_at(frame)
    kf = Keyframe(frame, shape, source, True, old.score if old is not None else None)
    out = clone(track)
    out.set_keyframe(kf)
    return out


def add_keyframe(track: Track, frame: int) -> Track:
    """Make the shape shown at ``frame`` a manual keyframe (pins it while neighbours change)."""
    shape = track.shape_at(frame)
    if shape is None:
        raise EditError(f"track {track.id} shows nothing at frame {frame}")
    if (kf := track.keyframe_at(frame)) is not None and kf.visible:
        raise EditError(f"track {track.id} already has a keyframe at frame {frame}")
    return set_shape(track, frame, shape)


def delete_keyframe(track: Track, frame: int) -> Track:
    """Remove the keyframe at ``frame``; the neighbours interpolate across it."""
    if track.keyframe_at(frame) is None:
        raise EditError(f"track {track.id} has no keyframe at frame {frame}")
    if sum(1 for k in track.keyframes if k.visible) <= 1 and track.keyframe_at(frame).visible:
        raise EditError(f"frame {frame} holds the only keyframe of track {track.id}: delete the track instead")
    out = clone(track)
    out.remove_keyframe(frame)
    return _drop_edge_invisible(out)


def nudge(track: Track, frame: int, dx: float, dy: float) -> Track:
    shape = track.shape_at(frame)
    if shape is None:
        raise EditError(f"track {track.id} shows nothing at frame {frame}")
    return set_shape(track, frame, shape.translated(dx, dy))


def neighbour_keyframe(track: Track, frame: int, direction: int) -> int | None:
    """The frame of the next (direction > 0) or previous keyframe, None when there is none."""
    frames = [k.frame for k in track.keyframes if k.visible]
    if direction > 0:
        return next((f for f in frames if f > frame), None)
    return next((f for f in reversed(frames) if f < frame), None)


def _drop_edge_invisible(track: Track) -> Track:
    """Invisible keyframes before the first visible one or after the last mean nothing: drop them."""
    kfs = list(track.keyframes)
    while kfs and not kfs[0].visible:
        kfs.pop(0)
    while len(kfs) > 1 and not kfs[-1].visible and not kfs[-2].visible:
        kfs.pop()
    if kfs and not kfs[-1].visible and len(kfs) == 1:
        kfs.pop()
    if len(kfs) != len(track.keyframes):
        track.keyframes = kfs
    return track


# -- track operations ----------------------------------------------------------------------------

def split(track: Track, frame: int, new_id: str) -> tuple[Track, Track]:
    """Cut ``track`` before ``frame``: (frames < frame keeping the id, frames >= frame as ``new_id``).

    Together the two draw exactly what the track drew: the cut points get manual keyframes with
    the shapes shown there."""
    first, last = track.first_frame, track.last_frame
    if first is None or not (first < frame <= last):
        raise EditError(f"the playhead (frame {frame}) is not inside track {track.id}")
    left = [k for k in track.keyframes if k.frame < frame]
    right = [k for k in track.keyframes if k.frame > frame]
    before, here = track.shape_at(frame - 1), track.shape_at(frame)
    if before is not None and (left[-1].frame != frame - 1 or not left[-1].visible):
        left = [k for k in left if k.frame != frame - 1] + [Keyframe(frame - 1, before, MANUAL)]
    if here is not None:
        old = track.keyframe_at(frame)
        right.insert(0, Keyframe(frame, here, MANUAL, True, old.score if old else None))
    elif (old := track.keyframe_at(frame)) is not None:
        right.insert(0, old)
    a = _drop_edge_invisible(clone(track, keyframes=left))
    b = _drop_edge_invisible(clone(track, id=new_id, keyframes=right))
    if not any(k.visible for k in a.keyframes) or not any(k.visible for k in b.keyframes):
        raise EditError(f"splitting track {track.id} at frame {frame} would leave an empty part")
    return a, b


def merge(tracks: Sequence[Track], interpolate_gaps: bool = True) -> Track:
    """One track from several of the same class, keeping the id of the earliest.

    Where one ends and the next starts later, the gap is interpolated (``interpolate_gaps``) or
    left empty. Where they overlap in time, the earlier track's keyframes win inside its span."""
    if len(tracks) < 2:
        raise EditError("select two or more tracks to merge")
    classes = {t.cls for t in tracks}
    if len(classes) > 1:
        raise EditError(f"only tracks of one class can be merged (selected: {', '.join(sorted(classes))})")
    ordered = sorted((t for t in tracks if t.keyframes), key=lambda t: (t.first_frame, t.id))
    if len(ordered) < 2:
        raise EditError("the tracks to merge are empty")
    kfs: list[Keyframe] = []
    end = -1
    for t in ordered:
        add = [k for k in t.keyframes if k.frame > end]
        if not add:
            continue
        if kfs:
            last = kfs[-1]
            gap_start = (last.frame + 1) if last.visible else None
            if not interpolate_gaps and gap_start is not None and gap_start < add[0].frame:
                kfs.append(Keyframe(gap_start, last.shape, MANUAL, False))
            elif interpolate_gaps and not last.visible and last.frame >= add[0].frame - 1:
                kfs.pop()  # an end marker right before the next track: let them join
        kfs.extend(add)
        end = kfs[-1].frame
    base = ordered[0]
    stats = _merged_stats(ordered)
    label = next((t.label for t in ordered if t.label), "")
    review = "needs_review" if any(t.review == "needs_review" for t in ordered) else base.review
    return clone(base, keyframes=kfs, stats=stats, label=label, review=review,
                 enabled=all(t.enabled for t in ordered))


def _merged_stats(tracks: Sequence[Track]) -> dict[str, float]:
    out: dict[str, float] = {}
    with_stats = [t for t in tracks if t.stats]
    if not with_stats:
        return out
    if any("max_score" in t.stats for t in with_stats):
        out["max_score"] = max(t.stats.get("max_score", 0.0) for t in with_stats)
    weights = [max(1, sum(b - a + 1 for a, b in t.spans())) for t in with_stats]
    for key in ("mean_score", "detected_share"):
        if all(key in t.stats for t in with_stats):
            out[key] = round(float(np.average([t.stats[key] for t in with_stats], weights=weights)), 4)
    for key in set().union(*(t.stats for t in with_stats)) - set(out):
        vals = [t.stats[key] for t in with_stats if key in t.stats]
        out[key] = max(vals)
    return out


def _span_at(track: Track, frame: int) -> tuple[int, int] | None:
    return next(((a, b) for a, b in track.spans() if a <= frame <= b), None)


def set_start(track: Track, frame: int) -> Track:
    """Make the span at the playhead start there (trim), or the next span start earlier (extend)."""
    spans = track.spans()
    if not spans:
        raise EditError(f"track {track.id} is empty")
    span = _span_at(track, frame)
    kfs = list(track.keyframes)
    if span is not None:  # trim: hide [span start, frame)
        s, _e = span
        if s == frame:
            return track
        here = track.shape_at(frame)
        kfs = [k for k in kfs if not (s <= k.frame < frame) and k.frame != frame]
        kfs.append(Keyframe(frame, here, MANUAL))
        if s > spans[0][0]:  # an earlier span exists: make sure the gap stays a gap
            kfs = [k for k in kfs if k.frame != s] + [Keyframe(s, here, MANUAL, False)]
    else:  # extend the next span back to the playhead
        nxt = next(((a, b) for a, b in spans if a > frame), None)
        if nxt is None:
            raise EditError(f"the playhead (frame {frame}) is after the end of track {track.id}")
        shape = track.shape_at(nxt[0])
        kfs = [k for k in kfs if not (frame <= k.frame < nxt[0])]
        kfs.append(Keyframe(frame, shape, MANUAL))
    return _drop_edge_invisible(clone(track, keyframes=kfs))


def set_end(track: Track, frame: int) -> Track:
    """Make the span at the playhead end there (trim), or the last span before it end later (extend)."""
    spans = track.spans()
    if not spans:
        raise EditError(f"track {track.id} is empty")
    span = _span_at(track, frame)
    kfs = list(track.keyframes)
    later = [k for k in kfs if k.frame > frame]
    if span is not None:  # trim: hide (frame, span end]
        _s, e = span
        if e == frame:
            return track
        here = track.shape_at(frame)
        kfs = [k for k in kfs if not (frame <= k.frame <= e)]
        kfs.append(Keyframe(frame, here, MANUAL))
        if any(k.frame > e for k in later):  # something follows: end this span with a marker
            kfs = [k for k in kfs if k.frame != frame + 1] + [Keyframe(frame + 1, here, MANUAL, False)]
    else:  # extend the previous span forward to the playhead
        prev = next(((a, b) for a, b in reversed(spans) if b < frame), None)
        if prev is None:
            raise EditError(f"the playhead (frame {frame}) is before the start of track {track.id}")
        shape = track.shape_at(prev[1])
        kfs = [k for k in kfs if not (prev[1] < k.frame <= frame)]
        kfs.append(Keyframe(frame, shape, MANUAL))
        nxt = next((k.frame for k in sorted(later, key=lambda k: k.frame)), None)
        if nxt is not None and nxt > frame + 1:
            kfs.append(Keyframe(frame + 1, shape, MANUAL, False))
    return _drop_edge_invisible(clone(track, keyframes=kfs))


def shift(track: Track, delta: int, frame_count: int | None = None) -> Track:
    """Move every keyframe by ``delta`` frames (dragging a span on the timeline), kept in the clip."""
    if not track.keyframes or delta == 0:
        return track
    lo = -track.first_frame
    hi = (frame_count - 1 - track.last_frame) if frame_count else delta
    delta = max(lo, min(delta, hi))
    kfs = [Keyframe(k.frame + delta, k.shape, MANUAL if k.source != MANUAL else k.source, k.visible, k.score)
           for k in track.keyframes]
    return clone(track, keyframes=kfs)


def change_class(track: Track, cls: str) -> Track:
    if not cls:
        raise EditError("a track class cannot be empty")
    return clone(track, cls=cls)


def new_manual_track(track_id: str, shape: Shape, start: int, end: int | None = None,
                     label: str = "other") -> Track:
    """A hand-drawn mask: class ``manual``, approved, static from ``start`` to ``end``."""
    kfs = [Keyframe(start, shape, MANUAL)]
    if end is not None and end > start:
        kfs.append(Keyframe(end, shape, MANUAL))
    return Track(track_id, "manual", kfs, label=label, review="approved")


def apply_follow(track: Track, start_frame: int, shape: Shape, boxes: Mapping[int, Iterable[float]],
                 tolerance: float = 1.5) -> Track:
    """Keyframes from a click-to-track result: ``boxes`` maps frames to (x1, y1, x2, y2), one
    direction from ``start_frame``. The shape (a polygon too) is fitted into each box, reduced
    to the fewest keyframes within ``tolerance`` px, ``source = tracked``. Every keyframe in the
    followed range is replaced (the operator asked to follow from here); the start stays manual."""
    frames = sorted(f for f in boxes if f != start_frame)
    if not frames:
        return track
    lo, hi = min(frames[0], start_frame), max(frames[-1], start_frame)
    all_frames = sorted(set(frames) | {start_frame})
    arr = np.array([list(boxes.get(f, shape.bbox)) for f in all_frames], np.float64)
    keep = reduce_boxes(np.array(all_frames), arr, tolerance)
    kfs = [k for k in track.keyframes if not (lo <= k.frame <= hi) or k.frame == start_frame]
    have = {k.frame for k in kfs}
    for i in keep:
        f = all_frames[i]
        if f in have:
            continue
        kfs.append(Keyframe(f, shape.with_bbox(*arr[i]), TRACKED))
    out = clone(track, keyframes=kfs)
    if start_frame not in have:
        out.set_keyframe(Keyframe(start_frame, shape, MANUAL))
    return out
