"""Run inside the serve image (``podman exec -i C python - < serve_smoke.py``): the whole job life
cycle over loopback with only the standard library, as a client with the token would do it.

Prints one JSON line: health, job status, frames of the downloaded result, report facts."""

import json
import os
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from fractions import Fraction

BASE = "http://127.0.0.1:8000"
TOKEN = open("/run/secrets/obscura-token").read().strip()


def call(method, path, body=None, headers=None, token=True):
    h = dict(headers or {})
    if token:
        h["Authorization"] = f"Bearer {TOKEN}"
    req = urllib.request.Request(BASE + path, data=body, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def clip(path, frames=12):
    import av
    import numpy as np

    out = av.open(path, "w")
    s = out.add_stream("libx264", rate=25)
    s.width, s.height, s.pix_fmt = 160, 120, "yuv420p"
    s.codec_context.time_base = Fraction(1, 25)
    rng = np.random.default_rng(0)
    for i in range(frames):
        f = av.VideoFrame.from_ndarray(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8), format="bgr24")
        f.pts = i
        out.mux(s.encode(f))
    out.mux(s.encode(None))
    out.close()


def main():
    facts = {}
    facts["healthz"] = call("GET", "/healthz", token=False)[0]
    facts["no_token"] = call("GET", "/v1/jobs/x", token=False)[0]
    tmp = tempfile.mkdtemp(dir="/tmp")
    src = os.path.join(tmp, "smoke.mp4")
    clip(src)
    boundary = uuid.uuid4().hex
    opts = json.dumps({"leak_check": True, "preset": "ultrafast"})
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"options\"\r\n\r\n{opts}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"smoke.mp4\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + open(src, "rb").read() + \
        f"\r\n--{boundary}--\r\n".encode()
    status, data = call("POST", "/v1/jobs", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    facts["post"] = status
    job = json.loads(data)["id"]
    deadline = time.time() + 300
    while True:
        state = json.loads(call("GET", f"/v1/jobs/{job}")[1])
        if state["status"] in ("done", "failed", "cancelled") or time.time() > deadline:
            break
        time.sleep(0.5)
    facts["status"], facts["error"] = state["status"], state.get("error")
    status, data = call("GET", f"/v1/jobs/{job}/result")
    out = os.path.join(tmp, "result.mp4")
    open(out, "wb").write(data)
    from app.media.probe import probe

    facts["result_frames"] = probe(out).frame_count if status == 200 else None
    status, data = call("GET", f"/v1/jobs/{job}/report")
    report = json.loads(data) if status == 200 else {}
    facts["report_frames"] = report.get("export", {}).get("frames")
    facts["report_leak_check"] = bool(report.get("leak_check"))
    facts["delete"] = json.loads(call("DELETE", f"/v1/jobs/{job}")[1])["status"]
    facts["after_delete"] = call("GET", f"/v1/jobs/{job}")[0]
    facts["left_in_jobs"] = sorted(os.listdir("/jobs"))
    print(json.dumps(facts))


main()
