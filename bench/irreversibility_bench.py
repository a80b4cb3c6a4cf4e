"""Irreversibility benchmark: does the face detector still find a face once it is redacted?

    python bench/irreversibility_bench.py [--data DIR] [--limit N] [--min-height PX] [--sweep]
                                          [--sweep-styles face ...] [--device auto|cpu|cuda] [--json OUT]

For each default style (``DEFAULT_STYLES``: face, plate, manual: their margins and feathers) and
each method (gaussian, pixelate, solid, at the style's default strength), every annotated face of
real photos (``../shared/data/faces``, Pascal VOC boxes) is redacted with the product's own
renderer (``redact_bgr``), exactly as the export draws it. Then the face detector (CenterFace, the
product's) is run on each redacted face: a crop around it with context (the box plus 60 % on every
side), at its own size and upscaled so the face is ~100 px and ~200 px tall (what CenterFace
handles best), at a very low threshold (0.05); the face's score is the best detection whose box
overlaps the face's box (IoU >= 0.3, or its centre inside the box).

Reported per style: the max and mean score over the faces the detector finds in the clean photo
with score >= 0.5 ("detectable" faces: a face it never found says nothing about the redaction),
how many score > 0.5 after redaction, and whether the style passes the bar (no score > 0.5: the
issue's "any default style under which the detector still finds the face with score > 0.5 is
too weak"). The same is measured on a crop of the fully redacted area alone ("mask-only": what
the redacted pixels themselves give away, without the hair, ears and head outline around a small
margin, which the detector also uses: even a solid fill scores high when the margin is small).
``--sweep`` also tries higher strengths (80, 90, 100) for the failing methods of the styles named
by ``--sweep-styles`` (default: face) and reports the lowest that passes.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.shapes import Shape  # noqa: E402
from app.core.style import DEFAULT_STYLES, RedactionMethod, RedactionStyle  # noqa: E402
from app.detection.detections import box_iou  # noqa: E402
from app.redaction.compose import redact_bgr  # noqa: E402
from app.redaction.masks import grown_points  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "faces"
CONTEXT = 0.6  # crop: the face box plus this share of its size on every side
TARGET_HEIGHTS = (None, 100, 200)  # the crop at its own size, and with the face ~100 / ~200 px tall
MAX_UPSCALE = 8.0
BAR = 0.5
DETECTABLE = 0.5


def load_faces(folder: Path, limit: int, min_height: float) -> list[tuple[str, list[tuple[float, ...]]]]:
    """(image path, every annotated face box) for the first ``limit`` photos holding a face at least
    ``min_height`` px tall (all of a photo's faces are redacted; the small ones are not scored)."""
    out = []
    for xml in sorted(glob.glob(str(folder / "annotations" / "*.xml"))):
        root = ET.parse(xml).getroot()
        boxes = []
        for o in root.findall("object"):
            b = o.find("bndbox")
            boxes.append(tuple(float(b.find(k).text) for k in ("xmin", "ymin", "xmax", "ymax")))
        if not any(b[3] - b[1] >= min_height for b in boxes):
            continue
        name = root.findtext("filename") or (Path(xml).stem + ".png")
        img = folder / "images" / name
        if not img.exists():
            cands = glob.glob(str(folder / "images" / (Path(xml).stem + ".*")))
            if not cands:
                continue
            img = Path(cands[0])
        out.append((str(img), boxes))
        if len(out) >= limit:
            break
    return out


def face_score(detector, image: np.ndarray, box, crop_box=None) -> float:
    """The detector's best score for the face at ``box`` in ``image``: on a crop around it (the box
    plus CONTEXT on every side, or ``crop_box``), at its own size and upscaled."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = box
    bw, bh = x2 - x1, y2 - y1
    if crop_box is None:
        crop_box = (x1 - CONTEXT * bw, y1 - CONTEXT * bh, x2 + CONTEXT * bw, y2 + CONTEXT * bh)
    cx1, cy1 = int(max(0, np.floor(crop_box[0]))), int(max(0, np.floor(crop_box[1])))
    cx2, cy2 = int(min(w, np.ceil(crop_box[2]))), int(min(h, np.ceil(crop_box[3])))
    if cx2 - cx1 < 4 or cy2 - cy1 < 4:
        return 0.0
    crop = np.ascontiguousarray(image[cy1:cy2, cx1:cx2])
    local = np.array([[x1 - cx1, y1 - cy1, x2 - cx1, y2 - cy1]], np.float32)
    best = 0.0
    for target in TARGET_HEIGHTS:
        s = 1.0 if target is None else float(np.clip(target / max(1.0, bh), 1.0, MAX_UPSCALE))
        if target is not None and s == 1.0:
            continue
        img = crop if s == 1.0 else cv2.resize(crop, None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC)
        d = detector.face.detect([img], [0])
        if not len(d):
            continue
        boxes = d.xyxy / s
        iou = box_iou(boxes, local)[:, 0]
        cxs, cys = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
        inside = (cxs >= local[0, 0]) & (cxs <= local[0, 2]) & (cys >= local[0, 1]) & (cys <= local[0, 3])
        ok = (iou >= 0.3) | inside
        if ok.any():
            best = max(best, float(d.score[ok].max()))
    return best


def mask_box(box, style: RedactionStyle) -> tuple[float, float, float, float]:
    """The grown box the style redacts at full strength (the margin; the feather lies outside it)."""
    pts = grown_points(Shape.rect(*box), style.margin)
    return (*pts.min(axis=0), *pts.max(axis=0))


def styles(strengths: dict[str, float] | None = None) -> dict[str, RedactionStyle]:
    out = {}
    for name, base in DEFAULT_STYLES.items():
        for m in RedactionMethod:
            st = base.replace(method=m)
            if strengths and m.value in strengths:
                st = st.replace(strength=strengths[m.value])
            out[f"{name}/{m.value}"] = st
    return out


def run_styles(detector, items, todo: dict[str, RedactionStyle], min_height: float, clean: list[float],
               mask_only: bool = True):
    res = {}
    for key, st in todo.items():
        scores, inner = [], []
        for (path, boxes), base in zip(items, clean, strict=True):
            img = cv2.imread(path, cv2.IMREAD_COLOR)
            red = redact_bgr(img, [(Shape.rect(*b), st) for b in boxes])
            for b, c in zip(boxes, base, strict=True):
                if b[3] - b[1] >= min_height and c >= DETECTABLE:
                    scores.append(face_score(detector, red, b))
                    if mask_only:
                        inner.append(face_score(detector, red, b, mask_box(b, st)))
        arr = np.array(scores) if scores else np.zeros(1)
        r = {"style": st.to_dict(), "faces": len(scores), "max": round(float(arr.max()), 3),
             "mean": round(float(arr.mean()), 3), "p99": round(float(np.percentile(arr, 99)), 3),
             "over_bar": int((arr > BAR).sum()), "passes": bool(arr.max() <= BAR)}
        if mask_only:
            inn = np.array(inner) if inner else np.zeros(1)
            r.update(mask_only_max=round(float(inn.max()), 3), mask_only_mean=round(float(inn.mean()), 3),
                     mask_only_over_bar=int((inn > BAR).sum()))
        res[key] = r
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DATA, help="faces folder with images/ and annotations/")
    ap.add_argument("--limit", type=int, default=120, help="photos to use")
    ap.add_argument("--min-height", type=float, default=32, help="score faces at least this tall (px)")
    ap.add_argument("--sweep", action="store_true", help="find the lowest strength that passes for failing methods")
    ap.add_argument("--sweep-styles", nargs="*", default=["face"], help="styles to sweep (default: face)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    if not (args.data / "annotations").is_dir():
        print(f"faces set not found: {args.data}")
        return 2

    from app.detection.detector import Detector, DetectorConfig

    t0 = time.perf_counter()
    detector = Detector(DetectorConfig(device=args.device, plates=False, face_threshold=0.05, low_factor=1.0))
    items = load_faces(args.data, args.limit, args.min_height)
    clean = []
    for path, boxes in items:
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        clean.append([face_score(detector, img, b) if b[3] - b[1] >= args.min_height else 0.0 for b in boxes])
    flat = [c for (path, boxes), cs in zip(items, clean, strict=True) for b, c in zip(boxes, cs, strict=True)
            if b[3] - b[1] >= args.min_height]
    detectable = sum(c >= DETECTABLE for c in flat)
    print(f"{detector.describe()} ({os.cpu_count()} CPUs)")
    print(f"{len(items)} photos, {len(flat)} faces >= {args.min_height:g} px tall; the detector finds {detectable} "
          f"of them with score >= {DETECTABLE} unredacted (mean {np.mean(flat):.3f}): those are scored below")
    res = run_styles(detector, items, styles(), args.min_height, clean)
    head = (f"{'style':<8} {'method':<9} {'strength':>8} {'margin':>6} {'faces':>6} {'max':>6} {'mean':>6} {'p99':>6} "
            f"{'>0.5':>5} {'mask-only max':>13} {'mean':>6} {'>0.5':>5}  verdict")
    print()
    print("score: the face detector's best score on the redacted face, on a crop with 60 % context around it;")
    print("mask-only: on a crop of the fully redacted area alone (what the redacted pixels themselves give away)")
    print(head)
    print("-" * len(head))
    for key, r in res.items():
        name, method = key.split("/")
        st = r["style"]
        print(f"{name:<8} {method:<9} {st['strength']:>8g} {st['margin']:>6g} {r['faces']:>6} {r['max']:>6.3f} "
              f"{r['mean']:>6.3f} {r['p99']:>6.3f} {r['over_bar']:>5} {r['mask_only_max']:>13.3f} "
              f"{r['mask_only_mean']:>6.3f} {r['mask_only_over_bar']:>5}  {'passes' if r['passes'] else 'TOO WEAK'}")
    out = {"faces": len(flat), "detectable": detectable, "styles": res}
    if args.sweep:
        sweep = {}
        for key, r in res.items():
            name, method = key.split("/")
            if r["passes"] or method == "solid" or name not in args.sweep_styles:
                continue
            for strength in (80, 90, 100):
                st = DEFAULT_STYLES[name].replace(method=method, strength=strength)
                x = run_styles(detector, items, {key: st}, args.min_height, clean, mask_only=False)[key]
                sweep.setdefault(key, []).append({"strength": strength, "max": x["max"], "passes": x["passes"]})
                print(f"sweep {key} strength {strength}: max {x['max']:.3f}, {x['over_bar']} faces > {BAR}"
                      + ("  -> passes" if x["passes"] else ""), flush=True)
                if x["passes"]:
                    break
        out["sweep"] = sweep
    print(f"bench took {time.perf_counter() - t0:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
