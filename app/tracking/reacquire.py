"""Re-acquisition: find a followed object again after something passed in front of it.

The visual extension follows a track past its last detection (``app.tracking.extend``). When an
occluder crosses the object, the follow stops ("lost": the tracker or the confidence failed) and,
if the detector does not see the object again afterwards (a weakly scored face, say), the object
stays visible from there on. So after a follow is lost, the object's own appearance (the
follow's templates: the grey structure at three sizes and the colour histogram, see
``follow._Confidence``) is looked for on each following frame, in a window around the place its
last motion predicts, for up to ``horizon`` frames. Where it scores ``min_confidence`` or more on
``confirm`` frames in a row at about the same place, it is re-acquired there: the frames in
between (the occlusion) get the box interpolated from the last sighting to the new one, grown by
the extension's margin, so the re-linked span covers the whole gap, and a new follow carries on
from there.

It only adds boxes (more redaction, never less): a wrong re-acquisition costs over-redaction.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from app.tracking.follow import _NCC_SCALES, _histogram, _patch

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class ReacquireParams:
    horizon_s: float = 2.0  # look this long after the loss (at most; the range's bounds apply)
    context: float = 1.0  # the search window: the predicted box grown by this share per side ...
    context_growth: float = 0.03  # ... plus this per frame since the loss
    min_confidence: float = 0.6  # structure x colour score of a re-acquisition (the follow stops below 0.45)
    confirm: int = 2  # frames in a row at about the same place
    velocity_frames: int = 5  # the last motion: from this many frames of the follow


class Reacquirer:
    """Watches the frames after a lost follow for the object (work-scale images, as the follow's)."""

    def __init__(self, follow, params: ReacquireParams):
        r = follow.result
        frames = sorted(f for f in r.boxes if (f - follow.start) * follow.direction >= 0)
        last = r.last_frame
        self.params = params
        self.follow = follow
        self.last_frame = last
        self.last_box = r.boxes[last]  # source pixels
        self.direction = follow.direction
        tail = [f for f in frames if abs(f - last) <= params.velocity_frames]
        if len(tail) >= 2:
            a, b = min(tail), max(tail)
            ba, bb = np.asarray(r.boxes[a]), np.asarray(r.boxes[b])
            self.velocity = (bb - ba) / float(b - a)  # per frame, forward in time
        else:
            self.velocity = np.zeros(4)
        self.candidate: list[tuple[int, Box, float]] = []

    def predicted(self, index: int) -> np.ndarray:
        box = np.asarray(self.last_box, np.float64) + self.velocity * (index - self.last_frame)
        w0 = self.last_box[2] - self.last_box[0]
        h0 = self.last_box[3] - self.last_box[1]
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        return np.array([cx - w0 / 2, cy - h0 / 2, cx + w0 / 2, cy + h0 / 2])

    def feed(self, index: int, image: np.ndarray) -> list[tuple[int, Box, float]] | None:
        """The confirmed sightings [(frame, box in source pixels, score)], or None (not yet)."""
        f = self.follow
        s = f.scale
        p = self.params
        pred = self.predicted(index) * s
        x, y, w, h = pred[0], pred[1], pred[2] - pred[0], pred[3] - pred[1]
        if w < 3 or h < 3:
            return None
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        grow = p.context + p.context_growth * abs(index - self.last_frame)
        conf = f.conf
        best = (-1.0, None)
        for k in _NCC_SCALES:
            bw, bh = w * k, h * k
            bx, by = x + (w - bw) / 2, y + (h - bh) / 2
            search = _patch(gray, (bx, by, bw, bh), conf.size, grow).astype(np.float32)
            sx = (bw + 2 * bw * grow) / search.shape[1]
            sy = (bh + 2 * bh * grow) / search.shape[0]
            for template in (conf.first, conf.blend.astype(np.float32)):
                if template.shape[0] > search.shape[0] or template.shape[1] > search.shape[1]:
                    continue
                r = cv2.matchTemplate(search, template, cv2.TM_CCOEFF_NORMED)
                r = np.nan_to_num(r, nan=0.0, posinf=0.0, neginf=0.0)
                _, v, _, (u, t) = cv2.minMaxLoc(r)
                if v > best[0]:
                    box = (bx - bw * grow + u * sx, by - bh * grow + t * sy, bw, bh)
                    best = (float(v), box)
        ncc, box = best
        if box is None or conf.flat:
            return None
        hist = _histogram(image, box)
        colour = max(max(0.0, 1.0 - cv2.compareHist(hh, hist, cv2.HISTCMP_BHATTACHARYYA))
                     for hh in (conf.hist_first, conf.hist_blend))
        score = float(np.sqrt(max(0.0, ncc) * colour))
        src = (box[0] / s, box[1] / s, (box[0] + box[2]) / s, (box[1] + box[3]) / s)
        if score < p.min_confidence:
            self.candidate = []
            return None
        if self.candidate:
            pb = self.candidate[-1][1]
            side = max(pb[2] - pb[0], pb[3] - pb[1])
            if abs((pb[0] + pb[2]) / 2 - (src[0] + src[2]) / 2) > 0.5 * side or \
                    abs((pb[1] + pb[3]) / 2 - (src[1] + src[3]) / 2) > 0.5 * side:
                self.candidate = []
        self.candidate.append((index, src, score))
        if len(self.candidate) >= p.confirm:
            return list(self.candidate)
        return None

    def gap_boxes(self, found_frame: int, found_box: Box) -> dict[int, Box]:
        """The frames between the last sighting and the re-acquisition: the box interpolated
        between the two, and wide enough for both (the object is behind the occluder)."""
        a, b = np.asarray(self.last_box, np.float64), np.asarray(found_box, np.float64)
        out = {}
        n = found_frame - self.last_frame
        for j in range(1, abs(n)):
            t = j / abs(n)
            m = a + (b - a) * t
            out[self.last_frame + j * (1 if n > 0 else -1)] = tuple(float(v) for v in m)
        return out
