"""Calibrate the detectors' int8 (QDQ) graphs: write the activation ranges the product quantises with.

    python bench/calibrate_int8.py [--data ../shared/data] [--n 120] [--only centerface plate_yolov8n]

For each model, the float graph the product runs (``app.detection.quantize.float_graph``) is run by
ONNX Runtime's own calibrator (MinMax) over real photos from ``../shared/data`` (faces for
CenterFace, plates for the plate model), at the sizes the analysis feeds it, and the ranges are
saved with ``onnxruntime.quantization``'s calibration cache format to
``models/calibration/ID.json``. Those ranges are numbers, not weights and not pixels: the product
builds the int8 graph from them and the hash-checked float model at ``obscura models fetch``.

Held out: the photos ``shared/tools/redaction_check.py images`` judges (its seeded shuffle, first
150 with a box >= 32 px) are never used here, so the black-box check measures the int8 graphs on
photos they were not calibrated on.
"""

from __future__ import annotations

import argparse
import glob
import os
import random
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from app.detection import models  # noqa: E402
from app.detection.quantize import CALIBRATION_DIR, float_graph  # noqa: E402


def judged(folder: str, n: int = 150, min_h: int = 32) -> set[str]:
    """The photos redaction_check.py judges (same selection: sorted, seeded shuffle, first n)."""
    items = []
    for x in sorted(glob.glob(os.path.join(folder, "annotations", "*.xml"))):
        r = ET.parse(x).getroot()
        img = os.path.join(folder, "images", r.findtext("filename"))
        boxes = [float(o.find("bndbox").findtext("ymax")) - float(o.find("bndbox").findtext("ymin"))
                 for o in r.iter("object")]
        if any(h >= min_h for h in boxes) and os.path.exists(img):
            items.append((img, boxes))
    random.Random(7).shuffle(items)
    return {os.path.abspath(i[0]) for i in items[:n]}


def photos(folder: str, n: int) -> list[str]:
    held = judged(folder)
    pool = [p for p in sorted(glob.glob(os.path.join(folder, "images", "*.jpg"))) if os.path.abspath(p) not in held]
    random.Random(11).shuffle(pool)
    return pool[:n]


def blobs_face(paths: list[str]):
    from app.detection.faces import INPUT, input_size

    for p in paths:
        im = cv2.imread(p)
        h, w = im.shape[:2]
        for side in (640, 1280):  # the sizes the analysis runs CenterFace at (scaled up or down)
            nw, nh = input_size(w, h, side)
            yield {INPUT: cv2.dnn.blobFromImage(im, 1.0, (nw, nh), (0, 0, 0), swapRB=True, crop=False)}


def blobs_plate(paths: list[str], input_name: str):
    from app.detection.yolo import letterbox, to_blob

    for p in paths:
        im = cv2.imread(p)
        for side in (640, 1280):
            img, _r, _t, _l = letterbox(im, (side, side), stride=32)
            yield {input_name: to_blob([img])}


def calibrate(model_id: str, paths: list[str], out: Path) -> None:
    import onnx
    from onnxruntime.quantization.calibrate import CalibrationMethod, create_calibrator, save_tensors_data

    spec = models.spec(model_id)
    graph = float_graph(spec, models.verified_bytes(spec))
    with tempfile.TemporaryDirectory() as td:
        path = os.path.join(td, "float.onnx")
        onnx.save(graph, path)
        cal = create_calibrator(path, None, augmented_model_path=os.path.join(td, "aug.onnx"),
                                calibrate_method=CalibrationMethod.MinMax, extra_options={})
        name = graph.graph.input[0].name
        feed = blobs_face(paths) if spec.decoder == "centerface" else blobs_plate(paths, name)

        class Reader:
            def __init__(self, it):
                self.it = it

            def get_next(self):
                return next(self.it, None)

        cal.collect_data(Reader(feed))
        save_tensors_data(cal.compute_data(), out)
    print(f"{model_id}: {len(paths)} photos x 2 sizes -> {out.relative_to(ROOT)} ({out.stat().st_size} bytes)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--n", type=int, default=120, help="photos per model (never the judged ones)")
    ap.add_argument("--only", nargs="*", default=["centerface", "plate_yolov8n"])
    a = ap.parse_args(argv)
    if not os.path.isdir(a.data):
        print(f"calibrate_int8: no shared data at {a.data}", file=sys.stderr)
        return 2
    np.random.seed(0)
    for mid in a.only:
        folder = os.path.join(a.data, "faces" if models.spec(mid).task == "face" else "plates")
        calibrate(mid, photos(folder, a.n), ROOT / CALIBRATION_DIR / f"{mid}.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
