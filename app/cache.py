"""Per-project cache folders: facts about the media worth keeping, never pixels.

Each project the editor opens gets a folder ``<data folder>/cache/<key>/``:

* ``owner.json``: which project the folder belongs to (its path), the media's file name, when
  it was made, and for an untitled project (a video opened but never saved) the editor's process
  id;
* ``probe.json``: the media's probe result, the frame table above all (each frame's pts and the
  keyframes), stored as runs of equal steps, and the media's fingerprint (size, modification
  time, SHA-256 of its first and last 64 KiB). Reopening a long video then skips the full packet
  scan; a changed file (any fingerprint part) is probed again.

What it never holds: pixels of any kind. Thumbnails and decoded frames stay in memory
(``app.ui.frame_provider``) and are gone when the editor closes. Nothing here is written beside
the footage (whose folder may be read-only evidence storage).

A cache folder goes away with its project: at the editor's start every folder whose project file
no longer exists (or whose untitled session's process is gone) is deleted; closing an untitled
project without saving deletes its folder; File > Clear Cache... and ``obscura cache clear``
delete them on request. Every cache is optional: any failure to read or write one falls back to
probing the file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import time
from fractions import Fraction
from pathlib import Path

from app import __version__
from app.assets import data_dir

FORMAT = 1
OWNER = "owner.json"
PROBE = "probe.json"
ALLOWED = frozenset({OWNER, PROBE})  # what a cache folder may hold; anything else is removed
_EDGE = 64 * 1024  # bytes hashed at each end of the media for its fingerprint


def cache_root() -> Path:
    return data_dir() / "cache"


def _abs(path: str | os.PathLike) -> str:
    return os.path.abspath(os.fspath(path))


def key_for(project_path: str | None, media_path: str | None) -> str:
    """The folder name: a saved project is keyed by its file, an untitled one by its media."""
    ident = f"project:{_abs(project_path)}" if project_path else f"media:{_abs(media_path or 'untitled')}"
    return hashlib.sha256(ident.encode()).hexdigest()[:24]


def folder_for(project_path: str | None, media_path: str | None) -> Path:
    return cache_root() / key_for(project_path, media_path)


# -- the media's fingerprint and the probe result ------------------------------------------------
def fingerprint(media_path: str) -> dict:
    st = os.stat(media_path)
    h = hashlib.sha256()
    with open(media_path, "rb") as f:
        h.update(f.read(_EDGE))
        if st.st_size > 2 * _EDGE:
            f.seek(-_EDGE, os.SEEK_END)
            h.update(f.read(_EDGE))
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "edges_sha256": h.hexdigest()}


def _layout() -> str:
    """What the stored probe result's shape depends on: the product version and VideoInfo's fields."""
    from app.media.probe import AudioInfo, VideoInfo

    names = [(f.name, str(f.type)) for cls in (VideoInfo, AudioInfo) for f in dataclasses.fields(cls)]
    return hashlib.sha256(json.dumps([__version__, names]).encode()).hexdigest()[:16]


def _runs(values: list[int]) -> dict:
    """A sorted int table as its first value and runs of equal steps: a constant-rate video's frame
    table is a handful of numbers, whatever its length."""
    out: list[list[int]] = []
    for a, b in zip(values, values[1:], strict=False):
        step = b - a
        if out and out[-1][0] == step:
            out[-1][1] += 1
        else:
            out.append([step, 1])
    return {"first": values[0] if values else None, "count": len(values), "runs": out}


def _unruns(d: dict) -> list[int]:
    if d["first"] is None:
        return []
    values = [int(d["first"])]
    for step, n in d["runs"]:
        step, n = int(step), int(n)
        if n < 1:
            raise ValueError("bad run")
        last = values[-1]
        values.extend(last + step * k for k in range(1, n + 1))
    if len(values) != int(d["count"]):
        raise ValueError("bad table length")
    return values


def _plain(v):
    if isinstance(v, Fraction):
        return {"fraction": [v.numerator, v.denominator]}
    if dataclasses.is_dataclass(v):
        return {"audio": {f.name: _plain(getattr(v, f.name)) for f in dataclasses.fields(v)}}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    raise TypeError(f"cannot store {type(v).__name__}")


def _unplain(v):
    from app.media.probe import AudioInfo

    if isinstance(v, dict) and set(v) == {"fraction"}:
        n, d = v["fraction"]
        return Fraction(int(n), int(d))
    if isinstance(v, dict) and set(v) == {"audio"}:
        return AudioInfo(**{k: _unplain(x) for k, x in v["audio"].items()})
    if isinstance(v, list):
        return [_unplain(x) for x in v]
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    raise ValueError("unexpected value in the cache")


def info_to_dict(info) -> dict:
    """A VideoInfo as JSON-able data: no path (the media is named by the owner record), the frame
    and keyframe tables as runs."""
    out = {}
    for f in dataclasses.fields(info):
        v = getattr(info, f.name)
        if f.name == "path":
            continue
        out[f.name] = _runs([int(x) for x in v]) if f.name in ("pts", "keyframe_pts") else _plain(v)
    return out


def info_from_dict(d: dict, media_path: str):
    from app.media.probe import VideoInfo

    kw = {}
    for f in dataclasses.fields(VideoInfo):
        if f.name == "path":
            kw["path"] = _abs(media_path)
        elif f.name in ("pts", "keyframe_pts"):
            kw[f.name] = _unruns(d[f.name])
        elif f.name in d:
            kw[f.name] = _unplain(d[f.name])
    info = VideoInfo(**kw)
    if info.frame_count != len(info.pts) or not info.pts or not info.keyframe_pts:
        raise ValueError("inconsistent frame table")
    return info


# -- reading and writing a project's cache ------------------------------------------------------
def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, separators=(",", ":"))
    os.replace(tmp, path)


def _read_json(path: Path) -> dict | None:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _owner_record(project_path: str | None, media_path: str | None) -> dict:
    return {"format": FORMAT, "project": _abs(project_path) if project_path else "",
            "media_name": os.path.basename(media_path or ""), "created": time.time(),
            "pid": 0 if project_path else os.getpid()}


def _ensure(project_path: str | None, media_path: str | None) -> Path:
    folder = folder_for(project_path, media_path)
    folder.mkdir(parents=True, exist_ok=True)
    owner = _read_json(folder / OWNER)
    want = _owner_record(project_path, media_path)
    if not owner or owner.get("project") != want["project"] or owner.get("pid") != want["pid"]:
        _write_json(folder / OWNER, want)
    return folder


def remember_probe(info, media_path: str, project_path: str | None = None) -> bool:
    """Store ``info`` (the probe of ``media_path``) in the project's cache. False if it could not."""
    try:
        folder = _ensure(project_path, media_path)
        _write_json(folder / PROBE, {"format": FORMAT, "layout": _layout(), "media": fingerprint(media_path),
                                     "info": info_to_dict(info)})
        return True
    except (OSError, TypeError, ValueError):
        return False


