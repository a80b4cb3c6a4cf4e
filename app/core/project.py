"""The project: the media being anonymised, its tracks and the per-class redaction styles.

Pure Python (no Qt): the editor, the CLI and the export pipeline all share this model. A project
is mutable while it is edited; take :meth:`Project.copy` to freeze a snapshot for an export.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from app.core.audio import AudioMute
from app.core.shapes import Shape
from app.core.style import DEFAULT_STYLES, RedactionStyle
from app.core.track import REVIEW_STATES, Keyframe, KeyframeSource, Track

__all__ = [
    "REVIEW_STATES",
    "AudioMute",
    "Keyframe",
    "KeyframeSource",
    "MediaRef",
    "Project",
    "Track",
]


def _positive_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"media {name} must be an integer >= {minimum}, got {value!r}")
    return value


@dataclass
class MediaRef:
    """The source video: where it is and the facts the model needs about it."""

    path: str
    width: int
    height: int
    fps: Fraction
    frame_count: int
    sha256: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.path, str) or not self.path:
            raise ValueError(f"media path must be a non-empty string, got {self.path!r}")
        _positive_int("width", self.width, 1)
        _positive_int("height", self.height, 1)
        _positive_int("frame_count", self.frame_count, 0)
        fps = self.fps
        if isinstance(fps, float):
            if not math.isfinite(fps):
                raise ValueError(f"media fps must be a positive number, got {fps!r}")
            fps = Fraction(fps).limit_denominator(100_000)
        try:
            if isinstance(fps, bool):
                raise TypeError
            fps = Fraction(fps)
        except (TypeError, ValueError, ZeroDivisionError):
            raise ValueError(f"media fps must be a positive number, got {self.fps!r}") from None
        if fps <= 0:
            raise ValueError(f"media fps must be a positive number, got {self.fps!r}")
        self.fps = fps
        if self.sha256 is not None and not re.fullmatch(r"[0-9a-f]{64}", str(self.sha256)):
            raise ValueError(f"media sha256 must be 64 lowercase hex digits, got {self.sha256!r}")


_FALLBACK_STYLE = RedactionStyle()  # for a class with no style anywhere: generous default margin


def _default_styles() -> dict[str, RedactionStyle]:
    return dict(DEFAULT_STYLES)


@dataclass
class Project:
    media: MediaRef | None = None
    tracks: list[Track] = field(default_factory=list)
    styles: dict[str, RedactionStyle] = field(default_factory=_default_styles)
    meta: dict[str, Any] = field(default_factory=dict)
    audio_mutes: list[AudioMute] = field(default_factory=list)  # soundtrack spans to silence or bleep
    # The case or evidence ID the footage belongs to ("" for none), named in the audit report.
    case_id: str = ""

    # --- tracks -------------------------------------------------------------------------------

    def track(self, track_id: str) -> Track | None:
        """The track with id ``track_id``, or None."""
        for t in self.tracks:
            if t.id == track_id:
                return t
        return None

    def add_track(self, track: Track) -> Track:
        """Append ``track``; its id must not already be used (ValueError)."""
        if not isinstance(track, Track):
            raise ValueError(f"expected a Track, got {type(track).__name__}")
        if self.track(track.id) is not None:
            raise ValueError(f"a track with id {track.id!r} already exists")
        self.tracks.append(track)
        return track

    def remove_track(self, track_id: str) -> Track:
        """Remove and return the track with id ``track_id`` (ValueError when there is none)."""
        for i, t in enumerate(self.tracks):
            if t.id == track_id:
                return self.tracks.pop(i)
        raise ValueError(f"no track with id {track_id!r}")

    def new_track_id(self, prefix: str) -> str:
        """A fresh id ``"<prefix>-NNNN"``, numbered after the highest one in use for ``prefix``."""
        pattern = re.compile(re.escape(prefix) + r"-(\d+)")
        highest = 0
        for t in self.tracks:
            m = pattern.fullmatch(t.id)
            if m:
                highest = max(highest, int(m.group(1)))
        return f"{prefix}-{highest + 1:04d}"

    # --- styles -------------------------------------------------------------------------------

    def style_for(self, track: Track) -> RedactionStyle:
        """The track's own style, else the project's style for its class, else the built-in one."""
        if track.style is not None:
            return track.style
        style = self.styles.get(track.cls)
        if style is None:
            style = DEFAULT_STYLES.get(track.cls, _FALLBACK_STYLE)
        return style

    def override_styles(self, changes: dict, classes=None) -> None:
        """Change some style fields (``method``, ``strength``, ``margin``, ``feather``, ``color``) of
        the class styles in ``classes`` (default: every class in the project) and of the tracks of
        those classes that have a style of their own. ValueError names a bad value."""
        if not changes:
            return
        wanted = set(classes) if classes is not None else set(self.styles) | {t.cls for t in self.tracks}
        for cls in wanted:
            base = self.styles.get(cls) or DEFAULT_STYLES.get(cls, _FALLBACK_STYLE)
            self.styles[cls] = base.replace(**changes)
        for t in self.tracks:
            if t.style is not None and t.cls in wanted:
                t.style = t.style.replace(**changes)

    # --- evaluation ---------------------------------------------------------------------------

    def masks_at(self, frame: int) -> list[tuple[Track, Shape, RedactionStyle]]:
        """Every redacted track (enabled, not rejected) showing a shape at ``frame``, with its shape
        and effective style.

        This is the export hot path: one bisect per track plus at most one interpolation.
        """
        out: list[tuple[Track, Shape, RedactionStyle]] = []
        for t in self.tracks:
            if not t.redacted:
                continue
            shape = t.shape_at(frame)
            if shape is not None:
                out.append((t, shape, self.style_for(t)))
        return out

    def copy(self) -> Project:
        """A deep, independent copy (edits to either never reach the other)."""
        return copy.deepcopy(self)
