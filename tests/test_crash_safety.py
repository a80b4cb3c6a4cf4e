"""Crash safety: ``kill -9`` of real processes at random points, many times over (issue 9, item 3).

Every test kills real child processes (tests/crash_child.py, or the real CLI) with SIGKILL at
random moments and then checks what is on disk:

- a save: the project file is always one of the two complete versions being saved, never torn, and
  the temporary files of killed saves never pile up (the next save removes them, and never a live
  writer's);
- an export: there is never a partial file at the output path (it is absent, the previous complete
  file byte for byte, or the new complete file), the audit report never describes another file,
  and the ``.part`` files of killed exports are removed by the next export into the folder;
- an analysis (``obscura analyze -o PROJECT``): PROJECT is absent, the previous file byte for byte,
  or the new complete one.

The input video's SHA-256 is checked before and after every test. The editor's autosave and
recovery after a kill are in tests/ui/test_recovery.py.

Cycle counts are small in the suite; a long run: ``OBSCURA_CRASH_CYCLES=200 pytest -m slow
tests/test_crash_safety.py tests/ui/test_recovery.py -s`` (``OBSCURA_CRASH_SEED`` replays one).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections import Counter
from fractions import Fraction

import pytest

from app.base.atomic import HOST_TAG, clean_stale_temps, make_temp
from app.core.project import MediaRef
from app.project_io import load_project, project_to_dict, save_project
from tests.crash_child import Child, big_project, cycles, make_rng, sha256, write_face_clip
from tests.media_factory import ClipSpec, decoded_frame_count, make_project, write_clip

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

TEMP = re.compile(r"^\..+\.(\d+)-[0-9a-f]{8}\.[a-z0-9_]+\.(?:tmp|part(?:\.[^.]+)?)$")


def temps(folder) -> list[str]:
    """Our temporary files in ``folder`` (written by save_project / atomic_output)."""
    return sorted(n for n in os.listdir(folder) if TEMP.match(n))


def extra(folder, *expected) -> list[str]:
    """Every file in ``folder`` but the ``expected`` ones: what killed writers left (whatever its name)."""
    names = {os.path.basename(os.fspath(e)) for e in expected}
    return sorted(n for n in os.listdir(folder) if n not in names)


def child_env(tmp_path) -> dict:
    from app.assets import models_dir

    return dict(os.environ, OBSCURA_DATA=str(tmp_path / "data"), OBSCURA_MODELS=str(models_dir()),
                XDG_CONFIG_HOME=str(tmp_path / "config"), PYTHONUNBUFFERED="1")


@pytest.fixture(scope="module")
def export_clip(tmp_path_factory):
    """A 320x240, 120-frame H.264 clip: its export takes about a second."""
    return str(write_clip(tmp_path_factory.mktemp("crash_media") / "clip.mp4", ClipSpec("crash", frames=120)))


@pytest.fixture(scope="module")
def face_clip(tmp_path_factory):
    """6 frames of the sample clip (a face and a plate) at 320x180: a few seconds of real analysis."""
    return write_face_clip(tmp_path_factory.mktemp("crash_faces") / "faces.mp4")


# -- a live writer's temporary file is never removed ----------------------------------------------
def test_stale_temps_of_dead_writers_only(tmp_path):
    """clean_stale_temps removes a temp only when its writer's process is gone and nobody holds its
    lock: not a live writer's, not one whose process id now belongs to another live process."""
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "notes.txt").write_text("not ours")
    (folder / ".hidden.tmp").write_text("not ours either")
    # a live writer (another process, mid-write) and a dead one (same process, then killed)
    live = Child.module("hold-output", folder / "live.mp4")
    live.wait_for("HOLDING", 60)
    dead = Child.module("hold-output", folder / "dead.mp4")
    dead.wait_for("HOLDING", 60)
    assert dead.kill() == -9
    # a temp named for a process that is alive but is not its writer (a recycled id): kept
    recycled = folder / f".old.mp4.{os.getppid()}-{HOST_TAG}.abcdefgh.part.mp4"
    recycled.write_bytes(b"x")
    # a temp whose process is gone but whose lock another live process holds: kept
    fd, locked = make_temp(str(folder), "locked.mp4", ".part.mp4")
    os.close(fd)
    gone = Child([sys.executable, "-c", "pass"])
    gone.finish(30)
    locked_dead = os.path.join(folder, os.path.basename(locked).replace(f".{os.getpid()}-", f".{gone.proc.pid}-"))
    os.rename(locked, locked_dead)
    holder = Child([sys.executable, "-c", (
        "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDONLY); "
        "fcntl.flock(fd, fcntl.LOCK_EX); print('LOCKED', flush=True); time.sleep(600)"), locked_dead])
    holder.wait_for("LOCKED", 30)
    try:
        before = temps(folder)
        assert len(before) == 4, before
        removed = clean_stale_temps(str(folder))
        assert [os.path.basename(p) for p in removed] == [n for n in before if n.startswith(".dead.")]
        after = set(os.listdir(folder))
        assert {"notes.txt", ".hidden.tmp", recycled.name, os.path.basename(locked_dead)} <= after
        assert any(n.startswith(".live.") for n in after)
        holder.kill()
        live.kill()
        removed = {os.path.basename(p) for p in clean_stale_temps(str(folder))}
        assert removed == {os.path.basename(locked_dead)} | {n for n in after if n.startswith(".live.")}
        assert set(os.listdir(folder)) == {"notes.txt", ".hidden.tmp", recycled.name}
    finally:
        holder.kill()
        live.kill()


