"""Autosave and crash recovery.

Every 30 s (and after each analysis step) a dirty project is written atomically to an autosave
file in the user data folder — never beside the footage, whose folder may be read-only evidence
storage. A small JSON record beside it says which project and video it belongs to. A clean close
deletes both; after a crash or ``kill -9`` they remain, and the next start offers to recover.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from app.assets import data_dir
from app.core.project import Project
from app.project_io import load_project, save_project


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
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.record.get("time", 0)))

    def load(self) -> Project:
        return load_project(str(self.project_file))

    def discard(self) -> None:
        for p in (self.project_file, self.project_file.with_suffix(".record")):
            try:
                p.unlink()
            except OSError:
                pass


def key_for(media_path: str | None, project_path: str | None) -> str:
    ident = project_path or media_path or "untitled"
    return hashlib.sha256(os.path.abspath(ident).encode()).hexdigest()[:16]


def write(project: Project, media_path: str | None, project_path: str | None) -> Path:
    folder = autosave_dir()
    folder.mkdir(parents=True, exist_ok=True)
    key = key_for(media_path, project_path)
    path = folder / f"{key}.obscura.json"
    save_project(project, str(path))
    record = {"media": media_path or "", "project": project_path or "", "time": time.time(), "pid": os.getpid()}
    tmp = folder / f".{key}.record.tmp"
    tmp.write_text(json.dumps(record))
    os.replace(tmp, path.with_suffix(".record"))
    return path


def clear(media_path: str | None, project_path: str | None) -> None:
    key = key_for(media_path, project_path)
    Recoverable(autosave_dir() / f"{key}.obscura.json", {}).discard()


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def pending() -> list[Recoverable]:
    """Autosaves left by a session that is no longer running (crashed or killed)."""
    out = []
    folder = autosave_dir()
    if not folder.is_dir():
        return out
    for rec in sorted(folder.glob("*.record")):
        try:
            record = json.loads(rec.read_text())
        except (OSError, ValueError):
            continue
        project_file = rec.with_suffix(".json")
        if not project_file.exists() or _alive(int(record.get("pid", 0))):
            continue
        out.append(Recoverable(project_file, record))
    return out
