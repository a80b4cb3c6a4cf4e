"""Audio mutes: spans of the soundtrack to silence (or bleep) in the export, e.g. a spoken name.

A mute is its own kind of track on the timeline ("audio mute" lane). Frames are video frame
indices, inclusive; the export turns them into sample ranges with the time base.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.reasons import check_text

MUTE_MODES = ("silence", "tone")  # tone: a 1 kHz sine at -20 dBFS (a "bleep")


@dataclass(frozen=True)
class AudioMute:
    id: str
    start: int  # first muted video frame
    end: int  # last muted video frame (inclusive)
    mode: str = "silence"
    label: str = ""
    reason: str = ""  # why it is muted ("personal data spoken", ...), for the audit report's log

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValueError(f"audio mute id must be a non-empty string, got {self.id!r}")
        for name in ("start", "end"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"audio mute {name} must be an integer >= 0, got {v!r}")
        if self.end < self.start:
            raise ValueError(f"audio mute end ({self.end}) is before its start ({self.start})")
        if self.mode not in MUTE_MODES:
            raise ValueError(f"audio mute mode must be one of {', '.join(MUTE_MODES)}, got {self.mode!r}")
        if not isinstance(self.label, str):
            raise ValueError(f"audio mute label must be a string, got {self.label!r}")
        check_text("audio mute reason", self.reason)
