"""Tracking: the ByteTrack-style tracker and the redaction-safe track building.

Unit tests feed the tracking layer synthetic detections (known truth); the pipeline tests at the
end run the real detector on real encoded video.
"""

from __future__ import annotations

import os
from fractions import Fraction

import av
import numpy as np
import pytest

from app.core.keyframes import reduce_boxes
from app.core.project import Project
from app.detection.detections import Detections
from app.tracking.build_tracks import BuildParams, build, link_leftovers, merge_passes
from app.tracking.bytetrack import ByteTracker, KalmanBox, TrackerParams

FACE = 0


def _run(tracker: ByteTracker, frames: list[int], dets: Detections) -> list[list[int]]:
    for f in frames:
        sel = np.nonzero(dets.frame == f)[0]
        tracker.update(f, dets.xyxy[sel], dets.score[sel], [int(i) for i in sel])
    return tracker.result()


def _dets(rows) -> Detections:
    """rows: (frame, x1, y1, x2, y2, score)."""
    a = np.array(rows, np.float64).reshape(-1, 6)
    return Detections(a[:, 1:5], a[:, 5], np.zeros(len(a)), a[:, 0].astype(int))


def _moving(n, x0=100.0, vx=6.0, y=80.0, size=60.0, score=0.9, start=0):
    return [(start + i, x0 + vx * i, y, x0 + vx * i + size, y + size, score) for i in range(n)]


# -- Kalman + association ----------------------------------------------------------------------
def test_kalman_follows_constant_velocity():
    kf = KalmanBox(np.array([0, 0, 50, 50], np.float32))
    for i in range(1, 15):
        kf.predict()
        kf.update(np.array([10 * i, 0, 10 * i + 50, 50], np.float32))
    kf.predict()
    assert abs(kf.box[0] - 150) < 3  # predicts the next position, not the last one


def test_two_crossing_objects_keep_their_ids():
    a = _moving(40, x0=50, vx=8, y=100)
    b = _moving(40, x0=370, vx=-8, y=100 + 45)  # crosses a around frame 20 with partial overlap
    dets = _dets(a + b)
    tracks = _run(ByteTracker(), list(range(40)), dets)
    assert len(tracks) == 2
    for t in tracks:
        xs = dets.xyxy[t, 0]
        frames = dets.frame[t]
        order = np.argsort(frames)
        steps = np.diff(xs[order])
        assert (steps > 0).all() or (steps < 0).all(), "a track switched identity at the crossing"


def test_low_score_detections_extend_a_track_but_never_start_one():
    rows = _moving(10, score=0.9) + [(10 + i, 160 + 6 * i, 80, 220 + 6 * i, 140, 0.2) for i in range(5)]
    rows += [(3, 500, 300, 540, 340, 0.2)]  # a lone weak detection: not a track
    dets = _dets(rows)
    tracks = _run(ByteTracker(), list(range(15)), dets)
    assert len(tracks) == 1
    assert sorted(dets.frame[tracks[0]].tolist()) == list(range(15))


# -- track building ----------------------------------------------------------------------------
def _built(rows, params=None, cuts=()):
    dets = _dets(rows)
    p = params or BuildParams(frame_count=1000)
    return build(list(range(len(dets))), dets.frame, dets.xyxy, dets.score, FACE, list(cuts), p), dets


def test_gap_fill_interpolates_short_gaps_and_splits_long_ones():
    rows = [r for r in _moving(40) if not (10 <= r[0] < 18)]  # an 8-frame gap
    b, _ = _built(rows, BuildParams(max_gap=10, hold=0, pre_hold=0, smooth_radius=0, frame_count=1000))
    assert b.spans == [(0, 39)]
    assert not b.observed[12] and len(b.frames) == 40
    np.testing.assert_allclose(b.boxes[list(b.frames).index(14), 0], 100 + 6 * 14, atol=0.01)
    rows = [r for r in _moving(60) if not (10 <= r[0] < 40)]  # a 30-frame gap: two spans
    b, _ = _built(rows, BuildParams(max_gap=10, hold=3, pre_hold=0, smooth_radius=0, frame_count=1000))
    assert b.spans == [(0, 12), (40, 62)]  # each span is held 3 frames past its last sighting


def test_hold_follows_the_motion_and_grows():
    b, _ = _built(_moving(20), BuildParams(hold=5, pre_hold=0, smooth_radius=0, hold_growth=0.05, frame_count=1000))
    assert b.spans == [(0, 24)]
    last, held = b.boxes[19], b.boxes[24]
    c_last, c_held = (last[0] + last[2]) / 2, (held[0] + held[2]) / 2
    assert c_held - c_last == pytest.approx(5 * 6, abs=0.5)  # kept moving at 6 px/frame
    assert (held[2] - held[0]) > (last[2] - last[0]) * 1.4


