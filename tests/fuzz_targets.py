"""Fuzz targets and hypothesis strategies for the project loader and the probe.

Shared by tests/test_fuzz.py (a short, derandomized run in the suite) and bench/fuzz.py (a long,
time-boxed run that prints how many inputs it tried and saves every failing one).

* **Project loader** (:func:`check_project_dict`, :func:`check_project_bytes`): near-valid project
  dicts made by mutating a real project's dict (values replaced by random JSON, keys deleted or
  added, numbers scaled to extremes, NaN, lists duplicated), and raw bytes (random, or a valid
  file's bytes damaged). The property: the loader returns a Project that saves and reloads
  identically, or raises a ProjectError whose one-line message names a field; anything else
  (another exception, the loader's catch-all "invalid project (...)", a multi-line message) is
  a crash.
* **Probe** (:class:`ProbeWorker`): a small real clip's bytes damaged (bit flips, truncation,
  insertion, chunk duplication or removal, overwritten 32-bit fields) and probed in a separate,
  memory-capped worker process with a time limit. The property: a VideoInfo that makes sense
  (sizes, frame table, rates; its summary prints) or an ObscuraError; nothing else, never a hang.
"""

from __future__ import annotations

import copy
import json
import math
import os
import resource
import select
import struct
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[1]

# -- the project loader ---------------------------------------------------------------------------


def base_project_dict() -> dict:
    """A real, valid project (every kind of field in use) as written to disk."""
    from fractions import Fraction

    from app.core import Keyframe, KeyframeSource, MediaRef, Project, RedactionStyle, Shape, Track
    from app.core.audio import AudioMute
    from app.project_io import project_to_dict

    p = Project(media=MediaRef("/videos/in.mp4", 320, 240, Fraction(30000, 1001), 90, "a" * 64),
                meta={"operator": "fuzz", "n": 3, "ok": True, "none": None})
    p.styles["plate"] = RedactionStyle(method="pixelate", strength=90, margin=10, feather=5)
    p.add_track(Track("face-0001", "face", [
        Keyframe(0, Shape.rect(10, 10, 60, 60), KeyframeSource.AUTO, True, 0.91),
        Keyframe(10, Shape.rect(40, 30, 100, 90), KeyframeSource.TRACKED, True, None),
        Keyframe(20, Shape.rect(100, 50, 160, 120), KeyframeSource.AUTO, False, 0.5),
    ], review="approved", stats={"max_score": 0.93, "mean_score": 0.8}, changed_by="ann"))
    p.add_track(Track("plate-0001", "plate", [Keyframe(5, Shape.ellipse(200, 150, 260, 180))],
                      style=RedactionStyle(method="solid", color=(10, 20, 30)), label="car"))
    p.add_track(Track("manual-0001", "manual", [
        Keyframe(0, Shape.polygon([(250, 20), (300, 40), (280, 90)]), KeyframeSource.MANUAL),
        Keyframe(15, Shape.polygon([(250, 20), (300, 40), (280, 90), (260, 60)]), KeyframeSource.MANUAL, False),
    ], enabled=False, review="rejected"))
    p.audio_mutes.append(AudioMute("mute-1", 3, 9, "tone", "name"))
    return project_to_dict(p)


FIELD_NAMES = ["format", "version", "media", "styles", "tracks", "audio_mutes", "meta", "path", "width", "height",
               "fps", "frame_count", "sha256", "id", "cls", "enabled", "label", "style", "review", "changed_by",
               "stats", "keyframes", "frame", "shape", "kind", "points", "source", "visible", "score", "method",
               "strength", "margin", "feather", "color", "start", "end", "mode", "face", "plate", ""]

EXTREMES = [0, -1, 1, -0.0, 0.5, 2**31 - 1, 2**31, 2**63, -(2**63), 10**30, 10**400, -(10**400), 1e300, -1e300,
            1e-300, 1e308, math.nan, math.inf, -math.inf, 1_000_000, 1_000_000.5, -1_000_001, 65536, 65537, 10**12]

