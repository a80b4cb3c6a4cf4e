"""Jobs of ``obscura serve``: one folder each under ``--data``, run by N worker threads.

A job's folder ``DATA/job-<id>/`` holds ``in/NAME`` (the upload, removed when the job ends),
``out/NAME`` and ``out/NAME.report.json`` / ``.report.html``. DELETE cancels a queued or running
job (its cancel token, checked by every stage between frames) and removes the folder; finished
jobs are removed ``retention`` seconds after they end; a stopped server removes every folder.
Nothing else is written under ``--data``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from app.base.progress import CancelToken
from app.errors import ObscuraError
from app.service.options import JobOptions
from app.service.runner import JobResult, run_job

log = logging.getLogger("obscura.service")

VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".avi"})
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png"})
_FOLDER = re.compile(r"^job-[0-9a-f]{32}$")
ACTIVE = ("queued", "running")


class NotMedia(ObscuraError):
    exit_code = 3


class TooLarge(ObscuraError):
    pass


def safe_name(filename: str | None) -> str:
    """The upload's file name reduced to a plain, short name (no folders, no control characters)."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = "".join(ch for ch in name if ch.isalnum() or ch in "._- ").strip(" .")
    stem, ext = os.path.splitext(name)
    stem = stem[:100] or "upload"
    return stem + ext.lower()[:10]


@dataclass
class Job:
    id: str
    folder: Path
    name: str
    options: JobOptions
    status: str = "queued"
    progress: float = 0.0
    stage: str = ""
    error: str | None = None
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    cancel: CancelToken = field(default_factory=CancelToken)
    result: JobResult | None = None
    future: Future | None = None
    deleted: bool = False

    @property
    def input_path(self) -> Path:
        return self.folder / "in" / self.name

    @property
    def output_path(self) -> Path:
        return self.folder / "out" / self.name

    @property
    def report_path(self) -> Path:
        return Path(f"{self.output_path}.report.json")

    def has_result(self) -> bool:
        return self.result is not None and self.result.report_path is not None and self.output_path.is_file()

    def public(self) -> dict:
        d: dict = {"id": self.id, "status": self.status, "progress": round(self.progress, 4),
                   "stage": self.stage or None, "created": self.created, "started": self.started,
                   "finished": self.finished}
        if self.error:
            d["error"] = self.error
        r = self.result
        if r is not None and not r.cancelled and r.report_path:
            d.update(frames=r.frames, tracks=r.tracks, leak_events=r.leak_events, leak_passed=r.leak_passed)
        return d


