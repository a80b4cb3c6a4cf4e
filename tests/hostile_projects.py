"""Hostile project files, generated on the fly (nothing here is committed as data).

Each :class:`Case` corrupts a valid project (made on a tiny real clip) in one way: wrong types,
unknown or missing versions, NaN/Infinity, huge numbers, shapes far outside the frame, degenerate
or gigantic polygons, millions of keyframes, duplicate ids and frames, deep nesting, a missing
or odd media path, and byte-level damage (non-UTF-8, a BOM, truncation, an empty file).

A case says what must happen when the file is

* loaded with :func:`app.project_io.load_project`: a :class:`~app.errors.ProjectError` whose
  one-line message matches ``load`` (a regex naming the field), or a Project (``load=None``);
* exported by the real command line ``python -m app.cli export PROJECT -o OUT`` in a subprocess
  with a time limit and an address-space cap: exit != 0 with exactly one stderr line
  ``obscura: error: ...`` matching ``cli``, or exit 0 and a correct output (``check``).

Either way the project file and the video keep their SHA-256. tests/test_hostile_projects.py runs
every case; ``python -m tests.hostile_projects`` prints a table of what happened to each.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CLI_TIMEOUT_S = float(os.environ.get("OBSCURA_HOSTILE_TIMEOUT", "120"))
MEMORY_CAP = 1536 * 2**20  # address space for the CLI: ample for PyAV + x264, far below the machine
MEMORY_BUDGET = 1024 * 2**20  # resident memory a case may peak at (a valid export of the clip: ~350 MiB)

# The valid project every case starts from (tracks on a 320x240, 30-frame, 25 fps clip).
FRAMES, WIDTH, HEIGHT = 30, 320, 240


def sha256(path: str | os.PathLike) -> str | None:
    p = Path(path)
    if not p.is_file():
        return None
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def valid_project_dict(folder: Path, video: Path) -> dict:
    """Save a real, valid project for ``video`` (copied into ``folder`` as clip.mp4) and return
    the dict as written on disk (the media path relative: ``clip.mp4``)."""
    from app.core import Keyframe, KeyframeSource, MediaRef, Project, RedactionStyle, Shape, Track
    from app.media.probe import probe
    from app.project_io import save_project

    clip = folder / "clip.mp4"
    if not clip.exists():
        shutil.copyfile(video, clip)
    info = probe(str(clip))
    assert (info.width, info.height, info.frame_count) == (WIDTH, HEIGHT, FRAMES), info
    p = Project(media=MediaRef(str(clip), info.width, info.height, info.fps, info.frame_count),
                meta={"operator": "hostile-test", "case": 1})
    p.add_track(Track("face-0001", "face", [
        Keyframe(0, Shape.rect(10, 10, 60, 60), KeyframeSource.AUTO, True, 0.91),
        Keyframe(10, Shape.rect(40, 30, 100, 90), KeyframeSource.AUTO, True, 0.88),
        Keyframe(20, Shape.rect(100, 50, 160, 120), KeyframeSource.AUTO, True, 0.93),
    ], review="approved", stats={"max_score": 0.93}))
    p.add_track(Track("plate-0001", "plate", [
        Keyframe(5, Shape.ellipse(200, 150, 260, 180)),
        Keyframe(25, Shape.ellipse(220, 160, 290, 200)),
    ], style=RedactionStyle(method="pixelate", strength=90)))
    p.add_track(Track("manual-0001", "manual", [
        Keyframe(0, Shape.polygon([(250, 20), (300, 40), (280, 90)]), KeyframeSource.MANUAL),
        Keyframe(15, Shape.polygon([(250, 20), (300, 40), (280, 90)]), KeyframeSource.MANUAL, False),
    ], review="approved"))
    path = folder / "valid.obscura.json"
    save_project(p, path)
    return json.loads(path.read_text())


# -- the cases ---------------------------------------------------------------------------------
# (a deep copy of the valid dict, the folder) -> the file's bytes, or a path to use as the project
Make = Callable[[dict, Path], "bytes | Path"]


@dataclass
class Case:
    name: str
    make: Make
    load: str | None  # regex the ProjectError must match; None: it loads
    cli: str | None  # regex the one stderr line must match; None: the export succeeds
    check: Callable[[Path, dict], None] | None = None  # (output, report) for a successful export
    expected: str = ""  # in words, for the table
    big: bool = False  # load it in a capped subprocess, not in the test process


def dumps(d: Any) -> bytes:
    """JSON the way Python writes it: NaN, Infinity and -Infinity become bare tokens."""
    return json.dumps(d, indent=2).encode()


def edit(fn: Callable[[dict], Any]) -> Make:
    def make(d: dict, folder: Path) -> bytes:
        fn(d)
        return dumps(d)

    return make


def put(path: list, value: Any) -> Make:
    def fn(d: dict) -> None:
        node = d
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value

    return edit(fn)


def drop(path: list) -> Make:
    def fn(d: dict) -> None:
        node = d
        for k in path[:-1]:
            node = node[k]
        del node[path[-1]]

    return edit(fn)


def text(fn: Callable[[str], str]) -> Make:
    """Edit the JSON text itself (for tokens Python cannot produce, e.g. 5000-digit numbers)."""
    return lambda d, folder: fn(dumps(d).decode()).encode()


def raw(data: bytes) -> Make:
    return lambda d, folder: data


KF0 = ["tracks", 0, "keyframes"]
PT = ["tracks", 0, "keyframes", 1, "shape", "points"]  # face-0001 at frame 10: [[40, 30], [100, 90]]
PT_FIELD = re.escape("tracks[0].keyframes[1].shape.points[0][0]")


def only_track(track: dict, compact: bool = False) -> Make:
    def make(d: dict, folder: Path) -> bytes:
        d["tracks"] = [track]
        return json.dumps(d, separators=(",", ":")).encode() if compact else dumps(d)

    return make


def rect_track(x1, y1, x2, y2, frames=(0, FRAMES - 1), style=None, cls="manual", kind="rect") -> dict:
    return {"id": "t-1", "cls": cls, "style": style, "keyframes": [
        {"frame": f, "shape": {"kind": kind, "points": [[x1, y1], [x2, y2]]}} for f in frames]}


def polygon_track(n: int, frames=(0,)) -> dict:
    import math

    pts = [[160 + 100 * math.cos(2 * math.pi * i / n), 120 + 100 * math.sin(2 * math.pi * i / n)] for i in range(n)]
    return {"id": "poly", "cls": "manual", "keyframes": [
        {"frame": f, "shape": {"kind": "polygon", "points": pts}} for f in frames]}


def many_keyframes(count: int) -> Make:
    """One track with ``count`` keyframes, written compactly and streamed (no giant dict)."""

    def make(d: dict, folder: Path) -> bytes:
        d["tracks"] = [{"id": "many", "cls": "face", "keyframes": "@KF@"}]
        head, tail = json.dumps(d, separators=(",", ":")).split('"@KF@"')
        parts = [head.encode(), b"["]
        step = 100_000
        for start in range(0, count, step):
            chunk = ",".join(
                f'{{"frame":{i},"shape":{{"kind":"rect","points":[[1,2],[30,40]]}}}}'
                for i in range(start, min(count, start + step)))
            parts.append(("," if start else "").encode() + chunk.encode())
        parts += [b"]", tail.encode()]
        return b"".join(parts)

    return make


def many_small_arrays(count: int) -> Make:
    """A file under the size limit whose JSON would cost gigabytes to parse: ``count`` tiny arrays
    in the meta (each ``[1,1]`` is 6 bytes on disk and ~150 bytes once parsed)."""

    def make(d: dict, folder: Path) -> bytes:
        d["meta"]["case"] = "@ARRAYS@"
        head, tail = dumps(d).split(b'"@ARRAYS@"')
        return head + b"[" + b",".join([b"[1,1]"] * count) + b"]" + tail

    return make


def deep_nesting(depth: int) -> Make:
    return text(lambda s: s.replace('"case": 1', '"case": ' + "[" * depth + "]" * depth, 1))


def media_path(value: str | None) -> Make:
    def fn(d: dict) -> None:
        d["media"]["path"] = value

    return edit(fn)


def make_folder(d: dict, folder: Path) -> bytes:
    (folder / "a_folder.mp4").mkdir(exist_ok=True)
    d["media"]["path"] = "a_folder.mp4"
    return dumps(d)


def make_not_video(d: dict, folder: Path) -> bytes:
    (folder / "notes.mp4").write_text("this is not a video\n")
    d["media"]["path"] = "notes.mp4"
    return dumps(d)


# checks for exports that must succeed ----------------------------------------------------------
def frames_ok(out: Path, report: dict) -> None:
    from app.media.probe import probe

    assert probe(str(out)).frame_count == FRAMES
    assert report["export"]["frames"] == FRAMES


def no_masks(out: Path, report: dict) -> None:
    frames_ok(out, report)
    assert report["export"]["masks_drawn"] == 0, report["export"]


def masks_on(n: int) -> Callable[[Path, dict], None]:
    def check(out: Path, report: dict) -> None:
        frames_ok(out, report)
        assert report["export"]["masked_frames"] == n, report["export"]

    return check


def all_black(out: Path, report: dict) -> None:
    """A solid black mask over the whole frame: every output frame is black."""
    import av
    import numpy as np

    masks_on(FRAMES)(out, report)
    with av.open(str(out)) as c:
        for f in c.decode(video=0):
            assert float(np.asarray(f.to_ndarray(format="rgb24")).mean()) < 6.0


SOLID = {"method": "solid", "color": [0, 0, 0]}
BIG = 10**400
HUGE_DIGITS = "9" * 5000  # past Python's 4300-digit limit for int()

CASES: list[Case] = [
    # --- versions and format ---
    Case("version missing", drop(["version"]), r"missing required field 'version'", r"'version'"),
    Case("version as string", put(["version"], "1"), r"version: expected an integer, got '1'", r"version"),
    Case("version as float", put(["version"], 1.0), r"version: expected an integer, got 1\.0", r"version"),
    Case("version null", put(["version"], None), r"version: expected an integer, got null", r"version"),
    Case("version true", put(["version"], True), r"version: expected an integer, got true", r"version"),
    Case("version NaN", put(["version"], float("nan")), r"version: expected an integer, got NaN", r"version"),
    Case("version from the future", put(["version"], 99), r"version: .*newer Obscura", r"newer Obscura"),
    Case("version 10**400", put(["version"], BIG), r"version: unsupported version 100000\.\.\.0000 \(401 digits\)",
         r"unsupported version"),
    Case("version negative", put(["version"], -1), r"version: unsupported version -1", r"version -1"),
    Case("version zero", put(["version"], 0), r"version: unsupported version 0", r"version 0"),
    Case("format missing", drop(["format"]), r"missing required field 'format'", r"'format'"),
    Case("format other", put(["format"], "kdenlive"), r"format: not an Obscura project", r"not an Obscura"),
    Case("unknown top-level field", put(["future"], {"x": 1}), r"future: unknown field", r"future"),
    # --- wrong types ---
    Case("tracks is an object", put(["tracks"], {"0": {}}), r"tracks: expected an array, got an object", r"tracks"),
    Case("tracks null", put(["tracks"], None), r"tracks: expected an array, got null", r"tracks"),
    Case("track is a list", put(["tracks", 0], []), r"tracks\[0\]: expected an object, got an array", r"tracks\[0\]"),
    Case("media is a list", put(["media"], []), r"media: expected an object, got an array", r"media"),
    Case("media width string", put(["media", "width"], "320"), r"media\.width: expected an integer >= 1, got '320'",
         r"media\.width"),
    Case("media width true", put(["media", "width"], True), r"media\.width: .* got true", r"media\.width"),
    Case("media width negative", put(["media", "width"], -320), r"media\.width: expected an integer >= 1, got -320",
         r"media\.width"),
    Case("media width 10**30", put(["media", "width"], 10**30), r"media\.width: expected an integer <= 65536",
         r"media\.width"),
    Case("frame_count float", put(["media", "frame_count"], 30.0), r"media\.frame_count: .* got 30\.0",
         r"frame_count"),
    Case("frame_count 10**30", put(["media", "frame_count"], 10**30),
         r"media\.frame_count: expected an integer <= 2147483647", r"frame_count"),
    Case("fps zero", put(["media", "fps"], "0/1"), r"media\.fps: expected a positive rational", r"fps"),
    Case("fps integer 2**63", put(["media", "fps"], 2**63), r"media\.fps: expected a positive rational", r"fps"),
    Case("fps list", put(["media", "fps"], [25, 1]), r"media\.fps: expected a positive rational", r"fps"),
    Case("keyframe frame string", put([*KF0, 0, "frame"], "0"),
         r"tracks\[0\]\.keyframes\[0\]\.frame: expected an integer >= 0, got '0'", r"keyframes\[0\]\.frame"),
    Case("keyframe frame false", put([*KF0, 0, "frame"], False), r"keyframes\[0\]\.frame: .* got false",
         r"keyframes\[0\]\.frame"),
    Case("keyframe frame 1.5", put([*KF0, 0, "frame"], 1.5), r"keyframes\[0\]\.frame: .* got 1\.5", r"frame"),
    Case("keyframe frame negative", put([*KF0, 0, "frame"], -5), r"keyframes\[0\]\.frame: .* got -5", r"frame"),
    Case("keyframe frame 10**30", put([*KF0, 2, "frame"], 10**30),
         r"keyframes\[2\]\.frame: expected an integer <= 2147483647, got 100000\.\.\.0000 \(31 digits\)", r"frame"),
    Case("shape null", put([*KF0, 0, "shape"], None), r"keyframes\[0\]\.shape: expected an object, got null",
         r"shape"),
    Case("points is an object", put([*KF0, 0, "shape", "points"], {"x": 1}),
         r"shape\.points: expected an array, got an object", r"points"),
    Case("coordinate string", put([*PT, 0, 0], "40"), PT_FIELD + r": .*got '40'", PT_FIELD),
    Case("coordinate true", put([*PT, 0, 0], True), PT_FIELD + r": .*got true", PT_FIELD),
    Case("coordinate null", put([*PT, 0, 0], None), PT_FIELD + r": .*got null", PT_FIELD),
    Case("point is a number", put([*PT, 0], 7), r"points\[0\]: expected an array, got 7", r"points\[0\]"),
    Case("enabled as 1", put(["tracks", 0, "enabled"], 1), r"tracks\[0\]\.enabled: expected true or false",
         r"enabled"),
    Case("track id number", put(["tracks", 0, "id"], 7), r"tracks\[0\]\.id: expected a string, got 7", r"\.id"),
    Case("style is a list", put(["styles", "face"], []), r"styles\.face: expected an object", r"styles\.face"),
    Case("strength string", put(["styles", "face", "strength"], "80"), r"styles\.face\.strength: .*got '80'",
         r"strength"),
    Case("colour is an object", put(["styles", "face", "color"], {"r": 1}), r"styles\.face\.color: expected an array",
         r"color"),
    Case("score string", put([*KF0, 0, "score"], "high"), r"keyframes\[0\]\.score: .*got 'high'", r"score"),
    Case("meta is a list", put(["meta"], [1, 2]), r"meta: expected an object, got an array", r"meta"),
    Case("review unknown", put(["tracks", 0, "review"], "maybe"), r"tracks\[0\]\.review: expected one of",
         r"review"),
    # --- NaN, Infinity, huge numbers ---
    Case("coordinate NaN", put([*PT, 0, 0], float("nan")), PT_FIELD + r": expected a finite number, got NaN",
         PT_FIELD + r": .*NaN"),
    Case("coordinate Infinity", put([*PT, 0, 0], float("inf")), PT_FIELD + r": .*got Infinity", r"Infinity"),
    Case("coordinate -Infinity", put([*PT, 0, 0], float("-inf")), PT_FIELD + r": .*got -Infinity", r"-Infinity"),
    Case("coordinate 1e400 (overflows to inf)", text(lambda s: s.replace("40.0", "1e400", 1)),
         PT_FIELD + r": .*got Infinity", r"Infinity"),
    Case("coordinate 1e300", put([*PT, 0, 0], 1e300),
         PT_FIELD + r": expected a pixel coordinate between -1000000 and 1000000, got 1e\+300", r"1e\+300"),
    Case("coordinate -1e300", put([*PT, 1, 1], -1e300), r"points\[1\]\[1\]: expected a pixel coordinate", r"-1e\+300"),
    Case("coordinate 10**400 (integer)", put([*PT, 0, 0], BIG),
         PT_FIELD + r": expected a pixel coordinate .*, got 100000\.\.\.0000 \(401 digits\)", PT_FIELD),
    Case("number of 5000 digits", text(lambda s: s.replace("40.0", HUGE_DIGITS, 1)),
         r"not valid JSON: .*(digits|limit)", r"not valid JSON"),
    Case("score NaN", put([*KF0, 0, "score"], float("nan")), r"keyframes\[0\]\.score: .*got NaN", r"score"),
    Case("score 10**400", put([*KF0, 0, "score"], BIG), r"keyframes\[0\]\.score: .*401 digits", r"score"),
    Case("strength NaN", put(["styles", "face", "strength"], float("nan")), r"styles\.face\.strength: .*NaN",
         r"strength"),
    Case("stats Infinity", put(["tracks", 0, "stats", "max_score"], float("inf")),
         r"tracks\[0\]\.stats\.max_score: .*Infinity", r"max_score"),
    Case("meta NaN", put(["meta", "case"], float("nan")), r"meta\.case: .*NaN", r"meta\.case"),
    Case("meta 10**400", put(["meta", "case"], BIG), r"meta\.case: .*401 digits", r"meta\.case"),
    # --- shapes outside the frame, odd sizes, polygons ---
    Case("shape wholly outside the frame", only_track(rect_track(1000, 1000, 1100, 1100)), None, None,
         no_masks, "loads; exported with no mask drawn"),
    Case("shape far outside (-900000)", only_track(rect_track(-900000, -900000, -800000, -800000)), None, None,
         no_masks, "loads; exported with no mask drawn"),
    Case("shape covering far beyond the frame", only_track(rect_track(-1e5, -1e5, 1e5, 1e5, style=SOLID)), None,
         None, all_black, "loads; every frame solid black"),
    Case("huge ellipse, pixelate", only_track(rect_track(-5e5, -5e5, 5e5, 5e5, kind="ellipse",
                                                         style={"method": "pixelate"})), None, None,
         masks_on(FRAMES), "loads; every frame masked"),
    Case("negative size (corners swapped)", only_track(rect_track(100, 100, 20, 30, style=SOLID)), None, None,
         masks_on(FRAMES), "loads (box normalised); every frame masked"),
    Case("zero-size box", only_track(rect_track(50, 50, 50, 50)), None, None, frames_ok,
         "loads; exported"),
    Case("polygon with 0 points", put([*["tracks", 2, "keyframes", 0, "shape", "points"]], []),
         r"tracks\[2\]\.keyframes\[0\]\.shape\.points: a polygon needs at least 3 points, got 0", r"at least 3"),
    Case("polygon with 1 point", put(["tracks", 2, "keyframes", 0, "shape", "points"], [[1, 2]]),
         r"a polygon needs at least 3 points, got 1", r"at least 3"),
    Case("polygon with 2 points", put(["tracks", 2, "keyframes", 0, "shape", "points"], [[1, 2], [3, 4]]),
         r"a polygon needs at least 3 points, got 2", r"at least 3"),
    Case("rect with 3 points", put([*PT], [[1, 2], [3, 4], [5, 6]]), r"a rect needs exactly 2 points", r"rect"),
    Case("polygon with 5000 points", only_track(polygon_track(5000, frames=(0, 29))), None, None,
         masks_on(FRAMES), "loads; every frame masked"),
    Case("polygon with 2 million points", only_track(polygon_track(2_000_000), compact=True),
         r"tracks\[0\]\.keyframes\[0\]\.shape\.points: a polygon may have at most 10000 points, got 2000000",
         r"at most 10000 points", expected="clear error naming the limit", big=True),
    # --- keyframes and tracks ---
    Case("keyframes out of order", edit(lambda d: d["tracks"][0]["keyframes"].reverse()), None, None,
         frames_ok, "loads (sorted); exported"),
    Case("duplicate keyframe frame", put([*KF0, 2, "frame"], 0),
         r"tracks\[0\]\.keyframes\[2\]\.frame: duplicate keyframe at frame 0", r"duplicate keyframe"),
    Case("duplicate track id", put(["tracks", 1, "id"], "face-0001"),
         r"tracks\[1\]\.id: duplicate track id 'face-0001'", r"duplicate track id"),
    Case("keyframes past the end", edit(lambda d: d["tracks"][0]["keyframes"][2].update(frame=5000)), None, None,
         frames_ok, "loads; keyframes past the end ignored"),
    Case("100k keyframes in one track", many_keyframes(100_000),
         r"tracks\[0\]\.keyframes: 100000 keyframes, but the video has only 30 frames", r"100000 keyframes",
         expected="clear error naming the limit", big=True),
    Case("2 million keyframes", many_keyframes(2_000_000), r"about 2000000 keyframes.*up to 1000000",
         r"up to 1000000 keyframes", expected="clear error naming the limit", big=True),
    Case("5 million keyframes", many_keyframes(5_000_000), r"MiB; Obscura opens project files up to 256 MiB",
         r"up to 256 MiB", expected="clear error naming the limit", big=True),
    Case("30 million tiny arrays (180 MB)", many_small_arrays(30_000_000),
         r"too large to open: reading it would take about \d+\.\d GiB of memory; Obscura reads project files "
         r"up to 2 GiB", r"up to 2 GiB", expected="clear error naming the limit", big=True),
    Case("audio mute end before start", put(["audio_mutes"], [{"id": "m", "start": 9, "end": 3}]),
         r"audio_mutes\[0\]: audio mute end \(3\) is before its start \(9\)", r"audio_mutes\[0\]"),
    Case("deep nesting (100000)", deep_nesting(100_000), r"not valid JSON: .*(recursion|nest)", r"not valid JSON",
         expected="clear error"),
    Case("nesting (50) in meta", deep_nesting(50), r"meta\.case: expected a string, number", r"meta\.case"),
    # --- the media path ---
    Case("media file missing", media_path("gone/clip.mp4"), None,
         r"media\.path: the video .*gone/clip\.mp4 does not exist.*--input", expected="loads; CLI: clear error"),
    Case("media path absolute, missing", media_path("/nonexistent/dir/clip.mp4"), None,
         r"/nonexistent/dir/clip\.mp4 does not exist", expected="loads; CLI: clear error"),
    Case("media path is a folder", make_folder, None, r"media\.path: .*a_folder\.mp4 is a folder",
         expected="loads; CLI: clear error"),
    Case("media path is not a video", make_not_video, None, r"not a video file", expected="loads; CLI: clear error"),
    Case("media path with NUL", media_path("clip\u0000.mp4"), r"media\.path: contains a NUL character",
         r"NUL character"),
    Case("media path empty", media_path(""), r"media\.path: must not be empty", r"media\.path"),
    Case("media path number", media_path(5), r"media\.path: expected a string, got 5", r"media\.path"),
    Case("media null", put(["media"], None), None, r"no input video; pass --input",
         expected="loads; CLI: clear error"),
    # --- bytes ---
    Case("non-UTF-8 bytes", lambda d, f: dumps(d).replace(b"face-0001", b"face-\xe90001", 1),
         r"is not UTF-8 text \(bad byte at offset \d+\)", r"not UTF-8"),
    Case("UTF-8 BOM", lambda d, f: b"\xef\xbb\xbf" + dumps(d), None, None, masks_on(26), "loads; exported"),
    Case("UTF-16", lambda d, f: json.dumps(d).encode("utf-16"), r"UTF-16 text.*save it as UTF-8", r"UTF-16"),
    Case("truncated at half", lambda d, f: dumps(d)[: len(dumps(d)) // 2],
         r"not valid JSON: .* at line \d+, column \d+", r"not valid JSON"),
    Case("truncated to one byte", raw(b"{"), r"not valid JSON", r"not valid JSON"),
    Case("empty file", raw(b""), r"is empty", r"is empty"),
    Case("whitespace only", raw(b" \n\t\n"), r"is empty", r"is empty"),
    Case("binary garbage", lambda d, f: bytes(range(256)) * 16, r"not UTF-8|not valid JSON", r"not (UTF-8|valid)"),
    Case("JSON null", raw(b"null"), r"expected a JSON object at the top level, got null", r"top level"),
    Case("JSON array", raw(b"[1, 2, 3]"), r"expected a JSON object at the top level", r"top level"),
    Case("project is a FIFO", lambda d, f: make_fifo(d, f), r"is not a regular file", r"not a regular file",
         big=True),
    Case("project is /dev/zero", lambda d, f: make_dev_zero(d, f), r"is not a regular file", r"not a regular file",
         big=True),
    Case("project 300 MiB (sparse)", lambda d, f: make_oversized_sparse(d, f), r"is 300 MiB; .*up to 256 MiB",
         r"up to 256 MiB", big=True),
    Case("a video given as project", lambda d, f: (f / "clip.mp4").read_bytes(), r"not UTF-8|not valid JSON",
         r"not (UTF-8|valid)"),
]
_WHOLE_FILE = ("not UTF-8", "not valid JSON", "is empty", "top level", "not a regular file", "MiB")
for _c in CASES:
    if not _c.expected:
        _c.expected = ("clear error" if any(w in _c.load for w in _WHOLE_FILE) else "clear error naming the field"
                       ) if _c.load is not None else ("loads; exported" if _c.cli is None else "loads; CLI: clear error")

# -- running a case --------------------------------------------------------------------------------


def write_case(case: Case, base: dict, folder: Path) -> Path:
    made = case.make(copy.deepcopy(base), folder)
    if isinstance(made, Path):
        return made
    path = folder / "project.obscura.json"
    path.write_bytes(made)
    return path


def make_fifo(d: dict, folder: Path) -> Path:
    """A named pipe with no writer: opening it for reading would block for ever."""
    path = folder / "pipe.obscura.json"
    os.mkfifo(path)
    return path


def make_dev_zero(d: dict, folder: Path) -> Path:
    """A project 'file' that is a symlink to /dev/zero: reading it never ends."""
    path = folder / "zero.obscura.json"
    path.symlink_to("/dev/zero")
    return path


def make_oversized_sparse(d: dict, folder: Path) -> Path:
    """A 300 MiB file (sparse: no disk used) that starts like a project."""
    path = folder / "huge.obscura.json"
    with open(path, "wb") as f:
        f.write(dumps(d))
        f.truncate(300 * 2**20)
    return path


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def run_cli(project: Path, out: Path, timeout: float = CLI_TIMEOUT_S) -> tuple[int | str, str, str, float, int]:
    """``python -m app.cli export PROJECT -o OUT``, capped in time and memory: (exit code or
    'timeout', stdout, stderr, seconds, peak resident memory in KiB)."""
    import threading

    t0 = time.perf_counter()
    p = subprocess.Popen([sys.executable, "-m", "app.cli", "export", str(project), "-o", str(out), "--quiet"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO, preexec_fn=_cap_memory)
    streams: dict[str, bytes] = {}

    def drain(name: str, pipe) -> None:
        streams[name] = pipe.read()

    readers = [threading.Thread(target=drain, args=(n, s), daemon=True)
               for n, s in (("out", p.stdout), ("err", p.stderr))]
    for t in readers:
        t.start()
    code: int | str = "timeout"
    peak = 0
    while True:  # reap it ourselves: wait4 gives this child's own peak memory
        pid, status, usage = os.wait4(p.pid, os.WNOHANG)
        if pid:
            code, peak = os.waitstatus_to_exitcode(status), usage.ru_maxrss
            p.returncode = code  # already reaped: keep Popen from waiting for it again
            break
        if time.perf_counter() - t0 > timeout:
            p.kill()
            _, _, usage = os.wait4(p.pid, 0)
            p.returncode, peak = -9, usage.ru_maxrss
            break
        time.sleep(0.02)
    for t in readers:
        t.join(10)
    text = {k: v.decode(errors="replace") for k, v in streams.items()}
    return code, text.get("out", ""), text.get("err", ""), time.perf_counter() - t0, peak


_LOAD_SNIPPET = (
    "import sys\n"
    "from app.errors import ProjectError\n"
    "from app.project_io import load_project\n"
    "try:\n"
    "    p = load_project(sys.argv[1])\n"
    "except ProjectError as e:\n"
    "    print('ERROR', e)\n"
    "else:\n"
    "    print('OK', len(p.tracks))\n"
)


def run_load(project: Path, in_process: bool = True, timeout: float = CLI_TIMEOUT_S) -> tuple[str, str]:
    """('ok', summary) / ('error', message) / ('crash', what): load_project's outcome."""
    if not in_process:
        try:
            r = subprocess.run([sys.executable, "-c", _LOAD_SNIPPET, str(project)], capture_output=True, text=True,
                               timeout=timeout, cwd=REPO, preexec_fn=_cap_memory)
        except subprocess.TimeoutExpired:
            return "crash", f"no answer in {timeout:.0f} s"
        if r.returncode == 0 and r.stdout.startswith("ERROR "):
            return "error", r.stdout[6:].rstrip("\n")
        if r.returncode == 0 and r.stdout.startswith("OK "):
            return "ok", r.stdout.strip()
        tail = (r.stderr.strip().splitlines() or ["?"])[-1]
        return "crash", f"exit {r.returncode}: {tail}"
    from app.errors import ProjectError
    from app.project_io import load_project

    try:
        p = load_project(project)
    except ProjectError as e:
        return "error", str(e)
    except Exception as e:  # noqa: BLE001 - anything else is the crash we are looking for
        return "crash", f"{type(e).__name__}: {e}"
    return "ok", f"{len(p.tracks)} tracks"


