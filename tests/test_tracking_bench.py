"""The tracking benchmark's clip generator and its metrics (bench/make_tracking_clips.py, bench/tracking_bench.py)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from app.core.project import Keyframe, Track
from app.detection.detections import Detections

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
SHARED_DATA = ROOT.parent / "shared" / "data"

pytestmark = pytest.mark.slow


def _load(name: str):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # dataclasses look their module up while the file runs
    spec.loader.exec_module(mod)
    return mod


mk = _load("make_tracking_clips")
tb = _load("tracking_bench")

W, H, N = 640, 360, 40


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    for sub in ("faces", "plates", "videos"):
        if not (SHARED_DATA / sub).is_dir():
            pytest.skip(f"shared test media not found: {SHARED_DATA / sub}")
    out = tmp_path_factory.mktemp("tracking_clips")
    # the occlusion clip: 5 objects, two occluder bars, entries from the frame edges
    video, truth_path, truth = mk.make_clip(mk.CLIPS_BY_NAME["t4_lot_occlusion"], out, frames=N, size=(W, H))
    return video, truth_path, truth


def test_clip_and_truth(clip):
    video, truth_path, truth = clip
    assert json.loads(truth_path.read_text()) == truth
    assert truth_path.name == "t4_lot_occlusion.truth.json" and truth_path.parent == video.parent
    with av.open(str(video)) as c:
        s = c.streams.video[0]
        assert (s.width, s.height) == (W, H)
        assert sum(1 for _ in c.decode(s)) == N
    assert len(truth) == N  # one list per frame
    objs = set()
    for boxes in truth:
        assert len({b["obj"] for b in boxes}) == len(boxes)
        for b in boxes:
            objs.add(b["obj"])
            assert b["cls"] in ("face", "plate")
            x1, y1, x2, y2 = b["box"]
            assert 0 <= x1 < x2 <= W and 0 <= y1 < y2 <= H
            assert x2 - x1 >= 4 and y2 - y1 >= 4
            assert mk.MIN_VIS <= b.get("vis", 1.0) <= 1.0
    assert objs == {0, 1, 2, 3, 4}
    assert any(b.get("occluded") for boxes in truth for b in boxes)  # the bars hide things
    assert any(b.get("vis", 1.0) < 1.0 and not b.get("occluded") for boxes in truth for b in boxes)  # edge entry


def test_truth_is_deterministic(clip):
    _video, _tp, truth = clip
    spec = mk.CLIPS_BY_NAME["t4_lot_occlusion"].with_(N, (W, H))
    again = [t for _i, _f, t in mk.render_clip(spec)]
    assert again == truth


def test_metrics_of_the_truth_itself(clip):
    _video, _tp, truth = clip
    m = tb.evaluate(truth, tb.truth_project(truth), W, H)
    assert m.object_frames == sum(len(b) for b in truth)
    assert m.objects == 5 and m.leaks == 0 and m.leak_rate == 0.0
    assert m.toggles == 0 and m.flicker == 0.0
    assert m.fragmentation == 1.0 and m.id_switches == 0
    # the styles' margins draw outside the truth boxes, never inside them only
    assert 20.0 < m.over_redaction < 80.0


def _long_run(truth) -> tuple[int, int]:
    """An object and a frame in the middle of three consecutive frames where it is visible."""
    for f in range(1, len(truth) - 1):
        here = {b["obj"] for b in truth[f]}
        for obj in sorted(here):
            if obj in {b["obj"] for b in truth[f - 1]} and obj in {b["obj"] for b in truth[f + 1]}:
                return obj, f
    raise AssertionError("no object visible on three consecutive frames")


def test_one_missing_mask_is_one_leak_and_one_toggle(clip):
    _video, _tp, truth = clip
    obj, f = _long_run(truth)
    project = tb.truth_project(truth)
    track = next(t for t in project.tracks if t.id.endswith(f"-{obj:04d}"))
    kf = track.keyframe_at(f)
    track.set_keyframe(Keyframe(f, kf.shape, kf.source, visible=False))  # nothing drawn on frame f only
    m = tb.evaluate(truth, project, W, H)
    assert m.leaks == 1 and m.toggles == 1
    assert m.leak_rate == pytest.approx(100.0 / m.object_frames)
    assert m.flicker == pytest.approx(100.0 / m.object_frames)
    assert m.fragmentation == 1.0 and m.id_switches == 0
    assert m.per_object[obj]["leaks"] == 1


def test_a_split_track_is_fragmentation_and_an_id_switch(clip):
    _video, _tp, truth = clip
    obj, f = _long_run(truth)
    project = tb.truth_project(truth)
    track = next(t for t in project.tracks if t.id.endswith(f"-{obj:04d}"))
    before = [k for k in track.keyframes if k.frame < f]
    after = [k for k in track.keyframes if k.frame >= f]
    track.keyframes = before
    project.add_track(Track(id="split-0001", cls=track.cls, keyframes=after))
    m = tb.evaluate(truth, project, W, H)
    assert m.leaks == 0  # frames f-1 and f are keyframes of the two halves: nothing is left bare
    assert m.per_object[obj]["tracks"] == 2
    assert m.fragmentation == pytest.approx((m.objects + 1) / m.objects)
    assert m.id_switches == 1


def test_detector_misses_are_told_apart(clip):
    _video, _tp, truth = clip
    obj, f = _long_run(truth)
    # detections: every truth box on every frame except obj's box on frame f
    dets = {}
    for i, boxes in enumerate(truth):
        keep = [b for b in boxes if not (i == f and b["obj"] == obj)]
        dets[i] = Detections(np.array([b["box"] for b in keep], np.float32).reshape(-1, 4), np.ones(len(keep)),
                             [0 if b["cls"] == "face" else 1 for b in keep], np.full(len(keep), i))
    project = tb.truth_project(truth)
    track = next(t for t in project.tracks if t.id.endswith(f"-{obj:04d}"))
    kf = track.keyframe_at(f)
    track.set_keyframe(Keyframe(f, kf.shape, kf.source, visible=False))
    m = tb.evaluate(truth, project, W, H, detections=dets)
    assert m.undetected == 1 and m.leaks == 1 and m.leaks_seen == 0
    assert m.leak_seen_rate == 0.0 and m.det_miss == pytest.approx(100.0 / m.object_frames)


class _FakeDetector:
    """Two detections per frame: a strong face and a weak one (below the seed score)."""

    def __init__(self):
        self.calls = []

    def seed_scores(self):
        return {0: 0.5, 1: 0.5}

    def detect(self, frames, frame_indices=None, low=False):
        self.calls.append((list(frame_indices), low))
        n = len(frame_indices)
        frame = np.repeat(np.asarray(frame_indices), 2)
        d = Detections(np.tile([[0, 0, 10, 10], [20, 20, 30, 30]], (n, 1)), np.tile([0.9, 0.3], n), np.zeros(2 * n),
                       frame)
        return d if low else d[d.score >= 0.5]

    def describe(self):
        return "fake"


def test_caching_detector_detects_each_frame_once():
    fake = _FakeDetector()
    cached = tb.CachingDetector(fake)
    frames = [np.zeros((4, 4, 3), np.uint8)] * 4
    a = cached.detect(frames, [0, 1, 2, 3], low=True)
    b = cached.detect(frames, [0, 1, 2, 3])  # low=False: filtered to the seed score, from the cache
    c = cached.detect(frames[:2], [4, 5], low=True)
    assert fake.calls == [([0, 1, 2, 3], True), ([4, 5], True)]
    assert len(a) == 8 and len(b) == 4 and (b.score >= 0.5).all() and len(c) == 4
    assert cached.describe() == "fake"
