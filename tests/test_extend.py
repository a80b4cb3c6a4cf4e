"""Visual extension of track ends (app.tracking.extend), end to end with the real detector.

The clip is the sample clip's face (real pixels) at half size: 30 frames of the sample, then a scene
cut to another background with the same face still there. The real detector's output is filtered:
the face's detections of the first 15 frames are removed (the detector "missed" it while it was
visible), and so are those after the cut (so only a follow that crossed the cut could mask it there).
"""

from __future__ import annotations

from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from app.base.progress import CancelToken, run
from app.core.project import Project
from app.detection.detections import CLASS_IDS, Detections
from app.jobs.analysis import analysis_job, apply_analysis
from app.media.facts import open_media
from app.media.probe import probe
from app.redaction.masks import build_mask
from app.tracking.build_tracks import BuiltTrack
from app.tracking.extend import ExtendParams, extend_tracks, find_ends
from app.tracking.follow import FollowParams, follow
from tests.analysis_helpers import analyse_into

W, H = 640, 360
CUT = 30  # the first frame of the second shot
N = 45
MISSED = 15  # the face's detections of frames 0..MISSED-1 are removed
FACE = CLASS_IDS["face"]


@pytest.fixture(scope="module")
def cut_clip(tmp_path_factory):
    """(path, truth): the face's truth box per frame (half-size sample frames, then the cut)."""
    from app.media.sample import render_frames

    path = tmp_path_factory.mktemp("extend") / "cut.mp4"
    rng = np.random.default_rng(5)
    other = cv2.resize(rng.integers(0, 255, (9, 16, 3), dtype=np.uint8), (W, H), interpolation=cv2.INTER_CUBIC)
    other[:, :, 1] = 255 - other[:, :, 1] // 3  # a green, differently lit second shot
    truth = []
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=Fraction(30))
        vs.width, vs.height, vs.pix_fmt = W, H, "yuv420p"
        vs.codec_context.options = {"crf": "18", "preset": "veryfast"}
        first = None
        for i, frame, boxes in render_frames():
            if i == N:
                break
            small = cv2.resize(frame, (W, H), interpolation=cv2.INTER_AREA)
            face = next(b["box"] for b in boxes if b["cls"] == "face")
            fb = [v / 2 for v in face]
            if first is None:
                first = small.copy()
            if i >= CUT:  # the same portrait over another background: only the face region kept
                x1, y1, x2, y2 = (int(round(v)) for v in fb)
                pad = 25
                img = other.copy()
                img[y1 - pad : y2 + pad, x1 - pad : x2 + pad] = small[y1 - pad : y2 + pad, x1 - pad : x2 + pad]
                small = img
            truth.append(fb)
            vf = av.VideoFrame.from_ndarray(small, format="bgr24")
            vf.pts = i
            out.mux(vs.encode(vf))
        out.mux(vs.encode(None))
    return str(path), truth


class Filtered:
    """The real detector, its output filtered: no face before MISSED or from the cut on.
    Each frame is detected once (the two analyses of a test share the detector's results)."""

    def __init__(self, detector):
        self.detector = detector
        self.cache: dict[int, Detections] = {}

    def __getattr__(self, name):  # describe(), device, config ...: the real detector's
        return getattr(self.detector, name)

    def detect(self, frames, frame_indices, low=False):
        for fr, f in zip(frames, frame_indices, strict=True):
            if f not in self.cache:
                d = self.detector.detect([fr], [f], low=True)
                drop = (d.class_id == FACE) & ((d.frame < MISSED) | (d.frame >= CUT))
                self.cache[f] = d[~drop]
        out = Detections.merge([self.cache[f] for f in frame_indices])
        if not low and len(out):
            seeds = self.detector.seed_scores()
            out = out[out.score >= np.array([seeds.get(int(c), 0.0) for c in out.class_id], np.float32)]
        return out


@pytest.fixture(scope="module")
def detector():
    from app.detection.detector import Detector, DetectorConfig

    return Filtered(Detector(DetectorConfig(device="cpu", plates=False)))


def covered(project: Project, frame: int, box) -> float:
    """The share of ``box`` inside the union of the masks drawn at ``frame`` (alpha > 0.5)."""
    union = np.zeros((H, W), bool)
    for _track, shape, style in project.masks_at(frame):
        m = build_mask(shape, style, W, H)
        if m is not None:
            union[m.y0 : m.y1, m.x0 : m.x1] |= m.alpha > 0.5
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    return float(union[y1:y2, x1:x2].mean())


@pytest.fixture(scope="module")
def analysed(cut_clip, detector):
    path, truth = cut_clip
    plain, extended = Project(), Project()
    r0 = analyse_into(plain, path, detector, extend=False)
    events = []
    r1 = analyse_into(extended, path, detector, on_progress=events.append)
    return plain, extended, r0, r1, events


