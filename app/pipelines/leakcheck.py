"""The leak check: re-decode the redacted OUTPUT and look for faces and plates still visible in it.

After an export, the output is decoded again and the face and plate detectors run over it at a
lower score threshold (0.6x the analysis's seed thresholds) than the analysis did, in one of two
modes (:data:`MODES`):

* **quick** (the default): every k-th frame only, about :data:`QUICK_CHECKS_PER_S` frames per
  second of video (and the last frame), at 1.5x the analysis's input resolution;
* **thorough**: every frame, at 1.5x the analysis's input resolution.

Measured with ``bench/leak_bench.py`` (its control run, on the unredacted clips):
at the analysis's own resolution the quick mode flagged only 83 % of the visible object-frames at
score >= 0.5 on t1_lot_mixed (88 % at 1.5x), so quick saves its time by the stride alone: about
0.2x-0.4x the analysis's time instead of 1.7x-2.7x.

An explicit ``stride`` overrides the mode's. Every detection is then judged against the
project's masks at that frame (the exact grown mask areas of :mod:`app.redaction.masks`):

* **covered**: at least 60 % of its box lies inside the union of the redacted masks. Not a leak;
  only counted (and its best score kept: a detector still firing strongly inside a mask would say
  the style is too weak);
* **exempt**: it lies inside a disabled track's shape ("keep visible"): deliberately shown, listed
  separately, never a leak;
* **rejected**: it lies inside a track the operator rejected as a false detection: listed
  separately as a reviewed decision, not a leak;
* **leak**: anything else.

Hits of one object on consecutive frames are grouped into events (IoU-linked across frames), so
the operator reads "a face visible 3.20-4.10 s" instead of 27 lines. Photos (JPEG/PNG) work too:
one frame.

A generator that yields ``Progress`` and returns a :class:`LeakReport`; no Qt, no image data kept.
"""

from __future__ import annotations

import os
import time
from collections.abc import Generator
from dataclasses import asdict, dataclass, field, replace
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from app.base.progress import CancelToken, Progress, RateMeter
from app.core.project import Project
from app.core.timebase import timecode
from app.detection.detections import CLASS_NAMES, Detections, box_iou

if TYPE_CHECKING:  # the detector pulls in ONNX Runtime: imported where it is used
    from app.detection.detector import Detector, DetectorConfig

RESOLUTION_FACTOR = 1.5  # thorough mode: detector input side, relative to the analysis's
MODES = ("quick", "thorough")
DEFAULT_MODE = "quick"
MODE_RESOLUTION = {"quick": RESOLUTION_FACTOR, "thorough": RESOLUTION_FACTOR}  # detector input side / the analysis's
QUICK_CHECKS_PER_S = 5.0  # quick mode: frames checked per second of video (the stride follows the frame rate)
THRESHOLD_FACTOR = 0.6  # detector score threshold, relative to the analysis's seed thresholds
MAX_FACE_SIDE = 2880  # cap on the face model's input long side (beyond it, tiles take over)
MAX_PLATE_SIDE = 1920  # cap on the plate model's input long side
COVER_SHARE = 0.6  # a detection with this share of its box inside the masks is covered
ALPHA_CUT = 0.5  # a mask pixel counts where its alpha is at least this (the grown shape + half the feather)
LINK_IOU = 0.2  # hits on nearby frames with this IoU belong to one event
LINK_GAP_S = 0.3  # ... when no more than this apart (at least two checked frames)
KINDS = ("leak", "exempt", "rejected")
# Plate boxes narrower than this (width / height) are not plates: every one of the 471 annotated
# plates in shared/data/plates is wider (the narrowest is 0.64), while the plate model at a low
# threshold does fire on tall strips of buildings.
MIN_PLATE_ASPECT = 0.6
# A leak event whose best score reaches this fails the check (`obscura process --leak-check` exits
# non-zero): the bar for "still recognisable" (the detector finds it with score > 0.5).
# Weaker hits are still listed for review; at 0.6x the analysis thresholds most are background.
DEFAULT_GATE = 0.5


@dataclass(frozen=True)
class LeakHit:
    frame: int
    time_s: float
    timecode: str
    cls: str
    score: float
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in the output's pixels
    kind: str  # "leak", "exempt" or "rejected"
    covered: float  # share of the box inside the redacted masks
    track: str | None = None  # the exempt / rejected track it lies in

    def to_dict(self) -> dict:
        d = asdict(self)
        d["box"] = [round(v, 1) for v in self.box]
        return d


