"""``obscura batch --engine ray``: a real local Ray head (2 CPUs, 127.0.0.1) started and stopped by
the test; the batch's files run as Ray tasks, resumable, with the same summary.csv as the local engine."""

from __future__ import annotations

import csv
import importlib.util
import os
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import pytest

from app.batch import SUMMARY_FIELDS, finished, outputs_for
from tests.media_factory import ClipSpec, write_clip, write_truncated
from tests.service_harness import free_port

REPO = Path(__file__).resolve().parents[1]
SHORT = {"preset": "ultrafast", "crf": "20"}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                       reason="Ray is not installed (pip install '.[ray]')"),
]


def _ray_cli() -> str:
    here = Path(sys.executable).parent / "ray"
    return str(here) if here.exists() else "ray"


@pytest.fixture
def ray_head(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    cmd = [_ray_cli(), "start", "--head", "--num-cpus=2", "--node-ip-address=127.0.0.1", f"--port={port}",
           "--disable-usage-stats", "--include-dashboard=false"]
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    try:
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        print(f"ray head started in {time.perf_counter() - t:.1f} s")
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([_ray_cli(), "stop", "--force"], capture_output=True, text=True, timeout=120, env=env)


def _batch(*args, timeout=600):
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    return subprocess.run([sys.executable, "-m", "app", "batch", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO, env=env)


def _summary(path: Path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return rows, {r["file"]: r for r in rows}


def test_batch_on_a_local_ray_cluster_resumes_with_the_same_summary(ray_head, tmp_path):
    src = tmp_path / "in"
    (src / "day2").mkdir(parents=True)
    a = write_clip(src / "a.mp4", ClipSpec("a", frames=8, options=SHORT))
    write_clip(src / "day2" / "b.mov", ClipSpec("b", ext=".mov", frames=6, rate=Fraction(25), options=SHORT))
    write_clip(src / "c.mkv", ClipSpec("c", ext=".mkv", frames=5, options=SHORT))
    write_truncated(a, src / "broken.mp4", 0.3)
    out = tmp_path / "out"

    t = time.perf_counter()
    r = _batch(src, out, "--engine", "ray", "--address", ray_head, "--leak-stride", "100", "--no-extend",
               "--device", "cpu", "--jobs", "2")
    first = time.perf_counter() - t
    assert r.returncode == 1, r.stderr[-4000:]
    assert "Traceback" not in r.stderr
    assert "Ray cluster with 2 CPU(s) on 1 node(s); 2 file(s) at a time" in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("obscura: batch: 3 ok, 1 failed, 0 skipped of 4"), r.stderr
    rows, by = _summary(out / "summary.csv")
    assert list(rows[0]) == list(SUMMARY_FIELDS)
    assert [x["file"] for x in rows] == ["a.mp4", "broken.mp4", "c.mkv", "day2/b.mov"]
    for rel, frames in (("a.mp4", 8), ("c.mkv", 5), ("day2/b.mov", 6)):
        assert (by[rel]["status"], by[rel]["frames"], by[rel]["attempts"], by[rel]["leak_events"]) == (
            "ok", str(frames), "1", "0"), by[rel]
        report = finished(outputs_for(out, rel))
        assert report is not None and report["export"]["frames"] == frames
    assert by["broken.mp4"]["status"] == "failed" and by["broken.mp4"]["attempts"] == "2"
    assert "corrupt" in by["broken.mp4"]["message"] or "truncated" in by["broken.mp4"]["message"]

    # resumed on the cluster: finished files are skipped, the broken one is tried again
    mtimes = {rel: (out / rel).stat().st_mtime_ns for rel in ("a.mp4", "c.mkv", "day2/b.mov")}
    r2 = _batch(src, out, "--engine", "ray", "--address", ray_head, "--leak-stride", "100", "--no-extend",
                "--device", "cpu")
    assert r2.returncode == 1, r2.stderr[-3000:]
    assert r2.stderr.strip().splitlines()[-1].startswith("obscura: batch: 0 ok, 1 failed, 3 skipped of 4")
    _rows2, by2 = _summary(out / "summary.csv")
    assert all(by2[rel]["status"] == "skipped" and (out / rel).stat().st_mtime_ns == m for rel, m in mtimes.items())
    print(f"ray batch: first run {first:.1f} s (3 clips + 1 broken, 2 at a time)")


def test_ray_engine_errors_are_one_line(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    write_clip(src / "a.mp4", ClipSpec("a", frames=3, options=SHORT))
    r = _batch(src, tmp_path / "out", "--address", "127.0.0.1:1")
    assert r.returncode == 1 and r.stderr.strip() == "obscura: error: --address needs --engine ray"
    r = _batch(src, tmp_path / "out", "--engine", "ray", "--address", f"127.0.0.1:{free_port()}", timeout=180)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-3000:]
    assert r.stderr.strip().splitlines()[-1].startswith("obscura: error: cannot connect to the Ray cluster at 127.0.0.1:")
