"""The audit report's redaction and exemption log: one entry per track and per audio mute, in time
order, saying what was decided (redacted, kept visible, rejected as a false detection, muted or
bleeped), why (the operator's reason), when (the spans with timecodes) and by whom.

This is the roll-up redaction suites for evidence footage give (CaseGuard's and Axon's redaction
logs). It holds no pixels and no personal data beyond the operator's name and the reasons, which
are categories ("bystander", "minor"), never a person's name.
"""

from __future__ import annotations

import html
from fractions import Fraction

from app.core.project import Project
from app.core.timebase import timecode

DECISIONS = ("redacted", "exempt", "rejected", "muted", "bleeped")


def _span(a: int, b: int, fps: Fraction, time_of) -> dict:
    ta = float(time_of(a)) if time_of else float(Fraction(a) / fps)
    tb = float(time_of(b)) if time_of else float(Fraction(b) / fps)
    return {"start": a, "end": b, "start_tc": timecode(a, fps), "end_tc": timecode(b, fps),
            "start_s": round(ta, 4), "end_s": round(tb, 4)}


def build_log(project: Project, tracks: list[dict], fps: Fraction, frame_count: int, time_of,
              operator: str) -> list[dict]:
    """The log's entries. ``tracks``: the report's track facts (their spans and status);
    ``operator``: the report's operator, who placed the audio mutes (a track names who changed it
    last, or "analysis")."""
    reasons = {t.id: t.reason for t in project.tracks}
    out = []
    for t in tracks:
        out.append({"kind": "track", "id": t["id"], "class": t["class"], "decision": t["status"],
                    "reason": reasons.get(t["id"], ""), "spans": t["spans"], "operator": t["changed_by"]})
    last = frame_count - 1 if frame_count else None
    for m in project.audio_mutes:
        if last is not None and m.start > last:
            continue
        end = m.end if last is None else min(m.end, last)
        out.append({"kind": "audio", "id": m.id, "class": "audio",
                    "decision": "bleeped" if m.mode == "tone" else "muted", "reason": m.reason,
                    "spans": [_span(m.start, end, fps, time_of)], "operator": str(operator or "") or "operator"})
    out.sort(key=lambda e: (e["spans"][0]["start"] if e["spans"] else 1 << 62, e["kind"], e["id"]))
    return out


def _e(v) -> str:
    return html.escape("" if v is None else str(v), quote=True)


def render_log_html(r: dict) -> str:
    """The log as an HTML section (every value escaped)."""
    log = r.get("log") or []
    exempt = sum(1 for e in log if e["decision"] == "exempt")
    parts = [f"<h2>Redaction and exemption log ({len(log)} entries, {exempt} exempt)</h2>"]
    if not log:
        parts.append("<p>No track and no audio mute.</p>")
        return "\n".join(parts)
    badge = {"redacted": "ok", "muted": "ok", "bleeped": "ok", "exempt": "warn", "rejected": "bad"}
    rows = []
    for e in log:
        spans = "<br>".join(f"{_e(s['start_tc'])} – {_e(s['end_tc'])} <span class=\"muted\">({_e(s['start_s'])}"
                            f"–{_e(s['end_s'])} s)</span>" for s in e["spans"]) or "-"
        reason = _e(e["reason"]) if e["reason"] else '<span class="muted">(no reason given)</span>'
        rows.append(f'<tr><td><span class="mono">{_e(e["id"])}</span></td><td>{_e(e["class"])}</td>'
                    f'<td><span class="badge {badge.get(e["decision"], "")}">{_e(e["decision"])}</span></td>'
                    f"<td>{reason}</td><td>{spans}</td><td>{_e(e['operator'])}</td></tr>")
    head = "".join(f"<th>{h}</th>" for h in ("track / mute", "class", "decision", "reason", "time spans",
                                             "operator"))
    parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")
    return "\n".join(parts)
