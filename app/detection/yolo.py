"""YOLO (ultralytics) ONNX detectors on ONNX Runtime: letterbox, decode, class-wise NMS.

Works with ultralytics' ONNX exports of detect, segment and pose models (the plate model is a
YOLOv8n detect export), fixed-size or dynamic, and reads the metadata ultralytics embeds in the
file (``names``, ``imgsz``, ``stride``, ``task``, ``kpt_shape``, ``end2end``). The outputs it
understands:

* detect: ``[B, 4 + C, N]`` rows of cx, cy, w, h and C class scores (or transposed ``[B, N, 4 + C]``);
* segment: the same with 32 mask coefficients after the scores, plus the prototypes ``[B, 32, h, w]``
  as a second output (only the boxes are used: a box is what gets redacted);
* pose: the same with ``kpt_shape`` keypoint values after the scores (ignored);
* end-to-end exports (YOLOv10/YOLO26, or ``nms=True``): ``[B, K, 6 (+extra)]`` rows of x1, y1, x2, y2,
  score, class, already suppressed.

Boxes come back in the frame's pixel coordinates as :class:`Detections` with the product's class
ids (``class_map`` maps the model's class index to them; unmapped classes are dropped).
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from app.detection.detections import CLASS_IDS, Detections, nms
from app.detection.sessions import Device, make_session

PAD_VALUE = 114
DEFAULT_SCORE = 0.25
DEFAULT_NMS_IOU = 0.45
MAX_CANDIDATES = 30000  # boxes kept for NMS per image, best first (as ultralytics does)
MAX_DETECTIONS = 300


def _literal(value: str | None):
    if value is None:
        return None
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return value


def _dim(d) -> int | None:
    return d if isinstance(d, int) and d > 0 else None


def letterbox_params(h: int, w: int, size: tuple[int, int], stride: int | None = None,
                     scaleup: bool = True) -> tuple[float, int, int, int, int]:
    """Scale and padding that letterbox an ``h`` x ``w`` frame into ``size`` (height, width).

    Returns ``(r, new_h, new_w, top, left)`` plus, implicitly, the padded shape: ``size`` when
    ``stride`` is None (a fixed input), else the resized frame padded up to a multiple of
    ``stride`` (ultralytics' minimal "rect" letterbox, for dynamic inputs).
    """
    r = min(size[0] / h, size[1] / w)
    if not scaleup:
        r = min(r, 1.0)
    new_w, new_h = int(round(w * r)), int(round(h * r))
    if stride:
        dw, dh = (-new_w) % stride, (-new_h) % stride
    else:
        dw, dh = size[1] - new_w, size[0] - new_h
    top, left = int(round(dh / 2 - 0.1)), int(round(dw / 2 - 0.1))
    return r, new_h, new_w, top, left


def letterbox(frame: np.ndarray, size: tuple[int, int], stride: int | None = None,
              scaleup: bool = True) -> tuple[np.ndarray, float, int, int]:
    """Resize ``frame`` keeping its aspect and pad with 114 grey. Returns (image, r, top, left)."""
    if frame.ndim == 2:
        frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    elif frame.shape[2] == 4:
        frame = cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    h, w = frame.shape[:2]
    r, new_h, new_w, top, left = letterbox_params(h, w, size, stride, scaleup)
    if stride:
        out_h, out_w = new_h + (-new_h) % stride, new_w + (-new_w) % stride
    else:
        out_h, out_w = size
    img = frame if (new_w, new_h) == (w, h) else cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    img = cv2.copyMakeBorder(img, top, out_h - new_h - top, left, out_w - new_w - left, cv2.BORDER_CONSTANT,
                             value=(PAD_VALUE, PAD_VALUE, PAD_VALUE))
    return img, r, top, left


def to_blob(images: Sequence[np.ndarray]) -> np.ndarray:
    """BGR uint8 HWC images (same shape) -> RGB float32 NCHW in [0, 1]."""
    batch = np.stack(images)[..., ::-1]  # BGR -> RGB
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2), dtype=np.float32) * np.float32(1 / 255)


def _size(value) -> tuple[int, int] | None:
    """An ``imgsz`` (int, or [h, w]) as (height, width)."""
    if isinstance(value, int) and value > 0:
        return (value, value)
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, int) and v > 0 for v in value):
        return (int(value[0]), int(value[1]))
    return None


class YoloBase:
    """Letterboxing, batching and decoding shared by every YOLO runner; ``_forward`` runs the net.

    ``_forward(blob)`` takes an NCHW float32 batch and returns the first output as an array whose
    first axis is the batch. Subclasses set up the model and call ``__init__`` with its facts.
    """

    def __init__(
        self,
        *,
        size: tuple[int, int],
        stride: int = 32,
        dynamic_hw: bool = False,
        fixed_batch: int | None = None,
        names: Mapping[int, str] | None = None,
        extra: int = 0,
        end2end: bool = False,
        score: float = DEFAULT_SCORE,
        nms_iou: float = DEFAULT_NMS_IOU,
        class_map: Mapping[int, int] | None = None,
        task: str = "plate",
        max_batch: int = 4,
        rect: bool = True,
    ) -> None:
        self.size = (int(size[0]), int(size[1]))
        self.stride = int(stride) if stride and int(stride) > 0 else 32
        self.dynamic_hw = bool(dynamic_hw)
        self.rect = bool(rect) and self.dynamic_hw
        self.fixed_batch = fixed_batch
        self.names: dict[int, str] = {int(k): str(v) for k, v in (names or {}).items()}
        self.num_classes: int | None = len(self.names) or None
        self.extra = int(extra)
        self.end2end = bool(end2end)
        self.score = float(score)
        self.nms_iou = float(nms_iou)
        self.max_batch = max(1, int(max_batch))
        if task not in CLASS_IDS:
            raise ValueError(f"unknown task '{task}' (choose {', '.join(CLASS_IDS)})")
        self.class_map = None if class_map is None else {int(k): int(v) for k, v in class_map.items()}
        self._default_class = CLASS_IDS[task]  # every model class -> this, when there is no class_map

    def _forward(self, blob: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # -- running ----------------------------------------------------------------------------

    def detect(self, frames: list[np.ndarray], frame_indices: list[int] | None = None) -> Detections:
        """Detect in BGR frames; ``frame_indices`` (default 0..n-1) go into ``Detections.frame``."""
        if frame_indices is None:
            frame_indices = list(range(len(frames)))
        if len(frame_indices) != len(frames):
            raise ValueError("detect: frames and frame_indices differ in length")
        stride = self.stride if self.rect else None
        prepared = [letterbox(f, self.size, stride) for f in frames]
        # Batch frames whose letterboxed shape agrees (all of a video's), up to the graph's batch.
        batch_cap = self.fixed_batch or self.max_batch
        results: list[Detections] = []
        i = 0
        while i < len(frames):
            j = i + 1
            while j < len(frames) and j - i < batch_cap and prepared[j][0].shape == prepared[i][0].shape:
                j += 1
            chunk = prepared[i:j]
            images = [p[0] for p in chunk]
            if self.fixed_batch and len(images) < self.fixed_batch:  # a fixed batch > 1: pad it
                images += [images[-1]] * (self.fixed_batch - len(images))
            raw = self._forward(to_blob(images))
            for k in range(j - i):
                _img, r, top, left = chunk[k]
                h, w = frames[i + k].shape[:2]
                results.append(self.decode(raw[k], r, top, left, (h, w), frame_indices[i + k]))
            i = j
        return Detections.merge(results)

    def __call__(self, frames: list[np.ndarray], frame_indices: list[int] | None = None) -> Detections:
        return self.detect(frames, frame_indices)

    # -- decoding ---------------------------------------------------------------------------

    def _rows(self, pred: np.ndarray) -> np.ndarray:
        """One image's raw output as rows (N, channels), whichever way round it came."""
        pred = np.asarray(pred, np.float32)
        if pred.ndim != 2:
            pred = pred.reshape(pred.shape[0], -1)
        if self.end2end:  # [K, 6 + extra] rows
            want = 6 + self.extra
            return pred.T if pred.shape[0] == want and pred.shape[1] != want else pred
        if self.num_classes:
            want = 4 + self.num_classes + self.extra
            if pred.shape[0] == want and pred.shape[1] != want:
                return pred.T
            if pred.shape[1] == want:
                return pred
        # No names: anchors far outnumber channels.
        return pred.T if pred.shape[0] < pred.shape[1] else pred

    def decode(self, pred: np.ndarray, r: float, top: int, left: int, frame_hw: tuple[int, int],
               frame_index: int = 0) -> Detections:
        """Turn one image's raw output into frame-space Detections (threshold, NMS, undo letterbox)."""
        rows = self._rows(pred)
        if self.end2end:
            xyxy = rows[:, :4].copy()
            conf = rows[:, 4]
            cls = rows[:, 5].astype(np.int64)
            keep = conf >= self.score
            xyxy, conf, cls = xyxy[keep], conf[keep], cls[keep]
        else:
            nc = self.num_classes or rows.shape[1] - 4 - self.extra
            if nc < 1:
                raise ValueError(f"YOLO output has {rows.shape[1]} channels: too few for boxes and classes")
            scores = rows[:, 4 : 4 + nc]
            cls = scores.argmax(axis=1) if nc > 1 else np.zeros(len(rows), np.int64)
            conf = scores[np.arange(len(rows)), cls] if nc > 1 else scores[:, 0]
            keep = conf >= self.score
            rows, conf, cls = rows[keep], conf[keep], cls[keep]
            if len(conf) > MAX_CANDIDATES:
                top_k = np.argsort(-conf)[:MAX_CANDIDATES]
                rows, conf, cls = rows[top_k], conf[top_k], cls[top_k]
            cx, cy, bw, bh = rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]
            xyxy = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1)
            if len(xyxy):
                kept = []
                for c in np.unique(cls):  # class-wise NMS
                    idx = np.flatnonzero(cls == c)
                    kept.append(idx[nms(xyxy[idx], conf[idx], self.nms_iou)])
                order = np.concatenate(kept)
                order = order[np.argsort(-conf[order], kind="stable")][:MAX_DETECTIONS]
                xyxy, conf, cls = xyxy[order], conf[order], cls[order]

        if self.class_map is not None:
            mapped = np.array([self.class_map.get(int(c), -1) for c in cls], np.int64)
        else:
            mapped = np.full(len(cls), self._default_class, np.int64)
        ok = mapped >= 0
        xyxy, conf, mapped = xyxy[ok], conf[ok], mapped[ok]

        h, w = frame_hw
        xyxy = xyxy.astype(np.float32)
        xyxy[:, [0, 2]] = np.clip((xyxy[:, [0, 2]] - left) / r, 0, w)
        xyxy[:, [1, 3]] = np.clip((xyxy[:, [1, 3]] - top) / r, 0, h)
        ok = (xyxy[:, 2] > xyxy[:, 0]) & (xyxy[:, 3] > xyxy[:, 1])
        xyxy, conf, mapped = xyxy[ok], conf[ok], mapped[ok]
        return Detections(xyxy, conf, mapped, np.full(len(xyxy), frame_index, np.int64))


