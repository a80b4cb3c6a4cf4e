"""Tracking benchmark: run the analysis pipeline on clips with exact ground truth, and judge its masks.

    python bench/tracking_bench.py [--clips DIR] [--make] [--frames N] [--only NAME ...]
                                   [--device auto|cpu|cuda] [--json OUT] [--check-backgrounds]

The clips come from ``bench/make_tracking_clips.py`` (made on first use, or again with ``--make``).
Each clip is analysed twice with the same detections (detection runs once per clip; a caching
wrapper hands the second run the first run's results): (a) with tracking, ``analyze(clip, detector)``
(its tracks applied to a project), and (b) per-frame detection without tracking, where every detection is its own one-frame
track (``analyze(..., tracking=False)`` when the pipeline has it, else the same thing built here).

Metrics, from the masks the project would draw (``Project.masks_at`` + ``build_mask``, alpha > 0.5):

* leak rate: the share of ground-truth object-frames whose truth box is less than 90 % covered by
  the union of the masks;
* flicker: covered -> uncovered transitions between consecutive frames in which the object is
  visible, per 100 visible object-frames;
* over-redaction: the share of mask area outside every truth box (the styles' margins alone cost a
  lot of this: the "truth" row, masks drawn from the truth boxes themselves, shows that floor);
* fragmentation: distinct tracks that match each true object (IoU of the track's shape with the
  truth box >= 0.3 on some frame), averaged over the objects matched at least once; ID switches:
  the times an object's best-matching track differs from the one that matched it last;
* fps: frames analysed per second (detection + tracking; for the run that reuses the detections,
  the first run's detection time is added back);
* det-miss: object-frames where the detector found nothing of the class at IoU >= 0.3 (weak
  detections kept for the tracker included), and leak|seen: the leak rate over the other
  object-frames. Tracking can only bridge a miss; leak|seen is the part tracking alone decides.

``-v`` prints each object's leaks, misses and tracks; ``--json`` writes all of it.

Targets (tracking): leak < 1 %, flicker < 0.5 per object per 100 frames, fragmentation < 1.5.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from app.core.project import Keyframe, KeyframeSource, MediaRef, Project, Track  # noqa: E402
from app.core.shapes import Shape  # noqa: E402
from app.detection.detections import CLASS_IDS, CLASS_NAMES, Detections, box_iou  # noqa: E402
from app.redaction.masks import build_mask  # noqa: E402

COVER = 0.9  # a truth box less covered than this leaks
DET_CACHE: Path | None = None  # --det-cache
SCHEDULE_KW: dict = {}  # analyze(schedule=...) from --schedule / --schedule-opt
MATCH_IOU = 0.3  # a track matches an object on a frame at this IoU
TARGETS = {"leak": 1.0, "flicker": 0.5, "fragmentation": 1.5}


# --- metrics: pure functions of (truth, project) -----------------------------------------------


@dataclass
class Metrics:
    frames: int = 0
    objects: int = 0
    object_frames: int = 0
    leaks: int = 0
    toggles: int = 0
    mask_px: int = 0
    outside_px: int = 0
    matched_objects: int = 0
    object_tracks: int = 0  # sum over matched objects of the distinct tracks matching them
    id_switches: int = 0
    seconds: float = 0.0  # analysis time (0 when not measured)
    undetected: int = -1  # object-frames no detection matches (any score); -1: detections not given
    leaks_seen: int = 0  # leaks among the object-frames the detector did find
    by_class: dict = field(default_factory=dict)  # cls -> [leaks, object_frames]
    per_object: dict = field(default_factory=dict)  # obj -> {"frames", "leaks", "undetected", "tracks"}

    @property
    def leak_rate(self) -> float:
        """Leaked object-frames, as a percentage."""
        return 100.0 * self.leaks / self.object_frames if self.object_frames else 0.0

    @property
    def flicker(self) -> float:
        """Covered -> uncovered toggles per 100 visible object-frames."""
        return 100.0 * self.toggles / self.object_frames if self.object_frames else 0.0

    @property
    def over_redaction(self) -> float:
        """Mask area outside every truth box, as a percentage of the mask area."""
        return 100.0 * self.outside_px / self.mask_px if self.mask_px else 0.0

    @property
    def fragmentation(self) -> float:
        """Tracks per (matched) true object."""
        return self.object_tracks / self.matched_objects if self.matched_objects else 0.0

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    @property
    def det_miss(self) -> float | None:
        """Object-frames the detector found nothing for (no detection of the class at IoU >= 0.3), %."""
        if self.undetected < 0 or not self.object_frames:
            return None
        return 100.0 * self.undetected / self.object_frames

    @property
    def leak_seen_rate(self) -> float | None:
        """Leak rate among the object-frames the detector did find: the part tracking alone decides."""
        if self.undetected < 0:
            return None
        seen = self.object_frames - self.undetected
        return 100.0 * self.leaks_seen / seen if seen else 0.0

    def __add__(self, other: Metrics) -> Metrics:
        out = Metrics()
        for name in ("frames", "objects", "object_frames", "leaks", "toggles", "mask_px", "outside_px",
                     "matched_objects", "object_tracks", "id_switches", "seconds"):
            setattr(out, name, getattr(self, name) + getattr(other, name))
        if self.undetected >= 0 and other.undetected >= 0:
            out.undetected = self.undetected + other.undetected
            out.leaks_seen = self.leaks_seen + other.leaks_seen
        for src in (self.by_class, other.by_class):
            for k, (lk, n) in src.items():
                c = out.by_class.setdefault(k, [0, 0])
                c[0] += lk
                c[1] += n
        return out

    def summary(self) -> dict:
        d = asdict(self)
        d["per_object"] = {str(k): v for k, v in self.per_object.items()}
        d.update(det_miss=None if self.det_miss is None else round(self.det_miss, 3),
                 leak_seen_rate=None if self.leak_seen_rate is None else round(self.leak_seen_rate, 3))
        d.update(leak_rate=round(self.leak_rate, 3), flicker=round(self.flicker, 3),
                 over_redaction=round(self.over_redaction, 2), fragmentation=round(self.fragmentation, 3),
                 fps=round(self.fps, 2), seconds=round(self.seconds, 2))
        return d


def combine(items: list[Metrics]) -> Metrics:
    """The pooled metrics of several clips (counts added, so every rate is per object-frame overall)."""
    if not items:
        return Metrics()
    out = items[0]
    for m in items[1:]:
        out = out + m
    return out


def _px_box(box, width: int, height: int) -> tuple[int, int, int, int]:
    """The truth box as a pixel slice, rounded like shared/tools/redaction_check.py."""
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    return max(0, x1), max(0, y1), min(width, x2), min(height, y2)


def mask_union(project: Project, frame: int, width: int, height: int) -> tuple[np.ndarray, list]:
    """The union of every mask drawn at ``frame`` (alpha > 0.5), and the (track id, shape) shown there."""
    union = np.zeros((height, width), bool)
    shown = []
    for track, shape, style in project.masks_at(frame):
        shown.append((track.id, shape))
        m = build_mask(shape, style, width, height)
        if m is not None:
            union[m.y0 : m.y1, m.x0 : m.x1] |= m.alpha > 0.5
    return union, shown


def evaluate(
    truth: list[list[dict]], project: Project, width: int, height: int,
    cover: float = COVER, match_iou: float = MATCH_IOU, detections: Mapping[int, Detections] | None = None,
) -> Metrics:
    """Judge ``project``'s masks against ``truth`` (one list of {"obj", "cls", "box"} per frame).

    With ``detections`` (frame -> the detector's output there, weak ones included), each object-frame
    is also marked found or not by the detector, to tell tracking's leaks from the detector's misses.
    """
    m = Metrics(frames=len(truth), undetected=0 if detections is not None else -1)
    covered_prev: dict[int, bool] = {}  # object -> covered on the previous frame (visible there)
    tracks_of: dict[int, set] = {}
    last_match: dict[int, str] = {}
    objects: set[int] = set()
    for f, entries in enumerate(truth):
        union, shown = mask_union(project, f, width, height)
        inside = np.zeros((height, width), bool)
        covered_now: dict[int, bool] = {}
        if shown:
            boxes = np.array([s.bbox for _tid, s in shown], np.float32)
        for e in entries:
            obj = e["obj"]
            objects.add(obj)
            x1, y1, x2, y2 = _px_box(e["box"], width, height)
            inside[y1:y2, x1:x2] = True
            share = float(union[y1:y2, x1:x2].mean()) if x2 > x1 and y2 > y1 else 1.0
            ok = share >= cover
            covered_now[obj] = ok
            m.object_frames += 1
            c = m.by_class.setdefault(e["cls"], [0, 0])
            c[1] += 1
            po = m.per_object.setdefault(obj, {"cls": e["cls"], "frames": 0, "leaks": 0, "undetected": 0, "tracks": 0})
            po["frames"] += 1
            seen = True
            if detections is not None:
                d = detections.get(f)
                sel = d.xyxy[d.class_id == CLASS_IDS[e["cls"]]] if d is not None and len(d) else np.zeros((0, 4))
                seen = bool(len(sel)) and float(box_iou(np.array([e["box"]], np.float32), sel).max()) >= match_iou
                if not seen:
                    m.undetected += 1
                    po["undetected"] += 1
            if not ok:
                m.leaks += 1
                c[0] += 1
                po["leaks"] += 1
                po.setdefault("leak_frames", []).append([f, round(share, 2), bool(seen)])
                if seen:
                    m.leaks_seen += 1
            if covered_prev.get(obj) and not ok:
                m.toggles += 1
        # one-to-one matching of tracks to objects, greedy by IoU (as in CLEAR MOT)
        if shown and entries:
            ious = box_iou(np.array([e["box"] for e in entries], np.float32), boxes)
            while ious.size and ious.max() >= match_iou:
                oi, ti = np.unravel_index(int(np.argmax(ious)), ious.shape)
                obj, tid = entries[oi]["obj"], shown[ti][0]
                tracks_of.setdefault(obj, set()).add(tid)
                if obj in last_match and last_match[obj] != tid:
                    m.id_switches += 1
                last_match[obj] = tid
                ious[oi, :] = -1
                ious[:, ti] = -1
        covered_prev = covered_now
        m.mask_px += int(union.sum())
        m.outside_px += int((union & ~inside).sum())
    m.objects = len(objects)
    m.matched_objects = len(tracks_of)
    m.object_tracks = sum(len(s) for s in tracks_of.values())
    for obj, ts in tracks_of.items():
        m.per_object[obj]["tracks"] = len(ts)
    if detections is None:
        for po in m.per_object.values():
            del po["undetected"]
    return m


def truth_project(truth: list[list[dict]], media: MediaRef | None = None) -> Project:
    """A project whose tracks are the truth itself: one track per object, a keyframe on every frame
    it is visible, and an invisible keyframe where it hides (so nothing is drawn while it is hidden)."""
    project = Project(media=media)
    by_obj: dict[int, dict[int, dict]] = {}
    for f, entries in enumerate(truth):
        for e in entries:
            by_obj.setdefault(e["obj"], {})[f] = e
    for obj, frames in sorted(by_obj.items()):
        cls = next(iter(frames.values()))["cls"]
        kfs = []
        for f, e in sorted(frames.items()):
            kfs.append(Keyframe(f, Shape.rect(*e["box"]), KeyframeSource.MANUAL))
            if f + 1 < len(truth) and f + 1 not in frames:
                kfs.append(Keyframe(f + 1, Shape.rect(*e["box"]), KeyframeSource.MANUAL, visible=False))
        project.add_track(Track(id=f"{cls}-{obj:04d}", cls=cls, keyframes=kfs))
    return project


# --- running the pipeline ---------------------------------------------------------------------


class CachingDetector:
    """Wraps a Detector: each frame index is detected once, later calls reuse the result.

    When the detector has the ``low`` switch (weak detections kept for the tracker), the cache holds
    the ``low=True`` result and a ``low=False`` call gets it filtered to the seed scores, exactly what
    the detector itself would return.
    """

    def __init__(self, detector):
        self.detector = detector
        self.cache: dict[int, Detections] = {}
        self.detect_s = 0.0  # time spent in the real detector
        self.call_s = 0.0  # time spent in detect() calls, cached or not
        self._has_low = "low" in inspect.signature(detector.detect).parameters

    def __getattr__(self, name):
        return getattr(self.detector, name)

    def save(self, path: Path) -> None:
        """The cached detections as plain arrays (``--det-cache``)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        d = Detections.merge(list(self.cache.values())) if self.cache else None
        np.savez(path, frames=np.array(sorted(self.cache), np.int64),
                 **({} if d is None else {"xyxy": d.xyxy, "score": d.score, "class_id": d.class_id, "frame": d.frame}))

    def load(self, path: Path) -> None:
        z = np.load(path)
        for f in z["frames"]:
            sel = z["frame"] == f if "frame" in z else np.zeros(0, bool)
            self.cache[int(f)] = Detections(z["xyxy"][sel], z["score"][sel], z["class_id"][sel], z["frame"][sel]) \
                if "frame" in z else Detections(np.zeros((0, 4)), [], [], [])

    def detect(self, frames, frame_indices=None, low: bool = False, **kw) -> Detections:
        t0 = time.perf_counter()
        idx = list(range(len(frames))) if frame_indices is None else [int(i) for i in frame_indices]
        missing = [k for k, f in enumerate(idx) if f not in self.cache]
        if missing:
            extra = {"low": True} if self._has_low else {}
            t1 = time.perf_counter()
            det = self.detector.detect([frames[k] for k in missing], [idx[k] for k in missing], **extra, **kw)
            self.detect_s += time.perf_counter() - t1
            for k in missing:
                self.cache[idx[k]] = det[det.frame == idx[k]]
        out = Detections.merge([self.cache[f] for f in idx])
        if self._has_low and not low and len(out):
            seeds = self.detector.seed_scores()
            seed = np.array([seeds.get(int(c), 0.0) for c in out.class_id], np.float32)
            out = out[out.score >= seed]
        self.call_s += time.perf_counter() - t0
        return out


def has_tracking_switch() -> bool:
    from app.pipelines.analyze import analyze

    return "tracking" in inspect.signature(analyze).parameters


def _per_frame_baseline(project: Project, clip: str, detector, batch: int = 4) -> None:
    """Per-frame detection without tracking, built here: every detection is a one-keyframe track."""
    from app.media.probe import probe
    from app.media.reader import VideoReader

    info = probe(clip)
    project.media = MediaRef(os.path.abspath(clip), info.width, info.height, info.fps, info.frame_count)
    n = 0

    def add(det: Detections) -> None:
        nonlocal n
        for k in range(len(det)):
            cls = CLASS_NAMES.get(int(det.class_id[k]), "face")
            n += 1
            kf = Keyframe(int(det.frame[k]), Shape.rect(*(float(v) for v in det.xyxy[k])), KeyframeSource.AUTO,
                          True, round(float(det.score[k]), 4))
            project.add_track(Track(id=f"{cls}-{n:05d}", cls=cls, keyframes=[kf]))

    with VideoReader(clip, info) as reader:
        frames, idx = [], []
        for fr in reader.frames():
            frames.append(fr.to_bgr())
            idx.append(fr.index)
            if len(frames) == batch:
                add(detector.detect(frames, idx))
                frames, idx = [], []
        if frames:
            add(detector.detect(frames, idx))


def run_mode(clip: str, detector: CachingDetector, tracking: bool, total_detect_s: float | None = None):
    """Analyse ``clip``; return (project, seconds) where seconds counts the real detection time once."""
    from app.base.progress import run
    from app.pipelines.analyze import analyze, apply_tracks

    project = Project()
    call0, det0 = detector.call_s, detector.detect_s
    t0 = time.perf_counter()
    if tracking:
        apply_tracks(project, run(analyze(clip, detector, **SCHEDULE_KW)).built)
    elif has_tracking_switch():
        apply_tracks(project, run(analyze(clip, detector, tracking=False, **SCHEDULE_KW)).built)
    else:
        _per_frame_baseline(project, clip, detector)
    wall = time.perf_counter() - t0
    calls, real = detector.call_s - call0, detector.detect_s - det0
    det_time = real if total_detect_s is None else total_detect_s
    return project, max(1e-9, wall - calls + det_time)


# --- the benchmark ----------------------------------------------------------------------------


def load_clips(folder: Path, only: list[str] | None = None) -> list[dict]:
    index = json.loads((folder / "index.json").read_text())["clips"]
    if only:
        index = [c for c in index if c["name"] in only]
    return index


def bench_clip(entry: dict, folder: Path, detector) -> dict[str, Metrics]:
    clip = str(folder / entry["video"])
    truth = json.loads((folder / entry["truth"]).read_text())
    w, h = entry["width"], entry["height"]
    cached = CachingDetector(detector)
    store = DET_CACHE / f"{entry['name']}.npz" if DET_CACHE else None
    if store and store.exists():
        cached.load(store)
    out = {}
    project, secs = run_mode(clip, cached, tracking=True)
    out["tracking"] = evaluate(truth, project, w, h, detections=cached.cache)
    out["tracking"].seconds = secs
    project, secs = run_mode(clip, cached, tracking=False, total_detect_s=cached.detect_s)
    out["per-frame"] = evaluate(truth, project, w, h, detections=cached.cache)
    out["per-frame"].seconds = secs
    out["truth"] = evaluate(truth, truth_project(truth), w, h)
    if store and not store.exists():
        cached.save(store)
    return out


HEADER = (f"{'clip':<18} {'mode':<9} {'objs':>4} {'obj-frames':>10} {'det-miss %':>10} {'leak %':>7} "
          f"{'leak|seen %':>11} {'flicker':>7} {'over-red %':>10} {'tracks/obj':>10} {'ID sw':>6} {'fps':>6}")


def _opt(v: float | None, width: int, fmt: str = ".2f") -> str:
    return f"{v:>{width}{fmt}}" if v is not None else f"{'-':>{width}}"


def row(name: str, mode: str, m: Metrics) -> str:
    return (f"{name:<18} {mode:<9} {m.objects:>4} {m.object_frames:>10} {_opt(m.det_miss, 10)} {m.leak_rate:>7.2f} "
            f"{_opt(m.leak_seen_rate, 11)} {m.flicker:>7.2f} {m.over_redaction:>10.1f} {m.fragmentation:>10.2f} "
            f"{m.id_switches:>6} {_opt(m.fps if m.seconds else None, 6)}")


def object_lines(name: str, m: Metrics) -> str:
    parts = []
    for obj, po in sorted(m.per_object.items()):
        miss = f", {po['undetected']} undetected" if "undetected" in po else ""
        where = ""
        if po.get("leak_frames"):
            fr = [x[0] for x in po["leak_frames"]]
            runs, a = [], fr[0]
            for p, q in zip(fr, fr[1:] + [None], strict=True):
                if q != p + 1:
                    runs.append(f"{a}-{p}" if p > a else f"{a}")
                    a = q
            where = " (frames " + ",".join(runs) + ")"
        parts.append(f"{obj} {po['cls']} {po['leaks']}/{po['frames']} leaked{where}{miss}, {po['tracks']} tracks")
    return f"  {name}: " + "; ".join(parts)


def check_backgrounds(detector, only: list[str] | None = None, step: int = 3) -> int:
    """Run the detector over the clips' backgrounds alone (no pasted objects); print what it finds."""
    import make_tracking_clips as mk

    total = 0
    low = {"low": True} if "low" in inspect.signature(detector.detect).parameters else {}  # weak ones too
    for spec in mk.CLIPS:
        if only and spec.name not in only:
            continue
        hits = []
        for i, frame, _truth in mk.render_clip(spec, objects=False):
            if i % step == 0:
                d = detector.detect([frame], [i], **low)
                hits += [(i, CLASS_NAMES[int(d.class_id[k])], round(float(d.score[k]), 2),
                          [int(v) for v in d.xyxy[k]]) for k in range(len(d))]
        total += len(hits)
        print(f"{spec.name}: {len(hits)} detections (weak ones included) on every {step}rd background frame"
              + (f": {hits[:6]}" if hits else ""))
    return total


def main(argv: list[str] | None = None) -> int:
    import make_tracking_clips as mk

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=Path, default=None, help=f"clip folder (default {mk.default_out()})")
    ap.add_argument("--make", action="store_true", help="(re)generate the clips first")
    ap.add_argument("--frames", type=int, default=None, help="with --make: frames per clip")
    ap.add_argument("--only", nargs="*", help="only these clips")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--schedule", choices=["fast", "thorough"], default="fast",
                    help="the detection scheduler (fast, the product's default) or the reference pass on every frame")
    ap.add_argument("--schedule-opt", action="append", default=[], metavar="FIELD=VALUE",
                    help="override a Schedule field (app/pipelines/schedule.py), e.g. fine_every=4")
    ap.add_argument("--detector-opt", action="append", default=[], metavar="FIELD=VALUE",
                    help="override a DetectorConfig field, e.g. coarse_long_side=800 or precision=fp32")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    ap.add_argument("--det-cache", type=Path, default=None,
                    help="keep each clip's detections in this folder and reuse them on later runs: only for "
                         "A/B runs of tracking-side variants (the same detector, options and schedule)")
    ap.add_argument("-v", "--verbose", action="store_true", help="also print each object's leaks and tracks")
    ap.add_argument("--check-backgrounds", action="store_true",
                    help="only run the detector over the clips' backgrounds (they should hold no face or plate)")
    args = ap.parse_args(argv)
    folder = args.clips or mk.default_out()
    global DET_CACHE
    DET_CACHE = args.det_cache

    from app.detection.detector import Detector, DetectorConfig

    t_start = time.perf_counter()
    def _opts(items):
        out = {}
        for item in items:
            k, v = item.split("=", 1)
            out[k] = v if not v.replace(".", "", 1).isdigit() else (float(v) if "." in v else int(v))
        return out

    try:
        from app.pipelines.schedule import Schedule

        sched = Schedule.off() if args.schedule == "thorough" else Schedule(**_opts(args.schedule_opt))
        SCHEDULE_KW["schedule"] = sched
        print("schedule:", sched.describe())
    except ImportError:  # a tree from before the scheduler
        pass
    detector = Detector(DetectorConfig(device=args.device, **_opts(args.detector_opt)))
    print(detector.describe(), f"({os.cpu_count()} CPUs)")
    if args.check_backgrounds:
        n = check_backgrounds(detector, args.only)
        print(f"{n} detections on the backgrounds ({time.perf_counter() - t_start:.0f} s)")
        return 0
    if args.make or not (folder / "index.json").exists():
        print(f"making clips in {folder} ...")
        mk.make_all(folder, args.frames)
    clips = load_clips(folder, args.only)
    baseline = "analyze(tracking=False)" if has_tracking_switch() else "bench-built one-frame tracks"
    print(f"{len(clips)} clips from {folder}; per-frame mode: {baseline}")
    results: dict[str, dict[str, Metrics]] = {}
    for entry in clips:
        t0 = time.perf_counter()
        results[entry["name"]] = bench_clip(entry, folder, detector)
        print(f"  {entry['name']}: {entry['frames']} frames, {time.perf_counter() - t0:.0f} s", flush=True)
    modes = ("tracking", "per-frame", "truth")
    overall = {mode: combine([r[mode] for r in results.values()]) for mode in modes}
    print()
    print(HEADER)
    print("-" * len(HEADER))
    for name, r in results.items():
        for k, mode in enumerate(modes):
            print(row(name if k == 0 else "", mode, r[mode]))
    print("-" * len(HEADER))
    for k, mode in enumerate(modes):
        print(row("overall" if k == 0 else "", mode, overall[mode]))
    print()
    for mode in ("tracking", "per-frame"):
        by = ", ".join(f"{c} {v[0]}/{v[1]}" for c, v in sorted(overall[mode].by_class.items()))
        print(f"leaked object-frames ({mode}): {by}")
    if args.verbose:
        print("per object (tracking):")
        for name, r in results.items():
            print(object_lines(name, r["tracking"]))
    print("det-miss: object-frames with no detection of the class at IoU >= 0.3 (weak ones included); "
          "leak|seen: leak rate over the other object-frames (what tracking alone decides);\n"
          "truth: masks drawn from the truth boxes with the default styles (the over-redaction floor of the margins)")
    t, p = overall["tracking"], overall["per-frame"]
    ok = t.leak_rate < TARGETS["leak"] and t.flicker < TARGETS["flicker"] and t.fragmentation < TARGETS["fragmentation"]
    elapsed = time.perf_counter() - t_start
    print(f"targets (tracking): leak < {TARGETS['leak']:g} %, flicker < {TARGETS['flicker']:g}, "
          f"fragmentation < {TARGETS['fragmentation']:g}: {'met' if ok else 'NOT met'}; bench took {elapsed:.0f} s")
    print(f"RESULT tracking: leak {t.leak_rate:.2f} % ({t.leak_seen_rate:.2f} % where detected), flicker {t.flicker:.2f}, "
          f"fragmentation {t.fragmentation:.2f}, ID switches {t.id_switches}, over-redaction {t.over_redaction:.1f} %, "
          f"{t.fps:.2f} fps; per-frame: leak {p.leak_rate:.2f} % ({p.leak_seen_rate:.2f} % where detected), "
          f"flicker {p.flicker:.2f}, fragmentation {p.fragmentation:.2f}, ID switches {p.id_switches}, "
          f"over-redaction {p.over_redaction:.1f} %, {p.fps:.2f} fps; detector misses {t.det_miss:.2f} % of object-frames")
    if args.json:
        doc = {
            "detector": detector.describe(), "per_frame_mode": baseline, "seconds": round(elapsed, 1),
            "targets": TARGETS, "targets_met": ok,
            "clips": {n: {mode: r[mode].summary() for mode in modes} for n, r in results.items()},
            "overall": {mode: overall[mode].summary() for mode in modes},
        }
        args.json.write_text(json.dumps(doc, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

