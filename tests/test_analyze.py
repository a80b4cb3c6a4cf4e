"""Analysis end to end with the real detector: decode, detect, link into tracks, put them in the project.

The sample clip's ground truth is exact, so "no frame left unmasked" is checked frame by frame.
To keep the suite fast the video tests run on the first frames of the sample clip, cut into a
new file with PyAV (the same frames, re-encoded); the truth of a cut clip is the first N entries.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from app.base.progress import CancelToken, Progress, run
from app.core.project import Keyframe, KeyframeSource, MediaRef, Project, Track
from app.core.shapes import Shape
from app.detection.detector import Detector, DetectorConfig
from app.jobs.analysis import analysis_job, apply_analysis
from app.jobs.text import NOTE
from app.media.facts import open_media
from app.media.probe import probe
from tests.analysis_helpers import analyse_into
from tests.media_factory import REDACTION_CHECK, SHARED_DATA, decoded_frame_count

REPO = Path(__file__).resolve().parents[1]
CUT = 30  # frames of the sample clip analysed in-process and by `process`
SHORT = 8  # frames for the re-run, cancel and `analyze` + `export` tests


def cut_clip(src: Path, dst: Path, frames: int) -> Path:
    """The first ``frames`` frames of ``src`` re-encoded (video only) into ``dst``."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        ins = inp.streams.video[0]
        vs = out.add_stream("libx264", rate=ins.average_rate)
        vs.width, vs.height, vs.pix_fmt = ins.width, ins.height, "yuv420p"
        vs.codec_context.time_base = Fraction(1) / ins.average_rate
        vs.codec_context.options = {"crf": "16", "preset": "veryfast"}
        for i, frame in enumerate(inp.decode(ins)):
            if i == frames:
                break
            vf = av.VideoFrame.from_ndarray(frame.to_ndarray(format="bgr24"), format="bgr24")
            vf.pts, vf.time_base = i, vs.codec_context.time_base
            out.mux(vs.encode(vf))
        out.mux(vs.encode(None))
    return dst


@pytest.fixture(scope="module")
def clips_dir(tmp_path_factory, sample_clip):
    """Cut clips (CUT and SHORT frames) with their truth files, and a photo of one sample frame."""
    path, _truth_path, truth = sample_clip
    folder = tmp_path_factory.mktemp("analyze")
    out = {}
    for n in (CUT, SHORT):
        clip = cut_clip(path, folder / f"cut{n}.mp4", n)
        truth_file = folder / f"cut{n}.truth.json"
        truth_file.write_text(json.dumps(truth[:n]))
        out[n] = (clip, truth_file, truth[:n])
    from app.media.sample import render_frames

    # Frame 60: the plate model scores the sample's plate 0.21 there (it dips below the 0.1 seed on a
    # few frames, e.g. 52 and 90, which a photo has no tracker to bridge).
    frame, ftruth = next((f, t) for i, f, t in render_frames() if i == 60)
    photo = folder / "frame60.jpg"
    assert cv2.imwrite(str(photo), frame, [cv2.IMWRITE_JPEG_QUALITY, 95])
    out["photo"] = (photo, ftruth)
    return out


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(DetectorConfig(device="cpu"))


@pytest.fixture(scope="module")
def analysed(clips_dir, detector):
    """The CUT-frame clip analysed once into a fresh project."""
    clip, _tf, truth = clips_dir[CUT]
    project = Project()
    events: list[Progress] = []
    result = analyse_into(project, clip, detector, on_progress=events.append)
    return project, result, events, truth


def iou_with_union(truth: list[float], shapes: list[Shape]) -> float:
    """IoU between a truth box and the union of the shapes that touch it (rasterised, 1 px)."""
    tx1, ty1, tx2, ty2 = truth
    boxes = [s.bbox for s in shapes]
    boxes = [b for b in boxes if b[0] < tx2 and b[2] > tx1 and b[1] < ty2 and b[3] > ty1]
    if not boxes:
        return 0.0
    x0 = int(np.floor(min([tx1] + [b[0] for b in boxes])))
    y0 = int(np.floor(min([ty1] + [b[1] for b in boxes])))
    x1 = int(np.ceil(max([tx2] + [b[2] for b in boxes])))
    y1 = int(np.ceil(max([ty2] + [b[3] for b in boxes])))
    union = np.zeros((y1 - y0, x1 - x0), bool)
    for b in boxes:
        union[int(round(b[1])) - y0 : int(round(b[3])) - y0, int(round(b[0])) - x0 : int(round(b[2])) - x0] = True
    gt = np.zeros_like(union)
    gt[int(round(ty1)) - y0 : int(round(ty2)) - y0, int(round(tx1)) - x0 : int(round(tx2)) - x0] = True
    return float((union & gt).sum() / max(1, (union | gt).sum()))


