"""The command line as an operator runs it: real subprocesses, one-line errors, end to end."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.core import Project
from app.project_io import save_project
from tests.media_factory import (
    REDACTION_CHECK,
    frame_times,
    remux_faststart,
    write_random_bytes,
    write_truncated,
)

REPO = Path(__file__).resolve().parents[1]


def obscura(*args, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )


def assert_one_line_error(r: subprocess.CompletedProcess, *words: str) -> str:
    assert r.returncode != 0, f"expected a failure, got exit 0: {r.stderr}"
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got: {r.stderr!r}"
    line = lines[0]
    assert line.startswith("obscura: error: "), line
    for w in words:
        assert w.lower() in line.lower(), f"{w!r} not in {line!r}"
    return line


@pytest.fixture(scope="module")
def empty_project(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli_project") / "empty.obscura.json"
    save_project(Project(), path)
    return path


# -- probe -------------------------------------------------------------------------------------
def test_probe_prints_exact_frame_rate(clips):
    r = obscura("probe", clips["ntsc_audio"])
    assert r.returncode == 0, r.stderr
    assert re.search(r"fps: 30000/1001$", r.stdout, re.M)
    assert re.search(r"frame_count: 45$", r.stdout, re.M)

    r = obscura("probe", "--json", clips["vfr"])
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["variable_frame_rate"] is True and data["frame_count"] == 30
    assert r.stderr == ""


@pytest.mark.parametrize("args", [["probe", "--json"], ["probe"], ["models", "list"]])
def test_output_into_a_closed_pipe_ends_quietly(tmp_path, clips, args):
    """``obscura probe X | head -1``: the reader goes away; the command ends as shell tools do
    (exit 141, nothing on stderr), not with an internal error and a crash log."""
    read, write = os.pipe()
    os.close(read)  # the reader is gone before anything is written
    env = {**os.environ, "OBSCURA_DATA": str(tmp_path / "data")}
    extra = [clips["vfr"]] if args[0] == "probe" else []
    try:
        r = subprocess.run([sys.executable, "-m", "app", *args, *extra], stdout=write, stderr=subprocess.PIPE,
                           text=True, timeout=60, cwd=REPO, env=env)
    finally:
        os.close(write)
    assert r.returncode == 141, r.stderr
    assert r.stderr == ""
    assert not list((tmp_path / "data").rglob("crash-*.log"))


# -- one-line errors ---------------------------------------------------------------------------
def test_missing_input(tmp_path, empty_project):
    assert_one_line_error(obscura("probe", tmp_path / "missing.mp4"), "not found", "missing.mp4")
    r = obscura("process", tmp_path / "missing.mp4", "-o", tmp_path / "out.mp4", "--project", empty_project)
    assert_one_line_error(r, "not found")
    assert r.returncode == 2


def test_not_a_video(tmp_path, empty_project):
    noise = write_random_bytes(tmp_path / "noise.mp4")
    assert_one_line_error(obscura("probe", noise), "not a video")
    r = obscura("process", noise, "-o", tmp_path / "out.mp4", "--project", empty_project)
    assert_one_line_error(r, "not a video")
    assert sorted(os.listdir(tmp_path)) == ["noise.mp4"]


def test_truncated_video(tmp_path, clips, empty_project):
    cut = write_truncated(clips["ntsc_audio"], tmp_path / "cut.mp4")
    r = obscura("process", cut, "-o", tmp_path / "out.mp4", "--project", empty_project)
    assert_one_line_error(r, "corrupt")
    fast_cut = write_truncated(remux_faststart(clips["ntsc_audio"], tmp_path / "fast.mp4"), tmp_path / "fast_cut.mp4")
    r = obscura("process", fast_cut, "-o", tmp_path / "out.mp4", "--project", empty_project)
    assert_one_line_error(r, "truncated", "fast_cut.mp4")
    assert r.returncode == 3
    assert not (tmp_path / "out.mp4").exists() and not [n for n in os.listdir(tmp_path) if ".part" in n]


def test_output_equals_input(tmp_path, clips, empty_project):
    src = tmp_path / "clip.mp4"
    src.write_bytes(clips["ntsc_silent"].read_bytes())
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    r = obscura("process", src, "-o", src, "--project", empty_project)
    assert_one_line_error(r, "overwrite the input")
    assert r.returncode == 4
    assert hashlib.sha256(src.read_bytes()).hexdigest() == digest
    assert os.listdir(tmp_path) == ["clip.mp4"]


@pytest.mark.parametrize("name", ["out.webm", "out.xyz", "out"])
def test_unsupported_output_extension(tmp_path, clips, empty_project, name):
    r = obscura("process", clips["ntsc_silent"], "-o", tmp_path / name, "--project", empty_project)
    assert_one_line_error(r, "unsupported output")
    assert os.listdir(tmp_path) == []


def test_bad_project_file_names_the_field(tmp_path, clips):
    good = tmp_path / "good.obscura.json"
    save_project(Project(), good)
    data = json.loads(good.read_text())
    data["tracks"] = [
        {
            "id": "face-0001",
            "cls": "face",
            "keyframes": [{"frame": 0, "shape": {"kind": "rect", "points": [[0, 0], ["abc", 10]]}}],
        }
    ]
    bad = tmp_path / "bad.obscura.json"
    bad.write_text(json.dumps(data))
    r = obscura("process", clips["ntsc_silent"], "-o", tmp_path / "out.mp4", "--project", bad)
    line = assert_one_line_error(r, "tracks[0].keyframes[0].shape.points[1][0]", "abc")
    assert "bad.obscura.json" in line
    assert r.returncode == 5

    (tmp_path / "broken.json").write_text('{"format": "obscura-project", "version": 1,')
    assert_one_line_error(obscura("export", tmp_path / "broken.json", "-o", tmp_path / "o.mp4"), "not valid JSON")
    assert not (tmp_path / "out.mp4").exists() and not (tmp_path / "o.mp4").exists()


def test_bad_style_option_is_one_line(tmp_path, clips, empty_project):
    r = obscura("process", clips["ntsc_silent"], "-o", tmp_path / "o.mp4", "--project", empty_project,
                "--strength", "250")
    # An empty project has styles for every class, so the override is validated and refused.
    assert_one_line_error(r, "strength")


# -- end to end --------------------------------------------------------------------------------
@pytest.mark.slow
def test_sample_then_process_has_no_leaks(tmp_path):
    clip, truth, project = tmp_path / "sample.mp4", tmp_path / "sample.truth.json", tmp_path / "sample.obscura.json"
    r = obscura("sample", clip, "--project", project, "--truth", truth)
    assert r.returncode == 0, r.stderr
    assert clip.is_file() and truth.is_file() and project.is_file()

    out = tmp_path / "redacted.mp4"
    r = obscura("process", clip, "-o", out, "--project", project, "--preset", "veryfast", timeout=300)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert re.search(r"wrote .*redacted\.mp4: 180 frames, 360 masks on 180 frames", r.stderr)
    assert frame_times(out) == frame_times(clip)

    if not REDACTION_CHECK.is_file():
        pytest.skip(f"shared redaction check not found: {REDACTION_CHECK}")
    check = subprocess.run([sys.executable, str(REDACTION_CHECK), "video", str(clip), str(truth), str(out)],
                           capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stderr
    m = re.search(r"(\d+) object-frames, leaked (\d+) = ([\d.]+)", check.stdout)
    assert m, check.stdout
    assert int(m.group(1)) == 360 and int(m.group(2)) == 0 and float(m.group(3)) == 0.0, check.stdout

    # And the unredacted clip is all leaks, so the check does measure something.
    plain = tmp_path / "plain.mp4"
    empty = tmp_path / "empty.obscura.json"
    save_project(Project(), empty)
    assert obscura("process", clip, "-o", plain, "--project", empty, "--preset", "ultrafast", "-q").returncode == 0
    check = subprocess.run([sys.executable, str(REDACTION_CHECK), "video", str(clip), str(truth), str(plain)],
                           capture_output=True, text=True, timeout=300)
    assert "leaked 360 = 1.0000" in check.stdout, check.stdout


def test_export_input_must_be_the_projects_video(tmp_path, clips):
    """`export --input` takes the project's video where it is now, never another video: the masks
    are in that video's pixels and frames."""
    from app.core import MediaRef
    from app.media.probe import probe

    src = clips["ntsc_audio"]
    info = probe(str(src))
    project_path = tmp_path / "p.obscura.json"
    save_project(Project(media=MediaRef(str(src), info.width, info.height, info.fps, info.frame_count)),
                 project_path)
    moved = tmp_path / "moved.mp4"
    moved.write_bytes(src.read_bytes())
    r = obscura("export", project_path, "--input", moved, "-o", tmp_path / "ok.mp4", "--no-report")
    assert r.returncode == 0, r.stderr
    other = clips["vfr"]
    assert probe(str(other)).frame_count != info.frame_count
    r = obscura("export", project_path, "--input", other, "-o", tmp_path / "bad.mp4")
    assert_one_line_error(r, "is not the video of project", "frames")
    assert r.returncode == 5 and not (tmp_path / "bad.mp4").exists()