def test_a_face_the_detector_missed_at_first_is_covered_after_extension(cut_clip, analysed):
    _path, truth = cut_clip
    plain, extended, r0, r1, events = analysed
    assert r0.cuts == [CUT] and r1.cuts == [CUT]
    faces = [b for b in r1.built if b.class_id == FACE]
    assert len(faces) == 1, [b.spans for b in faces]  # one track, extended back: no new track
    # without extension the face leaks in its first frames (only the pre-hold covers a few) ...
    assert sum(covered(plain, f, truth[f]) < 0.9 for f in range(MISSED)) >= 8
    # ... with it, every frame of the shot is covered
    shares = [round(covered(extended, f, truth[f]), 2) for f in range(CUT)]
    assert min(shares) >= 0.9, shares
    assert r1.extension is not None and r1.extension.followed >= 1 and r1.extension.frames_added >= 8
    assert not faces[0].observed[faces[0].frames < MISSED].any()  # followed frames are not detections
    assert any(e.stage == "extend" for e in events) and events[-1].stage == "extend"


def test_the_extension_stops_at_a_scene_cut(cut_clip, analysed, detector):
    path, truth = cut_clip
    _plain, extended, _r0, r1, _events = analysed
    face = next(b for b in r1.built if b.class_id == FACE)
    assert face.spans[-1][1] == CUT - 1  # not one frame past the cut
    assert all(t.cls != "face" for f in range(CUT, N) for t, _s, _st in extended.masks_at(f))
    # the cut is what stopped it: the visual tracker itself follows the face across the cut
    info = probe(path)
    last = int(face.frames[face.observed][-1])
    res = run(follow(path, info, last, tuple(face.boxes[np.nonzero(face.frames == last)[0][0]]), 1,
                     FollowParams(), None, N - 1))
    assert res.last_frame >= CUT + 5, res.detail


def test_cancelling_the_extension_leaves_the_project_unchanged(cut_clip, detector, analysed):
    path, _truth = cut_clip
    _plain, extended, *_ = analysed
    before = [(t.id, t.keyframes) for t in extended.tracks]
    cancel = CancelToken()
    gen = analysis_job(open_media(path), detector, cancel=cancel)
    for p in gen:
        if p.stage == "extend":
            cancel.cancel()
            break
    res = run(gen)
    assert res.cancelled and not res.built
    apply_analysis(extended, res)
    assert [(t.id, t.keyframes) for t in extended.tracks] == before


def _track(spans, box=(100.0, 100.0, 160.0, 170.0)) -> BuiltTrack:
    frames = np.concatenate([np.arange(a, b + 1) for a, b in spans])
    boxes = np.tile(np.array(box), (len(frames), 1))
    return BuiltTrack(FACE, frames, boxes, list(spans), [0, len(frames) - 1], np.ones(len(frames), bool),
                      np.full(len(frames), 0.9, np.float32), pad=1.0)


def test_find_ends_respects_cuts_clip_edges_and_neighbouring_spans():
    p = ExtendParams(max_frames=25)
    b = _track([(10, 30), (50, 70), (90, 99)])
    ends = {(e.start, e.direction): e.stop for e in find_ends([b], [80], p, (0, 100), (640, 360))}
    assert ends == {(10, -1): 0, (30, 1): 49, (50, -1): 31, (70, 1): 79, (90, -1): 80}
    # too few detections: not extended
    assert find_ends([_track([(10, 11)])], [], p, (0, 100), (640, 360)) == []


def test_two_follows_that_meet_close_the_gap(tmp_path):
    """A still textured object, its track in two spans: the follows from both sides close the gap."""
    rng = np.random.default_rng(1)
    bg = cv2.resize(rng.integers(0, 255, (20, 36, 3), dtype=np.uint8), (320, 180), interpolation=cv2.INTER_CUBIC)
    obj = rng.integers(0, 255, (50, 60, 3), dtype=np.uint8)
    path = tmp_path / "still.mp4"
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=Fraction(25))
        vs.width, vs.height, vs.pix_fmt = 320, 180, "yuv420p"
        for i in range(60):
            img = np.roll(bg, i, axis=1).copy()
            img[60:110, 100:160] = obj
            out.mux(vs.encode(av.VideoFrame.from_ndarray(img, format="bgr24")))
        out.mux(vs.encode(None))
    b = _track([(0, 14), (45, 59)], box=(100.0, 60.0, 160.0, 110.0))
    info = probe(str(path))
    (nb,), stats = run(extend_tracks(str(path), info, [b], [], ExtendParams(max_frames=20)))
    assert stats.followed == 2 and stats.gaps_closed == 1
    assert nb.spans == [(0, 59)]
    assert nb.observed.sum() == 30 and len(nb.frames) == 60
    gap = nb.boxes[15:45]
    assert (gap[:, :2] <= [100, 60]).all() and (gap[:, 2:] >= [160, 110]).all()  # the object, grown


def test_a_short_track_extended_still_needs_review():
    """The review rule judges a track by what was detected: the followed frames don't make a short
    (often false) track long enough to skip the review."""
    from app.core.project import MediaRef
    from app.pipelines.analyze import apply_tracks
    from app.tracking.extend import ExtendedTrack

    def extended(detected: int, followed: int) -> ExtendedTrack:
        n = detected + followed
        frames = np.arange(n)
        return ExtendedTrack(FACE, frames, np.tile([100.0, 100, 160, 170], (n, 1)), [(0, n - 1)], [0, n - 1],
                             frames >= followed, np.full(detected, 0.9, np.float32), pad=1.0,
                             followed=frames < followed)

    project = Project(media=MediaRef("x.mp4", W, H, Fraction(30), 100))
    apply_tracks(project, [extended(10, 30), extended(40, 30)])
    assert [t.review for t in project.tracks] == ["needs_review", "approved"]


