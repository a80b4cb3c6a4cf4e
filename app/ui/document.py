"""The editor's document: the project, its media, the playhead, the selection and the undo stack.

One ``Document`` per window. It is the single place where the UI changes the project, always on
the main thread, and it announces every change with a signal that the widgets listen to:

* ``projectReplaced``: a new media file or project was opened (everything must reload);
* ``tracksChanged``: tracks were added, removed or edited (lanes, list, overlays repaint);
* ``selectionChanged(list)``: the selected track ids;
* ``frameChanged(int)``: the playhead moved;
* ``dirtyChanged(bool)``: unsaved changes appeared or were saved;
* ``hiddenChanged``: the set of tracks hidden from view changed (a view filter, not an edit);
* ``message(str)``: a one-line note for the status bar (e.g. why an edit could not be made);
* ``inOutChanged``: the in/out points moved (see "in/out points" below);
* ``foldChanged``: a group of tracks was folded or unfolded (a view state the track list and the
  timeline share; groups are folded when a project opens).

Edits go through :meth:`Document.edit` / :meth:`Document.edit_tracks`: each is one undo command
(:mod:`app.ui.commands`) holding the track list before and after, so undo is exact.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from fractions import Fraction

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from app.core.edits import EditError, clone
from app.core.project import MediaRef, Project
from app.core.timebase import timecode
from app.core.track import Track
from app.errors import InputNotFound
from app.media.probe import VideoInfo, is_image_path

PROJECT_SUFFIX = ".obscura.json"


class MediaMissing(InputNotFound):
    """A project's video is not where the project says (moved or renamed); the editor offers to
    locate it."""

    def __init__(self, project_path: str, media_path: str) -> None:
        super().__init__(f"project file {project_path}: media.path: the video {media_path} does not exist "
                         "(moved or renamed?)")
        self.project_path, self.media_path = project_path, media_path


class Document(QObject):
    projectReplaced = Signal()
    tracksChanged = Signal()
    selectionChanged = Signal(list)
    frameChanged = Signal(int)
    dirtyChanged = Signal(bool)
    hiddenChanged = Signal()
    message = Signal(str)
    inOutChanged = Signal()
    foldChanged = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.project = Project()
        self.project_path: str | None = None
        self.info: VideoInfo | None = None
        self.undo = QUndoStack(self)
        self.undo.cleanChanged.connect(self._on_clean_changed)
        self._frame = 0
        self._selection: list[str] = []
        self._dirty = False
        self.operator = _default_operator()  # who edits (audit: a track's changed_by)
        self.hidden: set[str] = set()  # track ids hidden from view (still redacted)
        self.min_score = 0.0  # auto tracks whose max score is below this are hidden
        self.unfolded: set[str] = set()  # groups shown open (the others are folded into one row)

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

    @property
    def orientation(self):
        """How the video is shown (:class:`app.media.frames.Orientation`): tracks are kept in its
        coded pixels, the viewport and the timeline show it upright."""
        from app.media.frames import Orientation

        return Orientation.of(self.info)

    def open_media(self, path: str) -> None:
        """Start a new project on a video (raises ObscuraError with a clear message on bad input)."""
        if is_image_path(path):
            from app.errors import UnsupportedMedia
            from app.media.images import sniff_photo

            sniff_photo(path)  # a video named .jpg is told so
            raise UnsupportedMedia(f"{path} is a photo: the editor opens videos; redact photos with "
                                   "'obscura process PHOTO -o OUT'")
        from app.cache import cached_probe

        info = cached_probe(path)  # the frame table from this session's cache when the file is unchanged
        project = Project(media=MediaRef(os.path.abspath(path), info.width, info.height, info.fps, info.frame_count))
        self._replace(project, info, None)

    def open_project(self, path: str, media_path: str | None = None) -> None:
        """Open the project file ``path``. Its video missing raises :class:`MediaMissing`; then
        ``media_path`` says where the video is now: it must be the same video (frame size and
        count), and the project opens with the new place as an unsaved change."""
        from app.errors import ProjectError
        from app.project_io import load_project

        project = load_project(path)
        if project.media is None:
            raise ProjectError(f"project file {path}: media: the project names no video")
        if media_path is None and not os.path.exists(project.media.path):
            raise MediaMissing(path, project.media.path)
        from app.cache import cached_probe

        media = project.media
        info = cached_probe(media_path or media.path, path)  # the project's cache: no rescan of an unchanged video
        if media_path is not None:
            from app.media.probe import not_same_video

            why = not_same_video(info, media.width, media.height, media.frame_count)
            if why:
                raise ProjectError(f"{media_path} is not this project's video: {why}")
            media.path = os.path.abspath(media_path)
        self._replace(project, info, os.path.abspath(path))
        if media_path is not None:
            self.mark_changed()  # the video's new place is saved with the project

    def open_path(self, path: str) -> None:
        if path.endswith(PROJECT_SUFFIX) or path.endswith(".json"):
            self.open_project(path)
        else:
            self.open_media(path)

    def save(self, path: str | None = None) -> str:
        from app.project_io import save_project

        path = path or self.project_path or default_project_path(self.media_path or "untitled.mp4")
        save_project(self.project, path)
        if self.info is not None and self.media_path:
            from app import cache

            if self.project_path is None:
                cache.adopt(self.media_path, path, self.info)  # the untitled session's cache is now the project's
            elif os.path.abspath(path) != self.project_path:
                cache.remember_probe(self.info, self.media_path, path)
        self.project_path = os.path.abspath(path)
        self._dirty = False
        self.undo.setClean()
        self.dirtyChanged.emit(False)
        return self.project_path

    def _replace(self, project: Project, info: VideoInfo, project_path: str | None) -> None:
        if self.project_path is None and self.media_path and (project_path or self.media_path != info.path):
            from app import cache

            cache.release(None, self.media_path)  # an untitled project left unsaved: its cache goes
        self.project = project
        self.info = info
        self.project_path = project_path
        self.undo.clear()
        self.hidden = set()
        self.min_score = 0.0
        self.unfolded = set()
        self._selection = []
        self._frame = 0
        self._dirty = False
        self._in_point = self._out_point = None
        self.projectReplaced.emit()
        self.selectionChanged.emit([])
        self.frameChanged.emit(0)
        self.dirtyChanged.emit(False)

    # -- changes from the UI ----------------------------------------------------------------------
    def mark_changed(self) -> None:
        """Call after changing the project outside an undo command (e.g. an analysis result)."""
        if self.min_score > 0:
            self.set_min_score(self.min_score)
        self._dirty = True
        self.tracksChanged.emit()
        self.dirtyChanged.emit(True)

    def edit(self, text: str, tracks: list[Track], merge_key: Hashable | None = None,
             selection: list[str] | None = None, stamp: bool = True, styles: dict | None = None,
             audio_mutes: list | None = None) -> None:
        """Make ``tracks`` (and ``styles``) the project's, as one undo command named ``text``.

        Tracks that are new objects (edited, added) get ``changed_by = operator`` (``stamp``)."""
        from app.ui.commands import EditCommand, ProjectState

        before = ProjectState.of(self.project)
        if stamp:
            old = {id(t) for t in before.tracks}
            tracks = [t if id(t) in old or t.changed_by == self.operator else clone(t, changed_by=self.operator)
                      for t in tracks]
        after = ProjectState(tracks, self.project.styles if styles is None else styles,
                             self.project.audio_mutes if audio_mutes is None else audio_mutes)
        self.undo.push(EditCommand(self, text, before, after, merge_key, selection))

    def edit_tracks(self, text: str, ids: list[str], fn: Callable[[Track], Track | tuple | None],
                    merge_key: Hashable | None = None, select_new: bool = False) -> bool:
        """Apply ``fn`` to each track in ``ids`` as one undo command. ``fn`` returns the new track,
        a tuple of tracks (a split), or None (delete). An :class:`EditError` becomes a status
        message and nothing changes. True when something changed."""
        ids = [i for i in ids if self.project.track(i) is not None]
        if not ids:
            self.message.emit("select a track first")
            return False
        out: list[Track] = []
        new_ids: list[str] = []
        changed = False
        try:
            for t in self.project.tracks:
                if t.id not in ids:
                    out.append(t)
                    continue
                r = fn(t)
                if r is None:
                    changed = True
                    continue
                parts = list(r) if isinstance(r, tuple) else [r]
                changed = changed or len(parts) != 1 or parts[0] is not t
                out.extend(parts)
                new_ids.extend(p.id for p in parts)
        except EditError as e:
            self.message.emit(str(e))
            return False
        if changed:
            selection = new_ids if select_new else [i for i in self._selection if i in {t.id for t in out}]
            self.edit(text, out, merge_key, selection)
        return changed

    @contextmanager
    def macro(self, text: str) -> Iterator[None]:
        """Group the edits made inside into one undo step."""
        self.undo.beginMacro(text)
        try:
            yield
        finally:
            self.undo.endMacro()

    def _edited(self, selection: list[str] | None) -> None:
        """Called by the undo commands after they changed the project."""
        if self.min_score > 0:
            self.set_min_score(self.min_score)  # new or edited tracks obey the score filter too
        self.tracksChanged.emit()
        if selection is not None:
            self.set_selection(selection)
        else:
            self.set_selection(self._selection)  # drops ids that no longer exist

    # -- view filter -----------------------------------------------------------------------------
    def set_min_score(self, value: float) -> None:
        """Hide (from the list, timeline and overlays) auto tracks whose max score is below
        ``value``. Hidden tracks are still redacted; reject them to stop that."""
        self.min_score = float(value)
        hidden = set()
        if value > 0:
            for t in self.project.tracks:
                best = t.stats.get("max_score", t.max_score)
                if t.cls != "manual" and best is not None and best < value:
                    hidden.add(t.id)
        if hidden != self.hidden:
            self.hidden = hidden
            self.hiddenChanged.emit()
            if any(i in hidden for i in self._selection):
                self.set_selection([i for i in self._selection if i not in hidden])

    def is_hidden(self, track_id: str) -> bool:
        return track_id in self.hidden

    # -- folded groups (a view state) ------------------------------------------------------------
    def is_folded(self, group: str) -> bool:
        return group not in self.unfolded

    def set_folded(self, group: str, folded: bool) -> None:
        if folded == self.is_folded(group):
            return
        if folded:
            self.unfolded.discard(group)
        else:
            self.unfolded.add(group)
        self.foldChanged.emit()

    def _on_clean_changed(self, clean: bool) -> None:
        self.dirtyChanged.emit(not clean or self._dirty)

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

    # -- in/out points (issue 7: the export range, the span of a new audio mute) -------------------
    # Marks on the media for this session: not part of the project, not saved, not undoable.
    _in_point: int | None = None
    _out_point: int | None = None

    @property
    def in_point(self) -> int | None:
        return self._in_point

    @property
    def out_point(self) -> int | None:
        return self._out_point

    def set_in_point(self, frame: int | None) -> None:
        """Mark the first frame of the range (None clears it); an out point before it is cleared."""
        self._set_marks(frame, self._out_point if frame is None or self._out_point is None
                        or self._out_point >= frame else None)

    def set_out_point(self, frame: int | None) -> None:
        """Mark the last frame of the range (None clears it); an in point after it is cleared."""
        self._set_marks(self._in_point if frame is None or self._in_point is None
                        or self._in_point <= frame else None, frame)

    def clear_in_out(self) -> None:
        self._set_marks(None, None)

    def in_out_range(self) -> tuple[int, int] | None:
        """(first, last) frames between the marks, inclusive (a missing mark: the clip's start or
        end); None when neither is set."""
        if self._in_point is None and self._out_point is None:
            return None
        last = max(0, self.frame_count - 1)
        first = 0 if self._in_point is None else min(self._in_point, last)
        return first, max(first, min(last, last if self._out_point is None else self._out_point))

    def _set_marks(self, first: int | None, last: int | None) -> None:
        n = self.frame_count
        first = None if first is None else max(0, min(int(first), max(0, n - 1)))
        last = None if last is None else max(0, min(int(last), max(0, n - 1)))
        if (first, last) != (self._in_point, self._out_point):
            self._in_point, self._out_point = first, last
            self.inOutChanged.emit()

    # -- selection --------------------------------------------------------------------------------
    @property
    def selection(self) -> list[str]:
        return list(self._selection)

    def set_selection(self, track_ids: list[str]) -> None:
        ids = [t for t in dict.fromkeys(track_ids) if self.project.track(t) is not None]
        if ids != self._selection:
            self._selection = ids
            self.selectionChanged.emit(list(ids))


def _default_operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


def default_project_path(media_path: str) -> str:
    base, _ext = os.path.splitext(media_path)
    return base + PROJECT_SUFFIX