@dataclass
class LeakEvent:
    """Consecutive hits of one object: what the operator reviews (and "Add mask here" covers)."""

    id: str
    kind: str
    cls: str
    first_frame: int
    last_frame: int
    start_s: float
    end_s: float
    start_tc: str
    end_tc: str
    hits: int
    max_score: float
    mean_score: float
    peak_frame: int
    box: tuple[float, float, float, float]  # the box at the peak frame
    track: str | None = None
    boxes: dict[int, tuple[float, float, float, float]] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if k != "boxes"}
        d["box"] = [round(v, 1) for v in self.box]
        d["max_score"] = round(self.max_score, 4)
        d["mean_score"] = round(self.mean_score, 4)
        return d

    def describe(self) -> str:
        span = (f"{self.start_s:.2f} s" if self.first_frame == self.last_frame
                else f"{self.start_s:.2f}-{self.end_s:.2f} s")
        frames = (f"frame {self.first_frame}, {self.start_tc}" if self.first_frame == self.last_frame
                  else f"frames {self.first_frame}-{self.last_frame}, {self.start_tc}-{self.end_tc}")
        x1, y1, x2, y2 = (int(round(v)) for v in self.box)
        what = {"leak": "LEAK", "exempt": "exempt", "rejected": "rejected"}[self.kind]
        extra = f" in track {self.track}" if self.track else ""
        return (f"{what} {self.id}: {self.cls} visible {span} ({frames}), "
                f"{self.hits} hits, max score {self.max_score:.2f}, box {x1},{y1},{x2},{y2}{extra}")


@dataclass
class LeakReport:
    output: str  # the output's file name (basename)
    hits: list[LeakHit] = field(default_factory=list)  # leak, exempt and rejected hits (not covered ones)
    events: list[LeakEvent] = field(default_factory=list)  # every kind; see leaks / exempt / rejected
    frames_checked: int = 0
    frame_count: int = 0
    stride: int = 1
    mode: str = DEFAULT_MODE  # "quick" or "thorough" (MODES)
    resolution_factor: float = 1.0  # the detector's input side relative to the analysis's
    checked: list[int] = field(default_factory=list, repr=False)  # the frames checked (project numbering)
    seconds: float = 0.0
    thresholds: dict = field(default_factory=dict)
    device: str = ""
    cancelled: bool = False
    covered_hits: int = 0  # detections inside the redacted masks (not leaks)
    covered_max_score: float = 0.0
    implausible: int = 0  # plate detections too narrow to be a plate (MIN_PLATE_ASPECT), ignored
    fps: Fraction | None = None

    def of_kind(self, kind: str) -> list[LeakEvent]:
        return [e for e in self.events if e.kind == kind]

    @property
    def leaks(self) -> list[LeakEvent]:
        return self.of_kind("leak")

    @property
    def exempt(self) -> list[LeakEvent]:
        return self.of_kind("exempt")

    @property
    def rejected(self) -> list[LeakEvent]:
        return self.of_kind("rejected")

    def failing(self, threshold: float | dict | None = DEFAULT_GATE) -> list[LeakEvent]:
        """Leak events whose best score reaches ``threshold`` (a number, or one per class; None: the
        check's own detection thresholds, i.e. every leak event)."""
        out = []
        for e in self.leaks:
            th = threshold.get(e.cls, 0.0) if isinstance(threshold, dict) else threshold
            if th is None or e.max_score >= th:
                out.append(e)
        return out

    def passed(self, gate: float | None = DEFAULT_GATE, max_failing: int = 0) -> bool:
        """True when the whole output was checked and at most ``max_failing`` leak events reach ``gate``."""
        return not self.cancelled and len(self.failing(gate)) <= max_failing

    def checked_frames(self, max_list: int = 2000) -> dict:
        """Which frames were checked, for the report: the rule in words, the first and last, and the
        list itself (project frame numbers) when it has at most ``max_list`` entries."""
        fr = self.checked
        if not fr:
            return {"rule": "none", "first": None, "last": None, "frames": []}
        if self.stride <= 1:
            rule = "every frame"
        else:
            rule = f"every {_nth(self.stride)} frame from frame {fr[0]}, and the last"
        out = {"rule": rule, "first": fr[0], "last": fr[-1]}
        out["frames"] = list(fr) if len(fr) <= max_list else None
        return out

    def summary(self, gate: float | None = DEFAULT_GATE, max_failing: int = 0, max_events: int = 200) -> dict:
        """What the audit report carries: counts, settings and the events (no hit list, no pixels).

        ``gate``: the score at which a leak event fails the check (None: every leak event fails);
        the check passes with at most ``max_failing`` such events.
        """
        failing = self.failing(gate)

        def kind_summary(kind: str) -> dict:
            evs = self.of_kind(kind)
            hits = [h for h in self.hits if h.kind == kind]
            by_class: dict[str, int] = {}
            for e in evs:
                by_class[e.cls] = by_class.get(e.cls, 0) + 1
            return {
                "events": len(evs),
                "hits": len(hits),
                "frames": len({h.frame for h in hits}),
                "by_class": by_class,
                "max_score": round(max((e.max_score for e in evs), default=0.0), 4),
            }

        return {
            "output": self.output,
            "cancelled": self.cancelled,
            "frames_checked": self.frames_checked,
            "frame_count": self.frame_count,
            "stride": self.stride,
            "mode": self.mode,
            "resolution_factor": self.resolution_factor,
            "checked_frames": self.checked_frames(),
            "seconds": round(self.seconds, 2),
            "device": self.device,
            "thresholds": self.thresholds,
            "cover_share": COVER_SHARE,
            "gate": {"score": gate, "max_failing": max_failing, "failing_events": len(failing),
                     "failing": [e.id for e in failing][:max_events],
                     "passed": self.passed(gate, max_failing)},
            "leaks": kind_summary("leak"),
            "exempt": kind_summary("exempt"),
            "rejected": kind_summary("rejected"),
            "inside_masks": {"hits": self.covered_hits, "max_score": round(self.covered_max_score, 4)},
            "ignored_implausible": self.implausible,
            "events": [e.to_dict() for e in self.events[:max_events]],
            "events_truncated": max(0, len(self.events) - max_events),
        }


