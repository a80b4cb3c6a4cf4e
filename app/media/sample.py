"""The bundled demo clip: a real face and a rendered car plate moving over a street-like scene.

6 s at 1280x720, 30000/1001 fps (29.97), H.264 with an AAC 440 Hz tone. The face is a crop of
scikit-image's public-domain NASA portrait (fetched once from the scikit-image wheel and checked
by sha256, see models/manifest.toml). The clip's ground truth (one list of boxes per frame, the
format of shared/tools/redaction_check.py) is known exactly, because we draw it.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction

import av
import cv2
import numpy as np

from app.assets import asset
from app.base.atomic import atomic_output
from app.core.project import Keyframe, KeyframeSource, Project, Track
from app.core.shapes import Shape

WIDTH, HEIGHT = 1280, 720
FPS = Fraction(30000, 1001)
FRAMES = 180
# The portrait crop (x1, y1, x2, y2) and the face inside it, in the 512x512 source.
_CROP = (100, 0, 340, 330)
_FACE = (172, 62, 278, 196)
_SCALE = 1.1
PLATE_TEXT = "OB 5CR 42"


def _background(rng: np.random.Generator) -> np.ndarray:
    img = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    ys = np.arange(300, dtype=np.float32)[:, None, None]
    img[:300] = np.concatenate([235 - ys * 0.1, 205 - ys * 0.15, 175 - ys * 0.2], axis=2).astype(np.uint8)
    img[300:470] = (150, 155, 160)  # pavement
    for i, x in enumerate(range(0, WIDTH, 160)):
        h = 140 + (i * 53) % 120
        colour = (90 + (i * 37) % 80, 100 + (i * 23) % 70, 110 + (i * 41) % 60)
        cv2.rectangle(img, (x + 5, 300 - h), (x + 150, 470), colour, -1)
        for wy in range(300 - h + 15, 450, 34):
            for wx in range(x + 18, x + 140, 32):
                cv2.rectangle(img, (wx, wy), (wx + 16, wy + 20), (200, 210, 150), -1)
    img[470:] = (70, 70, 72)  # road
    for x in range(0, WIDTH, 120):
        cv2.rectangle(img, (x, 640), (x + 60, 650), (230, 230, 230), -1)
    noise = rng.normal(0, 6, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def _portrait() -> tuple[np.ndarray, tuple[float, float, float, float]]:
    src = cv2.imread(str(asset("astronaut")), cv2.IMREAD_COLOR)
    x1, y1, x2, y2 = _CROP
    crop = src[y1:y2, x1:x2]
    crop = cv2.resize(crop, None, fx=_SCALE, fy=_SCALE, interpolation=cv2.INTER_AREA)
    fx1, fy1, fx2, fy2 = _FACE
    face = ((fx1 - x1) * _SCALE, (fy1 - y1) * _SCALE, (fx2 - x1) * _SCALE, (fy2 - y1) * _SCALE)
    return crop, face


def _car(text: str) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int, int]]:
    """A car sprite (BGR + mask) and its plate box in sprite coordinates."""
    w, h = 420, 170
    car = np.zeros((h, w, 3), np.uint8)
    mask = np.zeros((h, w), np.uint8)
    cv2.rectangle(car, (10, 50), (410, 140), (40, 40, 170), -1)
    cv2.rectangle(mask, (10, 50), (410, 140), 255, -1)
    pts = np.array([[90, 52], [140, 5], [300, 5], [350, 52]], np.int32)
    cv2.fillPoly(car, [pts], (40, 40, 150))
    cv2.fillPoly(mask, [pts], 255)
    cv2.fillPoly(car, [np.array([[150, 48], [175, 15], [285, 15], [310, 48]], np.int32)], (160, 120, 90))
    for cx in (95, 325):
        cv2.circle(car, (cx, 140), 28, (20, 20, 20), -1)
        cv2.circle(mask, (cx, 140), 28, 255, -1)
        cv2.circle(car, (cx, 140), 12, (150, 150, 150), -1)
    px1, py1, px2, py2 = 120, 82, 300, 126  # a 180x44 plate
    cv2.rectangle(car, (px1, py1), (px2, py2), (245, 245, 245), -1)
    cv2.rectangle(car, (px1, py1), (px2, py2), (20, 20, 20), 2)
    cv2.rectangle(car, (px1 + 2, py1 + 2), (px1 + 16, py2 - 2), (160, 60, 20), -1)  # EU band
    cv2.putText(car, text, (px1 + 22, py2 - 11), cv2.FONT_HERSHEY_SIMPLEX, 0.82, (15, 15, 15), 2, cv2.LINE_AA)
    return car, mask, (px1, py1, px2, py2)


def _paste(dst: np.ndarray, src: np.ndarray, x: int, y: int, mask: np.ndarray | None = None) -> None:
    h, w = src.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(dst.shape[1], x + w), min(dst.shape[0], y + h)
    if x1 <= x0 or y1 <= y0:
        return
    s = src[y0 - y : y1 - y, x0 - x : x1 - x]
    if mask is None:
        dst[y0:y1, x0:x1] = s
    else:
        m = mask[y0 - y : y1 - y, x0 - x : x1 - x] > 0
        dst[y0:y1, x0:x1][m] = s[m]


def _clip_box(b: tuple[float, float, float, float]) -> list[float] | None:
    x1, y1, x2, y2 = max(0.0, b[0]), max(0.0, b[1]), min(float(WIDTH), b[2]), min(float(HEIGHT), b[3])
    return [round(x1, 2), round(y1, 2), round(x2, 2), round(y2, 2)] if x2 - x1 >= 4 and y2 - y1 >= 4 else None


def positions(i: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """Top-left corners of the portrait and the car at frame ``i`` (linear motion)."""
    t = i / (FRAMES - 1)
    person = (int(round(60 + t * 820)), int(round(40 + t * 60)))
    car = (int(round(1000 - t * 900)), 520)
    return person, car


def render_frames():
    """Yield (index, BGR frame, truth boxes) for the sample clip."""
    rng = np.random.default_rng(2026)
    bg = _background(rng)
    portrait, face = _portrait()
    car, car_mask, plate = _car(PLATE_TEXT)
    for i in range(FRAMES):
        frame = bg.copy()
        (px, py), (cx, cy) = positions(i)
        _paste(frame, portrait, px, py)
        _paste(frame, car, cx, cy, car_mask)
        truth = []
        fb = _clip_box((px + face[0], py + face[1], px + face[2], py + face[3]))
        if fb:
            truth.append({"obj": 0, "cls": "face", "box": fb})
        pb = _clip_box((cx + plate[0], cy + plate[1], cx + plate[2], cy + plate[3]))
        if pb:
            truth.append({"obj": 1, "cls": "plate", "box": pb})
        yield i, frame, truth


def write_sample(path: str, truth_path: str | None = None) -> list[list[dict]]:
    """Write the sample clip to ``path`` (and its ground truth as JSON); return the truth."""
    truth_all: list[list[dict]] = []
    rate = 48000
    with atomic_output(path) as tmp:
        out = av.open(tmp, "w", format="mp4")
        try:
            vs = out.add_stream("libx264", rate=FPS)
            vs.width, vs.height, vs.pix_fmt = WIDTH, HEIGHT, "yuv420p"
            vs.codec_context.time_base = Fraction(1001, 30000)
            vs.codec_context.options = {"crf": "18", "preset": "veryfast"}
            aus = out.add_stream("aac", rate=rate)
            aus.layout = "stereo"
            for i, frame, truth in render_frames():
                truth_all.append(truth)
                vf = av.VideoFrame.from_ndarray(frame, format="bgr24")
                vf.pts = i
                vf.time_base = Fraction(1001, 30000)
                out.mux(vs.encode(vf))
            n = int(FRAMES * rate / FPS)
            t = np.arange(n) / rate
            tone = (0.2 * np.sin(2 * math.pi * 440 * t)).astype(np.float32)
            chunk = 1024
            for s in range(0, n, chunk):
                block = np.ascontiguousarray(np.stack([tone[s : s + chunk]] * 2))
                af = av.AudioFrame.from_ndarray(block, format="fltp", layout="stereo")
                af.sample_rate = rate
                af.pts = s
                af.time_base = Fraction(1, rate)
                out.mux(aus.encode(af))
            out.mux(vs.encode(None))
            out.mux(aus.encode(None))
        finally:
            out.close()
    if truth_path:
        with atomic_output(truth_path) as tmp, open(tmp, "w") as f:
            json.dump(truth_all, f)
    return truth_all


def truth_project(truth: list[list[dict]], media=None) -> Project:
    """A project whose tracks are the sample's ground truth (manual keyframes on every 30th frame)."""
    project = Project(media=media)
    by_obj: dict[int, list[tuple[int, dict]]] = {}
    for i, boxes in enumerate(truth):
        for b in boxes:
            by_obj.setdefault(b["obj"], []).append((i, b))
    for _obj, items in sorted(by_obj.items()):
        cls = items[0][1]["cls"]
        track = Track(id=project.new_track_id(cls), cls=cls, keyframes=[], review="approved")
        # A box cut by the frame edge stops moving linearly: key those frames (and the one after)
        # too, so interpolation between keyframes never falls short of the truth.
        clipped = {i for i, b in items if _at_edge(b["box"])}
        for i, b in items:
            if i % 30 == 0 or i == items[-1][0] or i == items[0][0] or i in clipped or i - 1 in clipped:
                track.set_keyframe(Keyframe(i, Shape.rect(*b["box"]), KeyframeSource.MANUAL))
        project.add_track(track)
    return project


def _at_edge(box: list[float]) -> bool:
    x1, y1, x2, y2 = box
    return x1 <= 0 or y1 <= 0 or x2 >= WIDTH or y2 >= HEIGHT
