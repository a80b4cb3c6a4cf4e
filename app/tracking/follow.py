"""Click-to-track: follow one object from a keyframe, forward or backward, with an OpenCV tracker.

``follow()`` is a pipeline generator like the others (``Progress`` out, a ``FollowResult`` back,
a ``CancelToken`` checked every frame), meant for a worker thread. Its boxes become the track's
``tracked`` keyframes; a polygon follows the tracked box with ``shape.with_bbox(*box)``.

The tracker: CSRT (``opencv-contrib-python-headless``), because it is the only one of the three
that follows a change of size, and it stays on the object far longer. ``bench/follow_bench.py``,
through this pipeline (decoding at a working scale included), on a shared 2-core CPU:

==============================  =========================  =========================  =========================
clip (frames)                   CSRT                       KCF                        MIL
==============================  =========================  =========================  =========================
synthetic 1280x720, growing     IoU 0.90, on target        IoU 0.50, on target 35,    IoU 0.37, on target 35,
x2.7, forward (150)             149/149, 31 ms/f           lost at 67, 8 ms/f         box 37 % of size, 38 ms/f
synthetic, backward (150)       IoU 0.83, 149/149, 27      IoU 0.67, on target 68,    IoU 0.66, on target 68,
                                ms/f                       lost at 86, 16 ms/f        lost at 93, 36 ms/f
real face, EgoBlur gen1         IoU 0.75*, on target       IoU 0.78 over 21 frames,   on target 20, then
608x1080, forward (600)         599/599, 37 ms/f           then lost, 101 ms/f        drifts, 38 ms/f
real face, backward (600)       IoU 0.70*, on target       on target 15, lost at      on target 15, 36 ms/f
                                465, 58 ms/f               586, 92 ms/f
real face crop approaching      IoU 0.87, on target        IoU 0.47, on target 73,    IoU 0.36, on target 61,
x7 (t3_asphalt_scale, 180)      179/179, 40 ms/f           box 18 % of the face       box 13 % of the face
==============================  =========================  =========================  =========================

(* against the product's face detector as the reference: that clip has no truth, and the two box
conventions differ.) "On target" counts frames from the start until the first with IoU < 0.5.
KCF and MIL keep the start box's size, so they fall off any object that approaches or recedes;
KCF is fastest but loses a real face within a second. CSRT costs 30-60 ms a frame (decoding
3-4 ms of it; timings vary by a third with the shared machine's load), fine in a background
worker. When the installed OpenCV has no CSRT (the plain opencv-python-headless wheel restored
over the contrib one), MIL runs instead and the result says so (``tracker``, ``detail``).

Confidence and stopping. OpenCV trackers only say ok / not ok, so each frame is also scored by
``_Confidence`` (structure and colour against the start's and a slowly learnt appearance). The
follow stops ("lost") when the tracker fails or the score stays below ``min_confidence`` for
``patience`` frames (those frames are not emitted; a shorter dip is kept, with its low scores),
when the box leaves the frame or collapses. On the tracking clips (17 real faces and plates
pasted on real footage; 14 of them get hidden behind bars, other objects or the frame edge)
CSRT emitted 1 box in all at or after the frame an object was hidden, and otherwise stopped 0-4
frames before it (when half of it or more was covered), but for one plate that a passing face
pulled the tracker off 42 frames early; KCF and MIL stopped over 5 frames early on 7 and 5 objects.

Frames are decoded with ``VideoReader`` at a working scale (long side <= ``work_long_side``,
but never so small that the box's short side falls under 24 px); boxes come back in source
pixels. Backward, the clip is decoded in forward chunks from a keyframe (each frame decoded once
when a GOP fits the memory budget) and tracked in reverse, so memory stays bounded.
"""

from __future__ import annotations

import bisect
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

from app.base.progress import CancelToken, Progress, RateMeter
from app.media.probe import VideoInfo
from app.media.reader import VideoReader

Box = tuple[float, float, float, float]

TRACKERS = ("csrt", "kcf", "mil")
_CLASS_NAMES = {"csrt": "TrackerCSRT", "kcf": "TrackerKCF", "mil": "TrackerMIL"}
_FALLBACK = "mil"  # in every OpenCV wheel (CSRT and KCF need opencv-contrib-python-headless)

