"""The FastAPI app of ``obscura serve``: HTTP in, a job (app.service.store), files out.

Every error is ``{"detail": "<one line>"}``. ``/v1/*`` needs the bearer token when the server
has one; the check (401) and the upload limit (413) run before a byte of the body is read.
``/docs`` (Swagger UI) and ``/redoc`` are served from the fastapi-offline package's files:
nothing is loaded from a CDN.
"""

from __future__ import annotations

import hmac
import json
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from app import __version__
from app.errors import ObscuraError
from app.service.options import JobOptions, parse_options
from app.service.store import JobStore, NotMedia, TooLarge

Status = Literal["queued", "running", "done", "failed", "cancelled"]
MULTIPART_SLACK = 64 * 1024  # the form's boundaries, headers and options field on top of the file


class Error(BaseModel):
    detail: str = Field(description="one line naming the problem")


class Health(BaseModel):
    status: Literal["ok"]
    version: str


class JobCreated(BaseModel):
    id: str
    status: Status


class JobState(BaseModel):
    id: str
    status: Status
    progress: float = Field(ge=0, le=1, description="0..1 over the whole job")
    stage: str | None = Field(None, description="the running stage: analyze, extend, export, leak check")
    error: str | None = Field(None, description="why the job failed (one line)")
    created: float = Field(description="Unix time the job was accepted")
    started: float | None = None
    finished: float | None = None
    frames: int | None = Field(None, description="frames written (a done job)")
    tracks: int | None = Field(None, description="tracks redacted or listed in the report")
    leak_events: int | None = Field(None, description="leak events found (null: no leak check)")
    leak_passed: bool | None = Field(None, description="false: the leak check failed (the job too)")


def _one_line(exc: RequestValidationError) -> str:
    err = (exc.errors() or [{}])[0]
    loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "path", "query")]
    return f"{'.'.join(loc) + ': ' if loc else ''}{err.get('msg', 'invalid request')}".replace("\n", " ")


class _Guard:
    """ASGI middleware: bearer token (401) and upload size (413) for /v1/, before the body is read."""

    def __init__(self, app, token: str | None, max_body: int):
        self.app, self.token, self.max_body = app, token, max_body

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if not authorised(self.token, headers.get("authorization")):
            return await _send_error(send, 401, "missing or wrong bearer token (Authorization: Bearer TOKEN)",
                                     [(b"www-authenticate", b"Bearer")])
        if scope["method"] != "POST":
            return await self.app(scope, receive, send)
        try:
            length = int(headers.get("content-length", "-1"))
        except ValueError:
            length = -1
        if length > self.max_body:
            return await _send_error(send, 413, self.too_large())
        seen, started, over = 0, False, False

        async def counted():  # a chunked upload (no Content-Length) is cut off at the limit
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    over = True
                    raise _BodyTooLarge
            return message

        async def tracked(message):
            nonlocal started
            if over:  # the app's answer to the cut-off body (FastAPI: 400) becomes the 413
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await _send_error(send, 413, self.too_large())
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except _BodyTooLarge:
            if not started:
                await _send_error(send, 413, self.too_large())

    def too_large(self) -> str:
        return f"the upload is larger than the limit of {(self.max_body - MULTIPART_SLACK) / 2**20:g} MB"


class _BodyTooLarge(Exception):
    pass


async def _send_error(send, status: int, detail: str, extra: list | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *(extra or [])]})
    await send({"type": "http.response.body", "body": body})


def authorised(token: str | None, header: str | None) -> bool:
    if token is None:
        return True
    if not header or not header.lower().startswith("bearer "):
        return False
    return hmac.compare_digest(header[7:].strip().encode(), token.encode())


_bearer = HTTPBearer(auto_error=False, description="the token of --token-file (when the server has one)")


