"""Click-to-track back-end (app.tracking.follow): real encoded clips, real OpenCV trackers, no mocks.

Each clip is a 640x360 H.264 file with a textured object moving over a textured background and
growing, written once per session; its truth box per frame is known exactly.
"""

from __future__ import annotations

import math
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from app.base.progress import CancelToken, Progress, run
from app.media.probe import probe
from app.tracking.follow import FollowParams, FollowResult, available_trackers, follow
from tests.media_factory import blob_texture

W, H, N = 640, 360, 72
TRACKER = FollowParams().tracker


def truth_box(i: int, n: int = N) -> tuple[float, float, float, float]:
    """The object's box at frame i: left to right on a gentle wave, growing from 56x44 to 104x82."""
    t = i / (n - 1)
    w = int(round(56 + 48 * t))
    h = int(round(w * 0.78))
    cx = W * (0.15 + 0.7 * t)
    cy = H * (0.5 + 0.12 * math.sin(2 * math.pi * t))
    x, y = int(round(cx - w / 2)), int(round(cy - h / 2))
    return (float(x), float(y), float(x + w), float(y + h))


def write_clip(path, shown: range = range(N), band: tuple[int, int] | None = None) -> list:
    """Write the clip. ``shown``: the frames that show the object (the others: background only);
    ``band``: a solid grey wall over x in [band[0], band[1]) in front of the object.
    Returns the truth boxes (None where the object is not drawn)."""
    rng = np.random.default_rng(3)
    bg = blob_texture(rng, W, H, 120)
    sprite = blob_texture(rng, 200, 156, 25)
    cv2.rectangle(sprite, (0, 0), (199, 155), (25, 25, 25), 5)
    truth = []
    with av.open(str(path), "w") as out:
        st = out.add_stream("libx264", rate=Fraction(30))
        st.width, st.height, st.pix_fmt = W, H, "yuv420p"
        st.options = {"crf": "20", "preset": "veryfast"}
        st.codec_context.gop_size = 24
        st.thread_count = 1
        for i in range(N):
            img = bg.copy()
            img = np.roll(img, i, axis=1)  # the camera pans: the background moves too
            x1, y1, x2, y2 = (int(v) for v in truth_box(i))
            if i in shown:
                img[y1:y2, x1:x2] = cv2.resize(sprite, (x2 - x1, y2 - y1), interpolation=cv2.INTER_AREA)
                truth.append((x1, y1, x2, y2))
            else:
                truth.append(None)
            if band is not None:
                img[:, band[0]:band[1]] = (128, 128, 128)
            for p in st.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                out.mux(p)
        for p in st.encode():
            out.mux(p)
    return truth


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@pytest.fixture(scope="module")
def moving(tmp_path_factory):
    path = tmp_path_factory.mktemp("follow") / "moving.mp4"
    truth = write_clip(path)
    return str(path), probe(str(path)), truth


def _check_follow(res: FollowResult, truth, start: int, end: int) -> None:
    frames = sorted(res.boxes)
    assert frames == list(range(min(start, end), max(start, end) + 1)), "one box per frame, no gaps"
    assert res.boxes[start] == pytest.approx(truth[start])
    assert all(0.0 <= s <= 1.0 for s in res.scores.values()) and res.scores[start] == 1.0
    ious = [iou(res.boxes[f], truth[f]) for f in frames]
    assert float(np.mean(ious)) >= 0.7, f"mean IoU {np.mean(ious):.3f}"
    assert min(ious) >= 0.4, f"worst IoU {min(ious):.3f}"
    # The box grew (or shrank) with the object: the last box's size is within 25 % of the truth's.
    b, t = res.boxes[end], truth[end]
    assert (b[2] - b[0]) == pytest.approx(t[2] - t[0], rel=0.25)


def test_the_default_tracker_is_available():
    assert TRACKER in available_trackers()


def test_follow_forward_to_the_end(moving):
    path, info, truth = moving
    seen: list[Progress] = []
    res = run(follow(path, info, 0, truth[0], 1), seen.append)
    assert res.stopped == "end" and res.last_frame == N - 1 and res.tracker == TRACKER
    _check_follow(res, truth, 0, N - 1)
    assert seen and all(p.stage == "follow" and p.total == N - 1 for p in seen)
    assert seen[-1].done == N - 1
    live = [p.partial for p in seen if p.partial is not None]  # (frame, box) for a live view
    assert live and all(res.boxes[f] == b for f, b in live)


def test_follow_backward_to_the_start(moving):
    path, info, truth = moving
    res = run(follow(path, info, N - 1, truth[N - 1], -1))
    assert res.stopped == "end" and res.last_frame == 0
    _check_follow(res, truth, N - 1, 0)


def test_follow_backward_from_the_middle_in_chunks(moving, monkeypatch):
    """Backward decoding works in small chunks too (each one re-decoded from its keyframe)."""
    import app.tracking.follow as follow_mod

    monkeypatch.setattr(follow_mod, "_MAX_CHUNK", 8)  # the chunk floor: forces ~5 chunks here
    path, info, truth = moving
    res = run(follow(path, info, 40, truth[40], -1, stop_frame=5))
    assert res.stopped == "end" and res.last_frame == 5
    _check_follow(res, truth, 40, 5)


def test_stops_when_the_object_vanishes(tmp_path):
    path = tmp_path / "vanish.mp4"
    truth = write_clip(path, shown=range(40))
    res = run(follow(str(path), probe(str(path)), 0, truth[0], 1))
    assert res.stopped == "lost", res.detail
    assert 39 - 3 <= res.last_frame <= 39 + 2, res.last_frame
    assert max(res.boxes) == res.last_frame
    assert all(iou(res.boxes[f], truth[f]) > 0.5 for f in res.boxes if truth[f] is not None)


