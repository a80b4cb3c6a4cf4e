"""Undo commands: every edit the operator makes is one of these, on the document's QUndoStack.

Tracks are edited by the pure functions of :mod:`app.core.edits`, which return new ``Track``
objects and never change the old ones. A command therefore only keeps the project's track list
(and the class styles) from before and after the edit, as references, and swaps them: undo puts
back exactly the earlier state (the serialised project is byte-identical), for any edit.

A drag sends many small edits; commands with the same ``merge_key`` merge into one (Qt calls
``id()`` and ``mergeWith()``), so one drag is one undo step. A multi-track action is wrapped in
one macro by :meth:`Document.macro`.
"""

from __future__ import annotations

import zlib
from collections.abc import Hashable

from PySide6.QtGui import QUndoCommand

from app.core.project import Project
from app.core.style import RedactionStyle
from app.core.track import Track


class ProjectState:
    """The editable part of a project at one moment: its tracks (in order), class styles and
    audio mutes."""

    __slots__ = ("audio_mutes", "styles", "tracks")

    def __init__(self, tracks: list[Track], styles: dict[str, RedactionStyle], audio_mutes=()):
        self.tracks = tuple(tracks)
        self.styles = dict(styles)
        self.audio_mutes = tuple(audio_mutes)

    @classmethod
    def of(cls, project: Project) -> ProjectState:
        return cls(project.tracks, project.styles, project.audio_mutes)

    def apply_to(self, project: Project) -> None:
        project.tracks = list(self.tracks)
        project.styles = dict(self.styles)
        project.audio_mutes = list(self.audio_mutes)


class EditCommand(QUndoCommand):
    """Swap the project between two states. ``merge_key``: consecutive commands with equal keys
    (e.g. ("drag", track id, frame)) become one."""

    def __init__(self, doc, text: str, before: ProjectState, after: ProjectState,
                 merge_key: Hashable | None = None, selection: list[str] | None = None):
        super().__init__(text)
        self.doc, self.before, self.after = doc, before, after
        self.merge_key = merge_key
        self.selection_before = doc.selection
        self.selection_after = selection

    def id(self) -> int:  # noqa: A003 (Qt's name)
        if self.merge_key is None:
            return -1
        return zlib.crc32(repr(self.merge_key).encode()) & 0x7FFFFFFF

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 (Qt's name)
        if not isinstance(other, EditCommand) or other.merge_key != self.merge_key or self.merge_key is None:
            return False
        self.after = other.after
        if other.selection_after is not None:
            self.selection_after = other.selection_after
        return True

    def redo(self) -> None:
        self.after.apply_to(self.doc.project)
        self.doc._edited(self.selection_after)

    def undo(self) -> None:
        self.before.apply_to(self.doc.project)
        self.doc._edited(self.selection_before)