@dataclass
class Outcome:
    case: str
    load: tuple[str, str]
    cli_rc: int | str
    cli_err: str
    seconds: float
    hashes_kept: bool
    peak_kib: int = 0  # the CLI's peak resident memory
    leftovers: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.cli_rc == 0:
            return f"ok (load {self.load[0]}, export exit 0)"
        line = self.cli_err.strip().splitlines()
        shown = line[-1] if line else ""
        return f"exit {self.cli_rc}: {shown[:150]}"


def evaluate(case: Case, base: dict, folder: Path, video: Path) -> Outcome:
    """Write ``case`` into ``folder`` (which holds clip.mp4), load it, export it; judge the result."""
    project = write_case(case, base, folder)
    out = folder / "out.mp4"
    before = {"project": sha256(project), "video": sha256(folder / "clip.mp4"), "source": sha256(video)}
    listing = set(os.listdir(folder))
    load = run_load(project, in_process=not case.big)
    rc, stdout, stderr, seconds, peak_kib = run_cli(project, out)
    after = {"project": sha256(project), "video": sha256(folder / "clip.mp4"), "source": sha256(video)}
    o = Outcome(case.name, load, rc, stderr, seconds, before == after, peak_kib)
    problems = o.problems
    if not o.hashes_kept:
        problems.append("the project file or the video changed")
    if o.peak_kib * 1024 > MEMORY_BUDGET:
        problems.append(f"the CLI peaked at {o.peak_kib // 1024} MiB (budget {MEMORY_BUDGET // 2**20} MiB)")
    # the load
    kind, message = load
    if kind == "crash":
        problems.append(f"load crashed: {message}")
    elif case.load is None and kind != "ok":
        problems.append(f"load should succeed, got: {message}")
    elif case.load is not None:
        if kind != "error":
            problems.append("load should fail, it succeeded")
        elif not re.search(case.load, message) or "\n" in message:
            problems.append(f"load message {message[:300]!r} does not match {case.load!r}")
    # the command line
    lines = stderr.strip().splitlines()
    if "Traceback" in stderr or "internal error" in stderr:
        problems.append(f"CLI crashed: {lines[-1] if lines else stderr!r}")
    if case.cli is None:
        if rc != 0:
            problems.append(f"export should succeed: exit {rc}: {stderr.strip()[-300:]}")
        else:
            report = json.loads((folder / "out.mp4.report.json").read_text())
            if case.check is not None:
                try:
                    case.check(out, report)
                except AssertionError as e:
                    problems.append(f"wrong output: {e}")
    else:
        if rc == 0 or rc == "timeout":
            problems.append(f"export should fail with a message, got exit {rc}")
        elif len(lines) != 1 or not lines[0].startswith("obscura: error: "):
            problems.append(f"stderr is not one 'obscura: error:' line: {stderr.strip()[-300:]!r}")
        elif not re.search(case.cli, lines[0]):
            problems.append(f"CLI message {lines[0][:300]!r} does not match {case.cli!r}")
        o.leftovers = sorted(set(os.listdir(folder)) - listing - {project.name})
        if o.leftovers:
            problems.append(f"files left behind: {o.leftovers}")
    for p in (out, folder / "out.mp4.report.json", folder / "out.mp4.report.html"):
        if p.exists():
            p.unlink()
    return o


