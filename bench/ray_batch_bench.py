"""Batch time for N copies of the sample clip on a local Ray head (127.0.0.1, --num-cpus CPUS),
with 1 and 2 files in flight (``obscura batch --engine ray --jobs J``); optionally the local engine too.

    python bench/ray_batch_bench.py [--files 4] [--cpus 2] [--jobs 1 2] [--local] [-- BATCH OPTIONS]

Default batch options: --no-leak-check --preset ultrafast --device cpu (the analysis is what is
spread). Prints one line per run: engine, jobs, wall seconds, seconds per file, summary counts.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def batch(src: Path, out: Path, args: list[str]) -> tuple[float, dict]:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "app", "batch", str(src), str(out), *args], cwd=REPO, env=env,
                       capture_output=True, text=True)
    wall = time.perf_counter() - t
    if r.returncode not in (0, 1):
        sys.exit(f"batch failed ({r.returncode}): {r.stderr[-2000:]}")
    with open(out / "summary.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return wall, {s: sum(x["status"] == s for x in rows) for s in ("ok", "failed", "skipped")}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--files", type=int, default=4)
    p.add_argument("--cpus", type=int, default=2)
    p.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    p.add_argument("--local", action="store_true", help="also the local engine (--jobs J worker processes)")
    p.add_argument("extra", nargs="*", help="batch options after --")
    a = p.parse_args()
    opts = a.extra or ["--no-leak-check", "--preset", "ultrafast", "--device", "cpu"]
    from app.media.sample import write_sample

    ray = str(Path(sys.executable).parent / "ray")
    with tempfile.TemporaryDirectory(prefix="obscura-ray-bench-") as tmp:
        tmp = Path(tmp)
        src = tmp / "in"
        src.mkdir()
        write_sample(str(src / "sample0.mp4"))
        for i in range(1, a.files):
            shutil.copyfile(src / "sample0.mp4", src / f"sample{i}.mp4")
        print(f"{a.files} copies of the sample clip (180 frames, 1280x720); batch options: {' '.join(opts)}; "
              f"{os.cpu_count()} CPU(s) on this machine")
        port = free_port()
        t = time.perf_counter()
        subprocess.run([ray, "start", "--head", f"--num-cpus={a.cpus}", "--node-ip-address=127.0.0.1",
                        f"--port={port}", "--disable-usage-stats", "--include-dashboard=false"], check=True,
                       capture_output=True, cwd=tmp)
        print(f"ray start --head --num-cpus={a.cpus}: {time.perf_counter() - t:.1f} s")
        try:
            for j in a.jobs:
                wall, counts = batch(src, tmp / f"out-ray-{j}", ["--engine", "ray", "--address", f"127.0.0.1:{port}",
                                                               "--jobs", str(j), *opts])
                print(f"engine ray   jobs {j}: {wall:7.1f} s wall, {wall / a.files:6.1f} s per file, {counts}")
        finally:
            subprocess.run([ray, "stop", "--force"], capture_output=True)
        if a.local:
            for j in a.jobs:
                wall, counts = batch(src, tmp / f"out-local-{j}", ["--jobs", str(j), *opts])
                print(f"engine local jobs {j}: {wall:7.1f} s wall, {wall / a.files:6.1f} s per file, {counts}")


if __name__ == "__main__":
    main()
