"""Optional detector back-ends, installed as extras and never needed by the product itself.

Each loader returns an object with the product's detector API, ``detect(frames, frame_indices)
-> Detections``, so it can stand in for the built-in ONNX detectors:

* :func:`load_insightface_face_detector`: a LOCAL SCRFD or RetinaFace ``.onnx`` file run through
  insightface's model zoo (``pip install 'obscura[insightface]'``). Nothing is downloaded: the
  file must already be on disk. Licence: insightface's code is MIT, but its public model packs
  (buffalo_l, antelopev2, the SCRFD releases...) are for non-commercial research only; using them
  commercially needs a licence from the insightface authors. Use a model you have the rights to.
  Note that the insightface wheel depends on ``onnxruntime`` and ``opencv-python``, which clash
  with the ``onnxruntime-gpu`` and ``opencv-contrib-python-headless`` Obscura uses: see INSIGHTFACE_HINT.
* :func:`load_ultralytics_pt`: a user's own ultralytics ``.pt`` (YOLOv8/11/26 detect, segment or
  pose) loaded by ``ultralytics.YOLO`` and run by torch (``pip install 'obscura[ultralytics]'``),
  decoded exactly like the ONNX detector. This imports torch
  into the process, which the product otherwise never does; prefer converting the model to ONNX
  (``python -m app.detection.convert model.pt model.onnx --dynamic``) and using
  :class:`app.detection.yolo.YoloDetector`.

Neither file is in Obscura's manifest, so neither is verified: each load raises a visible
integrity warning naming the file and its sha256 (stderr, the editor's status bar), and the
detector carries ``weights_sha256`` and ``verified = False``. The file is read once and exactly
those bytes are loaded (from a private temporary copy), so the hash shown is the hash of what runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from app.assets import integrity_warning
from app.detection.detections import CLASS_IDS, Detections
from app.detection.models import ModelError
from app.detection.sessions import Device
from app.detection.yolo import YoloBase

INSIGHTFACE_HINT = (
    "pip install 'obscura[insightface]' and then restore Obscura's runtimes with "
    "pip install --force-reinstall --no-deps onnxruntime-gpu opencv-contrib-python-headless "
    "(insightface's public model packs are licensed for non-commercial research only)"
)
ULTRALYTICS_HINT = "pip install 'obscura[ultralytics]'"
_CPU = Device("cpu", ("CPUExecutionProvider",), "default for an optional back-end")


def _frames_and_indices(frames: Sequence[np.ndarray], frame_indices: Sequence[int] | None) -> list[int]:
    if frame_indices is None:
        return list(range(len(frames)))
    if len(frame_indices) != len(frames):
        raise ValueError("detect: frames and frame_indices differ in length")
    return [int(i) for i in frame_indices]


def _clipped(xyxy: np.ndarray, hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Clip boxes to the frame; returns the boxes and a mask of those still non-empty."""
    xyxy = np.asarray(xyxy, np.float32).reshape(-1, 4).copy()
    xyxy[:, [0, 2]] = np.clip(xyxy[:, [0, 2]], 0, hw[1])
    xyxy[:, [1, 3]] = np.clip(xyxy[:, [1, 3]], 0, hw[0])
    ok = (xyxy[:, 2] > xyxy[:, 0]) & (xyxy[:, 3] > xyxy[:, 1]) & np.isfinite(xyxy).all(axis=1)
    return xyxy, ok


def _existing(path: str | Path, what: str) -> Path:
    p = Path(path).expanduser()
    if not p.is_file():
        raise ModelError(f"{what} '{p}' does not exist (give the path of a model file on this machine)")
    return p


@contextlib.contextmanager
def unverified_weights(path: Path, what: str) -> Iterator[tuple[Path, str]]:
    """Read user-brought weights once, raise the visible 'unverified' warning with their sha256, and
    yield (a private copy of exactly those bytes, the sha256) for the library to load; the copy is
    deleted afterwards."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise ModelError(f"{what} '{path}' cannot be read: {e.strerror}") from None
    digest = hashlib.sha256(data).hexdigest()
    integrity_warning(
        f"unverified:{digest}",
        f"{what} {Path(path).name} (sha256 {digest[:16]}...) is not one of Obscura's manifest models: its "
        "weights are UNVERIFIED (a user-brought model for an optional back-end)",
    )
    folder = tempfile.mkdtemp(prefix="obscura-weights-")  # 0700: nobody else can swap the copy
    try:
        copy = Path(folder) / Path(path).name
        fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        del data
        yield copy, digest
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _mark_unverified(detector, digest: str):
    detector.weights_sha256 = digest
    detector.verified = False
    return detector


# ------------------------------------------------------------------------------------------------
# insightface (SCRFD / RetinaFace)


class InsightFaceDetector:
    """An insightface detection model (``prepare``d) behind the product's ``detect`` API."""

    def __init__(self, model, input_size: tuple[int, int] = (640, 640)) -> None:
        self.model = model
        self.input_size = tuple(int(v) for v in input_size)

    def detect(self, frames: list[np.ndarray], frame_indices: list[int] | None = None) -> Detections:
        indices = _frames_and_indices(frames, frame_indices)
        out = []
        for frame, index in zip(frames, indices, strict=True):
            det, kpss = self.model.detect(frame, input_size=self.input_size)
            det = np.asarray(det, np.float32).reshape(-1, 5)
            xyxy, ok = _clipped(det[:, :4], frame.shape[:2])
            lms = None
            if kpss is not None and len(kpss) == len(det):
                lms = np.asarray(kpss, np.float32).reshape(len(det), -1, 2)[ok]
            n = int(ok.sum())
            out.append(Detections(xyxy[ok], det[ok, 4], np.full(n, CLASS_IDS["face"]), np.full(n, index), lms))
        return Detections.merge(out)

    __call__ = detect