def load_probe(media_path: str, project_path: str | None = None):
    """The cached probe of ``media_path`` for this project, or None (absent, stale or unreadable)."""
    data = _read_json(folder_for(project_path, media_path) / PROBE)
    if not data or data.get("format") != FORMAT or data.get("layout") != _layout():
        return None
    try:
        if data.get("media") != fingerprint(media_path):
            return None
        return info_from_dict(data["info"], media_path)
    except (OSError, KeyError, TypeError, ValueError):
        return None


def cached_probe(media_path: str, project_path: str | None = None):
    """``app.media.probe.probe(media_path)``, answered from the project's cache when the file is
    unchanged; a fresh probe is stored for next time. Errors are the probe's own."""
    from app.media.probe import probe

    if os.path.isfile(media_path):
        info = load_probe(media_path, project_path)
        if info is not None:
            return info
    info = probe(media_path)
    remember_probe(info, media_path, project_path)
    return info


# -- lifetime ---------------------------------------------------------------------------------------
@dataclasses.dataclass
class CacheEntry:
    folder: Path
    owner: dict | None
    size: int

    @property
    def project(self) -> str:
        return (self.owner or {}).get("project", "")

    @property
    def orphan_reason(self) -> str | None:
        """Why this folder no longer belongs to anything (None: it does)."""
        o = self.owner
        if not o or o.get("format") != FORMAT:
            return "no owner record"
        if o.get("project"):
            return None if os.path.isfile(o["project"]) else "its project file is gone"
        pid = int(o.get("pid") or 0)
        return None if _alive(pid) else "untitled, and its editor session has ended"


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def _size(folder: Path) -> int:
    total = 0
    for p in folder.rglob("*"):
        try:
            if p.is_file() and not p.is_symlink():
                total += p.stat().st_size
        except OSError:
            pass
    return total


