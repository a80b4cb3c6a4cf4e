"""Pure-Python domain model: time base, shapes, styles, tracks and the project (no Qt)."""

from app.core.project import REVIEW_STATES, Keyframe, KeyframeSource, MediaRef, Project, Track
from app.core.shapes import Shape, ShapeKind, lerp_shape
from app.core.style import DEFAULT_STYLES, RedactionMethod, RedactionStyle
from app.core.timebase import frame_time, seconds_to_frame, timecode

__all__ = [
    "DEFAULT_STYLES",
    "REVIEW_STATES",
    "Keyframe",
    "KeyframeSource",
    "MediaRef",
    "Project",
    "RedactionMethod",
    "RedactionStyle",
    "Shape",
    "ShapeKind",
    "Track",
    "frame_time",
    "lerp_shape",
    "seconds_to_frame",
    "timecode",
]
