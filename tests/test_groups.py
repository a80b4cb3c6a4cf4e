"""Track groups in the core model and the project file: saved, read back, validated, versioned."""

from __future__ import annotations

import json

import pytest

from app.core import Keyframe, MediaRef, Project, Shape, Track
from app.core.groups import default_kind, expand, group_kind, group_names, members, new_group_name
from app.errors import ProjectError
from app.project_io import load_project, save_project
from app.project_io.schema import project_from_dict, project_to_dict


def _project() -> Project:
    from fractions import Fraction

    box = Shape.rect(10, 10, 50, 60)
    p = Project(media=MediaRef("/v.mp4", 320, 240, Fraction(30), 100))
    for i, (cls, group) in enumerate((("face", "Person 1"), ("face", "Person 1"), ("plate", ""), ("face", ""))):
        p.tracks.append(Track(f"{cls}-{i}", cls, [Keyframe(i, box), Keyframe(i + 20, box)], group=group))
    return p


def test_group_names_and_helpers():
    p = _project()
    assert group_names(p.tracks) == ["Person 1"]
    assert [t.id for t in members(p.tracks, "Person 1")] == ["face-0", "face-1"]
    assert new_group_name(p.tracks, "person") == "Person 2"
    assert new_group_name(p.tracks, "vehicle") == "Vehicle 1"
    assert group_kind("Vehicle 3") == "vehicle" and group_kind("my lot") == ""
    assert default_kind([p.tracks[2]]) == "vehicle" and default_kind(p.tracks) == "person"
    assert expand(p.tracks, ["face-1", "face-3"]) == ["face-0", "face-1", "face-3"]


def test_group_round_trip_and_version(tmp_path):
    p = _project()
    path = tmp_path / "g.obscura.json"
    save_project(p, path)
    raw = json.loads(path.read_text())
    assert raw["version"] == 2
    assert [t.get("group") for t in raw["tracks"]] == ["Person 1", "Person 1", None, None]
    back = load_project(path)
    assert [t.group for t in back.tracks] == [t.group for t in p.tracks]
    # no group: the file stays version 1, byte for byte what an older Obscura wrote and reads
    for t in p.tracks:
        t.group = ""
    d = project_to_dict(p)
    assert d["version"] == 1 and all("group" not in t for t in d["tracks"])


def test_version_1_file_reads_without_groups():
    d = project_to_dict(_project())
    d["version"] = 1
    for t in d["tracks"]:
        t.pop("group", None)
    assert all(t.group == "" for t in project_from_dict(d).tracks)


@pytest.mark.parametrize("bad, why", [
    (5, "expected a string"),
    (" Person 1", "group name"),
    ("x" * 65, "at most 64"),
    ("a\nb", "printable"),
])
def test_bad_group_is_named(bad, why):
    d = project_to_dict(_project())
    d["tracks"][1]["group"] = bad
    with pytest.raises(ProjectError, match=r"tracks\[1\]\.group") as ei:
        project_from_dict(d)
    assert why in str(ei.value) and "\n" not in str(ei.value)


def test_track_refuses_bad_group():
    with pytest.raises(ValueError, match="group"):
        Track("t", "face", group=" spaced ")
