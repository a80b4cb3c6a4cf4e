"""``obscura batch IN OUT --engine ray [--address ADDR]``: the batch's files spread over a Ray cluster.

Only the executor changes: ``app.batch.run_batch`` still decides what is done (resume), retries a
failed file once and writes the same ``summary.csv``; each file is one Ray task that calls the
same per-file function as the local pool (``app.batch.process_file``, which calls the process job).

- ``--address``: the cluster (``ray://HOST:10001`` through Ray Client, or ``HOST:6379`` /
  ``auto`` from a node of the cluster); without it, ``RAY_ADDRESS``, else a Ray started for this
  run on this machine.
- ``IN_DIR`` and ``OUT_DIR`` must be the same paths on every node (a shared file system: NFS,
  CephFS, a ReadWriteMany volume): the tasks read and write the files in place, never through
  the object store.
- The driver's own ``app`` package is shipped to the workers (``runtime_env`` ``py_modules``), so
  they run the driver's version of Obscura; its dependencies (PyAV, ONNX Runtime, ...) and the
  models must be installed on the nodes (the container image has them).
- ``--jobs N``: files in flight at once (default: the cluster's CPUs); one CPU is reserved per
  task (each loads its own detector once per worker process).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from app.errors import ObscuraError


class RayError(ObscuraError):
    pass


def _ray():
    try:
        import ray
    except ImportError:
        raise RayError("--engine ray needs Ray: pip install 'obscura[ray]'") from None
    return ray


def _connect(ray, address: str | None, jobs: int | None) -> None:
    """ray.init for this run: the cluster at ``address`` (or RAY_ADDRESS), else a Ray on this machine."""
    import app

    runtime_env = {"py_modules": [str(Path(app.__file__).resolve().parent)],
                   "excludes": ["__pycache__", "*.pyc"],
                   "env_vars": {"QT_QPA_PLATFORM": "offscreen", "PYTHONDONTWRITEBYTECODE": "1"}}
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address and address != "auto" and "://" not in address:
        _check_reachable(address)  # ray.init would retry a dead GCS address for minutes
    kwargs = dict(runtime_env=runtime_env, log_to_driver=False, logging_level="warning",
                  configure_logging=True, ignore_reinit_error=True)
    if address is None:
        kwargs.update(num_cpus=jobs or os.cpu_count() or 1, include_dashboard=False)
    try:
        ray.init(address=address, **kwargs)
    except (ConnectionError, RuntimeError, ValueError) as e:
        where = address or "a local Ray"
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise RayError(f"cannot connect to the Ray cluster at {where}: {first}") from None


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    import socket

    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=timeout):
            pass
    except ValueError:
        raise RayError(f"--address {address}: give HOST:PORT, ray://HOST:PORT or auto") from None
    except OSError as e:
        raise RayError(f"cannot connect to the Ray cluster at {address}: {e.strerror or e} "
                       "(is 'ray start --head' running there?)") from None


def run_ray(in_dir: Path, out_dir: Path, todo: list[str], options, jobs: int | None, finish, *,
            process: Callable, failed: Callable[[str], object], address: str | None = None, say=print) -> None:
    """Run ``todo`` on Ray: ``process(in_path, out_path, options)`` (app.batch.process_file, passed in:
    this module sits below app.batch) per file as a task; ``finish(rel, outcome, attempt, seconds)``
    as in app.batch (True: try again); ``failed(message)``: the outcome of a task that died."""
    ray = _ray()
    _connect(ray, address, jobs)
    try:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        slots = max(1, min(jobs or cpus, len(todo)))
        say(f"batch: Ray cluster with {cpus} CPU(s) on {len(ray.nodes())} node(s); {slots} file(s) at a time")
        task = ray.remote(num_cpus=1, max_retries=0)(process)
        queue = [(rel, 1) for rel in todo]
        running: dict = {}
        while queue or running:
            while queue and len(running) < slots:
                rel, attempt = queue.pop(0)
                (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
                ref = task.remote(str(in_dir / rel), str(out_dir / rel), options)
                running[ref] = (rel, attempt, time.perf_counter())
            done, _ = ray.wait(list(running), num_returns=1)
            for ref in done:
                rel, attempt, t = running.pop(ref)
                try:
                    outcome = ray.get(ref)
                except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError,
                        ray.exceptions.RayActorError):
                    outcome = failed("the worker process crashed")
                except ray.exceptions.RayError as e:  # e.g. a task that could not be scheduled or shipped
                    first = (str(e).strip().splitlines() or [""])[0][:200]
                    outcome = failed(f"Ray task error ({type(e).__name__}: {first})")
                if finish(rel, outcome, attempt, time.perf_counter() - t):
                    queue.append((rel, attempt + 1))
    finally:
        ray.shutdown()  # stops the Ray this run started; from a cluster, disconnects this driver only
