"""Exact frame/time arithmetic.

Time is always a :class:`fractions.Fraction` of seconds and frame rates are Fractions such as
``Fraction(30000, 1001)``. Floats are never used, so frame N maps to the same instant on every run
and ``seconds_to_frame(frame_time(n, fps), fps) == n`` holds exactly.
"""

from __future__ import annotations

import math
from fractions import Fraction


def _check_fps(fps: Fraction) -> Fraction:
    fps = Fraction(fps)
    if fps <= 0:
        raise ValueError(f"frame rate must be positive, got {fps}")
    return fps


def frame_time(index: int, fps: Fraction) -> Fraction:
    """Start time in seconds of frame ``index`` (0-based)."""
    return Fraction(int(index)) / _check_fps(fps)


def seconds_to_frame(t: Fraction, fps: Fraction) -> int:
    """Index of the frame showing at time ``t`` seconds (floor; exact for Fractions).

    ``t`` may be an int, a Fraction or a decimal string; a float is converted exactly.
    """
    return math.floor(Fraction(t) * _check_fps(fps))


def timecode(index: int, fps: Fraction) -> str:
    """Non-drop-frame timecode ``HH:MM:SS:FF`` for frame ``index``.

    Frames are counted in groups of ``round(fps)`` per timecode second (as SMPTE non-drop
    timecode does, so at 29.97 fps the timecode drifts slowly from wall-clock time).
    """
    fps = _check_fps(fps)
    if index < 0:
        raise ValueError(f"frame index must be >= 0, got {index}")
    nominal = max(1, round(fps))
    total_seconds, ff = divmod(int(index), nominal)
    hours, rest = divmod(total_seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}:{ff:02d}"
