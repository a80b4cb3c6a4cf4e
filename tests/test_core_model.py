"""Domain model: time base, shapes, styles, track interpolation semantics and the project."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from app.core import (
    DEFAULT_STYLES,
    Keyframe,
    KeyframeSource,
    MediaRef,
    Project,
    RedactionMethod,
    RedactionStyle,
    Shape,
    ShapeKind,
    Track,
    frame_time,
    lerp_shape,
    seconds_to_frame,
    timecode,
)

NTSC = Fraction(30000, 1001)


def rect_kf(frame: int, x: float, visible: bool = True, **kw) -> Keyframe:
    """A 10x10 square at (x, 0)."""
    return Keyframe(frame, Shape.rect(x, 0, x + 10, 10), visible=visible, **kw)


# --- timebase ------------------------------------------------------------------------------------


def test_frame_time_is_exact_fraction():
    assert frame_time(0, NTSC) == 0
    assert frame_time(30000, NTSC) == Fraction(1001)
    assert isinstance(frame_time(7, Fraction(25)), Fraction)


@pytest.mark.parametrize("fps", [NTSC, Fraction(25), Fraction(24000, 1001), Fraction(60)])
def test_seconds_to_frame_inverts_frame_time(fps):
    for n in [0, 1, 2, 29, 30, 1000, 107_892, 10**7 + 3]:
        assert seconds_to_frame(frame_time(n, fps), fps) == n
        # just before the next frame starts is still frame n
        assert seconds_to_frame(frame_time(n + 1, fps) - Fraction(1, 10**9), fps) == n


def test_seconds_to_frame_floors():
    assert seconds_to_frame(Fraction(1, 2), Fraction(25)) == 12
    assert seconds_to_frame(Fraction(0), NTSC) == 0


def test_timecode_non_drop():
    assert timecode(0, Fraction(25)) == "00:00:00:00"
    assert timecode(24, Fraction(25)) == "00:00:00:24"
    assert timecode(25, Fraction(25)) == "00:00:01:00"
    assert timecode(25 * 3661 + 7, Fraction(25)) == "01:01:01:07"
    # 29.97 counts 30 frames per timecode second
    assert timecode(30, NTSC) == "00:00:01:00"
    assert timecode(30 * 60 * 60, NTSC) == "01:00:00:00"


def test_timebase_rejects_bad_fps():
    with pytest.raises(ValueError):
        frame_time(1, Fraction(0))
    with pytest.raises(ValueError):
        timecode(-1, Fraction(25))


# --- shapes --------------------------------------------------------------------------------------


def test_rect_is_normalised_and_has_geometry():
    s = Shape.rect(30, 40, 10, 0)
    assert s.kind is ShapeKind.RECT
    assert s.points == ((10.0, 0.0), (30.0, 40.0))
    assert s.bbox == (10, 0, 30, 40)
    assert (s.width, s.height, s.center) == (20, 40, (20, 20))
    assert s.translated(5, -5).bbox == (15, -5, 35, 35)


def test_polygon_bbox_and_with_bbox_scales_points():
    tri = Shape.polygon([(0, 0), (10, 0), (0, 20)])
    assert tri.bbox == (0, 0, 10, 20)
    moved = tri.with_bbox(100, 100, 120, 110)
    assert moved.kind is ShapeKind.POLYGON
    assert moved.points == ((100, 100), (120, 100), (100, 110))
    assert Shape.ellipse(0, 0, 4, 4).with_bbox(1, 2, 3, 4) == Shape.ellipse(1, 2, 3, 4)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Shape.rect(0, 0, math.nan, 1),
        lambda: Shape.rect(0, 0, math.inf, 1),
        lambda: Shape.ellipse(0, 0, "a", 1),
        lambda: Shape.polygon([(0, 0), (1, 1)]),
        lambda: Shape(ShapeKind.RECT, ((0, 0), (1, 1), (2, 2))),
        lambda: Shape("circle", ((0, 0), (1, 1))),
        lambda: Shape(ShapeKind.POLYGON, ((0, 0), (1,), (2, 2))),
    ],
)
def test_invalid_shapes_raise_value_error(make):
    with pytest.raises(ValueError):
        make()


def test_shape_dict_round_trip():
    for s in [Shape.rect(1, 2, 3, 4), Shape.ellipse(0.5, 0, 9, 9), Shape.polygon([(0, 0), (4, 1), (2, 5)])]:
        d = s.to_dict()
        assert d["kind"] == s.kind.value
        assert Shape.from_dict(d) == s


def test_lerp_same_kind_is_pointwise():
    a, b = Shape.rect(0, 0, 10, 10), Shape.rect(10, 20, 30, 50)
    assert lerp_shape(a, b, 0.0) == a
    assert lerp_shape(a, b, 1.0) == b
    assert lerp_shape(a, b, 0.5).bbox == (5, 10, 20, 30)


def test_lerp_polygons_same_count_pointwise():
    a = Shape.polygon([(0, 0), (10, 0), (0, 10)])
    b = Shape.polygon([(10, 10), (30, 10), (10, 30)])
    mid = lerp_shape(a, b, 0.25)
    assert mid.points == ((2.5, 2.5), (15.0, 2.5), (2.5, 15.0))


def test_lerp_polygons_different_counts_interpolates_bbox_keeping_a():
    a = Shape.polygon([(0, 0), (10, 0), (0, 10)])
    b = Shape.polygon([(100, 100), (120, 100), (120, 120), (100, 120)])
    mid = lerp_shape(a, b, 0.5)
    assert len(mid.points) == 3
    assert mid.bbox == (50, 50, 65, 65)
    assert mid.points == ((50, 50), (65, 50), (50, 65))


def test_lerp_different_kinds_steps():
    a, b = Shape.rect(0, 0, 1, 1), Shape.ellipse(5, 5, 9, 9)
    assert lerp_shape(a, b, 0.9) is a


# --- style ---------------------------------------------------------------------------------------


def test_style_defaults_and_class_defaults():
    s = RedactionStyle()
    assert (s.method, s.strength, s.margin, s.feather, s.color) == (
        RedactionMethod.GAUSSIAN,
        80,
        20,
        10,
        (0, 0, 0),
    )
    assert DEFAULT_STYLES["face"].margin == 20
    assert (DEFAULT_STYLES["plate"].margin, DEFAULT_STYLES["plate"].feather) == (10, 5)
    assert all(st.irreversible for st in DEFAULT_STYLES.values())
    assert not RedactionStyle(strength=70).irreversible and RedactionStyle(method=RedactionMethod.SOLID, strength=0).irreversible
    assert (DEFAULT_STYLES["manual"].margin, DEFAULT_STYLES["manual"].feather) == (0, 0)


@pytest.mark.parametrize(
    "kw",
    [
        {"strength": 101},
        {"strength": -1},
        {"margin": 201},
        {"feather": math.nan},
        {"color": (0, 0, 256)},
        {"color": (0, 0)},
        {"color": (0.5, 0, 0)},
        {"method": "smudge"},
    ],
)
def test_style_validation(kw):
    with pytest.raises(ValueError):
        RedactionStyle(**kw)


def test_style_replace_and_dict_round_trip():
    s = RedactionStyle().replace(method=RedactionMethod.SOLID, color=(255, 0, 10))
    assert s.method is RedactionMethod.SOLID and s.strength == 80
    assert RedactionStyle.from_dict(s.to_dict()) == s
    with pytest.raises(ValueError):
        s.replace(margin=-5)


# --- track interpolation semantics ---------------------------------------------------------------


def test_shape_at_outside_keyframes_is_none():
    t = Track("t", "face", [rect_kf(10, 0), rect_kf(20, 100)])
    assert t.shape_at(9) is None
    assert t.shape_at(21) is None
    assert t.shape_at(10) == Shape.rect(0, 0, 10, 10)
    assert t.shape_at(20) == Shape.rect(100, 0, 110, 10)
    assert (t.first_frame, t.last_frame) == (10, 20)


def test_shape_at_interpolates_between_visible_keyframes():
    t = Track("t", "face", [rect_kf(10, 0), rect_kf(20, 100)])
    assert t.shape_at(15).bbox == (50, 0, 60, 10)
    assert t.shape_at(11).bbox == pytest.approx((10, 0, 20, 10))


def test_visible_then_invisible_holds_shape_without_interpolating():
    t = Track("t", "face", [rect_kf(0, 0), rect_kf(10, 500, visible=False)])
    for f in range(0, 10):
        assert t.shape_at(f) == Shape.rect(0, 0, 10, 10)
    assert t.shape_at(10) is None


def test_invisible_keyframe_ends_span_until_next_visible():
    t = Track("t", "face", [rect_kf(0, 0), rect_kf(5, 0, visible=False), rect_kf(10, 20), rect_kf(12, 40)])
    assert t.shape_at(4) is not None
    assert [t.shape_at(f) for f in range(5, 10)] == [None] * 5
    assert t.shape_at(10).bbox == (20, 0, 30, 10)
    assert t.shape_at(11).bbox == (30, 0, 40, 10)
    assert t.spans() == [(0, 4), (10, 12)]


def test_spans_match_shape_at_everywhere():
    kfs = [
        rect_kf(3, 0),
        rect_kf(4, 0, visible=False),
        rect_kf(6, 0, visible=False),
        rect_kf(8, 0),
        rect_kf(12, 0),
        rect_kf(13, 0, visible=False),
        rect_kf(20, 0),
    ]
    t = Track("t", "face", kfs)
    brute = [f for f in range(0, 30) if t.shape_at(f) is not None]
    from_spans = [f for a, b in t.spans() for f in range(a, b + 1)]
    assert from_spans == brute
    assert t.spans() == [(3, 3), (8, 12), (20, 20)]


def test_spans_edge_cases():
    assert Track("t", "face").spans() == []
    assert Track("t", "face", [rect_kf(7, 0)]).spans() == [(7, 7)]
    assert Track("t", "face", [rect_kf(7, 0, visible=False)]).spans() == []


def test_keyframes_sorted_unique_and_cache_follows_edits():
    t = Track("t", "face", [rect_kf(20, 100), rect_kf(10, 0)])
    assert [k.frame for k in t.keyframes] == [10, 20]
    assert t.shape_at(30) is None
    t.set_keyframe(rect_kf(30, 200))  # extend
    assert t.shape_at(25).bbox == (150, 0, 160, 10)
    t.set_keyframe(rect_kf(20, 0, source=KeyframeSource.MANUAL))  # replace
    assert len(t.keyframes) == 3
    assert t.keyframe_at(20).source is KeyframeSource.MANUAL
    assert t.shape_at(15).bbox == (0, 0, 10, 10)
    removed = t.remove_keyframe(30)
    assert removed is not None and removed.frame == 30
    assert t.shape_at(25) is None and t.last_frame == 20
    assert t.remove_keyframe(999) is None
    t.keyframes = [rect_kf(1, 0)]
    assert t.shape_at(20) is None and t.shape_at(1) is not None


def test_keyframes_cannot_be_mutated_behind_the_cache():
    t = Track("t", "face", [rect_kf(0, 0)])
    with pytest.raises(AttributeError):
        t.keyframes.append(rect_kf(5, 0))  # type: ignore[attr-defined]


def test_track_rejects_duplicate_frames_and_bad_fields():
    with pytest.raises(ValueError, match="two keyframes at frame 3"):
        Track("t", "face", [rect_kf(3, 0), rect_kf(3, 5)])
    with pytest.raises(ValueError):
        Track("t", "face", review="maybe")
    with pytest.raises(ValueError):
        Track("", "face")
    with pytest.raises(ValueError):
        Keyframe(-1, Shape.rect(0, 0, 1, 1))
    with pytest.raises(ValueError):
        Keyframe(0, Shape.rect(0, 0, 1, 1), score=math.nan)


def test_max_score():
    t = Track("t", "face", [rect_kf(0, 0, score=0.5), rect_kf(1, 0), rect_kf(2, 0, score=0.9)])
    assert t.max_score == 0.9
    assert Track("u", "face", [rect_kf(0, 0)]).max_score is None


# --- project -------------------------------------------------------------------------------------


def make_project() -> Project:
    p = Project(media=MediaRef("/v/in.mp4", 1920, 1080, NTSC, 300))
    p.add_track(Track("face-0001", "face", [rect_kf(0, 0), rect_kf(10, 100)]))
    p.add_track(Track("plate-0001", "plate", [rect_kf(5, 0), rect_kf(15, 0)]))
    custom = RedactionStyle(method=RedactionMethod.SOLID, color=(255, 255, 255), margin=0)
    p.add_track(Track("manual-0001", "manual", [rect_kf(0, 0), rect_kf(20, 0)], style=custom))
    return p


def test_project_track_management():
    p = make_project()
    assert p.track("plate-0001").cls == "plate"
    assert p.track("nope") is None
    with pytest.raises(ValueError, match="already exists"):
        p.add_track(Track("face-0001", "face"))
    assert p.new_track_id("face") == "face-0002"
    p.add_track(Track("face-0007", "face"))
    assert p.new_track_id("face") == "face-0008"
    assert p.new_track_id("hand") == "hand-0001"
    assert p.remove_track("face-0007").id == "face-0007"
    with pytest.raises(ValueError):
        p.remove_track("face-0007")


def test_style_for_precedence():
    p = make_project()
    face, plate, manual = p.tracks
    assert p.style_for(face) == DEFAULT_STYLES["face"]
    p.styles["face"] = RedactionStyle(method=RedactionMethod.PIXELATE)
    assert p.style_for(face).method is RedactionMethod.PIXELATE
    assert p.style_for(manual) is manual.style
    assert p.style_for(Track("x", "tattoo")) == RedactionStyle()


def test_project_styles_are_copied_from_defaults():
    p = Project()
    p.styles["face"] = RedactionStyle(margin=50)
    assert DEFAULT_STYLES["face"].margin == 20
    assert Project().styles == DEFAULT_STYLES


def test_masks_at_respects_enabled_flag_and_styles():
    p = make_project()
    got = {t.id: (shape, style) for t, shape, style in p.masks_at(7)}
    assert set(got) == {"face-0001", "plate-0001", "manual-0001"}
    assert got["face-0001"][0].bbox == (70, 0, 80, 10)
    assert got["face-0001"][1] == DEFAULT_STYLES["face"]
    assert got["plate-0001"][1] == DEFAULT_STYLES["plate"]
    assert got["manual-0001"][1].method is RedactionMethod.SOLID

    p.track("plate-0001").enabled = False
    assert {t.id for t, _, _ in p.masks_at(7)} == {"face-0001", "manual-0001"}
    assert {t.id for t, _, _ in p.masks_at(18)} == {"manual-0001"}
    assert p.masks_at(21) == []


def test_copy_is_independent():
    p = make_project()
    snap = p.copy()
    assert snap == p
    p.track("face-0001").set_keyframe(rect_kf(5, 999))
    p.track("plate-0001").enabled = False
    p.styles["face"] = RedactionStyle(margin=0)
    p.meta["x"] = 1
    assert snap != p
    assert snap.track("face-0001").shape_at(5).bbox == (50, 0, 60, 10)
    assert snap.track("plate-0001").enabled
    assert snap.styles["face"] == DEFAULT_STYLES["face"]
    assert snap.meta == {}


def test_media_ref_validation():
    assert MediaRef("a.mp4", 2, 2, "30000/1001", 0).fps == NTSC
    for bad in [
        dict(width=0),
        dict(fps=Fraction(0)),
        dict(fps="abc"),
        dict(frame_count=-1),
        dict(sha256="xyz"),
    ]:
        kw = dict(path="a.mp4", width=2, height=2, fps=NTSC, frame_count=1) | bad
        with pytest.raises(ValueError):
            MediaRef(**kw)


def test_masks_at_is_fast_enough_for_export():
    """200 tracks x 2000 keyframes each; evaluating every track on a frame must be cheap."""
    import time

    p = Project()
    keyframes = [rect_kf(f, f % 50) for f in range(0, 4000, 2)]  # immutable: safe to share
    for i in range(200):
        p.add_track(Track(f"face-{i:04d}", "face", keyframes))
    start = time.perf_counter()
    n = 0
    for frame in range(0, 4000, 7):
        n += len(p.masks_at(frame))
    elapsed = time.perf_counter() - start
    assert n == 200 * len(range(0, 4000, 7))
    assert elapsed < 5.0  # ~115k shape_at calls; generous bound for slow CI
