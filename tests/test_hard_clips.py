"""The tracking bench's hard clips (bench/tracking_scenes.py HARD_CLIPS, rendered by
bench/make_tracking_clips.py): occluders without truth of their own, rotation, motion blur, low
light; real shared photos and footage, exact truth."""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
SHARED_DATA = ROOT.parent / "shared" / "data"

pytestmark = pytest.mark.slow


def _load(name: str):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


mk = _load("make_tracking_clips")


@pytest.fixture(scope="module", autouse=True)
def _shared():
    for sub in ("faces", "plates", "videos"):
        if not (SHARED_DATA / sub).is_dir():
            pytest.skip(f"shared test media not found: {SHARED_DATA / sub}")


def _truth(name: str, frames: int, size=(640, 360)):
    spec = mk.CLIPS_BY_NAME[name].with_(frames, size)
    return spec, [(i, f, t) for i, f, t in mk.render_clip(spec)]


def test_hard_clips_are_listed_and_one_is_held_out():
    names = [c.name for c in mk.HARD_CLIPS]
    assert len(names) == 5 and mk.HELD_OUT in names
    assert all(n in mk.CLIPS_BY_NAME for n in names)
    held = mk.CLIPS_BY_NAME[mk.HELD_OUT]
    assert all(o.sprite is None for o in held.objects), "the held-out clip draws its sprites unfiltered"


def test_occluder_hides_a_face_for_about_a_second_and_has_no_truth():
    spec, frames = _truth("h1_occluders", 175)
    seen = [any(e["obj"] == 0 for e in t) for _i, _f, t in frames]
    assert not any(e["obj"] in (1, 5) for _i, _f, t in frames for e in t), "an occluder got a truth entry"
    first_gap = seen.index(False)
    back = seen.index(True, first_gap)
    gap = back - first_gap
    assert all(seen[:first_gap]) and 15 <= gap <= 40, (first_gap, gap)  # ~1 s at 25 fps
    assert sum(seen[back:]) == len(seen) - back, "the face comes back and stays"
    # around the gap the truth says it is partly hidden
    near = [e for _i, _f, t in frames[first_gap - 4 : first_gap] for e in t if e["obj"] == 0]
    assert near and all(e.get("occluded") for e in near)


def test_rotation_turns_the_truth_box_with_the_face():
    sprite = mk.pick_sprites(mk.CLIPS_BY_NAME["h2_pose_blur"], SHARED_DATA)[1]
    bw, bh = sprite.box[2] - sprite.box[0], sprite.box[3] - sprite.box[1]
    flat = mk._place(sprite, 300, 200, 100, 640, 360, 0.0)
    quarter = mk._place(sprite, 300, 200, 100, 640, 360, 90.0)
    w0, h0 = flat.box[2] - flat.box[0], flat.box[3] - flat.box[1]
    w1, h1 = quarter.box[2] - quarter.box[0], quarter.box[3] - quarter.box[1]
    assert abs(h0 - 100) < 1e-6 and abs(w0 - 100 * bw / bh) < 1e-6
    assert abs(w1 - h0) < 1e-6 and abs(h1 - w0) < 1e-6  # a quarter turn swaps the extent
    ys, xs = np.nonzero(quarter.alpha > 0.99)  # the opaque face itself lies inside that extent, turned
    cx = quarter.x0 + (xs.min() + xs.max() + 1) / 2
    cy = quarter.y0 + (ys.min() + ys.max() + 1) / 2
    assert math.hypot(cx - 300, cy - 200) < 2.0


def test_motion_blur_smears_along_the_motion():
    sprite = mk.pick_sprites(mk.CLIPS_BY_NAME["h2_pose_blur"], SHARED_DATA)[2]
    layer = mk._place(sprite, 300, 180, 80, 640, 360)
    blurred = mk._motion_blur(layer, 20.0, 0.0, 640, 360)
    assert blurred.alpha.shape[1] > layer.alpha.shape[1] and blurred.box == layer.box
    def soft(a):  # pixels of the middle row that are neither clear nor opaque: the edges' width
        row = a[a.shape[0] // 2]
        return int(((row > 0.05) & (row < 0.95)).sum())

    assert soft(blurred.alpha) >= soft(layer.alpha) + 20  # a 20 px smear: each edge ramps >= 10 px wider
    assert abs(blurred.alpha.sum() - layer.alpha.sum()) / layer.alpha.sum() < 0.02  # same coverage, spread


def test_low_light_noise_and_determinism():
    spec = mk.CLIPS_BY_NAME["h4_night_crf34"].with_(8, (320, 176))
    bright = dataclasses.replace(spec, light=1.0, noise=0.0)
    a = [f for _i, f, _t in mk.render_clip(spec)]
    b = [f for _i, f, _t in mk.render_clip(spec)]
    c = [f for _i, f, _t in mk.render_clip(bright)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert np.mean(a[4]) < 0.45 * np.mean(c[4])
    assert spec.crf == 34