def _nth(k: int) -> str:
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def check_mode(mode: str | None) -> str:
    """``mode`` checked (None: the default); raises a one-line ObscuraError for an unknown one."""
    if mode is None:
        return DEFAULT_MODE
    if mode not in MODES:
        from app.errors import ObscuraError

        raise ObscuraError(f"leak check mode must be one of {', '.join(MODES)}, got '{mode}'")
    return mode


def mode_stride(mode: str | None, fps: float | Fraction | None) -> int:
    """The stride ``mode`` checks at for a video of ``fps`` frames per second (quick: about
    QUICK_CHECKS_PER_S frames per second; thorough: every frame)."""
    if check_mode(mode) == "thorough" or not fps:
        return 1
    return max(1, int(round(float(fps) / QUICK_CHECKS_PER_S)))


# --- the detector the check runs ---------------------------------------------------------------


def seed_thresholds(config: DetectorConfig | None = None) -> dict[str, float]:
    """The analysis's seed score per class: the config's, else the manifest's default."""
    from app.detection import models
    from app.detection.detector import DetectorConfig

    config = config or DetectorConfig()
    out = {}
    if config.faces:
        out["face"] = (config.face_threshold if config.face_threshold is not None
                       else float(models.spec(config.face_model).thresholds.get("score", 0.3)))
    if config.plates:
        out["plate"] = (config.plate_threshold if config.plate_threshold is not None
                        else float(models.spec(config.plate_model).thresholds.get("score", 0.25)))
    return out


def _round32(v: float) -> int:
    return int(np.ceil(v / 32) * 32)


