"""UI tests: real widgets, offscreen, with QSettings kept away from the user's own."""

from __future__ import annotations

import os
import sys

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# PySide6 6.12.0 corrupts the refcounts of None and True on CPython 3.11 (crashes after a few
# thousand calls): pyproject.toml excludes it. Fail loudly here rather than crash mysteriously.
def _check_pyside() -> None:
    import PySide6

    if PySide6.__version__ == "6.12.0" and sys.version_info < (3, 12):
        raise RuntimeError("PySide6 6.12.0 crashes on Python 3.11: pip install 'PySide6-Essentials!=6.12.0'")


_check_pyside()


@pytest.fixture(autouse=True)
def _no_blocking_dialogs(monkeypatch):
    """Modal message boxes would hang an offscreen test run: answer them and keep what they said."""
    from PySide6.QtWidgets import QMessageBox

    said: list[tuple[str, str]] = []
    sb = QMessageBox.StandardButton

    def question(parent, title, text, buttons=sb.Yes | sb.No, default=sb.NoButton):
        said.append((title, text))
        return sb.Discard if buttons & sb.Discard else sb.No

    def note(parent, title, text, *a, **k):
        said.append((title, text))
        return sb.Ok

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    for name in ("warning", "information", "critical"):
        monkeypatch.setattr(QMessageBox, name, staticmethod(note))
    monkeypatch.setattr(QMessageBox, "about", staticmethod(lambda *a, **k: said.append(a[1:3])))
    yield said


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    yield


def pytest_collection_modifyitems(config, items):
    """Everything under tests/ui drives real Qt widgets: mark it ``gui``."""
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.gui)


@pytest.fixture(scope="session", autouse=True)
def _qt_test_mode():
    from PySide6.QtCore import QStandardPaths

    QStandardPaths.setTestModeEnabled(True)  # no writes to the user's data/config folders
    yield


UI_CLIP_FRAMES = 60
UI_CLIP_SIZE = (320, 240)


def write_ui_clip(path: str, frames: int = UI_CLIP_FRAMES, size: tuple[int, int] = UI_CLIP_SIZE,
                  gop: int = 12) -> str:
    """A small real H.264 clip (B-frames, a keyframe every ``gop`` frames, 29.97 fps) whose every
    frame looks different: a textured background, a block moving with the frame number and the
    number written on it."""
    from fractions import Fraction

    import av
    import cv2
    import numpy as np

    w, h = size
    rng = np.random.default_rng(11)
    base = cv2.resize(rng.integers(0, 255, (h // 8, w // 8, 3), dtype=np.uint8), (w, h),
                      interpolation=cv2.INTER_CUBIC)
    out = av.open(path, "w")
    try:
        vs = out.add_stream("libx264", rate=Fraction(30000, 1001),
                            options={"preset": "veryfast", "crf": "20", "g": str(gop), "bf": "2"})
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        for i in range(frames):
            img = np.roll(base, 3 * i, axis=1).copy()
            x = 10 + (i * 4) % (w - 80)
            cv2.rectangle(img, (x, 60), (x + 60, 120), (40, 200, 240), -1)
            cv2.putText(img, str(i), (20, h - 20), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (255, 255, 255), 3)
            out.mux(vs.encode(av.VideoFrame.from_ndarray(img, format="bgr24")))
        out.mux(vs.encode(None))
    finally:
        out.close()
    return path


@pytest.fixture(scope="session")
def ui_clip(tmp_path_factory) -> str:
    """Path of a 320x240, 60-frame H.264 clip (see :func:`write_ui_clip`)."""
    return write_ui_clip(str(tmp_path_factory.mktemp("ui_clip") / "clip.mp4"))


@pytest.fixture(scope="session")
def ui_clip_frames(ui_clip):
    """Every frame of ``ui_clip`` as BGR, decoded independently with VideoReader."""
    from app.media.reader import VideoReader

    with VideoReader(ui_clip) as r:
        return [f.to_bgr() for f in r.frames()]


# -- the main window on a short real clip (shared by the editor tests) ------------------------
@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """Autosaves go to a private data folder; the models stay where they are installed."""
    from app.assets import models_dir

    monkeypatch.setenv("OBSCURA_MODELS", str(models_dir()))
    monkeypatch.setenv("OBSCURA_DATA", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture(scope="module")
def short_sample(tmp_path_factory):
    """The first 40 frames of the sample clip (a face and a plate), written once."""
    import av

    from app.media.sample import write_sample

    d = tmp_path_factory.mktemp("sample")
    full = str(d / "sample.mp4")
    write_sample(full)
    out = str(d / "short.mp4")
    src = av.open(full)
    dst = av.open(out, "w")
    vs = dst.add_stream("libx264", rate=src.streams.video[0].average_rate)
    vs.width, vs.height, vs.pix_fmt = 1280, 720, "yuv420p"
    vs.codec_context.options = {"preset": "ultrafast", "crf": "18"}
    for i, f in enumerate(src.decode(video=0)):
        if i >= 40:
            break
        nf = av.VideoFrame.from_ndarray(f.to_ndarray(format="bgr24"), format="bgr24")
        nf.pts = i
        dst.mux(vs.encode(nf))
    dst.mux(vs.encode(None))
    dst.close()
    src.close()
    return out


@pytest.fixture
def window(qtbot, data_dir):
    from app.ui.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    yield win
    if win.analysis_running():
        win.cancel_analysis()
        win.worker.wait(20000)
    win.doc._dirty = False
    win.doc.undo.setClean()
    win.close()


def wait_frame(qtbot, win, index):
    qtbot.waitUntil(lambda: win.view.displayed_frame == index, timeout=10000)
