"""``obscura batch IN_DIR OUT_DIR``: the process job over every video and photo in a folder.

This is the engine (typed :class:`BatchOptions` in, :class:`FileResult` rows out); its command
line lives in :mod:`app.cli`, which builds the options from the same arguments ``process`` has.

Per input ``IN_DIR/REL`` it writes ``OUT_DIR/REL`` (the redacted copy), ``OUT_DIR/REL.report.json``
and ``.report.html`` (the audit report), ``OUT_DIR/REL.leak.json`` (the leak check's result, also
inside the report) and ``OUT_DIR/REL.log`` (what ``obscura process`` would have printed), plus one
``OUT_DIR/summary.csv`` (``summary-shard-K-of-N.csv`` with ``--shards``).

- Same job as ``obscura process`` (:func:`app.jobs.process.process_job`, called directly, its typed
  result read back): the options it shares with ``process`` (detection, encoding, style, leak
  check) mean the same; the leak check is on by default here.
- Resumable: a file whose output and report exist and agree (the report's output size and SHA-256
  match the file) is skipped. A file that fails is retried once in the same run, then reported as
  failed. A file whose leak check failed keeps its output and report (for review in the editor) and
  is reported as failed again by later runs, without being processed again.
- ``--engine ray [--address ADDR]`` hands the files to a Ray cluster instead (app/batch_ray.py:
  the same process_file as Ray tasks, the same resume, retries and summary.csv).
- ``--jobs N`` runs N worker processes (spawned, each loads its own detector); 1 (the default)
  runs in this process.
- ``--shard K --shards N`` takes only the files whose relative path hashes to K (stable when files
  are added), so N copies (a Kubernetes Indexed Job) share one folder without overlap.
- Never writes into IN_DIR: OUT_DIR may not be IN_DIR or inside it.

Exit code: 0 when every file is done or skipped, 1 when any failed (one summary line on stderr).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from app.errors import InputNotFound, ObscuraError, OutputError

VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".avi"})  # what the writer can also write
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png"})
SUMMARY_FIELDS = ("file", "status", "frames", "tracks", "leak_events", "seconds", "attempts", "output", "message")
MAX_ATTEMPTS = 2  # a failed file is retried once


@dataclass(frozen=True)
class BatchOptions:
    """What every file of a batch is processed with (picklable: it goes to worker processes).

    ``delivery``'s ``output`` is replaced per file; ``detector`` is a
    :class:`~app.detection.detector.DetectorConfig`, loaded once per worker."""

    detector: object
    analysis: object  # app.jobs.AnalysisOptions
    delivery: object  # app.jobs.DeliveryOptions (its output is set per file)
    styles: dict = field(default_factory=dict)


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


@dataclass
class FileOutcome:
    """One attempt at one file, as a worker sends it back: the exit code the file would have given
    ``obscura process``, the facts for summary.csv, and what went wrong in one line."""

    rc: int
    frames: int | str = ""
    tracks: int | str = ""
    leak_events: int | str = ""
    leak_verdict: str | None = None  # why the leak check failed (None: it passed or did not run)
    error: str | None = None


def prepare(in_dir: Path, out_dir: Path, jobs: int = 1, shard: int = 0, shards: int = 1) -> None:
    """Check a batch's folders and numbers before any file is looked at (one-line errors)."""
    if jobs < 1:
        raise ObscuraError("--jobs must be 1 or more")
    if shards < 1 or not 0 <= shard < shards:
        raise ObscuraError(f"--shard must be 0..{max(shards, 1) - 1} and --shards 1 or more")
    check_folders(in_dir, out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot create the output folder {out_dir}: {e.strerror or e}") from None


def summary_name(shard: int, shards: int) -> str:
    return "summary.csv" if shards == 1 else f"summary-shard-{shard}-of-{shards}.csv"


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


def _facts(result, report: dict) -> None:
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


def _detector_for(config):
    key = repr(config)
    if key not in _DETECTORS:
        from app.detection.detector import Detector

        _DETECTORS.clear()
        _DETECTORS[key] = Detector(config)
    return _DETECTORS[key]


def process_file(in_path: str, out_path: str, options: BatchOptions, cancel=None) -> FileOutcome:
    """Process one file with the process job (in this process); what ``obscura process`` would have
    printed goes to ``OUT.log``, errors scrubbed as in the crash logs."""
    from dataclasses import replace

    from app.base.logs import format_for_log, scrub_log_text
    from app.base.progress import run
    from app.jobs.delivery import preflight
    from app.jobs.process import process_job
    from app.jobs.text import progress_printer
    from app.media.facts import open_media

    paths = outputs_for(Path(out_path).parent, Path(out_path).name)
    log = io.StringIO()
    outcome = FileOutcome(rc=1)
    try:
        media = open_media(in_path)  # a corrupt file fails here, before the models load
        delivery = replace(options.delivery, output=out_path)
        preflight(media, delivery)  # ... and an output the writer cannot make (codec, container, folder)
        detector = _detector_for(options.detector)
        done = run(process_job(media, detector, delivery, options.analysis, styles=options.styles, cancel=cancel),
                   progress_printer(log, tty=False))
        outcome.rc = done.exit_code
        if done.delivery is not None and not done.cancelled:
            d = done.delivery
            outcome.frames, outcome.tracks = d.export.frames, len(done.project.tracks)
            if d.leak is not None:
                outcome.leak_events = len(d.leak.leaks)
                if not d.leak_passed:
                    from app.jobs.text import leak_failed_line

                    outcome.leak_verdict = leak_failed_line(d) + "; review the output in the editor"
                if d.report is not None:
                    _write_text(paths["leak"], json.dumps(d.report["leak_check"], indent=2, ensure_ascii=False) + "\n")
            if d.report is None:
                outcome.rc, outcome.error = 1, "no audit report was written"
        elif done.cancelled:
            outcome.error = "cancelled"
    except ObscuraError as e:
        outcome.rc, outcome.error = e.exit_code, str(e)
    except MemoryError:
        outcome.error = "out of memory"
    except Exception as e:  # noqa: BLE001 - an internal bug: one scrubbed line here, the details in the log
        log.write(format_for_log(e))
        outcome.rc, outcome.error = 70, f"internal error ({type(e).__name__}: {scrub_log_text(str(e))[:200]})"
    if outcome.error:
        log.write(f"obscura: error: {outcome.error}\n")
    try:
        _write_text(paths["log"], log.getvalue())
    except ObscuraError:
        pass
    return outcome


def _write_text(path: Path, text: str) -> None:
    from app.base.atomic import atomic_output

    with atomic_output(str(path)) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(text)


def _worker_init() -> None:
    # a worker has no terminal; keep onnxruntime/Qt quiet and never open a display
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


# -- the run ------------------------------------------------------------------------------------
def run_batch(in_dir: Path, out_dir: Path, files: list[str], options: BatchOptions, *, jobs: int | None = 1,
              summary_path: Path | None = None, say=print, engine: str = "local",
              address: str | None = None) -> list[FileResult]:
    """``engine``: "local" (this process, or ``jobs`` spawned workers) or "ray" (app.batch_ray: the
    same process_file as Ray tasks; ``jobs`` None: as many at once as the cluster has CPUs)."""
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

    def finish(rel: str, outcome: FileOutcome, attempt: int, seconds: float) -> bool:
        """Record one attempt; True when the file needs another attempt."""
        from app.jobs.delivery import LEAKS_FOUND_EXIT

        paths = outputs_for(out_dir, rel)
        r = results.get(rel) or FileResult(rel, "failed", output=paths["output"].relative_to(out_dir).as_posix())
        results[rel] = r
        r.attempts, r.seconds = attempt, r.seconds + seconds
        delivered = outcome.rc in (0, LEAKS_FOUND_EXIT) and outcome.error is None
        if delivered:
            r.frames, r.tracks, r.leak_events = outcome.frames, outcome.tracks, outcome.leak_events
        if delivered and outcome.rc == 0:
            r.status, r.message = "ok", ""
        elif delivered:
            r.status, r.message = "failed", outcome.leak_verdict or "leak check failed"
        else:
            r.errors.append(outcome.error or f"exit code {outcome.rc}")
            r.status = "failed"
            r.message = r.errors[-1] + (f" (after {attempt} attempts)" if attempt > 1 else "")
            if attempt < MAX_ATTEMPTS:
                say(f"  {rel}: attempt {attempt} failed ({r.errors[-1]}); retrying")
                return True
        if not delivered:
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

        run_ray(in_dir, out_dir, todo, options, jobs, finish, process=process_file,
                failed=lambda error: FileOutcome(70, error=error), address=address, say=say)
    elif todo:
        jobs = jobs or 1
        if jobs == 1 or len(todo) == 1:
            _run_here(in_dir, out_dir, todo, options, finish)
        else:
            _run_pool(in_dir, out_dir, todo, options, min(jobs, len(todo)), finish)
    write_summary()
    return sorted(results.values(), key=lambda r: order[r.file])


def _run_here(in_dir: Path, out_dir: Path, todo: list[str], options: BatchOptions, finish) -> None:
    for rel in todo:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            t = time.perf_counter()
            outcome = process_file(str(in_dir / rel), str(out_dir / rel), options)
            if not finish(rel, outcome, attempt, time.perf_counter() - t):
                break


def _run_pool(in_dir: Path, out_dir: Path, todo: list[str], options: BatchOptions, jobs: int, finish) -> None:
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
                    outcome = FileOutcome(70, error="the worker process crashed")
                except Exception as e:  # noqa: BLE001 - e.g. a result that could not be sent back
                    outcome = FileOutcome(70, error=f"worker error ({type(e).__name__})")
                if finish(rel, outcome, attempt, time.perf_counter() - t):
                    queue.append((rel, attempt + 1))
            if broken:
                for fut, (rel, attempt, t) in list(running.items()):
                    running.pop(fut)
                    if finish(rel, FileOutcome(70, error="the worker process crashed"),
                              attempt, time.perf_counter() - t):
                        queue.append((rel, attempt + 1))
                pool.shutdown(wait=False, cancel_futures=True)
                pool = new_pool()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
