"""``obscura batch IN_DIR OUT_DIR``: the ``process`` pipeline over every video and photo in a folder.

Per input ``IN_DIR/REL`` it writes ``OUT_DIR/REL`` (the redacted copy), ``OUT_DIR/REL.report.json``
and ``.report.html`` (the audit report), ``OUT_DIR/REL.leak.json`` (the leak check's result, also
inside the report) and ``OUT_DIR/REL.log`` (what ``obscura process`` would have printed), plus one
``OUT_DIR/summary.csv`` (``summary-shard-K-of-N.csv`` with ``--shards``).

- Same pipeline as ``obscura process``: the options it shares with ``process`` (detection, encoding,
  style, leak check) mean the same; the leak check is on by default here.
- Resumable: a file whose output and report exist and agree (the report's output size and SHA-256
  match the file) is skipped. A file that fails is retried once in the same run, then reported as
  failed. A file whose leak check failed keeps its output and report (for review in the editor) and
  is reported as failed again by later runs, without being processed again.
- ``--jobs N`` runs N worker processes (spawned, each loads its own detector); 1 (the default)
  runs in this process.
- ``--shard K --shards N`` takes only the files whose relative path hashes to K (stable when files
  are added), so N copies (a Kubernetes Indexed Job) share one folder without overlap.
- Never writes into IN_DIR: OUT_DIR may not be IN_DIR or inside it.

Exit code: 0 when every file is done or skipped, 1 when any failed (one summary line on stderr).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import io
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from app.errors import InputNotFound, ObscuraError, OutputError

VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".avi"})  # what the writer can also write
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png"})
SUMMARY_FIELDS = ("file", "status", "frames", "tracks", "leak_events", "seconds", "attempts", "output", "message")
MAX_ATTEMPTS = 2  # a failed file is retried once

# options of `obscura process` that batch does not pass on (batch sets them per file itself)
_PER_FILE = frozenset({"func", "command", "input", "output", "project", "quiet", "no_report"})
# batch's own options, not `process` options
_BATCH_ONLY = frozenset({"in_dir", "out_dir", "jobs", "shard", "shards", "engine", "address"})


@dataclass
class FileResult:
    file: str  # relative to IN_DIR, with forward slashes
    status: str  # ok | failed | skipped
    frames: int | str = ""
    tracks: int | str = ""
    leak_events: int | str = ""  # "" when no leak check ran
    seconds: float = 0.0
    attempts: int = 0
    output: str = ""
    message: str = ""
    errors: list[str] = field(default_factory=list, repr=False)

    def row(self) -> dict:
        d = asdict(self)
        d.pop("errors")
        d["seconds"] = f"{self.seconds:.1f}"
        return d


# -- the command line ---------------------------------------------------------------------------
def add_batch_args(p: argparse.ArgumentParser) -> None:
    """The ``batch`` sub-command's options (shared ones come from the ``process`` helpers in app.cli)."""
    from app.cli import _add_detect_args, _add_encode_args
    from app.pipelines.leakcheck import DEFAULT_GATE

    p.add_argument("in_dir", metavar="IN_DIR", help="folder of videos (.mp4 .m4v .mov .mkv .avi) and photos "
                                                   "(.jpg .png); sub-folders are included; never written to")
    p.add_argument("out_dir", metavar="OUT_DIR", help="where outputs, reports and summary.csv go (made if needed)")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="files processed at once, each in its own process with its own detector (default 1; "
                        "with --engine ray: the cluster's CPUs)")
    p.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="local: worker processes on this machine (default); ray: tasks on a Ray cluster "
                        "(pip install 'obscura[ray]'; IN_DIR and OUT_DIR on storage every node sees)")
    p.add_argument("--address", metavar="ADDR",
                   help="--engine ray: the cluster (ray://HOST:10001, HOST:6379 or auto; default "
                        "RAY_ADDRESS, else a Ray started on this machine for the run)")
    p.add_argument("--shard", type=int, default=0, metavar="K", help="process only shard K (0-based) of --shards")
    p.add_argument("--shards", type=int, default=1, metavar="N",
                   help="split the files into N shards by a stable hash of their path (default 1)")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the final summary line")
    p.add_argument("--operator", help="operator name for the reports (default: the OS user name)")
    p.add_argument("--no-extend", action="store_true",
                   help="don't follow tracks visually past their detections (faster, less safe)")
    g = p.add_argument_group("leak check (on by default in batch)")
    g.add_argument("--leak-check", action=argparse.BooleanOptionalAction, default=True,
                   help="re-decode each output and look for faces and plates outside the masks")
    g.add_argument("--leak-threshold", type=float, default=DEFAULT_GATE, metavar="SCORE",
                   help=f"a leak event scoring this or more fails the file (default {DEFAULT_GATE:g})")
    g.add_argument("--leak-max-events", type=int, default=0, metavar="N",
                   help="allow up to N failing leak events per file (default 0)")
    g.add_argument("--leak-stride", type=int, default=1, metavar="K",
                   help="check every K-th frame only (default 1: every frame)")
    _add_detect_args(p)
    _add_encode_args(p)


