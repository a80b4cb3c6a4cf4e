"""Child processes for the crash-safety tests (tests/test_crash_safety.py, tests/ui/test_recovery.py).

Each mode does real work with the product's own code until the test kills it with SIGKILL. It
reports what it has done on stdout, one flushed line at a time, so that the test knows what must
be on disk after the kill. Run from the repository root: ``python -m tests.crash_child MODE ...``.

Modes:
  save PATH MEDIA            save two large projects (A, B) to PATH in turn, forever
  hold-save PATH MEDIA       a save that stops for ever after writing its temporary file (a live writer)
  hold-output PATH           an atomic_output writer that stops for ever mid-write (a live writer)
  autosave-steps MEDIA N     autosave three versions, then clear: stops before the N-th rename or delete
  editor CLIP EDIT_AT SEED   the real editor (offscreen): open CLIP, analyse, add a mask EDIT_AT
                             seconds after the analysis started (negative: never), autosave on a
                             short timer; prints every autosave as it starts and ends
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def say(*words) -> None:
    print(*words, flush=True)


# -- the test side -------------------------------------------------------------------------------
def cycles(default: int) -> int:
    """Kill cycles per test: ``default``, or OBSCURA_CRASH_CYCLES for a long run."""
    return int(os.environ.get("OBSCURA_CRASH_CYCLES") or default)


def make_rng() -> tuple[random.Random, int]:
    """Random kill points; OBSCURA_CRASH_SEED replays a run (failures print their seed)."""
    seed = int(os.environ.get("OBSCURA_CRASH_SEED") or time.time_ns() % 2**31)
    return random.Random(seed), seed


def sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Child:
    """A real child process whose stdout lines are collected (with their arrival time) as they come."""

    def __init__(self, args: list[str], env: dict | None = None):
        self.started = time.monotonic()
        self.proc = subprocess.Popen(args, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)
        self.lines: list[tuple[float, str]] = []
        self.err: list[str] = []
        self._cond = threading.Condition()
        self._threads = [threading.Thread(target=self._read, args=(self.proc.stdout, True), daemon=True),
                         threading.Thread(target=self._read, args=(self.proc.stderr, False), daemon=True)]
        for t in self._threads:
            t.start()

    @classmethod
    def module(cls, *args, env: dict | None = None) -> Child:
        return cls([sys.executable, "-m", "tests.crash_child", *map(str, args)], env)

    @classmethod
    def cli(cls, *args, env: dict | None = None) -> Child:
        return cls([sys.executable, "-m", "app.cli", *map(str, args)], env)

    def _read(self, stream, out: bool) -> None:
        for line in stream:
            with self._cond:
                (self.lines.append((time.monotonic(), line.rstrip("\n"))) if out else self.err.append(line))
                self._cond.notify_all()

    def words(self, first: str | None = None) -> list[list[str]]:
        with self._cond:
            rows = [line.split() for _, line in self.lines]
        return [r for r in rows if r and (first is None or r[0] == first)]

    def wait_for(self, word: str, timeout: float) -> float:
        """Wait until a line starting with ``word`` arrives; returns when (time.monotonic())."""
        end = time.monotonic() + timeout
        with self._cond:
            while True:
                for t, line in self.lines:
                    if line.split()[:1] == [word]:
                        return t
                if self.proc.poll() is not None and all(not t.is_alive() for t in self._threads[:1]):
                    raise AssertionError(f"child ended ({self.proc.returncode}) before {word}: {self.stderr()}")
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {word} from the child in {timeout} s: {self.stderr()}")
                self._cond.wait(min(left, 0.2))

    def kill(self) -> int:
        """SIGKILL (unless it already ended); returns the exit status (-9: killed)."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        rc = self.proc.wait(60)
        for t in self._threads:
            t.join(10)
        return rc

    def finish(self, timeout: float) -> int:
        rc = self.proc.wait(timeout)
        for t in self._threads:
            t.join(10)
        return rc

    def stderr(self) -> str:
        return "".join(self.err)[-3000:]


# -- the two project versions the save loop alternates --------------------------------------------
def big_project(variant: str, media: str, tracks: int = 16, keyframes: int = 160):
    """A large, valid project (about 1 MB of JSON); ``variant`` "A" and "B" differ everywhere."""
    from app.core import Keyframe, KeyframeSource, Project, Shape, Track
    from app.core.project import MediaRef

    w, h, n = 1920, 1080, keyframes * 2
    shift = 0.0 if variant == "A" else 7.25
    p = Project(media=MediaRef(media, w, h, Fraction(30000, 1001), n))
    for t in range(tracks):
        kfs = []
        for k in range(keyframes):
            x = (37.5 * t + 3.125 * k + shift) % (w - 200)
            y = (21.25 * t + 1.5 * k + shift) % (h - 200)
            kfs.append(Keyframe(2 * k, Shape.rect(x, y, x + 80 + t, y + 100 + t),
                                KeyframeSource.MANUAL if k % 3 else KeyframeSource.AUTO,
                                score=None if k % 3 else round(0.5 + (k % 50) / 100, 3)))
        p.add_track(Track(f"face-{t:04d}", "face", kfs, label=f"{variant} person {t}"))
    p.meta["variant"] = variant
    return p


def write_face_clip(path, width: int = 320, height: int = 180, frames: int = 6) -> str:
    """The first frames of the product's sample clip (a face and a car plate), made small so that
    the real detectors analyse it in a few seconds on a CPU."""
    import av
    import cv2

    from app.media.sample import render_frames

    out = av.open(str(path), "w")
    try:
        vs = out.add_stream("libx264", rate=Fraction(30000, 1001), options={"preset": "veryfast", "crf": "20"})
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        for i, img, _ in render_frames():
            if i >= frames:
                break
            small = cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)
            out.mux(vs.encode(av.VideoFrame.from_ndarray(small, format="bgr24")))
        out.mux(vs.encode(None))
    finally:
        out.close()
    return str(path)


