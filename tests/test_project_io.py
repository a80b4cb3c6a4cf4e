"""Project files: round trips, atomic saves, and rejection of bad files with field-naming errors."""

from __future__ import annotations

import copy
import errno
import json
import os
from fractions import Fraction
from pathlib import Path

import pytest

import app.project_io.io as pio
from app.core import (
    Keyframe,
    KeyframeSource,
    MediaRef,
    Project,
    RedactionMethod,
    RedactionStyle,
    Shape,
    Track,
)
from app.errors import OutputError, ProjectError
from app.project_io import load_project, project_from_dict, project_to_dict, save_project


def sample_project(media_path: str = "/videos/in.mp4") -> Project:
    p = Project(media=MediaRef(media_path, 1920, 1080, Fraction(30000, 1001), 1234, "ab" * 32))
    p.styles["plate"] = RedactionStyle(method=RedactionMethod.PIXELATE, strength=55.5, margin=15)
    p.add_track(
        Track(
            "face-0001",
            "face",
            [
                Keyframe(0, Shape.rect(10, 20, 110, 140), KeyframeSource.AUTO, True, 0.93),
                Keyframe(12, Shape.ellipse(12.25, 20, 115, 150), KeyframeSource.TRACKED),
                Keyframe(30, Shape.rect(0, 0, 1, 1), KeyframeSource.MANUAL, visible=False),
            ],
            review="approved",
            label="person left",
        )
    )
    p.add_track(
        Track(
            "manual-0001",
            "manual",
            [Keyframe(5, Shape.polygon([(0, 0), (50.5, 3), (25, 40), (1e-3, 39)]), KeyframeSource.MANUAL)],
            enabled=False,
            style=RedactionStyle(method=RedactionMethod.SOLID, color=(255, 128, 0), feather=0),
            review="rejected",
        )
    )
    p.meta = {"operator": "jd", "case": 4711, "ratio": 0.5, "checked": True, "note": None}
    return p


def leftovers(folder: Path) -> list[str]:
    return sorted(n for n in os.listdir(folder) if n.endswith(".tmp"))


# --- round trips ---------------------------------------------------------------------------------


def test_round_trip_save_load_is_equal(tmp_path):
    p = sample_project()
    target = tmp_path / "case.obscura"
    save_project(p, target)
    q = load_project(target)
    assert q == p
    assert q.media.fps == Fraction(30000, 1001) and isinstance(q.media.fps, Fraction)
    assert q.tracks[0].keyframes[1].source is KeyframeSource.TRACKED
    assert q.tracks[1].keyframes[0].shape.points == p.tracks[1].keyframes[0].shape.points
    assert q.styles["plate"].method is RedactionMethod.PIXELATE
    assert q.tracks[1].style.color == (255, 128, 0)
    assert leftovers(tmp_path) == []


def test_file_layout(tmp_path):
    target = tmp_path / "case.obscura"
    save_project(sample_project(), target)
    d = json.loads(target.read_text(encoding="utf-8"))
    assert d["format"] == "obscura-project" and d["version"] == 1
    assert d["media"]["fps"] == "30000/1001"
    kf = d["tracks"][0]["keyframes"][0]
    assert kf == {
        "frame": 0,
        "shape": {"kind": "rect", "points": [[10.0, 20.0], [110.0, 140.0]]},
        "source": "auto",
        "visible": True,
        "score": 0.93,
    }
    assert d["tracks"][0]["keyframes"][1]["score"] is None


def test_empty_project_round_trip(tmp_path):
    save_project(Project(), tmp_path / "p.json")
    assert load_project(tmp_path / "p.json") == Project()


def test_media_inside_project_folder_is_stored_relative(tmp_path):
    (tmp_path / "footage").mkdir()
    media = tmp_path / "footage" / "cam1.mp4"
    save_project(sample_project(str(media)), tmp_path / "p.obscura")
    d = json.loads((tmp_path / "p.obscura").read_text())
    assert d["media"]["path"] == "footage/cam1.mp4"
    assert load_project(tmp_path / "p.obscura").media.path == str(media)

    # the whole folder can move and the media is still found
    moved = tmp_path.parent / (tmp_path.name + "-moved")
    os.rename(tmp_path, moved)
    try:
        assert load_project(moved / "p.obscura").media.path == str(moved / "footage" / "cam1.mp4")
    finally:
        os.rename(moved, tmp_path)


def test_media_outside_project_folder_stays_absolute(tmp_path):
    (tmp_path / "proj").mkdir()
    media = str(tmp_path / "elsewhere" / "in.mp4")
    save_project(sample_project(media), tmp_path / "proj" / "p.obscura")
    d = json.loads((tmp_path / "proj" / "p.obscura").read_text())
    assert d["media"]["path"] == media


def test_missing_optional_fields_take_defaults():
    d = {
        "format": "obscura-project",
        "version": 1,
        "tracks": [
            {
                "id": "a",
                "cls": "face",
                "keyframes": [{"frame": 3, "shape": {"kind": "rect", "points": [[0, 0], [1, 1]]}}],
            }
        ],
    }
    p = project_from_dict(d)
    t = p.tracks[0]
    assert (t.enabled, t.label, t.style, t.review) == (True, "", None, "needs_review")
    kf = t.keyframes[0]
    assert (kf.source, kf.visible, kf.score) == (KeyframeSource.AUTO, True, None)
    assert p.media is None and p.meta == {}
    assert p.styles == Project().styles


