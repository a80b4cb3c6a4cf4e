"""Project <-> JSON-ready dict, with thorough validation on the way in.

File layout (version 3; version 2 is the same without reasons and case ID, version 1 also without
track groups)::

    {"format": "obscura-project", "version": 3,
     "media": {"path": ..., "width": ..., "height": ..., "fps": "30000/1001",
               "frame_count": ..., "sha256": ... or null} or null,
     "styles": {"face": {"method": "gaussian", "strength": 80.0, ...}, ...},
     "tracks": [{"id": ..., "cls": ..., "enabled": true, "label": "", "style": {...} or null,
                 "review": "needs_review" | "approved" | "rejected", "changed_by": "",
                 "group": "Person 1" (optional, version 2: tracks of one person or vehicle),
                 "reason": "bystander" (optional, version 3: why redacted or kept visible),
                 "keyframes": [{"frame": 0, "shape": {"kind": "rect", "points": [[x, y], ...]},
                                "source": "auto", "visible": true, "score": 0.93 or null}]}],
     "audio_mutes": [{"id": ..., "start": 40, "end": 79, "mode": "silence" | "tone", "label": "",
                      "reason": "personal data spoken" (optional, version 3)}],
     "meta": {"key": "string or number"},
     "case_id": "2026-0412-B" (optional, version 3: the case or evidence ID)}

Every problem found while reading is a :class:`~app.errors.ProjectError` whose message names the
offending field, e.g. ``project file: tracks[3].keyframes[12].shape.points[1][0]: expected a
finite number, got 'abc'``.

Files a damaged or hostile source could make expensive are refused with a message that names the
limit (see the ``MAX_*`` constants): more than 256 MiB, more than a million keyframes, more
keyframes in a track than the video has frames, polygons of more than 10,000 points, coordinates
beyond +-1,000,000 px, frame numbers past 2**31-1; and the project "file" must be a regular file
(a FIFO or ``/dev/zero`` would hang or never end). NaN and Infinity, which Python's json accepts,
are refused wherever a number is read. A shape wholly outside the frame is valid (nothing is drawn).
"""

from __future__ import annotations

import os
import re
import stat
from fractions import Fraction
from pathlib import Path
from typing import Any

from app.core.audio import AudioMute
from app.core.project import REVIEW_STATES, Keyframe, KeyframeSource, MediaRef, Project, Track
from app.core.reasons import MAX_CASE_ID, MAX_REASON
from app.core.shapes import Shape, ShapeKind
from app.core.style import RedactionMethod, RedactionStyle
from app.core.track import LEGACY_REVIEW_STATES, MAX_GROUP_NAME
from app.errors import ProjectError
from app.project_io.checks import Reader, key_path

FORMAT = "obscura-project"
VERSION = 3  # the newest version this Obscura reads and writes
# A file is written with the lowest version that holds everything in it, so a project that uses
# nothing newer stays readable by an older Obscura. Version 2 adds the optional "group" of a track;
# version 3 the optional "reason" of a track and of an audio mute, and the project's "case_id".

# Limits that no real project comes near; past them a file is damaged or hostile, and reading it
# on would mean a hang, runaway memory or masks the renderer cannot draw. Each error names its limit.
MAX_FRAME = 2**31 - 1  # frame numbers (keyframes, audio mutes, media frame_count)
MAX_SIDE = 65536  # media width and height (the probe itself stops at 8192)
COORD_LIMIT = 1_000_000  # |x|, |y| in pixels: far outside any frame, but drawable (int32 with sub-pixel bits)
MAX_POLYGON_POINTS = 10_000  # a hand-drawn polygon has tens of points
MAX_KEYFRAMES = 1_000_000  # in the whole project (a busy hour of video has a few hundred thousand)
MAX_PROJECT_BYTES = 256 * 2**20  # ~1 million keyframes as saved
MAX_PARSE_MEMORY = 2 * 2**30  # estimated memory to parse the JSON (1 million keyframes: ~1.7 GiB)

_SHA256 = re.compile(r"[0-9a-f]{64}")


# --- writing ---------------------------------------------------------------------------------


def fraction_to_str(f: Fraction) -> str:
    f = Fraction(f)
    return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"