class YoloDetector(YoloBase):
    """An ultralytics YOLO ONNX model on ONNX Runtime.

    ``model`` is the ONNX file's bytes (the caller has checked its hash). ``class_map`` maps the
    model's class index to the product's class id (default: every class is a ``task`` object, e.g.
    a plate; classes missing from a given map are dropped). ``imgsz`` overrides the inference size
    (long side, or (height, width)) of a dynamic graph; by default the size in the file's
    metadata, or 640; a fixed graph takes its own. With a dynamic input and ``rect`` (default) a
    frame is padded only up to a multiple of the stride (ultralytics' own "rect" inference:
    640x384 for a 16:9 frame, ~40% less work than 640x640). Frames are run ``max_batch`` at a time
    when the batch axis is dynamic.
    """

    def __init__(
        self,
        model: bytes,
        device: Device,
        score: float = DEFAULT_SCORE,
        nms_iou: float = DEFAULT_NMS_IOU,
        class_map: Mapping[int, int] | None = None,
        task: str = "plate",
        imgsz: int | Sequence[int] | None = None,
        max_batch: int = 4,
        threads: int | None = None,
        end2end: bool | None = None,
        rect: bool = True,
    ) -> None:
        from app.detection.models import ModelError

        self.device = device
        self.session = make_session(model, device, threads)
        meta = dict(self.session.get_modelmeta().custom_metadata_map or {})
        self.metadata = meta
        self.model_task = str(meta.get("task", "detect"))
        if self.model_task not in ("detect", "segment", "pose"):
            raise ModelError(f"this YOLO model is a '{self.model_task}' model; Obscura needs a detect, segment "
                             "or pose model")
        inputs = self.session.get_inputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 4:
            raise ModelError("this ONNX file is not a YOLO detector (it should take one [B, 3, H, W] image input)")
        self.input_name = inputs[0].name
        b, _c, h, w = inputs[0].shape
        fixed_hw = (_dim(h), _dim(w))
        dynamic_hw = fixed_hw[0] is None or fixed_hw[1] is None
        size = fixed_hw if not dynamic_hw else (_size(imgsz) or _size(_literal(meta.get("imgsz"))) or (640, 640))

        outputs = self.session.get_outputs()
        self.output_names = [o.name for o in outputs]
        # Channels after the class scores that are not class scores: mask coefficients (segment:
        # as many as the prototype output has channels, 32 for ultralytics) or keypoints (pose).
        extra = 0
        if self.model_task == "pose" or "kpt_shape" in meta:
            kpt = _literal(meta.get("kpt_shape"))
            extra = int(math.prod(kpt)) if isinstance(kpt, (list, tuple)) else 0
        elif len(outputs) > 1:
            protos = outputs[1].shape
            extra = _dim(protos[1]) if len(protos) == 4 and _dim(protos[1]) else 32
        names = _literal(meta.get("names"))
        stride = _literal(meta.get("stride"))
        super().__init__(
            size=size, stride=stride if isinstance(stride, int) else 32, dynamic_hw=dynamic_hw,
            fixed_batch=_dim(b), names=names if isinstance(names, dict) else None, extra=extra,
            end2end=self._is_end2end(meta) if end2end is None else end2end, score=score, nms_iou=nms_iou,
            class_map=class_map, task=task, max_batch=max_batch, rect=rect,
        )

    @classmethod
    def from_spec(cls, spec, device: Device, **kwargs) -> YoloDetector:
        """Load a manifest model (hash-checked) with its thresholds."""
        from app.detection.models import verified_bytes

        th = spec.thresholds or {}
        kwargs.setdefault("score", th.get("score", DEFAULT_SCORE))
        kwargs.setdefault("nms_iou", th.get("nms_iou", DEFAULT_NMS_IOU))
        kwargs.setdefault("task", spec.task)
        return cls(verified_bytes(spec), device, **kwargs)

    @staticmethod
    def _is_end2end(meta: dict) -> bool:
        if str(meta.get("end2end", "")).lower() == "true":
            return True
        args = _literal(meta.get("args"))
        return isinstance(args, dict) and bool(args.get("nms"))

    def _forward(self, blob: np.ndarray) -> np.ndarray:
        return self.session.run(self.output_names[:1], {self.input_name: blob})[0]