_TEMPLATE_SIDE = 48  # px: the confidence template's long side
_MIN_WORK_SIDE = 24.0  # px: the box's short side is kept at least this large at the working scale
_BACKWARD_BUDGET = 160 << 20  # bytes of decoded frames held at once when following backward
_MAX_CHUNK = 128  # frames per backward chunk at most
_NCC_SCALES = (0.87, 1.0, 1.15)  # box sizes the confidence correlation tries
_INLIER_Z = 1.0  # template pixels within this many standard deviations of the patch's learn from it
_MAX_OUTLIERS = 0.25  # ... and none learn when more than this share of the patch disagrees


@dataclass(frozen=True)
class FollowParams:
    tracker: str = "csrt"  # "csrt" | "kcf" | "mil" (the first two need the opencv-contrib wheel)
    min_confidence: float = 0.45  # stop when the confidence stays below this for `patience` frames
    max_frames: int | None = None  # frames to follow past the start; None: to the range's end
    context: float = 0.25  # the confidence search window: the box grown by this share per side
    patience: int = 2  # consecutive low-confidence (or tracker-failed) frames that end the follow
    template_rate: float = 0.1  # how fast the confidence template takes in confident patches
    update_confidence: float = 0.6  # ... only patches at least this confident
    blend_margin: float = 0.2  # the blended template may lift the score at most this far above the start's
    work_long_side: int = 960  # frames larger than this are tracked downscaled (source pixels out)
    min_visible: float = 0.5  # stop when less than this share of the box is inside the frame
    max_scale_change: float = 20.0  # stop when the box's side grows or shrinks past this factor


@dataclass
class FollowResult:
    boxes: dict[int, Box] = field(default_factory=dict)  # frame -> (x1, y1, x2, y2), source pixels
    scores: dict[int, float] = field(default_factory=dict)  # frame -> confidence in [0, 1]
    stopped: str = "end"  # "lost" | "end" | "limit" | "cancelled"
    last_frame: int = -1  # the last frame with a box (the start frame when nothing followed)
    tracker: str = ""  # the tracker that ran (the fallback's name when the chosen one is missing)
    detail: str = ""  # why it stopped, in words (for the status line)
    reacquired: int = 0  # times the visual extension found the object again after losing it


# -- trackers ---------------------------------------------------------------------------------------
def available_trackers() -> list[str]:
    """The trackers this OpenCV build has (MIL always; CSRT and KCF with the contrib wheel)."""
    return [name for name in TRACKERS if _factory(name) is not None]


def _factory(name: str):
    cls = _CLASS_NAMES.get(name)
    if cls is None:
        return None
    make = getattr(cv2, cls + "_create", None)
    if make is None and hasattr(cv2, cls):
        make = getattr(getattr(cv2, cls), "create", None)
    if make is None and hasattr(cv2, "legacy"):  # older contrib builds
        make = getattr(cv2.legacy, cls + "_create", None)
    return make


def resolve_tracker(name: str) -> tuple[str, str]:
    """(the tracker to use, a note when it is not the one asked for)."""
    name = name.lower()
    if name not in TRACKERS:
        raise ValueError(f"unknown tracker '{name}' (choose {', '.join(TRACKERS)})")
    if _factory(name) is not None:
        return name, ""
    return _FALLBACK, (
        f"tracked with {_FALLBACK.upper()}: {name.upper()} needs opencv-contrib-python-headless, "
        "which is not installed"
    )


def create_tracker(name: str):
    make = _factory(name)
    if make is None:
        raise ValueError(f"tracker '{name}' is not available in this OpenCV build")
    return make()


# -- confidence -------------------------------------------------------------------------------------
def _template_size(w: float, h: float) -> tuple[int, int]:
    k = _TEMPLATE_SIDE / max(w, h, 1e-6)
    return max(8, int(round(w * k))), max(8, int(round(h * k)))


