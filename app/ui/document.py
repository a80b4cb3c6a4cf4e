"""The editor's document: the project, its media, the playhead, the selection and the undo stack.

One ``Document`` per window. It is the single place where the UI changes the project, always on
the main thread, and it announces every change with a signal that the widgets listen to:

* ``projectReplaced``: a new media file or project was opened (everything must reload);
* ``tracksChanged``: tracks were added, removed or edited (lanes, list, overlays repaint);
* ``selectionChanged(list)``: the selected track ids;
* ``frameChanged(int)``: the playhead moved;
* ``dirtyChanged(bool)``: unsaved changes appeared or were saved.
"""

from __future__ import annotations

import os
from fractions import Fraction

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from app.core.project import MediaRef, Project
from app.core.timebase import timecode
from app.media.probe import VideoInfo, is_image_path, probe

PROJECT_SUFFIX = ".obscura.json"


class Document(QObject):
    projectReplaced = Signal()
    tracksChanged = Signal()
    selectionChanged = Signal(list)
    frameChanged = Signal(int)
    dirtyChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.project = Project()
        self.project_path: str | None = None
        self.info: VideoInfo | None = None
        self.undo = QUndoStack(self)
        self.undo.cleanChanged.connect(lambda clean: self.dirtyChanged.emit(not clean or self._dirty))
        self._frame = 0
        self._selection: list[str] = []
        self._dirty = False

    # -- media and project ------------------------------------------------------------------------
    @property
    def media_path(self) -> str | None:
        return self.project.media.path if self.project.media else None

    @property
    def frame_count(self) -> int:
        return self.info.frame_count if self.info else (self.project.media.frame_count if self.project.media else 0)

    @property
    def fps(self) -> Fraction:
        if self.info:
            return self.info.fps
        return self.project.media.fps if self.project.media else Fraction(25)

    @property
    def has_media(self) -> bool:
        return self.info is not None

    def open_media(self, path: str) -> None:
        """Start a new project on a video (raises ObscuraError with a clear message on bad input)."""
        if is_image_path(path):
            from app.errors import UnsupportedMedia

            raise UnsupportedMedia("the editor opens videos; redact photos with 'obscura process PHOTO -o OUT'")
        info = probe(path)
        project = Project(media=MediaRef(os.path.abspath(path), info.width, info.height, info.fps, info.frame_count))
        self._replace(project, info, None)

    def open_project(self, path: str) -> None:
        from app.errors import ProjectError
        from app.project_io import load_project

        project = load_project(path)
        if project.media is None:
            raise ProjectError(f"project file {path}: media: the project names no video")
        info = probe(project.media.path)
        self._replace(project, info, os.path.abspath(path))

    def open_path(self, path: str) -> None:
        if path.endswith(PROJECT_SUFFIX) or path.endswith(".json"):
            self.open_project(path)
        else:
            self.open_media(path)

    def save(self, path: str | None = None) -> str:
        from app.project_io import save_project

        path = path or self.project_path or default_project_path(self.media_path or "untitled.mp4")
        save_project(self.project, path)
        self.project_path = os.path.abspath(path)
        self._dirty = False
        self.undo.setClean()
        self.dirtyChanged.emit(False)
        return self.project_path

    def _replace(self, project: Project, info: VideoInfo, project_path: str | None) -> None:
        self.project = project
        self.info = info
        self.project_path = project_path
        self.undo.clear()
        self._selection = []
        self._frame = 0
        self._dirty = False
        self.projectReplaced.emit()
        self.selectionChanged.emit([])
        self.frameChanged.emit(0)
        self.dirtyChanged.emit(False)

    # -- changes from the UI ----------------------------------------------------------------------
    def mark_changed(self) -> None:
        """Call after changing the project outside an undo command (e.g. an analysis result)."""
        self._dirty = True
        self.tracksChanged.emit()
        self.dirtyChanged.emit(True)

    @property
    def dirty(self) -> bool:
        return self._dirty or not self.undo.isClean()

    # -- playhead ---------------------------------------------------------------------------------
    @property
    def frame(self) -> int:
        return self._frame

    def set_frame(self, frame: int) -> None:
        n = self.frame_count
        frame = max(0, min(int(frame), max(0, n - 1)))
        if frame != self._frame:
            self._frame = frame
            self.frameChanged.emit(frame)

    def timecode(self, frame: int | None = None) -> str:
        return timecode(self._frame if frame is None else frame, self.fps)

    # -- selection --------------------------------------------------------------------------------
    @property
    def selection(self) -> list[str]:
        return list(self._selection)

    def set_selection(self, track_ids: list[str]) -> None:
        ids = [t for t in dict.fromkeys(track_ids) if self.project.track(t) is not None]
        if ids != self._selection:
            self._selection = ids
            self.selectionChanged.emit(list(ids))


def default_project_path(media_path: str) -> str:
    base, _ext = os.path.splitext(media_path)
    return base + PROJECT_SUFFIX
