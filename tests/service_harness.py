"""Start and stop a real ``obscura serve`` on 127.0.0.1 for the service tests (bounded in time)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
TOKEN = "test-token-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, proc: subprocess.Popen, url: str, data: Path, token: str | None, log: Path):
        self.proc, self.url, self.data, self.token, self.log = proc, url, data, token, log

    def client(self, token: str | None = "default", timeout: float = 60) -> httpx.Client:
        token = self.token if token == "default" else token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout, trust_env=False)

    def left_in_data(self) -> list[str]:
        return sorted(p.relative_to(self.data).as_posix() for p in self.data.rglob("*"))

    def wait_state(self, client: httpx.Client, job_id: str, until, timeout: float = 240, seen=None) -> dict:
        """Poll GET /v1/jobs/ID until ``until(state)``; ``seen`` collects every state read."""
        deadline = time.monotonic() + timeout
        while True:
            r = client.get(f"/v1/jobs/{job_id}")
            assert r.status_code == 200, r.text
            state = r.json()
            if seen is not None:
                seen.append(state)
            if until(state):
                return state
            assert time.monotonic() < deadline, f"job {job_id} still {state} after {timeout} s\n{self.tail()}"
            time.sleep(0.1)

    def tail(self) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace")[-3000:]
        return ""


@contextlib.contextmanager
def serve(tmp: Path, *args: str, token: str | None = TOKEN, start_timeout: float = 60):
    """``obscura serve`` in a child process on a free loopback port; stopped (SIGINT, then kill) after."""
    data = tmp / "data"
    port = free_port()
    cmd = [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port), "--data", str(data),
           "--log-level", "warning", *args]
    if token:
        tf = tmp / "token"
        tf.write_text(token + "\n")
        cmd += ["--token-file", str(tf)]
    log = tmp / "serve.log"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=env)
    server = Server(proc, f"http://127.0.0.1:{port}", data, token, log)
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            assert proc.poll() is None, f"obscura serve exited with {proc.returncode}:\n{server.tail()}"
            try:
                if httpx.get(server.url + "/healthz", timeout=2, trust_env=False).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"obscura serve did not start in {start_timeout} s\n{server.tail()}"
            time.sleep(0.2)
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