def test_scene_cut_ends_the_span_and_stops_the_hold():
    b, _ = _built(_moving(20), BuildParams(hold=8, pre_hold=4, frame_count=1000), cuts=[22])
    assert b.spans == [(0, 21)]  # hold stopped at the cut (frame 22 starts a new shot)
    rows = _moving(20) + _moving(20, start=30)
    b, _ = _built(rows, BuildParams(max_gap=20, hold=2, pre_hold=2, frame_count=1000), cuts=[25])
    assert len(b.spans) == 2 and b.spans[0][1] < 25 <= b.spans[1][0]


def test_smoothing_has_no_lag_and_contains_every_detection():
    rng = np.random.default_rng(1)
    rows = [(f, x1 + rng.normal(0, 2), y1 + rng.normal(0, 2), x2 + rng.normal(0, 2), y2 + rng.normal(0, 2), s)
            for f, x1, y1, x2, y2, s in _moving(60, vx=15)]
    b, dets = _built(rows, BuildParams(hold=0, pre_hold=0, frame_count=1000))
    centre = (b.boxes[:, 0] + b.boxes[:, 2]) / 2
    truth = 100 + 15 * np.arange(60) + 30
    assert np.abs(centre - truth).max() < 4  # a causal filter would trail by ~2 frames x 15 px
    for i in range(len(dets)):
        f = int(dets.frame[i])
        box = b.boxes[list(b.frames).index(f)]
        d = dets.xyxy[i]
        assert box[0] <= d[0] + 1e-6 and box[1] <= d[1] + 1e-6 and box[2] >= d[2] - 1e-6 and box[3] >= d[3] - 1e-6


def test_back_fill_backward_pass_extends_a_track_over_weak_early_detections():
    # A face walks in: weak (0.2) for 8 frames, then confident. The forward tracker can't start on
    # weak detections; the backward pass, starting from the confident ones, claims them.
    rows = [(i, 6 * i, 80, 6 * i + 60, 140, 0.2) for i in range(8)] + _moving(20, x0=48, start=8)
    dets = _dets(rows)
    frames = list(range(28))
    forward = _run(ByteTracker(), frames, dets)
    assert min(dets.frame[forward[0]]) == 8
    back = ByteTracker()
    for f in reversed(frames):
        sel = np.nonzero(dets.frame == f)[0]
        back.update(f, dets.xyxy[sel], dets.score[sel], [int(i) for i in sel])
    merged = merge_passes(forward, back.result(), dets.frame)
    assert len(merged) == 1 and sorted(dets.frame[merged[0]].tolist()) == frames
    b = build(merged[0], dets.frame, dets.xyxy, dets.score, FACE, [], BuildParams(pre_hold=0, frame_count=100))
    assert b.spans[0][0] == 0  # the track starts at the first sighting


def test_no_detection_is_dropped():
    """Every detection at or above the seed score ends up covered by some built track."""
    rng = np.random.default_rng(7)
    rows = _moving(30)
    for f in rng.integers(0, 30, 12):
        x, y = rng.uniform(0, 500, 2)
        rows.append((int(f), x, y, x + 40, y + 40, 0.35))
    dets = _dets(rows)
    forward = _run(ByteTracker(TrackerParams(high_thresh=0.5)), list(range(30)), dets)
    used = {d for t in forward for d in t}
    leftovers = [i for i in range(len(dets)) if i not in used and dets.score[i] >= 0.3]
    groups = forward + link_leftovers(leftovers, dets.frame, dets.xyxy, 15)
    built = [build(g, dets.frame, dets.xyxy, dets.score, FACE, [], BuildParams(frame_count=100)) for g in groups]
    for i in range(len(dets)):
        f, d = int(dets.frame[i]), dets.xyxy[i]
        covered = False
        for b in built:
            if f in set(b.frames.tolist()):
                box = b.boxes[list(b.frames).index(f)]
                covered |= bool(box[0] <= d[0] + 1e-6 and box[1] <= d[1] + 1e-6 and box[2] >= d[2] - 1e-6
                                and box[3] >= d[3] - 1e-6)
        assert covered, f"detection {i} at frame {f} was dropped"


# -- dense to sparse -----------------------------------------------------------------------------
@pytest.mark.parametrize("tol", [0.5, 1.5, 4.0])
def test_keyframe_reduction_reproduces_dense_boxes_within_tolerance(tol):
    rng = np.random.default_rng(3)
    f = np.arange(300)
    x = 200 + 150 * np.sin(f / 40.0) + rng.normal(0, 0.3, len(f))
    boxes = np.stack([x, 100 + f * 0.5, x + 80 + 10 * np.sin(f / 25.0), 200 + f * 0.5], axis=1)
    keep = reduce_boxes(f, boxes, tol)
    assert keep[0] == 0 and keep[-1] == len(f) - 1
    interp = np.stack([np.interp(f, f[keep], boxes[keep, k]) for k in range(4)], axis=1)
    assert np.abs(interp - boxes).max() <= tol + 1e-9
    if tol >= 1.5:
        assert len(keep) < len(f) / 4  # a handful, not hundreds