def _media_path_for_file(path: str, base_dir: str | os.PathLike[str] | None) -> str:
    """``path`` relative to ``base_dir`` (POSIX separators) when it lies inside it, else as is."""
    if base_dir is None or not os.path.isabs(path):
        return path
    base = Path(os.path.abspath(base_dir))
    target = Path(os.path.abspath(path))
    if target.is_relative_to(base):
        return target.relative_to(base).as_posix()
    return path


def project_to_dict(p: Project, base_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """A JSON-ready dict for ``p``. With ``base_dir`` (the project file's folder), a media file
    inside that folder tree is stored by relative path, so the folder can be moved as a whole."""
    media = None
    if p.media is not None:
        m = p.media
        media = {
            "path": _media_path_for_file(m.path, base_dir),
            "width": m.width,
            "height": m.height,
            "fps": fraction_to_str(m.fps),
            "frame_count": m.frame_count,
            "sha256": m.sha256,
        }
    return {
        "format": FORMAT,
        "version": file_version(p),
        "media": media,
        "styles": {cls: style.to_dict() for cls, style in p.styles.items()},
        "tracks": [_track_to_dict(t) for t in p.tracks],
        "audio_mutes": [_mute_to_dict(a) for a in p.audio_mutes],
        "meta": dict(p.meta),
        **({"case_id": p.case_id} if p.case_id else {}),
    }


def _mute_to_dict(a: AudioMute) -> dict[str, Any]:
    d = {"id": a.id, "start": a.start, "end": a.end, "mode": a.mode, "label": a.label}
    if a.reason:
        d["reason"] = a.reason
    return d


def file_version(p: Project) -> int:
    """The lowest file version that holds ``p``: 3 with a reason or a case ID, 2 when a track is
    in a group, else 1."""
    if p.case_id or any(t.reason for t in p.tracks) or any(a.reason for a in p.audio_mutes):
        return 3
    return 2 if any(t.group for t in p.tracks) else 1


def _track_to_dict(t: Track) -> dict[str, Any]:
    d = {
        "id": t.id,
        "cls": t.cls,
        "enabled": t.enabled,
        "label": t.label,
        "style": None if t.style is None else t.style.to_dict(),
        "review": t.review,
        "changed_by": t.changed_by,
        "stats": dict(t.stats),
        "keyframes": [
            {
                "frame": kf.frame,
                "shape": kf.shape.to_dict(),
                "source": kf.source.value,
                "visible": kf.visible,
                "score": kf.score,
            }
            for kf in t.keyframes
        ],
    }
    if t.group:
        d["group"] = t.group
    if t.reason:
        d["reason"] = t.reason
    return d


# --- reading ---------------------------------------------------------------------------------


def read_project_bytes(path: str) -> bytes:
    """The bytes of the project file at ``path`` (absolute), refused before they can cost a hang
    or runaway memory: not a regular file (a FIFO would block, ``/dev/zero`` never ends), larger
    than :data:`MAX_PROJECT_BYTES`, or holding more than :data:`MAX_KEYFRAMES` keyframes (counted
    on the raw bytes, before JSON parsing builds millions of objects). Raises OSError when the
    file cannot be read."""
    source = f"project file {path}"
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise ProjectError(f"{source} is not a regular file (a device, a pipe or a socket?)")

    def too_big(size: int) -> ProjectError:
        return ProjectError(f"{source} is {size / 2**20:.0f} MiB; Obscura opens project files up to "
                            f"{MAX_PROJECT_BYTES // 2**20} MiB")

    if st.st_size > MAX_PROJECT_BYTES:
        raise too_big(st.st_size)
    with open(path, "rb") as f:
        raw = f.read(MAX_PROJECT_BYTES + 1)
    if len(raw) > MAX_PROJECT_BYTES:
        raise too_big(len(raw))
    keyframes = raw.count(b'"frame"')  # every keyframe has one; an over-estimate at worst
    if keyframes > MAX_KEYFRAMES:
        raise ProjectError(f"{source} holds about {keyframes} keyframes; Obscura opens projects with up to "
                           f"{MAX_KEYFRAMES} keyframes")
    need = parse_memory_estimate(raw)
    if need > MAX_PARSE_MEMORY:
        raise ProjectError(f"{source} is too large to open: reading it would take about {need / 2**30:.1f} GiB "
                           f"of memory; Obscura reads project files up to {MAX_PARSE_MEMORY / 2**30:.0f} GiB "
                           f"(about {MAX_KEYFRAMES} keyframes)")
    return raw


def parse_memory_estimate(raw: bytes) -> int:
    """An upper estimate of the memory ``json.loads`` needs for ``raw``: the bytes and their text,
    plus each object, array and value it would build (a file of small arrays or numbers costs far
    more than its size). Measured 1.3-2x above the real peak for keyframes, arrays and numbers."""
    return 2 * len(raw) + 250 * raw.count(b"{") + 100 * raw.count(b"[") + 40 * raw.count(b",")


def project_from_dict(
    d: Any, base_dir: str | os.PathLike[str] | None = None, source: str = "project file"
) -> Project:
    """Build a Project from a dict read from JSON, validating everything.

    A relative media path is resolved against ``base_dir`` when given. ``source`` starts every
    error message (``load_project`` passes ``"project file <path>"``).
    """
    r = Reader(source)
    try:
        return _read_project(r, d, base_dir)
    except ProjectError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as e:  # safety net
        raise ProjectError(f"{source}: invalid project ({e})") from e


def _read_project(r: Reader, d: Any, base_dir: str | os.PathLike[str] | None) -> Project:
    if not isinstance(d, dict):
        r.fail("", f"expected a JSON object at the top level, got {r.kind(d)}")
    fmt = r.required(d, "format", "")
    if fmt != FORMAT:
        r.fail("format", f"not an Obscura project (expected {FORMAT!r}, got {r.show(fmt)})")
    version = r.integer(r.required(d, "version", ""), "version", minimum=None)
    if version > 1000:
        r.fail("version", f"unsupported version {r.show(version)}")
    if version > VERSION:
        r.fail(
            "version",
            f"this project was made by a newer Obscura (file version {version}, this Obscura reads "
            f"up to version {VERSION}); update Obscura to open it",
        )
    if version < 1:
        r.fail("version", f"unsupported version {version}")
    r.no_unknown(d, {"format", "version", "media", "styles", "tracks", "audio_mutes", "meta", "case_id"}, "")

    media_raw = d.get("media")
    media = None if media_raw is None else _read_media(r, media_raw, "media", base_dir)

    styles: dict[str, RedactionStyle] | None = None
    if "styles" in d:
        styles_raw = r.obj(d["styles"], "styles")
        styles = {}
        for cls, s in styles_raw.items():
            styles[cls] = _read_style(r, s, key_path("styles", cls))

    tracks: list[Track] = []
    seen: dict[str, int] = {}
    budget = _KeyframeBudget(media.frame_count if media is not None else 0)
    for i, t in enumerate(r.array(r.required(d, "tracks", ""), "tracks")):
        path = f"tracks[{i}]"
        track = _read_track(r, t, path, budget)
        if track.id in seen:
            r.fail(f"{path}.id", f"duplicate track id {track.id!r} (also used by tracks[{seen[track.id]}])")
        seen[track.id] = i
        tracks.append(track)

    mutes: list[AudioMute] = []
    for i, a in enumerate(r.array(d.get("audio_mutes", []), "audio_mutes")):
        path = f"audio_mutes[{i}]"
        a = r.obj(a, path)
        r.no_unknown(a, {"id", "start", "end", "mode", "label", "reason"}, path)
        mid = r.string(r.required(a, "id", path), f"{path}.id", nonempty=True)
        start = r.integer(r.required(a, "start", path), f"{path}.start", minimum=0, maximum=MAX_FRAME)
        end = r.integer(r.required(a, "end", path), f"{path}.end", minimum=0, maximum=MAX_FRAME)
        mode = r.string(a.get("mode", "silence"), f"{path}.mode")
        label = r.string(a.get("label", ""), f"{path}.label")
        reason = _read_text(r, a.get("reason", ""), f"{path}.reason", "a reason")
        with r.at(path):
            mutes.append(AudioMute(mid, start, end, mode, label, reason))
    meta = _read_meta(r, d.get("meta", {}), "meta")
    case_id = _read_text(r, d.get("case_id", ""), "case_id", "a case ID", MAX_CASE_ID)
    p = Project(media=media, tracks=tracks, meta=meta, audio_mutes=mutes, case_id=case_id)
    if styles is not None:
        p.styles = styles
    return p


def _read_media(r: Reader, m: Any, path: str, base_dir: str | os.PathLike[str] | None) -> MediaRef:
    m = r.obj(m, path)
    r.no_unknown(m, {"path", "width", "height", "fps", "frame_count", "sha256"}, path)
    media_path = r.string(r.required(m, "path", path), f"{path}.path", nonempty=True)
    if "\0" in media_path:
        r.fail(f"{path}.path", "contains a NUL character, which no file name can hold")
    if base_dir is not None and not os.path.isabs(media_path):
        media_path = os.path.normpath(os.path.join(os.path.abspath(base_dir), media_path))
    width = r.integer(r.required(m, "width", path), f"{path}.width", minimum=1, maximum=MAX_SIDE)
    height = r.integer(r.required(m, "height", path), f"{path}.height", minimum=1, maximum=MAX_SIDE)
    fps = r.fraction(r.required(m, "fps", path), f"{path}.fps")
    frame_count = r.integer(r.required(m, "frame_count", path), f"{path}.frame_count", minimum=0,
                            maximum=MAX_FRAME)
    sha = m.get("sha256")
    if sha is not None:
        sha = r.string(sha, f"{path}.sha256")
        if not _SHA256.fullmatch(sha):
            r.fail(f"{path}.sha256", f"expected 64 lowercase hex digits, got {r.show(sha)}")
    with r.at(path):
        return MediaRef(media_path, width, height, fps, frame_count, sha)


def _read_style(r: Reader, s: Any, path: str) -> RedactionStyle:
    s = r.obj(s, path)
    r.no_unknown(s, {"method", "strength", "margin", "feather", "color"}, path)
    kw: dict[str, Any] = {}
    if "method" in s:
        kw["method"] = r.enum(s["method"], RedactionMethod, f"{path}.method")
    for name, hi in (("strength", 100), ("margin", 200), ("feather", 100)):
        if name in s:
            kw[name] = r.number(s[name], f"{path}.{name}", lo=0, hi=hi)
    if "color" in s:
        color = r.array(s["color"], f"{path}.color")
        if len(color) != 3:
            r.fail(f"{path}.color", f"expected 3 values (red, green, blue), got {len(color)}")
        kw["color"] = tuple(
            r.integer(c, f"{path}.color[{i}]", minimum=0, maximum=255) for i, c in enumerate(color)
        )
    with r.at(path):
        return RedactionStyle(**kw)


def _read_shape(r: Reader, s: Any, path: str) -> Shape:
    s = r.obj(s, path)
    r.no_unknown(s, {"kind", "points"}, path)
    kind = r.enum(r.required(s, "kind", path), ShapeKind, f"{path}.kind")
    raw_points = r.array(r.required(s, "points", path), f"{path}.points")
    if kind is not ShapeKind.POLYGON and len(raw_points) != 2:
        r.fail(f"{path}.points",
               f"a {kind.value} needs exactly 2 points (its bounding box), got {len(raw_points)}")
    if len(raw_points) > MAX_POLYGON_POINTS:
        r.fail(f"{path}.points", f"a polygon may have at most {MAX_POLYGON_POINTS} points, got {len(raw_points)}")
    points = []
    for i, pt in enumerate(raw_points):
        pp = f"{path}.points[{i}]"
        pair = r.array(pt, pp)
        if len(pair) != 2:
            r.fail(pp, f"expected an [x, y] pair, got {len(pair)} values")
        points.append((r.coordinate(pair[0], f"{pp}[0]", COORD_LIMIT),
                       r.coordinate(pair[1], f"{pp}[1]", COORD_LIMIT)))
    if kind is ShapeKind.POLYGON and len(points) < 3:
        r.fail(f"{path}.points", f"a polygon needs at least 3 points, got {len(points)}")
    if kind is not ShapeKind.POLYGON and len(points) != 2:
        r.fail(
            f"{path}.points", f"a {kind.value} needs exactly 2 points (its bounding box), got {len(points)}"
        )
    with r.at(path):
        return Shape(kind, tuple(points))


def _read_keyframe(r: Reader, k: Any, path: str) -> Keyframe:
    k = r.obj(k, path)
    r.no_unknown(k, {"frame", "shape", "source", "visible", "score"}, path)
    frame = r.integer(r.required(k, "frame", path), f"{path}.frame", minimum=0, maximum=MAX_FRAME)
    shape = _read_shape(r, r.required(k, "shape", path), f"{path}.shape")
    source = r.enum(k.get("source", "auto"), KeyframeSource, f"{path}.source")
    visible = r.boolean(k.get("visible", True), f"{path}.visible")
    score = k.get("score")
    if score is not None:
        score = r.number(score, f"{path}.score")
    with r.at(path):
        return Keyframe(frame, shape, source, visible, score)


class _KeyframeBudget:
    """Caps keyframes before they are read: per track, one per frame of the video (and one past
    its end, where a span closes); in the project, :data:`MAX_KEYFRAMES`."""

    def __init__(self, frame_count: int) -> None:
        self.per_track = frame_count + 1 if frame_count > 0 else None
        self.frame_count = frame_count
        self.left = MAX_KEYFRAMES

    def take(self, r: Reader, n: int, path: str) -> None:
        if self.per_track is not None and n > self.per_track:
            r.fail(path, f"{n} keyframes, but the video has only {self.frame_count} frames "
                         f"(a track holds at most one keyframe per frame: {self.per_track} here)")
        if n > self.left:
            r.fail(path, f"the project has more than {MAX_KEYFRAMES} keyframes, the most Obscura opens")
        self.left -= n


def _read_track(r: Reader, t: Any, path: str, budget: _KeyframeBudget | None = None) -> Track:
    t = r.obj(t, path)
    r.no_unknown(t, {"id", "cls", "enabled", "label", "style", "review", "stats", "changed_by", "keyframes",
                     "group", "reason"}, path)
    track_id = r.string(r.required(t, "id", path), f"{path}.id", nonempty=True)
    cls = r.string(r.required(t, "cls", path), f"{path}.cls", nonempty=True)
    enabled = r.boolean(t.get("enabled", True), f"{path}.enabled")
    label = r.string(t.get("label", ""), f"{path}.label")
    style = t.get("style")
    if style is not None:
        style = _read_style(r, style, f"{path}.style")
    review = r.string(t.get("review", "needs_review"), f"{path}.review")
    review = LEGACY_REVIEW_STATES.get(review, review)
    if review not in REVIEW_STATES:
        r.fail(f"{path}.review", f"expected one of {', '.join(REVIEW_STATES)}, got {r.show(review)}")
    changed_by = r.string(t.get("changed_by", ""), f"{path}.changed_by")
    group = r.string(t.get("group", ""), f"{path}.group")
    if len(group) > MAX_GROUP_NAME or group != group.strip() or any(not c.isprintable() for c in group):
        r.fail(f"{path}.group", f"expected a group name of at most {MAX_GROUP_NAME} printable characters "
                                f"without leading or trailing spaces, got {r.show(group)}")
    reason = _read_text(r, t.get("reason", ""), f"{path}.reason", "a reason")
    stats: dict[str, float] = {}
    for key, value in r.obj(t.get("stats", {}), f"{path}.stats").items():
        stats[key] = r.number(value, key_path(f"{path}.stats", key))
    keyframes: list[Keyframe] = []
    seen: dict[int, int] = {}
    raw_keyframes = r.array(r.required(t, "keyframes", path), f"{path}.keyframes")
    (budget or _KeyframeBudget(0)).take(r, len(raw_keyframes), f"{path}.keyframes")
    for i, k in enumerate(raw_keyframes):
        kp = f"{path}.keyframes[{i}]"
        kf = _read_keyframe(r, k, kp)
        if kf.frame in seen:
            r.fail(
                f"{kp}.frame",
                f"duplicate keyframe at frame {kf.frame} (also {path}.keyframes[{seen[kf.frame]}])",
            )
        seen[kf.frame] = i
        keyframes.append(kf)
    with r.at(path):
        return Track(track_id, cls, keyframes, enabled, label, style, review, stats, changed_by, group, reason)


def _read_text(r: Reader, value: Any, path: str, what: str, limit: int = MAX_REASON) -> str:
    text = r.string(value, path)
    if len(text) > limit or text != text.strip() or any(not c.isprintable() for c in text):
        r.fail(path, f"expected {what} of at most {limit} printable characters on one line without "
                     f"leading or trailing spaces, got {r.show(text)}")
    return text


def _read_meta(r: Reader, m: Any, path: str) -> dict[str, Any]:
    m = r.obj(m, path)
    out: dict[str, Any] = {}
    for key, value in m.items():
        kp = key_path(path, key)
        if value is None or isinstance(value, str | bool):
            out[key] = value
        else:
            out[key] = r.number(value, kp, what="a string, number, true/false or null")
    return out