# --- atomic save ---------------------------------------------------------------------------------


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "case.obscura"
    save_project(sample_project(), target)
    before = target.read_bytes()

    def boom(*a, **kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pio.json, "dump", boom)
    changed = sample_project()
    changed.tracks[0].label = "changed"
    with pytest.raises(OutputError) as ei:
        save_project(changed, target)
    assert str(ei.value) == f"cannot save project to {target}: no space left on device"
    assert target.read_bytes() == before
    assert leftovers(tmp_path) == []
    monkeypatch.undo()
    assert load_project(target) == sample_project()


@pytest.mark.parametrize("where", ["fsync", "replace"])
def test_enospc_at_fsync_or_rename_is_clean(tmp_path, monkeypatch, where):
    target = tmp_path / "case.obscura"
    target.write_text("OLD")

    def boom(*a, **kw):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pio.os, where, boom)
    with pytest.raises(OutputError, match="no space left on device"):
        save_project(sample_project(), target)
    monkeypatch.undo()
    assert target.read_text() == "OLD"
    assert leftovers(tmp_path) == []


def test_non_oserror_during_write_is_output_error(tmp_path, monkeypatch):
    def boom(*a, **kw):
        raise TypeError("something odd")

    monkeypatch.setattr(pio.json, "dump", boom)
    with pytest.raises(OutputError, match="something odd"):
        save_project(sample_project(), tmp_path / "p.obscura")
    assert os.listdir(tmp_path) == []


def test_save_into_missing_folder(tmp_path):
    target = tmp_path / "nope" / "p.obscura"
    with pytest.raises(OutputError, match="does not exist"):
        save_project(Project(), target)


def test_save_refuses_unserialisable_meta(tmp_path):
    p = Project(meta={"when": object()})
    with pytest.raises(OutputError, match=r"meta\.when"):
        save_project(p, tmp_path / "p.obscura")
    assert os.listdir(tmp_path) == []


def test_overwrite_keeps_permissions(tmp_path):
    target = tmp_path / "p.obscura"
    save_project(Project(), target)
    os.chmod(target, 0o640)
    save_project(sample_project(), target)
    assert (os.stat(target).st_mode & 0o777) == 0o640


# --- loading failures ----------------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(ProjectError, match="project file not found: .*nope.obscura"):
        load_project(tmp_path / "nope.obscura")


def test_invalid_json_names_line_and_column(tmp_path):
    f = tmp_path / "bad.obscura"
    f.write_text('{\n  "format": "obscura-project",\n  "version": 1,,\n}')
    with pytest.raises(ProjectError, match=r"not valid JSON: .* at line 3, column 16"):
        load_project(f)


def test_empty_and_binary_files(tmp_path):
    (tmp_path / "empty.obscura").write_bytes(b"")
    with pytest.raises(ProjectError, match="is empty"):
        load_project(tmp_path / "empty.obscura")
    (tmp_path / "bin.obscura").write_bytes(b"\x80\x81\xff{")
    with pytest.raises(ProjectError, match="not UTF-8"):
        load_project(tmp_path / "bin.obscura")


def test_version_too_new(tmp_path):
    from app.project_io.schema import VERSION

    d = project_to_dict(sample_project())
    d["version"] = VERSION + 1
    f = tmp_path / "future.obscura"
    f.write_text(json.dumps(d))
    with pytest.raises(ProjectError, match="made by a newer Obscura") as ei:
        load_project(f)
    assert str(f) in str(ei.value) and "\n" not in str(ei.value)


def test_nan_coordinate_in_file(tmp_path):
    d = project_to_dict(sample_project())
    d["tracks"][0]["keyframes"][1]["shape"]["points"][0][1] = float("nan")
    f = tmp_path / "nan.obscura"
    f.write_text(json.dumps(d))  # Python writes a bare NaN token, which json.loads accepts
    with pytest.raises(ProjectError) as ei:
        load_project(f)
    assert str(ei.value) == (
        f"project file {f}: tracks[0].keyframes[1].shape.points[0][1]: expected a finite number, got NaN"
    )


def _set(path: list, value):
    def mutate(d):
        node = d
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return mutate


def _delete(path: list):
    def mutate(d):
        node = d
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return mutate


def _duplicate_track(d):
    d["tracks"].append(copy.deepcopy(d["tracks"][0]))


def _duplicate_keyframe(d):
    kfs = d["tracks"][0]["keyframes"]
    kfs[2]["frame"] = kfs[0]["frame"]


