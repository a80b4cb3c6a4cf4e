"""Saving and loading project files (JSON; never pickle).

Saving is atomic: the JSON goes to a temporary file in the destination folder, is flushed and
fsync'ed, and then renamed over the destination with :func:`os.replace`. A crash, a full disk or
any other error leaves either the old file or the new one, never a torn mix. An error removes the
temporary file at once; a ``kill -9`` or a power cut mid-save can leave it behind
(``.NAME.PID-HOST.XXXXXXXX.tmp``), and the next save into that folder removes it once its writer is
provably gone (:func:`app.base.atomic.clean_stale_temps`).
"""

from __future__ import annotations

import errno
import json
import os
from typing import Any

from app.base.atomic import clean_stale_temps, fsync_dir, make_temp
from app.core.project import Project
from app.errors import OutputError, ProjectError
from app.project_io.schema import project_from_dict, project_to_dict, read_project_bytes

_ERRNO_TEXT = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "the file system is read-only",
    errno.ENOENT: "the folder does not exist",
    errno.ENOTDIR: "the folder does not exist",
    errno.EISDIR: "a folder with that name exists",
    errno.ENAMETOOLONG: "the file name is too long",
    errno.EIO: "input/output error (failing disk or lost network share?)",
}


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        text = _ERRNO_TEXT.get(exc.errno or -1) or exc.strerror or str(exc)
        return text[:1].lower() + text[1:]
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text


def save_project(p: Project, path: str | os.PathLike[str]) -> None:
    """Write ``p`` to ``path`` atomically; raises :class:`OutputError` when it cannot.

    The media path is stored relative to the project's folder when the media lies inside it. The
    written data is validated with the loader first, so a file that could not be opened again is
    never written.
    """
    path = os.path.abspath(os.fspath(path))
    folder, name = os.path.split(path)
    if os.path.isdir(path):
        raise OutputError(f"cannot save project to {path}: a folder with that name exists")
    if not os.path.isdir(folder):
        raise OutputError(f"cannot save project to {path}: the folder {folder} does not exist")

    data = project_to_dict(p, base_dir=folder)
    try:
        project_from_dict(data, base_dir=folder, source="project")
    except ProjectError as e:
        raise OutputError(f"cannot save project to {path}: {e}") from e

    clean_stale_temps(folder)  # what killed saves (or exports) left here
    try:
        fd, tmp = make_temp(folder, name, ".tmp")  # locked while it is written
    except OSError as e:
        raise OutputError(f"cannot save project to {path}: {_reason(e)}") from e
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            json.dump(data, f, indent=2, ensure_ascii=False, allow_nan=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
            if os.path.exists(path):
                _copy_mode(path, tmp)
            if os.name != "nt":  # the lock is held (f open) until the new file is in place
                os.replace(tmp, path)
        if os.name == "nt":  # pragma: no cover - an open file cannot be renamed there
            os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, Exception):
            raise OutputError(f"cannot save project to {path}: {_reason(e)}") from e
        raise  # KeyboardInterrupt / SystemExit: cleaned up, propagate unchanged
    fsync_dir(folder)


def _copy_mode(src: str, dst: str) -> None:
    """Keep an existing project's permissions (mkstemp creates files readable by the owner only)."""
    try:
        os.chmod(dst, os.stat(src).st_mode & 0o7777)
    except OSError:
        pass


def load_project(path: str | os.PathLike[str]) -> Project:
    """Read and validate a project file; raises :class:`ProjectError` naming the problem.

    A relative media path in the file is resolved against the project file's folder.
    """
    path = os.path.abspath(os.fspath(path))
    if not os.path.exists(path):
        raise ProjectError(f"project file not found: {path}")
    if os.path.isdir(path):
        raise ProjectError(f"project file is a folder, not a file: {path}")
    try:
        raw = read_project_bytes(path)  # refuses devices, pipes, huge files and millions of keyframes
    except OSError as e:
        raise ProjectError(f"cannot read project file {path}: {_reason(e)}") from e
    data = _parse_json(raw, path)
    return project_from_dict(data, base_dir=os.path.dirname(path), source=f"project file {path}")


def _parse_json(raw: bytes, path: str) -> Any:
    if not raw.strip():
        raise ProjectError(f"project file {path} is empty")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):  # an editor saved it as UTF-16
            raise ProjectError(f"project file {path} is UTF-16 text; Obscura reads UTF-8: save it as UTF-8") from e
        raise ProjectError(f"project file {path} is not UTF-8 text (bad byte at offset {e.start})") from e
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ProjectError(
            f"project file {path} is not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}"
        ) from e
    except (ValueError, RecursionError) as e:  # e.g. absurdly long integers or nesting
        raise ProjectError(f"project file {path} is not valid JSON: {_reason(e)}") from e