# -- 1. kill -9 during a save ---------------------------------------------------------------------
@pytest.mark.slow
def test_kill_during_save_never_tears_the_project(tmp_path, export_clip):
    rng, seed = make_rng()
    n = cycles(25)
    media_sha = sha256(export_clip)
    folder = tmp_path / "projects"
    folder.mkdir()
    path = folder / "big.obscura.json"
    ref = tmp_path / "ref"
    ref.mkdir()
    good = {}
    for v in "AB":
        save_project(big_project(v, export_clip), ref / f"{v}.obscura.json")
        good[(ref / f"{v}.obscura.json").read_bytes()] = v
    dicts = {v: project_to_dict(big_project(v, export_clip), base_dir=str(folder)) for v in "AB"}
    bystanders = {"notes.txt": b"operator notes", ".big.obscura.json.legacy.tmp": b"unknown writer"}
    for name, data in bystanders.items():
        (folder / name).write_bytes(data)
    # a live writer elsewhere in the folder, stopped mid-save for the whole loop: never touched
    holder = Child.module("hold-save", folder / "other.obscura.json", export_clip)
    holder.wait_for("HOLDING", 60)
    (held,) = extra(folder, *bystanders)
    outcomes: Counter = Counter()
    t0 = time.monotonic()
    try:
        for i in range(n):
            existed = path.exists()
            child = Child.module("save", path, export_clip)
            child.wait_for("READY", 60)
            time.sleep(rng.uniform(0.0, 0.9))
            assert child.kill() == -9, child.stderr()
            msg = f"cycle {i} (seed {seed}): {child.words()[-3:]}"
            left = extra(folder, path, held, *bystanders)
            if path.exists():
                data = path.read_bytes()
                assert data in good, f"torn project file after a kill, {msg}"
                assert project_to_dict(load_project(path), base_dir=str(folder)) == dicts[good[data]], msg
                outcomes[good[data] + (" +temp" if left else "")] += 1
            else:
                assert not existed and not child.words("SAVED"), msg
                outcomes["absent"] += 1
            # the killed save may leave its own temp; every earlier one is gone (no pile-up)
            assert len(left) <= 1, f"temporary files pile up: {left}, {msg}"
            assert held in os.listdir(folder), f"a live writer's temp was removed, {msg}"
            for name, data in bystanders.items():
                assert (folder / name).read_bytes() == data, msg
        elapsed = time.monotonic() - t0
    finally:
        holder.kill()
    save_project(big_project("A", export_clip), path)  # the next save tidies up after the killed ones
    assert path.read_bytes() in good
    assert extra(folder, path, *bystanders) == [], "stale temps of dead writers must go with the next save"
    assert sorted(os.listdir(folder)) == sorted(["big.obscura.json", *bystanders])
    assert sha256(export_clip) == media_sha
    mid_write = sum(v for k, v in outcomes.items() if "+temp" in k)
    print(f"\nsave: {n} kill -9 cycles in {elapsed:.1f} s, no torn file, {mid_write} killed mid-write "
          f"(seed {seed}): {dict(outcomes)}")
    assert mid_write > 0 or n < 10, "no kill landed inside a save: the test does not test anything"


