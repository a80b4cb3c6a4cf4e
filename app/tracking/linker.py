"""A minimal IoU linker: joins each frame's detections to the track whose last box overlaps most.

This is the simple baseline used until the ByteTrack-style tracker lands: greedy matching by IoU,
per class, with short gaps (up to ``max_gap`` frames) bridged so that the frames between two
sightings are interpolated instead of left unmasked. Every detection ends up in some track, so
nothing a detector found is ever dropped from the redaction.
"""

from __future__ import annotations

import numpy as np

from app.detection.detections import Detections, box_iou

Point = tuple[int, tuple[float, float, float, float], float, int]  # frame, box, score, class id


class IouLinker:
    def __init__(self, iou: float = 0.3, max_gap: int = 5):
        self.iou = iou
        self.max_gap = max_gap
        self._active: list[list[Point]] = []
        self._done: list[list[Point]] = []

    def update(self, frame: int, det: Detections) -> None:
        still = []
        for t in self._active:
            (still if frame - t[-1][0] <= self.max_gap + 1 else self._done).append(t)
        self._active = still
        used = np.zeros(len(det), bool)
        for cid in np.unique(det.class_id) if len(det) else []:
            sel = np.nonzero(det.class_id == cid)[0]
            tracks = [t for t in self._active if t[-1][3] == cid and t[-1][0] < frame]
            if tracks:
                last = np.array([t[-1][1] for t in tracks], np.float32)
                ious = box_iou(last, det.xyxy[sel])
                while ious.size and ious.max() >= self.iou:
                    ti, di = np.unravel_index(int(np.argmax(ious)), ious.shape)
                    j = sel[di]
                    tracks[ti].append((frame, tuple(float(v) for v in det.xyxy[j]), float(det.score[j]), int(cid)))
                    used[j] = True
                    ious[ti, :] = -1
                    ious[:, di] = -1
        for j in np.nonzero(~used)[0]:
            self._active.append([(frame, tuple(float(v) for v in det.xyxy[j]), float(det.score[j]), int(det.class_id[j]))])

    def finish(self) -> list[list[Point]]:
        out = self._done + self._active
        self._done, self._active = [], []
        return sorted(out, key=lambda t: (t[0][0], t[0][3]))
