"""Why a track is redacted or kept visible, and why a stretch of sound is muted: a short text
picked from a list the operator can edit (the editor keeps it in the settings), rolled up into the
audit report's redaction and exemption log.

The list offered at first start follows what redaction suites for evidence footage ask for
(CaseGuard, Axon): a reason is a category, never the person's name.
"""

from __future__ import annotations

DEFAULT_REASONS: tuple[str, ...] = (
    "bystander",
    "minor",
    "victim",
    "witness",
    "vehicle",
    "officer",
    "personal data spoken",
    "not relevant to the case",
)
MAX_REASON = 120  # characters in a reason, a case ID or an operator's name
MAX_CASE_ID = 120


def check_text(what: str, text: object, limit: int = MAX_REASON) -> str:
    """``text`` if it is a short one-line string without leading or trailing spaces, else
    ValueError naming ``what``."""
    if not isinstance(text, str):
        raise ValueError(f"{what} must be a string, got {text!r}")
    if len(text) > limit or text != text.strip() or any(not c.isprintable() for c in text):
        raise ValueError(f"{what} must be at most {limit} printable characters on one line without "
                         f"leading or trailing spaces, got {text!r}")
    return text


def clean_reasons(items) -> list[str]:
    """A reasons list as the operator typed it: trimmed, one line each, no empties or repeats."""
    out: list[str] = []
    for item in items or ():
        text = " ".join(str(item).split())[:MAX_REASON].strip()
        if text and text not in out:
            out.append(text)
    return out
