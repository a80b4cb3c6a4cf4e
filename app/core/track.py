"""Keyframes and tracks: one redacted object (a face, a plate, a hand-drawn area) over time.

Import these from :mod:`app.core` (or :mod:`app.core.project`, which re-exports them).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from app.core.reasons import check_text
from app.core.shapes import Shape, lerp_shape
from app.core.style import RedactionStyle

REVIEW_STATES = ("needs_review", "approved", "rejected")
# Review states of older project files, read as today's: both meant "an operator should look".
LEGACY_REVIEW_STATES = {"unreviewed": "needs_review", "flagged": "needs_review"}
MAX_GROUP_NAME = 64  # characters in a group's name (Track.group)


class KeyframeSource(StrEnum):
    AUTO = "auto"  # placed by a detector
    MANUAL = "manual"  # placed or edited by the operator
    TRACKED = "tracked"  # propagated by a tracker between detections


@dataclass(frozen=True)
class Keyframe:
    frame: int
    shape: Shape
    source: KeyframeSource = KeyframeSource.AUTO
    visible: bool = True
    score: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.frame, bool) or not isinstance(self.frame, int) or self.frame < 0:
            raise ValueError(f"keyframe frame must be an integer >= 0, got {self.frame!r}")
        if not isinstance(self.shape, Shape):
            raise ValueError(f"keyframe shape must be a Shape, got {type(self.shape).__name__}")
        try:
            object.__setattr__(self, "source", KeyframeSource(self.source))
        except ValueError:
            raise ValueError(f"unknown keyframe source {self.source!r}") from None
        if not isinstance(self.visible, bool):
            raise ValueError(f"keyframe visible must be true or false, got {self.visible!r}")
        if self.score is not None:
            if isinstance(self.score, bool) or not isinstance(self.score, int | float):
                raise ValueError(f"keyframe score must be a number or None, got {self.score!r}")
            if not math.isfinite(self.score):
                raise ValueError(f"keyframe score must be finite, got {self.score!r}")
            object.__setattr__(self, "score", float(self.score))


@dataclass
class Track:
    """One object to redact, described by keyframes.

    ``keyframes`` reads as a tuple sorted by frame with unique frames. Change it with
    :meth:`set_keyframe` / :meth:`remove_keyframe`, or assign a whole new sequence to
    ``track.keyframes`` (it is sorted and checked); the tuple itself cannot be mutated, which keeps
    the lookup cache used by :meth:`shape_at` correct.

    ``style`` None means "use the project's style for ``cls``".
    """

    id: str
    cls: str
    keyframes: Sequence[Keyframe] = field(default_factory=list)
    enabled: bool = True
    label: str = ""
    style: RedactionStyle | None = None
    review: str = "needs_review"
    # Detection confidence of an auto track, for the review queue: max and mean score, and the
    # share of its frames that had a real detection (the rest were filled by the tracker).
    stats: dict[str, float] = field(default_factory=dict)
    # Who changed the track last: "" while it is exactly what the analysis made, else the
    # operator's name (from the settings). Re-running detection replaces only untouched tracks.
    changed_by: str = ""
    # The group the track belongs to ("" for none): several tracks of one person or one vehicle
    # shown under one folding row (the editor names groups "Person 1", "Vehicle 2", ...). A group
    # is only a name the tracks share; it changes nothing in the export.
    group: str = ""
    # Why it is redacted, or (exempt) kept visible: "bystander", "minor", ... ("" for none given),
    # picked from the settings' list; the audit report's redaction and exemption log holds it.
    reason: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValueError(f"track id must be a non-empty string, got {self.id!r}")
        if not isinstance(self.cls, str) or not self.cls:
            raise ValueError(f"track class must be a non-empty string, got {self.cls!r}")
        if not isinstance(self.enabled, bool):
            raise ValueError(f"track enabled must be true or false, got {self.enabled!r}")
        if not isinstance(self.label, str):
            raise ValueError(f"track label must be a string, got {self.label!r}")
        if self.style is not None and not isinstance(self.style, RedactionStyle):
            raise ValueError(f"track style must be a RedactionStyle or None, got {type(self.style).__name__}")
        if not isinstance(self.changed_by, str):
            raise ValueError(f"track changed_by must be a string, got {self.changed_by!r}")
        if not isinstance(self.group, str):
            raise ValueError(f"track group must be a string, got {self.group!r}")
        if len(self.group) > MAX_GROUP_NAME or self.group != self.group.strip() or any(
                not c.isprintable() for c in self.group):
            raise ValueError(f"track group must be a name of at most {MAX_GROUP_NAME} printable characters "
                             f"without leading or trailing spaces, got {self.group!r}")
        check_text("track reason", self.reason)
        if self.review not in REVIEW_STATES:
            raise ValueError(f"track review must be one of {', '.join(REVIEW_STATES)}, got {self.review!r}")
        if not isinstance(self.stats, dict) or not all(
            isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            for k, v in self.stats.items()
        ):
            raise ValueError(f"track stats must map names to finite numbers, got {self.stats!r}")

    # --- keyframe storage (see the property installed below the class) -------------------------

    def _get_keyframes(self) -> tuple[Keyframe, ...]:
        return self._kfs

    def _set_keyframes(self, keyframes: Iterable[Keyframe]) -> None:
        kfs = sorted(keyframes, key=_frame_of)
        for kf in kfs:
            if not isinstance(kf, Keyframe):
                raise ValueError(f"track keyframes must be Keyframe objects, got {type(kf).__name__}")
        frames = [kf.frame for kf in kfs]
        for prev, cur in zip(frames, frames[1:], strict=False):
            if prev == cur:
                raise ValueError(f"track has two keyframes at frame {cur}")
        self._kfs = tuple(kfs)
        self._frames = frames

    def set_keyframe(self, kf: Keyframe) -> None:
        """Insert ``kf``, replacing any keyframe already at ``kf.frame``."""
        if not isinstance(kf, Keyframe):
            raise ValueError(f"expected a Keyframe, got {type(kf).__name__}")
        i = bisect_right(self._frames, kf.frame)
        kfs = list(self._kfs)
        if i > 0 and self._frames[i - 1] == kf.frame:
            kfs[i - 1] = kf
        else:
            kfs.insert(i, kf)
        self._set_keyframes(kfs)

    def remove_keyframe(self, frame: int) -> Keyframe | None:
        """Remove and return the keyframe at ``frame`` (None when there is none)."""
        kf = self.keyframe_at(frame)
        if kf is not None:
            self._set_keyframes(k for k in self._kfs if k.frame != frame)
        return kf

    def keyframe_at(self, frame: int) -> Keyframe | None:
        """The keyframe placed exactly at ``frame``, if any."""
        i = bisect_right(self._frames, frame)
        if i > 0 and self._frames[i - 1] == frame:
            return self._kfs[i - 1]
        return None

    @property
    def redacted(self) -> bool:
        """True when the export masks this track: enabled (not exempt) and not rejected as a false
        detection."""
        return self.enabled and self.review != "rejected"

    @property
    def first_frame(self) -> int | None:
        return self._frames[0] if self._frames else None

    @property
    def last_frame(self) -> int | None:
        return self._frames[-1] if self._frames else None

    @property
    def max_score(self) -> float | None:
        scores = [kf.score for kf in self._kfs if kf.score is not None]
        return max(scores) if scores else None

    # --- evaluation ---------------------------------------------------------------------------

    def shape_at(self, frame: int) -> Shape | None:
        """The shape to redact at ``frame``, or None when the track shows nothing there.

        Semantics, with keyframes sorted by frame:

        * before the first keyframe or after the last one: None (a track ends at its last
          keyframe; it is not extended);
        * a keyframe exactly at ``frame``: its shape if it is visible, else None;
        * otherwise, with A the last keyframe before ``frame`` and B the next one after it:

          - A invisible: None (an invisible keyframe ends a span until the next visible one);
          - A and B visible: ``lerp_shape(A.shape, B.shape, t)`` with
            ``t = (frame - A.frame) / (B.frame - A.frame)``;
          - A visible, B invisible: A's shape, held unchanged up to (not including) B.

        Cost: one bisect plus at most one interpolation.
        """
        frames = self._frames
        i = bisect_right(frames, frame)
        if i == 0:
            return None
        a = self._kfs[i - 1]
        if a.frame == frame:
            return a.shape if a.visible else None
        if i == len(frames) or not a.visible:
            return None
        b = self._kfs[i]
        if not b.visible:
            return a.shape
        return lerp_shape(a.shape, b.shape, (frame - a.frame) / (b.frame - a.frame))

    def spans(self) -> list[tuple[int, int]]:
        """Inclusive ``(start, end)`` frame ranges where :meth:`shape_at` is not None, in order."""
        out: list[tuple[int, int]] = []
        kfs = self._kfs
        for i, kf in enumerate(kfs):
            if not kf.visible:
                continue
            end = kfs[i + 1].frame - 1 if i + 1 < len(kfs) else kf.frame
            if out and out[-1][1] + 1 >= kf.frame:
                out[-1] = (out[-1][0], end)
            else:
                out.append((kf.frame, end))
        return out


def _frame_of(kf: Keyframe) -> int:
    if not isinstance(kf, Keyframe):
        raise ValueError(f"track keyframes must be Keyframe objects, got {type(kf).__name__}")
    return kf.frame


# ``keyframes`` is a dataclass field (so it is an __init__ argument and takes part in ==/repr),
# but it is stored through a property so every assignment is sorted, checked and re-indexed.
Track.keyframes = property(Track._get_keyframes, Track._set_keyframes)  # type: ignore[assignment]