def test_built_keyframes_contain_the_dense_boxes():
    """Through the project: interpolating the stored keyframes never draws a box smaller than dense."""
    from app.pipelines.analyze import apply_tracks

    rng = np.random.default_rng(5)
    rows = [(fr, x1 + rng.normal(0, 1.5), y1, x2 + rng.normal(0, 1.5), y2, s) for fr, x1, y1, x2, y2, s in _moving(90, vx=4)]
    b, dets = _built(rows, BuildParams(hold=3, pre_hold=0, frame_count=1000))
    project = Project()
    apply_tracks(project, [b])
    (track,) = project.tracks
    assert len(track.keyframes) < 30
    for i, fr in enumerate(b.frames):
        x1, y1, x2, y2 = track.shape_at(int(fr)).bbox
        d = b.boxes[i]
        assert x1 <= d[0] + 1e-6 and y1 <= d[1] + 1e-6 and x2 >= d[2] - 1e-6 and y2 >= d[3] - 1e-6
        assert max(d[0] - x1, d[1] - y1, x2 - d[2], y2 - d[3]) <= max(2.0, 0.05 * 60) + 1e-6
    assert track.stats["detected_share"] == pytest.approx(90 / 93, abs=1e-3)


# -- the pipeline on real video ----------------------------------------------------------------
def _write_clip(path: str, n: int, w: int = 320, h: int = 240, moving_face=None) -> None:
    rng = np.random.default_rng(0)
    bg = rng.integers(60, 200, (h, w, 3), dtype=np.uint8)
    out = av.open(path, "w")
    vs = out.add_stream("libx264", rate=Fraction(25))
    vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
    vs.codec_context.options = {"preset": "ultrafast", "crf": "23"}
    for i in range(n):
        img = np.roll(bg, i, axis=1)
        if moving_face is not None:
            fh, fw = moving_face.shape[:2]
            x = int((w - fw) * (0.5 + 0.4 * np.sin(i / 15)))
            img = img.copy()
            img[20 : 20 + fh, x : x + fw] = moving_face
        f = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="bgr24")
        f.pts = i
        out.mux(vs.encode(f))
    out.mux(vs.encode(None))
    out.close()


@pytest.fixture(scope="module")
def detector():
    from app.detection.detector import Detector, DetectorConfig

    return Detector(DetectorConfig(device="cpu", plates=False))


@pytest.fixture(scope="module")
def face_crop():
    from app.media.sample import render_frames

    for i, frame, truth in render_frames():
        if i == 60:
            x1, y1, x2, y2 = (int(v) for v in truth[0]["box"])
            import cv2

            crop = frame[max(0, y1 - 20) : y2 + 10, max(0, x1 - 15) : x2 + 15]
            return cv2.resize(crop, (110, 130))
    raise AssertionError


def test_cancel_mid_run_leaves_the_project_unchanged(tmp_path, detector, face_crop):
    from app.base.progress import CancelToken, run
    from app.jobs.analysis import analysis_job, apply_analysis
    from app.media.facts import open_media
    from tests.analysis_helpers import analyse_into, progress_only

    clip = str(tmp_path / "c.mp4")
    _write_clip(clip, 120, moving_face=face_crop)
    project = Project()
    # a first full run, then a cancelled re-run on the same project
    analyse_into(project, clip, detector, stride=2)
    before = [(t.id, t.keyframes) for t in project.tracks]
    assert before
    cancel = CancelToken()
    gen = analysis_job(open_media(clip), detector, cancel=cancel)
    next(progress_only(gen))
    cancel.cancel()
    res = run(gen)
    assert res.cancelled
    apply_analysis(project, res)
    assert [(t.id, t.keyframes) for t in project.tracks] == before


@pytest.mark.slow
def test_memory_stays_flat_over_a_long_clip(tmp_path, detector):
    """3,000 frames: the resident memory at the end is within a few MB of where it was at 1/3."""
    from app.pipelines.analyze import analyze

    clip = str(tmp_path / "long.mp4")
    _write_clip(clip, 3000, 320, 240)

    def rss_mb() -> float:
        with open(f"/proc/{os.getpid()}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    samples = []
    gen = analyze(clip, detector, stride=10)
    for p in gen:
        if p.total and p.done:
            samples.append((p.done, rss_mb()))
    third = [m for d, m in samples if d >= 1000][0]
    end = samples[-1][1]
    assert samples[-1][0] == 3000
    assert end - third < 25, f"memory grew from {third:.0f} MB to {end:.0f} MB"
