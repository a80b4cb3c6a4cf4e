"""`obscura eval`: recall, precision, AP and mask coverage of the detectors on a labelled image set.

Ground truth formats: Pascal VOC XML (one file per image), WIDER FACE's txt (file name, box count,
then "x y w h ..." lines) and a simple CSV (``file,x1,y1,x2,y2,class``). For anonymisation recall is
the figure that matters: a missed face is a leak. Precision is a lower bound on sets where some
faces or plates are not annotated.

With a size cut (``min_height``) the protocol is COCO's area-range rule: ground-truth boxes below
the cut are ignored (a detection on one is neither right nor wrong), and so are unmatched
detections below the cut.
"""

from __future__ import annotations

import csv
import glob
import html
import json
import os
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from app.detection.detections import Detections, box_iou
from app.errors import ObscuraError

FACE_NAMES = {"face", "con_mascarilla", "sin_mascarilla", "mascarilla_mal_puesta", "with_mask", "without_mask",
              "mask_weared_incorrect"}
PLATE_NAMES = {"plate", "licence", "license", "license_plate", "licence_plate", "number_plate"}
SIZE_BINS = ((0, 16), (16, 32), (32, 64), (64, 128), (128, 100000))


def class_of(name: str) -> str:
    n = name.strip().lower()
    if n in FACE_NAMES or "face" in n or "mask" in n:
        return "face"
    if n in PLATE_NAMES or "plate" in n or "licen" in n:
        return "plate"
    return n


@dataclass
class Item:
    image: str
    boxes: np.ndarray  # (N, 4)
    classes: list[str]


def load_voc(images_dir: str, ann_dir: str) -> list[Item]:
    items = []
    for x in sorted(glob.glob(os.path.join(ann_dir, "*.xml"))):
        try:
            root = ET.parse(x).getroot()
        except ET.ParseError as e:
            raise ObscuraError(f"bad annotation file {x}: {e}") from None
        name = root.findtext("filename") or os.path.splitext(os.path.basename(x))[0] + ".jpg"
        boxes, classes = [], []
        for o in root.iter("object"):
            bb = o.find("bndbox")
            if bb is None:
                continue
            boxes.append([float(bb.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax")])
            classes.append(class_of(o.findtext("name") or ""))
        path = os.path.join(images_dir, name)
        if os.path.exists(path):
            items.append(Item(path, np.asarray(boxes, np.float32).reshape(-1, 4), classes))
    return items


def load_wider(images_dir: str, txt: str) -> list[Item]:
    items = []
    with open(txt) as f:
        lines = [ln.strip() for ln in f if ln.strip()]
    i = 0
    while i < len(lines):
        name = lines[i]
        n = int(lines[i + 1])
        rows = lines[i + 2 : i + 2 + max(n, 1)]
        i += 2 + max(n, 1)
        boxes = []
        for r in rows[:n]:
            x, y, w, h = (float(v) for v in r.split()[:4])
            if w > 0 and h > 0:
                boxes.append([x, y, x + w, y + h])
        path = os.path.join(images_dir, name)
        if os.path.exists(path):
            items.append(Item(path, np.asarray(boxes, np.float32).reshape(-1, 4), ["face"] * len(boxes)))
    return items


def load_csv(images_dir: str, path: str) -> list[Item]:
    by: dict[str, tuple[list, list]] = {}
    with open(path, newline="") as f:
        for row in csv.reader(f):
            if not row or row[0].strip().lower() in ("file", "filename", "image"):
                continue
            name, x1, y1, x2, y2 = row[0], *map(float, row[1:5])
            cls = class_of(row[5]) if len(row) > 5 else "face"
            b, c = by.setdefault(name, ([], []))
            b.append([x1, y1, x2, y2])
            c.append(cls)
    return [Item(os.path.join(images_dir, k), np.asarray(b, np.float32).reshape(-1, 4), c)
            for k, (b, c) in sorted(by.items()) if os.path.exists(os.path.join(images_dir, k))]


def load_dataset(images: str, annotations: str | None) -> list[Item]:
    """``images`` is a folder of images, or a dataset folder holding images/ and annotations/."""
    if annotations is None and os.path.isdir(os.path.join(images, "annotations")):
        annotations = os.path.join(images, "annotations")
        images = os.path.join(images, "images")
    if annotations is None:
        raise ObscuraError("no annotations: pass --annotations (a VOC folder, a WIDER txt or a CSV)")
    if os.path.isdir(annotations):
        items = load_voc(images, annotations)
    elif annotations.lower().endswith(".csv"):
        items = load_csv(images, annotations)
    elif annotations.lower().endswith(".txt"):
        items = load_wider(images, annotations)
    else:
        raise ObscuraError(f"unknown annotation format: {annotations} (VOC folder, WIDER .txt or .csv)")
    if not items:
        raise ObscuraError(f"no annotated images found in {images} with {annotations}")
    return items


@dataclass
class ClassResult:
    cls: str
    gt: int = 0
    detected: int = 0
    false_positives: int = 0
    preds: int = 0
    gt_by_size: dict = field(default_factory=dict)
    hit_by_size: dict = field(default_factory=dict)
    coverage: list = field(default_factory=list)
    scored: list = field(default_factory=list)  # (score, is_tp) for AP

    def recall(self) -> float:
        return self.detected / self.gt if self.gt else float("nan")

    def precision(self) -> float:
        return (self.preds - self.false_positives) / self.preds if self.preds else float("nan")

    def ap50(self) -> float:
        if not self.gt or not self.scored:
            return 0.0
        s = sorted(self.scored, key=lambda t: -t[0])
        tp = np.cumsum([t[1] for t in s])
        fp = np.cumsum([1 - t[1] for t in s])
        rec = tp / self.gt
        prec = tp / np.maximum(tp + fp, 1e-9)
        # all-point interpolated AP (VOC 2010+)
        mrec = np.concatenate([[0], rec, [1]])
        mpre = np.concatenate([[1], prec, [0]])
        mpre = np.maximum.accumulate(mpre[::-1])[::-1]
        idx = np.nonzero(mrec[1:] != mrec[:-1])[0]
        return float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1]))