def load_insightface_face_detector(
    path: str | Path,
    device: Device | None = None,
    input_size: tuple[int, int] = (640, 640),
    score: float = 0.5,
    nms_iou: float = 0.4,
) -> InsightFaceDetector:
    """Load a local SCRFD/RetinaFace ``.onnx`` through insightface (class face = 0).

    ``input_size`` is (width, height) for models with a dynamic input; a fixed-size model keeps
    its own. insightface's public model packs are NON-COMMERCIAL: bring a model you may use.
    """
    path = _existing(path, "face model")
    try:
        from insightface import model_zoo
    except ImportError as e:
        detail = "" if getattr(e, "name", None) == "insightface" else f" ({str(e).splitlines()[0][:160]})"
        raise ModelError(f"the insightface back-end is not installed{detail}: {INSIGHTFACE_HINT}") from None
    device = device or _CPU
    with unverified_weights(path, "face model") as (copy, digest):
        try:
            model = model_zoo.get_model(str(copy), providers=list(device.providers))
        except Exception as e:  # noqa: BLE001 - insightface raises many kinds; the user needs one line
            raise ModelError(f"insightface cannot load '{path}': {str(e).splitlines()[0][:200]}") from None
    if model is None or getattr(model, "taskname", None) != "detection" or not hasattr(model, "detect"):
        raise ModelError(f"'{path}' is not an insightface face detector (SCRFD or RetinaFace .onnx)")
    model.prepare(0 if device.name == "cuda" else -1, input_size=tuple(input_size), det_thresh=float(score),
                  nms_thresh=float(nms_iou))
    return _mark_unverified(InsightFaceDetector(model, input_size), digest)


# ------------------------------------------------------------------------------------------------
# ultralytics .pt


class UltralyticsPtDetector(YoloBase):
    """A ultralytics ``.pt`` model's network run by torch, with the ONNX detector's own letterbox,
    decoding and class-wise NMS (so both give the same boxes). ultralytics' ``predict`` is not
    used: it needs a torchvision built for the installed torch, and the CPU torch wheel here has
    none (PyPI's torchvision is a CUDA build).
    """

    def __init__(self, yolo, task: str = "plate", device: str = "cpu", score: float = 0.25,
                 nms_iou: float = 0.45, imgsz: int = 640, class_map: Mapping[int, int] | None = None,
                 max_batch: int = 4) -> None:
        import torch

        self._torch = torch
        self.device = device
        net = yolo.model
        net = net.fuse() if hasattr(net, "fuse") else net
        self.net = net.float().eval().to(device)
        head = self.net.model[-1] if hasattr(self.net, "model") else None
        extra = 0
        if yolo.task == "segment":
            extra = int(getattr(head, "nm", 32))
        elif yolo.task == "pose":
            extra = int(math.prod(getattr(head, "kpt_shape", (17, 3))))
        stride = int(max(getattr(self.net, "stride", torch.tensor([32])).tolist()))
        super().__init__(size=(int(imgsz), int(imgsz)), stride=stride, dynamic_hw=True, fixed_batch=None,
                         names=dict(yolo.names), extra=extra, end2end=bool(getattr(head, "end2end", False)),
                         score=score, nms_iou=nms_iou, class_map=class_map, task=task, max_batch=max_batch)

    def _forward(self, blob: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            out = self.net(torch.from_numpy(blob).to(self.device))
        while isinstance(out, (tuple, list)):  # (preds, raw) / ((preds, protos), raw)
            out = out[0]
        return out.float().cpu().numpy()


def load_ultralytics_pt(
    path: str | Path,
    task: str = "plate",
    device: Device | None = None,
    score: float = 0.25,
    nms_iou: float = 0.45,
    imgsz: int = 640,
    class_map: Mapping[int, int] | None = None,
) -> UltralyticsPtDetector:
    """Run a user's own ultralytics ``.pt`` (``task`` 'plate' or 'face' names the product class).

    ``class_map`` maps the model's class index to the product's class id; by default every class
    is a ``task`` object. ultralytics runs offline here (no checks, downloads or telemetry).
    """
    path = _existing(path, "ultralytics model")
    if task not in CLASS_IDS:
        raise ModelError(f"unknown task '{task}' (choose {', '.join(CLASS_IDS)})")
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "False")
    os.environ.setdefault("YOLO_VERBOSE", "False")
    try:
        from ultralytics import YOLO
        from ultralytics.utils import SETTINGS
    except ImportError as e:
        detail = "" if getattr(e, "name", None) == "ultralytics" else f" ({str(e).splitlines()[0][:160]})"
        raise ModelError(f"the ultralytics back-end is not installed{detail}: {ULTRALYTICS_HINT}") from None
    try:
        SETTINGS.update({"sync": False})
    except Exception:  # noqa: BLE001 - a read-only settings file must not stop detection
        pass
    with unverified_weights(path, "ultralytics model") as (copy, digest):
        try:
            yolo = YOLO(str(copy))
        except Exception as e:  # noqa: BLE001
            raise ModelError(f"ultralytics cannot load '{path}': {str(e).splitlines()[0][:200]}") from None
    if yolo.task not in ("detect", "segment", "pose"):
        raise ModelError(f"'{path}' is a '{yolo.task}' model; Obscura needs a detect, segment or pose model")
    dev = "cuda" if device is not None and device.name == "cuda" else "cpu"
    det = UltralyticsPtDetector(yolo, task, dev, float(score), float(nms_iou), int(imgsz), class_map)
    return _mark_unverified(det, digest)
