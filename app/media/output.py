"""Safe output files: never the input, written to a temporary file and renamed into place."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator

from app.errors import OutputError


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


@contextlib.contextmanager
def atomic_output(output: str, inputs: list[str] | None = None) -> Iterator[str]:
    """Yield a temporary path beside ``output`` (same extension); rename it into place on success.

    On any exception (including a cancel), the temporary file is removed and ``output`` is left as
    it was: there is never a partial file at the target path.
    """
    check_output_path(output, inputs or [])
    folder = os.path.dirname(os.path.abspath(output))
    base, ext = os.path.splitext(os.path.basename(output))
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=f".part{ext}", dir=folder)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; an output gets the usual permissions
    try:
        yield tmp
        os.replace(tmp, output)
    except OSError as e:
        _remove(tmp)
        raise OutputError(describe_os_error(e, output)) from None
    except BaseException:
        _remove(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)
