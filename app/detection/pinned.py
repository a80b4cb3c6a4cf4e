"""Files kept on disk only under a hash the manifest pins (the int8 graphs, CenterFace's rewrite).

A file is read back only when it has the pinned sha256, so it is as trusted as the manifest; it is
written atomically, best effort (a read-only or full models folder only costs a rebuild).
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def read_pinned(path: Path, pin: str) -> bytes | None:
    try:
        if path.is_symlink() or not path.is_file():
            return None
        data = path.read_bytes()
    except OSError:
        return None
    return data if hashlib.sha256(data).hexdigest() == pin else None


def write_cache(path: Path, data: bytes) -> None:
    """Best effort: a read-only or full models folder only costs the next start the build."""
    from app.base.atomic import atomic_output

    try:
        with atomic_output(str(path)) as tmp, open(tmp, "wb") as f:
            f.write(data)
    except Exception:  # noqa: BLE001 - the graph in memory is used either way
        pass
