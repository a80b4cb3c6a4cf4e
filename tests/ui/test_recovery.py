"""Crash recovery in the editor: ``kill -9`` of the real editor mid-analysis, then the next start.

A child process runs the real MainWindow offscreen (tests/crash_child.py ``editor``): it opens a
clip, starts the real analysis (real detectors), sometimes adds a mask meanwhile, autosaves on a
short timer, and is killed with SIGKILL at a random moment. After each kill:

- ``autosave.pending()`` lists the autosave if one was written (and nothing if none was), and the
  autosave loads with ``load_project`` and holds exactly what one of the child's last autosaves
  held (never torn, never older than the last one that completed);
- a fresh MainWindow in this process offers recovery (the real dialog code path, with the dialog
  intercepted): accepting loads the recovered project into the editor, declining removes it;
- the autosave folder is left tidy: no temporary files, no record without its autosave, no lock
  files of dead sessions.

The input video's SHA-256 is checked before and after. More cycles: OBSCURA_CRASH_CYCLES=N.
"""

from __future__ import annotations

import os
import sys
import time

import pytest

from tests.crash_child import Child, cycles, make_rng, project_digest, sha256, write_face_clip

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")]


@pytest.fixture(scope="module")
def face_clip(tmp_path_factory):
    return write_face_clip(tmp_path_factory.mktemp("recovery_clip") / "faces.mp4")


def _env(data_dir, tmp_path) -> dict:
    return dict(os.environ, OBSCURA_DATA=str(data_dir), QT_QPA_PLATFORM="offscreen",
                XDG_CONFIG_HOME=str(tmp_path / "child_config"), PYTHONUNBUFFERED="1")


def _allowed(child: Child) -> tuple[set[str], bool]:
    """What the autosave may hold after the kill: the last autosave that completed, or one that had
    started after it (the kill may land after the rename, before the child said so). Also whether
    one had certainly completed."""
    allowed: set[str] = set()
    completed = False
    for word, digest, *_ in (w for w in child.words() if w[0] in ("WRITING", "WROTE")):
        if word == "WROTE":
            allowed, completed = {digest}, True
        else:
            allowed.add(digest)
    return allowed, completed


def _recover(qtbot, monkeypatch, accept: bool):
    """A fresh editor start: offer_recovery() with the question dialog intercepted."""
    from PySide6.QtWidgets import QMessageBox

    from app.ui.main_window import MainWindow

    asked: list[tuple[str, str]] = []
    answer = QMessageBox.StandardButton.Yes if accept else QMessageBox.StandardButton.No
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda parent, title, text, *a, **k: (
        asked.append((title, text)), answer)[1]))
    win = MainWindow()
    qtbot.addWidget(win)
    return win, win.offer_recovery(), asked


def _close(win) -> None:
    win.doc._dirty = False
    win.doc.undo.setClean()
    win.close()