json_leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12),
                        st.sampled_from(EXTREMES), st.sampled_from(FIELD_NAMES))
json_values = st.recursive(
    json_leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=6),
                                                                inner, max_size=4),
    max_leaves=12,
)


def node_paths(node: Any, path: tuple = ()) -> list[tuple]:
    out = [path]
    if isinstance(node, dict):
        for k, v in node.items():
            out += node_paths(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += node_paths(v, (*path, i))
    return out


def _get(d: Any, path: tuple) -> Any:
    for k in path:
        d = d[k]
    return d


OPS = ["replace", "extreme", "scale", "delete", "add", "duplicate", "stringify", "reverse", "nest"]


@st.composite
def mutated_project(draw, base: dict | None = None) -> dict:
    """A valid project's dict with 1-5 random mutations."""
    d = copy.deepcopy(base if base is not None else BASE)
    for _ in range(draw(st.integers(1, 5))):
        paths = node_paths(d)
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(OPS))
        node = _get(d, path)
        parent = _get(d, path[:-1]) if path else None
        key = path[-1] if path else None

        def put(value: Any, parent: Any = parent, key: Any = key) -> None:
            nonlocal d
            if parent is None:
                d = value
            else:
                parent[key] = value

        if op == "replace":
            put(draw(json_values))
        elif op == "extreme":
            put(draw(st.sampled_from(EXTREMES)))
        elif op == "scale" and isinstance(node, int | float) and not isinstance(node, bool):
            factor = draw(st.sampled_from([-1, 1e6, 1e300, 1e-300, 10**20, 2, 0.5]))
            try:
                put(node * factor)
            except OverflowError:
                put(math.inf)
        elif op == "delete" and parent is not None:
            del parent[key]
        elif op == "add" and isinstance(node, dict):
            node[draw(st.sampled_from(FIELD_NAMES) | st.text(max_size=6))] = draw(json_values)
        elif op == "add" and isinstance(node, list):
            item = copy.deepcopy(draw(st.sampled_from(node))) if node and draw(st.booleans()) else draw(json_values)
            node.insert(draw(st.integers(0, len(node))), item)
        elif op == "duplicate" and isinstance(node, list) and node:
            node.extend(copy.deepcopy(node[: draw(st.integers(1, len(node)))]))
        elif op == "stringify" and not isinstance(node, dict | list):
            put(str(node) if not isinstance(node, int) or abs(node) < 10**100 else "big")
        elif op == "reverse" and isinstance(node, list):
            node.reverse()
        elif op == "nest":
            put([node] if draw(st.booleans()) else {"value": node})
    return d


def _message_ok(message: str) -> str | None:
    """Why a ProjectError message is not acceptable (None: it is)."""
    if "\n" in message or "\r" in message:
        return "multi-line message"
    if "invalid project (" in message:
        return "the loader's catch-all answered (an unexpected exception inside)"
    if "Traceback" in message:
        return "traceback in the message"
    return None


def check_project_dict(d: Any, tmp: str | os.PathLike) -> str:
    """Run the loader on ``d``; return 'ok' or 'error' or raise AssertionError describing a crash."""
    from app.errors import ObscuraError, ProjectError
    from app.project_io import load_project, project_from_dict, project_to_dict, save_project

    try:
        p = project_from_dict(d)
    except ProjectError as e:
        why = _message_ok(str(e))
        assert why is None, f"{why}: {e}"
        return "error"
    # accepted: it must round-trip, through a dict and through a saved file
    try:
        d2 = project_to_dict(p)
        p2 = project_from_dict(d2)
        assert p2 == p, "a dict round trip changed the project"
        assert project_to_dict(p2) == d2, "a second round trip changed the dict"
        path = Path(tmp) / "fuzz.obscura.json"
        save_project(p, path)
        p3 = load_project(path)  # a relative media path now resolves against the file's folder
        assert p3 == project_from_dict(d2, base_dir=tmp), "a save/load round trip changed the project"
    except ObscuraError as e:
        raise AssertionError(f"accepted, but its own saved form is refused: {e}") from e
    return "ok"


