"""The audit report: what was redacted, how, by whom and with what, written beside the output.

``build_report`` gathers it into a plain dict (JSON types only); ``write_report`` writes it as
``<output>.report.json`` and a self-contained, readable ``<output>.report.html`` beside the output,
each atomically. The schema is ``resources/report.schema.json`` (JSON Schema 2020-12);
``validate_report`` checks a report against it (with ``jsonschema`` when installed, else a minimal
structural check).

What it never holds: image data of any kind (no crops, thumbnails, embeddings or base64), and no
path: files are named by their base name only, so the report can be handed on without revealing
where the footage lives. The operator's name is the one personal datum, on purpose.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import json
import os
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

from app import __version__
from app.core.project import Project, Track
from app.core.timebase import timecode
from app.pipelines.report_log import build_log, render_log_html

REPORT_FORMAT = "obscura-audit-report"
REPORT_VERSION = 2  # 2: case_id, each track's reason, the redaction and exemption log
SOURCES = ("auto", "manual", "tracked")


# --- facts ------------------------------------------------------------------------------------


def file_facts(path: str | os.PathLike) -> dict:
    """Base name, size in bytes and SHA-256 of a file (hashed in 1 MiB chunks)."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
    return {"name": os.path.basename(os.fspath(path)), "size": size, "sha256": h.hexdigest()}


def iso_utc(t: datetime) -> str:
    """ISO 8601 in UTC with a Z (a naive time is taken as local time)."""
    if t.tzinfo is None:
        t = t.astimezone()
    return t.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def track_source(track: Track) -> str:
    """auto, manual or tracked when every keyframe has that source, mixed otherwise (none: no keyframes)."""
    sources = {kf.source.value for kf in track.keyframes}
    if not sources:
        return "none"
    return sources.pop() if len(sources) == 1 else "mixed"


def track_status(track: Track) -> str:
    """redacted, exempt (disabled: deliberately kept visible) or rejected (not redacted: a false detection)."""
    if not track.enabled:
        return "exempt"
    return "rejected" if track.review == "rejected" else "redacted"


def _media_facts(input_path: str, media=None):
    """(facts, VideoInfo or None for a photo). ``media``: the run's MediaFacts (else the input is
    looked at again)."""
    if media is None:
        from app.media.facts import open_media

        media = open_media(input_path)
    if media.is_image:
        return {"kind": "image", "width": int(media.width), "height": int(media.height),
                "frame_count": 1, "fps": None, "fps_float": None, "duration_s": 0.0,
                "variable_frame_rate": False}, None
    info = media.info
    return {"kind": "video", "width": info.width, "height": info.height, "frame_count": info.frame_count,
            "fps": str(info.fps), "fps_float": round(float(info.fps), 4),
            "duration_s": round(float(info.duration), 4), "variable_frame_rate": bool(info.is_vfr),
            "codec": info.codec, "rotation": info.rotation, "audio_streams": len(info.audio),
            "start_s": str(info.start_pts * info.time_base),
            "sample_aspect_ratio": f"{info.sar.numerator}:{info.sar.denominator}",
            "field_order": info.field_order,
            **({"skipped_leading_frames": info.skipped_leading} if info.skipped_leading else {}),
            **({"dropped_streams": list(info.dropped_streams)} if info.dropped_streams else {}),
            **({"notes": list(info.notes)} if info.notes else {})}, info


def _model_facts(detector_config: dict | None) -> list[dict]:
    from app.detection import models

    cfg = detector_config or {}
    wanted = []
    if cfg.get("faces", True):
        wanted.append(cfg.get("face_model") or "centerface")
        if (cfg.get("face_models") or "ensemble") == "ensemble":  # the second face model (the default)
            wanted.append(cfg.get("second_face_model") or "retinaface")
    if cfg.get("plates", True):
        wanted.append(cfg.get("plate_model") or "plate_yolov8n")
    out = []
    for mid in wanted:
        try:
            s = models.spec(mid)
        except Exception:  # noqa: BLE001 - a report names an unknown model rather than failing
            out.append({"id": str(mid), "task": "unknown", "licence": "unknown", "sha256": None})
            continue
        entry = {"id": s.id, "task": s.task, "licence": s.licence, "sha256": s.sha256,
                 "source": f"{s.wheel}=={s.version}:{s.member}"}
        if s.convert:
            entry["converted_sha256"] = s.expected_sha256()
        if s.extract:
            entry["graph_sha256"] = s.graph_sha256
        warning = _model_warning(s)
        if warning:
            entry["warning"] = warning
        out.append(entry)
    return out


