"""``obscura serve``: the REST adapter (FastAPI + uvicorn). HTTP in, a job, files out.

- :mod:`app.service.options`: the job options a client may send (validated, one-line errors)
- :mod:`app.service.runner`: the one call the service makes into the product (``run_job``)
- :mod:`app.service.store`: jobs, their folders under ``--data``, worker threads, cancel, expiry
- :mod:`app.service.http`: the FastAPI app (endpoints, bearer token, upload limit, local docs)
- :mod:`app.service.server`: ``obscura serve``'s checks and uvicorn

Nothing below the service imports it; it needs the ``[service]`` extra (FastAPI, uvicorn,
python-multipart, swagger-ui-bundle), imported only when ``obscura serve`` runs.
"""
