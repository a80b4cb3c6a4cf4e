"""Reasons and case data in the core: a track's and a mute's reason and the project's case ID are
checked, saved in project file version 3 (older files still load), refused with a one-line message
when damaged, and rolled up by ``obscura export`` into the audit report's redaction and exemption
log (JSON, valid against its schema, and HTML). Real media through the real command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.audio import AudioMute
from app.core.project import Track
from app.errors import ProjectError
from app.project_io import load_project, save_project
from app.project_io.schema import project_from_dict, project_to_dict
from tests.test_leakcheck import short_project, write_short_sample

REPO = Path(__file__).resolve().parents[1]


def test_reason_and_case_id_are_checked():
    with pytest.raises(ValueError, match="track reason"):
        Track("face-0001", "face", reason="two\nlines")
    with pytest.raises(ValueError, match="audio mute reason"):
        AudioMute("mute-0001", 0, 5, reason=" padded ")
    assert Track("face-0001", "face", reason="minor").reason == "minor"


def test_file_version_3_only_when_needed_and_old_files_load(tmp_path):
    clip = tmp_path / "c.mp4"
    project = short_project(clip, write_short_sample(clip, frames=6))
    d = project_to_dict(project)
    assert d["version"] == 1 and "case_id" not in d and all("reason" not in t for t in d["tracks"])
    assert project_from_dict(d).case_id == ""
    project.case_id = "EV-2026/17"
    project.tracks[0].reason = "bystander"
    project.audio_mutes = [AudioMute("mute-0001", 1, 3, reason="personal data spoken")]
    path = tmp_path / "p.obscura.json"
    save_project(project, path)
    raw = json.loads(path.read_text())
    assert raw["version"] == 3 and raw["case_id"] == "EV-2026/17"
    back = load_project(path)
    assert back.case_id == "EV-2026/17" and back.tracks[0].reason == "bystander"
    assert back.audio_mutes[0].reason == "personal data spoken"
    # damaged: one line naming the field, the file untouched
    raw["tracks"][0]["reason"] = "x" * 500
    path.write_text(json.dumps(raw))
    before = path.read_bytes()
    with pytest.raises(ProjectError, match=r"tracks\[0\]\.reason: expected a reason of at most 120") as e:
        load_project(path)
    assert "\n" not in str(e.value) and path.read_bytes() == before
    raw["tracks"][0]["reason"] = "ok"
    raw["case_id"] = 17
    path.write_text(json.dumps(raw))
    with pytest.raises(ProjectError, match="case_id"):
        load_project(path)


def test_cli_export_report_has_case_id_reasons_and_the_log(tmp_path):
    from app.pipelines.report import load_schema

    clip = tmp_path / "cam.mp4"
    project = short_project(clip, write_short_sample(clip, frames=12))
    project.case_id = "EV-9"
    face = project.track("face-0001")
    face.reason, face.changed_by = "minor", "Ann"
    plate = project.track("plate-0001")
    plate.enabled, plate.reason, plate.changed_by = False, "vehicle", "Ann"  # exempt: kept visible
    proj = tmp_path / "case.obscura.json"
    save_project(project, proj)
    out = tmp_path / "out.mp4"
    r = subprocess.run([sys.executable, "-m", "app", "export", str(proj), "-o", str(out), "--operator", "Ann",
                        "--preset", "ultrafast"], capture_output=True, text=True, timeout=180, cwd=REPO)
    assert r.returncode == 0, r.stderr
    rep = json.loads(Path(f"{out}.report.json").read_text())
    import jsonschema

    jsonschema.Draft202012Validator(load_schema()).validate(rep)
    assert rep["case_id"] == "EV-9" and rep["format_version"] == 2
    log = {e["id"]: e for e in rep["log"]}
    assert (log["face-0001"]["decision"], log["face-0001"]["reason"], log["face-0001"]["operator"]) == \
        ("redacted", "minor", "Ann")
    assert (log["plate-0001"]["decision"], log["plate-0001"]["reason"]) == ("exempt", "vehicle")
    assert log["face-0001"]["spans"] == next(t["spans"] for t in rep["tracks"] if t["id"] == "face-0001")
    assert log["face-0001"]["spans"][0]["start_tc"] == "00:00:00:00"
    html = Path(f"{out}.report.html").read_text()
    assert "Redaction and exemption log (2 entries, 1 exempt)" in html and "EV-9" in html
