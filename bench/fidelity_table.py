"""The fidelity table (issue 18): each case of ``tests/fidelity_corpus.py``, its input and its
export side by side: frame count, first..last frame time (s), duration (s), SAR, field order,
alpha, display rotation, audio streams. A case whose export was refused shows the one-line message. The input's
duration is measured from its packets' durations: a transport stream stores none for its last
frame, so its "in" duration is one frame short (the output's is right).

    PYTHONPATH=$PWD .venv/bin/python bench/fidelity_table.py /tmp/fidelity [--cases a,b]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.fidelity_corpus import CASES, export_case, facts, write_corpus  # noqa: E402

HEAD = f"{'n':>3} {'first..last time':>22} {'dur':>7} {'SAR':>6} {'field':>11} {'alpha':>10} {'rot':>4} audio"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder")
    ap.add_argument("--cases", help="comma-separated case names (default: all)")
    args = ap.parse_args()
    names = args.cases.split(",") if args.cases else None
    folder = Path(args.folder)
    paths = write_corpus(folder / "in", names)
    out_dir = folder / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"{'case':<15} {'':<4}{HEAD}")
    for case in CASES:
        if case.name not in paths:
            continue
        src = paths[case.name]
        try:
            done = export_case(case, src, out_dir)
        except Exception as e:  # noqa: BLE001 - an internal error is a result too (the CLI: exit 70)
            done = RuntimeError(f"INTERNAL ERROR {type(e).__name__}: {e}")
        print(f"{case.name:<15} in  {facts(src).line()}")
        if isinstance(done, Exception):
            print(f"{'':<15} out refused: {str(done)[:110]}")
        else:
            print(f"{'':<15} out {facts(out_dir / case.output).line()}")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