class JobStore:
    def __init__(self, data_dir: str | os.PathLike, jobs: int = 1, retention_s: float = 3600.0,
                 runner: Callable[..., JobResult] = run_job):
        self.data = Path(data_dir)
        self.retention_s = float(retention_s)
        self.runner = runner
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        try:
            self.data.mkdir(parents=True, exist_ok=True)
            os.chmod(self.data, 0o700)  # uploads are personal data: the service's user only
        except OSError as e:
            raise ObscuraError(f"--data {self.data}: cannot use it ({e.strerror or e})") from None
        for p in self.data.iterdir():  # an earlier server's jobs: unreachable now
            if _FOLDER.match(p.name):
                shutil.rmtree(p, ignore_errors=True)
        self._pool = ThreadPoolExecutor(max_workers=max(1, int(jobs)), thread_name_prefix="obscura-job")
        self._sweeper = threading.Thread(target=self._sweep_loop, name="obscura-expiry", daemon=True)
        self._sweeper.start()

    # -- jobs ------------------------------------------------------------------------------------
    def create(self, filename: str | None, upload: BinaryIO, options: JobOptions, max_bytes: int) -> Job:
        """Store the upload, check that it is a video or photo (NotMedia: one line), queue the job."""
        name = safe_name(filename)
        ext = os.path.splitext(name)[1]
        if ext not in VIDEO_EXTENSIONS | IMAGE_EXTENSIONS:
            raise NotMedia(f"{name}: not a video or photo Obscura handles ({ext or 'no extension'}); "
                           "send .mp4 .m4v .mov .mkv .avi .jpg .jpeg or .png")
        job = Job(uuid.uuid4().hex, Path(), name, options)
        job.folder = self.data / f"job-{job.id}"
        try:
            (job.folder / "in").mkdir(parents=True)
            (job.folder / "out").mkdir()
            size = 0
            with open(job.input_path, "wb") as f:
                while chunk := upload.read(1 << 20):
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(f"the upload is larger than the limit of {max_bytes / 2**20:g} MB")
                    f.write(chunk)
            self._check_media(job)
        except BaseException:
            shutil.rmtree(job.folder, ignore_errors=True)
            raise
        with self._lock:
            self._jobs[job.id] = job
            job.future = self._pool.submit(self._run, job)
        return job

    @staticmethod
    def _check_media(job: Job) -> None:
        path = str(job.input_path)
        try:
            if os.path.splitext(path)[1] in IMAGE_EXTENSIONS:
                from app.media.images import check_photo

                check_photo(path)
            else:
                from app.media.probe import check_video

                check_video(path)
        except ObscuraError as e:  # the product's own line, with the file's name instead of our path
            raise NotMedia(str(e).replace(path, job.name).replace(str(job.folder), "")) from None

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def list(self) -> list[Job]:
        with self._lock:
            return list(self._jobs.values())

    def delete(self, job_id: str, wait_s: float = 30.0) -> Job | None:
        """Cancel the job if it is queued or running, wait (bounded) for it to stop, remove its files."""
        with self._lock:
            job = self._jobs.pop(job_id, None)
        if job is None:
            return None
        job.deleted = True
        if job.status in ACTIVE:
            job.cancel.cancel()
            if job.future is not None and job.future.cancel():  # never started
                job.status, job.finished = "cancelled", time.time()
            elif job.future is not None:
                try:
                    job.future.result(timeout=wait_s)
                except Exception:  # noqa: BLE001 - timeout: the worker removes the folder when it stops
                    pass
        if job.future is None or job.future.done():
            shutil.rmtree(job.folder, ignore_errors=True)
        return job

    def _run(self, job: Job) -> None:
        try:
            if job.cancel.cancelled:
                job.status = "cancelled"
                return
            job.status, job.started = "running", time.time()

            def progress(fraction: float, stage: str) -> None:
                job.progress, job.stage = max(job.progress, fraction), stage

            try:
                job.result = self.runner(str(job.input_path), str(job.output_path), job.options, job.cancel,
                                         progress)
                if job.result.cancelled or job.cancel.cancelled:
                    job.status = "cancelled"
                elif job.result.leak_passed is False:
                    job.status, job.error = "failed", job.result.leak_message
                else:
                    job.status, job.progress = "done", 1.0
            except ObscuraError as e:
                job.status, job.error = "failed", str(e).replace(str(job.folder) + os.sep, "")
            except MemoryError:
                job.status, job.error = "failed", "out of memory"
            except Exception as e:  # noqa: BLE001 - an internal bug: one line to the client, details in the log
                from app.base.logs import format_for_log

                log.error("job %s: internal error\n%s", job.id, format_for_log(e))
                job.status, job.error = "failed", f"internal error ({type(e).__name__})"
        finally:
            job.finished = time.time()
            with contextlib.suppress(OSError):
                job.input_path.unlink()  # the upload is not kept once the job has ended
            if job.deleted:
                shutil.rmtree(job.folder, ignore_errors=True)

    # -- expiry and shutdown ---------------------------------------------------------------------
    def sweep(self, now: float | None = None) -> list[str]:
        """Remove the jobs that ended more than ``retention`` seconds ago; returns their ids."""
        now = time.time() if now is None else now
        with self._lock:
            old = [j.id for j in self._jobs.values()
                   if j.status not in ACTIVE and j.finished is not None and now - j.finished >= self.retention_s]
        for job_id in old:
            self.delete(job_id)
        return old

    def _sweep_loop(self) -> None:
        interval = min(60.0, max(0.2, self.retention_s / 4))
        while not self._stop.wait(interval):
            try:
                self.sweep()
            except Exception:  # noqa: BLE001 - keep sweeping
                log.exception("expiry sweep failed")

    def close(self, wait_s: float = 30.0) -> None:
        """Cancel every job, wait for the workers (bounded), remove every job folder."""
        self._stop.set()
        with self._lock:
            jobs = list(self._jobs.values())
        for j in jobs:
            j.cancel.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + wait_s
        for j in jobs:
            if j.future is not None and not j.future.done():
                try:
                    j.future.result(timeout=max(0.0, deadline - time.monotonic()))
                except Exception:  # noqa: BLE001
                    pass
        with self._lock:
            self._jobs.clear()
        for j in jobs:
            shutil.rmtree(j.folder, ignore_errors=True)
