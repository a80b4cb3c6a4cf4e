"""Autosave and crash recovery.

Every 30 s (and after each analysis step) a dirty project is written atomically to an autosave
file in the user data folder — never beside the footage, whose folder may be read-only evidence
storage. A small JSON record beside it says which project and video it belongs to. A clean close
deletes both; after a crash or ``kill -9`` they remain, and the next start offers to recover.

Files, in ``<data>/autosave/``, for a session (one running editor) ``S`` and a document key ``K``:

- ``K.S.obscura.record``: the record, written (atomically) *before* the first autosave, so that an
  autosave never exists without the record that names it;
- ``K.S.obscura.json``: the autosave itself (:func:`app.project_io.save_project`: atomic, so it is
  always the previous or the next complete autosave, never torn);
- ``.session.S.lock``: held locked (``flock``) by the live session for as long as it runs. The
  kernel drops the lock when the process dies, ``kill -9`` included, so :func:`pending` tells a
  dead session from a live one without trusting process ids (which the system recycles).
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from app.assets import data_dir
from app.base.atomic import HOST_TAG, clean_stale_temps, fsync_dir, lock_fd, make_temp, pid_alive
from app.core.project import Project
from app.project_io import load_project, save_project

try:
    import fcntl
except ImportError:  # Windows: liveness falls back to the process id
    fcntl = None  # type: ignore[assignment]

PROJECT_SUFFIX = ".obscura.json"
RECORD_SUFFIX = ".obscura.record"
_LOCK_PREFIX = ".session."
_LOCK_SUFFIX = ".lock"

SESSION = secrets.token_hex(6)  # this process's session id
_held: dict[str, int] = {}  # autosave folder -> open, locked file descriptor of our session lock


def autosave_dir() -> Path:
    return data_dir() / "autosave"


@dataclass
class Recoverable:
    project_file: Path
    record: dict

    @property
    def media_path(self) -> str:
        return self.record.get("media", "")

    @property
    def saved_at(self) -> str:
        try:
            when = self.project_file.stat().st_mtime
        except OSError:
            when = self.record.get("time", 0)
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when))

    def load(self) -> Project:
        return load_project(str(self.project_file))

    def discard(self) -> None:
        """Delete the autosave, then its record (a kill in between leaves a record alone, which
        :func:`pending` removes), then the dead session's lock file once nothing else names it."""
        for p in (self.project_file, _record_path(self.project_file)):
            with contextlib.suppress(OSError):
                p.unlink()
        token = self.record.get("session") or _session_of(self.project_file.name)
        if token and token != SESSION:
            _remove_dead_lock(self.project_file.parent, token)


def key_for(media_path: str | None, project_path: str | None) -> str:
    ident = project_path or media_path or "untitled"
    return hashlib.sha256(os.path.abspath(ident).encode()).hexdigest()[:16]


def _record_path(project_file: Path) -> Path:
    return project_file.with_name(project_file.name[: -len(PROJECT_SUFFIX)] + RECORD_SUFFIX)


def _session_of(name: str) -> str:
    """The session id in ``K.S.obscura.json`` / ``K.S.obscura.record`` ("" for older ``K.obscura.*``)."""
    parts = name.split(".")
    return parts[1] if len(parts) == 4 and parts[2] == "obscura" else ""


def _lock_path(folder: Path, token: str) -> Path:
    return folder / f"{_LOCK_PREFIX}{token}{_LOCK_SUFFIX}"


def _hold_session_lock(folder: Path) -> None:
    """Create and lock this session's lock file in ``folder`` (once; kept until the process ends)."""
    key = str(folder)
    path = _lock_path(folder, SESSION)
    if key in _held:
        if path.exists():
            return
        os.close(_held.pop(key))  # someone removed the folder's contents: lock a new file
    for attempt in range(10):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        lock_fd(fd)
        try:  # another process's pending() may have removed the new, not yet locked file as a dead one's
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except OSError:
            same = False
        if same or attempt == 9:
            break
        os.close(fd)
    os.write(fd, json.dumps({"pid": os.getpid(), "host": HOST_TAG}).encode())
    _held[key] = fd


def _release_session() -> None:
    """At a clean exit: drop our lock files where no autosave of ours is left."""
    for key, fd in list(_held.items()):
        folder = Path(key)
        mine = list(folder.glob(f"*.{SESSION}{PROJECT_SUFFIX}")) + list(folder.glob(f"*.{SESSION}{RECORD_SUFFIX}"))
        if not mine:
            with contextlib.suppress(OSError):
                _lock_path(folder, SESSION).unlink()
        with contextlib.suppress(OSError):
            os.close(fd)
        del _held[key]


