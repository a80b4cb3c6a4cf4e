"""Leak-check benchmark: how well the post-export leak check finds what the export left visible.

    python bench/leak_bench.py [--only CLIP ...] [--mode quick|thorough] [--stride K] [--control-stride K]
                               [--no-control] [--device auto|cpu|cuda] [--clips DIR] [--json OUT]

For each tracking benchmark clip (``bench/make_tracking_clips.py``; exact per-frame truth boxes):

1. analyse it and export it with the product's defaults (``analyze`` + ``export``, H.264 CRF 18);
2. run the leak check on the output (``leak_check`` with the analysis's detector config, in
   ``--mode``: quick, the product's default, or thorough; ``--stride`` overrides the mode's);
3. judge every leak hit against the truth. A truth object-frame **leaked** when less than 90 % of
   its box is covered by the masks (alpha > 0.5, as ``tracking_bench.py`` measures). A leak hit is
   - a **true leak** when it overlaps a leaked truth object of its class (IoU >= 0.3, or 50 % of
     the hit inside the truth box);
   - **on a masked object** when it overlaps a truth object that is covered (the detection box is
     larger than the mask, e.g. a blurred face plus its hair): not a leak, counted apart;
   - a **false alarm** when it overlaps no truth object (the backgrounds hold no face or plate).
   Events (hits grouped over frames) are judged the same way: true when any of their hits is.

Reported per clip, at several gates (every hit the check lists; hits at or above the analysis's
own seed score; at or above the check's failing score, 0.5): leaked object-frames in the checked
frames and how many of them the check flagged, true leak events, false-alarm events per minute
of video and false-alarm hits per minute.

The **control** run checks the original, unredacted clip against an empty project: every truth
object-frame is then a leak, which measures the check's recall on visible faces and plates (true
leaks in a good export are too rare to measure it). ``--control-stride`` thins it for time
(default: the mode's stride in quick mode, 3 in thorough). The bar for the quick default: the
control run still flags >= 87 % of the object-frames at score >= 0.5.

Per clip, a last line compares the cost: analysis seconds, leak-check seconds (of the export),
their ratio, for the mode that ran.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from app.core.project import Project  # noqa: E402
from app.detection.detections import box_iou  # noqa: E402
from app.redaction.masks import build_mask  # noqa: E402

COVER = 0.9  # a truth box less covered than this leaked (tracking_bench.py's measure)
MATCH_IOU = 0.3
MATCH_INSIDE = 0.5


def truth_coverage(project: Project, frame: int, entries: list[dict], width: int, height: int) -> list[float]:
    """Share of each truth box covered by the masks drawn at ``frame`` (alpha > 0.5)."""
    union = np.zeros((height, width), bool)
    for _t, shape, style in project.masks_at(frame):
        m = build_mask(shape, style, width, height)
        if m is not None:
            union[m.y0 : m.y1, m.x0 : m.x1] |= m.alpha > 0.5
    out = []
    for e in entries:
        x1, y1, x2, y2 = (int(round(v)) for v in e["box"])
        x1, y1, x2, y2 = max(0, x1), max(0, y1), min(width, x2), min(height, y2)
        out.append(float(union[y1:y2, x1:x2].mean()) if x2 > x1 and y2 > y1 else 1.0)
    return out


def _overlaps(hit_box, truth_box) -> bool:
    a, b = np.array([hit_box], np.float32), np.array([truth_box], np.float32)
    if box_iou(a, b)[0, 0] >= MATCH_IOU:
        return True
    ix = max(0.0, min(hit_box[2], truth_box[2]) - max(hit_box[0], truth_box[0]))
    iy = max(0.0, min(hit_box[3], truth_box[3]) - max(hit_box[1], truth_box[1]))
    area = max(1e-6, (hit_box[2] - hit_box[0]) * (hit_box[3] - hit_box[1]))
    return ix * iy / area >= MATCH_INSIDE


def judge(report, project: Project, truth: list[list[dict]], width: int, height: int, fps: float,
          gates: dict[str, dict[str, float] | float]) -> dict:
    """The figures of one leak-check run against the truth, per gate."""
    checked = _checked_frames(report)
    leaked: dict[tuple[int, int], dict] = {}  # (frame, obj) -> truth entry, for leaked object-frames
    entries_at: dict[int, list[tuple[dict, bool]]] = {}
    object_frames = 0
    for f in checked:
        if f >= len(truth):
            continue
        entries = truth[f]
        cov = truth_coverage(project, f, entries, width, height)
        entries_at[f] = [(e, c < COVER) for e, c in zip(entries, cov, strict=True)]
        object_frames += len(entries)
        for e, c in zip(entries, cov, strict=True):
            if c < COVER:
                leaked[(f, e["obj"])] = e
    hit_label = {}
    for k, h in enumerate(report.hits):
        if h.kind != "leak":
            continue
        label = "false"
        for e, is_leak in entries_at.get(h.frame, []):
            if e["cls"] == h.cls and _overlaps(h.box, e["box"]):
                label = "true" if is_leak else ("masked" if label == "false" else label)
                if is_leak:
                    hit_label[k] = ("true", e["obj"])
                    break
        hit_label.setdefault(k, (label, None))
    minutes = report.frame_count / fps / 60.0 if fps else 0.0  # of video (the check covers all of it)
    leaked_list = []
    for (f, obj), e in sorted(leaked.items()):
        cov = dict(zip([x["obj"] for x in truth[f]], truth_coverage(project, f, truth[f], width, height), strict=True))
        near = [round(h.score, 2) for h in report.hits if h.frame == f and h.cls == e["cls"] and _overlaps(h.box, e["box"])]
        leaked_list.append({"frame": f, "obj": obj, "cls": e["cls"], "covered": round(cov[obj], 2),
                            "vis": e.get("vis", 1.0), "occluded": bool(e.get("occluded")),
                            "box": [round(v) for v in e["box"]], "hit_scores": near})
    out = {"frames_checked": report.frames_checked, "object_frames": object_frames, "leaked": leaked_list,
           "leaked_object_frames": len(leaked), "minutes": round(minutes, 3), "seconds": round(report.seconds, 1),
           "gates": {}}
    for name, gate in gates.items():
        def ok(score, cls, gate=gate):
            th = gate.get(cls, 0.0) if isinstance(gate, dict) else gate
            return score >= th

        flagged = set()
        true_hits = false_hits = masked_hits = 0
        for k, h in enumerate(report.hits):
            if h.kind != "leak" or not ok(h.score, h.cls):
                continue
            label, obj = hit_label[k]
            if label == "true":
                true_hits += 1
                flagged.add((h.frame, obj))
            elif label == "masked":
                masked_hits += 1
            else:
                false_hits += 1
        true_events = false_events = masked_events = 0
        hits_by_frame_box = {(h.frame, h.box): k for k, h in enumerate(report.hits)}
        for ev in report.leaks:
            if not ok(ev.max_score, ev.cls):
                continue
            labels = {hit_label[hits_by_frame_box[(f, b)]][0] for f, b in ev.boxes.items()
                      if (f, b) in hits_by_frame_box}
            if "true" in labels:
                true_events += 1
            elif labels == {"masked"}:
                masked_events += 1
            else:
                false_events += 1
        out["gates"][name] = {
            "flagged_leaked_object_frames": len(flagged & set(leaked)),
            "true_hits": true_hits, "true_events": true_events,
            "false_hits": false_hits, "false_events": false_events,
            "masked_hits": masked_hits, "masked_events": masked_events,
            "false_events_per_min": round(false_events / minutes, 2) if minutes else None,
            "false_hits_per_min": round(false_hits / minutes, 2) if minutes else None,
        }
    return out


def _checked_frames(report) -> list[int]:
    if getattr(report, "checked", None):
        return list(report.checked)
    n, k = report.frame_count, max(1, report.stride)
    return [i for i in range(n) if i % k == 0 or i == n - 1][: report.frames_checked]


def bench_clip(entry: dict, folder: Path, args, detector) -> dict:
    from app.base.progress import run
    from app.media.writer import EncodeSettings
    from app.pipelines.analyze import analyze, apply_tracks
    from app.pipelines.export import export
    from app.pipelines.leakcheck import DEFAULT_GATE, leak_check, leak_detector, seed_thresholds

    clip = str(folder / entry["video"])
    truth = json.loads((folder / entry["truth"]).read_text())
    w, h = entry["width"], entry["height"]
    from fractions import Fraction

    fps = float(Fraction(entry["fps"]))
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    out = str(out_dir / f"{entry['name']}.redacted.mp4")
    res: dict = {"clip": entry["name"], "frames": entry["frames"], "size": f"{w}x{h}"}

    t0 = time.perf_counter()
    project = Project()
    apply_tracks(project, run(analyze(clip, detector)).built)
    res["analysis_s"] = round(time.perf_counter() - t0, 1)
    t0 = time.perf_counter()
    if os.path.exists(out):
        os.remove(out)
    run(export(project, clip, out, EncodeSettings()))
    res["export_s"] = round(time.perf_counter() - t0, 1)

    seeds = seed_thresholds(detector.config)
    gates = {"all listed": 0.0, "seed": seeds, f">= {DEFAULT_GATE:g}": DEFAULT_GATE}
    leak_det = leak_detector(detector.config, w, h, args.mode)
    report = run(leak_check(out, project, config=detector.config, stride=args.stride, detector=leak_det,
                            mode=args.mode))
    res["mode"], res["stride"] = report.mode, report.stride
    res["thresholds"] = report.thresholds
    res["export_check"] = judge(report, project, truth, w, h, fps, gates)
    res["export_check"]["exempt_events"] = len(report.exempt)
    res["export_check"]["inside_masks"] = {"hits": report.covered_hits,
                                           "max_score": round(report.covered_max_score, 3)}
    res["export_check"]["events"] = [e.describe() for e in report.leaks]
    if not args.no_control:
        empty = Project()
        cstride = args.control_stride if args.control_stride is not None else (None if args.mode == "quick" else 3)
        report = run(leak_check(clip, empty, config=detector.config, stride=cstride, detector=leak_det,
                                mode=args.mode))
        res["control"] = judge(report, empty, truth, w, h, fps, gates)
    return res


def _row(name: str, mode: str, j: dict, gate: str) -> str:
    g = j["gates"][gate]
    return (f"{name:<18} {mode:<8} {gate:<11} {j['frames_checked']:>7} {j['leaked_object_frames']:>7} "
            f"{g['flagged_leaked_object_frames']:>8} {g['true_events']:>7} {g['false_events']:>7} "
            f"{_f(g['false_events_per_min']):>9} {_f(g['false_hits_per_min']):>9} {g['masked_hits']:>7} {j['seconds']:>7.0f}")


def _f(v) -> str:
    return "-" if v is None else f"{v:.2f}"


HEADER = (f"{'clip':<18} {'run':<8} {'gate':<11} {'frames':>7} {'leaked':>7} {'flagged':>8} {'true ev':>7} "
          f"{'false ev':>7} {'FA ev/min':>9} {'FA hit/min':>9} {'on mask':>7} {'secs':>7}")


def main(argv: list[str] | None = None) -> int:
    import make_tracking_clips as mk

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=Path, default=None, help=f"clip folder (default {mk.default_out()})")
    ap.add_argument("--only", nargs="*", help="only these clips")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--mode", choices=["quick", "thorough"], default="quick", help="the leak check's mode")
    ap.add_argument("--stride", type=int, default=None, help="leak check of the export: every k-th frame "
                    "(default: the mode's)")
    ap.add_argument("--control-stride", type=int, default=None, help="control run (unredacted clip): every k-th "
                    "frame (default: the mode's in quick mode, 3 in thorough)")
    ap.add_argument("--no-control", action="store_true", help="skip the control run")
    ap.add_argument("--out", default=None, help="folder for the exported clips (default: beside the clips)")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    ap.add_argument("-v", "--verbose", action="store_true", help="list the leaked object-frames of the export")
    args = ap.parse_args(argv)
    folder = args.clips or mk.default_out()
    args.out = args.out or str(folder / "leak_bench_out")

    from app.detection.detector import Detector, DetectorConfig

    t_start = time.perf_counter()
    if not (folder / "index.json").exists():
        print(f"making clips in {folder} ...")
        mk.make_all(folder)
    index = json.loads((folder / "index.json").read_text())["clips"]
    if args.only:
        index = [c for c in index if c["name"] in args.only]
    detector = Detector(DetectorConfig(device=args.device))
    print(detector.describe(), f"({os.cpu_count()} CPUs); leak check mode {args.mode}, stride "
          f"{args.stride or 'of the mode'}, control stride "
          f"{'-' if args.no_control else args.control_stride or ('of the mode' if args.mode == 'quick' else 3)}")
    results = []
    for entry in index:
        t0 = time.perf_counter()
        results.append(bench_clip(entry, folder, args, detector))
        print(f"  {entry['name']}: {entry['frames']} frames, {time.perf_counter() - t0:.0f} s", flush=True)
    print()
    print("leaked: truth object-frames (in the checked frames) less than 90 % covered by the masks; flagged: those a "
          "leak hit lands on;\ntrue/false ev: leak events on a leaked object / on no object; FA: false alarms per "
          "minute of video; on mask: hits on a masked object")
    print(HEADER)
    print("-" * len(HEADER))
    for r in results:
        for k, gate in enumerate(r["export_check"]["gates"]):
            print(_row(r["clip"] if k == 0 else "", "export", r["export_check"], gate))
        if "control" in r:
            for gate in r["control"]["gates"]:
                print(_row("", "control", r["control"], gate))
    print("-" * len(HEADER))
    for r in results:
        th = "; ".join(f"{c} {v['score']} @ {v['input_long_side']} px (analysis {v['analysis_score']} @ "
                       f"{v['analysis_input_long_side']} px)" for c, v in r["thresholds"].items())
        print(f"{r['clip']}: analysis {r['analysis_s']} s, export {r['export_s']} s, leak check "
              f"{r['export_check']['seconds']} s for {r['export_check']['frames_checked']} frames; {th}; "
              f"detections inside masks: {r['export_check']['inside_masks']}")
        for line in r["export_check"]["events"]:
            print("   ", line)
        if args.verbose:
            for x in r["export_check"]["leaked"]:
                print(f"    leaked: frame {x['frame']} obj {x['obj']} {x['cls']} box {x['box']} covered {x['covered']:.2f} "
                      f"visible {x['vis']:.2f}{' occluded' if x['occluded'] else ''}; leak hits on it: {x['hit_scores']}")
    print()
    print(f"cost of the {args.mode} leak check against the analysis (same clip, same detector device):")
    for r in results:
        a, lc = r["analysis_s"], r["export_check"]["seconds"]
        ctl = r.get("control")
        sens = ""
        if ctl:
            g = ctl["gates"][f">= {0.5:g}"]
            n = ctl["leaked_object_frames"]
            sens = (f"; control flagged {g['flagged_leaked_object_frames']}/{n} object-frames at score >= 0.5 "
                    f"({100.0 * g['flagged_leaked_object_frames'] / n:.1f} %)" if n else "")
        print(f"  {r['clip']}: mode {r['mode']} (stride {r['stride']}), analysis {a:.1f} s, leak check {lc:.1f} s, "
              f"ratio {lc / a if a else float('nan'):.2f}{sens}")
    print(f"bench took {time.perf_counter() - t_start:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
