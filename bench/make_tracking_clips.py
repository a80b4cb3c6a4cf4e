"""Tracking benchmark clips with exact ground truth: real face and plate crops on real footage.

    python bench/make_tracking_clips.py [--out DIR] [--frames N] [--only NAME ...] [--data DIR]

Each clip pastes crops from ``../shared/data/faces`` and ``../shared/data/plates`` (the annotated
box padded by 30 % for faces, 25 % of the plate width for plates, with a soft alpha edge that never
reaches the box itself) along scripted paths over real background footage from
``../shared/data/videos``, and writes ``NAME.mp4`` (H.264, CRF 18, yuv420p) and ``NAME.truth.json``
beside it: one list per frame of ``{"obj": id, "cls": "face"|"plate", "box": [x1, y1, x2, y2]}``, the
format of ``shared/tools/redaction_check.py``. ``index.json`` lists the clips and their scenarios.

Truth rules. A box is the pasted annotation box, mapped exactly (sub-pixel) to the frame. When part
of it is cut by the frame edge or hidden behind something drawn in front of it (an occluder bar,
or another crop), the truth box is the bounding box of the part that is still visible, with
``"vis"`` (visible share of the full box) and ``"occluded": true`` where something covers it. An
object with less than 20 % of its box visible is hidden: no entry in that frame.

Backgrounds, chosen to hold no face or plate of their own (``tracking_bench.py --check-backgrounds``
runs the detector over them to confirm it): the Intel parking-lot clip in its car-free stretches
(frames 0-54, 109-182 and 239-315; the cars that pass at other times carry plates), upscaled; and
two crops of the EgoBlur gen2 plates clip that hold no car: the trees, building and sky above the
parking rows, and the bare asphalt in front of them (the parked cars and their plates, and the
wearer's hand, are outside the crops). Source footage slower than the clip is held (not
interpolated), and played back and forth when the clip is longer than the stretch.

Sprites. Each object's crop is fixed in ``CLIPS`` (``sprite="faces/images/NAME.jpg#K"``, the K-th
box of that photo). They were drawn once in a seeded order per clip (``sprite_pools``; faces with a
mask for the objects marked ``masked``), keeping the first crops the product's detector (CenterFace
+ plate_yolov8n, at their default thresholds) finds in their source photo and when pasted at the
smallest and largest size the clip shows them: 22 of 27 drawn crops passed, 5 plates/faces were
skipped. This benchmark measures tracking, so an object the detector never sees would only add the
same leak to every mode; the detector's own recall is measured by ``obscura eval`` on the full sets.
Objects still get hard for the detector in the clips (small, cut by the edge, half hidden).

Everything is deterministic (the same bytes on every run): the crops are fixed, paths are written in fractions of the frame and
of the clip's length (so ``--frames`` shortens a clip but keeps every event in it), nothing is
random at render time, and x264 runs on one thread at sizes that are multiples of 16 (1024x576,
1280x720): otherwise its output differs slightly from run to run.
"""

from __future__ import annotations

import argparse
import functools
import glob
import json
import math
import os
import sys
import time
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tracking_scenes import (  # noqa: E402  (the clips' descriptions)
    BACKGROUNDS,
    BAR_TEXTURE,
    CLIPS,
    CLIPS_BY_NAME,
    HARD_CLIPS,
    HELD_OUT,
    Background,
    Bar,
    ClipSpec,
    Obj,
)

__all__ = ["BACKGROUNDS", "BAR_TEXTURE", "CLIPS", "CLIPS_BY_NAME", "HARD_CLIPS", "HELD_OUT", "Background",
           "Bar", "ClipSpec", "Obj"]

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
MIN_VIS = 0.2  # an object with less of its box visible than this is hidden (no truth entry)
FACE_PAD = 0.30  # of the face box's width/height, on every side
PLATE_PAD = 0.25  # of the plate box's width, on every side
MIN_FACE_H = 40  # source face boxes at least this tall
MIN_PLATE_W = 60


def default_out() -> Path:
    """``$OBSCURA_DATA/bench/tracking`` (or the user data folder): a cache, never the repository."""
    env = os.environ.get("OBSCURA_DATA")
    if env:
        return Path(env) / "bench" / "tracking"
    try:
        import platformdirs

        return Path(platformdirs.user_data_dir("obscura", appauthor=False)) / "bench" / "tracking"
    except ImportError:  # pragma: no cover
        return Path.home() / ".local" / "share" / "obscura" / "bench" / "tracking"