atexit.register(_release_session)


def _session_alive(folder: Path, token: str, record: dict) -> bool:
    """Whether the session that wrote an autosave still runs: its lock is held. Without a lock file
    (older autosaves, or Windows), the record's process id on this host decides."""
    if token == SESSION:
        return True
    lock = _lock_path(folder, token) if token else None
    if fcntl is not None and lock is not None:
        try:
            fd = os.open(lock, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            pass
        except OSError:
            return True  # cannot tell: keep it for now, offer it later
        else:
            try:
                return not lock_fd(fd)
            finally:
                os.close(fd)
    if record.get("host", HOST_TAG) != HOST_TAG:
        return True  # another machine's session (a shared data folder): never take its work
    try:
        return pid_alive(int(record.get("pid", 0)))
    except (TypeError, ValueError):
        return False


def _remove_dead_lock(folder: Path, token: str) -> None:
    if any(folder.glob(f"*.{token}{PROJECT_SUFFIX}")) or any(folder.glob(f"*.{token}{RECORD_SUFFIX}")):
        return
    if not _session_alive(folder, token, {"pid": -1}):
        with contextlib.suppress(OSError):
            _lock_path(folder, token).unlink()


def _write_record(path: Path, record: dict) -> None:
    """Write the record atomically (temp file, fsync, rename), as project files are written."""
    fd, tmp = make_temp(str(path.parent), path.name, ".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(record, f)
            f.flush()
            os.fsync(f.fileno())
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(str(path.parent))


def _read_record(path: Path | None) -> dict:
    if path is None:
        return {}
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def write(project: Project, media_path: str | None, project_path: str | None) -> Path:
    """Autosave ``project`` for this session; returns the autosave's path."""
    folder = autosave_dir()
    folder.mkdir(parents=True, exist_ok=True)
    _hold_session_lock(folder)  # before any file that names this session exists
    path = folder / f"{key_for(media_path, project_path)}.{SESSION}{PROJECT_SUFFIX}"
    record_path = _record_path(path)
    record = {"media": media_path or "", "project": project_path or "", "time": time.time(),
              "pid": os.getpid(), "host": HOST_TAG, "session": SESSION}
    old = _read_record(record_path)
    if {k: old.get(k) for k in ("media", "project", "session")} != {k: record[k] for k in ("media", "project", "session")}:
        _write_record(record_path, record)  # first: an autosave never exists without its record
    save_project(project, str(path))
    return path


def clear(media_path: str | None, project_path: str | None) -> None:
    """Delete this session's autosave of a document (saved, or closed without saving). The autosave
    made before the document had a project file (keyed by the video alone) goes with it."""
    folder = autosave_dir()
    for key in {key_for(media_path, project_path), key_for(media_path, None)}:
        Recoverable(folder / f"{key}.{SESSION}{PROJECT_SUFFIX}", {"session": SESSION}).discard()


def pending() -> list[Recoverable]:
    """Autosaves left by a session that is no longer running (crashed or killed), newest first.

    Also tidies the folder: temporary files of killed writes, records whose autosave was never
    written (killed before the first save) and lock files of dead sessions with nothing left."""
    out: list[Recoverable] = []
    folder = autosave_dir()
    if not folder.is_dir():
        return out
    clean_stale_temps(str(folder))
    projects = {p.name[: -len(PROJECT_SUFFIX)]: p for p in folder.glob(f"*{PROJECT_SUFFIX}")}
    records = {r.name[: -len(RECORD_SUFFIX)]: r for r in folder.glob(f"*{RECORD_SUFFIX}")}
    for stem in sorted(set(projects) | set(records)):
        record = _read_record(records.get(stem))
        token = _session_of(stem + PROJECT_SUFFIX)
        if _session_alive(folder, token, record):
            continue
        project_file = projects.get(stem)
        if project_file is None:  # a record alone: its session died before writing the autosave
            with contextlib.suppress(OSError):
                records[stem].unlink()
            continue
        if not record.get("media"):  # an older autosave without its record
            record = dict(record, media=_media_of(project_file))
        out.append(Recoverable(project_file, record))
    for lock in folder.glob(f"{_LOCK_PREFIX}*{_LOCK_SUFFIX}"):
        token = lock.name[len(_LOCK_PREFIX): -len(_LOCK_SUFFIX)]
        if token != SESSION:
            _remove_dead_lock(folder, token)
    out.sort(key=lambda r: _mtime(r.project_file), reverse=True)
    return out


def _media_of(project_file: Path) -> str:
    try:
        project = load_project(str(project_file))
    except Exception:  # unreadable: the recovery dialog says so when it is chosen
        return ""
    return project.media.path if project.media else ""


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