def test_kill_editor_during_analysis_then_recover(qtbot, data_dir, monkeypatch, tmp_path, face_clip):
    from app.ui import autosave

    rng, seed = make_rng()
    n = cycles(6)
    env = _env(data_dir, tmp_path)
    clip_sha = sha256(face_clip)
    folder = autosave.autosave_dir()
    own_lock = f".session.{autosave.SESSION}.lock"

    # calibration: how long the analysis takes from start to finish in the editor
    child = Child.module("editor", face_clip, -1, 0, env=env)
    started = child.wait_for("STARTED", 180)
    duration = child.wait_for("FINISHED", 300) - started
    child.wait_for("WROTE", 30)
    assert child.kill() == -9
    (rec,) = autosave.pending()
    assert {t.cls for t in rec.load().tracks} >= {"face"}, "the real analysis found the face"
    rec.discard()
    assert autosave.pending() == [] and os.listdir(folder) == []

    stats = {"cycles": 0, "autosave found": 0, "nothing written yet": 0, "killed mid-write": 0,
             "with an edit": 0, "recovered": 0, "declined": 0}
    t0 = time.monotonic()
    for i in range(n):
        edit_at = rng.uniform(0.0, duration) if rng.random() < 0.7 else -1.0
        child = Child.module("editor", face_clip, f"{edit_at:.3f}", i, env=env)
        child.wait_for("STARTED", 180)
        time.sleep(rng.uniform(0.0, 1.3 * duration))
        assert child.kill() == -9, child.stderr()
        msg = f"cycle {i} (seed {seed}, edit at {edit_at:.2f} s): {child.words()[-4:]}"
        stats["cycles"] += 1
        stats["with an edit"] += bool(child.words("EDITED"))
        allowed, completed = _allowed(child)
        recs = autosave.pending()
        assert len(recs) <= 1, msg
        if not recs:
            assert not completed, f"an autosave was written but is not offered, {msg}"
            stats["nothing written yet"] += 1
        else:
            rec = recs[0]
            assert allowed, f"an autosave nobody wrote, {msg}"
            project = rec.load()
            assert project_digest(project, str(folder)) in allowed, f"not the last autosave, {msg}"
            assert rec.media_path == os.path.abspath(face_clip), msg
            assert project.tracks, f"an autosave is only written with work in it, {msg}"
            stats["autosave found"] += 1
            stats["killed mid-write"] += child.words()[-1][0] == "WRITING"
            accept = i % 2 == 0
            win, recovered, asked = _recover(qtbot, monkeypatch, accept)
            assert [title for title, _ in asked] == ["Recover unsaved work?"], msg
            assert os.path.basename(face_clip) in asked[0][1], msg
            if accept:
                assert recovered, msg
                assert win.doc.media_path == os.path.abspath(face_clip), msg
                assert [t.id for t in win.doc.project.tracks] == [t.id for t in project.tracks], msg
                assert project_digest(win.doc.project, str(folder)) == project_digest(project, str(folder)), msg
                assert win.doc.dirty, "recovered work is unsaved until the operator saves it"
                assert not rec.project_file.exists(), msg
                mine = [p for p in folder.glob("*.obscura.json")]
                assert len(mine) == 1 and autosave.SESSION in mine[0].name, "the recovered work is autosaved again"
                stats["recovered"] += 1
            else:
                assert not recovered and win.doc.project.tracks == [], msg
                assert not rec.project_file.exists(), "declining discards the autosave"
                stats["declined"] += 1
            assert autosave.pending() == [], msg
            _close(win)
        assert autosave.pending() == [], msg
        # tidy: only this process's own lock file may remain (dead sessions' go with their files)
        assert set(os.listdir(folder)) <= {own_lock}, f"left in the autosave folder: {os.listdir(folder)}, {msg}"
        assert sha256(face_clip) == clip_sha, msg
    elapsed = time.monotonic() - t0
    assert sha256(face_clip) == clip_sha
    print(f"\neditor: {n} kill -9 cycles in {elapsed:.1f} s (analysis {duration:.1f} s), no work lost "
          f"(seed {seed}): {stats}")


def test_kill_at_every_step_of_autosave_and_clear(tmp_path, monkeypatch, face_clip):
    """Deterministic kill points: the child stops before each rename and delete that autosaving
    three versions and then clearing them make, in turn, and is killed there. Every completed
    autosave is offered until the clear has deleted it, always the latest, and the folder is tidy."""
    from app.ui import autosave

    clip_sha = sha256(face_clip)
    seen_end = False
    step = 0
    while not seen_end:
        step += 1
        assert step < 50, "the steps never ended"
        data = tmp_path / f"data{step}"
        env = dict(os.environ, OBSCURA_DATA=str(data))
        monkeypatch.setenv("OBSCURA_DATA", str(data))
        child = Child.module("autosave-steps", face_clip, step, env=env)
        end = time.monotonic() + 60
        while not (child.words("STOP") or child.words("END")):
            assert time.monotonic() < end and child.proc.poll() is None, child.stderr()
            time.sleep(0.02)
        seen_end = bool(child.words("END"))
        assert child.kill() == -9
        lines = child.words()
        msg = f"killed before step {step}: {lines}"
        writing = [w[1] for w in lines if w[0] == "WRITING"]
        completed = [w[2] for w in lines if w[0] == "DONE" and w[1] == "replace" and w[2].endswith(".obscura.json")]
        cleared = any(w[0] == "DONE" and w[1] == "unlink" and w[2].endswith(".obscura.json") for w in lines)
        recs = autosave.pending()
        if completed and not cleared:
            (rec,) = recs
            # the latest completed autosave: the one written by the last WRITING before it completed
            assert project_digest(rec.load(), str(autosave.autosave_dir())) == writing[len(completed) - 1], msg
            assert rec.media_path == os.path.abspath(face_clip), msg
            rec.discard()
        else:
            assert recs == [], msg
        assert autosave.pending() == []
        assert os.listdir(autosave.autosave_dir()) == [], f"left behind: {os.listdir(autosave.autosave_dir())}, {msg}"
    assert step >= 6  # 3 autosaves (record + project, project, project) and 2 deletes at least
    assert sha256(face_clip) == clip_sha