# --- sprites ----------------------------------------------------------------------------------


@dataclass
class Sprite:
    image: np.ndarray  # BGR float32
    alpha: np.ndarray  # float32 0..1, exactly 1 over the box
    box: tuple[float, float, float, float]  # the truth box in sprite coordinates (pixel edges)
    cls: str
    source: str


def _voc(folder: Path) -> list[tuple[str, tuple[int, int], list[tuple[str, tuple[float, ...]]]]]:
    """(file name, (width, height), [(class, box)]) for every Pascal VOC annotation, sorted by file."""
    out = []
    for x in sorted(glob.glob(str(folder / "annotations" / "*.xml"))):
        r = ET.parse(x).getroot()
        objs = []
        for o in r.iter("object"):
            bb = o.find("bndbox")
            objs.append((o.findtext("name"), tuple(float(bb.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax"))))
        size = (int(float(r.findtext("size/width") or 0)), int(float(r.findtext("size/height") or 0)))
        out.append((r.findtext("filename"), size, objs))
    return out


def _overlaps(a, b) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


@dataclass(frozen=True)
class Candidate:
    key: str  # "faces/images/NAME.jpg#K": the K-th annotated box of that photo
    kind: str  # "bare" or "masked" (faces), "plate"
    path: str
    box: tuple[float, float, float, float]
    crop: tuple[int, int, int, int]


@functools.lru_cache(maxsize=4)
def candidates(data: str, cls: str) -> tuple[Candidate, ...]:
    """Every annotated box usable as a sprite, in a fixed order.

    Usable: big enough, its padded crop inside the photo, and no other annotated box in the crop.
    """
    folder = Path(data) / ("faces" if cls == "face" else "plates")
    out = []
    for fname, (img_w, img_h), objs in _voc(folder):
        path = folder / "images" / fname
        if not path.exists() or img_w <= 0 or img_h <= 0:
            continue
        for k, (name, b) in enumerate(objs):
            w, h = b[2] - b[0], b[3] - b[1]
            if cls == "face":
                if h < MIN_FACE_H or not 0.6 <= w / h <= 1.3:
                    continue
                px, py = FACE_PAD * w, FACE_PAD * h
            else:
                if w < MIN_PLATE_W or h < 16 or not 1.5 <= w / h <= 6:
                    continue
                px = py = PLATE_PAD * w
            crop = (math.floor(b[0] - px), math.floor(b[1] - py), math.ceil(b[2] + px), math.ceil(b[3] + py))
            if crop[0] < 0 or crop[1] < 0 or crop[2] > img_w or crop[3] > img_h:
                continue
            if any(_overlaps(crop, o) for j, (_n, o) in enumerate(objs) if j != k):
                continue
            kind = ("masked" if name == "con_mascarilla" else "bare") if cls == "face" else "plate"
            out.append(Candidate(f"{folder.name}/images/{fname}#{k}", kind, str(path), b, crop))
    return tuple(out)


def _ramp(n: int, lo: float, hi: float, pad_lo: float, pad_hi: float) -> np.ndarray:
    """1 on [lo, hi], smoothstep down to 0 at the crop edges (distances in pixels)."""
    xs = np.arange(n, dtype=np.float32) + 0.5
    d = np.maximum(lo - xs, 0) / max(pad_lo, 1e-3) + np.maximum(xs - hi, 0) / max(pad_hi, 1e-3)
    t = np.clip(1.0 - d, 0.0, 1.0)
    return t * t * (3 - 2 * t)


def load_sprite(c: Candidate, cls: str) -> Sprite:
    img = cv2.imread(c.path, cv2.IMREAD_COLOR)
    x0, y0, x1, y1 = c.crop
    sub = img[y0:y1, x0:x1].astype(np.float32)
    b = c.box
    box = (b[0] - x0, b[1] - y0, b[2] - x0, b[3] - y0)
    h, w = sub.shape[:2]
    # opaque over the box grown by 10 % of its size, fading out to the crop's edge
    gx, gy = 0.1 * (box[2] - box[0]), 0.1 * (box[3] - box[1])
    ax = _ramp(w, box[0] - gx, box[2] + gx, box[0] - gx, w - box[2] - gx)
    ay = _ramp(h, box[1] - gy, box[3] + gy, box[1] - gy, h - box[3] - gy)
    alpha = np.outer(ay, ax).astype(np.float32)
    return Sprite(sub, alpha, box, cls, c.key)


def sprite_pools(spec: ClipSpec, data: Path) -> dict[str, list[Candidate]]:
    """The clip's seeded draw order of candidate crops, per kind ("bare", "masked", "plate")."""
    rng = np.random.default_rng(zlib.crc32(spec.name.encode()) + spec.seed)
    faces = candidates(str(data), "face")
    plates = candidates(str(data), "plate")
    order = rng.permutation(len(faces))
    return {
        "bare": [faces[i] for i in order if faces[i].kind == "bare"],
        "masked": [faces[i] for i in order if faces[i].kind == "masked"],
        "plate": [plates[i] for i in rng.permutation(len(plates))],
    }


def pick_sprites(spec: ClipSpec, data: Path) -> dict[int, Sprite]:
    """The clip's sprites: each object's fixed ``sprite`` key, else the next unused crop of the draw."""
    by_key = {c.key: c for cls in ("face", "plate") for c in candidates(str(data), cls)}
    pools = sprite_pools(spec, data)
    used = {o.sprite for o in spec.objects if o.sprite and o.cls != "occluder"}
    out = {}
    for o in spec.objects:
        if o.cls == "occluder":
            out[o.obj] = occluder_sprite(data, o.aspect)
            continue
        if o.sprite:
            if o.sprite not in by_key:
                raise KeyError(f"{spec.name}: sprite {o.sprite} is not a usable crop in {data}")
            item = by_key[o.sprite]
        else:
            pool = pools["plate"] if o.cls == "plate" else pools["masked" if o.masked else "bare"]
            item = next(it for it in pool if it.key not in used)
            used.add(item.key)
        out[o.obj] = load_sprite(item, o.cls)
    return out


def occluder_sprite(data: Path, aspect: float) -> Sprite:
    """A card of the bars' foliage texture, ``aspect`` wide per unit of height, with a 1.5 px soft
    edge; its "box" is the whole card."""
    frames, _rate = _source_frames(str(data), BAR_TEXTURE)
    tex = frames[0]
    th, tw = tex.shape[:2]
    h = th
    w = max(8, int(round(h * aspect)))
    if w > tw:
        w, h = tw, max(8, int(round(tw / aspect)))
    img = tex[:h, :w].astype(np.float32)
    alpha = np.outer(_ramp(h, 1.5, h - 1.5, 1.5, 1.5), _ramp(w, 1.5, w - 1.5, 1.5, 1.5)).astype(np.float32)
    return Sprite(img, alpha, (0.0, 0.0, float(w), float(h)), "occluder", "foliage card")


# --- backgrounds ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _source_frames(data: str, bg: Background) -> tuple[tuple[np.ndarray, ...], Fraction]:
    path = Path(data) / "videos" / bg.video
    frames = []
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        rate = Fraction(stream.average_rate)
        for i, fr in enumerate(c.decode(stream)):
            if i > bg.last:
                break
            if i >= bg.first:
                img = fr.to_ndarray(format="bgr24")
                if bg.crop:
                    x0, y0, x1, y1 = bg.crop
                    img = img[y0:y1, x0:x1]
                if bg.flip:
                    img = img[:, ::-1]
                frames.append(np.ascontiguousarray(img))
    if not frames:
        raise RuntimeError(f"{path}: no frames in {bg.first}..{bg.last}")
    return tuple(frames), rate


def background_frame(data: Path, name: str, t: float, width: int, height: int) -> np.ndarray:
    """The background at ``t`` seconds into its shot: source frames held, played back and forth."""
    frames, rate = _source_frames(str(data), BACKGROUNDS[name])
    n = len(frames)
    k = int(math.floor(t * float(rate) + 1e-6))
    period = max(1, 2 * (n - 1))
    k %= period
    img = frames[k if k < n else period - k]
    interp = cv2.INTER_AREA if img.shape[1] > width else cv2.INTER_CUBIC
    return cv2.resize(img, (width, height), interpolation=interp)


def _bar_layer(data: Path, bar: Bar, width: int, height: int):
    frames, _rate = _source_frames(str(data), BAR_TEXTURE)
    x0 = int(round((bar.cx - bar.w / 2) * width))
    x1 = int(round((bar.cx + bar.w / 2) * width))
    w = max(2, x1 - x0)
    tex = cv2.resize(frames[0], (w, height), interpolation=cv2.INTER_AREA).astype(np.float32)
    ax = _ramp(w, 1.5, w - 1.5, 1.5, 1.5)  # a 1.5 px soft edge
    alpha = np.repeat(ax[None, :], height, axis=0)
    return x0, 0, tex, alpha


# --- motion -----------------------------------------------------------------------------------

_EASE = {
    "lin": lambda s: s,
    "in": lambda s: s * s,
    "out": lambda s: 1 - (1 - s) * (1 - s),
    "smooth": lambda s: s * s * (3 - 2 * s),
    "acc": lambda s: (s + 2 * s * s) / 3,
}


def state_at(o: Obj, u: float) -> tuple[float, float, float] | None:
    """(cx, cy, h) in fractions of the frame at clip time ``u``, or None when the object is absent."""
    keys = o.keys
    if not keys[0][0] <= u < keys[-1][0]:
        return None
    for i in range(len(keys) - 1):
        a, b = keys[i], keys[i + 1]
        if a[0] <= u < b[0]:
            e = _EASE[o.ease[i] if i < len(o.ease) else "lin"]((u - a[0]) / (b[0] - a[0]))
            return (a[1] + (b[1] - a[1]) * e, a[2] + (b[2] - a[2]) * e, a[3] * (b[3] / a[3]) ** e)
    return None


def angle_at(o: Obj, u: float) -> float:
    """In-plane rotation in degrees at clip time ``u`` (0 without ``rot`` keys)."""
    if not o.rot:
        return 0.0
    keys = o.rot
    if u <= keys[0][0]:
        return keys[0][1]
    for a, b in zip(keys, keys[1:], strict=False):
        if a[0] <= u < b[0]:
            return a[1] + (b[1] - a[1]) * (u - a[0]) / (b[0] - a[0])
    return keys[-1][1]


# --- rendering --------------------------------------------------------------------------------


@dataclass
class _Layer:
    x0: int
    y0: int
    image: np.ndarray
    alpha: np.ndarray
    obj: Obj | None = None
    box: tuple[float, float, float, float] | None = None  # truth box in frame coordinates


def _place(sprite: Sprite, cx: float, cy: float, h: float, width: int, height: int,
           angle: float = 0.0) -> _Layer | None:
    """Warp the sprite so its box is centred on (cx, cy) px and ``h`` px tall (sub-pixel exact),
    turned by ``angle`` degrees (counter-clockwise on screen) about the box centre."""
    bx1, by1, bx2, by2 = sprite.box
    s = h / (by2 - by1)
    img, alpha = sprite.image, sprite.alpha
    kx = ky = 1.0
    if s < 0.8:  # shrink with area averaging first, so the warp below does not alias
        sh, sw = img.shape[:2]
        nw, nh = max(2, int(round(sw * s))), max(2, int(round(sh * s)))
        kx, ky = nw / sw, nh / sh
        img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA)
        alpha = cv2.resize(alpha, (nw, nh), interpolation=cv2.INTER_AREA)
    th = math.radians(angle)
    c, si = math.cos(th), -math.sin(th)  # image y points down: a positive angle turns counter-clockwise
    bcx, bcy = (bx1 + bx2) / 2, (by1 + by2) / 2
    # continuous sprite coords V -> frame X = s * R (V - box centre) + (cx, cy)
    lin = np.array([[s * c, -s * si], [s * si, s * c]], np.float64)
    t = np.array([cx, cy]) - lin @ np.array([bcx, bcy])
    if angle == 0.0:
        box = (s * bx1 + t[0], s * by1 + t[1], s * bx2 + t[0], s * by2 + t[1])
    else:  # the bounding box of the ellipse inscribed in the turned face box
        a, b = s * (bx2 - bx1) / 2, s * (by2 - by1) / 2
        hw, hh = math.hypot(a * c, b * si), math.hypot(a * si, b * c)
        box = (cx - hw, cy - hh, cx + hw, cy + hh)
    sh, sw = sprite.image.shape[:2]
    corners = lin @ np.array([[0, sw, sw, 0], [0, 0, sh, sh]], np.float64) + t[:, None]
    fx0, fy0 = corners[0].min(), corners[1].min()
    fx1, fy1 = corners[0].max(), corners[1].max()
    x0, y0 = max(0, int(math.floor(fx0))), max(0, int(math.floor(fy0)))
    x1, y1 = min(width, int(math.ceil(fx1))), min(height, int(math.ceil(fy1)))
    if x1 - x0 < 1 or y1 - y0 < 1:
        return _Layer(0, 0, np.zeros((0, 0, 3), np.float32), np.zeros((0, 0), np.float32), box=box)
    # from the (maybe shrunk) sprite's pixel indices: continuous = index + 0.5 on both sides
    lk = lin @ np.diag([1 / kx, 1 / ky])
    off = lk @ np.array([0.5, 0.5]) + t - 0.5 - np.array([x0, y0])
    m = np.hstack([lk, off[:, None]])
    size = (x1 - x0, y1 - y0)
    out = cv2.warpAffine(img, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    a = cv2.warpAffine(alpha, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return _Layer(x0, y0, out, a, box=box)


def _motion_blur(layer: _Layer, dx: float, dy: float, width: int, height: int) -> _Layer:
    """Smear the layer along (dx, dy) px (a box kernel, premultiplied alpha), growing its window."""
    n = int(math.ceil(math.hypot(dx, dy)))
    if n < 2 or not layer.alpha.size:
        return layer
    k = 2 * n + 1
    kernel = np.zeros((k, k), np.float32)
    for j in range(4 * n + 1):
        f = j / (4 * n) - 0.5
        kernel[int(round(n + f * dy)), int(round(n + f * dx))] = 1.0
    kernel /= kernel.sum()
    x0, y0 = max(0, layer.x0 - n), max(0, layer.y0 - n)
    h, w = layer.alpha.shape
    x1, y1 = min(width, layer.x0 + w + n), min(height, layer.y0 + h + n)
    a = np.zeros((y1 - y0, x1 - x0), np.float32)
    p = np.zeros((y1 - y0, x1 - x0, 3), np.float32)
    a[layer.y0 - y0 : layer.y0 - y0 + h, layer.x0 - x0 : layer.x0 - x0 + w] = layer.alpha
    p[layer.y0 - y0 : layer.y0 - y0 + h, layer.x0 - x0 : layer.x0 - x0 + w] = layer.image * layer.alpha[..., None]
    a = cv2.filter2D(a, -1, kernel, borderType=cv2.BORDER_CONSTANT)
    p = cv2.filter2D(p, -1, kernel, borderType=cv2.BORDER_CONSTANT)
    img = p / np.maximum(a, 1e-6)[..., None]
    return _Layer(x0, y0, img, np.clip(a, 0, 1), layer.obj, layer.box)


def _composite(frame: np.ndarray, layer: _Layer) -> None:
    h, w = layer.alpha.shape
    if not h or not w:
        return
    roi = frame[layer.y0 : layer.y0 + h, layer.x0 : layer.x0 + w]
    a = layer.alpha[..., None]
    roi *= 1 - a
    roi += layer.image * a


def _truth_entry(layer: _Layer, above: list[_Layer], width: int, height: int) -> dict | None:
    x1, y1, x2, y2 = layer.box
    full = (x2 - x1) * (y2 - y1)
    cx1, cy1, cx2, cy2 = max(0.0, x1), max(0.0, y1), min(float(width), x2), min(float(height), y2)
    if cx2 - cx1 < 1 or cy2 - cy1 < 1:
        return None
    # pixels of the clipped box, and how much of each the layers above cover
    px0, py0 = int(math.floor(cx1)), int(math.floor(cy1))
    px1, py1 = int(math.ceil(cx2)), int(math.ceil(cy2))
    clear = np.ones((py1 - py0, px1 - px0), np.float32)
    occluded = False
    for up in above:
        h, w = up.alpha.shape
        ox0, oy0 = max(px0, up.x0), max(py0, up.y0)
        ox1, oy1 = min(px1, up.x0 + w), min(py1, up.y0 + h)
        if ox1 <= ox0 or oy1 <= oy0:
            continue
        a = up.alpha[oy0 - up.y0 : oy1 - up.y0, ox0 - up.x0 : ox1 - up.x0]
        if (a >= 0.5).any():
            occluded = True
        clear[oy0 - py0 : oy1 - py0, ox0 - px0 : ox1 - px0] *= 1 - a
    if occluded:
        # the share of each pixel inside the box (edge pixels are partly outside)
        wx = np.clip(np.minimum(np.arange(px0, px1) + 1, cx2) - np.maximum(np.arange(px0, px1), cx1), 0, 1)
        wy = np.clip(np.minimum(np.arange(py0, py1) + 1, cy2) - np.maximum(np.arange(py0, py1), cy1), 0, 1)
        vis_px = clear >= 0.5
        visible = float((np.outer(wy, wx) * vis_px).sum())
        if not vis_px.any():
            return None
        cols, rows = np.nonzero(vis_px.any(axis=0))[0], np.nonzero(vis_px.any(axis=1))[0]
        cx1, cx2 = max(cx1, px0 + cols[0]), min(cx2, px0 + cols[-1] + 1.0)
        cy1, cy2 = max(cy1, py0 + rows[0]), min(cy2, py0 + rows[-1] + 1.0)
    else:
        visible = (cx2 - cx1) * (cy2 - cy1)
    vis = min(1.0, visible / full)
    if vis < MIN_VIS or cx2 - cx1 < 4 or cy2 - cy1 < 4:
        return None
    entry = {"obj": layer.obj.obj, "cls": layer.obj.cls, "box": [round(float(v), 2) for v in (cx1, cy1, cx2, cy2)]}
    if vis < 0.999:
        entry["vis"] = round(float(vis), 3)
    if occluded:
        entry["occluded"] = True
    return entry


def render_clip(
    spec: ClipSpec, data: Path = SHARED_DATA, objects: bool = True
) -> Iterator[tuple[int, np.ndarray, list[dict]]]:
    """Yield (index, BGR frame, truth entries) for every frame of ``spec``."""
    data = Path(data)
    w, h, n = spec.width, spec.height, spec.frames
    sprites = pick_sprites(spec, data) if objects else {}
    bars = [_Layer(*_bar_layer(data, b, w, h)) for b in spec.bars]
    fps = float(spec.fps)
    order = sorted(spec.objects, key=lambda o: (o.z, o.obj))
    for i in range(n):
        u = i / n
        start, bg = max((s for s in spec.backgrounds if s[0] <= u + 1e-9), key=lambda s: s[0])
        shot_start = math.ceil(start * n - 1e-9)
        frame = background_frame(data, bg, (i - shot_start) / fps, w, h).astype(np.float32)
        layers: list[_Layer] = []
        if objects:
            for o in order:
                st = state_at(o, u)
                if st is None:
                    continue
                layer = _place(sprites[o.obj], st[0] * w, st[1] * h, st[2] * h, w, h, angle_at(o, u))
                layer.obj = o
                if o.blur:
                    nxt = state_at(o, (i + 1) / n) or st
                    layer = _motion_blur(layer, (nxt[0] - st[0]) * w * o.blur, (nxt[1] - st[1]) * h * o.blur, w, h)
                layers.append(layer)
        layers.extend(bars)
        for layer in layers:
            _composite(frame, layer)
        if spec.light != 1.0 or spec.noise:
            frame *= spec.light
            if spec.noise:
                rng = np.random.default_rng(zlib.crc32(spec.name.encode()) * 1000 + i)
                frame += rng.normal(0.0, spec.noise, frame.shape).astype(np.float32)
        truth = []
        for k, layer in enumerate(layers):
            if layer.obj is not None and layer.obj.cls != "occluder":
                e = _truth_entry(layer, layers[k + 1 :], w, h)
                if e is not None:
                    truth.append(e)
        truth.sort(key=lambda e: e["obj"])
        yield i, np.clip(frame + 0.5, 0, 255).astype(np.uint8), truth


def _write_json(path: Path, obj) -> None:
    tmp = path.with_suffix(path.suffix + ".part")
    with open(tmp, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
    os.replace(tmp, path)


def make_clip(
    spec: ClipSpec, out: Path, data: Path = SHARED_DATA, frames: int | None = None,
    size: tuple[int, int] | None = None,
) -> tuple[Path, Path, list[list[dict]]]:
    """Render and encode one clip into ``out``; return (video path, truth path, truth)."""
    spec = spec.with_(frames, size)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    video, truth_path = out / f"{spec.name}.mp4", out / f"{spec.name}.truth.json"
    part = out / f"{spec.name}.part.mp4"
    tb = Fraction(1) / spec.fps
    truth_all: list[list[dict]] = []
    with av.open(str(part), "w", format="mp4") as c:
        vs = c.add_stream("libx264", rate=spec.fps)
        vs.width, vs.height, vs.pix_fmt = spec.width, spec.height, "yuv420p"
        vs.codec_context.time_base = tb
        # x264 on one thread: with its worker threads, the bytes change from run to run
        vs.codec_context.options = {"crf": str(spec.crf), "preset": "fast", "x264-params": "threads=1:lookahead-threads=1"}
        for i, frame, truth in render_clip(spec, data):
            truth_all.append(truth)
            vf = av.VideoFrame.from_ndarray(frame, format="bgr24")
            vf.pts, vf.time_base = i, tb
            c.mux(vs.encode(vf))
        c.mux(vs.encode(None))
    os.replace(part, video)
    _write_json(truth_path, truth_all)
    return video, truth_path, truth_all


def describe(spec: ClipSpec, data: Path = SHARED_DATA) -> dict:
    sprites = pick_sprites(spec, data)
    return {
        "name": spec.name, "video": f"{spec.name}.mp4", "truth": f"{spec.name}.truth.json",
        "width": spec.width, "height": spec.height, "fps": str(spec.fps), "frames": spec.frames,
        "scenarios": list(spec.scenarios),
        "backgrounds": [{"from_frame": math.ceil(u * spec.frames - 1e-9), "name": b,
                         "source": BACKGROUNDS[b].video, "frames": [BACKGROUNDS[b].first, BACKGROUNDS[b].last],
                         "crop": BACKGROUNDS[b].crop, "flip": BACKGROUNDS[b].flip} for u, b in spec.backgrounds],
        "objects": [{"obj": o.obj, "cls": o.cls, "source": sprites[o.obj].source} for o in spec.objects],
        "held_out": spec.name == HELD_OUT,
        "bars": len(spec.bars),
    }


def make_all(out: Path | None = None, frames: int | None = None, data: Path = SHARED_DATA,
             only: list[str] | None = None, log=print) -> list[dict]:
    out = Path(out) if out else default_out()
    specs = [CLIPS_BY_NAME[n] for n in only] if only else list(CLIPS)
    index = []
    for spec in specs:
        t0 = time.perf_counter()
        spec = spec.with_(frames)
        _video, _tp, truth = make_clip(spec, out, data)
        n_obj = len({e["obj"] for f in truth for e in f})
        n_of = sum(len(f) for f in truth)
        log(f"{spec.name}: {spec.width}x{spec.height} {float(spec.fps):.3f} fps, {spec.frames} frames, "
            f"{n_obj} objects, {n_of} object-frames ({time.perf_counter() - t0:.1f} s)")
        index.append(describe(spec, data))
    old = []
    if only and (out / "index.json").exists():  # keep the other clips' entries
        old = [c for c in json.loads((out / "index.json").read_text())["clips"] if c["name"] not in only]
    clips = sorted(old + index, key=lambda c: c["name"])
    _write_json(out / "index.json", {"generator": "bench/make_tracking_clips.py", "clips": clips})
    return index


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=None, help=f"output folder (default {default_out()})")
    ap.add_argument("--frames", type=int, default=None, help="frames per clip (default: each clip's own, 150-200)")
    ap.add_argument("--only", nargs="*", choices=sorted(CLIPS_BY_NAME), help="make only these clips")
    ap.add_argument("--data", type=Path, default=SHARED_DATA, help="the shared data folder (faces/, plates/, videos/)")
    args = ap.parse_args(argv)
    for sub in ("faces", "plates", "videos"):
        if not (args.data / sub).is_dir():
            sys.exit(f"{args.data / sub} not found: point --data at the shared data folder")
    out = args.out or default_out()
    make_all(out, args.frames, args.data, args.only)
    print(f"clips written to {out}")


if __name__ == "__main__":
    main()
