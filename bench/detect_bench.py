"""Detector speed: milliseconds per frame for each model at 640, 960 and 1280 (long side).

Also measures CenterFace as shipped (weights listed as graph inputs, placeholder shapes made
dynamic only) against the prepared graph (weights removed from the inputs), to check the ~2.6x.

    python bench/detect_bench.py [--device auto|cpu|cuda] [--repeat 10]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.detection import models  # noqa: E402
from app.detection.faces import CenterFace, prepare_centerface  # noqa: E402
from app.detection.sessions import choose_device, make_session  # noqa: E402
from app.detection.yolo import YoloDetector  # noqa: E402
from app.media.sample import render_frames  # noqa: E402


def frame_at(long_side: int, base: np.ndarray) -> np.ndarray:
    h, w = base.shape[:2]
    s = long_side / max(h, w)
    return cv2.resize(base, (int(round(w * s)), int(round(h * s))), interpolation=cv2.INTER_AREA)


def timeit(fn, repeat: int) -> float:
    fn()  # warm-up (first run allocates)
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t0) / repeat * 1000


def shipped_centerface_session(data: bytes, device):
    """CenterFace with only the shapes made dynamic: the weights stay listed as graph inputs."""
    import onnx

    m = onnx.load_from_string(prepare_centerface(data))
    raw = onnx.load_from_string(data)
    init = {i.name for i in raw.graph.initializer}
    extra = [i for i in raw.graph.input if i.name in init]
    m.graph.input.extend(extra)
    return make_session(m.SerializeToString(), device)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()
    device = choose_device(args.device)
    print(f"device: {device.describe()}; {os.cpu_count()} CPUs")
    base = next(f for i, f, _t in render_frames() if i == 90)
    face_spec, plate_spec = models.spec("centerface"), models.spec("plate_yolov8n")
    face_bytes = models.verified_bytes(face_spec)
    cf = CenterFace(face_bytes, device)
    plate = YoloDetector.from_spec(plate_spec, device)
    shipped = shipped_centerface_session(face_bytes, device)
    print(f"{'long side':>10} {'centerface':>12} {'as shipped':>12} {'speed-up':>9} {'plate':>10}")
    for ls in (640, 960, 1280):
        img = frame_at(ls, base)
        t_face = timeit(lambda img=img: cf.detect([img]), args.repeat)
        blob = cv2.dnn.blobFromImage(img, 1.0, (int(np.ceil(img.shape[1] / 32) * 32), int(np.ceil(img.shape[0] / 32) * 32)),
                                     (0, 0, 0), swapRB=True)
        t_raw = timeit(lambda blob=blob: shipped.run(None, {"input.1": blob}), args.repeat)
        plate.size = (ls, ls)  # the product runs the plate model at the frame's long side, 640..1280
        t_plate = timeit(lambda img=img: plate.detect([img]), args.repeat)
        print(f"{ls:>10} {t_face:>9.1f} ms {t_raw:>9.1f} ms {t_raw / t_face:>8.2f}x {t_plate:>7.1f} ms")
    print("(16:9 frames: the dynamic plate model letterboxes to LONG x multiple-of-32, e.g. 640x384)")


if __name__ == "__main__":
    main()
