"""The audit report written beside every export: complete, valid, true to the files, and clean
(no image data, no paths). Real media through the real command line."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import pytest

from app.core.project import Keyframe, KeyframeSource, Track
from app.core.shapes import Shape
from app.core.style import RedactionStyle
from app.detection import models
from app.media.sample import render_frames
from app.pipelines.report import build_report, load_schema, render_html, validate_report, write_report
from app.project_io import save_project
from tests.test_leakcheck import HEIGHT, WIDTH, short_project, write_short_sample

REPO = Path(__file__).resolve().parents[1]
OPERATOR = 'Ann <b>O\'Neil</b> & "co"'


def obscura(*args, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def audit_project(clip: Path, truth):
    """The sample's truth tracks, plus an exempt and a rejected track and some operator edits."""
    project = short_project(clip, truth)
    face = project.track("face-0001")
    face.review, face.changed_by = "approved", "Ann"
    plate = project.track("plate-0001")
    plate.set_keyframe(Keyframe(5, plate.shape_at(5), KeyframeSource.AUTO, score=0.8))  # manual + auto: mixed
    plate.style = RedactionStyle(method="pixelate", margin=10.0)
    project.add_track(Track("manual-0001", "manual", [
        Keyframe(2, Shape.polygon([(10, 10), (60, 12), (40, 50)]), KeyframeSource.MANUAL),
        Keyframe(12, Shape.polygon([(20, 10), (70, 12), (50, 50)]), KeyframeSource.MANUAL, visible=False),
    ], enabled=False, review="approved", changed_by="Ann"))  # exempt: kept visible on purpose
    project.add_track(Track("face-0002", "face", [
        Keyframe(0, Shape.rect(500, 20, 540, 70), KeyframeSource.AUTO, score=0.31),
        Keyframe(9, Shape.rect(505, 20, 545, 70), KeyframeSource.AUTO, score=0.33),
    ], review="rejected", changed_by="Bob"))  # a false detection the operator rejected
    return project


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The short sample exported through ``obscura export`` from another folder than the output's."""
    src = tmp_path_factory.mktemp("footage")
    clip = src / "street_cam_07.mp4"
    truth = write_short_sample(clip, frames=30)
    project = audit_project(clip, truth)
    proj_file = src / "case.obscura.json"
    save_project(project, proj_file)
    out_dir = tmp_path_factory.mktemp("published")
    out = out_dir / "street_cam_07_redacted.mp4"
    r = obscura("export", proj_file, "-o", out, "--operator", OPERATOR, "--preset", "ultrafast")
    assert r.returncode == 0, r.stderr
    assert "wrote audit report" in r.stderr
    return clip, out, project, r


def _report_files(out: Path) -> tuple[Path, Path]:
    return Path(f"{out}.report.json"), Path(f"{out}.report.html")


def test_report_is_written_beside_the_output_and_validates(exported):
    clip, out, _project, _r = exported
    jpath, hpath = _report_files(out)
    assert jpath.is_file() and hpath.is_file()
    assert sorted(os.listdir(out.parent)) == sorted([out.name, jpath.name, hpath.name])  # no temp files left
    report = json.loads(jpath.read_text())
    validate_report(report)
    import jsonschema

    jsonschema.Draft202012Validator(load_schema()).validate(report)

    # the files: names only, true sizes and hashes
    assert report["input"] == {"name": clip.name, "size": clip.stat().st_size, "sha256": sha256(clip)}
    assert report["output"] == {"name": out.name, "size": out.stat().st_size, "sha256": sha256(out)}
    m = report["media"]
    assert (m["kind"], m["width"], m["height"], m["frame_count"], m["fps"]) == ("video", WIDTH, HEIGHT, 30,
                                                                                "30000/1001")
    assert m["duration_s"] == pytest.approx(30 * 1001 / 30000, abs=1e-3)
    assert report["export"]["frames"] == 30 and report["export"]["settings"]["preset"] == "ultrafast"
    assert report["operator"] == OPERATOR
    t0 = datetime.fromisoformat(report["started"].replace("Z", "+00:00"))
    t1 = datetime.fromisoformat(report["finished"].replace("Z", "+00:00"))
    assert report["started"].endswith("Z") and t0 <= t1 and datetime.now(UTC) - t1 < timedelta(minutes=10)
    assert report["software"]["version"] == __import__("app").__version__
    # models: id, licence and sha256 from the manifest (no analysis in an export: ran is false)
    assert not report["detection"]["ran"]
    mids = {x["id"]: x for x in report["detection"]["models"]}
    for mid, entry in mids.items():
        s = models.spec(mid)
        assert (entry["licence"], entry["sha256"]) == (s.licence, s.sha256)
    assert report["detection"]["thresholds"]["face"]["score"] == pytest.approx(0.3)
    assert report["styles"]["face"]["method"] == "gaussian" and report["leak_check"] is None


