"""Click-to-track benchmark: CSRT, KCF and MIL through ``app.tracking.follow`` on clips with known boxes.

    python bench/follow_bench.py [--trackers csrt kcf mil] [--only NAME ...] [--raw] [--json OUT]

Clips (each followed from a box at one frame, forward or backward, by ``follow()`` itself, so
the numbers include decoding, the working scale and the confidence check):

* ``synthetic``: a generated 1280x720 clip (made here, deterministic): a textured object on a
  textured background that pans, moving on a curve, growing from 70x56 to 190x152 px (x2.7) and
  slowly getting brighter. Truth: the pasted box, exact. Followed forward from frame 0 and backward
  from the last frame.
* ``egoblur``: ``../shared/data/videos/egoblur_gen1_faces_608x1080.mp4``, 600 frames of a real
  face filmed with a head-worn camera (it turns, tilts, and leans in at the end: x1.9). The clip
  has no truth, so the reference is the product's face detector (CenterFace at its seed
  threshold, one face per frame, computed once and cached in the user data folder under
  ``bench/follow``). Followed forward from frame 0 and backward from frame 599 with the
  reference box there; IoU against a detector is capped below 1 by the two boxes' different
  conventions, so compare trackers with each other, not with 1.
* ``t3_face``: the face that approaches the camera x7 in ``t3_asphalt_scale`` from
  ``bench/make_tracking_clips.py`` (a real face crop pasted on real footage, exact truth), when
  those clips have been made (``python bench/make_tracking_clips.py``).

Columns: ``followed``: frames with a box past the start (and why it stopped); ``on target``:
frames from the start until the first one with IoU < 0.5 against the truth (how long it really
followed); ``mIoU``: mean IoU over the frames with a box; ``scale``: the last box's area over the
truth's, as a side ratio (1.00 = the box kept the object's size); ``ms/f``: wall time per frame
followed, decoding included (the ``decode`` row is decoding alone at the same working scale).

Then, when the tracking clips exist, a stopping table: every object of t1-t4 followed forward from
its first fully visible frame, with the frame it gets hidden (gone, or under 25 % visible, behind an
occluder bar, another object or the frame edge): boxes emitted at or after it (``past``: boxes on
something else) and frames before it with no box (``early``: the operator has to click again).

``--raw`` also runs with ``min_confidence=0`` (no confidence stop), to see each tracker's own
accuracy over the whole range.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.assets import data_dir  # noqa: E402
from app.base.progress import run  # noqa: E402
from app.media.probe import probe  # noqa: E402
from app.media.reader import VideoReader  # noqa: E402
from app.tracking.follow import FollowParams, available_trackers, follow  # noqa: E402
from tests.media_factory import blob_texture  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EGOBLUR = ROOT.parent / "shared" / "data" / "videos" / "egoblur_gen1_faces_608x1080.mp4"
CACHE = data_dir() / "bench" / "follow"
TRACKING_CLIPS = data_dir() / "bench" / "tracking"


# --- clips ------------------------------------------------------------------------------------------
def make_synthetic(path: Path, width: int = 1280, height: int = 720, frames: int = 150) -> list[list[float]]:
    """Write the synthetic clip; returns the truth box per frame."""
    rng = np.random.default_rng(7)
    bg = blob_texture(rng, width + 200, height + 120, 300, cell=24, radii=(30, 8), noise=6)
    sprite = blob_texture(rng, 250, 200, 40, cell=24, radii=(30, 8), noise=6)
    cv2.rectangle(sprite, (0, 0), (249, 199), (20, 20, 20), 6)
    truth = []
    with av.open(str(path), "w") as out:
        st = out.add_stream("libx264", rate=Fraction(30))
        st.width, st.height, st.pix_fmt = width, height, "yuv420p"
        st.options = {"crf": "20", "preset": "veryfast"}
        st.codec_context.gop_size = 30
        st.thread_count = 1
        for i in range(frames):
            t = i / (frames - 1)
            ox, oy = int(100 + 90 * math.sin(2 * math.pi * t)), int(60 * t)  # camera pan
            img = bg[oy:oy + height, ox:ox + width].copy()
            sw = int(round(70 + 120 * t))
            sh = int(round(sw * 0.8))
            cx = width * (0.2 + 0.55 * t) + 80 * math.sin(3 * math.pi * t)
            cy = height * (0.5 + 0.2 * math.sin(2 * math.pi * t))
            x, y = int(round(cx - sw / 2)), int(round(cy - sh / 2))
            spr = cv2.resize(sprite, (sw, sh), interpolation=cv2.INTER_AREA)
            spr = np.clip(spr.astype(np.float32) * (1.0 + 0.25 * t), 0, 255).astype(np.uint8)
            img[y:y + sh, x:x + sw] = spr
            truth.append([float(x), float(y), float(x + sw), float(y + sh)])
            frame = av.VideoFrame.from_ndarray(img, format="bgr24")
            for p in st.encode(frame):
                out.mux(p)
        for p in st.encode():
            out.mux(p)
    return truth


def egoblur_reference() -> list[list[float]] | None:
    """One face box per frame from the product's detector (cached)."""
    if not EGOBLUR.exists():
        return None
    cache = CACHE / "egoblur_gen1_faces.reference.json"
    if cache.exists():
        return json.loads(cache.read_text())
    from app.detection.detector import Detector, DetectorConfig

    print("egoblur: running the face detector once for the reference boxes ...", flush=True)
    det = Detector(DetectorConfig(device="cpu", plates=False))
    boxes: list[list[float] | None] = []
    with VideoReader(str(EGOBLUR)) as r:
        batch, idx = [], []
        for f in r.frames():
            batch.append(f.to_bgr())
            idx.append(f.index)
            if len(batch) == 8 or f.index == r.info.frame_count - 1:
                d = det.detect(batch, idx)
                for i in idx:
                    sel = np.nonzero(d.frame == i)[0]
                    boxes.append(d.xyxy[sel[np.argmax(d.score[sel])]].tolist() if len(sel) else None)
                batch, idx = [], []
    CACHE.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(boxes))
    return boxes


