"""The facts of one input, gathered once per run and handed along.

A video's probe scans every packet (the frame table: exact timestamps, keyframes, damage); a run
does that once, in :func:`open_media`, and every step after it (analysis, export, the audit report)
takes the :class:`MediaFacts` instead of probing again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction

from app.core.project import MediaRef
from app.media.probe import VideoInfo, is_image_path


@dataclass(frozen=True)
class MediaFacts:
    path: str
    kind: str  # "video" or "image"
    width: int
    height: int
    frame_count: int
    fps: Fraction
    info: VideoInfo | None = None  # the probe of a video (None for a photo)

    @property
    def is_image(self) -> bool:
        return self.kind == "image"

    def ref(self) -> MediaRef:
        """The project's reference to this input."""
        return MediaRef(os.path.abspath(self.path), self.width, self.height, self.fps, self.frame_count)


def open_media(path: str) -> MediaFacts:
    """Check and probe ``path`` (a video: one packet scan; a photo: its header). Raises a one-line
    :class:`~app.errors.ObscuraError` for a missing, damaged or unsupported file."""
    if is_image_path(path):
        from app.media.images import read_image

        shown = read_image(path).shape  # decoded once (EXIF orientation applied): the size as shown
        return MediaFacts(path, "image", int(shown[1]), int(shown[0]), 1, Fraction(1))
    from app.media.probe import probe

    return of_video(probe(path))


def of_video(info: VideoInfo) -> MediaFacts:
    """The facts of a video already probed (the editor probes when it opens a file)."""
    return MediaFacts(info.path, "video", info.width, info.height, info.frame_count, info.fps, info)
