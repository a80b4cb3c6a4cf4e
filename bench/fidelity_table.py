"""The fidelity table (issue 18): each case of ``tests/fidelity_corpus.py``, its input and its
export side by side: frame count, first..last frame time (s), duration (s), SAR, field order,
alpha, display rotation, audio streams. A case whose export was refused shows the one-line message. The input's
duration is measured from its packets' durations: a transport stream stores none for its last
frame, so its "in" duration is one frame short (the output's is right).

    PYTHONPATH=$PWD .venv/bin/python bench/fidelity_table.py /tmp/fidelity [--cases a,b] [--diff]

``--diff``: one line per case, what the output changed (frame count, frame times, duration,
SAR, field order, alpha, rotation, audio) or "same".
"""

from __future__ import annotations

import argparse
import sys
from fractions import Fraction
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.fidelity_corpus import CASES, export_case, facts, write_corpus  # noqa: E402

HEAD = f"{'n':>3} {'first..last time':>22} {'dur':>7} {'SAR':>6} {'field':>11} {'alpha':>10} {'rot':>4} audio"


def diff(case, a, b, done) -> str:
    """What the output changed, in a few words ("same" when nothing)."""
    if b is None:
        return f"refused: {str(done)[:100]}"
    if a.error:
        return f"input unreadable by FFmpeg, yet exported ({b.frames} frames)"
    out = []
    if a.frames != b.frames:
        out.append(f"frames {a.frames}->{b.frames}")
    elif a.times and b.times:
        rel = case.output.endswith(".avi")  # AVI: times relative to the first frame (see the test)
        ta = [t - a.times[0] for t in a.times] if rel else a.times
        tb = [t - b.times[0] for t in b.times] if rel else b.times
        worst = max(abs(x - y) for x, y in zip(ta, tb, strict=True))
        if worst:
            out.append(f"times off by up to {float(worst) * 1000:.3f} ms")
    fields = (("duration", a.duration, b.duration), ("SAR", a.sar, b.sar), ("fields", a.field_order, b.field_order),
              ("alpha", a.alpha, b.alpha), ("rotation", a.rotation, b.rotation), ("audio", a.audio, b.audio))
    for name, x, y in fields:
        if name == "duration" and (not case.filename.endswith(".mp4") or x is None or y is None):
            continue  # a TS stores no duration for its last frame
        if x != y:
            fx = f"{float(x):.4f}" if isinstance(x, Fraction) else x
            fy = f"{float(y):.4f}" if isinstance(y, Fraction) else y
            if name == "SAR":
                fx, fy = fx or "1:1", fy or "1:1"
            out.append(f"{name} {fx}->{fy}")
    return ", ".join(out) or "same"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder")
    ap.add_argument("--cases", help="comma-separated case names (default: all)")
    ap.add_argument("--diff", action="store_true", help="one line per case: what the output changed")
    args = ap.parse_args()
    names = args.cases.split(",") if args.cases else None
    folder = Path(args.folder)
    paths = write_corpus(folder / "in", names)
    out_dir = folder / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    if not args.diff:
        print(f"{'case':<15} {'':<4}{HEAD}")
    for case in CASES:
        if case.name not in paths:
            continue
        src = paths[case.name]
        try:
            done = export_case(case, src, out_dir)
        except Exception as e:  # noqa: BLE001 - an internal error is a result too (the CLI: exit 70)
            done = RuntimeError(f"INTERNAL ERROR {type(e).__name__}: {e}")
        if args.diff:
            print(f"{case.name:<15} {diff(case, facts(src), None if isinstance(done, Exception) else facts(out_dir / case.output), done)}")
            continue
        print(f"{case.name:<15} in  {facts(src).line()}")
        if isinstance(done, Exception):
            print(f"{'':<15} out refused: {str(done)[:110]}")
        else:
            print(f"{'':<15} out {facts(out_dir / case.output).line()}")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
