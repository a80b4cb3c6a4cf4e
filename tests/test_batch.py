"""``obscura batch``: a folder of good clips, a photo, a corrupt and an unsupported file, run as the
operator runs it (a real subprocess, the real detector), then resumed."""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import pytest

from app.batch import check_folders, finished, in_shard, list_inputs, outputs_for
from app.errors import OutputError
from tests.media_factory import ClipSpec, write_clip, write_truncated

REPO = Path(__file__).resolve().parents[1]
SHORT = {"preset": "ultrafast", "crf": "20"}


def obscura(*args, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


def snapshot(folder: Path) -> dict[str, tuple[int, str]]:
    return {p.relative_to(folder).as_posix(): (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(folder.rglob("*")) if p.is_file()}


def summary(path: Path) -> dict[str, dict]:
    with open(path, newline="") as f:
        return {row["file"]: row for row in csv.DictReader(f)}


@pytest.fixture
def in_dir(tmp_path) -> Path:
    d = tmp_path / "in"
    (d / "day2").mkdir(parents=True)
    a = write_clip(d / "a.mp4", ClipSpec("a", frames=8, options=SHORT))
    write_clip(d / "day2" / "b.mov", ClipSpec("b", ext=".mov", frames=6, rate=Fraction(25), options=SHORT))
    write_truncated(a, d / "broken.mp4", 0.3)
    (d / "notes.txt").write_text("not a video\n")
    (d / ".hidden.mp4").write_bytes(b"")  # hidden files are not listed at all
    return d


@pytest.mark.slow
def test_batch_processes_reports_and_resumes(in_dir, tmp_path):
    out = tmp_path / "out"
    before = snapshot(in_dir)
    t = time.perf_counter()
    r = obscura("batch", in_dir, out, "--leak-stride", "100", "--no-extend", "--device", "cpu")
    first_s = time.perf_counter() - t
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("obscura: batch: 2 ok, 1 failed, 1 skipped of 4"), last
    assert snapshot(in_dir) == before, "batch wrote into the input folder"

    rows = summary(out / "summary.csv")
    assert list(rows) == ["a.mp4", "broken.mp4", "day2/b.mov", "notes.txt"]
    for rel, frames in (("a.mp4", 8), ("day2/b.mov", 6)):
        row = rows[rel]
        assert (row["status"], row["frames"], row["attempts"], row["leak_events"]) == ("ok", str(frames), "1", "0")
        paths = outputs_for(out, rel)
        for key in ("output", "report", "html", "leak", "log"):
            assert paths[key].is_file(), (rel, key)
        report = finished(paths)
        assert report is not None and report["export"]["frames"] == frames
        assert report["input"]["name"] == Path(rel).name
        leak = json.loads(paths["leak"].read_text())
        assert leak["gate"]["passed"] and leak["stride"] == 100
    bad = rows["broken.mp4"]
    assert bad["status"] == "failed" and bad["attempts"] == "2" and "corrupt" in bad["message"]
    assert not (out / "broken.mp4").exists()
    assert rows["notes.txt"]["status"] == "skipped" and ".txt" in rows["notes.txt"]["message"]

    # resumed: the finished files are not touched, the failed one is tried again (twice)
    done = {rel: (out / rel).stat().st_mtime_ns for rel in ("a.mp4", "day2/b.mov")}
    t = time.perf_counter()
    r2 = obscura("batch", in_dir, out, "--leak-stride", "100", "--no-extend", "--device", "cpu")
    second_s = time.perf_counter() - t
    assert r2.returncode == 1, r2.stderr
    assert r2.stderr.strip().splitlines()[-1].startswith("obscura: batch: 0 ok, 1 failed, 3 skipped of 4")
    rows2 = summary(out / "summary.csv")
    for rel in done:
        assert rows2[rel]["status"] == "skipped" and rows2[rel]["message"] == "done in an earlier run"
        assert rows2[rel]["frames"] == rows[rel]["frames"]
        assert (out / rel).stat().st_mtime_ns == done[rel]
    assert rows2["broken.mp4"]["status"] == "failed" and rows2["broken.mp4"]["attempts"] == "2"
    assert second_s < first_s
    print(f"batch: first run {first_s:.1f} s, resumed run {second_s:.1f} s")


@pytest.mark.slow
def test_batch_jobs_runs_workers_and_retries_failures(tmp_path):
    """--jobs 2: spawned workers; two corrupt files fail in them (before any model loads), each
    retried once; a tampered earlier output is processed again; the shard options select files."""
    src = tmp_path / "in"
    src.mkdir()
    good = write_clip(tmp_path / "good.mp4", ClipSpec("g", frames=4, options=SHORT))
    for name in ("x.mp4", "y.mkv"):
        write_truncated(good, src / name, 0.25)
    out = tmp_path / "out"
    r = obscura("batch", src, out, "--jobs", "2", "--no-leak-check")
    assert r.returncode == 1, r.stderr
    rows = summary(out / "summary.csv")
    assert {k: (v["status"], v["attempts"]) for k, v in rows.items()} == {"x.mp4": ("failed", "2"),
                                                                        "y.mkv": ("failed", "2")}
    assert r.stderr.count("retrying") == 2


def test_shards_split_the_files_without_overlap():
    files = [f"cam{i // 10}/clip{i:03d}.mp4" for i in range(200)]
    for n in (1, 2, 5):
        owners = [[k for k in range(n) if in_shard(f, k, n)] for f in files]
        assert all(len(o) == 1 for o in owners)
        if n > 1:
            sizes = [sum(o == [k] for o in owners) for k in range(n)]
            assert min(sizes) > 200 / n * 0.5  # roughly even


def test_folders_never_overlap_and_hidden_files_are_left_out(tmp_path):
    src = tmp_path / "in"
    (src / ".cache").mkdir(parents=True)
    (src / ".cache" / "x.mp4").write_bytes(b"x")
    (src / "a.mp4").write_bytes(b"x")
    (src / "z").mkdir()
    (src / "z" / "b.jpg").write_bytes(b"x")
    assert list_inputs(src) == ["a.mp4", "z/b.jpg"]
    for bad in (src, src / "out", tmp_path):
        with pytest.raises(OutputError):
            check_folders(src, bad)
    check_folders(src, tmp_path / "out")
    r = obscura("batch", tmp_path / "missing", tmp_path / "out")
    assert r.returncode == 2 and "input folder not found" in r.stderr and "Traceback" not in r.stderr


def test_an_output_that_does_not_match_its_report_is_not_finished(tmp_path):
    paths = outputs_for(tmp_path, "a.mp4")
    paths["output"].write_bytes(b"video")
    paths["html"].write_text("<html></html>")
    facts = {"name": "a.mp4", "size": 5, "sha256": hashlib.sha256(b"video").hexdigest()}
    paths["report"].write_text(json.dumps({"format": "obscura-audit-report", "output": facts}))
    assert finished(paths) is not None
    paths["output"].write_bytes(b"vidEo")  # same size, other content: an interrupted or tampered output
    assert finished(paths) is None
    paths["report"].write_text("{")  # a half-written report
    assert finished(paths) is None


# -- the container's entry point, run outside Docker --------------------------------------------
ENTRYPOINT = REPO / "packaging" / "container" / "entrypoint.py"


def _load_entrypoint():
    import importlib.util

    spec = importlib.util.spec_from_file_location("obscura_entrypoint", ENTRYPOINT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_entrypoint_builds_the_batch_command_from_the_environment():
    ep = _load_entrypoint()
    assert ep.build_argv([], {}) == ["batch", "/in", "/out"]
    assert ep.build_argv(["--leak-stride", "2"], {"OBSCURA_JOBS": "3"}) == [
        "batch", "/in", "/out", "--leak-stride", "2", "--jobs", "3"]
    env = {"OBSCURA_SHARDS": "4", "JOB_COMPLETION_INDEX": "2", "OBSCURA_IN": "/data/a", "OBSCURA_OUT": "/data/b"}
    assert ep.build_argv([], env) == ["batch", "/data/a", "/data/b", "--shard", "2", "--shards", "4"]
    assert ep.build_argv(["--shard", "1", "--shards", "2"], env)[-4:] == ["--shard", "1", "--shards", "2"]


@pytest.mark.slow
def test_entrypoint_runs_a_batch_offline(tmp_path):
    """As the container runs it: env-configured folders, a tmp data folder, no network where
    ``unshare -n`` is allowed; then an unwritable output folder is one clear line, exit 4."""
    import os
    import shutil

    src = tmp_path / "in"
    src.mkdir()
    good = write_clip(src / "good.mp4", ClipSpec("g", frames=4, options=SHORT))
    write_truncated(good, src / "bad.mp4", 0.3)
    (src / "readme.txt").write_text("x")
    from app.assets import models_dir

    # as in the image: the models in their own (read-only) folder, the data folder on a tmpfs
    env = {**os.environ, "OBSCURA_IN": str(src), "OBSCURA_OUT": str(tmp_path / "out"),
           "OBSCURA_MODELS": str(models_dir()), "OBSCURA_DATA": str(tmp_path / "tmpfs" / "obscura"),
           "PYTHONPATH": str(REPO)}
    prefix = []
    if shutil.which("unshare") and subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
        prefix = ["unshare", "-n"]
    r = subprocess.run([*prefix, sys.executable, ENTRYPOINT, "--no-leak-check", "--device", "cpu"], env=env,
                       capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    rows = summary(tmp_path / "out" / "summary.csv")
    assert {k: v["status"] for k, v in rows.items()} == {"bad.mp4": "failed", "good.mp4": "ok",
                                                          "readme.txt": "skipped"}
    assert (tmp_path / "out" / "good.mp4.report.json").is_file()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = subprocess.run([sys.executable, ENTRYPOINT], env={**env, "OBSCURA_OUT": str(blocker / "out")},
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 4 and "not writable" in r.stderr and "Traceback" not in r.stderr
