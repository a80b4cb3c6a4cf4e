"""End-to-end speed and memory of ``obscura process`` against the floor of any redactor.

    python bench/pipeline_bench.py [--sizes 1920x1080,1280x720] [--frames 250] [--clips DIR]
                                   [--device cpu] [--repeat-floor 1] [--json OUT] [-- PROCESS ARGS]

For each size, one clip of real faces and plates moving over real footage
(``bench/make_tracking_clips.py``'s ``t3_asphalt_scale``, rendered at that size and cached in
``--clips``). Then, one after the other on the same machine:

* **floor**: decode the clip with PyAV and re-encode it with libx264 ``medium`` CRF 18 (the
  product's default encoder settings), no analysis: what any redactor pays at least;
* **process**: ``python -m app process CLIP -o OUT -q --device cpu`` in a child process (its
  defaults, no leak check), timed from the outside, its peak RSS from ``wait4``, and the time per
  stage from the product's own stage timer (``OBSCURA_STAGE_TIMES``, ``app/base/stages.py``).

Printed: floor seconds, process seconds, the ratio floor / process (the speed issue's number:
1.0 = as fast as a plain re-encode), peak RSS, and each stage's seconds and share. Arguments
after ``--`` go to ``obscura process`` (e.g. ``-- --no-extend``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
CLIP = "t3_asphalt_scale"


def make(size: tuple[int, int], frames: int, folder: Path) -> Path:
    from bench.make_tracking_clips import CLIPS_BY_NAME, make_clip

    out = folder / f"{size[0]}x{size[1]}-{frames}"
    video = out / f"{CLIP}.mp4"
    if not video.exists():
        make_clip(CLIPS_BY_NAME[CLIP], out, frames=frames, size=size)
    return video


def floor(video: Path, out: Path) -> float:
    import av

    t0 = time.perf_counter()
    with av.open(str(video)) as src, av.open(str(out), "w") as dst:
        vin = src.streams.video[0]
        vin.thread_type = "AUTO"
        vs = dst.add_stream("libx264", rate=vin.average_rate)
        vs.width, vs.height, vs.pix_fmt = vin.codec_context.width, vin.codec_context.height, "yuv420p"
        vs.codec_context.options = {"crf": "18", "preset": "medium"}
        for frame in src.decode(vin):
            frame.pts = None
            dst.mux(vs.encode(frame))
        dst.mux(vs.encode(None))
    return time.perf_counter() - t0


def process(video: Path, out: Path, device: str, extra: list[str]) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        stages_path = f.name
    env = dict(os.environ, OBSCURA_STAGE_TIMES=stages_path)
    cmd = [sys.executable, "-m", "app", "process", str(video), "-o", str(out), "-q", "--device", device, *extra]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        raise SystemExit(f"obscura process failed ({rc}): {err.strip().splitlines()[-1:]}")
    stages = {}
    try:
        stages = json.loads(Path(stages_path).read_text())
    except (OSError, ValueError):
        pass
    os.unlink(stages_path)
    return {"seconds": wall, "rss_mb": usage.ru_maxrss / 1024, "stages": stages}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    extra: list[str] = []
    if "--" in argv:
        k = argv.index("--")
        argv, extra = argv[:k], argv[k + 1 :]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1920x1080,1280x720")
    ap.add_argument("--frames", type=int, default=250)
    ap.add_argument("--clips", type=Path, default=Path(tempfile.gettempdir()) / "obscura-pipeline-bench")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--no-floor", action="store_true", help="skip the floor (quote a ratio only from one run)")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args(argv)
    rows = []
    for s in a.sizes.split(","):
        w, h = (int(v) for v in s.lower().split("x"))
        video = make((w, h), a.frames, a.clips)
        with tempfile.TemporaryDirectory(prefix="obscura-pb-") as td:
            fl = floor(video, Path(td) / "floor.mp4") if not a.no_floor else None
            pr = process(video, Path(td) / "out.mp4", a.device, extra)
        row = {"size": f"{w}x{h}", "frames": a.frames, "floor_s": fl, **pr}
        row["ratio"] = (fl / pr["seconds"]) if fl else None
        rows.append(row)
        print(f"\n{w}x{h}, {a.frames} frames, process {' '.join(extra) or '(defaults)'}")
        if fl:
            print(f"  floor (decode + x264 medium CRF 18): {fl:7.1f} s  ({a.frames / fl:5.1f} fps)")
        print(f"  obscura process:                     {pr['seconds']:7.1f} s  ({a.frames / pr['seconds']:5.1f} fps)")
        if fl:
            print(f"  ratio floor / process:               {row['ratio']:7.3f}x")
        print(f"  peak RSS:                            {pr['rss_mb']:7.0f} MB")
        total = pr["seconds"]
        for name, v in sorted(pr["stages"].items(), key=lambda kv: -kv[1]["seconds"]):
            print(f"    {name:24s} {v['seconds']:7.2f} s  {100 * v['seconds'] / total:5.1f} %  ({v['calls']} calls)")
        known = sum(v["seconds"] for v in pr["stages"].values() if not v.get("nested"))
        print(f"    {'(start-up, other)':24s} {total - known:7.2f} s")
    if a.json:
        a.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