def main() -> int:  # python -m tests.hostile_projects [FILTER]: run every case, print a table
    import tempfile

    from tests.media_factory import CLIPS, write_clip

    wanted = sys.argv[1] if len(sys.argv) > 1 else ""
    with tempfile.TemporaryDirectory(prefix="hostile-projects-") as tmp:
        root = Path(tmp)
        video = write_clip(root / "source.mp4", CLIPS["cfr25"])
        base_folder = root / "base"
        base_folder.mkdir()
        base = valid_project_dict(base_folder, video)
        results = []
        for i, case in enumerate(CASES):
            if wanted and wanted not in case.name:
                continue
            folder = root / f"case{i:03d}"
            folder.mkdir()
            shutil.copyfile(video, folder / "clip.mp4")
            o = evaluate(case, base, folder, video)
            results.append(o)
            shutil.rmtree(folder, ignore_errors=True)
            status = "PASS" if o.passed else "FAIL"
            print(f"| {case.name} | {case.expected} | load: {o.load[0]}: {o.load[1][:120]} | {o.summary()} "
                  f"| {o.seconds:.1f} s, {o.peak_kib // 1024} MiB | {status} {'; '.join(o.problems)[:400]} |",
                  flush=True)
        failed = [o.case for o in results if not o.passed]
        print(f"\n{len(results)} cases, {len(results) - len(failed)} passed, {len(failed)} failed: {failed}")
        return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