def _coverage(gt: np.ndarray, masks: np.ndarray) -> float:
    """Fraction of the gt box's area covered by the union of the mask boxes (rasterised)."""
    x1, y1, x2, y2 = gt
    w, h = max(1, int(np.ceil(x2 - x1))), max(1, int(np.ceil(y2 - y1)))
    cover = np.zeros((h, w), bool)
    for mx1, my1, mx2, my2 in masks:
        a, b = int(np.floor(max(mx1, x1) - x1)), int(np.floor(max(my1, y1) - y1))
        c, d = int(np.ceil(min(mx2, x2) - x1)), int(np.ceil(min(my2, y2) - y1))
        if c > a and d > b:
            cover[b:d, a:c] = True
    return float(cover.mean())


def grow(boxes: np.ndarray, margin: float) -> np.ndarray:
    """Boxes grown by ``margin`` % of their size on every side (as the redaction mask is)."""
    b = boxes.copy()
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    b[:, 0] -= w * margin / 100
    b[:, 2] += w * margin / 100
    b[:, 1] -= h * margin / 100
    b[:, 3] += h * margin / 100
    return b


def evaluate(
    items: list[Item],
    detect: Callable[[np.ndarray], Detections],
    classes: dict[str, int],
    iou: dict[str, float],
    margins: dict[str, float],
    min_height: float = 0,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    import cv2

    results = {c: ClassResult(c) for c in classes}
    t0 = time.perf_counter()
    n_images = 0
    for k, item in enumerate(items):
        img = cv2.imread(item.image, cv2.IMREAD_COLOR)
        if img is None:
            continue
        n_images += 1
        det = detect(img)
        for cls, cid in classes.items():
            r = results[cls]
            sel = [i for i, c in enumerate(item.classes) if c == cls]
            gt = item.boxes[sel]
            heights = gt[:, 3] - gt[:, 1]
            ignore = heights < min_height
            d = det[det.class_id == cid]
            order = np.argsort(-d.score)
            pb, ps = d.xyxy[order], d.score[order]
            ious = box_iou(pb, gt) if len(gt) and len(pb) else np.zeros((len(pb), len(gt)))
            matched = np.zeros(len(gt), bool)
            for p in range(len(pb)):  # greedy, best score first; counted boxes are matched first (COCO)
                free = np.where(~matched & (ious[p] >= iou[cls]))[0] if len(gt) else np.zeros(0, int)
                if len(free) and (~ignore[free]).any():
                    free = free[~ignore[free]]
                if len(free):
                    j = int(free[np.argmax(ious[p][free])])
                    matched[j] = True
                    if ignore[j]:
                        continue  # a box on a face below the size cut: neither right nor wrong
                    r.scored.append((float(ps[p]), 1))
                    r.preds += 1
                elif len(gt) and (ious[p][ignore] >= iou[cls]).any():
                    continue
                elif pb[p, 3] - pb[p, 1] < min_height:
                    continue  # COCO's rule: an unmatched box outside the evaluated size range is ignored
                else:
                    r.scored.append((float(ps[p]), 0))
                    r.preds += 1
                    r.false_positives += 1
            masks = grow(pb, margins.get(cls, 0)) if len(pb) else pb
            for j in range(len(gt)):
                if ignore[j]:
                    continue
                h = heights[j]
                bin_ = next(f"{a}-{b}" if b < 100000 else f"{a}+" for a, b in SIZE_BINS if a <= h < b)
                r.gt += 1
                r.gt_by_size[bin_] = r.gt_by_size.get(bin_, 0) + 1
                if matched[j]:
                    r.detected += 1
                    r.hit_by_size[bin_] = r.hit_by_size.get(bin_, 0) + 1
                r.coverage.append(_coverage(gt[j], masks) if len(masks) else 0.0)
        if progress:
            progress(k + 1, len(items))
    out = {"images": n_images, "seconds": round(time.perf_counter() - t0, 1), "min_height": min_height, "classes": {}}
    for cls, r in results.items():
        if not r.gt and not r.preds:
            continue
        out["classes"][cls] = {
            "ground_truth": r.gt,
            "detected": r.detected,
            "recall": _num(r.recall()),
            "precision": _num(r.precision()),
            "false_boxes": r.false_positives,
            "false_boxes_per_image": round(r.false_positives / max(1, n_images), 3),
            "ap50": round(r.ap50(), 4),
            "iou_threshold": iou[cls],
            "mean_mask_coverage": round(float(np.mean(r.coverage)) if r.coverage else 0.0, 4),
            "recall_by_height": {
                b: {"gt": n, "recall": round(r.hit_by_size.get(b, 0) / n, 4)} for b, n in r.gt_by_size.items()
            },
        }
    return out


def _num(x: float) -> float | None:
    """Rounded, or None (JSON null) where undefined (no ground truth, or no detections)."""
    return None if x != x else round(x, 4)


def format_text(res: dict) -> str:
    lines = [f"{res['images']} images, {res['seconds']} s, boxes at least {res['min_height']} px tall"]
    for cls, c in res["classes"].items():
        lines.append(
            f"{cls}: recall {_fmt(c['recall'])} ({c['detected']}/{c['ground_truth']}) at IoU {c['iou_threshold']}, "
            f"precision {_fmt(c['precision'])}, AP@0.5 {c['ap50']:.3f}, false boxes/image {c['false_boxes_per_image']:.2f}, "
            f"mean mask coverage {c['mean_mask_coverage']:.3f}"
        )
        for b, v in sorted(c["recall_by_height"].items(), key=lambda kv: int(kv[0].split("-")[0].rstrip("+"))):
            lines.append(f"    height {b:>8} px: recall {v['recall']:.3f} of {v['gt']}")
    return "\n".join(lines)


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def write_html(res: dict, path: str, title: str) -> None:
    rows = []
    for cls, c in res["classes"].items():
        rows.append(
            f"<tr><td>{html.escape(cls)}</td><td>{c['ground_truth']}</td><td>{_fmt(c['recall'])}</td>"
            f"<td>{_fmt(c['precision'])}</td><td>{c['ap50']:.3f}</td><td>{c['false_boxes_per_image']:.2f}</td>"
            f"<td>{c['mean_mask_coverage']:.3f}</td></tr>"
        )
    body = (
        f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 10px;border-bottom:1px solid #ccc}</style>"
        f"<h1>{html.escape(title)}</h1><p>{res['images']} images; boxes at least {res['min_height']} px tall.</p>"
        "<table><tr><th>class</th><th>ground truth</th><th>recall</th><th>precision</th><th>AP@0.5</th>"
        "<th>false boxes / image</th><th>mean mask coverage</th></tr>" + "".join(rows) + "</table>"
        f"<pre>{html.escape(json.dumps(res, indent=2))}</pre>"
    )
    with open(path, "w", encoding="utf-8") as f:
        f.write(body)
