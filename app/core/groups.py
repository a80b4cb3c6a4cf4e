"""Groups of tracks: the several tracks of one person or one vehicle under one name.

A track's ``group`` is a name ("Person 1", "Vehicle 2"; "" for none). Grouping does not merge
tracks: each keeps its keyframes, review state and exemption, and the export is the same. The
editor shows a group as one folding row, and an action on the group (approve, exempt, style)
applies to every member as one undo step. Pure functions, like :mod:`app.core.edits`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from app.core.track import Track

GROUP_KINDS = ("person", "vehicle")
_NUMBERED = re.compile(r"^(.*?)\s+(\d+)$")


def group_kind(name: str) -> str:
    """"person", "vehicle" or "" (a name the operator typed) from a group's name."""
    first = name.split(" ", 1)[0].lower() if name else ""
    return first if first in GROUP_KINDS else ""


def default_kind(tracks: Iterable[Track]) -> str:
    """The kind a new group of ``tracks`` gets: a vehicle when they are all plates, else a person."""
    classes = {t.cls for t in tracks}
    return "vehicle" if classes and classes <= {"plate"} else "person"


def group_names(tracks: Iterable[Track]) -> list[str]:
    """The groups in use, in order of their first track."""
    return list(dict.fromkeys(t.group for t in tracks if t.group))


def new_group_name(tracks: Iterable[Track], kind: str) -> str:
    """"Person N" / "Vehicle N" with N one more than the highest such number in use."""
    word = kind.capitalize() if kind else "Group"
    used = 0
    for name in group_names(tracks):
        m = _NUMBERED.match(name)
        if m and m.group(1).lower() == word.lower():
            used = max(used, int(m.group(2)))
    return f"{word} {used + 1}"


def members(tracks: Iterable[Track], name: str) -> list[Track]:
    """The tracks of group ``name``, in project order."""
    return [t for t in tracks if name and t.group == name]


def expand(tracks: Sequence[Track], ids: Iterable[str]) -> list[str]:
    """``ids`` plus every other member of the groups they belong to (project order)."""
    wanted = set(ids)
    groups = {t.group for t in tracks if t.id in wanted and t.group}
    return [t.id for t in tracks if t.id in wanted or (t.group and t.group in groups)]