def leak_config(config: DetectorConfig | None, width: int, height: int,
                mode: str = "thorough") -> tuple[DetectorConfig, float, dict]:
    """The check's detector settings for ``width`` x ``height`` frames, derived from the analysis's,
    for ``mode`` (its MODE_RESOLUTION: the detector's input side relative to the analysis's).

    Returns (config, scale, thresholds): frames are resized by ``scale`` before detection (> 1 to
    give the models more pixels than the analysis had), and ``thresholds`` describes it for the report.
    """
    factor = MODE_RESOLUTION[check_mode(mode)]
    from app.detection.detector import DetectorConfig

    config = config or DetectorConfig()
    long = max(width, height)
    # the face model's input side in the analysis (Detector._detect)
    analysis_face = long
    if config.face_long_side and long > config.face_long_side:
        analysis_face = config.face_long_side
    elif config.face_min_long_side and long < config.face_min_long_side:
        analysis_face = config.face_min_long_side
    analysis_plate = max(640, min(long * 1.25, config.plate_long_side or 640))
    face_side = _round32(min(analysis_face * factor, MAX_FACE_SIDE))
    plate_side = _round32(min(analysis_plate * factor, MAX_PLATE_SIDE))
    scale = max(1.0, face_side / long)
    seeds = seed_thresholds(config)
    low = {c: round(s * THRESHOLD_FACTOR, 4) for c, s in seeds.items()}
    upscaled = scale > 1.0
    cfg = replace(
        config,
        face_threshold=low.get("face"),
        plate_threshold=low.get("plate"),
        low_factor=1.0,
        # upscaled frames run at their own size; large frames are scaled down to face_side (and
        # tiled at full resolution as the analysis does)
        face_long_side=None if upscaled else face_side,
        face_min_long_side=None,
        plate_long_side=plate_side,
    )
    thresholds = {}
    for c in seeds:
        thresholds[c] = {
            "score": low[c],
            "analysis_score": round(seeds[c], 4),
            "input_long_side": face_side if c == "face" else int(min(plate_side, _round32(long * scale * 1.25))),
            "analysis_input_long_side": int(analysis_face if c == "face" else _round32(analysis_plate)),
        }
    return cfg, scale, thresholds


def leak_detector(config: DetectorConfig | None, width: int, height: int,
                  mode: str = "thorough") -> tuple[Detector, float, dict]:
    """A detector set up for the check in ``mode`` (see :func:`leak_config`); build once, reuse for
    many files of that size and mode."""
    from app.detection.detector import Detector

    cfg, scale, thresholds = leak_config(config, width, height, mode)
    return Detector(cfg), scale, thresholds


# --- judging detections against the masks ------------------------------------------------------


class _FrameMasks:
    """The mask areas of one frame, by kind: redacted, exempt (disabled) and rejected tracks."""

    def __init__(self, project: Project, frame: int, width: int, height: int):
        from app.redaction.masks import build_mask

        self.width, self.height = width, height
        self.redacted = []
        self.exempt = []
        self.rejected = []
        for t in project.tracks:
            shape = t.shape_at(frame)
            if shape is None:
                continue
            region = build_mask(shape, project.style_for(t), width, height, (1, 1))
            if region is None:
                continue
            item = (t.id, region)
            if t.redacted:
                self.redacted.append(item)
            elif not t.enabled:
                self.exempt.append(item)
            else:
                self.rejected.append(item)

    def share(self, regions, box) -> tuple[float, str | None]:
        """Share of ``box`` inside the union of ``regions``, and the track that holds most of it."""
        x0, y0, x1, y1 = _px(box, self.width, self.height)
        if x1 <= x0 or y1 <= y0 or not regions:
            return 0.0, None
        union = np.zeros((y1 - y0, x1 - x0), bool)
        best, best_id = 0, None
        for tid, r in regions:
            ix0, iy0, ix1, iy1 = max(x0, r.x0), max(y0, r.y0), min(x1, r.x1), min(y1, r.y1)
            if ix1 <= ix0 or iy1 <= iy0:
                continue
            inside = r.alpha[iy0 - r.y0 : iy1 - r.y0, ix0 - r.x0 : ix1 - r.x0] >= ALPHA_CUT
            union[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0] |= inside
            n = int(inside.sum())
            if n > best:
                best, best_id = n, tid
        return float(union.mean()), best_id


def _px(box, width: int, height: int) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = (int(round(float(v))) for v in box)
    return max(0, x1), max(0, y1), min(width, x2), min(height, y2)


def classify(masks: _FrameMasks, box) -> tuple[str, float, str | None]:
    """("covered" | "exempt" | "rejected" | "leak", share inside the redacted masks, track id)."""
    covered, _ = masks.share(masks.redacted, box)
    if covered >= COVER_SHARE:
        return "covered", covered, None
    for kind, regions in (("exempt", masks.exempt), ("rejected", masks.rejected)):
        share, tid = masks.share(regions, box)
        if share >= COVER_SHARE:
            return kind, covered, tid
    return "leak", covered, None


