"""A detector that looks at video as players show it (the display rotation applied) and answers
in the coded frame's pixels, where tracks and masks live."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from app.media.frames import boxes_to_coded, points_to_coded, quarter_turns, upright


class UprightDetector:
    """A detector that looks at the upright picture (the display rotation applied) and answers in
    the coded frame's pixels, where tracks and masks live. Everything else passes through."""

    def __init__(self, detector, rotation: int):
        self.detector = detector
        self.rotation = rotation

    def detect(self, frames: list[np.ndarray], frame_indices=None, low: bool = False, **kw):
        if not frames or not quarter_turns(self.rotation):
            return self.detector.detect(frames, frame_indices, low=low, **kw)
        h, w = frames[0].shape[:2]
        found = self.detector.detect([upright(f, self.rotation) for f in frames], frame_indices, low=low, **kw)
        if not len(found):
            return found
        lms = found.landmarks
        return replace(found, xyxy=boxes_to_coded(found.xyxy, self.rotation, w, h),
                       landmarks=None if lms is None else points_to_coded(lms, self.rotation, w, h))

    @property
    def supports_rois(self) -> bool:  # windows are given in coded pixels: only without a rotation
        return not quarter_turns(self.rotation) and bool(getattr(self.detector, "supports_rois", False))

    def __getattr__(self, name: str):
        return getattr(self.detector, name)