def test_report_lists_every_track_as_it_stands(exported):
    _clip, out, project, _r = exported
    report = json.loads(_report_files(out)[0].read_text())
    tracks = {t["id"]: t for t in report["tracks"]}
    assert list(tracks) == [t.id for t in project.tracks]
    face, plate, manual, rejected = (tracks[i] for i in ("face-0001", "plate-0001", "manual-0001", "face-0002"))
    assert (face["status"], face["review"], face["changed_by"], face["source"]) == ("redacted", "approved", "Ann", "manual")
    assert face["spans"] == [{"start": 0, "end": 29, "start_tc": "00:00:00:00", "end_tc": "00:00:00:29",
                              "start_s": 0.0, "end_s": pytest.approx(29 * 1001 / 30000, abs=1e-3)}]
    assert plate["source"] == "mixed" and plate["keyframes"]["auto"] == 1 and plate["changed_by"] == "analysis"
    assert plate["style"]["method"] == "pixelate" and plate["style_overridden"]
    assert (manual["status"], manual["enabled"]) == ("exempt", False)
    assert [(s["start"], s["end"]) for s in manual["spans"]] == [(2, 11)] and manual["frames"] == 10
    assert (rejected["status"], rejected["review"], rejected["changed_by"]) == ("rejected", "rejected", "Bob")
    assert report["totals"]["by_class"]["face"] == {"tracks": 2, "redacted": 1, "exempt": 0, "rejected": 1,
                                                    "redacted_frames": 30}
    assert report["totals"]["by_class"]["manual"]["exempt"] == 1
    assert report["review"] == {"needs_review": 0, "approved": 3, "rejected": 1}  # the sample's truth tracks are approved
    html_text = _report_files(out)[1].read_text()
    for needle in ("manual-0001", "exempt", "face-0002", "rejected", "street_cam_07.mp4"):
        assert needle in html_text


def test_report_holds_no_paths_and_no_image_data(exported):
    clip, out, _project, r = exported
    forbidden = {str(clip.parent), str(out.parent), os.path.expanduser("~"), str(REPO), "/tmp/", "/home/",
                 "/root/", "file:", "\\\\"}
    abs_path = re.compile(r"""(?:^|[\s"'=(,;])(?:/[A-Za-z0-9_.~-]+){2,}""")
    b64_run = re.compile(r"[A-Za-z0-9+/=]{65,}")  # longer than a hex SHA-256 (64)
    for path in _report_files(out):
        text = path.read_text()
        for f in forbidden:
            assert f not in text, f"{path.name} holds {f!r}"
        assert not abs_path.search(text), abs_path.search(text)
        assert not b64_run.search(text), b64_run.search(text).group(0)[:80]
        for word in ("data:", "base64", "<img", "src=", "url(", "<script", "http://", "https://", "@import"):
            assert word not in text.lower(), f"{path.name} holds {word!r}"
    # everything the operator typed is escaped in the page
    html_text = _report_files(out)[1].read_text()
    assert "Ann &lt;b&gt;O&#x27;Neil&lt;/b&gt; &amp; &quot;co&quot;" in html_text and "<b>O'Neil" not in html_text
    # the command's own messages name the output only as it was given
    assert str(clip.parent) not in r.stderr