def obscura(*args, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


def leak_check(inp: Path, truth: Path, out: Path) -> str:
    """The shared black-box judge's verdict; the test skips where ../shared is absent (a bare clone)."""
    if not REDACTION_CHECK.is_file():
        pytest.skip(f"shared redaction check not found: {REDACTION_CHECK} (expected beside the repository)")
    r = subprocess.run([sys.executable, str(REDACTION_CHECK), "video", str(inp), str(truth), str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


# ------------------------------------------------------------------------------------------------
# In-process analysis of a video


@pytest.mark.slow  # the first of these pays for the shared analysis (~10 s)
def test_analysis_reports_progress(analysed):
    project, result, events, truth = analysed
    assert not result.cancelled and result.frames == len(truth) == CUT
    assert result.detections >= CUT  # at least the face in every frame
    assert events and all(e.stage == "analyze" for e in events)
    assert events[-1].message == "done" and events[-1].done == CUT and events[-1].total == CUT
    done = [e.done for e in events]
    assert done == sorted(done) and done[0] > 0
    assert result.tracks == len(project.tracks)
    m = project.media
    assert m is not None and (m.width, m.height, m.frame_count) == (1280, 720, CUT)
    assert m.fps == Fraction(30000, 1001)


@pytest.mark.slow  # the first of these pays for the shared analysis (~10 s)
def test_analysis_gives_one_track_per_object_with_auto_keyframes(analysed):
    project, result, _events, _truth = analysed
    by = {}
    for t in project.tracks:
        by.setdefault(t.cls, []).append(t)
    summary = {c: [(t.id, t.first_frame, t.last_frame, len(t.keyframes)) for t in ts] for c, ts in by.items()}
    print(f"\ntracks on the first {CUT} sample frames: {summary}")
    assert set(by) == {"face", "plate"}, summary
    assert len(by["face"]) == 1, f"the one face was split into several tracks: {summary}"
    assert 1 <= len(by["plate"]) <= 2, f"the one plate was split into several tracks: {summary}"
    assert result.by_class == {c: len(ts) for c, ts in by.items()}
    for t in project.tracks:
        assert t.enabled and t.review in ("needs_review", "approved") and t.keyframes
        assert t.keyframes[0].visible and t.keyframes[-1].visible
        for kf in t.keyframes:
            assert kf.source == KeyframeSource.AUTO
            assert kf.score is None or 0 < kf.score <= 1  # None: a keyframe the tracker placed
        assert t.max_score is not None
    face = by["face"][0]
    assert face.first_frame == 0 and face.last_frame == CUT - 1


@pytest.mark.slow  # the first of these pays for the shared analysis (~10 s)
def test_no_frame_left_unmasked(analysed):
    project, _result, _events, truth = analysed
    misses = []
    for i, boxes in enumerate(truth):
        shown = project.masks_at(i)
        for b in boxes:
            shapes = [shape for track, shape, _style in shown if track.cls == b["cls"]]
            iou = iou_with_union(b["box"], shapes)
            if iou < 0.5:
                misses.append((i, b["cls"], round(iou, 3)))
    assert not misses, f"truth boxes not covered by the tracks (frame, class, IoU): {misses}"


# ------------------------------------------------------------------------------------------------
# Re-running, cancelling, photos


@pytest.mark.slow
def test_rerun_keeps_edited_and_disabled_tracks_and_replaces_untouched_auto_ones(clips_dir, detector):
    clip, _tf, _truth = clips_dir[SHORT]
    project = Project()
    analyse_into(project, clip, detector)
    faces = [t for t in project.tracks if t.cls == "face"]
    plates = [t for t in project.tracks if t.cls == "plate"]
    assert len(faces) == 1 and len(plates) >= 1

    edited = faces[0]
    edited.set_keyframe(Keyframe(3, Shape.rect(10, 10, 200, 220), source=KeyframeSource.MANUAL))
    edited_kfs = edited.keyframes
    disabled = Track(project.new_track_id("face"), "face",
                     [Keyframe(0, Shape.rect(600, 10, 650, 60), KeyframeSource.AUTO, score=0.5),
                      Keyframe(5, Shape.rect(610, 10, 660, 60), KeyframeSource.AUTO, score=0.5)], enabled=False)
    project.add_track(disabled)
    disabled_kfs = disabled.keyframes
    old_plates = list(plates)
    media = project.media

    result = analyse_into(project, clip, detector)
    assert not result.cancelled and result.frames == SHORT
    assert any(t is edited for t in project.tracks) and edited.keyframes == edited_kfs
    assert any(t is disabled for t in project.tracks) and disabled.keyframes == disabled_kfs
    assert not disabled.enabled
    for old in old_plates:
        assert all(t is not old for t in project.tracks), "an untouched auto track was not replaced"
    new_plates = [t for t in project.tracks if t.cls == "plate"]
    assert len(new_plates) == len(old_plates)
    new_faces = [t for t in project.tracks if t.cls == "face" and t is not edited and t is not disabled]
    assert len(new_faces) == 1 and all(k.source == KeyframeSource.AUTO for k in new_faces[0].keyframes)
    ids = [t.id for t in project.tracks]
    assert len(ids) == len(set(ids))
    assert project.media is media

    # And once more: the tracks just made are replaced, the count stays the same.
    n = len(project.tracks)
    analyse_into(project, clip, detector)
    assert len(project.tracks) == n


@pytest.mark.parametrize("with_media", [False, True])
def test_cancel_leaves_the_project_unchanged(clips_dir, detector, with_media):
    clip, _tf, _truth = clips_dir[SHORT]
    project = Project()
    if with_media:
        info = probe(str(clip))
        project.media = MediaRef(str(clip), info.width, info.height, info.fps, info.frame_count)
    project.add_track(Track("face-0001", "face", [Keyframe(0, Shape.rect(1, 1, 50, 50), KeyframeSource.AUTO)]))
    before = project.copy()
    token = CancelToken()
    gen = analysis_job(open_media(str(clip)), detector, cancel=token)
    first = next(p for p in gen if p.stage != NOTE)
    assert first.stage == "analyze" and first.done < SHORT
    token.cancel()
    events: list[Progress] = []
    outcome = run(gen, events.append)
    assert outcome.cancelled and outcome.result.frames < SHORT and not outcome.built
    assert events and events[-1].message == "cancelled"
    apply_analysis(project, outcome)
    assert project == before, "a cancelled analysis changed the project"


def test_photo_analysis(clips_dir, detector):
    photo, truth = clips_dir["photo"]
    project = Project()
    events: list[Progress] = []
    result = analyse_into(project, photo, detector, on_progress=events.append)
    assert result.frames == 1 and not result.cancelled
    assert events and events[-1].message == "done"
    assert project.media.frame_count == 1 and (project.media.width, project.media.height) == (1280, 720)
    for cls in ("face", "plate"):
        tracks = [t for t in project.tracks if t.cls == cls]
        assert tracks, [t.id for t in project.tracks]
        kfs = [k for t in tracks for k in t.keyframes]
        assert all(k.frame == 0 and k.source == KeyframeSource.AUTO for k in kfs)
        want = next(b["box"] for b in truth if b["cls"] == cls)
        best = max(kfs, key=lambda k: iou_with_union(want, [k.shape]))
        assert iou_with_union(want, [best.shape]) >= 0.5 and best.score >= 0.5
        # Anything else is a weak extra box (over-redaction is the safe side: recall first).
        assert all(k.score < 0.3 for k in kfs if k is not best), [(k.score, k.shape.bbox) for k in kfs]


# ------------------------------------------------------------------------------------------------
# The command line, end to end, judged by the black-box redaction check


def leaked(report: str) -> int:
    m = re.search(r"leaked (\d+) = ([0-9.]+)", report)
    assert m, report
    return int(m.group(1))


@pytest.mark.slow
def test_cli_process_detects_and_leaks_nothing(clips_dir, tmp_path):
    clip, truth_file, truth = clips_dir[CUT]
    out = tmp_path / "out.mp4"
    r = obscura("process", clip, "-o", out, "--device", "cpu")
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr and "tracks:" in r.stderr
    assert decoded_frame_count(out) == CUT
    report = leak_check(clip, truth_file, out)
    print(f"\nprocess {CUT} frames: {report}")
    assert f"{sum(len(b) for b in truth)} object-frames" in report
    assert leaked(report) == 0, report


@pytest.mark.slow
def test_cli_analyze_then_export(clips_dir, tmp_path):
    clip, truth_file, _truth = clips_dir[SHORT]
    proj = tmp_path / "proj.obscura.json"
    r = obscura("analyze", clip, "-o", proj, "--device", "cpu")
    assert r.returncode == 0, r.stderr
    data = json.loads(proj.read_text())
    assert data["tracks"] and {t["cls"] for t in data["tracks"]} == {"face", "plate"}
    out = tmp_path / "out2.mp4"
    r = obscura("export", proj, "-o", out)
    assert r.returncode == 0, r.stderr
    assert decoded_frame_count(out) == SHORT
    report = leak_check(clip, truth_file, out)
    assert leaked(report) == 0, report


def test_cli_process_photo(tmp_path):
    src = SHARED_DATA / "faces" / "images" / "maksssksksss0.jpg"
    if not src.is_file():
        pytest.skip(f"shared test photos not found: {src}")
    out = tmp_path / "out.jpg"
    r = obscura("process", src, "-o", out, "--device", "cpu")
    assert r.returncode == 0, r.stderr
    a, b = cv2.imread(str(src)), cv2.imread(str(out))
    assert b is not None and b.shape == a.shape
    assert out.read_bytes()[:3] == b"\xff\xd8\xff"  # JPEG
    # The three annotated faces (see its VOC file) are changed; the far corner is not.
    for x1, y1, x2, y2 in ((79, 105, 109, 142), (185, 100, 226, 144), (325, 90, 360, 141)):
        diff = np.abs(a[y1:y2, x1:x2].astype(int) - b[y1:y2, x1:x2].astype(int)).mean()
        assert diff > 3, (x1, y1, diff)