BAD_CASES = [
    (_set(["format"], "something-else"), "project file: format: not an Obscura project"),
    (_set(["version"], "1"), "project file: version: expected an integer, got '1'"),
    (_set(["version"], 0), "project file: version: unsupported version 0"),
    (_delete(["tracks"]), "project file: missing required field 'tracks'"),
    (_set(["tracks"], {}), "project file: tracks: expected an array, got an object"),
    (_set(["media", "fps"], "0/1001"), "project file: media.fps: expected a positive rational"),
    (_set(["media", "width"], 12.5), "project file: media.width: expected an integer >= 1, got 12.5"),
    (_delete(["tracks", 1, "id"]), "project file: tracks[1]: missing required field 'id'"),
    (_duplicate_track, "project file: tracks[2].id: duplicate track id 'face-0001'"),
    (
        _set(["tracks", 0, "enabled"], "yes"),
        "project file: tracks[0].enabled: expected true or false, got 'yes'",
    ),
    (_set(["tracks", 0, "review"], "ok"), "project file: tracks[0].review: expected one of needs_review"),
    (
        _set(["tracks", 0, "keyframes", 1, "frame"], -4),
        "tracks[0].keyframes[1].frame: expected an integer >= 0, got -4",
    ),
    (_duplicate_keyframe, "project file: tracks[0].keyframes[2].frame: duplicate keyframe at frame 0"),
    (
        _set(["tracks", 0, "keyframes", 2, "source"], "magic"),
        "tracks[0].keyframes[2].source: expected one of auto, manual, tracked, got 'magic'",
    ),
    (
        _set(["tracks", 0, "keyframes", 1, "shape", "kind"], "circle"),
        "tracks[0].keyframes[1].shape.kind: expected one of rect, ellipse, polygon, got 'circle'",
    ),
    (
        _set(["tracks", 1, "keyframes", 0, "shape", "points", 1, 0], "abc"),
        "project file: tracks[1].keyframes[0].shape.points[1][0]: expected a finite number, got 'abc'",
    ),
    (
        _set(["tracks", 1, "keyframes", 0, "shape", "points"], [[0, 0], [1, 1]]),
        "tracks[1].keyframes[0].shape.points: a polygon needs at least 3 points, got 2",
    ),
    (
        _set(["tracks", 0, "keyframes", 0, "shape", "points", 0], [1, 2, 3]),
        "tracks[0].keyframes[0].shape.points[0]: expected an [x, y] pair, got 3 values",
    ),
    (
        _set(["tracks", 0, "keyframes", 0, "score"], float("inf")),
        "tracks[0].keyframes[0].score: expected a finite number, got Infinity",
    ),
    (
        _set(["styles", "plate", "strength"], 150),
        "project file: styles.plate.strength: expected a number <= 100, got 150",
    ),
    (
        _set(["styles", "face", "method"], "smear"),
        "styles.face.method: expected one of gaussian, pixelate, solid",
    ),
    (
        _set(["tracks", 1, "style", "color"], [255, 0, 300]),
        "tracks[1].style.color[2]: expected an integer <= 255, got 300",
    ),
    (_set(["tracks", 0, "bogus"], 1), "project file: tracks[0].bogus: unknown field"),
    (
        _set(["meta", "nested"], {"a": 1}),
        "project file: meta.nested: expected a string, number, true/false or null",
    ),
    (
        _set(["media", "sha256"], "not-a-hash"),
        "project file: media.sha256: expected 64 lowercase hex digits, got 'not-a-hash'",
    ),
]


@pytest.mark.parametrize("mutate, expected", BAD_CASES)
def test_bad_project_rejected_with_field_path(mutate, expected):
    d = project_to_dict(sample_project())
    mutate(d)
    with pytest.raises(ProjectError) as ei:
        project_from_dict(d)
    msg = str(ei.value)
    assert expected in msg
    assert "\n" not in msg


@pytest.mark.parametrize("top", [[], "x", 3, None])
def test_top_level_must_be_object(top):
    with pytest.raises(ProjectError, match="expected a JSON object at the top level"):
        project_from_dict(top)


@pytest.mark.parametrize("mutate, expected", BAD_CASES[:6])
def test_load_project_names_the_file_too(tmp_path, mutate, expected):
    d = project_to_dict(sample_project())
    mutate(d)
    f = tmp_path / "bad.obscura"
    f.write_text(json.dumps(d))
    with pytest.raises(ProjectError) as ei:
        load_project(f)
    assert str(ei.value).startswith(f"project file {f}: ")
    assert expected.removeprefix("project file: ") in str(ei.value)


def test_never_raises_raw_exceptions_on_garbage():
    """Randomly corrupt every node of a valid file: only ProjectError may come out."""
    import random

    base = project_to_dict(sample_project())
    garbage = [None, True, -1, 1.5, float("nan"), "", "x", [], {}, [1, 2], {"a": 1}, 10**30]
    rng = random.Random(1234)

    def nodes(node, path=()):
        yield path
        if isinstance(node, dict):
            for k, v in node.items():
                yield from nodes(v, (*path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from nodes(v, (*path, i))

    paths = [p for p in nodes(base) if p]
    assert len(paths) > 50
    for path in paths:
        for value in rng.sample(garbage, 4):
            d = copy.deepcopy(base)
            _set(list(path), value)(d)
            try:
                project_from_dict(d)
            except ProjectError as e:
                assert "\n" not in str(e)
