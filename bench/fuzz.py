"""Time-boxed fuzzing of the project loader and the probe (hypothesis, fresh random seeds).

    python bench/fuzz.py --minutes 10                       # every target, the time split evenly
    python bench/fuzz.py --minutes 5 --targets probe        # one target
    python bench/fuzz.py --minutes 1 --failures /tmp/fz     # where failing inputs are saved

Targets (see tests/fuzz_targets.py): ``project-dict`` (mutated project dicts through
project_from_dict, then a save/load round trip), ``project-bytes`` (random and damaged file bytes
through load_project) and ``probe`` (damaged real MP4/MKV/MOV clips through app.media.probe.probe
in a memory-capped worker with a time limit). Prints the inputs tried, the outcomes and every
distinct failure (saved with a note); exits 1 when anything failed.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hypothesis import HealthCheck, given, settings  # noqa: E402

from tests import fuzz_targets as ft  # noqa: E402

TARGETS = ("project-dict", "project-bytes", "probe")
CHUNK = 300  # examples per hypothesis run (each run draws a fresh seed)


def _signature(message: str) -> str:
    """A failure's kind: its first line with numbers and paths blurred."""
    line = (message.strip().splitlines() or ["?"])[0]
    line = re.sub(r"/[^\s:]+", "PATH", line)
    return re.sub(r"\d+", "N", line)[:160]


class Campaign:
    def __init__(self, name: str, failures: Path):
        self.name = name
        self.failures = failures
        self.tried = 0
        self.outcomes: dict[str, int] = {}
        self.found: dict[str, tuple[str, Path | None]] = {}  # signature -> (message, saved input)

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def record(self, message: str, data: bytes | None) -> None:
        sig = _signature(message)
        if sig not in self.found:
            saved = ft.save_failure(self.failures, self.name, data, message) if data is not None else None
            self.found[sig] = (message, saved)
            print(f"  [{self.name}] NEW FAILURE: {message[:300]}" + (f"  (saved {saved})" if saved else ""),
                  flush=True)


def _run_chunks(campaign: Campaign, strategy, body, until: float, to_bytes) -> None:
    last: dict = {}

    @settings(max_examples=CHUNK, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck), print_blob=False)
    @given(strategy)
    def run(x):
        campaign.tried += 1
        try:
            campaign.count(body(x))
        except Exception as e:
            last["message"] = str(e) if isinstance(e, AssertionError) else f"{type(e).__name__}: {e}"
            last["data"] = to_bytes(x)
            raise

    while time.monotonic() < until:
        last.clear()
        try:
            run()
        except BaseExceptionGroup as group:  # several distinct failures in one run
            for e in group.exceptions:
                campaign.record(str(e) if isinstance(e, AssertionError) else f"{type(e).__name__}: {e}", None)
        except Exception as e:  # noqa: BLE001 - hypothesis re-raises the (shrunk) failure: record it, go on
            campaign.record(last.get("message") or f"{type(e).__name__}: {e}", last.get("data"))


def fuzz_project_dict(campaign: Campaign, until: float) -> None:
    import json

    tmp = ft.fresh_tmp()
    try:
        _run_chunks(campaign, ft.mutated_project(), lambda d: ft.check_project_dict(d, tmp), until,
                    lambda d: json.dumps(d, default=str).encode())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def fuzz_project_bytes(campaign: Campaign, until: float) -> None:
    tmp = ft.fresh_tmp()
    try:
        _run_chunks(campaign, ft.raw_project_bytes, lambda b: ft.check_project_bytes(b, tmp), until, lambda b: b)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def fuzz_probe(campaign: Campaign, until: float) -> None:
    seeds_dir = Path(tempfile.mkdtemp(prefix="obscura-fuzz-seeds-"))
    worker = ft.ProbeWorker()
    try:
        seeds = [(p.read_bytes(), p.suffix) for p in ft.write_probe_seeds(seeds_dir)]

        def body(clip):
            result = worker.probe(*clip)
            assert result["kind"] != "crash", f"{result.get('what')} {result.get('trace', '')[-1500:]}"
            return f"{result['kind']}" + (f" ({result['type']})" if result["kind"] == "error" else "")

        _run_chunks(campaign, ft.damaged_clip(seeds), body, until, lambda clip: clip[0])
    finally:
        worker.close()
        shutil.rmtree(seeds_dir, ignore_errors=True)


RUNNERS = {"project-dict": fuzz_project_dict, "project-bytes": fuzz_project_bytes, "probe": fuzz_probe}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10.0, help="total time, split evenly over the targets")
    ap.add_argument("--targets", default=",".join(TARGETS), help=f"comma-separated: {', '.join(TARGETS)}")
    ap.add_argument("--failures", default=str(Path(tempfile.gettempdir()) / "obscura-fuzz-failures"),
                    help="folder for failing inputs")
    args = ap.parse_args(argv)
    names = [t.strip() for t in args.targets.split(",") if t.strip()]
    for n in names:
        if n not in RUNNERS:
            ap.error(f"unknown target {n!r} (choose from {', '.join(TARGETS)})")
    share = args.minutes * 60.0 / len(names)
    results = []
    for n in names:
        c = Campaign(n, Path(args.failures))
        t0 = time.monotonic()
        print(f"fuzzing {n} for {share / 60:.1f} min ...", flush=True)
        RUNNERS[n](c, t0 + share)
        seconds = time.monotonic() - t0
        outcomes = ", ".join(f"{k}: {v}" for k, v in sorted(c.outcomes.items()))
        print(f"{n}: {c.tried} inputs in {seconds:.0f} s ({c.tried / max(seconds, 1e-9):.0f}/s); {outcomes}; "
              f"{len(c.found)} distinct failure(s)", flush=True)
        results.append(c)
    total = sum(c.tried for c in results)
    failures = sum(len(c.found) for c in results)
    print(f"\ntotal: {total} inputs, {failures} distinct failure(s)")
    for c in results:
        for message, saved in c.found.values():
            print(f"  {c.name}: {message[:400]}" + (f"\n    input: {saved}" if saved else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