# --- grouping hits into events -----------------------------------------------------------------


def group_events(hits: list[LeakHit], max_gap: int) -> list[LeakEvent]:
    """Link hits of the same kind and class across frames (IoU >= LINK_IOU, at most ``max_gap``
    frames apart) into events, best-scoring hits first within a frame. Events sorted by start."""
    open_events: list[LeakEvent] = []
    done: list[LeakEvent] = []
    scores: dict[int, list[float]] = {}
    by_frame: dict[int, list[LeakHit]] = {}
    for h in hits:
        by_frame.setdefault(h.frame, []).append(h)
    for f in sorted(by_frame):
        still = []
        for e in open_events:
            (still if f - e.last_frame <= max_gap else done).append(e)
        open_events = still
        taken: set[int] = set()
        for h in sorted(by_frame[f], key=lambda h: -h.score):
            best, best_iou = None, LINK_IOU
            for k, e in enumerate(open_events):
                if k in taken or e.kind != h.kind or e.cls != h.cls or e.last_frame == f:
                    continue
                last = e.boxes[e.last_frame]
                iou = float(box_iou(np.array([h.box]), np.array([last]))[0, 0])
                if iou >= best_iou:
                    best, best_iou = k, iou
            if best is None:
                e = LeakEvent(id="", kind=h.kind, cls=h.cls, first_frame=f, last_frame=f, start_s=h.time_s,
                              end_s=h.time_s, start_tc=h.timecode, end_tc=h.timecode, hits=0, max_score=0.0,
                              mean_score=0.0, peak_frame=f, box=h.box, track=h.track)
                open_events.append(e)
                best = len(open_events) - 1
            e = open_events[best]
            taken.add(best)
            e.last_frame, e.end_s, e.end_tc = f, h.time_s, h.timecode
            e.boxes[f] = h.box
            e.hits += 1
            scores.setdefault(id(e), []).append(h.score)
            if h.score > e.max_score:
                e.max_score, e.peak_frame, e.box = h.score, f, h.box
            if e.track is None and h.track:
                e.track = h.track
    done += open_events
    for e in done:
        s = scores[id(e)]
        e.mean_score = float(np.mean(s))
    done.sort(key=lambda e: (KINDS.index(e.kind), e.first_frame, e.cls))
    counters = {k: 0 for k in KINDS}
    prefix = {"leak": "L", "exempt": "E", "rejected": "R"}
    for e in done:
        counters[e.kind] += 1
        e.id = f"{prefix[e.kind]}{counters[e.kind]}"
    return done


# --- the check -------------------------------------------------------------------------------