def check_project_bytes(data: bytes, tmp: str | os.PathLike) -> str:
    from app.errors import ObscuraError, ProjectError
    from app.project_io import load_project, project_to_dict, save_project

    path = Path(tmp) / "raw.obscura.json"
    path.write_bytes(data)
    try:
        p = load_project(path)
    except ProjectError as e:
        why = _message_ok(str(e))
        assert why is None, f"{why}: {e}"
        return "error"
    out = Path(tmp) / "again.obscura.json"
    try:
        save_project(p, out)
        assert load_project(out) == p, "a save/load round trip changed the project"
        assert project_to_dict(load_project(out)) == project_to_dict(p)
    except ObscuraError as e:
        raise AssertionError(f"accepted, but its own saved form is refused: {e}") from e
    return "ok"


BASE = base_project_dict()
BASE_BYTES = json.dumps(BASE, indent=2).encode()


@st.composite
def damaged_bytes(draw, base: bytes = BASE_BYTES, max_ops: int = 4) -> bytes:
    """``base`` with 1..max_ops byte-level edits (flips, truncation, insertion, duplication...)."""
    data = bytearray(base)
    for _ in range(draw(st.integers(1, max_ops))):
        n = len(data)
        op = draw(st.sampled_from(["flip", "truncate", "insert", "duplicate", "delete", "overwrite", "int32"]))
        pos = draw(st.integers(0, max(0, n - 1)))
        if op == "flip" and n:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "truncate":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=64))
        elif op == "duplicate" and n:
            length = draw(st.integers(1, min(4096, n - pos)))
            dest = draw(st.integers(0, n))
            data[dest:dest] = data[pos : pos + length]
        elif op == "delete" and n:
            del data[pos : pos + draw(st.integers(1, 256))]
        elif op == "overwrite" and n:
            chunk = draw(st.binary(min_size=1, max_size=32))
            data[pos : pos + len(chunk)] = chunk
        elif op == "int32" and n >= 4:
            value = draw(st.sampled_from([0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x10000, 8, 0xFFFF]))
            pos = min(pos, n - 4)
            data[pos : pos + 4] = struct.pack(">I", value)
    return bytes(data)


raw_project_bytes = st.one_of(st.binary(max_size=600), damaged_bytes())

# -- the probe ----------------------------------------------------------------------------------------

PROBE_TIMEOUT_S = 20.0
WORKER_MEMORY = 2 * 2**30


def write_probe_seeds(folder: Path) -> list[Path]:
    """Small real clips the probe fuzzer damages: H.264+AAC in MP4, FFV1+AAC in Matroska, H.264 in MOV."""
    from fractions import Fraction

    from tests.media_factory import ClipSpec, write_clip

    folder.mkdir(parents=True, exist_ok=True)
    specs = [
        ClipSpec("fz_mp4", width=64, height=48, frames=12, audio=True, options={"preset": "ultrafast", "g": "4",
                                                                                "bf": "2"}),
        ClipSpec("fz_mkv", ext=".mkv", width=48, height=32, frames=8, codec="ffv1", audio=True, options={"g": "1"}),
        ClipSpec("fz_mov", ext=".mov", width=32, height=32, frames=6, rate=Fraction(25),
                 options={"preset": "ultrafast"}),
    ]
    out = []
    for spec in specs:
        path = folder / f"{spec.name}{spec.ext}"
        if not path.exists():
            write_clip(path, spec)
        out.append(path)
    return out