def test_one_decoding_for_all_follows_gives_each_follows_own_result(cut_clip):
    """The extension decodes the clip once for all its follows (forward ones fed as frames come,
    backward ones from a buffer): each result is exactly what that follow alone gives."""
    from app.base.progress import RateMeter
    from app.tracking import extend as ext

    path, truth = cut_clip
    info = probe(path)
    box = lambda f: tuple(float(v) for v in truth[f])  # noqa: E731
    ends = [ext._End(0, 15, box(15), 1, 29, 1.0), ext._End(0, 20, box(20), -1, 5, 1.0),
            ext._End(1, 44, box(44), -1, 30, 1.0), ext._End(1, 0, box(0), 1, 12, 1.0),
            ext._End(2, 16, box(16), 1, 16, 1.0)]  # an empty range
    fp = FollowParams()
    shared = run(ext._follow_all(path, info, ends, fp, None, RateMeter("extend", 100)))
    each = run(ext._follow_each(path, info, ends, fp, None, RateMeter("extend", 100)))
    assert len(shared) == len(each) == len(ends)
    for a, b in zip(shared, each, strict=True):
        assert a.stopped == b.stopped and a.last_frame == b.last_frame
        assert sorted(a.boxes) == sorted(b.boxes)
        for f in a.boxes:
            assert np.allclose(a.boxes[f], b.boxes[f]) and a.scores[f] == b.scores[f]
    assert len(shared[0].boxes) > 10 and len(shared[1].boxes) > 10  # both directions really followed

    token = CancelToken()
    token.cancel()
    assert run(ext._follow_all(path, info, ends, fp, token, RateMeter("extend", 100))) is None


def _occluded_clip(tmp_path, n=75, hide=(20, 45)):
    """A still textured object (60x50 at 100,60) over a moving background; a grey bar slides in
    front of it on frames ``hide`` (about 1 s at 25 fps) and away again."""
    rng = np.random.default_rng(7)
    bg = cv2.resize(rng.integers(0, 255, (20, 36, 3), dtype=np.uint8), (320, 180), interpolation=cv2.INTER_CUBIC)
    obj = cv2.resize(rng.integers(0, 255, (10, 12, 3), dtype=np.uint8), (60, 50), interpolation=cv2.INTER_NEAREST)
    path = tmp_path / "occluded.mp4"
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=Fraction(25))
        vs.width, vs.height, vs.pix_fmt = 320, 180, "yuv420p"
        vs.codec_context.options = {"crf": "16"}
        for i in range(n):
            img = np.roll(bg, i, axis=1).copy()
            img[60:110, 100:160] = obj
            if hide[0] <= i < hide[1]:  # the bar: across the object for the whole span
                x = 70 + int(round((i - hide[0]) * 60 / (hide[1] - hide[0] - 1)))
                img[40:130, x : x + 100] = (128, 128, 128)
            out.mux(vs.encode(av.VideoFrame.from_ndarray(img, format="bgr24")))
        out.mux(vs.encode(None))
    return str(path)


def _covered_share(track, frame, box=(100, 60, 160, 110)) -> float:
    if frame not in set(int(f) for f in track.frames):
        return 0.0
    b = track.boxes[int(np.nonzero(track.frames == frame)[0][0])]
    ix = max(0.0, min(b[2], box[2]) - max(b[0], box[0]))
    iy = max(0.0, min(b[3], box[3]) - max(b[1], box[1]))
    return ix * iy / ((box[2] - box[0]) * (box[3] - box[1]))


def test_a_face_hidden_for_a_second_and_never_detected_again_is_found_and_covered(tmp_path):
    """Issue 16: an occluder crosses the object for 25 frames; the detector never sees it again
    afterwards. The extension's follow is lost at the occluder, the object is re-acquired by its
    appearance when it comes out, the gap is covered and a new follow carries on: every frame of
    the clip has the whole object under the track. Without re-acquisition, it stays bare."""
    path = _occluded_clip(tmp_path)
    info = probe(path)
    b = _track([(0, 19)], box=(100.0, 60.0, 160.0, 110.0))
    p = ExtendParams(max_frames=25, reacquire_frames=55)
    (nb,), stats = run(extend_tracks(path, info, [b], [], p))
    assert stats.reacquired >= 1
    bare = [f for f in range(info.frame_count) if _covered_share(nb, f) < 0.95]
    assert not bare, f"object not covered on frames {bare}"

    off = ExtendParams(max_frames=25, reacquire=None)
    (nb0,), stats0 = run(extend_tracks(path, info, [b], [], off))
    assert stats0.reacquired == 0
    assert sum(_covered_share(nb0, f) < 0.95 for f in range(45, info.frame_count)) >= 25  # bare after the bar
