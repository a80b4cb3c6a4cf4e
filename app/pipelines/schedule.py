"""The analysis's detection scheduler: which frames get which detector pass.

Running both models at high resolution on every frame was 93 % of the analysis time. Most of
that buys nothing: a face 80 px tall is found as well at 640 px as at 1920, and the tracks carry
an object between two sightings (gap fill, hold, the visual extension). So:

* a **fine** pass (the configured sizes: CenterFace at the frame's size up to 1920, the plate
  model at 1.25x up to 1280, tiles on 4K) every ``fine_every``-th analysed frame, and on the
  first and last one; small objects are found here;
* a **coarse** pass (both models at 800 on the long side) on the frames between, every ``coarse_every``-th;
* a **small** object (long side below ``small_face_px`` / ``small_plate_px`` at the coarse
  pass's scale), and any object a fine pass found that the next coarse pass did not, is looked
  for again on every coarse frame in a full-resolution window around it (the detector's
  ``rois``), until ``small_hold`` passes in a row do not find it there. A detector without
  windows (a rotated video) runs the fine pass every ``small_fine_every``-th frame instead while
  small objects are about;
* a fine pass also on the first frame after a scene cut (new objects, none tracked yet).

Frames no pass looks at are filled by the tracks exactly like the analysis's ``stride``.
Frames no bigger than the coarse size gain nothing from it: they get the fine pass on every
scheduled frame. ``Schedule.off()`` is the old behaviour: the reference pass on every frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Schedule:
    enabled: bool = True
    fine_every: int = 8
    coarse_every: int = 1
    small_fine_every: int = 2
    small_face_px: float = 14.0  # a face whose long side is below this at the coarse pass's scale is small
    small_plate_px: float = 28.0  # ... a plate (its width: plates are short, the coarse pass needs width)
    small_hold: int = 3
    max_rois: int = 8  # windows per frame at most (the smallest objects first)

    @classmethod
    def off(cls) -> Schedule:
        return cls(enabled=False)

    def describe(self) -> str:
        if not self.enabled:
            return "every frame at full resolution"
        coarse = "every frame" if self.coarse_every == 1 else f"every {self.coarse_every}th frame"
        return (f"fine pass every {self.fine_every}th frame (every {self.small_fine_every}th near small "
                f"objects), coarse pass {coarse}")


class Planner:
    """Decides the pass for each analysed frame, from what the fine passes found."""

    def __init__(self, schedule: Schedule, detector, width: int, height: int, first: int, last: int):
        self.s = schedule
        self.seeds = dict(detector.seed_scores()) if hasattr(detector, "seed_scores") else {}
        self.pending: list[list] = []  # fine-pass finds the next coarse pass must confirm
        self.first, self.last = first, last
        self.active = schedule.enabled and hasattr(detector, "coarse_is_cheaper") and \
            detector.coarse_is_cheaper(width, height)
        config = getattr(detector, "config", None)
        side = getattr(config, "coarse_long_side", 640)
        plate_side = getattr(config, "coarse_plate_long_side", None) or side
        long = max(width, height)  # coarse-scale pixels -> frame pixels: long / side
        self.small_px = {0: schedule.small_face_px * long / side, 1: schedule.small_plate_px * long / plate_side}
        self.n = 0  # analysed frames seen
        self.since_fine = 0
        self.hot = 0  # fine passes still to run at the small-object rate
        self.windows = bool(getattr(detector, "supports_rois", False))
        self.rois: list[list] = []  # [class id, box, passes left]
        self.counts = {"full": 0, "fine": 0, "coarse": 0, "skipped": 0, "windows": 0}
        self._force = False

    def cut(self) -> None:
        """A scene cut at the next frame: give it the fine pass."""
        self._force = True

    def pass_for(self, frame: int) -> str | None:
        """"full", "fine", "coarse", or None (not detected: the tracks fill it)."""
        n = self.n
        self.n += 1
        if not self.active:
            p = "full"
        else:
            every = self.s.small_fine_every if self.hot > 0 else self.s.fine_every
            if self._force or frame == self.first or frame == self.last or self.since_fine + 1 >= every:
                p = "fine"
            elif (n % self.s.coarse_every) == 0:
                p = "coarse"
            else:
                p = None
            self.since_fine = 0 if p == "fine" else self.since_fine + 1
            self._force = False
        self.counts[p or "skipped"] += 1
        return p

    def rois_for(self, n_frames: int) -> list[tuple[int, tuple]]:
        """The windows for a coarse batch of ``n_frames``: (class id, box) of the small objects."""
        if not (self.active and self.windows and self.rois):
            return []
        self.counts["windows"] += n_frames * len(self.rois)
        return [(int(c), tuple(float(v) for v in b)) for c, b, _ in self.rois]

    def saw(self, pass_: str, det) -> None:
        """Tell the planner what a pass found (low-score detections included).

        Windows go to (1) the small objects a fine pass found, and (2) every object a fine pass
        found (at 0.6x the seed score or more) that the next coarse pass did not: the coarse pass cannot see
        it, so it is looked for at full resolution until it is lost. A window stays while it finds
        its object, and ``small_hold`` passes after it last did.
        """
        if not self.active or pass_ not in ("fine", "coarse"):
            return
        found: list[list] = []  # [class, box] on the batch's last frame
        small: list[list] = []
        if len(det):
            last = np.nonzero(det.frame == det.frame.max())[0]  # a batch: where the objects are now
            for k in last:
                c, box, score = int(det.class_id[k]), det.xyxy[k].astype(float), float(det.score[k])
                found.append([c, box, score])
                if max(box[2] - box[0], box[3] - box[1]) < self.small_px.get(c, 0.0) and \
                        score >= 0.6 * self.seeds.get(c, 0.0):
                    small.append([c, box, self.s.small_hold])
        if not self.windows:
            if pass_ == "fine":
                if small:
                    self.hot = self.s.small_hold
                elif self.hot > 0:
                    self.hot -= 1
            return
        if pass_ == "fine":
            self.rois = small
            self.pending = [[c, b] for c, b, sc in found if sc >= 0.6 * self.seeds.get(c, 0.0)
                            and not any(r[0] == c and _near(r[1], b) for r in small)]
        else:
            rois = []
            for c, b, left in self.rois:  # refreshed where it found its object, else counted down
                hit = [f for f in found if f[0] == c and _near(f[1], b)]
                if hit:
                    rois.append([c, max(hit, key=lambda f: f[2])[1], self.s.small_hold])
                elif left > 1:
                    rois.append([c, b, left - 1])
            for c, b in self.pending:  # found by the fine pass, not by this coarse one
                if not any(f[0] == c and _near(f[1], b, 0.5) for f in found):
                    rois.append([c, b, self.s.small_hold])
            self.pending = []
            self.rois = rois
        self.rois.sort(key=lambda r: float(max(r[1][2] - r[1][0], r[1][3] - r[1][1])))
        del self.rois[self.s.max_rois :]


def _near(a, b, sides: float = 3.0) -> bool:
    """Whether box ``a``'s centre lies within ``sides`` of box ``b``'s long side from ``b``'s centre
    (the same object, moved)."""
    side = max(b[2] - b[0], b[3] - b[1], 1.0) * sides
    return abs((a[0] + a[2]) / 2 - (b[0] + b[2]) / 2) < side and abs((a[1] + a[3]) / 2 - (b[1] + b[3]) / 2) < side
