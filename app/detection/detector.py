"""The product's detector: faces (CenterFace) and plates (YOLOv8n), on the device chosen on purpose.

``Detector.detect(frames, frame_indices)`` returns one ``Detections`` with both classes. Large
frames (4K) get an extra tiled pass at full resolution, so small faces and plates that the
full-frame pass (at a reduced size, for speed) misses are still found; the two passes are merged
with NMS.

Three passes (``detect(..., pass_=...)``), for the analysis's detection scheduler
(``app.pipelines.schedule``):

* ``"full"`` (default): the reference: float graphs at the configured sizes (photos, and
  every frame when no schedule is used);
* ``"fine"``: the same sizes (and tiles) with the fast graphs;
* ``"coarse"``: both models at ``coarse_long_side`` (800) with the fast graphs, no tiles: about
  10x cheaper than "fine" at 1080p; it finds what is not small. With ``rois`` (class, box) it
  also runs that class's fast model on a full-resolution window around each box: the small
  objects being tracked, found again at the fine pass's scale for a fraction of its cost.

The fast graphs are the int8 (QDQ) graphs of :mod:`app.detection.quantize` on the CPU with
``precision="auto"`` or ``"int8"``, else the float ones (on CUDA, and with ``"fp32"``).
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
    face_models: str = "ensemble"  # "centerface": that model alone; "ensemble": + second_face_model, NMS-merged
    second_face_model: str = "retinaface"
    second_face_long_side: int = 640  # its input long side (960 found 4 more of 1,437 faces for 2.2x its CPU)
    second_face_passes: tuple[str, ...] = ("full", "fine")  # the scheduler's passes it runs in
    ensemble_iou: float = 0.5  # the NMS that merges the two face models' boxes
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
    precision: str = "auto"  # fast passes: "auto" (int8 on the CPU, float on CUDA), "int8", "fp32"
    coarse_long_side: int = 800  # the coarse pass's model input long side (640 leaked more on 1024x576)
    coarse_plate_long_side: int | None = None  # the plate model's on the coarse pass (None: coarse_long_side)
    roi_side: int = 320  # full-resolution window around a small tracked object: at least this ...
    roi_factor: float = 4.0  # ... or this many times the object's long side (motion between passes) ...
    roi_max_side: int = 640  # ... but at most this


PASSES = ("full", "fine", "coarse")
PRECISIONS = ("auto", "int8", "fp32")
FACE_MODELS = ("centerface", "ensemble")


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
        self.face = self.plate = self.face2 = None
        self.specs = []
        if config.face_models not in FACE_MODELS:
            from app.errors import ObscuraError

            raise ObscuraError(f"unknown face models '{config.face_models}' (choose {', '.join(FACE_MODELS)})")
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
            if config.face_models == "ensemble":
                from app.detection.retinaface import RetinaFace

                s2 = models.spec(config.second_face_model)
                # its scores are put on the first model's scale: its manifest seed = the first's
                self.face2 = RetinaFace(
                    models.verified_bytes(s2), self.device, threshold=self.face.threshold,
                    nms_iou=s2.thresholds.get("nms_iou", 0.4), long_side=config.second_face_long_side,
                    threads=config.threads,
                    calibration=(float(s2.thresholds.get("score", 0.5)), float(th.get("score", 0.3))),
                )
                self.specs.append(s2)
        if config.plates:
            from app.detection.yolo import YoloDetector

            s = models.spec(config.plate_model)
            kw = {"threads": config.threads}
            if config.plate_threshold is not None:
                kw["score"] = config.plate_threshold
            self.plate = YoloDetector.from_spec(s, self.device, **kw)
            self._plate_base = max(self.plate.size)  # the size it was trained at (640)
            self.specs.append(s)

        if config.precision not in PRECISIONS:
            from app.errors import ObscuraError

            raise ObscuraError(f"unknown precision '{config.precision}' (choose {', '.join(PRECISIONS)})")
        self._fast: tuple | None = None  # (face, plate) for the fine and coarse passes, made on first use
        self.precision_note = ""  # why the fast passes run float graphs, when int8 was asked for

        # The models run at the low threshold; `detect(low=False)` filters to the seed threshold.
        self._seed = {}
        if self.face is not None:
            self._seed[CLASS_IDS["face"]] = self.face.threshold
            self.face.threshold *= config.low_factor
            if self.face2 is not None:
                self.face2.threshold = self.face.threshold
        if self.plate is not None:
            self._seed[CLASS_IDS["plate"]] = self.plate.score
            self.plate.score *= config.low_factor

    def seed_scores(self) -> dict[int, float]:
        """Per class id: detections at or above this score are always redacted."""
        return dict(self._seed)

    def describe(self) -> str:
        names = ", ".join(f"{s.task}: {s.id}" for s in self.specs) or "no models"
        if self.face2 is not None:
            c = self.config
            names += (f" (face ensemble, NMS IoU {c.ensemble_iou:g}; {self.face2.long_side} px, "
                      f"{'/'.join(c.second_face_passes)} passes)")
        return f"detection on {self.device.describe()}; {names}"

    def fast_precision(self) -> str:
        """What the fine and coarse passes run: "int8" or "fp32"."""
        p = self.config.precision
        return "int8" if p == "int8" or (p == "auto" and self.device.name == "cpu") else "fp32"

    def fast_models(self) -> tuple:
        """(face, plate) for the fine and coarse passes: int8 sessions on the CPU (see
        ``fast_precision``), else the float ones. A model whose int8 graph cannot be made runs float."""
        if self._fast is not None:
            return self._fast
        face, plate = self.face, self.plate
        if self.fast_precision() == "int8":
            from app.detection import models, quantize

            notes = []
            if self.face is not None:
                s = next(x for x in self.specs if x.task == "face")
                q = quantize.int8_bytes(s, models.verified_bytes(s))
                if q is not None:
                    from app.detection.faces import CenterFace

                    face = CenterFace(q, self.device, threshold=self.face.threshold, nms_iou=self.face.nms_iou,
                                      threads=self.config.threads, prepared=True)
                else:
                    notes.append(quantize.last_note.get(s.id, ""))
            if self.plate is not None:
                from app.detection.yolo import YoloDetector

                s = next(x for x in self.specs if x.task == "plate")
                q = quantize.int8_bytes(s, models.verified_bytes(s))
                if q is not None:
                    plate = YoloDetector(q, self.device, score=self.plate.score, nms_iou=self.plate.nms_iou,
                                         task=s.task, threads=self.config.threads)
                else:
                    notes.append(quantize.last_note.get(s.id, ""))
            self.precision_note = "; ".join(n for n in notes if n)
        self._fast = (face, plate)
        return self._fast

    def thresholds(self) -> dict:
        out = {}
        if self.face is not None:
            out["face"] = {"score": self._seed[CLASS_IDS["face"]], "track_low": self.face.threshold,
                           "nms_iou": self.face.nms_iou}
            if self.face2 is not None:  # its own scores at the ensemble's seed and low thresholds
                from app.detection.retinaface import uncalibrate

                cal = self.face2.calibration
                out["face"]["second_model"] = {
                    "score": round(uncalibrate(self._seed[CLASS_IDS["face"]], *cal), 4),
                    "track_low": round(self.face2.raw_threshold(), 4), "nms_iou": self.face2.nms_iou,
                    "long_side": self.face2.long_side, "ensemble_iou": self.config.ensemble_iou}
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

    def _detect_plain(self, frames: list[np.ndarray], idx: list[int], long_side: int | None,
                      models: tuple | None = None, plate_cap: int | None = None, tag: str = "") -> list[Detections]:
        face, plate = models or (self.face, self.plate)
        out = []
        if face is not None:
            with stage(f"face model{tag}"):
                out.append(face.detect(frames, idx, long_side=long_side))
        if plate is not None:
            h, w = frames[0].shape[:2]
            cap = plate_cap or self.config.plate_long_side
            if plate.dynamic_hw and cap:
                # a little above the frame's own size: small, distant plates are the ones missed
                side = int(np.ceil(min(max(w, h) * 1.25, cap) / 32) * 32)
                side = max(side, self._plate_base)
                plate.size = (side, side)
            with stage(f"plate model{tag}"):
                out.append(plate.detect(frames, idx))
        return out

    supports_rois = True

    def detect(self, frames: list[np.ndarray], frame_indices: list[int] | None = None, low: bool = False,
               pass_: str = "full", rois: list | None = None) -> Detections:
        """Faces and plates in BGR ``frames`` (one video's frames share a size).

        ``low=False`` returns the detections at or above each class's seed score; ``low=True`` also
        the weaker ones down to the low threshold (for the tracker to extend tracks with).
        ``pass_``: "full", "fine" or "coarse" (see the module's docstring); ``rois`` (coarse only):
        (class id, box) of small objects to look for again at full resolution on every frame.
        """
        if pass_ not in PASSES:
            raise ValueError(f"unknown pass '{pass_}'")
        if pass_ == "coarse":
            d = self._detect_coarse(frames, frame_indices)
            if rois and len(frames):
                idx = list(range(len(frames))) if frame_indices is None else list(frame_indices)
                found = [self._detect_rois(f, i, rois) for f, i in zip(frames, idx, strict=True)]
                d = _merge_nms(Detections.merge([d, *found]), 0.4)
        else:
            d = self._detect(frames, frame_indices, self.fast_models() if pass_ == "fine" else None,
                             " (fine)" if pass_ == "fine" else "")
        if self.face2 is not None and pass_ in self.config.second_face_passes and len(frames):
            idx = list(range(len(frames))) if frame_indices is None else list(frame_indices)
            with stage(f"second face model{'' if pass_ == 'full' else f' ({pass_})'}"):
                d2 = self.face2.detect(frames, idx)
            if len(d2):
                d = _merge_nms(Detections.merge([d, d2]), self.config.ensemble_iou, classes=(CLASS_IDS["face"],))
        if low or not len(d):
            return d
        seed = np.array([self._seed.get(int(c), 0.0) for c in d.class_id], np.float32)
        return d[d.score >= seed]

    def coarse_is_cheaper(self, width: int, height: int) -> bool:
        """Whether the coarse pass runs smaller models than the fine one on frames of this size."""
        return max(width, height) > self.config.coarse_long_side * 1.25

    def _detect_coarse(self, frames: list[np.ndarray], frame_indices: list[int] | None) -> Detections:
        if not frames:
            return Detections.empty()
        idx = list(range(len(frames))) if frame_indices is None else list(frame_indices)
        side = self.config.coarse_long_side
        h, w = frames[0].shape[:2]
        if not self.coarse_is_cheaper(w, h):
            return self._detect(frames, idx, self.fast_models(), " (fine)")
        parts = self._detect_plain(frames, idx, side, self.fast_models(),
                                   plate_cap=self.config.coarse_plate_long_side or side, tag=" (coarse)")
        return Detections.merge(parts)

    def roi_windows(self, rois: list, width: int, height: int) -> list[tuple[int, tuple[int, int, int, int]]]:
        """(class id, window x0, y0, x1, y1) around each small object; windows of one class that
        overlap are joined while the join stays within twice the window side."""
        c = self.config
        out: list[tuple[int, list[int]]] = []
        for cls, box in rois:
            x1, y1, x2, y2 = (float(v) for v in box)
            side = int(min(max(c.roi_side, min(c.roi_max_side, c.roi_factor * max(x2 - x1, y2 - y1))), width, height))
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            x0 = int(min(max(0, cx - side / 2), width - side))
            y0 = int(min(max(0, cy - side / 2), height - side))
            win = [x0, y0, x0 + side, y0 + side]
            for k, (oc, ow) in enumerate(out):
                if oc != int(cls) or ow[0] >= win[2] or win[0] >= ow[2] or ow[1] >= win[3] or win[1] >= ow[3]:
                    continue
                j = [min(ow[0], win[0]), min(ow[1], win[1]), max(ow[2], win[2]), max(ow[3], win[3])]
                if max(j[2] - j[0], j[3] - j[1]) <= 2 * side:
                    out[k] = (oc, j)
                    break
            else:
                out.append((int(cls), win))
        return [(cls, tuple(w)) for cls, w in out]

    def _detect_rois(self, frame: np.ndarray, index: int, rois: list) -> Detections:
        face, plate = self.fast_models()
        h, w = frame.shape[:2]
        parts = []
        for cls, (x0, y0, x1, y1) in self.roi_windows(rois, w, h):
            model = face if cls == CLASS_IDS["face"] else plate if cls == CLASS_IDS["plate"] else None
            if model is None:
                continue
            crop = np.ascontiguousarray(frame[y0:y1, x0:x1])
            with stage("small-object windows"):
                if model is face:
                    d = face.detect([crop], [index], long_side=None)
                else:
                    side = int(np.ceil(max(x1 - x0, y1 - y0) / 32) * 32)
                    plate.size = (max(side, self._plate_base),) * 2
                    d = plate.detect([crop], [index])
            if len(d):
                lms = d.landmarks + np.array([x0, y0], np.float32) if d.landmarks is not None else None
                parts.append(Detections(d.xyxy + np.array([x0, y0, x0, y0], np.float32), d.score, d.class_id,
                                        d.frame, lms))
        return Detections.merge(parts) if parts else Detections.empty()

    def _detect(self, frames: list[np.ndarray], frame_indices: list[int] | None, models: tuple | None = None,
                tag: str = "") -> Detections:
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
        parts = self._detect_plain(frames, idx, long_side, models, tag=tag)
        if not self._use_tiles(w, h):
            return Detections.merge(parts)
        for x0, y0, x1, y1 in tile_grid(w, h, self.config.tile_size, self.config.tile_overlap):
            crops = [np.ascontiguousarray(f[y0:y1, x0:x1]) for f in frames]
            for d in self._detect_plain(crops, idx, None, models, tag=tag):
                if len(d):
                    shifted = d.xyxy + np.array([x0, y0, x0, y0], np.float32)
                    lms = d.landmarks + np.array([x0, y0], np.float32) if d.landmarks is not None else None
                    parts.append(Detections(shifted, d.score, d.class_id, d.frame, lms))
        return _merge_nms(Detections.merge(parts), 0.4)


def _merge_nms(d: Detections, iou: float, classes: tuple[int, ...] | None = None) -> Detections:
    """NMS per frame and class, so tiles that overlap don't double a face. Only ``classes`` (default
    all) are suppressed; the others are kept as they are."""
    if not len(d):
        return d
    classes = classes or (CLASS_IDS["face"], CLASS_IDS["plate"])
    keep = list(np.nonzero(~np.isin(d.class_id, classes))[0])
    for f in np.unique(d.frame):
        for c in classes:
            sel = np.nonzero((d.frame == f) & (d.class_id == c))[0]
            if len(sel):
                keep.extend(sel[nms(d.xyxy[sel], d.score[sel], iou)])
    return d[np.sort(np.asarray(keep, np.int64))]