def test_a_one_frame_dropout_is_bridged_and_two_frames_stop_it(tmp_path):
    path = tmp_path / "flicker.mp4"
    truth = write_clip(path, shown=[i for i in range(N) if i != 30])
    res = run(follow(str(path), probe(str(path)), 0, truth[0], 1))
    assert res.stopped == "end" and sorted(res.boxes) == list(range(N))
    assert res.scores[30] < FollowParams().min_confidence <= min(res.scores[29], res.scores[31])
    assert iou(res.boxes[40], truth[40]) > 0.7  # it found the object again

    truth = write_clip(path, shown=[i for i in range(N) if i not in (30, 31)])
    res = run(follow(str(path), probe(str(path)), 0, truth[0], 1))
    assert res.stopped == "lost" and res.last_frame == 29 and max(res.boxes) == 29


def test_stops_behind_a_solid_wall(tmp_path):
    band = (420, 560)
    path = tmp_path / "wall.mp4"
    truth = write_clip(path, band=band)
    # the first frame in which the wall hides the object completely
    hidden = next(i for i, b in enumerate(truth) if b[0] >= band[0] and b[2] <= band[1])
    res = run(follow(str(path), probe(str(path)), 0, truth[0], 1))
    assert res.stopped == "lost", res.detail
    assert res.last_frame <= hidden + 2, (res.last_frame, hidden)
    # ... and it did follow up to the wall
    entering = next(i for i, b in enumerate(truth) if b[2] > band[0])
    assert res.last_frame >= entering


def test_backward_stops_where_the_object_appears(tmp_path):
    path = tmp_path / "appear.mp4"
    truth = write_clip(path, shown=range(30, N))
    res = run(follow(str(path), probe(str(path)), N - 1, truth[N - 1], -1))
    assert res.stopped == "lost", res.detail
    assert 30 - 2 <= res.last_frame <= 30 + 3, res.last_frame
    assert min(res.boxes) == res.last_frame


def test_cancel(moving):
    path, info, truth = moving
    token = CancelToken()
    steps = []

    def on_progress(p: Progress) -> None:
        steps.append(p)
        if len(steps) == 2:
            token.cancel()

    gen = follow(path, info, 0, truth[0], 1, FollowParams(), token)
    res = run(gen, on_progress)
    assert res.stopped == "cancelled"
    assert res.last_frame < N - 1 and sorted(res.boxes) == list(range(res.last_frame + 1))


def test_cancel_backward(moving):
    path, info, truth = moving
    token = CancelToken()
    token.cancel()
    res = run(follow(path, info, N - 1, truth[N - 1], -1, cancel=token))
    assert res.stopped == "cancelled" and list(res.boxes) == [N - 1] and res.last_frame == N - 1


def test_stop_frame_and_max_frames(moving):
    path, info, truth = moving
    res = run(follow(path, info, 10, truth[10], 1, stop_frame=30))
    assert res.stopped == "end" and sorted(res.boxes) == list(range(10, 31))

    res = run(follow(path, info, 10, truth[10], 1, FollowParams(max_frames=12)))
    assert res.stopped == "limit" and sorted(res.boxes) == list(range(10, 23)) and res.last_frame == 22

    res = run(follow(path, info, 50, truth[50], -1, FollowParams(max_frames=8), stop_frame=45))
    assert res.stopped == "end" and sorted(res.boxes) == list(range(45, 51))

    res = run(follow(path, info, 50, truth[50], -1, FollowParams(max_frames=3)))
    assert res.stopped == "limit" and sorted(res.boxes) == [47, 48, 49, 50]

    res = run(follow(path, info, 20, truth[20], 1, stop_frame=20))  # nothing to follow
    assert res.stopped == "end" and list(res.boxes) == [20] and res.scores == {20: 1.0}


def test_bad_arguments(moving):
    path, info, truth = moving
    with pytest.raises(ValueError):
        run(follow(path, info, N, truth[0], 1))
    with pytest.raises(ValueError):
        run(follow(path, info, 0, truth[0], 0))
    with pytest.raises(ValueError):
        run(follow(path, info, 0, (700.0, 10.0, 800.0, 50.0), 1))  # outside the frame
    with pytest.raises(ValueError):
        run(follow(path, info, 0, truth[0], 1, FollowParams(tracker="boosting")))


def test_falls_back_to_mil_without_the_contrib_wheel(moving, monkeypatch):
    """With the plain opencv-python-headless wheel (no CSRT/KCF) the follow still runs, with MIL,
    and says so."""
    import app.tracking.follow as follow_mod

    real = follow_mod._factory
    monkeypatch.setattr(follow_mod, "_factory", lambda name: None if name in ("csrt", "kcf") else real(name))
    path, info, truth = moving
    seen: list[Progress] = []
    res = run(follow(path, info, 0, truth[0], 1, FollowParams(tracker="csrt", max_frames=4)), seen.append)
    assert res.tracker == "mil" and "opencv-contrib-python-headless" in res.detail
    assert "MIL" in seen[0].message and sorted(res.boxes) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("name", ["mil"])
def test_other_trackers_run(moving, name):
    """MIL (in every OpenCV wheel, the fallback) runs through the same pipeline."""
    path, info, truth = moving
    res = run(follow(path, info, 0, truth[0], 1, FollowParams(tracker=name, max_frames=10)))
    assert res.tracker == name and res.stopped in ("limit", "lost") and res.boxes[0] == pytest.approx(truth[0])
