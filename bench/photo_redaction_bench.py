"""Black-box photo redaction and over-redaction, with one ``obscura batch`` run instead of one process per photo.

    python bench/photo_redaction_bench.py DATASET [--n 150] [--min-height 32] [--tree DIR] [-- BATCH ARGS]

Takes the same photos as ``../shared/tools/redaction_check.py images DATASET ... --n N`` (its
load_voc, shuffled with Random(7), the first N) and judges the outputs with that tool's own
functions (a truth box is redacted when >= 90 % of its detailed pixels lose their structure).
Also printed, for precision: the share of the detailed pixels OUTSIDE every labelled box (of any
size) that lose their structure (what the redaction costs the rest of the picture), and over the
whole frame. ``--tree`` runs another checkout's ``app`` (PYTHONPATH), e.g. /work/main for "before".
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT.parent / "shared" / "tools" / "redaction_check.py"


def _tool():
    spec = importlib.util.spec_from_file_location("redaction_check", TOOL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def all_boxes(xml_dir: Path, image: str) -> list[tuple[float, ...]]:
    for x in xml_dir.glob("*.xml"):
        r = ET.parse(x).getroot()
        if r.findtext("filename") == image:
            return [tuple(float(o.find("bndbox").findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax"))
                    for o in r.iter("object")]
    return []


def main() -> int:
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        k = argv.index("--")
        argv, extra = argv[:k], argv[k + 1 :]
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--n", type=int, default=150)
    ap.add_argument("--min-height", type=int, default=32)
    ap.add_argument("--tree", type=Path, default=ROOT, help="the checkout whose app runs (default this one)")
    a = ap.parse_args(argv)
    tool = _tool()
    items = tool.load_voc(str(a.dataset), a.min_height)
    random.Random(7).shuffle(items)
    items = items[: a.n]
    with tempfile.TemporaryDirectory(prefix="photo-bench-") as td:
        src, out = Path(td) / "in", Path(td) / "out"
        src.mkdir()
        for i, (path, _boxes) in enumerate(items):
            shutil.copy(path, src / f"{i:04d}{Path(path).suffix}")
        cmd = [sys.executable, "-m", "app", "batch", str(src), str(out), "-q", "--no-leak-check", "--device", "cpu",
               *extra]
        env = dict(os.environ, PYTHONPATH=str(a.tree))
        t0 = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(a.tree))
        secs = time.perf_counter() - t0
        if r.returncode != 0:
            print(r.stderr[-2000:], file=sys.stderr)
        total = done = failures = 0
        out_changed = out_detail = all_changed = all_px = 0
        for i, (path, boxes) in enumerate(items):
            got = list(out.glob(f"{i:04d}.*"))
            got = [g for g in got if g.suffix.lower() in (".jpg", ".jpeg", ".png")]
            x = cv2.imread(path)
            y = cv2.imread(str(got[0])) if got else None
            total += len(boxes)
            if y is None or y.shape != x.shape:
                failures += 1
                continue
            sm, dm = tool.ssim_map(x, y), tool.detail(x)
            done += sum(tool.redacted_share(sm, dm, b) >= 0.9 for b in boxes)
            inside = np.zeros(dm.shape, bool)
            h, w = dm.shape
            for b in all_boxes(a.dataset / "annotations", Path(path).name):
                x1, y1, x2, y2 = (int(round(v)) for v in b)
                inside[max(0, y1) : min(h, y2), max(0, x1) : min(w, x2)] = True
            changed = sm < 0.85
            out_changed += int((changed & dm & ~inside).sum())
            out_detail += int((dm & ~inside).sum())
            all_changed += int(changed.sum())
            all_px += changed.size
    print(f"{len(items)} images, {total} boxes (height >= {a.min_height}px), redacted {done} = {done / max(1, total):.3f}, "
          f"failures {failures}; outside the labelled boxes {100 * out_changed / max(1, out_detail):.2f} % of the "
          f"detailed pixels lose their structure; {100 * all_changed / max(1, all_px):.2f} % of all pixels changed; "
          f"batch {secs:.0f} s ({a.tree})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