def _model_warning(s) -> str | None:
    """Why this model's hash is not the product's own guarantee (None: it is)."""
    from app.assets import custom_manifest

    if custom_manifest():
        return "NOT VERIFIED: its hash comes from a custom manifest (OBSCURA_MANIFEST), not from this release"
    conv = s.expected_sha256() if s.convert else None
    if conv and s.reference_sha256 and conv != s.reference_sha256:
        return "local conversion: its sha256 is not the manifest's reference conversion"
    return None


def _thresholds(detector_config: dict | None) -> dict:
    """Per class: the seed score (always redacted) and the tracker's low score."""
    if detector_config and isinstance(detector_config.get("thresholds"), dict):
        return _jsonable(detector_config["thresholds"])
    from app.detection.detector import DetectorConfig
    from app.pipelines.leakcheck import seed_thresholds

    fields = {f.name for f in dataclasses.fields(DetectorConfig)}
    cfg = DetectorConfig(**{k: v for k, v in (detector_config or {}).items() if k in fields})
    low = cfg.low_factor
    return {c: {"score": round(s, 4), "track_low": round(s * low, 4)} for c, s in seed_thresholds(cfg).items()}


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, Fraction):
        return str(v)
    if isinstance(v, float):
        return round(v, 6)
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if hasattr(v, "value"):  # enums
        return _jsonable(v.value)
    return str(v)


def detector_facts(detector) -> dict:
    """The ``detector_config`` dict for a :class:`~app.detection.detector.Detector` that ran the analysis."""
    cfg = _jsonable(dataclasses.asdict(detector.config))
    cfg["thresholds"] = _jsonable(detector.thresholds())
    return cfg


def _span_facts(track: Track, fps: Fraction, frame_count: int, time_of=None) -> list[dict]:
    out = []
    for a, b in track.spans():
        if frame_count and a >= frame_count:
            continue
        b = min(b, frame_count - 1) if frame_count else b
        ta = float(time_of(a)) if time_of else float(Fraction(a) / fps)
        tb = float(time_of(b)) if time_of else float(Fraction(b) / fps)
        out.append({"start": a, "end": b, "start_tc": timecode(a, fps), "end_tc": timecode(b, fps),
                    "start_s": round(ta, 4), "end_s": round(tb, 4)})
    return out


def _track_facts(project: Project, track: Track, fps: Fraction, frame_count: int, time_of) -> dict:
    spans = _span_facts(track, fps, frame_count, time_of)
    counts = {s: 0 for s in SOURCES}
    for kf in track.keyframes:
        counts[kf.source.value] = counts.get(kf.source.value, 0) + 1
    return {
        "id": track.id,
        "class": track.cls,
        "source": track_source(track),
        "keyframes": counts,
        "spans": spans,
        "frames": sum(s["end"] - s["start"] + 1 for s in spans),
        "style": project.style_for(track).to_dict(),
        "style_overridden": track.style is not None,
        "enabled": track.enabled,
        "status": track_status(track),
        "review": track.review,
        "changed_by": track.changed_by or "analysis",
        "reason": track.reason,
    }


def _frame_range(export_result, frame_count: int, fps: Fraction, time_of) -> dict | None:
    """The exported range of input frames (inclusive), when only part of the video was exported."""
    fr = getattr(export_result, "frame_range", None)
    if not fr:
        return None
    a, b = int(fr[0]), int(fr[1])
    b = min(b, frame_count - 1) if frame_count else b
    ta = float(time_of(a)) if time_of else float(Fraction(a) / fps)
    tb = float(time_of(b)) if time_of else float(Fraction(b) / fps)
    return {"start": a, "end": b, "start_tc": timecode(a, fps), "end_tc": timecode(b, fps),
            "start_s": round(ta, 4), "end_s": round(tb, 4)}


# --- building --------------------------------------------------------------------------------