# -- 2. kill -9 during an export ------------------------------------------------------------------
def _export_project(clip: str, method: str):
    from app.core import RedactionStyle

    info = MediaRef(clip, 320, 240, Fraction(30000, 1001), 120)
    p = make_project(320, 240, 120)
    p.media = info
    if method:
        for t in p.tracks:
            t.style = RedactionStyle(method=method, color=(0, 255, 0))
    return p


def _complete(path, frames: int) -> bool:
    """A whole video: it opens, and every one of its frames decodes."""
    try:
        return decoded_frame_count(path) == frames
    except Exception:  # a partial file does not even open
        return False


@pytest.mark.slow
def test_kill_during_export_never_leaves_a_partial_output(tmp_path, export_clip):
    rng, seed = make_rng()
    n = cycles(10)
    env = child_env(tmp_path)
    clip_sha = sha256(export_clip)
    work = tmp_path / "work"
    out_dir = tmp_path / "out"
    work.mkdir()
    out_dir.mkdir()
    project, old_project = work / "p.obscura.json", work / "old.obscura.json"
    save_project(_export_project(export_clip, ""), project)
    save_project(_export_project(export_clip, "solid"), old_project)
    out = out_dir / "redacted.mp4"
    reports = [out_dir / "redacted.mp4.report.json", out_dir / "redacted.mp4.report.html"]

    def export(proj) -> Child:
        return Child.cli("export", proj, "-o", out, "-q", env=env)

    # the previous complete output (another project), and the new one, exported without a kill
    assert export(old_project).finish(300) == 0
    old = {p: p.read_bytes() for p in [out, *reports]}
    for p in old:
        p.unlink()
    t = time.monotonic()
    c = export(project)
    assert c.finish(300) == 0, c.stderr()
    duration = time.monotonic() - t
    new = out.read_bytes()
    assert new != old[out]
    outcomes: Counter = Counter()
    t0 = time.monotonic()
    for i in range(n):
        prior = rng.random() < 0.5
        for p in [out, *reports]:
            p.unlink(missing_ok=True)
            if prior:
                p.write_bytes(old[p])
        child = export(project)
        # half the kills anywhere, half near the end: the rename, then the audit report
        time.sleep(rng.uniform(0.0, duration) if i % 2 else rng.uniform(0.8 * duration, 1.1 * duration))
        rc = child.kill()
        msg = f"cycle {i} (seed {seed}, exit {rc}, prior output {prior})"
        assert rc in (-9, 0), f"{msg}: {child.stderr()}"
        if out.exists():
            data = out.read_bytes()
            if data == new:
                kind = "new"
            elif prior and data == old[out]:
                kind = "old"
            else:  # not the calibration's bytes (the code changed meanwhile?): it must be complete
                assert _complete(out, 120), f"partial or foreign file at the output, {msg}"
                kind = "new (other bytes, complete)"
            rep = reports[0]
            outcomes[kind + (" + report" if rep.exists() else ", no report")] += 1
            if rep.exists():  # a report never describes another file than the one beside it
                facts = json.loads(rep.read_text())["output"]
                assert facts["sha256"] == sha256(out) and facts["size"] == len(data), msg
        else:
            assert not prior, f"the previous output was removed, {msg}"
            outcomes["absent"] += 1
        left = extra(out_dir, out, *reports)
        assert len(left) <= 1, f"partial exports pile up: {left}, {msg}"
        outcomes["killed mid-write" if left else "no temp left"] += 1
        assert sha256(export_clip) == clip_sha, msg
    elapsed = time.monotonic() - t0
    # the next export into the folder removes what the killed ones left
    assert export(project).finish(300) == 0
    assert out.read_bytes() == new
    assert extra(out_dir, out, *reports) == [], "the next export must remove the killed exports' partial files"
    assert out.exists() and all(r.exists() for r in reports)
    assert sha256(export_clip) == clip_sha
    print(f"\nexport: {n} kill -9 cycles in {elapsed:.1f} s (an export takes {duration:.1f} s), never a partial "
          f"output (seed {seed}): {dict(outcomes)}")