def cmd_batch(args) -> int:
    t0 = time.perf_counter()
    in_dir, out_dir = Path(args.in_dir), Path(args.out_dir)
    if args.jobs is not None and args.jobs < 1:
        raise ObscuraError("--jobs must be 1 or more")
    if args.address and args.engine != "ray":
        raise ObscuraError("--address needs --engine ray")
    if args.shards < 1 or not 0 <= args.shard < args.shards:
        raise ObscuraError(f"--shard must be 0..{max(args.shards, 1) - 1} and --shards 1 or more")
    if args.leak_stride < 1 or args.leak_max_events < 0:
        raise ObscuraError("--leak-stride must be 1 or more and --leak-max-events 0 or more")
    check_folders(in_dir, out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot create the output folder {out_dir}: {e.strerror or e}") from None
    options = process_options(args)
    files = [f for f in list_inputs(in_dir) if in_shard(f, args.shard, args.shards)]
    summary_path = out_dir / ("summary.csv" if args.shards == 1 else
                              f"summary-shard-{args.shard}-of-{args.shards}.csv")
    say = (lambda line: None) if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    say(f"batch: {len(files)} file(s) in {in_dir}" + (f" (shard {args.shard} of {args.shards})"
                                                       if args.shards > 1 else ""))
    jobs = args.jobs if args.jobs is not None or args.engine == "ray" else 1
    results = run_batch(in_dir, out_dir, files, options, jobs=jobs, summary_path=summary_path, say=say,
                        engine=args.engine, address=args.address)
    counts = {s: sum(r.status == s for r in results) for s in ("ok", "failed", "skipped")}
    line = (f"batch: {counts['ok']} ok, {counts['failed']} failed, {counts['skipped']} skipped of {len(results)} "
            f"in {time.perf_counter() - t0:.1f} s; summary in {summary_path}")
    print(("obscura: " if counts["failed"] else "") + line, file=sys.stderr, flush=True)
    return 1 if counts["failed"] else 0


def process_options(args) -> dict:
    """The ``process`` options this batch run passes to every file: ``process``'s own defaults,
    overridden by every option both commands share. A plain dict, so it can go to a worker."""
    from app.cli import build_parser

    base = vars(build_parser().parse_args(["process", "IN", "-o", "OUT"]))
    given = vars(args)
    opts = {k: v for k, v in base.items() if k not in _PER_FILE}
    opts.update({k: v for k, v in given.items() if k in opts and k not in _BATCH_ONLY})
    return opts


# -- the file list ------------------------------------------------------------------------------
def check_folders(in_dir: Path, out_dir: Path) -> None:
    if not in_dir.exists():
        raise InputNotFound(f"input folder not found: {in_dir}")
    if not in_dir.is_dir():
        raise InputNotFound(f"input is not a folder: {in_dir}")
    src, dst = in_dir.resolve(), out_dir.resolve()
    if dst == src or src in dst.parents:
        raise OutputError(f"the output folder {out_dir} is (inside) the input folder: batch never writes there")
    if dst in src.parents:
        raise OutputError(f"the input folder {in_dir} is inside the output folder {out_dir}: use separate folders")


def list_inputs(in_dir: Path) -> list[str]:
    """Every regular file under ``in_dir`` (hidden files and folders left out), relative, sorted."""
    found = []
    for root, dirs, names in os.walk(in_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for n in names:
            if n.startswith("."):
                continue
            p = Path(root) / n
            if p.is_file():
                found.append(p.relative_to(in_dir).as_posix())
    return sorted(found)


def in_shard(rel: str, shard: int, shards: int) -> bool:
    if shards == 1:
        return True
    return int(hashlib.sha256(rel.encode("utf-8")).hexdigest()[:12], 16) % shards == shard


def kind_of(rel: str) -> str | None:
    ext = os.path.splitext(rel)[1].lower()
    return "video" if ext in VIDEO_EXTENSIONS else "image" if ext in IMAGE_EXTENSIONS else None


def outputs_for(out_dir: Path, rel: str) -> dict[str, Path]:
    out = out_dir / rel
    return {"output": out, "report": Path(f"{out}.report.json"), "html": Path(f"{out}.report.html"),
            "leak": Path(f"{out}.leak.json"), "log": Path(f"{out}.log")}


def finished(paths: dict[str, Path]) -> dict | None:
    """The report of a finished file (output and report present, the report's output size and
    SHA-256 match the file), else None."""
    try:
        if not (paths["output"].is_file() and paths["html"].is_file()):
            return None
        report = json.loads(paths["report"].read_text(encoding="utf-8"))
        facts = report["output"]
        if report.get("format") != "obscura-audit-report" or paths["output"].stat().st_size != facts["size"]:
            return None
        from app.assets import sha256_file

        return report if sha256_file(paths["output"]) == facts["sha256"] else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _facts(result: FileResult, report: dict) -> None:
    result.frames = int(report.get("export", {}).get("frames", 0))
    result.tracks = int(report.get("totals", {}).get("tracks", 0))
    leak = report.get("leak_check")
    result.leak_events = int(leak["leaks"]["events"]) if leak else ""


def _leak_verdict(report: dict) -> str | None:
    """None when the leak check passed or did not run, else why it failed."""
    leak = report.get("leak_check")
    if not leak or leak.get("gate", {}).get("passed", True):
        return None
    gate = leak["gate"]
    return (f"leak check failed: {gate.get('failing_events')} leak event(s) with score >= {gate.get('score')} "
            f"(allowed {gate.get('max_failing')}); review the output in the editor")


# -- one file -----------------------------------------------------------------------------------
_DETECTORS: dict = {}  # per process: one detector per configuration, loaded once


def _detector_for(args):
    from app.cli import _detector_config

    cfg = _detector_config(args)
    key = repr(cfg)
    if key not in _DETECTORS:
        from app.detection.detector import Detector

        _DETECTORS.clear()
        _DETECTORS[key] = Detector(cfg)
    return _DETECTORS[key]


def process_file(in_path: str, out_path: str, options: dict) -> dict:
    """Run ``obscura process IN -o OUT`` (in this process) with ``options``; its messages go to
    ``OUT.log``. Returns {"rc", "report"|None, "error"|None}: the caller decides ok/failed."""
    from datetime import UTC, datetime

    from app.cli import LEAKS_FOUND_EXIT, _analyze_into, _run_export
    from app.core.project import Project

    paths = outputs_for(Path(out_path).parent, Path(out_path).name)
    args = argparse.Namespace(**options, input=in_path, output=out_path, project=None, quiet=False,
                              no_report=False)
    log = io.StringIO()
    rc, error = 1, None
    try:
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            started = datetime.now(UTC)
            if kind_of(in_path) == "video":  # a corrupt file fails here, before the models load
                from app.media.probe import probe

                probe(in_path)
            detector = _detector_for(args)
            print(f"obscura: {detector.describe()}", file=sys.stderr)
            project = Project()
            _analyze_into(project, in_path, args, detector, then_export=True)
            rc = _run_export(project, in_path, args, detector=detector, started=started)
    except ObscuraError as e:
        rc, error = e.exit_code, str(e)
    except MemoryError:
        error = "out of memory"
    except Exception as e:  # noqa: BLE001 - an internal bug: one line here, the traceback in the log
        import traceback

        log.write(traceback.format_exc())
        rc, error = 70, f"internal error ({type(e).__name__}: {e})"
    report = finished(paths) if rc in (0, LEAKS_FOUND_EXIT) else None
    if report is not None and report.get("leak_check") is not None:
        _write_text(paths["leak"], json.dumps(report["leak_check"], indent=2, ensure_ascii=False) + "\n")
    if rc not in (0, LEAKS_FOUND_EXIT) and error is None:
        error = "cancelled" if rc == 130 else f"exit code {rc}"
    if rc in (0, LEAKS_FOUND_EXIT) and report is None:
        error = "the output or its report is missing after the export"
    if error:
        log.write(f"obscura: error: {error}\n")
    with contextlib.suppress(OSError):
        _write_text(paths["log"], log.getvalue())
    return {"rc": rc, "report": report, "error": error}


def _write_text(path: Path, text: str) -> None:
    from app.media.output import atomic_output

    with atomic_output(str(path)) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(text)


def _worker_init() -> None:
    # a worker has no terminal; keep onnxruntime/Qt quiet and never open a display
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


# -- the run ------------------------------------------------------------------------------------
def run_batch(in_dir: Path, out_dir: Path, files: list[str], options: dict, *, jobs: int | None = 1,
              summary_path: Path | None = None, say=print, engine: str = "local",
              address: str | None = None) -> list[FileResult]:
    """``engine``: "local" (this process, or ``jobs`` spawned workers) or "ray" (app.batch_ray;
    ``jobs`` None: as many at once as the cluster has CPUs)."""
    results: dict[str, FileResult] = {}
    todo: list[str] = []
    for rel in files:
        paths = outputs_for(out_dir, rel)
        r = FileResult(rel, "skipped", output=paths["output"].relative_to(out_dir).as_posix())
        if kind_of(rel) is None:
            r.output, r.message = "", f"not a video or photo Obscura handles ({os.path.splitext(rel)[1] or 'no extension'})"
        elif (report := finished(paths)) is not None:
            _facts(r, report)
            verdict = _leak_verdict(report)
            r.status, r.message = ("failed", verdict + " (from an earlier run)") if verdict else \
                ("skipped", "done in an earlier run")
        else:
            todo.append(rel)
            continue
        results[rel] = r
        say(f"  {rel}: {r.status} ({r.message})")
    order = {rel: i for i, rel in enumerate(files)}

    def write_summary() -> None:
        if summary_path is not None:
            rows = sorted(results.values(), key=lambda r: order[r.file])
            buf = io.StringIO()
            w = csv.DictWriter(buf, fieldnames=SUMMARY_FIELDS, lineterminator="\n")
            w.writeheader()
            for r in rows:
                w.writerow(r.row())
            _write_text(summary_path, buf.getvalue())

    def finish(rel: str, outcome: dict, attempt: int, seconds: float) -> bool:
        """Record one attempt; True when the file needs another attempt."""
        from app.cli import LEAKS_FOUND_EXIT

        paths = outputs_for(out_dir, rel)
        r = results.get(rel) or FileResult(rel, "failed", output=paths["output"].relative_to(out_dir).as_posix())
        results[rel] = r
        r.attempts, r.seconds = attempt, r.seconds + seconds
        report = outcome.get("report")
        if report is not None:
            _facts(r, report)
        if outcome["rc"] == 0 and report is not None:
            r.status, r.message = "ok", ""
        elif outcome["rc"] == LEAKS_FOUND_EXIT and report is not None:
            r.status, r.message = "failed", _leak_verdict(report) or "leak check failed"
        else:
            r.errors.append(outcome.get("error") or "failed")
            r.status = "failed"
            r.message = r.errors[-1] + (f" (after {attempt} attempts)" if attempt > 1 else "")
            if attempt < MAX_ATTEMPTS:
                say(f"  {rel}: attempt {attempt} failed ({r.errors[-1]}); retrying")
                return True
        if report is None:
            say(f"  {rel}: {r.status}: {r.message}")
        else:
            say(f"  {rel}: {r.status} ({r.frames} frames, {r.tracks} tracks, "
                f"{r.leak_events if r.leak_events != '' else 'no'} leak events, {r.seconds:.1f} s)"
                + ("" if r.status == "ok" else f": {r.message}"))
        write_summary()
        return False

    write_summary()
    if todo and engine == "ray":
        from app.batch_ray import run_ray

        run_ray(in_dir, out_dir, todo, options, jobs, finish, address=address, say=say)
    elif todo:
        jobs = jobs or 1
        if jobs == 1 or len(todo) == 1:
            _run_here(in_dir, out_dir, todo, options, finish)
        else:
            _run_pool(in_dir, out_dir, todo, options, min(jobs, len(todo)), finish)
    write_summary()
    return sorted(results.values(), key=lambda r: order[r.file])


def _run_here(in_dir: Path, out_dir: Path, todo: list[str], options: dict, finish) -> None:
    for rel in todo:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            t = time.perf_counter()
            outcome = process_file(str(in_dir / rel), str(out_dir / rel), options)
            if not finish(rel, outcome, attempt, time.perf_counter() - t):
                break


def _run_pool(in_dir: Path, out_dir: Path, todo: list[str], options: dict, jobs: int, finish) -> None:
    """Worker processes (spawned: no inherited threads or Qt state); a crashed worker counts as a
    failed attempt for the files it was running, and the pool is started again."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    ctx = multiprocessing.get_context("spawn")
    queue = [(rel, 1) for rel in todo]
    running: dict = {}

    def new_pool():
        return ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init)

    pool = new_pool()
    try:
        while queue or running:
            while queue and len(running) < jobs:
                rel, attempt = queue.pop(0)
                (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
                fut = pool.submit(process_file, str(in_dir / rel), str(out_dir / rel), options)
                running[fut] = (rel, attempt, time.perf_counter())
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            broken = False
            for fut in done:
                rel, attempt, t = running.pop(fut)
                try:
                    outcome = fut.result()
                except BrokenProcessPool:
                    broken = True
                    outcome = {"rc": 70, "report": None, "error": "the worker process crashed"}
                except Exception as e:  # noqa: BLE001 - e.g. a result that could not be sent back
                    outcome = {"rc": 70, "report": None, "error": f"worker error ({type(e).__name__}: {e})"}
                if finish(rel, outcome, attempt, time.perf_counter() - t):
                    queue.append((rel, attempt + 1))
            if broken:
                for fut, (rel, attempt, t) in list(running.items()):
                    running.pop(fut)
                    if finish(rel, {"rc": 70, "report": None, "error": "the worker process crashed"},
                              attempt, time.perf_counter() - t):
                        queue.append((rel, attempt + 1))
                pool.shutdown(wait=False, cancel_futures=True)
                pool = new_pool()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