def _declare_auth(_cred: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> None:
    """Declares the bearer scheme in the OpenAPI spec; the check itself is the _Guard middleware."""


ERRORS = {401: {"model": Error, "description": "missing or wrong bearer token"},
          404: {"model": Error, "description": "no such job (never, or deleted, or expired)"},
          422: {"model": Error, "description": "bad request: not media, bad options, missing field"}}


def create_app(store: JobStore, token: str | None = None, max_upload_mb: float = 1024) -> FastAPI:
    max_bytes = int(max_upload_mb * 2**20)
    app = FastAPIOffline(title="Obscura", version=__version__,
                         description="On-premise video anonymisation: upload a video or photo, get it back "
                                     "redacted with its audit report. Nothing leaves the machine.")
    app.state.store = store

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError):
        return JSONResponse({"detail": _one_line(exc)}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # every method of the path, not only those of the first route that matched
            methods = {m for r in app.router.routes if getattr(r, "path_regex", None) is not None
                       and r.path_regex.match(request.url.path) for m in (getattr(r, "methods", None) or ())}
            headers["Allow"] = ", ".join(sorted(methods))
        return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code, headers=headers)

    def job_or_404(job_id: str):
        job = store.get(job_id)
        if job is None:
            raise HTTPException(404, f"no job {job_id} (never created, deleted, or expired)")
        return job

    @app.get("/healthz", response_model=Health, tags=["service"], summary="health check (no token needed)")
    def healthz():
        return {"status": "ok", "version": __version__}

    @app.post("/v1/jobs", status_code=202, response_model=JobCreated, tags=["jobs"],
              dependencies=[Depends(_declare_auth)],
              responses={**ERRORS, 400: {"model": Error, "description": "a malformed multipart body"},
                         413: {"model": Error, "description": "the upload is over --max-upload-mb"}},
              summary="submit a video or photo")
    def create_job(file: Annotated[UploadFile, File(description="a video (.mp4 .m4v .mov .mkv .avi) or photo "
                                                                "(.jpg .jpeg .png)")],
                   options: Annotated[str | None, Form(description="JSON object, see the JobOptions schema: "
                                                                   "classes, styles per class, leak_check, "
                                                                   "leak_mode, leak_stride, preset")] = None):
        try:
            opts = parse_options(options)
            job = store.create(file.filename, file.file, opts, max_bytes)
        except TooLarge as e:
            raise HTTPException(413, str(e)) from None
        except (NotMedia, ObscuraError) as e:
            raise HTTPException(422, str(e)) from None
        return {"id": job.id, "status": job.status}

    @app.get("/v1/jobs/{job_id}", response_model=JobState, tags=["jobs"], responses=ERRORS,
             dependencies=[Depends(_declare_auth)], summary="a job's status and progress")
    def job_state(job_id: str):
        return job_or_404(job_id).public()

    def finished_file(job_id: str, path_of) -> Path:
        job = job_or_404(job_id)
        if not job.has_result():
            why = job.error or ("the job was cancelled" if job.status == "cancelled" else f"the job is {job.status}")
            raise HTTPException(409, f"no result for job {job_id}: {why}")
        return path_of(job)

    not_ready = {409: {"model": Error, "description": "the job has no result (yet)"}}

    @app.get("/v1/jobs/{job_id}/result", tags=["jobs"], dependencies=[Depends(_declare_auth)],
             responses={**ERRORS, **not_ready, 200: {"description": "the redacted file",
                                                     "content": {"application/octet-stream": {}}}},
             response_class=FileResponse, summary="the redacted video or photo")
    def job_result(job_id: str):
        path = finished_file(job_id, lambda j: j.output_path)
        return FileResponse(path, filename=path.name, media_type="application/octet-stream")

    @app.get("/v1/jobs/{job_id}/report", tags=["jobs"], dependencies=[Depends(_declare_auth)],
             responses={**ERRORS, **not_ready, 200: {"description": "the audit report (resources/report.schema.json)",
                                                     "content": {"application/json": {"schema": {"type": "object"}}}}},
             summary="the audit report (JSON)")
    def job_report(job_id: str):
        path = finished_file(job_id, lambda j: j.report_path)
        return JSONResponse(json.loads(path.read_text(encoding="utf-8")))

    @app.delete("/v1/jobs/{job_id}", response_model=JobState, tags=["jobs"], responses=ERRORS,
                dependencies=[Depends(_declare_auth)], summary="cancel the job if it runs, and remove its files")
    def job_delete(job_id: str):
        job = store.delete(job_id)
        if job is None:
            raise HTTPException(404, f"no job {job_id} (never created, deleted, or expired)")
        return job.public()

    app.openapi_schema = None
    base_openapi = app.openapi

    def openapi():
        if app.openapi_schema is None:
            spec = base_openapi()
            spec.setdefault("components", {}).setdefault("schemas", {})["JobOptions"] = JobOptions.model_json_schema(
                ref_template="#/components/schemas/{model}")
            defs = spec["components"]["schemas"]["JobOptions"].pop("$defs", {})
            spec["components"]["schemas"].update(defs)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi
    app.add_middleware(_Guard, token=token, max_body=max_bytes + MULTIPART_SLACK)
    return app
