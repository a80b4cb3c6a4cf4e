"""The detection scheduler (app/pipelines/schedule.py) and the detector's passes, on real media
with the real models: the sample clip (1280x720, exact truth) and frames of it."""

from __future__ import annotations

import json

import av
import numpy as np
import pytest

from app.base.progress import run
from app.detection.detections import CLASS_IDS, box_iou
from app.detection.detector import Detector, DetectorConfig
from app.pipelines.analyze import analyze
from app.pipelines.schedule import Planner, Schedule
from tests.test_analyze import cut_clip

FRAMES = 48


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(DetectorConfig(device="cpu"))


@pytest.fixture(scope="module")
def clip(sample_clip, tmp_path_factory):
    path, _tp, truth = sample_clip
    out = cut_clip(path, tmp_path_factory.mktemp("schedule") / "cut.mp4", FRAMES)
    return out, truth[:FRAMES]


def first_frames(path, n: int) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="bgr24") for _, f in zip(range(n), c.decode(video=0), strict=False)]


def covered(result, truth) -> list[tuple[int, str]]:
    """(frame, class) of truth boxes no built track covers at IoU >= 0.5 (box of the track at that frame)."""
    misses = []
    for f, boxes in enumerate(truth):
        for b in boxes:
            cid = CLASS_IDS[b["cls"]]
            best = 0.0
            for t in result.built:
                if t.class_id != cid:
                    continue
                k = np.nonzero(t.frames == f)[0]
                if len(k):
                    best = max(best, float(box_iou(np.array([b["box"]], np.float32),
                                                   t.boxes[k[:1]].astype(np.float32))[0, 0]))
            if best < 0.5:
                misses.append((f, b["cls"]))
    return misses


@pytest.mark.slow
def test_fast_schedule_runs_few_fine_passes_and_covers_every_truth_box(clip, detector):
    path, truth = clip
    fast = run(analyze(str(path), detector, schedule=Schedule()))
    assert fast.passes["full"] == 0
    assert fast.passes["fine"] >= FRAMES // Schedule().fine_every  # every 8th, plus first/last and cuts
    assert fast.passes["fine"] < FRAMES / 3, fast.passes
    assert fast.passes["coarse"] + fast.passes["fine"] == FRAMES
    assert covered(fast, truth) == []
    ref = run(analyze(str(path), detector, schedule=Schedule.off()))
    assert ref.passes == {"full": FRAMES, "fine": 0, "coarse": 0, "skipped": 0, "windows": 0}
    assert covered(ref, truth) == []
    assert {b.class_id for b in fast.built} == {b.class_id for b in ref.built}


def test_passes_find_the_sample_objects_and_coarse_runs_smaller(clip, detector):
    path, truth = clip
    frames = first_frames(path, 1)
    assert detector.coarse_is_cheaper(1280, 720) and not detector.coarse_is_cheaper(800, 450)
    for kind in ("full", "fine", "coarse"):
        d = detector.detect(frames, [0], pass_=kind)
        for b in truth[0]:
            sel = d.class_id == CLASS_IDS[b["cls"]]
            assert sel.any(), (kind, b["cls"])
            assert box_iou(np.array([b["box"]], np.float32), d.xyxy[sel]).max() >= 0.5, (kind, b["cls"])
    # the fast passes run the int8 graphs on the CPU; "full" stays the float reference
    assert detector.fast_precision() == "int8"
    face, _plate = detector.fast_models()
    assert face is not detector.face
    with pytest.raises(ValueError):
        detector.detect(frames, [0], pass_="nope")


def test_windows_find_a_face_at_full_resolution(clip, detector):
    path, truth = clip
    frame = first_frames(path, 1)[0]
    face = next(b for b in truth[0] if b["cls"] == "face")
    d = detector.detect([frame], [0], low=True, pass_="coarse", rois=[(CLASS_IDS["face"], face["box"])])
    sel = d.class_id == CLASS_IDS["face"]
    assert box_iou(np.array([face["box"]], np.float32), d.xyxy[sel]).max() >= 0.5
    wins = detector.roi_windows([(0, (100, 100, 110, 110)), (0, (120, 100, 130, 110)), (1, (1200, 600, 1260, 620))],
                                1280, 720)
    assert len(wins) == 2  # the two nearby faces share a window; the plate has its own
    for _c, (x0, y0, x1, y1) in wins:
        assert 0 <= x0 < x1 <= 1280 and 0 <= y0 < y1 <= 720


def test_planner_windows_what_the_coarse_pass_misses(detector):
    from app.detection.detections import Detections

    p = Planner(Schedule(), detector, 1920, 1080, 0, 99)
    assert p.pass_for(0) == "fine" and p.pass_for(1) == "coarse"
    big = Detections(np.array([[100, 100, 400, 400]], np.float32), np.array([0.9], np.float32),
                     np.array([0]), np.array([0]))
    p.saw("fine", big)
    assert p.rois == []  # not small: the coarse pass must first fail to see it
    p.saw("coarse", Detections.empty())
    assert len(p.rois) == 1 and p.rois[0][0] == 0
    assert p.rois_for(1)
    for _ in range(Schedule().small_hold):
        p.saw("coarse", Detections.empty())
    assert p.rois == []  # lost for small_hold passes: the window goes
    tiny = Detections(np.array([[500, 500, 520, 524]], np.float32), np.array([0.9], np.float32),
                      np.array([0]), np.array([7]))
    p.saw("fine", tiny)
    assert len(p.rois) == 1  # small: a window at once
    p.cut()
    assert p.pass_for(3) == "fine"  # a scene cut gets the fine pass
    off = Planner(Schedule.off(), detector, 1920, 1080, 0, 99)
    assert {off.pass_for(i) for i in range(10)} == {"full"}


def test_cli_detection_choice_reaches_the_report(clip, tmp_path):
    import subprocess
    import sys

    from tests.test_analyze import REPO

    path, _truth = clip
    out = tmp_path / "out.mp4"
    r = subprocess.run([sys.executable, "-m", "app", "process", str(path), "-o", str(out), "-q", "--device", "cpu",
                        "--detection", "thorough"], capture_output=True, text=True, timeout=600, cwd=REPO)
    assert r.returncode == 0, r.stderr
    rep = json.loads(out.with_name(out.name + ".report.json").read_text()) if out.with_name(
        out.name + ".report.json").exists() else json.loads(next(tmp_path.glob("*.report.json")).read_text())
    sched = json.dumps(rep)
    assert '"mode": "thorough"' in sched and '"full": ' + str(FRAMES) in sched
    bad = subprocess.run([sys.executable, "-m", "app", "process", str(path), "-o", str(tmp_path / "b.mp4"),
                          "--detection", "sometimes"], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