# -- 3a. kill -9 during an analysis ---------------------------------------------------------------
@pytest.mark.slow
def test_kill_during_analysis_keeps_the_previous_project(tmp_path, face_clip):
    rng, seed = make_rng()
    n = cycles(6)
    env = child_env(tmp_path)
    clip_sha = sha256(face_clip)
    folder = tmp_path / "proj"
    folder.mkdir()
    path = folder / "faces.obscura.json"
    prev = make_project(320, 180, 6)
    prev.media = MediaRef(face_clip, 320, 180, Fraction(30000, 1001), 6)
    save_project(prev, path)
    old = path.read_bytes()
    path.unlink()

    def analyze() -> Child:
        return Child.cli("analyze", face_clip, "-o", path, "-q", "--device", "cpu", env=env)

    t = time.monotonic()
    c = analyze()
    assert c.finish(300) == 0, c.stderr()
    duration = time.monotonic() - t
    new = path.read_bytes()
    assert {tr.cls for tr in load_project(path).tracks} >= {"face"}, "the real detector found the face"
    outcomes: Counter = Counter()
    t0 = time.monotonic()
    for i in range(n):
        prior = rng.random() < 0.5
        path.unlink(missing_ok=True)
        if prior:
            path.write_bytes(old)
        child = analyze()
        # half the kills anywhere, half near the end, where the project is written
        time.sleep(rng.uniform(0.0, duration) if i % 2 else rng.uniform(0.8 * duration, 1.1 * duration))
        rc = child.kill()
        msg = f"cycle {i} (seed {seed}, exit {rc}, prior project {prior})"
        assert rc in (-9, 0), f"{msg}: {child.stderr()}"
        if path.exists():
            data = path.read_bytes()
            loaded = load_project(path)  # never torn: it always loads
            if data == new:
                outcomes["new"] += 1
            elif prior and data == old:
                outcomes["previous"] += 1
            else:  # not the calibration's bytes (the code changed meanwhile?): a whole analysis
                assert {t.cls for t in loaded.tracks} >= {"face"}, f"foreign project file, {msg}"
                outcomes["new (other bytes, complete)"] += 1
        else:
            assert not prior, f"the previous project was removed, {msg}"
            outcomes["absent"] += 1
        left = extra(folder, path)
        assert len(left) <= 1, f"temporary files pile up: {left}, {msg}"
        assert sha256(face_clip) == clip_sha, msg
    elapsed = time.monotonic() - t0
    save_project(load_project(path) if path.exists() else prev, path)
    assert extra(folder, path) == []
    assert sha256(face_clip) == clip_sha
    print(f"\nanalyze: {n} kill -9 cycles in {elapsed:.1f} s (an analysis takes {duration:.1f} s), never a "
          f"torn project (seed {seed}): {dict(outcomes)}")


def test_children_are_really_killed_not_asked(tmp_path, export_clip):
    """The kill is SIGKILL (no handler, no cleanup code runs): a killed save leaves its temp file."""
    folder = tmp_path / "p"
    folder.mkdir()
    c = Child.module("hold-save", folder / "x.obscura.json", export_clip)
    c.wait_for("HOLDING", 60)
    assert len(temps(folder)) == 1
    assert c.kill() == -9
    assert len(temps(folder)) == 1  # nothing in the child could tidy up
    save_project(make_project(32, 32, 2), folder / "y.obscura.json")
    assert temps(folder) == []


def test_a_new_export_removes_the_old_report_before_it_replaces_the_output(tmp_path, export_clip):
    """The audit report beside an output describes that file: when a new export replaces the file,
    the old report goes first (so a kill before the new report is written leaves no report, never a
    wrong one), and an export without a report leaves none."""
    from app.base.progress import run
    from app.errors import ObscuraError
    from app.pipelines.export import export
    from app.pipelines.report import report_paths

    clip_sha = sha256(export_clip)
    out = tmp_path / "redacted.mp4"
    run(export(_export_project(export_clip, "solid"), export_clip, str(out)))
    stale = report_paths(str(out))
    for p in stale:
        with open(p, "w") as f:
            f.write("{}")
    run(export(_export_project(export_clip, ""), export_clip, str(out)))
    assert not any(os.path.exists(p) for p in stale)
    assert sorted(os.listdir(tmp_path)) == ["redacted.mp4"]
    # a failed export leaves the output and its report alone
    for p in stale:
        with open(p, "w") as f:
            f.write("{}")
    before = out.read_bytes()
    with pytest.raises(ObscuraError):  # the input does not exist
        run(export(_export_project(export_clip, ""), str(tmp_path / "missing.mp4"), str(out)))
    assert out.read_bytes() == before and all(os.path.exists(p) for p in stale)
    assert sha256(export_clip) == clip_sha
