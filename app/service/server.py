"""``obscura serve``: its options, the checks before it listens, and uvicorn."""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
import sys

from app.errors import ObscuraError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``15m``, ``24h`` or ``7d`` as seconds (argparse type)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", str(text))
    if not m or float(m.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' is not a duration like 90s, 15m, 24h or 7d")
    return float(m.group(1)) * _UNITS[m.group(2) or "s"]


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def read_token(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            token = f.read().strip()
    except OSError as e:
        raise ObscuraError(f"--token-file {path}: cannot read it ({e.strerror or e})") from None
    except UnicodeDecodeError:
        raise ObscuraError(f"--token-file {path}: not a text file") from None
    if not token or any(c.isspace() for c in token):
        raise ObscuraError(f"--token-file {path}: the token must be one word on one line (it is empty or has spaces)")
    if len(token) < 16:
        raise ObscuraError(f"--token-file {path}: the token is too short ({len(token)} characters; use 16 or more, "
                           "e.g. from: python -c 'import secrets; print(secrets.token_urlsafe(32))')")
    return token


def default_data_dir() -> str:
    from app.assets import data_dir

    return str(data_dir() / "service-jobs")


def add_serve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; any other address needs --token-file)")
    p.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    p.add_argument("--token-file", metavar="FILE",
                   help="file holding the bearer token that every /v1/ request must send")
    p.add_argument("--data", metavar="DIR", default=None,
                   help="folder for the jobs' files (default: 'service-jobs' in the user data folder); "
                        "emptied of jobs when the server stops")
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="jobs run at once (default 1)")
    p.add_argument("--max-upload-mb", type=float, default=2048, metavar="MB",
                   help="largest upload accepted (default 2048 MB); larger ones get 413")
    p.add_argument("--retention", type=parse_duration, default=parse_duration("1h"), metavar="DURATION",
                   help="finished jobs and their files are removed this long after they end (default 1h; "
                        "e.g. 90s, 15m, 24h, 7d)")
    p.add_argument("--log-level", choices=["critical", "error", "warning", "info", "debug"], default="info")


def cmd_serve(args) -> int:
    if args.jobs < 1:
        raise ObscuraError("--jobs must be 1 or more")
    if args.max_upload_mb <= 0:
        raise ObscuraError("--max-upload-mb must be more than 0")
    if not 0 <= args.port <= 65535:
        raise ObscuraError(f"--port must be 0-65535, got {args.port}")
    token = read_token(args.token_file) if args.token_file else None
    if token is None and not is_loopback(args.host):
        raise ObscuraError(f"refusing to listen on {args.host} without --token-file: anyone who reaches it could "
                           "upload and download videos; give a token file, or listen on 127.0.0.1")
    try:
        import uvicorn

        from app.service.http import create_app
        from app.service.store import JobStore
    except ImportError as e:
        raise ObscuraError(f"obscura serve needs the service extra ({e.name} is missing): "
                           "pip install 'obscura[service]'") from None
    store = JobStore(args.data or default_data_dir(), jobs=args.jobs, retention_s=args.retention)
    try:
        app = create_app(store, token=token, max_upload_mb=args.max_upload_mb)
        shown = f"[{args.host}]" if ":" in args.host else args.host
        print(f"obscura serve: http://{shown}:{args.port}/ (API docs at /docs), {args.jobs} job(s) at once, "
              f"{'bearer token required' if token else 'no token (loopback only)'}, "
              f"uploads up to {args.max_upload_mb:g} MB, finished jobs kept {args.retention:g} s",
              file=sys.stderr, flush=True)
        config = uvicorn.Config(app, host=args.host, port=args.port, log_level=args.log_level,
                                server_header=False, proxy_headers=False, timeout_graceful_shutdown=10)
        server = uvicorn.Server(config)
        server.run()
        return 0 if server.started else 1
    finally:
        store.close()


def write_openapi(path: str | None = None) -> str:
    """The service's OpenAPI spec as committed in docs/openapi.json (``python -m app.service.server``)."""
    import json
    import tempfile

    from app.service.http import create_app
    from app.service.store import JobStore

    with tempfile.TemporaryDirectory(prefix="obscura-openapi-") as tmp:
        store = JobStore(os.path.join(tmp, "data"))
        try:
            text = json.dumps(create_app(store, token="x" * 16).openapi(), indent=2, sort_keys=True) + "\n"
        finally:
            store.close()
    if path:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    return text


if __name__ == "__main__":  # python -m app.service.server docs/openapi.json
    if len(sys.argv) > 1:
        write_openapi(sys.argv[1])
    else:
        print(write_openapi(), end="")