def build_report(
    project: Project,
    input_path: str,
    output_path: str,
    export_result,
    *,
    operator: str,
    started: datetime,
    finished: datetime,
    device: str,
    detector_config: dict | None,
    leak,
    leak_gate: float | None = None,
    leak_max_failing: int = 0,
    media=None,
) -> dict:
    """The audit report of one export, as a dict of JSON types.

    ``export_result``: the export's :class:`~app.pipelines.export.ExportResult`; ``detector_config``:
    the analysis's settings (``detector_facts(detector)``, or ``dataclasses.asdict(DetectorConfig)``)
    or None when no analysis ran in this session (the project's tracks were made earlier);
    ``leak``: the :class:`~app.pipelines.leakcheck.LeakReport` of the output, or None;
    ``media``: the input's :class:`~app.media.facts.MediaFacts` from the run's one probe.
    """
    from app.pipelines.leakcheck import DEFAULT_GATE

    media, info = _media_facts(input_path, media)
    fps = Fraction(media["fps"]) if media["fps"] else Fraction(1)
    frame_count = media["frame_count"]
    time_of = info.time_of if info is not None and info.frame_count else None
    tracks = [_track_facts(project, t, fps, frame_count, time_of) for t in project.tracks]
    by_class: dict[str, dict] = {}
    for t in tracks:
        c = by_class.setdefault(t["class"], {"tracks": 0, "redacted": 0, "exempt": 0, "rejected": 0,
                                              "redacted_frames": 0})
        c["tracks"] += 1
        c[t["status"]] += 1
        if t["status"] == "redacted":
            c["redacted_frames"] += t["frames"]
    review = {"needs_review": 0, "approved": 0, "rejected": 0}
    for t in project.tracks:
        review[t.review] = review.get(t.review, 0) + 1
    classes = sorted(set(project.styles) | {t.cls for t in project.tracks})
    styles = {}
    for c in classes:
        st = project.styles.get(c)
        if st is None:
            from app.core.style import DEFAULT_STYLES, RedactionStyle

            st = DEFAULT_STYLES.get(c, RedactionStyle())
        styles[c] = st.to_dict()
    settings = getattr(export_result, "settings", None) or {}
    report = {
        "format": REPORT_FORMAT,
        "format_version": REPORT_VERSION,
        "software": {"name": "Obscura", "version": __version__},
        "operator": str(operator or ""),
        "case_id": project.case_id,
        "started": iso_utc(started),
        "finished": iso_utc(finished),
        "elapsed_s": round(max(0.0, (finished - started).total_seconds()), 2),
        "input": file_facts(input_path),
        "output": file_facts(output_path),
        "media": media,
        "export": {
            "frames": int(getattr(export_result, "frames", 0)),
            "masked_frames": int(getattr(export_result, "masked_frames", 0)),
            "masks_drawn": int(getattr(export_result, "masks_drawn", 0)),
            "seconds": round(float(getattr(export_result, "seconds", 0.0)), 2),
            "settings": _jsonable({k: v for k, v in settings.items() if k in ("codec", "crf", "preset", "audio")}),
            "frame_range": _frame_range(export_result, frame_count, fps, time_of),
            "audio_mutes": int(getattr(export_result, "audio_mutes", 0) or 0),
        },
        "detection": {
            "ran": detector_config is not None,
            "device": str(device or ""),
            "models": _model_facts(detector_config),
            "thresholds": _thresholds(detector_config),
            "settings": _jsonable({k: v for k, v in (detector_config or {}).items()
                                   if k not in ("thresholds", "face_model", "plate_model", "second_face_model")}),
        },
        "styles": styles,
        "tracks": tracks,
        "totals": {"tracks": len(tracks), "by_class": by_class},
        "review": review,
        "log": build_log(project, tracks, fps, frame_count, time_of, operator),
        "leak_check": None,
    }
    if leak is not None:
        gate = DEFAULT_GATE if leak_gate is None else leak_gate
        report["leak_check"] = _jsonable(leak.summary(gate=gate, max_failing=leak_max_failing))
    return report


# --- validating --------------------------------------------------------------------------------


def schema_path() -> Path | None:
    here = Path(__file__).resolve().parent.parent
    for cand in (here / "_data" / "report.schema.json", here.parent / "resources" / "report.schema.json"):
        if cand.exists():
            return cand
    return None


def load_schema() -> dict | None:
    p = schema_path()
    return json.loads(p.read_text(encoding="utf-8")) if p else None


_REQUIRED = {
    "format": str, "format_version": int, "software": dict, "operator": str, "started": str, "finished": str,
    "input": dict, "output": dict, "media": dict, "export": dict, "detection": dict, "styles": dict,
    "tracks": list, "totals": dict, "review": dict, "case_id": str, "log": list,
}


