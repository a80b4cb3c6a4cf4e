"""One value type for detections: parallel numpy arrays, validated on creation.

Modelled on supervision's ``Detections``: ``xyxy`` (N, 4) float32 pixel boxes in the frame's
coordinates, ``score`` (N,) float32, ``class_id`` (N,) int32 and ``frame`` (N,) int64, plus
optional ``landmarks`` (N, K, 2). Boolean-mask or index indexing returns a new ``Detections``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CLASS_NAMES = {0: "face", 1: "plate"}
CLASS_IDS = {v: k for k, v in CLASS_NAMES.items()}


@dataclass(frozen=True)
class Detections:
    xyxy: np.ndarray
    score: np.ndarray
    class_id: np.ndarray
    frame: np.ndarray
    landmarks: np.ndarray | None = None

    def __post_init__(self) -> None:
        xyxy = np.asarray(self.xyxy, dtype=np.float32).reshape(-1, 4)
        n = len(xyxy)
        score = np.asarray(self.score, dtype=np.float32).reshape(-1)
        class_id = np.asarray(self.class_id, dtype=np.int32).reshape(-1)
        frame = np.asarray(self.frame, dtype=np.int64).reshape(-1)
        for name, arr in (("score", score), ("class_id", class_id), ("frame", frame)):
            if len(arr) != n:
                raise ValueError(f"Detections: {name} has {len(arr)} entries, xyxy has {n}")
        if n and not np.isfinite(xyxy).all():
            raise ValueError("Detections: xyxy holds NaN or infinite values")
        if n and ((xyxy[:, 2] < xyxy[:, 0]).any() or (xyxy[:, 3] < xyxy[:, 1]).any()):
            raise ValueError("Detections: boxes must have x2 >= x1 and y2 >= y1")
        lms = self.landmarks
        if lms is not None:
            lms = np.asarray(lms, dtype=np.float32)
            if lms.ndim != 3 or lms.shape[0] != n or lms.shape[2] != 2:
                raise ValueError(f"Detections: landmarks must be (N, K, 2), got {lms.shape}")
        object.__setattr__(self, "xyxy", xyxy)
        object.__setattr__(self, "score", score)
        object.__setattr__(self, "class_id", class_id)
        object.__setattr__(self, "frame", frame)
        object.__setattr__(self, "landmarks", lms)

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int32), np.zeros(0, np.int64))

    @classmethod
    def merge(cls, items: list[Detections]) -> Detections:
        items = [d for d in items if len(d)]
        if not items:
            return cls.empty()
        lms = None
        if all(d.landmarks is not None for d in items) and len({d.landmarks.shape[1] for d in items}) == 1:
            lms = np.concatenate([d.landmarks for d in items])
        return cls(
            np.concatenate([d.xyxy for d in items]),
            np.concatenate([d.score for d in items]),
            np.concatenate([d.class_id for d in items]),
            np.concatenate([d.frame for d in items]),
            lms,
        )

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index) -> Detections:
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        lms = self.landmarks[index] if self.landmarks is not None else None
        return Detections(self.xyxy[index], self.score[index], self.class_id[index], self.frame[index], lms)

    def with_frame(self, frame: int) -> Detections:
        return Detections(self.xyxy, self.score, self.class_id, np.full(len(self), frame, np.int64), self.landmarks)

    @property
    def width(self) -> np.ndarray:
        return self.xyxy[:, 2] - self.xyxy[:, 0]

    @property
    def height(self) -> np.ndarray:
        return self.xyxy[:, 3] - self.xyxy[:, 1]

    @property
    def area(self) -> np.ndarray:
        return self.width * self.height


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix between boxes ``a`` (N, 4) and ``b`` (M, 4)."""
    a = np.asarray(a, np.float32).reshape(-1, 4)
    b = np.asarray(b, np.float32).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(axis=2)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def nms(xyxy: np.ndarray, score: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression, best first (OpenCV's NMSBoxes)."""
    import cv2

    if len(xyxy) == 0:
        return np.zeros(0, np.int64)
    boxes = [[float(x1), float(y1), float(x2 - x1), float(y2 - y1)] for x1, y1, x2, y2 in xyxy]
    keep = cv2.dnn.NMSBoxes(boxes, [float(s) for s in score], 0.0, float(iou_threshold))
    return np.asarray(keep, dtype=np.int64).reshape(-1)
