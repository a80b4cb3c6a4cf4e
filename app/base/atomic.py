"""Safe output files: never the input, written to a temporary file and renamed into place.

Temporary files are named ``.NAME.PID-HOST.XXXXXXXX.part.EXT`` (or ``.tmp`` for project saves): the
writer's process id and a short hash of its host name are in the name, and while it writes, the
writer holds an exclusive lock on the file (POSIX ``flock``; the kernel drops it when the process
dies, ``kill -9`` included). A ``kill -9`` mid-write leaves the temporary file behind, never a
partial file at the target path; the next write into that folder removes such leftovers, but only
those whose writer is provably gone (see :func:`clean_stale_temps`), never a live writer's.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import socket
import tempfile
import time
from collections.abc import Iterator, Sequence

from app.errors import OutputError

try:  # POSIX
    import fcntl
except ImportError:  # Windows: an open file cannot be deleted there, which protects a live writer
    fcntl = None  # type: ignore[assignment]

HOST_TAG = hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]
# .NAME.PID-HOST.RANDOM(.tmp | .part | .part.EXT) -- RANDOM is mkstemp's (letters, digits, "_")
_TEMP_RE = re.compile(r"^\..+\.(\d+)-([0-9a-f]{8})\.[a-z0-9_]{6,}\.(?:tmp|part(?:\.[^.]+)?)$")
FOREIGN_TEMP_AGE_S = 24 * 3600  # a temp from another host: removed only when unlocked and this old


def same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(os.path.realpath(a)) == os.path.abspath(os.path.realpath(b))


def check_output_path(output: str, inputs: list[str]) -> None:
    for src in inputs:
        if src and same_file(src, output):
            raise OutputError(f"refusing to overwrite the input file: {output}")
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise OutputError(f"output folder does not exist: {folder}")
    if os.path.isdir(output):
        raise OutputError(f"output path is a folder: {output}")
    if not os.access(folder, os.W_OK):
        raise OutputError(f"output folder is not writable: {folder}")


def describe_os_error(e: OSError, path: str) -> str:
    if e.errno == errno.ENOSPC:
        return f"disk full while writing {path}: free some space and try again"
    if e.errno == errno.EDQUOT:
        return f"disk quota exceeded while writing {path}"
    if e.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied writing {path}"
    if e.errno == errno.EROFS:
        return f"read-only file system: cannot write {path}"
    reason = e.strerror or str(e)
    return f"cannot write {path}: {reason}"


# -- temporary files and their writers ----------------------------------------------------------
def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (it may be another program that got a
    recycled id: callers treat "alive" as "maybe still writing" and keep the file)."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    if os.name == "nt":
        return _pid_alive_windows(pid)
    try:
        os.kill(pid, 0)  # signal 0: only checks (never os.kill(pid, 0) on Windows: that is Ctrl-C)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OSError:
        return True
    return True


def _pid_alive_windows(pid: int) -> bool:  # pragma: no cover - Windows only
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return kernel32.GetLastError() == 5  # ERROR_ACCESS_DENIED: it exists
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def lock_fd(fd: int) -> bool:
    """Take an exclusive, non-blocking lock on an open file (POSIX); False when it is held elsewhere."""
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def make_temp(folder: str, base: str, suffix: str) -> tuple[int, str]:
    """Create ``folder/.BASE.PID-HOST.XXXXXXXX<suffix>`` (mode 0600) and lock it; returns (fd, path).

    Keep ``fd`` open until the file has been renamed into place: the lock tells other processes
    that the file is still being written."""
    fd, path = tempfile.mkstemp(prefix=f".{base[:120]}.{os.getpid()}-{HOST_TAG}.", suffix=suffix, dir=folder)
    lock_fd(fd)
    return fd, path


def stale_temp(path: str, now: float | None = None) -> bool:
    """Whether ``path`` is one of our temporary files and its writer is gone for certain.

    Same host: the writer's process no longer exists and nobody holds the file's lock. Another host
    (a shared folder): nobody holds the lock and it has not been written to for a day. A file whose
    process id was recycled by another program is kept (safe; it goes once that program ends)."""
    m = _TEMP_RE.match(os.path.basename(path))
    if not m:
        return False
    pid, host = int(m.group(1)), m.group(2)
    if host == HOST_TAG:
        if pid_alive(pid):
            return False
    else:
        try:
            age = (now or time.time()) - os.stat(path, follow_symlinks=False).st_mtime
        except OSError:
            return False
        if age < FOREIGN_TEMP_AGE_S:
            return False
    return _unlocked(path)


def _unlocked(path: str) -> bool:
    if fcntl is None:
        return True  # Windows: a live writer's open file cannot be removed anyway
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return False
    try:
        return lock_fd(fd)
    finally:
        os.close(fd)


def clean_stale_temps(folder: str) -> list[str]:
    """Remove the temporary files that killed writers (``kill -9``, a crash, a power cut) left in
    ``folder``; returns the paths removed. Never raises, never touches a live writer's file."""
    removed: list[str] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        if not entry.name.startswith(".") or not _TEMP_RE.match(entry.name):
            continue
        try:
            if not entry.is_file(follow_symlinks=False) or not stale_temp(entry.path, now):
                continue
            os.remove(entry.path)
            removed.append(entry.path)
        except OSError:
            continue
    return removed


def fsync_dir(folder: str) -> None:
    """Make a rename in ``folder`` durable (POSIX); harmless where unsupported."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_path(path: str) -> None:
    """Flush a written file to disk (Windows needs a handle open for writing to do so)."""
    fd = os.open(path, os.O_RDWR if os.name == "nt" else os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as e:
        if e.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):  # a file system without fsync
            raise
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_output(output: str, inputs: list[str] | None = None,
                  supersedes: Sequence[str] = ()) -> Iterator[str]:
    """Yield a temporary path beside ``output`` (same extension); rename it into place on success.

    On any exception (including a cancel), the temporary file is removed and ``output`` is left as
    it was: there is never a partial file at the target path. If the process is killed, the
    temporary file stays behind until the next ``atomic_output`` or project save into that folder
    removes it. The data is flushed to disk before the rename, so a power cut cannot leave an empty
    or partial file under the final name either.

    ``supersedes``: files that describe the present ``output`` (its audit report): deleted just
    before the new file takes its place, so that a kill between the two never leaves a report
    beside a file it does not describe (the new report, if any, is written afterwards).
    """
    check_output_path(output, inputs or [])
    folder = os.path.dirname(os.path.abspath(output))
    base, ext = os.path.splitext(os.path.basename(output))
    clean_stale_temps(folder)
    try:
        fd, tmp = make_temp(folder, base, f".part{ext}")
    except OSError as e:
        raise OutputError(describe_os_error(e, output)) from None
    if os.name == "nt":  # pragma: no cover - an open file cannot be renamed there
        os.close(fd)
        fd = -1
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; an output gets the usual permissions
        yield tmp
        _fsync_path(tmp)
        gone = [p for p in supersedes if os.path.lexists(p)]
        for p in gone:
            os.remove(p)
        if gone:
            fsync_dir(folder)  # the old report is gone for good before the new file appears
        os.replace(tmp, output)
    except OSError as e:
        _remove(tmp)
        raise OutputError(describe_os_error(e, output)) from None
    except BaseException:
        _remove(tmp)
        raise
    finally:
        if fd >= 0:
            os.close(fd)  # releases the lock: only after the rename (or the removal)
    fsync_dir(folder)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Read once, at import: os.umask(0) for a moment in a running program would let another thread
# create files with no umask at all.
_UMASK = _umask()


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)
