"""A small ByteTrack-style multi-object tracker (one per class), numpy + SciPy only.

Why our own: the maintained libraries don't fit the product. roboflow's ``trackers`` (Apache-2.0)
requires opencv-python, whose Qt plugins clash with PySide6; supervision 0.31 dropped ByteTrack;
norfair pins numpy<2 in its latest release; boxmot is AGPL and needs torch. ByteTrack's idea is
small enough to own and test (Zhang et al., 2022):

* a constant-velocity Kalman filter per track on (cx, cy, w, h), process noise scaled by size;
* a first association of high-score detections with all tracks (confirmed and lost), by IoU
  with the Hungarian method (SciPy's ``linear_sum_assignment``);
* a second association of the remaining *low-score* detections with the tracks still unmatched,
  which keeps a face tracked through blur and partial occlusion;
* birth from high-score detections (``new_track_thresh``), confirmation after ``min_hits``
  sightings, death after ``track_buffer`` frames without one (hysteresis).

The tracker only assigns detections to track ids; turning tracks into redaction-safe masks (gap
filling, holds, smoothing, keeping every detection) is ``build_tracks``'s job.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from app.detection.detections import box_iou


class KalmanBox:
    """Constant-velocity Kalman filter on x = (cx, cy, w, h, vcx, vcy, vw, vh)."""

    _F = np.eye(8)
    _F[:4, 4:] = np.eye(4)
    _H = np.eye(4, 8)
    STD_POS = 1.0 / 20
    STD_VEL = 1.0 / 160

    def __init__(self, box: np.ndarray):
        cx, cy, w, h = _xyxy_to_cxcywh(box)
        self.x = np.array([cx, cy, w, h, 0, 0, 0, 0], np.float64)
        s = max(w, h)
        std = [2 * self.STD_POS * s] * 4 + [10 * self.STD_VEL * s] * 4
        self.P = np.diag(np.square(std))

    def predict(self) -> None:
        s = max(self.x[2], self.x[3], 1.0)
        q = np.square([self.STD_POS * s] * 4 + [self.STD_VEL * s] * 4)
        self.x = self._F @ self.x
        self.x[2:4] = np.maximum(self.x[2:4], 1.0)
        self.P = self._F @ self.P @ self._F.T + np.diag(q)

    def update(self, box: np.ndarray) -> None:
        z = np.array(_xyxy_to_cxcywh(box))
        s = max(self.x[2], self.x[3], 1.0)
        r = np.diag(np.square([self.STD_POS * s] * 4))
        y = z - self._H @ self.x
        S = self._H @ self.P @ self._H.T + r
        K = self.P @ self._H.T @ np.linalg.inv(S)
        self.x = self.x + K @ y
        self.P = (np.eye(8) - K @ self._H) @ self.P

    @property
    def box(self) -> np.ndarray:
        cx, cy, w, h = self.x[:4]
        return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], np.float32)


def _xyxy_to_cxcywh(b) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = (float(v) for v in b)
    return (x1 + x2) / 2, (y1 + y2) / 2, max(1.0, x2 - x1), max(1.0, y2 - y1)


@dataclass
class _Track:
    id: int
    kf: KalmanBox
    hits: int = 1
    last_frame: int = 0
    confirmed: bool = False
    detections: list[int] = field(default_factory=list)  # ids of the detections it took


@dataclass
class TrackerParams:
    high_thresh: float = 0.5  # first association and birth
    new_track_thresh: float = 0.5
    match_iou: float = 0.2  # minimum IoU for the first association
    low_match_iou: float = 0.4  # second (low-score) association is stricter
    min_hits: int = 2  # sightings to confirm a track
    track_buffer: int = 30  # frames a lost track is kept for re-association


class ByteTracker:
    """Feed ``update(frame, boxes, scores, det_ids)`` frame by frame (forward or backward)."""

    def __init__(self, params: TrackerParams | None = None):
        self.p = params or TrackerParams()
        self.tracks: list[_Track] = []
        self.finished: list[_Track] = []
        self._next_id = 0

    def reset(self) -> None:
        """End every track (a scene cut)."""
        self.finished.extend(self.tracks)
        self.tracks = []

    def update(self, frame: int, boxes: np.ndarray, scores: np.ndarray, det_ids: list[int]) -> None:
        p = self.p
        for t in self.tracks:
            t.kf.predict()
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        scores = np.asarray(scores, np.float32).reshape(-1)
        high = np.nonzero(scores >= p.high_thresh)[0]
        low = np.nonzero(scores < p.high_thresh)[0]

        confirmed = [t for t in self.tracks if t.confirmed]
        tentative = [t for t in self.tracks if not t.confirmed]

        # 1. high-score detections <-> confirmed (tracked and lost) tracks
        m1, un_tracks, un_high = _associate(confirmed, boxes[high], p.match_iou)
        for ti, di in m1:
            self._take(confirmed[ti], frame, boxes[high[di]], det_ids[high[di]])
        # 2. low-score detections <-> confirmed tracks still unmatched
        rest = [confirmed[i] for i in un_tracks]
        m2, _, _ = _associate(rest, boxes[low], p.low_match_iou)
        for ti, di in m2:
            self._take(rest[ti], frame, boxes[low[di]], det_ids[low[di]])
        # 3. remaining high-score detections <-> tentative tracks (one frame old)
        left = high[un_high]
        m3, _, un_left = _associate(tentative, boxes[left], p.match_iou)
        for ti, di in m3:
            self._take(tentative[ti], frame, boxes[left[di]], det_ids[left[di]])
        # 4. births
        for di in un_left:
            j = left[di]
            if scores[j] >= p.new_track_thresh:
                t = _Track(self._next_id, KalmanBox(boxes[j]), last_frame=frame, detections=[det_ids[j]])
                t.confirmed = p.min_hits <= 1
                self._next_id += 1
                self.tracks.append(t)
        # deaths: tentative tracks that missed a frame, confirmed tracks lost too long
        alive = []
        for t in self.tracks:
            gap = abs(frame - t.last_frame)
            if (not t.confirmed and gap > 0) or gap > p.track_buffer:
                self.finished.append(t)
            else:
                alive.append(t)
        self.tracks = alive

    def _take(self, t: _Track, frame: int, box: np.ndarray, det_id: int) -> None:
        t.kf.update(box)
        t.hits += 1
        t.last_frame = frame
        t.detections.append(det_id)
        if t.hits >= self.p.min_hits:
            t.confirmed = True

    def result(self) -> list[list[int]]:
        """Detection ids of every confirmed track, ended or not."""
        out = [t.detections for t in self.finished + self.tracks if t.confirmed]
        return [d for d in out if d]


def _associate(tracks: list[_Track], boxes: np.ndarray, min_iou: float):
    """Hungarian matching on IoU. Returns (pairs, unmatched track idx, unmatched box idx)."""
    if not tracks or len(boxes) == 0:
        return [], list(range(len(tracks))), list(range(len(boxes)))
    pred = np.stack([t.kf.box for t in tracks])
    iou = box_iou(pred, boxes)
    rows, cols = linear_sum_assignment(-iou)
    pairs = [(r, c) for r, c in zip(rows, cols, strict=False) if iou[r, c] >= min_iou]
    mt = {r for r, _ in pairs}
    mb = {c for _, c in pairs}
    return pairs, [i for i in range(len(tracks)) if i not in mt], [j for j in range(len(boxes)) if j not in mb]