def t3_truth() -> tuple[Path, list[list[float] | None]] | None:
    video = TRACKING_CLIPS / "t3_asphalt_scale.mp4"
    truth = TRACKING_CLIPS / "t3_asphalt_scale.truth.json"
    if not (video.exists() and truth.exists()):
        return None
    frames = json.loads(truth.read_text())
    return video, [next((o["box"] for o in f if o["obj"] == 0), None) for f in frames]


# --- measuring ---------------------------------------------------------------------------------------
def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def measure(path: Path, info, truth, start: int, direction: int, params: FollowParams) -> dict:
    t0 = time.perf_counter()
    seen = []
    res = run(follow(str(path), info, start, tuple(truth[start]), direction, params), seen.append)
    wall = time.perf_counter() - t0
    frames = sorted(res.boxes, reverse=direction < 0)
    ious = [iou(res.boxes[f], truth[f]) for f in frames if truth[f] is not None]
    on_target = 0
    for f in frames[1:]:
        if truth[f] is None or iou(res.boxes[f], truth[f]) < 0.5:
            break
        on_target += 1
    last = frames[-1]
    scale = float("nan")
    if truth[last] is not None:
        bx, tx = res.boxes[last], truth[last]
        scale = math.sqrt(((bx[2] - bx[0]) * (bx[3] - bx[1])) / max(1e-6, (tx[2] - tx[0]) * (tx[3] - tx[1])))
    followed = len(frames) - 1
    processed = max(1, seen[-1].done)  # frames the tracker ran on (the low ones before a stop included)
    return {
        "followed": followed, "stopped": res.stopped, "detail": res.detail, "on_target": on_target,
        "miou": float(np.mean(ious)) if ious else 0.0, "scale": scale,
        "ms_per_frame": 1000 * wall / processed, "tracker": res.tracker,
        "min_score": min(res.scores.values()), "range": abs(len(truth) - 1 - start if direction > 0 else start),
    }


def stop_cases() -> list[tuple[str, Path, list, list]]:
    """Every object of the tracking clips that gets hidden (occluder bars, crossings, the frame edge)."""
    cases = []
    for clip in ("t1_lot_mixed", "t2_trees_crossing", "t3_asphalt_scale", "t4_lot_occlusion"):
        video, truth = TRACKING_CLIPS / f"{clip}.mp4", TRACKING_CLIPS / f"{clip}.truth.json"
        if not (video.exists() and truth.exists()):
            continue
        frames = json.loads(truth.read_text())
        for obj in sorted({o["obj"] for f in frames for o in f}):
            entries = [next((o for o in f if o["obj"] == obj), None) for f in frames]
            cases.append((f"{clip}:{obj}", video, entries))
    return cases


def measure_stop(video: Path, info, entries: list, params: FollowParams) -> dict | None:
    """Follow from the first fully visible frame; compare the stop with the frame the object is
    hidden (gone, or under 25 % visible)."""
    start = next((i for i, e in enumerate(entries) if e and not e.get("occluded") and e.get("vis", 1) > 0.95), None)
    if start is None:
        return None
    hidden = next((i for i in range(start + 1, len(entries))
                   if entries[i] is None or entries[i].get("vis", 1) < 0.25), None)
    res = run(follow(str(video), info, start, tuple(entries[start]["box"]), 1, params))
    visible = [f for f in res.boxes if f != start and entries[f] and entries[f].get("vis", 1) >= 0.9]
    out = {
        "hidden": hidden, "last": res.last_frame, "stopped": res.stopped,
        "past": max(0, res.last_frame - hidden + 1) if hidden is not None else 0,
        "early": max(0, (hidden if hidden is not None else len(entries)) - 1 - res.last_frame),
        "miou_visible": float(np.mean([iou(res.boxes[f], entries[f]["box"]) for f in visible])) if visible else 0.0,
    }
    return out