def project_digest(project, folder: str) -> str:
    """What a project file in ``folder`` holds, independent of formatting."""
    from app.project_io import project_to_dict

    data = project_to_dict(project, base_dir=folder)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


# -- modes ----------------------------------------------------------------------------------------
def run_save(path: str, media: str) -> None:
    from app.project_io import save_project

    versions = [big_project("A", media), big_project("B", media)]
    say("READY")
    i = 0
    while True:
        v = "AB"[i % 2]
        say("SAVING", v)
        save_project(versions[i % 2], path)
        say("SAVED", v)
        i += 1


def run_hold_save(path: str, media: str) -> None:
    from app.project_io import save_project

    def stuck(fd):  # the data is written; the writer now waits (a slow disk) and stays alive
        say("HOLDING")
        while True:
            time.sleep(3600)

    os.fsync = stuck
    save_project(big_project("A", media, tracks=2, keyframes=5), path)


def run_hold_output(path: str) -> None:
    from app.base.atomic import atomic_output

    with atomic_output(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(b"partial redacted video" * 1000)
            f.flush()
            say("HOLDING", tmp)
            while True:
                time.sleep(3600)


def run_autosave_steps(media: str, stop_at: int) -> None:
    """Autosave three versions of a project, then clear it (what a clean close does), stopping for
    ever just before the ``stop_at``-th rename or delete in the autosave folder, to be killed there."""
    from app.core import Keyframe, KeyframeSource, Project, Shape, Track
    from app.core.project import MediaRef
    from app.ui import autosave

    folder = str(autosave.autosave_dir())
    count = 0

    def hook(kind, real):
        def call(*args, **kwargs):
            nonlocal count
            target = os.fspath(args[1] if kind == "replace" else args[0])
            if not target.startswith(folder) or os.path.basename(target).startswith(".session."):
                return real(*args, **kwargs)
            count += 1
            if count == stop_at:
                say("STOP", kind, os.path.basename(target))
                while True:
                    time.sleep(3600)
            out = real(*args, **kwargs)
            say("DONE", kind, os.path.basename(target))
            return out
        return call

    os.replace = hook("replace", os.replace)
    os.unlink = hook("unlink", os.unlink)
    p = Project(media=MediaRef(media, 320, 180, Fraction(30000, 1001), 6))
    for v in range(3):
        p.add_track(Track(f"manual-{v + 1:04d}", "manual",
                          [Keyframe(0, Shape.rect(10 * v, 10, 10 * v + 40, 60), KeyframeSource.MANUAL)]))
        say("WRITING", project_digest(p, folder))
        autosave.write(p, media, None)
    say("CLEARING")
    autosave.clear(media, None)
    say("END")
    while True:
        time.sleep(3600)


def run_editor(clip: str, edit_at: float, seed: int) -> None:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QObject, QTimer, Slot
    from PySide6.QtWidgets import QApplication, QMessageBox

    app = QApplication([])
    app.setOrganizationName("ObscuraCrashTest")
    # no modal dialog may block the child: every question is answered "No"
    QMessageBox.question = staticmethod(lambda *a, **k: QMessageBox.StandardButton.No)
    for name in ("warning", "information", "critical"):
        setattr(QMessageBox, name, staticmethod(lambda *a, **k: QMessageBox.StandardButton.Ok))

    from app.core import Keyframe, KeyframeSource, Shape, Track
    from app.ui import autosave
    from app.ui.main_window import MainWindow

    real_write = autosave.write
    folder = str(autosave.autosave_dir())

    def write(project, media_path, project_path):
        d = project_digest(project, folder)
        say("WRITING", d, len(project.tracks))
        out = real_write(project, media_path, project_path)
        say("WROTE", d, len(project.tracks))
        return out

    autosave.write = write
    w = MainWindow()
    w.show()
    w._autosave_timer.setInterval(150)  # the 30 s timer, made short: the test has seconds, not minutes
    w.open_path(clip)
    say("OPENED")

    def edit():
        n = 1 + sum(t.cls == "manual" for t in w.doc.project.tracks)
        track = Track(f"manual-{n:04d}", "manual", [
            Keyframe(0, Shape.rect(10 + seed % 50, 10, 60 + seed % 50, 50), KeyframeSource.MANUAL),
            Keyframe(w.doc.frame_count - 1, Shape.rect(100, 80, 150, 130), KeyframeSource.MANUAL)])
        w.doc.edit("Add mask", list(w.doc.project.tracks) + [track])
        say("EDITED", track.id)

    class Watcher(QObject):  # lives in the main thread: its slot runs there, after the window's
        @Slot(object)
        def finished(self, _result):
            say("FINISHED", len(w.doc.project.tracks))

    watcher = Watcher()
    assert w.start_analysis(confirm=False)
    w.worker.finished.connect(watcher.finished)
    say("STARTED")
    if edit_at >= 0:
        QTimer.singleShot(int(edit_at * 1000), edit)
    app.exec()


def main(argv: list[str]) -> None:
    mode, args = argv[0], argv[1:]
    if mode == "save":
        run_save(args[0], args[1])
    elif mode == "hold-save":
        run_hold_save(args[0], args[1])
    elif mode == "hold-output":
        run_hold_output(args[0])
    elif mode == "autosave-steps":
        run_autosave_steps(args[0], int(args[1]))
    elif mode == "editor":
        run_editor(args[0], float(args[1]), int(args[2]))
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv[1:])
