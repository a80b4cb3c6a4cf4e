"""Hostile project files opened in the real editor window: a clear dialog, no exception, nothing
opened half-way; a project whose video moved can be pointed at it, and its work is kept."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox

from tests.hostile_projects import CASES, Case, sha256, write_case

BY_NAME = {c.name: c for c in CASES}


@pytest.fixture
def base(ui_clip, tmp_path) -> tuple[dict, Path]:
    """A valid project (two tracks) on a copy of the UI clip (320x240, 60 frames) in ``tmp_path``."""
    from app.core import Keyframe, KeyframeSource, MediaRef, Project, Shape, Track
    from app.media.probe import probe
    from app.project_io import save_project

    clip = tmp_path / "clip.mp4"
    shutil.copyfile(ui_clip, clip)
    info = probe(str(clip))
    p = Project(media=MediaRef(str(clip), info.width, info.height, info.fps, info.frame_count))
    p.add_track(Track("face-0001", "face", [Keyframe(0, Shape.rect(10, 10, 60, 60)),
                                            Keyframe(30, Shape.rect(100, 50, 160, 120))], review="approved"))
    p.add_track(Track("manual-0001", "manual", [
        Keyframe(5, Shape.polygon([(250, 20), (300, 40), (280, 90)]), KeyframeSource.MANUAL)]))
    save_project(p, tmp_path / "valid.obscura.json")
    return json.loads((tmp_path / "valid.obscura.json").read_text()), clip


@pytest.fixture
def escaped(monkeypatch):
    """Exceptions that reach sys.excepthook (Qt slots, paint events) during the test."""
    seen: list[BaseException] = []
    monkeypatch.setattr(sys, "excepthook", lambda t, e, tb: seen.append(e))
    return seen


HOSTILE = ["coordinate NaN", "coordinate 1e300", "version from the future", "truncated at half", "empty file",
           "non-UTF-8 bytes", "duplicate track id", "2 million keyframes", "30 million tiny arrays (180 MB)",
           "project is a FIFO", "media path with NUL", "media path is a folder", "media path is not a video"]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_project_shows_one_clear_dialog(qtbot, window, base, tmp_path, _no_blocking_dialogs, escaped,
                                                name):
    case: Case = BY_NAME[name]
    project = write_case(case, copy.deepcopy(base[0]), tmp_path)
    before = sha256(project), sha256(base[1])
    assert not window.open_path(str(project))
    qtbot.wait(50)  # let queued slots run
    assert not escaped, escaped
    assert len(_no_blocking_dialogs) == 1, _no_blocking_dialogs
    _title, text = _no_blocking_dialogs[0]
    assert "Traceback" not in text and "internal error" not in text and "\n" not in text
    if case.load is not None:
        assert re.search(case.load, text), text
    else:
        assert any(w in text for w in ("folder", "not a video")), text
    assert not window.doc.has_media and window.doc.project_path is None
    assert (sha256(project), sha256(base[1])) == before


def test_loadable_oddities_open_and_draw(qtbot, window, base, tmp_path, _no_blocking_dialogs, escaped):
    """Shapes far outside the frame, a huge polygon, a keyframe at the last frame number allowed,
    keyframes out of order: the editor opens them and paints the viewport and timeline."""
    from app.project_io import schema

    d = copy.deepcopy(base[0])
    d["tracks"][0]["keyframes"].reverse()
    d["tracks"].append({"id": "far", "cls": "manual", "keyframes": [
        {"frame": 0, "shape": {"kind": "rect", "points": [[-1e6, -1e6], [1e6, 1e6]]}},
        {"frame": schema.MAX_FRAME, "shape": {"kind": "ellipse", "points": [[900000, 900000], [1e6, 1e6]]}}]})
    d["tracks"].append({"id": "poly", "cls": "manual", "keyframes": [{"frame": 2, "shape": {
        "kind": "polygon", "points": [[160 + (i % 97), 120 + (i * 31) % 89] for i in range(5000)]}}]})
    f = tmp_path / "odd.obscura.json"
    f.write_text(json.dumps(d))
    assert window.open_path(str(f)), _no_blocking_dialogs
    assert not _no_blocking_dialogs
    assert [k.frame for k in window.doc.project.track("face-0001").keyframes] == [0, 30]
    for frame in (0, 2, 30, 59):
        window.doc.set_frame(frame)
        qtbot.wait(30)
    window.grab()  # paints every widget
    window.timeline.grab()
    window.view.grab()
    qtbot.wait(50)
    assert not escaped, escaped


# -- the video moved ----------------------------------------------------------------------------
def _moved(base, tmp_path) -> tuple[Path, Path]:
    """The project saved with its video, then the video moved to another folder."""
    project = tmp_path / "valid.obscura.json"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    moved = elsewhere / "renamed.mp4"
    shutil.move(base[1], moved)
    return project, moved


def _answer(monkeypatch, said, yes_to: str, chosen: str | None):
    sb = QMessageBox.StandardButton

    def question(parent, title, text, buttons=sb.Yes | sb.No, default=sb.NoButton):
        said.append((title, text))
        return sb.Yes if title == yes_to else (sb.Discard if buttons & sb.Discard else sb.No)

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (chosen or "", "")))


def test_missing_video_declined_opens_nothing_and_changes_nothing(qtbot, window, base, tmp_path,
                                                                  _no_blocking_dialogs, escaped):
    project, moved = _moved(base, tmp_path)
    before = sha256(project)
    assert not window.open_path(str(project))
    assert len(_no_blocking_dialogs) == 1
    title, text = _no_blocking_dialogs[0]
    assert title == "Video not found"
    assert str(base[1]) in text and "Locate" in text
    assert not window.doc.has_media
    assert sha256(project) == before and not escaped


def test_missing_video_located_keeps_the_work(qtbot, window, base, tmp_path, _no_blocking_dialogs, escaped,
                                              monkeypatch):
    from app.project_io import load_project

    project, moved = _moved(base, tmp_path)
    before = sha256(project), sha256(moved)
    original = load_project(project)
    _answer(monkeypatch, _no_blocking_dialogs, "Video not found", str(moved))
    assert window.open_path(str(project))
    assert window.doc.has_media and window.doc.media_path == str(moved)
    assert window.doc.project.tracks == original.tracks  # every track and keyframe kept
    assert window.doc.dirty  # the new place is a change, saved only when the operator saves
    assert (sha256(project), sha256(moved)) == before
    assert window.save()
    again = load_project(project)
    assert again.media.path == str(moved) and again.tracks == original.tracks
    assert sha256(moved) == before[1] and not escaped


def test_missing_video_located_as_another_video_is_refused(qtbot, window, base, tmp_path, _no_blocking_dialogs,
                                                            escaped, monkeypatch, clips):
    project, moved = _moved(base, tmp_path)
    other = clips["cfr25"]  # 320x240 too, but 30 frames instead of 60
    before = sha256(project)
    _answer(monkeypatch, _no_blocking_dialogs, "Video not found", str(other))
    assert not window.open_path(str(project))
    title, text = _no_blocking_dialogs[-1]
    assert "30 frames" in text and "60 frames" in text and str(other) in text, text
    assert not window.doc.has_media and sha256(project) == before and not escaped


def test_missing_video_locate_cancelled(qtbot, window, base, tmp_path, _no_blocking_dialogs, escaped, monkeypatch):
    project, moved = _moved(base, tmp_path)
    _answer(monkeypatch, _no_blocking_dialogs, "Video not found", None)
    assert not window.open_path(str(project))
    assert [t for t, _ in _no_blocking_dialogs] == ["Video not found"]
    assert not window.doc.has_media and not escaped
    assert os.path.exists(moved)
