"""The product's detector: faces (CenterFace) and plates (YOLOv8n), on the device chosen on purpose.

``Detector.detect(frames, frame_indices)`` returns one ``Detections`` with both classes. Large
frames (4K) get an extra tiled pass at full resolution, so small faces and plates that the
full-frame pass (at a reduced size, for speed) misses are still found; the two passes are merged
with NMS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.base.stages import stage
from app.detection.detections import CLASS_IDS, Detections, nms
from app.detection.sessions import Device, choose_device


@dataclass(frozen=True)
class DetectorConfig:
    device: str = "auto"
    faces: bool = True
    plates: bool = True
    face_model: str = "centerface"
    plate_model: str = "plate_yolov8n"
    face_threshold: float | None = None  # None: the manifest's default ("seed": always redacted)
    plate_threshold: float | None = None
    low_factor: float = 0.5  # analysis also keeps detections down to this share of the seed score
    face_long_side: int | None = 1920  # full-frame face pass: frames larger than this are scaled down
    face_min_long_side: int | None = 640  # ... and frames smaller than this are scaled up (small faces)
    plate_long_side: int | None = 1280  # plate model input: the frame's long side, 640 to this (small plates)
    tiles: str = "auto"  # "auto": tile frames whose long side exceeds face_long_side; "on"; "off"
    tile_size: int = 1280
    tile_overlap: float = 0.2
    threads: int | None = None


def tile_grid(width: int, height: int, size: int, overlap: float) -> list[tuple[int, int, int, int]]:
    """Overlapping tiles (x0, y0, x1, y1) covering the frame; edge tiles are shifted inside."""
    def starts(total: int) -> list[int]:
        if total <= size:
            return [0]
        step = max(1, int(size * (1 - overlap)))
        n = int(np.ceil((total - size) / step)) + 1
        return [min(i * step, total - size) for i in range(n)]

    return [(x, y, min(width, x + size), min(height, y + size)) for y in starts(height) for x in starts(width)]


class Detector:
    def __init__(self, config: DetectorConfig | None = None, device: Device | None = None):
        from app.detection import models

        self.config = config = config or DetectorConfig()
        self.device = device or choose_device(config.device)
        self.face = self.plate = None
        self.specs = []
        if config.faces:
            from app.detection.faces import CenterFace

            s = models.spec(config.face_model)
            th = s.thresholds
            self.face = CenterFace(
                models.verified_bytes(s), self.device,
                threshold=config.face_threshold if config.face_threshold is not None else th.get("score", 0.3),
                nms_iou=th.get("nms_iou", 0.3), threads=config.threads,
            )
            self.specs.append(s)
        if config.plates:
            from app.detection.yolo import YoloDetector

            s = models.spec(config.plate_model)
            kw = {"threads": config.threads}
            if config.plate_threshold is not None:
                kw["score"] = config.plate_threshold
            self.plate = YoloDetector.from_spec(s, self.device, **kw)
            self._plate_base = max(self.plate.size)  # the size it was trained at (640)
            self.specs.append(s)

        # The models run at the low threshold; `detect(low=False)` filters to the seed threshold.
        self._seed = {}
        if self.face is not None:
            self._seed[CLASS_IDS["face"]] = self.face.threshold
            self.face.threshold *= config.low_factor
        if self.plate is not None:
            self._seed[CLASS_IDS["plate"]] = self.plate.score
            self.plate.score *= config.low_factor

    def seed_scores(self) -> dict[int, float]:
        """Per class id: detections at or above this score are always redacted."""
        return dict(self._seed)

    def describe(self) -> str:
        names = ", ".join(f"{s.task}: {s.id}" for s in self.specs) or "no models"
        return f"detection on {self.device.describe()}; {names}"

    def thresholds(self) -> dict:
        out = {}
        if self.face is not None:
            out["face"] = {"score": self._seed[CLASS_IDS["face"]], "track_low": self.face.threshold,
                           "nms_iou": self.face.nms_iou}
        if self.plate is not None:
            out["plate"] = {"score": self._seed[CLASS_IDS["plate"]], "track_low": self.plate.score,
                            "nms_iou": self.plate.nms_iou}
        return out

    def _use_tiles(self, w: int, h: int) -> bool:
        c = self.config
        if c.tiles == "off":
            return False
        if c.tiles == "on":
            return max(w, h) > c.tile_size
        return bool(c.face_long_side) and max(w, h) > c.face_long_side * 1.25

    def _detect_plain(self, frames: list[np.ndarray], idx: list[int], long_side: int | None) -> list[Detections]:
        out = []
        if self.face is not None:
            with stage("face model"):
                out.append(self.face.detect(frames, idx, long_side=long_side))
        if self.plate is not None:
            h, w = frames[0].shape[:2]
            if self.plate.dynamic_hw and self.config.plate_long_side:
                # a little above the frame's own size: small, distant plates are the ones missed
                side = int(np.ceil(min(max(w, h) * 1.25, self.config.plate_long_side) / 32) * 32)
                side = max(side, self._plate_base)
                self.plate.size = (side, side)
            with stage("plate model"):
                out.append(self.plate.detect(frames, idx))
        return out

    def detect(self, frames: list[np.ndarray], frame_indices: list[int] | None = None, low: bool = False) -> Detections:
        """Faces and plates in BGR ``frames`` (one video's frames share a size).

        ``low=False`` returns the detections at or above each class's seed score; ``low=True`` also
        the weaker ones down to the low threshold (for the tracker to extend tracks with).
        """
        d = self._detect(frames, frame_indices)
        if low or not len(d):
            return d
        seed = np.array([self._seed.get(int(c), 0.0) for c in d.class_id], np.float32)
        return d[d.score >= seed]

    def _detect(self, frames: list[np.ndarray], frame_indices: list[int] | None) -> Detections:
        if not frames:
            return Detections.empty()
        idx = list(range(len(frames))) if frame_indices is None else list(frame_indices)
        h, w = frames[0].shape[:2]
        c = self.config
        long_side = None
        if c.face_long_side and max(w, h) > c.face_long_side:
            long_side = c.face_long_side
        elif c.face_min_long_side and max(w, h) < c.face_min_long_side:
            long_side = c.face_min_long_side
        parts = self._detect_plain(frames, idx, long_side)
        if not self._use_tiles(w, h):
            return Detections.merge(parts)
        for x0, y0, x1, y1 in tile_grid(w, h, self.config.tile_size, self.config.tile_overlap):
            crops = [np.ascontiguousarray(f[y0:y1, x0:x1]) for f in frames]
            for d in self._detect_plain(crops, idx, None):
                if len(d):
                    shifted = d.xyxy + np.array([x0, y0, x0, y0], np.float32)
                    lms = d.landmarks + np.array([x0, y0], np.float32) if d.landmarks is not None else None
                    parts.append(Detections(shifted, d.score, d.class_id, d.frame, lms))
        return _merge_nms(Detections.merge(parts), 0.4)


def _merge_nms(d: Detections, iou: float) -> Detections:
    """NMS per frame and class, so tiles that overlap don't double a face."""
    if not len(d):
        return d
    keep = []
    for f in np.unique(d.frame):
        for c in (CLASS_IDS["face"], CLASS_IDS["plate"]):
            sel = np.nonzero((d.frame == f) & (d.class_id == c))[0]
            if len(sel):
                keep.extend(sel[nms(d.xyxy[sel], d.score[sel], iou)])
    return d[np.sort(np.asarray(keep, np.int64))]
