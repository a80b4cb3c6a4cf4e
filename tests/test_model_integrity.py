"""Model integrity (issue 9, item 7), on copies of the real model files in a private models folder.

A model file that is swapped for another valid ONNX model, truncated, emptied, replaced by a folder
or by a symbolic link (to the right file elsewhere, or to another file) is refused: the CLI exits
with code 6 and one line ``obscura: error: model '<id>' ...`` that names the model and the problem,
no output is written, and the model never reaches ONNX Runtime. A symbolic link is refused even
when it points at a file with the right hash (the check and the load must be about one file in the
models folder; see docs/privacy_and_security.md).

Nothing bypasses the manifest's hashes silently: OBSCURA_MANIFEST prints a warning on every run
(CLI stderr, the editor's status bar) and marks each model in the audit report; a converted model
whose hash is not the manifest's reference conversion, and user-brought weights for the optional
back-ends, are flagged the same way. The bytes hashed are the bytes loaded (no time-of-check to
time-of-use gap), and every loader in app/ goes through the check.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from app import assets
from app.detection import models
from app.detection.models import ModelError

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app"
FACE, PLATE = "centerface", "plate_yolov8n"


@pytest.fixture(scope="module")
def installed() -> dict[str, Path]:
    found = {}
    for s in models.specs().values():
        if s.status() != "ok":
            pytest.skip(f"model '{s.id}' is not installed ({s.status()}): run 'obscura models fetch'")
        found[s.id] = s.path
    found["record"] = models.spec(PLATE).record_path
    return found


@pytest.fixture
def store(tmp_path, monkeypatch, installed) -> Path:
    """A private models folder holding copies of the real, verified model files."""
    folder = tmp_path / "models"
    folder.mkdir()
    for key in installed:  # every manifest model (the ensemble's second face model too) and the record
        shutil.copy2(installed[key], folder / installed[key].name)
    monkeypatch.setenv("OBSCURA_MODELS", str(folder))
    monkeypatch.setenv("OBSCURA_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("OBSCURA_MANIFEST", raising=False)
    assert all(s.status() == "ok" for s in models.specs().values())
    return folder


@pytest.fixture(autouse=True)
def _fresh_warnings():
    assets.reset_integrity_warnings()
    yield
    assets.reset_integrity_warnings()


@pytest.fixture
def photo(tmp_path) -> Path:
    import cv2

    p = tmp_path / "photo.jpg"
    cv2.imwrite(str(p), np.full((120, 160, 3), 128, np.uint8))
    return p


def _cli(tmp_path: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full = {**os.environ, "OBSCURA_MODELS": str(tmp_path / "models"), "OBSCURA_DATA": str(tmp_path / "data"),
            **(env or {})}
    if "OBSCURA_MANIFEST" not in (env or {}):
        full.pop("OBSCURA_MANIFEST", None)
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, cwd=ROOT, env=full,
                          timeout=120)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- tampering: each case, and the message it must give ----------------------------------------------
def _swap(store: Path, victim: str, other: str) -> None:
    shutil.copy(store / f"{other}.onnx", store / f"{victim}.onnx")


def _truncate(store: Path, victim: str) -> None:
    p = store / f"{victim}.onnx"
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def _link_elsewhere(store: Path, victim: str) -> None:
    elsewhere = store.parent / "elsewhere"
    elsewhere.mkdir()
    os.replace(store / f"{victim}.onnx", elsewhere / f"{victim}.onnx")  # the right bytes, right hash
    os.symlink(elsewhere / f"{victim}.onnx", store / f"{victim}.onnx")


def _link_other(store: Path, victim: str, other: str) -> None:
    os.replace(store / f"{other}.onnx", store / f"{other}-copy.onnx")
    shutil.copy(store / f"{other}-copy.onnx", store / f"{other}.onnx")
    (store / f"{victim}.onnx").unlink()
    os.symlink(store / f"{other}-copy.onnx", store / f"{victim}.onnx")


def _record_link(store: Path, victim: str) -> None:
    rec = store / f"{victim}.onnx.sha256.json"
    shutil.copy(rec, store.parent / "record.json")
    rec.unlink()
    os.symlink(store.parent / "record.json", rec)


def _forge_record(store: Path, victim: str) -> None:
    """Another model put in place of a converted one, with a record rewritten to match it."""
    _swap(store, victim, FACE)
    rec = store / f"{victim}.onnx.sha256.json"
    data = json.loads(rec.read_text())
    data["sha256"] = _sha((store / f"{victim}.onnx").read_bytes())
    rec.write_text(json.dumps(data))


def _empty(store: Path, victim: str) -> None:
    (store / f"{victim}.onnx").write_bytes(b"")


def _folder(store: Path, victim: str) -> None:
    (store / f"{victim}.onnx").unlink()
    (store / f"{victim}.onnx").mkdir()


def _fifo(store: Path, victim: str) -> None:
    (store / f"{victim}.onnx").unlink()
    os.mkfifo(store / f"{victim}.onnx")  # opening it for reading would wait for a writer forever


CASES = {
    "face swapped for the plate model": (FACE, lambda s: _swap(s, FACE, PLATE),
                                         ["failed its sha256 check", "it is the model 'plate_yolov8n'"], "bad hash"),
    "plate swapped for the face model": (PLATE, lambda s: _swap(s, PLATE, FACE),
                                         ["failed its sha256 check", "it is the model 'centerface'"], "bad hash"),
    "face truncated": (FACE, lambda s: _truncate(s, FACE), ["failed its sha256 check", "truncated"], "bad hash"),
    "plate truncated": (PLATE, lambda s: _truncate(s, PLATE), ["failed its sha256 check", "truncated"], "bad hash"),
    "face emptied": (FACE, lambda s: _empty(s, FACE), ["0 bytes", "truncated"], "bad hash"),
    "face is a symlink to the right file elsewhere": (FACE, lambda s: _link_elsewhere(s, FACE),
                                                      ["is a symbolic link", "not a file"], "symlink"),
    "face is a symlink to the plate model": (FACE, lambda s: _link_other(s, FACE, PLATE),
                                             ["is a symbolic link", "plate_yolov8n-copy.onnx"], "symlink"),
    "plate is a symlink to the right file elsewhere": (PLATE, lambda s: _link_elsewhere(s, PLATE),
                                                       ["is a symbolic link"], "symlink"),
    "plate's checksum record is a symlink": (PLATE, lambda s: _record_link(s, PLATE),
                                             ["checksum record", "symbolic link"], "bad hash"),
    "face is a folder": (FACE, lambda s: _folder(s, FACE), ["not a regular file"], "not a file"),
    "face is a named pipe": (FACE, lambda s: _fifo(s, FACE), ["not a regular file"], "not a file"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_tampered_model_is_refused_by_the_cli(case, store, tmp_path, photo):
    model_id, tamper, words, status = CASES[case]
    tamper(store)
    out = tmp_path / "out.jpg"
    before = _sha(photo.read_bytes())
    r = _cli(tmp_path, "process", str(photo), "-o", str(out), "--device", "cpu", "--no-report")
    assert _sha(photo.read_bytes()) == before  # the input is never modified
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 6, (case, r.returncode, r.stderr)
    assert "Traceback" not in r.stderr and lines, r.stderr
    error = [ln for ln in lines if ln.startswith("obscura: error:")]
    assert len(error) == 1 and error[0] == lines[-1], lines
    assert error[0].startswith(f"obscura: error: model '{model_id}'"), error[0]
    for w in words + ["obscura models fetch"]:
        assert w in error[0], (w, error[0])
    assert not out.exists()
    v = _cli(tmp_path, "models", "verify", model_id)
    assert v.returncode == 1 and f"{model_id:<16} {status}" in v.stdout, v.stdout + v.stderr


@pytest.mark.parametrize("case", ["face swapped for the plate model", "face is a symlink to the right file elsewhere",
                                  "plate swapped for the face model", "plate is a symlink to the right file elsewhere"])
def test_a_refused_model_never_reaches_onnx_runtime(case, store, monkeypatch):
    """In process: the detector refuses, and ONNX Runtime saw only the models that checked out."""
    from app.detection import sessions
    from app.detection.detector import Detector, DetectorConfig

    made = []
    real = sessions.ort.InferenceSession

    def spy(model, *a, **k):
        made.append(_sha(model if isinstance(model, bytes) else Path(model).read_bytes()))
        return real(model, *a, **k)

    monkeypatch.setattr(sessions.ort, "InferenceSession", spy)
    model_id, tamper, words, _status = CASES[case]
    tamper(store)
    with pytest.raises(ModelError) as err:
        Detector(DetectorConfig(device="cpu"))
    assert str(err.value).startswith(f"model '{model_id}'") and words[0] in str(err.value)
    # CenterFace's session is made on first use; RetinaFace's (the default ensemble) before the plate is checked
    assert len(made) == (0 if model_id == FACE else 1)


def test_forged_record_for_a_converted_model_is_flagged(store, tmp_path):
    """Another file in place of the converted plate model, with its record rewritten to match: the
    record is local, so the load goes on, but never silently (the manifest's reference hash)."""
    _forge_record(store, PLATE)
    s = models.spec(PLATE)
    data = models.verified_bytes(s)
    assert _sha(data) == _sha((store / f"{PLATE}.onnx").read_bytes())
    warnings = assets.integrity_warnings()
    assert len(warnings) == 1 and "plate_yolov8n" in warnings[0] and "reference conversion" in warnings[0]
    from app.pipelines.report import _model_facts

    facts = {m["id"]: m for m in _model_facts(None)}
    assert "reference conversion" in facts[PLATE]["warning"] and "warning" not in facts[FACE]
    v = _cli(tmp_path, "models", "verify")
    assert "obscura: warning: model 'plate_yolov8n' was converted on this machine" in v.stderr, v.stderr


# -- the manifest cannot be swapped without a visible warning --------------------------------------
@pytest.fixture
def custom_manifest(store, tmp_path) -> Path:
    """A manifest that lists the plate model's hash for the face model: loads the 'wrong' model."""
    text = assets.manifest_path().read_text()
    face_sha = models.spec(FACE).sha256
    plate_sha = _sha((store / f"{PLATE}.onnx").read_bytes())
    path = tmp_path / "my-manifest.toml"
    path.write_text(text.replace(face_sha, face_sha))  # identical hashes: still a warning on every run
    (tmp_path / "evil-manifest.toml").write_text(text.replace(face_sha, plate_sha))
    return path


@pytest.mark.slow
def test_custom_manifest_warns_on_every_run_and_in_the_report(custom_manifest, store, tmp_path, photo):
    env = {"OBSCURA_MANIFEST": str(custom_manifest)}
    for args in (["probe", str(photo)], ["models", "verify"]):
        r = _cli(tmp_path, *args, env=env)
        assert "obscura: warning: OBSCURA_MANIFEST is set" in r.stderr and "NOT verified" in r.stderr, (args, r.stderr)
        assert r.stderr.count("OBSCURA_MANIFEST is set") == 1  # once per run, not once per model
    out = tmp_path / "out.jpg"
    before = _sha(photo.read_bytes())
    r = _cli(tmp_path, "process", str(photo), "-o", str(out), "--device", "cpu", env=env)
    assert r.returncode == 0 and "OBSCURA_MANIFEST is set" in r.stderr, r.stderr
    assert _sha(photo.read_bytes()) == before
    report = json.loads(Path(f"{out}.report.json").read_text())
    assert all("custom manifest" in m["warning"] for m in report["detection"]["models"]), report["detection"]
    import jsonschema

    from app.pipelines.report import load_schema, validate_report

    validate_report(report)  # the warning is part of the report's schema
    jsonschema.Draft202012Validator(load_schema()).validate(report)
    assert "custom manifest" in Path(f"{out}.report.html").read_text()
    # the swapped-in manifest makes the plate model load as the face model: allowed, but never silently
    _swap(store, FACE, PLATE)
    r = _cli(tmp_path, "models", "verify", FACE, env={"OBSCURA_MANIFEST": str(tmp_path / "evil-manifest.toml")})
    assert r.returncode == 0 and "ok" in r.stdout and "OBSCURA_MANIFEST is set" in r.stderr
    r = _cli(tmp_path, "models", "verify", FACE)  # the built-in manifest refuses the same file
    assert r.returncode == 1 and "bad hash" in r.stdout and "warning" not in r.stderr


@pytest.mark.gui
def test_editor_shows_the_integrity_warning(qtbot, custom_manifest, monkeypatch, tmp_path):
    from PySide6.QtCore import QSettings

    from app.ui.main_window import MainWindow

    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    monkeypatch.setenv("OBSCURA_MANIFEST", str(custom_manifest))
    win = MainWindow(QSettings(str(tmp_path / "settings" / "t.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    assert not win.integrity_label.isHidden() and "not verified" in win.integrity_label.text()
    assert "OBSCURA_MANIFEST" in win.integrity_label.toolTip()
    assert "OBSCURA_MANIFEST" in win.statusBar().currentMessage()
    # a warning raised later, from another thread (the analysis' worker), reaches the status bar too
    t = threading.Thread(target=assets.integrity_warning, args=("test", "model 'x' test warning"))
    t.start()
    t.join()
    qtbot.waitUntil(lambda: "model 'x' test warning" in win.statusBar().currentMessage(), timeout=5000)
    assert "model 'x' test warning" in win.integrity_label.toolTip()
    win.close()
    assets.integrity_warning("after", "after the window closed")  # its sink is gone: no error


def test_user_brought_weights_are_flagged_unverified(store, capsys):
    from app.detection.backends import unverified_weights

    src = store / f"{PLATE}.onnx"
    want = src.read_bytes()
    with unverified_weights(src, "ultralytics model") as (copy, digest):
        assert copy.read_bytes() == want and digest == _sha(want) and copy != src
        assert (copy.parent.stat().st_mode & 0o077) == 0  # private: nobody else can swap it
        folder = copy.parent
    assert not folder.exists()
    msg = assets.integrity_warnings()
    assert len(msg) == 1 and "UNVERIFIED" in msg[0] and digest[:16] in msg[0] and "plate_yolov8n.onnx" in msg[0]
    assert "obscura: warning:" in capsys.readouterr().err


# -- what is checked is what is loaded -----------------------------------------------------------
def test_no_gap_between_check_and_load(store):
    """Swapping the file back and forth while it is loaded: every load either refuses or gets exactly
    the verified bytes (the file is read once and those bytes are what is hashed and loaded)."""
    s = models.spec(FACE)
    good = s.path.read_bytes()
    bad = (store / f"{PLATE}.onnx").read_bytes()
    for name, data in (("good", good), ("bad", bad)):
        (store / f"{name}.src").write_bytes(data)
    stop = threading.Event()

    def flip():
        i = 0
        while not stop.is_set():
            src = store / ("good.src" if i % 2 else "bad.src")
            tmp = store / f".flip{i % 2}"
            shutil.copyfile(src, tmp)
            os.replace(tmp, s.path)
            i += 1

    t = threading.Thread(target=flip, daemon=True)
    t.start()
    outcomes = {"loaded": 0, "refused": 0}
    deadline = time.monotonic() + 1.5
    try:
        while time.monotonic() < deadline:
            try:
                data = models.verified_bytes(s)
            except ModelError:
                outcomes["refused"] += 1
                continue
            assert data == good
            outcomes["loaded"] += 1
    finally:
        stop.set()
        t.join(5)
    assert outcomes["loaded"] and outcomes["refused"], outcomes


def _calls(tree: ast.AST, name: str) -> list[ast.Call]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            if (isinstance(f, ast.Name) and f.id == name) or (isinstance(f, ast.Attribute) and f.attr == name):
                out.append(node)
    return out


def test_every_model_loader_goes_through_the_check():
    """Static: ONNX Runtime sessions are made in one place, from bytes; the two detectors that make
    them are built from ``verified_bytes`` only; nothing else in app/ reads a model file."""
    where: dict[str, list[str]] = {"InferenceSession": [], "make_session": [], "CenterFace": [], "cls": [],
                                   "YoloDetector": [], "RetinaFace": []}
    for path in APP.rglob("*.py"):
        rel = str(path.relative_to(ROOT))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for name in where:
            for call in _calls(tree, name):
                first = call.args[0] if call.args else None
                arg = ast.unparse(first) if first is not None else ""
                where[name].append(f"{rel}:{arg}")
    assert {w.split(":")[0] for w in where["InferenceSession"]} == {"app/detection/sessions.py"}
    assert sorted(where["make_session"]) == [
        "app/detection/faces.py:data if prepared else prepare_centerface(data)",
        "app/detection/retinaface.py:model_bytes", "app/detection/yolo.py:model"]
    # the int8 graphs of the fast passes: built in memory from the verified float bytes, nothing else
    det_src = (APP / "detection" / "detector.py").read_text()
    assert det_src.count("q = quantize.int8_bytes(s, models.verified_bytes(s))") == 2
    for name in ("CenterFace", "RetinaFace", "YoloDetector", "cls"):
        for w in where[name]:
            rel, arg = w.split(":", 1)
            if name == "cls" and rel != "app/detection/yolo.py":
                continue
            if rel == "app/detection/detector.py" and arg == "q":
                continue  # the int8 graph of verified_bytes (checked above)
            assert "verified_bytes(" in arg, f"{name}(...) in {rel} is built from {arg!r}, not verified_bytes"
    assert where["CenterFace"] and where["RetinaFace"] and any(w.startswith("app/detection/yolo.py") for w in where["cls"])
    readers = [f"{p.relative_to(ROOT)}" for p in APP.rglob("*.py")
               if ".onnx" in p.read_text() and "read_bytes()" in p.read_text()
               and p.name not in ("backends.py", "quantize.py")]  # quantize: the pinned int8 cache (tested below)
    assert not readers, readers


@pytest.mark.slow
def test_int8_graph_is_cached_only_under_the_manifests_pin(store):
    """The int8 graph is read back from disk only when it has the hash the manifest pins for these
    ONNX Runtime and onnx versions; a swapped cache file is never loaded, and without a pin the
    graph is built in memory and never read back."""
    from dataclasses import replace

    from app.detection import quantize

    s = models.spec(FACE)
    data = models.verified_bytes(s)
    built = quantize._build(s, data, quantize.calibration_path(s.id))
    pin = hashlib.sha256(built).hexdigest()
    cache = quantize.cache_path(s)
    assert cache.parent == store and not cache.exists()

    pinned = replace(s, int8_sha256={quantize.versions_key(): pin})
    assert hashlib.sha256(quantize.int8_bytes(pinned, data)).hexdigest() == pin
    assert hashlib.sha256(cache.read_bytes()).hexdigest() == pin  # kept for the next start
    t0 = time.perf_counter()
    assert quantize.int8_bytes(pinned, data) == built
    assert time.perf_counter() - t0 < 0.5  # read back, not rebuilt

    forged = built.replace(b"QuantizeLinear", b"QuantizeLinear", 1) + b"\x00"  # any other bytes
    cache.write_bytes(forged)
    assert quantize.int8_bytes(pinned, data) == built  # the forged file is not loaded ...
    assert cache.read_bytes() == built  # ... and the good graph replaces it

    cache.write_bytes(forged)
    other = replace(s, int8_sha256={"onnxruntime 0.0, onnx 0.0": pin})  # no pin for these versions
    assert quantize.int8_bytes(other, data) == built
    assert cache.read_bytes() == forged  # never read, never written without a pin


def test_prepared_centerface_is_cached_only_under_the_manifests_pin(store):
    """The loader's rewrite of CenterFace (dynamic sizes) is kept on disk and read back only when
    it has the hash the manifest pins for this onnx; a forged file is replaced, never loaded."""
    from app.detection import faces

    s = models.spec(FACE)
    data = models.verified_bytes(s)
    _spec, pin = faces._prepared_pin(data)
    if pin is None:
        pytest.skip("the manifest pins no rewrite for the installed onnx version")
    cache = faces._prepared_path(s)
    assert cache.parent == store and not cache.exists()
    good = faces.prepare_centerface(data)
    assert hashlib.sha256(good).hexdigest() == pin and cache.read_bytes() == good
    cache.write_bytes(good[:-1] + b"\x01")  # a forged graph
    assert faces.prepare_centerface(data) == good and cache.read_bytes() == good
    assert faces._prepared_pin(data[:-1] + b"\x00") == (None, None)  # other bytes: no pin, no cache


def test_cuda_message_names_the_versions_this_onnxruntime_needs():
    import importlib.metadata as md

    from app.detection import sessions

    text = sessions._cuda_missing_reason()
    try:
        from onnxruntime.capi import build_and_package_info as info

        cuda = str(info.cuda_version).split(".")[0]
    except (ImportError, AttributeError):
        pytest.skip("a CPU-only onnxruntime: no CUDA version to name")
    assert f"CUDA {cuda}.x" in text, text
    reqs = " ".join(md.requires("onnxruntime-gpu") or [])
    if "nvidia-cudnn-cu" in reqs:
        cudnn = reqs.split("nvidia-cudnn-cu", 1)[1].split("~=", 1)[1].split(".")[0]
        assert f"cuDNN {cudnn}" in text, text
    if cuda != "12":
        assert "CUDA 12" not in text
    assert "\n" not in text and "pip install 'onnxruntime-gpu[cuda,cudnn]'" in text