def test_recovery_offers_work_whose_pid_was_recycled(qtbot, data_dir, monkeypatch, tmp_path, face_clip):
    """A dead session's process id may be reused by another running program: the autosave is still
    offered (the session lock decides, not the pid), and a live session's autosave never is."""
    import json

    from app.ui import autosave

    clip_sha = sha256(face_clip)
    env = _env(data_dir, tmp_path)
    child = Child.module("editor", face_clip, 0.0, 1, env=env)
    child.wait_for("WROTE", 180)
    live = autosave.pending()
    assert live == [], "a running editor's autosave is not offered"
    assert child.kill() == -9
    (rec,) = autosave.pending()
    record_file = rec.project_file.with_name(rec.project_file.name.replace(".obscura.json", ".obscura.record"))
    record = json.loads(record_file.read_text())
    record["pid"] = os.getppid()  # a live process that is not the editor
    record_file.write_text(json.dumps(record))
    (rec,) = autosave.pending()
    win, recovered, asked = _recover(qtbot, monkeypatch, True)
    assert recovered and "manual-0001" in [t.id for t in win.doc.project.tracks]
    _close(win)
    assert autosave.pending() == []
    assert sha256(face_clip) == clip_sha


def test_recovered_work_is_not_dropped_when_the_new_autosave_fails(qtbot, data_dir, monkeypatch, tmp_path,
                                                                   face_clip):
    """Accepting recovery autosaves the recovered work under the new session before deleting the
    old autosave; when that write fails (a full disk), the old autosave stays to be offered again."""
    import errno

    from app.project_io import io
    from app.ui import autosave

    env = _env(data_dir, tmp_path)
    child = Child.module("editor", face_clip, 0.0, 2, env=env)
    child.wait_for("WROTE", 180)
    assert child.kill() == -9
    (rec,) = autosave.pending()

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    real = io.make_temp
    monkeypatch.setattr(io, "make_temp", full)
    win, recovered, _ = _recover(qtbot, monkeypatch, True)
    assert recovered and "manual-0001" in [t.id for t in win.doc.project.tracks]
    assert "autosave failed" in win.statusBar().currentMessage()
    assert rec.project_file.exists()
    _close(win)
    monkeypatch.setattr(io, "make_temp", real)
    assert [r.project_file for r in autosave.pending()] == [rec.project_file]


def test_recovery_of_work_whose_video_moved_asks_where_it_is(qtbot, data_dir, monkeypatch, tmp_path, face_clip):
    """The video was moved after the crash: the editor asks for it (declining keeps the autosave for
    the next start), and the located video must be the same one; the recovered work then opens."""
    import shutil

    from PySide6.QtWidgets import QFileDialog, QMessageBox

    from app.ui import autosave
    from app.ui.main_window import MainWindow

    clip = tmp_path / "evidence" / "faces.mp4"
    clip.parent.mkdir()
    shutil.copyfile(face_clip, clip)
    clip_sha = sha256(clip)
    child = Child.module("editor", clip, 0.0, 3, env=_env(data_dir, tmp_path))
    child.wait_for("WROTE", 180)
    assert child.kill() == -9
    (rec,) = autosave.pending()
    moved = tmp_path / "archive" / "faces.mp4"
    moved.parent.mkdir()
    shutil.move(clip, moved)

    def answer_all(locate_to: str | None):
        asked: list[str] = []
        monkeypatch.setattr(QMessageBox, "question", staticmethod(
            lambda parent, title, text, *a, **k: (asked.append(title), QMessageBox.StandardButton.Yes)[1]))
        monkeypatch.setattr(QFileDialog, "getOpenFileName",
                            staticmethod(lambda *a, **k: (locate_to or "", "")))
        errors: list[str] = []
        win = MainWindow()
        qtbot.addWidget(win)
        monkeypatch.setattr(win, "error", lambda text: errors.append(text))
        return win, win.offer_recovery(), asked, errors

    # 1. the operator cancels the file picker: nothing opens, the autosave stays
    win, recovered, asked, errors = answer_all(None)
    assert not recovered and asked == ["Recover unsaved work?", "Video not found"]
    assert errors and "autosave is kept" in errors[0]
    _close(win)
    assert [r.project_file for r in autosave.pending()] == [rec.project_file]

    # 2. another video (different frame count) is refused, the autosave stays
    other = write_face_clip(tmp_path / "other.mp4", frames=9)
    win, recovered, asked, errors = answer_all(str(other))
    assert not recovered and errors and "is not the video of the unsaved work" in errors[0], errors
    _close(win)
    assert autosave.pending()

    # 3. the moved video: the work opens with the new place, marked unsaved
    win, recovered, asked, errors = answer_all(str(moved))
    assert recovered and not errors, errors
    assert win.doc.project.media.path == str(moved)
    assert "manual-0001" in [t.id for t in win.doc.project.tracks]
    assert win.doc.dirty
    _close(win)
    assert sha256(moved) == clip_sha
