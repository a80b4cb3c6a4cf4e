"""GPU benchmark (run by bench/gpu_bench.sh): which ONNX Runtime provider really runs, the models'
milliseconds per frame at 640 and 1280 with batch 1 and 8, and ``obscura process`` fps at 1080p.

    python bench/gpu_bench.py [--device cuda] [--frames 120] [--clips DIR]

Every number is printed with the provider the session reports (``get_providers()[0]``), so a run
that silently fell back to the CPU says so. The float graphs run on CUDA (the int8 graphs are for
the CPU). Finishes in well under 5 minutes on a recent GPU.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def ms_per_frame(fn, frames: list, batch: int, reps: int = 5) -> float:
    chunk = (frames * batch)[:batch]
    fn(chunk)  # warm-up (CUDA: kernels, cuDNN search)
    t0 = time.perf_counter()
    for _ in range(reps):
        fn(chunk)
    return (time.perf_counter() - t0) / reps / batch * 1000


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--frames", type=int, default=120)
    ap.add_argument("--clips", type=Path, default=Path(tempfile.gettempdir()) / "obscura-pipeline-bench")
    a = ap.parse_args()
    import onnxruntime as ort

    from app.detection.detector import Detector, DetectorConfig
    from bench.pipeline_bench import floor, make, process

    print(f"onnxruntime {ort.__version__}; available providers: {', '.join(ort.get_available_providers())}")
    det = Detector(DetectorConfig(device=a.device))
    print(f"device chosen: {det.device.describe()}")
    print(f"face session runs on: {det.face.session.get_providers()[0]}; "
          f"plate session runs on: {det.plate.session.get_providers()[0]}")
    video = make((1920, 1080), a.frames, a.clips)
    import av

    with av.open(str(video)) as c:
        frames = [f.to_ndarray(format="bgr24") for _, f in zip(range(8), c.decode(video=0), strict=False)]
    print("\nmodel             side  batch  ms/frame")
    for side in (640, 1280):
        for batch in (1, 8):
            f_ms = ms_per_frame(lambda fr, s=side: det.face.detect(fr, list(range(len(fr))), long_side=s), frames, batch)
            det.plate.size = (side, side)
            det.plate.max_batch = batch
            p_ms = ms_per_frame(lambda fr: det.plate.detect(fr, list(range(len(fr)))), frames, batch)
            print(f"centerface        {side:4d}  {batch:5d}  {f_ms:8.2f}")
            print(f"plate_yolov8n     {side:4d}  {batch:5d}  {p_ms:8.2f}")
    with tempfile.TemporaryDirectory() as td:
        fl = floor(video, Path(td) / "floor.mp4")
        pr = process(video, Path(td) / "out.mp4", a.device, [])
    print(f"\nprocess at 1920x1080, {a.frames} frames, --device {a.device}: {pr['seconds']:.1f} s = "
          f"{a.frames / pr['seconds']:.1f} fps; floor (decode + x264 medium) {fl:.1f} s; ratio {fl / pr['seconds']:.3f}x; "
          f"peak RSS {pr['rss_mb']:.0f} MB")
    for name, v in sorted(pr["stages"].items(), key=lambda kv: -kv[1]["seconds"]):
        print(f"  {name:24s} {v['seconds']:7.2f} s")
    return 0 if det.device.name == a.device or a.device == "auto" else 1


if __name__ == "__main__":
    raise SystemExit(main())