def decode_ms(path: Path, info, long_side: int) -> float:
    s = min(1.0, long_side / max(info.width, info.height))
    w, h = int(round(info.width * s)), int(round(info.height * s))
    t0 = time.perf_counter()
    n = 0
    with VideoReader(str(path), info) as r:
        for f in r.frames():
            (f.to_bgr() if s >= 1 else f.to_bgr_scaled(w, h))
            n += 1
    return 1000 * (time.perf_counter() - t0) / max(1, n)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trackers", nargs="+", default=["csrt", "kcf", "mil"])
    ap.add_argument("--only", nargs="+", help="clip names: synthetic egoblur t3_face")
    ap.add_argument("--raw", action="store_true", help="also run without the confidence stop")
    ap.add_argument("--no-stops", action="store_true", help="skip the stop-on-occlusion section")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    have = available_trackers()
    missing = [t for t in args.trackers if t not in have]
    if missing:
        print(f"not in this OpenCV build (needs opencv-contrib-python-headless): {', '.join(missing)}")
    trackers = [t for t in args.trackers if t in have]

    CACHE.mkdir(parents=True, exist_ok=True)
    cases = []  # (clip, path, truth, start, direction)
    if not args.only or "synthetic" in args.only:
        syn = CACHE / "synthetic_1280x720.mp4"
        syn_truth = CACHE / "synthetic_1280x720.truth.json"
        if not (syn.exists() and syn_truth.exists()):
            syn_truth.write_text(json.dumps(make_synthetic(syn)))
        truth = json.loads(syn_truth.read_text())
        cases += [("synthetic", syn, truth, 0, 1), ("synthetic", syn, truth, len(truth) - 1, -1)]
    if not args.only or "egoblur" in args.only:
        ref = egoblur_reference()
        if ref is None:
            print(f"egoblur: {EGOBLUR} is absent, skipped")
        else:
            cases += [("egoblur", EGOBLUR, ref, 0, 1), ("egoblur", EGOBLUR, ref, len(ref) - 1, -1)]
    if not args.only or "t3_face" in args.only:
        t3 = t3_truth()
        if t3 is None:
            print("t3_face: run bench/make_tracking_clips.py first, skipped")
        else:
            cases.append(("t3_face", t3[0], t3[1], 0, 1))

    variants = [("", FollowParams())]
    if args.raw:
        variants.append((" raw", replace(FollowParams(), min_confidence=0.0)))
    results = []
    header = (f"{'clip':<10} {'dir':<4} {'tracker':<9} {'followed':>14} {'on target':>10} {'mIoU':>6} "
              f"{'scale':>6} {'ms/f':>6} {'min conf':>8}")
    print(header)
    print("-" * len(header))
    infos = {}
    for clip, path, truth, start, direction in cases:
        info = infos.get(path) or probe(str(path))
        infos[path] = info
        for t in trackers:
            for suffix, base in variants:
                params = replace(base, tracker=t)
                m = measure(path, info, truth, start, direction, params)
                m.update(clip=clip, direction=direction, variant=t + suffix)
                results.append(m)
                followed = f"{m['followed']}/{m['range']} {m['stopped'][:4]}"
                print(f"{clip:<10} {'fwd' if direction > 0 else 'bwd':<4} {t + suffix:<9} {followed:>14} "
                      f"{m['on_target']:>10} {m['miou']:>6.3f} {m['scale']:>6.2f} {m['ms_per_frame']:>6.1f} "
                      f"{m['min_score']:>8.2f}", flush=True)
    stops = [] if args.no_stops else stop_cases()
    if stops:
        print()
        print("Stopping: every object of the tracking clips that gets hidden, followed forward from its first")
        print("fully visible frame. past: frames with a box at or after the one where it is hidden (gone or")
        print("under 25 % visible); early: frames before that with no box; mIoU on the frames it is >= 90 % visible.")
        print(f"{'tracker':<8} {'objects':>7} {'hidden':>6} {'past':>5} {'early':>6} {'early>5':>7} {'mIoU vis':>8}  per object (last/hidden)")
        for t in trackers:
            rows = []
            for name, video, entries in stops:
                info = infos.get(video) or probe(str(video))
                infos[video] = info
                m = measure_stop(video, info, entries, replace(FollowParams(), tracker=t))
                if m is not None:
                    m.update(tracker=t, object=name)
                    rows.append(m)
            results.extend({"section": "stops", **r} for r in rows)
            hid = [r for r in rows if r["hidden"] is not None]
            per = " ".join(f"{r['object'].split('_')[0]}:{r['object'].split(':')[1]}={r['last']}/{r['hidden']}" for r in rows)
            print(f"{t:<8} {len(rows):>7} {len(hid):>6} {sum(r['past'] for r in rows):>5} "
                  f"{sum(r['early'] for r in rows):>6} {sum(r['early'] > 5 for r in rows):>7} "
                  f"{np.mean([r['miou_visible'] for r in rows]):>8.3f}  {per}", flush=True)
    print()
    for path, info in infos.items():
        ms = decode_ms(path, info, FollowParams().work_long_side)
        print(f"decode alone, {os.path.basename(str(path))} ({info.width}x{info.height}): {ms:.1f} ms/frame")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