_WORKER_CODE = r'''
import json, os, struct, sys, tempfile, traceback
from app.errors import ObscuraError
from app.media.probe import MAX_SIDE, VideoInfo, probe

def check(info):
    assert isinstance(info, VideoInfo), type(info)
    assert 1 <= info.width <= MAX_SIDE and 1 <= info.height <= MAX_SIDE, (info.width, info.height)
    assert info.frame_count >= 1 and len(info.pts) == info.frame_count, (info.frame_count, len(info.pts))
    assert all(a < b for a, b in zip(info.pts, info.pts[1:])), "pts not strictly increasing"
    assert info.fps > 0 and info.time_base > 0, (info.fps, info.time_base)
    assert info.keyframe_pts, "no keyframe"
    assert info.index_of_pts(info.pts[-1]) == info.frame_count - 1
    json.dumps(info.summary())  # what `obscura probe --json` prints

tmp = tempfile.mkdtemp(prefix="obscura-fuzz-probe-")
inp, out = sys.stdin.buffer, sys.stdout
while True:
    head = inp.read(8)
    if len(head) < 8:
        break
    n, ext_len = struct.unpack(">II", head)
    ext = inp.read(ext_len).decode()
    data = inp.read(n)
    path = os.path.join(tmp, "input" + ext)
    with open(path, "wb") as f:
        f.write(data)
    try:
        check(probe(path))
        result = {"kind": "ok"}
    except ObscuraError as e:
        msg = str(e)
        result = {"kind": "error", "type": type(e).__name__, "message": msg}
        if "\n" in msg or "Traceback" in msg:
            result = {"kind": "crash", "what": "bad message: " + repr(msg)}
    except BaseException as e:
        result = {"kind": "crash", "what": f"{type(e).__name__}: {e}",
                  "trace": "".join(traceback.format_exception(e))[-3000:]}
    out.write(json.dumps(result) + "\n")
    out.flush()
'''


def _cap_worker() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY, WORKER_MEMORY))


class ProbeWorker:
    """Probes inputs in a child process (memory-capped); a hang or a hard crash restarts it."""

    def __init__(self, timeout: float = PROBE_TIMEOUT_S):
        self.timeout = timeout
        self.proc: subprocess.Popen | None = None
        self.restarts = 0

    def _start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", _WORKER_CODE], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=REPO,
                                     preexec_fn=_cap_worker)

    def close(self) -> None:
        if self.proc is not None:
            try:
                self.proc.stdin.close()
                self.proc.wait(5)
            except Exception:  # noqa: BLE001 - it is going away either way
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def _kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
        self.restarts += 1

    def probe(self, data: bytes, ext: str) -> dict:
        """{'kind': 'ok'} / {'kind': 'error', ...} / {'kind': 'crash', 'what': ...}."""
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        e = ext.encode()
        try:
            self.proc.stdin.write(struct.pack(">II", len(data), len(e)) + e + data)
            self.proc.stdin.flush()
        except BrokenPipeError:
            self._kill()
            return {"kind": "crash", "what": "the worker died before reading the input"}
        ready, _, _ = select.select([self.proc.stdout], [], [], self.timeout)
        if not ready:
            self._kill()
            return {"kind": "crash", "what": f"hang: no answer in {self.timeout:.0f} s"}
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            self._kill()
            return {"kind": "crash", "what": f"the worker died (exit {code}; signal or out of memory)"}
        return json.loads(line)


@st.composite
def damaged_clip(draw, seeds: list[tuple[bytes, str]]) -> tuple[bytes, str]:
    data, ext = draw(st.sampled_from(seeds))
    return draw(damaged_bytes(data, max_ops=5)), ext


def save_failure(folder: Path, name: str, data: bytes, note: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    import hashlib

    digest = hashlib.sha256(data).hexdigest()[:16]
    path = folder / f"{name}-{digest}"
    path.write_bytes(data)
    Path(str(path) + ".txt").write_text(note + "\n")
    return path


def fresh_tmp() -> str:
    return tempfile.mkdtemp(prefix="obscura-fuzz-")