def validate_report(d: dict) -> None:
    """Raise ValueError when ``d`` is not a valid report (JSON Schema with jsonschema, else a
    minimal structural check)."""
    schema = load_schema()
    try:
        import jsonschema
    except ImportError:
        jsonschema = None
    if jsonschema is not None and schema is not None:
        validator = jsonschema.Draft202012Validator(schema)
        errors = sorted(validator.iter_errors(d), key=lambda e: list(e.path))
        if errors:
            e = errors[0]
            where = "/".join(str(p) for p in e.path) or "(top)"
            raise ValueError(f"report does not match its schema at {where}: {e.message}")
        return
    if not isinstance(d, dict):
        raise ValueError("report must be an object")
    for k, typ in _REQUIRED.items():
        if k not in d:
            raise ValueError(f"report lacks '{k}'")
        if not isinstance(d[k], typ):
            raise ValueError(f"report field '{k}' must be {typ.__name__}")
    if d["format"] != REPORT_FORMAT:
        raise ValueError(f"report format must be {REPORT_FORMAT!r}")
    for side in ("input", "output"):
        f = d[side]
        if not (isinstance(f.get("name"), str) and isinstance(f.get("size"), int)
                and isinstance(f.get("sha256"), str) and len(f["sha256"]) == 64):
            raise ValueError(f"report '{side}' needs name, size and a 64-digit sha256")
        if "/" in f["name"] or "\\" in f["name"]:
            raise ValueError(f"report '{side}' name must be a base name, not a path")
    for t in d["tracks"]:
        for k in ("id", "class", "source", "spans", "style", "enabled", "status", "review", "changed_by"):
            if k not in t:
                raise ValueError(f"report track lacks '{k}'")


# --- writing ---------------------------------------------------------------------------------


def report_paths(output_path: str) -> tuple[str, str]:
    return f"{output_path}.report.json", f"{output_path}.report.html"