def _patch(gray: np.ndarray, box: tuple[float, float, float, float], size: tuple[int, int],
           grow: float = 0.0) -> np.ndarray:
    """The box (x, y, w, h), grown by ``grow`` of its size per side, resized so the box itself is
    ``size``; the parts outside the frame are filled by replicating the edge."""
    x, y, w, h = box
    gx, gy = w * grow, h * grow
    x1, y1 = int(np.floor(x - gx)), int(np.floor(y - gy))
    x2, y2 = int(np.ceil(x + w + gx)), int(np.ceil(y + h + gy))
    H, W = gray.shape[:2]
    cx1, cy1, cx2, cy2 = max(0, x1), max(0, y1), min(W, x2), min(H, y2)
    if cx2 <= cx1 or cy2 <= cy1:
        crop = np.zeros((max(1, y2 - y1), max(1, x2 - x1)), np.uint8)
    else:
        crop = gray[cy1:cy2, cx1:cx2]
        if (cx1, cy1, cx2, cy2) != (x1, y1, x2, y2):
            crop = cv2.copyMakeBorder(crop, cy1 - y1, y2 - cy2, cx1 - x1, x2 - cx2, cv2.BORDER_REPLICATE)
    out_w = size[0] + 2 * int(round(size[0] * grow))
    out_h = size[1] + 2 * int(round(size[1] * grow))
    shrink = out_w < crop.shape[1]
    return cv2.resize(crop, (out_w, out_h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def _histogram(image: np.ndarray, box) -> np.ndarray:
    """The box's colour distribution: a normalised 8x8x8 BGR histogram."""
    x, y, w, h = box
    H, W = image.shape[:2]
    x1, y1 = max(0, int(round(x))), max(0, int(round(y)))
    x2, y2 = min(W, int(round(x + w))), min(H, int(round(y + h)))
    if x2 - x1 < 2 or y2 - y1 < 2:
        return np.full((8, 8, 8), 1 / 512, np.float32)
    hist = cv2.calcHist([image[y1:y2, x1:x2]], [0, 1, 2], None, [8, 8, 8], [0, 256, 0, 256, 0, 256])
    return hist / max(float(hist.sum()), 1e-6)


class _Confidence:
    """How much the tracked box still looks like the object, in [0, 1].

    The geometric mean of two cues, each compared with two references, the start frame's and a
    running blend of confident frames' (so slow changes in pose, size and light are tolerated):

    * structure: normalised cross-correlation (TM_CCOEFF_NORMED) of the grey patch, resized to a
      48 px template, searched over a window ``context`` larger than the box and at three box
      sizes (x0.87, 1, 1.15), so a box a little off the object, or a little too large, still scores;
    * colour: 1 - the Bhattacharyya distance between 8x8x8 BGR histograms of the box.

    The score is the start's, or the blend's when that is higher (but at most ``blend_margin``
    higher). The blend learns from frames scoring ``update_confidence`` or more, pixel by pixel:
    only pixels that still agree with it (within one standard deviation), and not at all when more
    than a quarter of the patch disagrees (something moving in front of the object must not
    become part of it).

    Correlation alone is fooled by other textured things (a face matches a tree at 0.55); colour
    alone by other things of the same colours: together they separate (see bench/follow_bench.py).
    """

    def __init__(self, image: np.ndarray, gray: np.ndarray, box, params: FollowParams):
        self.params = params
        self.size = _template_size(box[2], box[3])
        self.first = _patch(gray, box, self.size).astype(np.float32)
        self.blend = _normalised(self.first)
        self.hist_first = _histogram(image, box)
        self.hist_blend = self.hist_first.copy()
        self.flat = float(self.first.std()) < 2.0  # no texture: correlation means nothing

    def _ncc(self, gray: np.ndarray, box, template: np.ndarray) -> float:
        x, y, w, h = box
        cx, cy = x + w / 2, y + h / 2
        best = 0.0
        for k in _NCC_SCALES:
            search = _patch(gray, (cx - w * k / 2, cy - h * k / 2, w * k, h * k), self.size, self.params.context)
            r = cv2.matchTemplate(search.astype(np.float32), template, cv2.TM_CCOEFF_NORMED)
            best = max(best, float(np.nan_to_num(r, nan=0.0, posinf=0.0, neginf=0.0).max()))
        return best

    def score(self, image: np.ndarray, gray: np.ndarray, box) -> float:
        hist = _histogram(image, box)
        colour = [max(0.0, 1.0 - cv2.compareHist(h, hist, cv2.HISTCMP_BHATTACHARYYA))
                  for h in (self.hist_first, self.hist_blend)]
        if self.flat:
            ncc = [1.0, 1.0]
        else:
            ncc = [self._ncc(gray, box, self.first), self._ncc(gray, box, self.blend)]
        first = float(np.sqrt(colour[0] * ncc[0]))
        recent = float(np.sqrt(colour[1] * ncc[1]))
        return float(min(1.0, max(first, min(recent, first + self.params.blend_margin))))

    def learn(self, image: np.ndarray, gray: np.ndarray, box, conf: float) -> None:
        if conf < self.params.update_confidence:
            return
        a = self.params.template_rate
        if not self.flat:
            zp = _normalised(_patch(gray, box, self.size).astype(np.float32))
            inliers = np.abs(zp - self.blend) < _INLIER_Z
            if inliers.mean() < 1.0 - _MAX_OUTLIERS:
                return  # a part of the box changed completely: something in front, not the object changing
            self.blend = np.where(inliers, (1.0 - a) * self.blend + a * zp, self.blend).astype(np.float32)
        self.hist_blend = (1.0 - a) * self.hist_blend + a * _histogram(image, box)


def _normalised(a: np.ndarray) -> np.ndarray:
    return (a - a.mean()) / max(float(a.std()), 1e-3)


# -- frames ---------------------------------------------------------------------------------------------
def _work_scale(info: VideoInfo, box: Box, long_side: int) -> float:
    s = min(1.0, long_side / max(info.width, info.height))
    short = min(box[2] - box[0], box[3] - box[1])
    if short * s < _MIN_WORK_SIDE:  # a small object: keep more pixels for the tracker
        s = min(1.0, _MIN_WORK_SIDE / max(short, 1e-6))
    return s


def _converter(info: VideoInfo, scale: float):
    if scale >= 1.0:
        return (lambda f: f.to_bgr()), (info.width, info.height)
    w = max(16, int(round(info.width * scale)))
    h = max(16, int(round(info.height * scale)))
    return (lambda f: f.to_bgr_scaled(w, h)), (w, h)


def _forward(reader: VideoReader, first: int, last: int, convert) -> Iterator[tuple[int, np.ndarray]]:
    for f in reader.frames(first, last + 1):
        yield f.index, convert(f)


def _backward(reader: VideoReader, first: int, last: int, convert, frame_bytes: int,
              cancel: CancelToken | None) -> Iterator[tuple[int, np.ndarray]]:
    """Frames ``first`` down to ``last`` (first >= last), decoded in forward chunks that start at a
    keyframe where possible (each frame decoded once), at most a memory budget's worth at a time."""
    info = reader.info
    keys = sorted({info.index_of_pts(p) for p in info.keyframe_pts})
    chunk = max(8, min(_MAX_CHUNK, _BACKWARD_BUDGET // max(1, frame_bytes)))
    b = first
    while b >= last:
        k = bisect.bisect_right(keys, b) - 1
        a = keys[k] if k >= 0 and b - keys[k] + 1 <= chunk else b - chunk + 1
        a = max(a, last)
        frames = []
        for f in reader.frames(a, b + 1):
            frames.append((f.index, convert(f)))
            if cancel is not None and cancel.cancelled:
                break
        if cancel is not None and cancel.cancelled:
            yield from reversed(frames[-1:])  # let the caller see the flag on its next check
            return
        yield from reversed(frames)
        b = a - 1


# -- the pipeline ---------------------------------------------------------------------------------------
def _clip_box(box: Box, w: int, h: int) -> Box:
    x1, y1, x2, y2 = box
    return (min(max(x1, 0.0), w), min(max(y1, 0.0), h), min(max(x2, 0.0), w), min(max(y2, 0.0), h))


class _Follow:
    """One follow's state, fed frame by frame (by :func:`follow`, which decodes for it, or by the
    visual extension, which decodes once for many follows): the start frame first, then the
    frames after (or before) it in the follow's order, each at :attr:`scale` (``convert``)."""

    def __init__(self, info: VideoInfo, start_frame: int, box: Box, direction: int, params: FollowParams,
                 stop_frame: int | None):
        if direction not in (1, -1):
            raise ValueError(f"direction must be 1 or -1, got {direction}")
        n = info.frame_count
        if not 0 <= start_frame < n:
            raise ValueError(f"start frame {start_frame} is outside the video (0..{n - 1})")
        x1, y1, x2, y2 = _clip_box(tuple(float(v) for v in box), info.width, info.height)
        if x2 - x1 < 2 or y2 - y1 < 2:
            raise ValueError(f"the box {tuple(box)} is empty or outside the frame")
        self.tracker_name, self.note = resolve_tracker(params.tracker)
        end = (n - 1 if direction > 0 else 0) if stop_frame is None else min(max(stop_frame, 0), n - 1)
        if (end - start_frame) * direction < 0:
            end = start_frame  # a stop frame on the wrong side: nothing to follow
        span = abs(end - start_frame)
        self.limit_hit = params.max_frames is not None and params.max_frames < span
        if self.limit_hit:
            span = max(0, params.max_frames)
            end = start_frame + direction * span
        self.info, self.params, self.start, self.end, self.span = info, params, start_frame, end, span
        self.direction = direction
        self.box = (x1, y1, x2, y2)
        self.result = FollowResult({start_frame: self.box}, {start_frame: 1.0}, "end", start_frame,
                                   self.tracker_name)
        self.scale = _work_scale(info, self.box, params.work_long_side)
        self.convert, (self.ww, self.wh) = _converter(info, self.scale)
        self.start_wh = (x2 - x1) * self.scale, (y2 - y1) * self.scale
        self.tracker = self.conf = None
        self.pending: list[tuple[int, Box, float]] = []  # low-confidence frames, emitted if it recovers
        self.done = 0
        self.last_index = start_frame
        self.stopped = False  # lost (or cancelled): feed no more

    def feed(self, index: int, image: np.ndarray) -> bool:
        """Take the next frame (BGR at ``scale``); False once the follow has stopped (lost)."""
        self.last_index = index
        params, result, scale, info = self.params, self.result, self.scale, self.info
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        if self.tracker is None:  # the start frame
            x1, y1, x2, y2 = self.box
            rect = (x1 * scale, y1 * scale, (x2 - x1) * scale, (y2 - y1) * scale)
            irect = tuple(int(round(v)) for v in rect)
            irect = (irect[0], irect[1], max(2, irect[2]), max(2, irect[3]))
            self.tracker = create_tracker(self.tracker_name)
            self.tracker.init(image, irect)
            self.conf = _Confidence(image, gray, rect, params)
            return True
        ok, rect = self.tracker.update(image)
        self.done += 1
        reason = ""
        score = 0.0
        if ok:
            rx, ry, rw, rh = (float(v) for v in rect)
            reason = _sanity(rx, ry, rw, rh, self.ww, self.wh, self.start_wh, params)
            if not reason:
                score = self.conf.score(image, gray, (rx, ry, rw, rh))
        else:
            rx = ry = rw = rh = 0.0
        if reason:
            result.stopped, result.detail = "lost", reason
            self.stopped = True
            return False
        if not ok or score < params.min_confidence:
            self.pending.append((index, _to_source((rx, ry, rw, rh), scale, info) if ok else None, score))
            if len(self.pending) >= params.patience:
                result.stopped = "lost"
                result.detail = ("the tracker lost the object" if not ok else
                                 f"confidence fell below {params.min_confidence:g}")
                self.stopped = True
                return False
        else:
            new_box = _to_source((rx, ry, rw, rh), scale, info)
            _flush(result, self.pending, new_box)
            result.boxes[index] = new_box
            result.scores[index] = round(score, 4)
            result.last_frame = index
            self.conf.learn(image, gray, (rx, ry, rw, rh), score)
        return True

    def cancel(self) -> None:
        self.result.stopped, self.result.detail = "cancelled", "cancelled"
        self.stopped = True

    def finish(self) -> FollowResult:
        """The result; a follow that did not stop ran to the end of its range."""
        result = self.result
        if not self.stopped:
            if self.pending:  # the range ended during a dip shorter than `patience`: keep it, as a dip
                _flush(result, self.pending, None)
                result.last_frame = self.last_index
            result.stopped = "limit" if self.limit_hit else "end"
        result.detail = _detail(result, self.note)
        return result


def follow(video_path: str, info: VideoInfo, start_frame: int, box: Box, direction: int = 1,
           params: FollowParams = FollowParams(), cancel: CancelToken | None = None,
           stop_frame: int | None = None) -> Generator[Progress, None, FollowResult]:
    """Follow the object in ``box`` at ``start_frame`` forward (direction=1) or backward (-1).

    Yields ``Progress`` (stage "follow"; ``partial`` is the latest ``(frame, box)``) and returns a
    ``FollowResult``: one box per frame from the start frame (the given box, score 1) up to
    ``stop_frame`` (inclusive; default the clip's last or first frame), ``params.max_frames``
    frames past the start, the frame before the object was lost, or the cancel. The boxes of a
    cancelled follow are the frames followed until then.
    """
    st = _Follow(info, start_frame, box, direction, params, stop_frame)
    result = st.result
    meter = RateMeter("follow", st.span)
    if st.note:
        yield Progress("follow", 0, st.span, message=st.note)
    if st.span == 0:
        result.stopped = "limit" if st.limit_hit else "end"
        result.detail = _detail(result, st.note)
        return result

    with VideoReader(video_path, info) as reader:
        if direction > 0:
            frames = _forward(reader, start_frame, st.end, st.convert)
        else:
            frames = _backward(reader, start_frame, st.end, st.convert, st.ww * st.wh * 3, cancel)
        for index, image in frames:
            if cancel is not None and cancel.cancelled:
                st.cancel()
                break
            if not st.feed(index, image):
                break
            if index == start_frame:
                continue
            p = meter.progress(st.done)
            if p is not None:
                yield Progress(p.stage, p.done, p.total, p.fps, p.eta_s, p.message,
                               (result.last_frame, result.boxes[result.last_frame]))
    result = st.finish()
    yield Progress("follow", st.done, st.span, message=result.detail)
    return result


def _detail(result: FollowResult, note: str) -> str:
    why = result.detail or {"limit": "reached the frame limit", "end": "reached the end of the range"}.get(
        result.stopped, result.stopped)
    return f"{why}; {note}" if note else why


def _flush(result: FollowResult, pending: list, next_box: Box | None) -> None:
    """Emit the frames of a dip the follow came out of (or that the range ended in), with their low
    scores; frames where the tracker itself failed get a box interpolated between the last good
    one and ``next_box`` (or held, when there is none)."""
    prev = result.boxes[result.last_frame]
    for j, (index, box, score) in enumerate(pending):
        if box is None:
            t = (j + 1) / (len(pending) + 1) if next_box is not None else 0.0
            box = tuple(p + (q - p) * t for p, q in zip(prev, next_box or prev, strict=True))
        result.boxes[index], result.scores[index] = box, round(score, 4)
    pending.clear()


def _sanity(x: float, y: float, w: float, h: float, fw: int, fh: int, start_wh, params: FollowParams) -> str:
    """Why the tracker's box can't be the object any more ("" when it can)."""
    if not all(np.isfinite((x, y, w, h))) or w < 3 or h < 3:
        return "the box collapsed"
    k = max(w / max(start_wh[0], 1e-6), h / max(start_wh[1], 1e-6),
            start_wh[0] / max(w, 1e-6), start_wh[1] / max(h, 1e-6))
    if k > params.max_scale_change:
        return "the box size changed implausibly"
    vw = max(0.0, min(x + w, fw) - max(x, 0.0))
    vh = max(0.0, min(y + h, fh) - max(y, 0.0))
    if vw * vh < params.min_visible * w * h:
        return "the object left the frame"
    return ""


def _to_source(rect, scale: float, info: VideoInfo) -> Box:
    x, y, w, h = rect
    return _clip_box((x / scale, y / scale, (x + w) / scale, (y + h) / scale), info.width, info.height)