def test_validate_report_rejects_broken_reports(exported, monkeypatch):
    _clip, out, _project, _r = exported
    good = json.loads(_report_files(out)[0].read_text())
    bad_cases = []
    d = copy.deepcopy(good)
    del d["tracks"]
    bad_cases.append(d)
    d = copy.deepcopy(good)
    d["input"]["name"] = "/srv/footage/street_cam_07.mp4"
    bad_cases.append(d)
    d = copy.deepcopy(good)
    d["input"]["sha256"] = "abc"
    bad_cases.append(d)
    d = copy.deepcopy(good)
    d["tracks"][0]["thumbnail"] = "iVBORw0KGgo"
    bad_cases.append(d)
    for d in bad_cases:
        with pytest.raises(ValueError):
            validate_report(d)
    # without jsonschema (it is a dev dependency), a structural check still catches the basics
    monkeypatch.setitem(sys.modules, "jsonschema", None)
    validate_report(good)
    for d in bad_cases[:3]:
        with pytest.raises(ValueError):
            validate_report(d)


def test_build_and_write_report_functions(tmp_path):
    """The API the editor calls from its worker: a photo in, a photo out."""
    from app.base.progress import run
    from app.pipelines.export import export

    frame, truth = next((f, t) for i, f, t in render_frames() if i == 30)
    frame = cv2.resize(frame, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)
    src = tmp_path / "in" / "photo.png"
    src.parent.mkdir()
    cv2.imwrite(str(src), frame)
    from app.media.sample import truth_project

    project = truth_project([[dict(e, box=[v * WIDTH / 1280 for v in e["box"]]) for e in truth]])
    out = tmp_path / "photo_redacted.jpg"
    started = datetime.now(UTC)
    result = run(export(project, str(src), str(out)))
    report = build_report(project, str(src), str(out), result, operator="", started=started,
                          finished=datetime.now(UTC), device="CPU", detector_config={"face_threshold": 0.4},
                          leak=None)
    assert report["media"]["kind"] == "image" and report["media"]["fps"] is None
    assert report["detection"]["ran"] and report["detection"]["thresholds"]["face"]["score"] == 0.4
    assert report["tracks"][0]["spans"][0]["start_tc"] == "00:00:00:00"
    jpath, hpath = write_report(report, str(out))
    assert (jpath, hpath) == (f"{out}.report.json", f"{out}.report.html")
    assert json.loads(Path(jpath).read_text())["output"]["sha256"] == sha256(out)
    assert "(operator not set)" in render_html(report)
    assert not [n for n in os.listdir(tmp_path) if ".part" in n]


@pytest.mark.slow
def test_cli_process_photo_report_with_detection_and_leak_check(tmp_path):
    frame, _truth = next((f, t) for i, f, t in render_frames() if i == 90)
    src = tmp_path / "still.png"
    cv2.imwrite(str(src), cv2.resize(frame, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA))
    out = tmp_path / "still_redacted.png"
    r = obscura("process", src, "-o", out, "--device", "cpu", "--leak-check", "--operator", "batch")
    assert r.returncode in (0, 8), r.stderr
    report = json.loads(Path(f"{out}.report.json").read_text())
    validate_report(report)
    assert report["detection"]["ran"] and report["detection"]["device"].startswith("CPU")
    assert report["detection"]["settings"]["device"] == "cpu"
    assert {m["task"] for m in report["detection"]["models"]} == {"face", "plate"}
    assert report["media"]["kind"] == "image" and report["tracks"]
    assert {t["source"] for t in report["tracks"]} == {"auto"} and {t["changed_by"] for t in report["tracks"]} == {"analysis"}
    lc = report["leak_check"]
    assert lc["frames_checked"] == 1 and lc["leaks"]["by_class"].get("face", 0) == 0
    assert (r.returncode == 8) == (not lc["gate"]["passed"])