def write_report(report: dict, output_path: str) -> tuple[str, str]:
    """Write ``<output>.report.json`` and ``<output>.report.html`` (each atomically). Returns both paths."""
    from app.base.atomic import atomic_output

    validate_report(report)
    json_path, html_path = report_paths(output_path)
    text = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    with atomic_output(json_path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    page = render_html(report)
    with atomic_output(html_path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(page)
    return json_path, html_path


# --- the HTML page -----------------------------------------------------------------------------

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;background:#f4f5f7;margin:0}
main{max-width:1100px;margin:0 auto;padding:24px 28px 48px;background:#fff;min-height:100vh}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px;border-bottom:1px solid #dde1e7;padding-bottom:4px}
.sub{color:#5b6475;margin:0 0 16px}
table{border-collapse:collapse;width:100%;margin:4px 0 8px}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eceef2;vertical-align:top}
th{background:#f7f8fa;font-weight:600;color:#3b4353}
table.kv th{width:220px;background:none;font-weight:500;color:#5b6475}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600}
.ok{background:#e3f4e8;color:#1e6b34}.bad{background:#fde4e4;color:#a01c1c}.warn{background:#fff3d6;color:#8a5a00}
.muted{color:#8a93a3}
.verdict{padding:10px 14px;border-radius:6px;margin:12px 0;font-weight:600}
footer{margin-top:32px;color:#8a93a3;font-size:12px}
@media print{body{background:#fff}main{padding:0}}
"""


def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v), quote=True)


def _kv(rows: list[tuple[str, Any]], raw: bool = False) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th><td>{v if raw else _e(v)}</td></tr>" for k, v in rows)
    return f'<table class="kv">{body}</table>'


def _table(head: list[str], rows: list[list[str]]) -> str:
    """``rows`` hold already-escaped cell HTML."""
    h = "".join(f"<th>{_e(c)}</th>" for c in head)
    b = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{h}</tr></thead><tbody>{b}</tbody></table>"


def _style_text(s: dict) -> str:
    text = f"{s['method']} {s['strength']:g}, margin {s['margin']:g} %, feather {s['feather']:g} %"
    if s["method"] == "solid":
        text += " (colour " + ",".join(str(c) for c in s["color"]) + ")"
    return text


def _badge(status: str) -> str:
    cls = {"redacted": "ok", "approved": "ok", "exempt": "warn", "needs_review": "warn", "rejected": "bad",
           "leak": "bad"}.get(status, "")
    return f'<span class="badge {cls}">{_e(status.replace("_", " "))}</span>'


def render_html(r: dict) -> str:
    """A self-contained page (inline CSS, no scripts, no external resources); every value escaped."""
    parts: list[str] = []
    add = parts.append
    media = r["media"]
    add(f"<h1>Audit report: {_e(r['output']['name'])}</h1>")
    add(f'<p class="sub">Redacted by {_e(r["operator"] or "(operator not set)")} with '
        f'{_e(r["software"]["name"])} {_e(r["software"]["version"])}, '
        f'{_e(r["started"])} to {_e(r["finished"])} (UTC)</p>')
    add(f'<p class="sub">Case / evidence ID: <strong>{_e(r.get("case_id") or "(not set)")}</strong></p>')
    leak = r.get("leak_check")
    if leak:
        gate = leak["gate"]
        if leak.get("cancelled"):
            add('<div class="verdict warn">Leak check cancelled: the output was not fully checked.</div>')
        elif gate["passed"]:
            add(f'<div class="verdict ok">Leak check passed: {leak["leaks"]["events"]} leak event(s) found, '
                f'{gate["failing_events"]} at or above score {_e(gate["score"])}.</div>')
        else:
            add(f'<div class="verdict bad">Leak check FAILED: {gate["failing_events"]} leak event(s) at or above '
                f'score {_e(gate["score"])} (allowed: {_e(gate["max_failing"])}). Review them below.</div>')
        if leak.get("mode"):
            checked = leak.get("checked_frames") or {}
            add(f'<p class="sub">Leak check mode: {_e(leak["mode"])}, {_e(leak["frames_checked"])} of '
                f'{_e(leak["frame_count"])} frames checked ({_e(checked.get("rule", ""))}), at '
                f'{_e(leak.get("resolution_factor"))}x the analysis\'s resolution.</p>')
    else:
        add('<div class="verdict warn">No leak check was run on this output.</div>')

    add("<h2>Files</h2>")
    add(_table(["", "file", "size (bytes)", "SHA-256"], [
        [_e(side), _e(r[side]["name"]), _e(f"{r[side]['size']:,}"), f'<span class="mono">{_e(r[side]["sha256"])}</span>']
        for side in ("input", "output")
    ]))

    add("<h2>Media</h2>")
    rows = [("kind", media["kind"]), ("size", f"{media['width']} x {media['height']}"),
            ("frames", media["frame_count"])]
    if media["kind"] == "video":
        rows += [("frame rate", f"{media['fps']} ({media['fps_float']} fps)"
                  + (", variable" if media.get("variable_frame_rate") else "")),
                 ("duration", f"{media['duration_s']} s")]
        if media.get("sample_aspect_ratio", "1:1") != "1:1":
            rows.append(("pixel aspect ratio", media["sample_aspect_ratio"]))
        if media.get("field_order", "progressive") != "progressive":
            rows.append(("interlaced", media["field_order"]))
        if media.get("skipped_leading_frames"):
            rows.append(("leading frames not decodable (mid-GOP start)", media["skipped_leading_frames"]))
        if media.get("dropped_streams"):
            rows.append(("streams not carried over", "; ".join(media["dropped_streams"])))
        for n in media.get("notes", []):
            rows.append(("note", n))
    ex = r["export"]
    if ex.get("frame_range"):
        fr = ex["frame_range"]
        rows.append(("exported range", f"frames {fr['start']}-{fr['end']} ({fr['start_tc']}-{fr['end_tc']})"))
    if ex.get("audio_mutes"):
        rows.append(("muted audio spans", ex["audio_mutes"]))
    rows += [("exported frames", ex["frames"]), ("frames with masks", ex["masked_frames"]),
             ("masks drawn", ex["masks_drawn"]), ("export time", f"{ex['seconds']} s")]
    if ex["settings"]:
        rows.append(("encoding", ", ".join(f"{k} {v}" for k, v in ex["settings"].items())))
    add(_kv(rows))

    det = r["detection"]
    add("<h2>Software, models and settings</h2>")
    rows = [("software", f"{r['software']['name']} {r['software']['version']}"), ("device", det["device"]),
            ("analysis in this run", "yes" if det["ran"] else "no (the project's tracks were made earlier)")]
    for c, th in det["thresholds"].items():
        label = f"{c} threshold" if det["ran"] else f"{c} threshold (default)"
        rows.append((label, ", ".join(
            f"{k} ({', '.join(f'{a} {b}' for a, b in v.items())})" if isinstance(v, dict) else f"{k} {v}"
            for k, v in th.items())))
    add(_kv(rows))
    add(_table(["model", "task", "licence", "SHA-256"], [
        [_e(m["id"]), _e(m["task"]), _e(m["licence"]),
         f'<span class="mono">{_e(m.get("sha256"))}</span>'
         + (f'<br><span class="muted">converted: </span><span class="mono">{_e(m["converted_sha256"])}</span>'
            if m.get("converted_sha256") else "")
         + (f'<br><span class="muted">graph: </span><span class="mono">{_e(m["graph_sha256"])}</span>'
            if m.get("graph_sha256") else "")
         + (f'<br><strong>warning: {_e(m["warning"])}</strong>' if m.get("warning") else "")]
        for m in det["models"]
    ]))

    add("<h2>Redaction styles</h2>")
    add(_table(["class", "style"], [[_e(c), _e(_style_text(s))] for c, s in r["styles"].items()]))

    add("<h2>Totals</h2>")
    add(_table(["class", "tracks", "redacted", "exempt (kept visible)", "rejected", "redacted frames"], [
        [_e(c), _e(v["tracks"]), _e(v["redacted"]), _e(v["exempt"]), _e(v["rejected"]), _e(v["redacted_frames"])]
        for c, v in sorted(r["totals"]["by_class"].items())
    ]))
    rv = r["review"]
    add(_kv([("needs review", rv.get("needs_review", 0)), ("approved", rv.get("approved", 0)),
             ("rejected", rv.get("rejected", 0))]))

    add(f"<h2>Tracks ({len(r['tracks'])})</h2>")
    rows = []
    for t in r["tracks"]:
        reason = t.get("reason") or ""
        spans = "<br>".join(f"{_e(s['start'])}-{_e(s['end'])} <span class=\"muted\">"
                            f"{_e(s['start_tc'])}-{_e(s['end_tc'])}</span>" for s in t["spans"]) or "-"
        style = _e(_style_text(t["style"])) + (" <span class=\"muted\">(own)</span>" if t["style_overridden"] else "")
        rows.append([f'<span class="mono">{_e(t["id"])}</span>', _e(t["class"]), _e(t["source"]), spans,
                     style, _badge(t["status"]), _e(reason), _badge(t["review"]), _e(t["changed_by"])])
    add(_table(["id", "class", "source", "frames (timecode)", "style", "status", "reason", "review", "changed by"],
               rows))

    add(render_log_html(r))

    if leak:
        add("<h2>Leak check</h2>")
        th = "; ".join(f"{c}: score {v.get('score')}, input {v.get('input_long_side')} px" for c, v in
                       leak["thresholds"].items())
        add(_kv([
            ("frames checked", f"{leak['frames_checked']} of {leak['frame_count']} (every {leak['stride']})"),
            ("detector", f"{th} (higher resolution, lower threshold than the analysis)"),
            ("device", leak["device"]), ("time", f"{leak['seconds']} s"),
            ("leak events", f"{leak['leaks']['events']} ({leak['leaks']['hits']} detections)"),
            ("exempt (kept visible)", f"{leak['exempt']['events']} events"),
            ("on rejected tracks", f"{leak['rejected']['events']} events"),
            ("detections inside masks", f"{leak['inside_masks']['hits']} (max score {leak['inside_masks']['max_score']})"),
        ]))
        rows = []
        for ev in leak["events"]:
            x1, y1, x2, y2 = (int(round(v)) for v in ev["box"])
            rows.append([_e(ev["id"]), _badge(ev["kind"]), _e(ev["cls"]),
                         f"{_e(ev['start_s'])}-{_e(ev['end_s'])} s <span class=\"muted\">"
                         f"{_e(ev['start_tc'])}-{_e(ev['end_tc'])}</span>",
                         f"{_e(ev['first_frame'])}-{_e(ev['last_frame'])}", _e(ev["hits"]),
                         _e(f"{ev['max_score']:.2f}"), _e(f"{x1},{y1},{x2},{y2}"), _e(ev.get("track") or "")])
        if rows:
            add(_table(["event", "kind", "class", "time", "frames", "hits", "max score", "box", "track"], rows))
            if leak.get("events_truncated"):
                add(f'<p class="muted">{_e(leak["events_truncated"])} more events are not listed.</p>')
        else:
            add('<p>Nothing was found outside the masks.</p>')

    add(f"<footer>{_e(r['format'])} v{_e(r['format_version'])}. This report holds no image data and no "
        "file locations; the files are identified by name and SHA-256.</footer>")
    title = _e(f"Obscura audit report: {r['output']['name']}")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title>"
            f"<style>{_CSS}</style></head><body><main>\n" + "\n".join(parts) + "\n</main></body></html>\n")
