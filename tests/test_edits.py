"""Operator edits (app.core.edits): pure functions, checked frame by frame against what the
original tracks draw."""

import pytest

from app.core import Keyframe, KeyframeSource, Shape, Track, edits
from app.core.edits import EditError

M, A = KeyframeSource.MANUAL, KeyframeSource.AUTO


def _track(tid="face-0001", frames=(0, 10, 20), cls="face", **kw):
    kfs = [Keyframe(f, Shape.rect(f, 0, f + 10, 10), A, True, 0.9) for f in frames]
    return Track(tid, cls, kfs, **kw)


def _drawn(*tracks, n=40):
    out = {}
    for f in range(n):
        shapes = [t.shape_at(f) for t in tracks if t.shape_at(f) is not None]
        out[f] = shapes
    return out


def test_set_shape_makes_a_manual_keyframe_and_moves_the_frames_between():
    t = _track()
    moved = edits.set_shape(t, 10, Shape.rect(50, 0, 60, 10))
    assert moved.keyframe_at(10).source == M and t.keyframe_at(10).source == A  # input untouched
    assert moved.shape_at(5).bbox == pytest.approx((25, 0, 35, 10))  # halfway between 0 and 50
    assert edits.set_shape(t, 5, Shape.rect(0, 0, 1, 1)).keyframe_at(5).source == M


def test_add_delete_nudge_and_neighbours():
    t = _track()
    added = edits.add_keyframe(t, 5)
    assert added.keyframe_at(5).shape.bbox == t.shape_at(5).bbox
    with pytest.raises(EditError):
        edits.add_keyframe(t, 10)
    gone = edits.delete_keyframe(t, 10)
    assert gone.keyframe_at(10) is None and gone.shape_at(10).bbox == pytest.approx((10, 0, 20, 10))
    with pytest.raises(EditError):
        edits.delete_keyframe(_track(frames=(3,)), 3)
    n = edits.nudge(t, 15, 2, -1)
    assert n.shape_at(15).bbox == pytest.approx((17, -1, 27, 9))
    assert edits.neighbour_keyframe(t, 10, 1) == 20 and edits.neighbour_keyframe(t, 10, -1) == 0
    assert edits.neighbour_keyframe(t, 20, 1) is None


def test_split_draws_exactly_what_the_track_drew():
    t = _track(frames=(0, 10, 20, 30))
    a, b = edits.split(t, 15, "face-0002")
    assert (a.id, b.id) == ("face-0001", "face-0002")
    assert a.last_frame == 14 and b.first_frame == 15
    before, after = _drawn(t), _drawn(a, b)
    for f in range(40):
        assert [c for s in before[f] for c in s.bbox] == pytest.approx([c for s in after[f] for c in s.bbox]), f
    with pytest.raises(EditError):
        edits.split(t, 0, "x")


def test_merge_interpolates_or_keeps_the_gap():
    a, b = _track("face-0001", (0, 10)), _track("face-0002", (20, 30))
    joined = edits.merge([b, a], interpolate_gaps=True)
    assert joined.id == "face-0001" and joined.spans() == [(0, 30)]
    assert joined.shape_at(15).bbox == pytest.approx((15, 0, 25, 10))
    gap = edits.merge([a, b], interpolate_gaps=False)
    assert gap.spans() == [(0, 10), (20, 30)] and gap.shape_at(15) is None
    with pytest.raises(EditError):
        edits.merge([a, _track("plate-0001", (40, 50), cls="plate")])
    overlap = edits.merge([a, _track("face-0003", (5, 25))])
    assert overlap.spans() == [(0, 25)] and overlap.keyframe_at(5) is None  # the earlier track wins


def test_set_start_and_end_trim_and_extend_a_span():
    t = _track(frames=(10, 20, 30))
    assert edits.set_start(t, 15).spans() == [(15, 30)]
    assert edits.set_start(t, 4).spans() == [(4, 30)]
    assert edits.set_end(t, 25).spans() == [(10, 25)]
    assert edits.set_end(t, 38).spans() == [(10, 38)]
    # two spans: trimming the second keeps the gap, extending the first stops at the second
    two = edits.merge([_track("face-0001", (0, 10)), _track("face-0002", (20, 30))], interpolate_gaps=False)
    assert edits.set_start(two, 25).spans() == [(0, 10), (25, 30)]
    assert edits.set_end(two, 5).spans() == [(0, 5), (20, 30)]
    assert edits.set_end(two, 15).spans() == [(0, 15), (20, 30)]
    assert edits.set_start(two, 14).spans() == [(0, 10), (14, 30)]


def test_shift_class_review_and_manual_tracks():
    t = _track(frames=(10, 20))
    s = edits.shift(t, -15, frame_count=100)
    assert s.spans() == [(0, 10)]  # clamped to the clip
    assert edits.change_class(t, "plate").cls == "plate"
    m = edits.new_manual_track("manual-0001", Shape.polygon([(0, 0), (10, 0), (5, 8)]), 5, 50, label="logo")
    assert m.spans() == [(5, 50)] and m.review == "approved" and m.cls == "manual"
    assert edits.initial_review(m, 30) == "approved"
    short = _track(frames=(0, 10))
    short.stats = {"max_score": 0.95}
    assert edits.initial_review(short, 30) == "needs_review"  # 11 frames < 1 s
    long = _track(frames=(0, 60))
    long.stats = {"max_score": 0.95}
    assert edits.initial_review(long, 30) == "approved"
    long.stats = {"max_score": 0.3}
    assert edits.initial_review(long, 30) == "needs_review"
    assert edits.is_untouched_auto(long) and not edits.is_untouched_auto(edits.nudge(long, 0, 1, 0))


def test_apply_follow_fits_a_polygon_into_each_box():
    poly = Shape.polygon([(0, 0), (10, 0), (10, 10), (0, 10), (5, 15)])
    t = edits.new_manual_track("manual-0001", poly, 0)
    x0, y0, x1, y1 = poly.bbox
    boxes = {f: (x0 + 2 * f, y0, x1 + 2 * f, y1 + f) for f in range(0, 31)}
    out = edits.apply_follow(t, 0, poly, boxes)
    assert out.spans() == [(0, 30)]
    assert len(out.keyframes) < 10  # reduced, not one per frame
    for f in (7, 19, 30):
        assert out.shape_at(f).bbox == pytest.approx(boxes[f], abs=1.6)
        assert out.shape_at(f).kind == poly.kind and len(out.shape_at(f).points) == 5
    assert out.keyframe_at(0).source == M and {k.source for k in out.keyframes[1:]} == {KeyframeSource.TRACKED}
