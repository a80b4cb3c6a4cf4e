"""CenterFace alone vs CenterFace + RetinaFace (NMS-merged) on labelled face photos.

For each RetinaFace input size and score threshold: recall of faces at least ``--min-height`` px
tall (IoU >= 0.4, as ``obscura eval``), false boxes per image (detections that overlap no labelled
face of any size by IoU >= 0.2: a lower bound on precision, some faces are not labelled), and
milliseconds per image of each model on this machine.

    python bench/face_ensemble_bench.py ../shared/data/faces [--limit N] [--sizes 640 1280] [--device cpu]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.detection import models  # noqa: E402
from app.detection.detections import box_iou as iou_matrix  # noqa: E402
from app.detection.detections import nms  # noqa: E402
from app.detection.detector import Detector, DetectorConfig  # noqa: E402
from app.detection.retinaface import RetinaFace  # noqa: E402
from app.evaluation import load_dataset  # noqa: E402


def recall_and_false(gt_all, dets, min_h: float) -> tuple[int, int, int]:
    """(faces >= min_h found, faces >= min_h, detections overlapping no labelled face)."""
    big = [g for g in gt_all if g[3] - g[1] >= min_h]
    if len(dets) == 0:
        return 0, len(big), 0
    hit = 0
    if big:
        m = iou_matrix(np.asarray(big, np.float32), dets)
        hit = int((m.max(axis=1) >= 0.4).sum())
    if gt_all:
        false = int((iou_matrix(dets, np.asarray(gt_all, np.float32)).max(axis=1) < 0.2).sum())
    else:
        false = len(dets)
    return hit, len(big), false


def merged(a: np.ndarray, sa: np.ndarray, b: np.ndarray, sb: np.ndarray, iou: float) -> np.ndarray:
    boxes = np.concatenate([a, b]).astype(np.float32)
    scores = np.concatenate([sa, sb]).astype(np.float32)
    return boxes[nms(boxes, scores, iou)] if len(boxes) else boxes


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("dataset")
    p.add_argument("--limit", type=int)
    p.add_argument("--sizes", type=int, nargs="+", default=[640, 1280])
    p.add_argument("--thresholds", type=float, nargs="+", default=[0.3, 0.5, 0.7, 0.9])
    p.add_argument("--min-height", type=float, default=32)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None)
    a = p.parse_args()

    items = [it for it in load_dataset(a.dataset, None) if any(c == "face" for c in it.classes)]
    if a.limit:
        items = items[: a.limit]
    det = Detector(DetectorConfig(device=a.device, plates=False, face_models="centerface", threads=a.threads))
    s = models.spec("retinaface")
    rf = RetinaFace(models.verified_bytes(s), det.device, threshold=min(a.thresholds), threads=a.threads)
    t_cf = 0.0
    t_rf = dict.fromkeys(a.sizes, 0.0)
    acc = {"centerface": [0, 0, 0]}
    for size in a.sizes:
        for th in a.thresholds:
            acc[f"+rf{size}@{th}"] = [0, 0, 0]
            acc[f"rf{size}@{th} alone"] = [0, 0, 0]
    n = 0
    for it in items:
        img = cv2.imread(it.image)
        if img is None:
            continue
        n += 1
        gt = [tuple(float(v) for v in b) for b, c in zip(it.boxes, it.classes, strict=True) if c == "face"]
        t0 = time.perf_counter()
        d = det.detect([img], [0])
        t_cf += time.perf_counter() - t0
        cf_boxes, cf_scores = d.xyxy, d.score
        acc["centerface"] = [x + y for x, y in zip(acc["centerface"], recall_and_false(gt, cf_boxes, a.min_height),
                                                   strict=True)]
        for size in a.sizes:
            t0 = time.perf_counter()
            r = rf.detect([img], [0], long_side=size)
            t_rf[size] += time.perf_counter() - t0
            for th in a.thresholds:
                sel = r.score >= th
                m = merged(cf_boxes, cf_scores, r.xyxy[sel], r.score[sel], 0.5)
                for key, boxes in ((f"+rf{size}@{th}", m), (f"rf{size}@{th} alone", r.xyxy[sel])):
                    acc[key] = [x + y for x, y in zip(acc[key], recall_and_false(gt, boxes, a.min_height), strict=True)]
    print(f"{n} images from {a.dataset}; faces >= {a.min_height:g} px: {acc['centerface'][1]}")
    print(f"{'setting':<22} {'recall':>7} {'found':>6} {'false/img':>9}")
    for key, (hit, tot, false) in acc.items():
        print(f"{key:<22} {hit / max(1, tot):7.3f} {hit:6d} {false / max(1, n):9.2f}")
    print(f"ms/image: CenterFace (product full pass) {t_cf / max(1, n) * 1000:.1f}; "
          + "; ".join(f"RetinaFace@{s_} {t / max(1, n) * 1000:.1f}" for s_, t in t_rf.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