def entries() -> list[CacheEntry]:
    root = cache_root()
    try:
        folders = sorted(root.iterdir()) if root.is_dir() else []
    except OSError:  # an unreadable data folder: no caches to speak of
        return []
    out = []
    for folder in folders:
        if folder.is_dir() and not folder.is_symlink():
            out.append(CacheEntry(folder, _read_json(folder / OWNER), _size(folder)))
        else:
            out.append(CacheEntry(folder, None, 0))  # a stray file or link: not ours
    return out


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except OSError:
            pass


def _fresh_tmp(p: Path) -> bool:
    """A temporary file another process may be writing right now (left alone for 10 minutes)."""
    try:
        return p.name.endswith(".tmp") and time.time() - p.stat().st_mtime < 600
    except OSError:
        return False


def sweep() -> list[CacheEntry]:
    """Delete every cache folder that no longer belongs to a project, and anything in a folder that
    a cache never holds. Returns the folders removed."""
    removed = []
    for e in entries():
        if e.orphan_reason:
            _remove(e.folder)
            removed.append(e)
            continue
        try:
            stray = [p for p in e.folder.iterdir() if p.name not in ALLOWED and not _fresh_tmp(p)]
        except OSError:
            stray = []
        for p in stray:
            _remove(p)
    return removed


def discard(project_path: str | None, media_path: str | None) -> None:
    """Delete one project's cache folder."""
    _remove(folder_for(project_path, media_path))


def release(project_path: str | None, media_path: str | None) -> None:
    """The editor is done with this project: an untitled one's cache goes with it; a saved
    project's stays until the project file is gone."""
    if not project_path and media_path:
        discard(None, media_path)


def adopt(media_path: str, project_path: str, info=None) -> None:
    """An untitled project was saved as ``project_path``: its cache now belongs to that file."""
    old = folder_for(None, media_path)
    try:
        if info is not None:
            remember_probe(info, media_path, project_path)
        elif (old / PROBE).is_file():
            new = _ensure(project_path, media_path)
            shutil.copyfile(old / PROBE, new / PROBE)
    except OSError:
        pass
    _remove(old)


def clear(paths: list[str] | tuple[str, ...] = (), everything: bool = False) -> list[CacheEntry]:
    """Delete caches: every one (``everything``), those of the given project or media files, or
    (neither) the orphans. Returns what was removed."""
    if everything:
        gone = entries()
        for e in gone:
            _remove(e.folder)
        try:
            cache_root().rmdir()
        except OSError:
            pass
        return gone
    if not paths:
        return sweep()
    keys = {key_for(p, None) for p in paths} | {key_for(None, p) for p in paths}
    gone = [e for e in entries() if e.folder.name in keys]
    for e in gone:
        _remove(e.folder)
    return gone


def total_size() -> int:
    return sum(e.size for e in entries())