def leak_check(
    output_path: str,
    project: Project,
    *,
    config: DetectorConfig | None = None,
    stride: int | None = None,
    cancel: CancelToken | None = None,
    detector: tuple[Detector, float, dict] | None = None,
    batch: int = 2,
    frame_offset: int = 0,
    mode: str | None = None,
) -> Generator[Progress, None, LeakReport]:
    """Look for faces and plates left visible in ``output_path`` (a video or a photo).

    ``config`` is the analysis's detector config (the check runs at 0.6x its thresholds, and at
    its resolution or 1.5x it); ``mode``: "quick" (None: the default) or "thorough" (:data:`MODES`);
    ``stride`` checks every k-th frame only (and the last), overriding the mode's (None: the
    mode's, see :func:`mode_stride`); ``detector`` reuses the result of :func:`leak_detector` for a
    file of the same size (built for the same mode).

    ``frame_offset``: the project frame of the output's first frame, when only a range was exported
    (``ExportResult.frame_range[0]``). Hit and event frames are always the project's frames (what
    the editor seeks to); their times and timecodes are the output's (where a viewer sees them).
    """
    from app.media.images import read_image
    from app.media.probe import is_image_path, probe
    from app.media.reader import VideoReader

    cancel = cancel or CancelToken()
    mode = check_mode(mode)
    t0 = time.perf_counter()
    report = LeakReport(output=os.path.basename(output_path), stride=1, mode=mode,
                        resolution_factor=MODE_RESOLUTION[mode])
    if is_image_path(output_path):
        image = read_image(output_path)
        h, w = image.shape[:2]
        det, scale, thresholds = detector or leak_detector(config, w, h, mode)
        report.thresholds, report.device = thresholds, det.device.describe()
        report.frame_count, report.fps = 1, None
        frames = [_scaled(image, scale)]
        found = det.detect(frames, [frame_offset])
        _judge(report, project, found, frames[0].shape[1] / w, w, h, lambda i: (0.0, "00:00:00:00"))
        report.frames_checked, report.checked = 1, [frame_offset]
        yield Progress("leak check", 1, 1, message="done")
    else:
        info = probe(output_path)
        w, h = info.width, info.height
        det, scale, thresholds = detector or leak_detector(config, w, h, mode)
        report.thresholds, report.device = thresholds, det.device.describe()
        stride = report.stride = max(1, int(stride)) if stride is not None else mode_stride(mode, info.fps)
        if info.rotation:  # look at the output as a viewer sees it; the boxes come back in coded pixels
            from app.detection.upright import UprightDetector

            det = UprightDetector(det, info.rotation)
        report.frame_count, report.fps = info.frame_count, info.fps
        fps = info.fps

        def when(i: int) -> tuple[float, str]:
            i -= frame_offset
            return round(float(info.time_of(i)), 4), timecode(i, fps)

        todo = [i for i in range(info.frame_count) if i % stride == 0 or i == info.frame_count - 1]
        wanted = set(todo)
        meter = RateMeter("leak check", len(todo))
        sw, sh = int(round(w * scale / 2) * 2), int(round(h * scale / 2) * 2)
        with VideoReader(output_path, info) as reader:
            frames, idx = [], []
            for fr in reader.frames():
                if cancel.cancelled:
                    report.cancelled = True
                    break
                if fr.index not in wanted:
                    continue
                frames.append(fr.to_bgr_scaled(sw, sh) if scale > 1.0 else fr.to_bgr())
                idx.append(fr.index + frame_offset)
                if len(frames) >= batch:
                    _judge(report, project, det.detect(frames, idx), sw / w, w, h, when)
                    report.frames_checked += len(frames)
                    report.checked += idx
                    frames, idx = [], []
                    p = meter.progress(report.frames_checked)
                    if p is not None:
                        yield p
            if frames and not report.cancelled:
                _judge(report, project, det.detect(frames, idx), sw / w, w, h, when)
                report.frames_checked += len(frames)
                report.checked += idx
        yield meter.progress(report.frames_checked, force=True,
                             message="cancelled" if report.cancelled else "done")
    fps_f = float(report.fps) if report.fps else 1.0
    max_gap = max(2 * report.stride, int(round(fps_f * LINK_GAP_S)))
    report.events = group_events(report.hits, max_gap)
    report.seconds = time.perf_counter() - t0
    return report


def _scaled(image: np.ndarray, scale: float) -> np.ndarray:
    if scale <= 1.0:
        return image
    import cv2

    h, w = image.shape[:2]
    return cv2.resize(image, (int(round(w * scale)), int(round(h * scale))), interpolation=cv2.INTER_LINEAR)


def _judge(report: LeakReport, project: Project, found: Detections, scale: float, width: int, height: int,
           when) -> None:
    if not len(found):
        return
    for f in np.unique(found.frame):
        sel = np.nonzero(found.frame == f)[0]
        f = int(f)
        masks = _FrameMasks(project, f, width, height)
        t, tc = when(f)
        for k in sel:
            box = tuple(float(v) / scale for v in found.xyxy[k])
            box = (max(0.0, box[0]), max(0.0, box[1]), min(float(width), box[2]), min(float(height), box[3]))
            score = float(found.score[k])
            cls = CLASS_NAMES.get(int(found.class_id[k]), "face")
            if cls == "plate" and (box[2] - box[0]) < MIN_PLATE_ASPECT * (box[3] - box[1]):
                report.implausible += 1
                continue
            kind, covered, tid = classify(masks, box)
            if kind == "covered":
                report.covered_hits += 1
                report.covered_max_score = max(report.covered_max_score, score)
                continue
            report.hits.append(LeakHit(f, t, tc, cls, round(score, 4), box, kind, round(covered, 3), tid))
