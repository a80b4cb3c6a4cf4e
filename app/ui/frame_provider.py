"""Frames for the viewport, decoded off the UI thread, with a cache around the playhead.

``FrameProvider`` owns one decoding thread with its own demuxer and decoder (PyAV objects are not
thread-safe). The UI asks for a frame with :meth:`FrameProvider.request`; the latest request wins
(while the user scrubs, stale requests are dropped, never queued) and the frame arrives on the main
thread through ``frameReady(index, bgr)``. :meth:`FrameProvider.cached` answers at once when the
frame is already decoded and converted.

Frame ``i`` is the same picture :class:`app.media.reader.VideoReader` returns for ``read(i)``: the
same pts table, the same keyframe seek and the same index mapping (mirrored here because this
decoder works packet by packet). What it adds for interactive use:

* every frame decoded on the way to a target is kept (as YUV, half the size of BGR; BGR copies
  only for frames about to be shown), so later seeks into the same GOP, stepping back and
  backward play are served from memory;
* on a far jump, non-reference frames well before the target are skipped (``skip_frame=NONREF``,
  exact: no other frame depends on them), about a quarter less work to reach a late frame;
* a few decoders stay at different places (a small pool): a request goes to one that can decode
  on to it without seeking (no keyframe in between), else the least recently used one seeks;
* decoder threads are chosen per file (``thread_type="auto"``): slice threads when the frames
  have several slices (a frame decodes on several cores, with no added delay), else frame
  threads (which delay each frame by the thread count but still gain on a seek); measured in
  bench/ui_bench.py;
* during play it reads ahead and converts frames to BGR before they are due; when it cannot keep
  up it shows the newest frame it has (dropped frames) instead of lagging behind the clock.
  Stepping back also prepares the frames behind;
* playing backward, it decodes the whole GOP before the one being shown into the cache as soon as
  the current one is in (:func:`backward_horizon`): a GOP can only be decoded forward from its
  keyframe, so waiting until the playhead is a second from its end (as the forward read-ahead
  does) left a second to decode a two-second GOP: twice real time. Where decoding is slower than
  that (a busy machine, 1080p, long GOPs) -1x stalled at each GOP, the clock then jumped more than
  a step, and the request after the jump skipped non-reference frames that had to be decoded
  again; so while playing backward every decoded frame is kept (bench/ui_bench.py playback).

``ThumbnailProvider`` decodes timeline thumbnails in a separate, lower-priority thread with its own
reader, so thumbnails never delay the viewport.

Both caches are in memory only: no frame, thumbnail or crop is ever written to disk (the only
on-disk cache, ``app.cache``, holds frame tables). They are emptied by File > Clear Cache... and
freed when the editor closes.
"""

from __future__ import annotations

import bisect
import os
import threading
import time
from collections import OrderedDict

import av
import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage

from app.errors import CorruptMedia, ObscuraError
from app.media.frames import Orientation
from app.media.probe import VideoInfo, _ffmpeg_reason, open_input
from app.media.reader import VideoReader, check_frame_size, decoding_stream

DEFAULT_CACHE_MB = 512
_KEEP_BEHIND = 8  # on a jump, frames this close before the target are decoded fully (for stepping back)
_IDLE_BGR_AHEAD = 3  # when paused, convert this many frames after the playhead (instant stepping)
_IDLE_DECODE_AHEAD = 8
_IDLE_BGR_BEHIND = 2
_LAG_EMIT_S = 0.04  # while playing and behind, show the newest decoded frame at least this often


def gop_start(info: VideoInfo, index: int) -> int:
    """The index of the keyframe that starts the GOP of frame ``index``."""
    keys = info.keyframe_pts
    k = bisect.bisect_right(keys, info.pts[index]) - 1
    return info.index_of_pts(keys[k]) if k >= 0 else 0


def backward_horizon(info: VideoInfo, index: int, limit: int) -> int:
    """How far back from ``index`` backward play prepares frames: to the start of the GOP before
    the one holding ``index`` (so it is decoded while the current one plays); 0 when that is more
    than ``limit`` frames (the cache cannot hold them: decoding ahead would only evict what is
    shown next, so the usual second of read-ahead applies)."""
    start = gop_start(info, index)
    prev = gop_start(info, start - 1) if start > 0 else 0
    return index - prev if index - prev <= limit else 0


class FrameCache:
    """Thread-safe LRU of decoded frames under a byte budget.

    Two kinds of entry: the decoded ``av.VideoFrame`` (YUV, what every decoded frame leaves behind)
    and its BGR conversion (twice the size, only for frames about to be shown, at most
    ``bgr_share`` of the budget). BGR copies go first (a YUV frame converts again in a few ms),
    and entries inside the protected window around the playhead go last.
    """

    def __init__(self, budget_bytes: int, bgr_share: float = 0.25):
        self.budget = int(budget_bytes)
        self.bgr_share = bgr_share
        self._lock = threading.Lock()
        self._yuv: OrderedDict[int, tuple[av.VideoFrame, int]] = OrderedDict()
        self._bgr: OrderedDict[int, np.ndarray] = OrderedDict()
        self._yuv_bytes = self._bgr_bytes = 0
        self._window = (0, -1)

    @property
    def nbytes(self) -> int:
        return self._yuv_bytes + self._bgr_bytes

    def __len__(self) -> int:
        return len(self._yuv.keys() | self._bgr.keys())

    def set_window(self, lo: int, hi: int) -> None:
        self._window = (lo, hi)

    def get_bgr(self, index: int) -> np.ndarray | None:
        with self._lock:
            bgr = self._bgr.get(index)
            if bgr is not None:
                self._bgr.move_to_end(index)
            return bgr

    def get_yuv(self, index: int) -> av.VideoFrame | None:
        with self._lock:
            e = self._yuv.get(index)
            if e is None:
                return None
            self._yuv.move_to_end(index)
            return e[0]

    def has(self, index: int, bgr: bool = False) -> bool:
        return index in self._bgr or (not bgr and index in self._yuv)

    def put_yuv(self, index: int, frame: av.VideoFrame) -> None:
        size = sum(p.buffer_size for p in frame.planes)
        with self._lock:
            old = self._yuv.pop(index, None)
            if old is not None:
                self._yuv_bytes -= old[1]
            self._yuv[index] = (frame, size)
            self._yuv_bytes += size
            self._evict()

    def put_bgr(self, index: int, bgr: np.ndarray) -> None:
        with self._lock:
            old = self._bgr.pop(index, None)
            if old is not None:
                self._bgr_bytes -= old.nbytes
            self._bgr[index] = bgr
            self._bgr_bytes += bgr.nbytes
            self._evict()

    def clear(self) -> None:
        with self._lock:
            self._yuv.clear()
            self._bgr.clear()
            self._yuv_bytes = self._bgr_bytes = 0

    def _evict(self) -> None:
        lo, hi = self._window
        for protect in (True, False):
            for index in list(self._bgr):
                if self._bgr_bytes <= self.budget * self.bgr_share and self.nbytes <= self.budget:
                    break
                if len(self._bgr) > 1 and not (protect and lo <= index <= hi):
                    self._bgr_bytes -= self._bgr.pop(index).nbytes
            for index in list(self._yuv):
                if self.nbytes <= self.budget:
                    break
                if len(self._yuv) > 1 and not (protect and lo <= index <= hi):
                    self._yuv_bytes -= self._yuv.pop(index)[1]


class _Decoder:
    """Exact, packet-level decoder for one thread (same frame indices as VideoReader)."""

    def __init__(self, path: str, info: VideoInfo, thread_type: str):
        self.path, self.info, self.thread_type = path, info, thread_type
        self._open()

    def _open(self) -> None:
        self.container = open_input(self.path)
        self.stream = decoding_stream(self.container, self.info)
        self.stream.thread_type = self.thread_type
        self.cc = self.stream.codec_context
        self._skip = "DEFAULT"
        self._packets = None
        self.pos = -1  # index of the last frame that came out of the decoder
        self.fresh = True  # nothing decoded since the last seek
        self.eof = False

    def close(self) -> None:
        self.container.close()

    def keyframe_index(self, index: int) -> int:
        return gop_start(self.info, index)

    def needs_seek(self, index: int) -> bool:
        """True when seeking to the keyframe is cheaper than decoding on from here (or required)."""
        if self.eof or index <= self.pos:
            return True
        return self.keyframe_index(index) > self.pos + 3

    def seek(self, index: int, extra_back: bool = False) -> None:
        info = self.info
        keys = info.keyframe_pts
        k = bisect.bisect_right(keys, info.pts[index]) - (2 if extra_back else 1)
        seek_pts = keys[max(0, k)] if keys else info.pts[index]
        if k < 0 or index == 0:
            seek_pts = info.pts[0]
        if not (seek_pts == info.pts[0] and self.pos == -1 and self._packets is None and not self.eof):
            try:
                self.container.seek(seek_pts, stream=self.stream, backward=True, any_frame=False)
            except av.error.FFmpegError:  # unseekable (GIF, raw streams): decode from the start
                self.container.close()
                self._open()
                seek_pts = info.pts[0]
        self._packets = None
        self.fresh, self.eof = True, False
        self.pos = info.index_of_pts(seek_pts) - 1

    def step(self, skip_before_pts: int | None) -> list[tuple[int, av.VideoFrame]] | None:
        """Decode one packet: the frames that came out, as (index, frame). None at the end."""
        if self._packets is None:
            self._packets = self.container.demux(self.stream)
        try:
            packet = next(self._packets)
        except StopIteration:
            self.eof = True
            return None
        except av.error.FFmpegError as e:
            raise CorruptMedia(f"cannot read {self.path} after frame {self.pos}: {_ffmpeg_reason(e)}") from None
        skip = (
            "NONREF"
            if skip_before_pts is not None and packet.pts is not None and packet.pts < skip_before_pts
            else "DEFAULT"
        )
        if skip != self._skip:
            self.cc.skip_frame = self._skip = skip
        try:
            decoded = packet.decode()
        except av.error.FFmpegError as e:
            raise CorruptMedia(
                f"cannot decode {self.path} after frame {self.pos}, the file is corrupt or truncated: "
                f"{_ffmpeg_reason(e)}"
            ) from None
        return [(self._index_of(f), f) for f in decoded]

    def _index_of(self, f: av.VideoFrame) -> int:
        check_frame_size(f, self.info, self.pos + 1)
        self.pos = index = self.info.index_of_decoded(f.pts, self.pos, self.fresh)
        self.fresh = False
        return index


def slices_per_frame(path: str) -> int:
    """Slices in the first keyframe of an H.264/HEVC file (0 when unknown or another codec)."""
    try:
        with av.open(path, metadata_errors="ignore") as c:
            stream = c.streams.video[0]
            codec = stream.codec_context.name
            if codec not in ("h264", "hevc"):
                return 0
            extradata = stream.codec_context.extradata or b""
            packet = next((p for p in c.demux(stream) if p.size), None)
            data = bytes(packet) if packet is not None else b""
    except (av.error.FFmpegError, OSError, IndexError):
        return 0
    nals = []
    if data.startswith((b"\0\0\1", b"\0\0\0\1")):  # Annex B: start codes
        nals = [part.lstrip(b"\0") for part in data.split(b"\0\0\1")[1:]]
    else:  # length-prefixed (mp4, mkv): the prefix size is in avcC / hvcC
        size = 4
        if codec == "h264" and len(extradata) > 4 and extradata[0] == 1:
            size = (extradata[4] & 3) + 1
        elif codec == "hevc" and len(extradata) > 21 and extradata[0] == 1:
            size = (extradata[21] & 3) + 1
        i = 0
        while i + size <= len(data):
            n = int.from_bytes(data[i : i + size], "big")
            nals.append(data[i + size : i + size + n])
            i += size + n
    if codec == "h264":
        return sum(1 for n in nals if n and 1 <= (n[0] & 0x1F) <= 5)
    return sum(1 for n in nals if n and (n[0] >> 1) & 0x3F < 32)


def auto_thread_type(path: str) -> str:
    """Slice threads when frames have several slices (no added delay), else frame threads."""
    return "SLICE" if slices_per_frame(path) > 1 else "AUTO"


def to_bgr(frame: av.VideoFrame) -> np.ndarray:
    """The same conversion as ``app.media.reader.Frame.to_bgr``."""
    return frame.to_ndarray(format="bgr24")


class _DecoderPool:
    """A few decoders left at different places in the file (all used by the one worker thread).

    A request goes to the decoder that can reach it by decoding on (the fewest frames), else the
    least recently used one seeks. Going back and forth between two places in a clip then costs
    one seek, not one per jump, and what each decoder leaves behind stays in the cache.
    """

    def __init__(self, path: str, info: VideoInfo, thread_type: str, size: int):
        if thread_type == "auto":
            thread_type = auto_thread_type(path)
        self.path, self.info, self.thread_type, self.size = path, info, thread_type, max(1, size)
        self.decoders: list[_Decoder] = [_Decoder(path, info, thread_type)]  # most recently used last

    @property
    def current(self) -> _Decoder:
        return self.decoders[-1]

    def pick(self, index: int) -> tuple[_Decoder, bool]:
        """(decoder, must_seek) for reaching frame ``index``."""
        on_the_way = [d for d in self.decoders if not d.needs_seek(index)]
        if on_the_way:
            dec, seek = min(on_the_way, key=lambda d: index - d.pos), False
        elif len(self.decoders) < self.size:
            dec, seek = _Decoder(self.path, self.info, self.thread_type), True
            self.decoders.append(dec)
        else:
            dec, seek = self.decoders[0], True
        self.decoders.remove(dec)
        self.decoders.append(dec)
        return dec, seek

    def can_reach(self, index: int) -> bool:
        """True when some decoder reaches ``index`` by decoding on, without a seek."""
        return any(not d.needs_seek(index) for d in self.decoders)

    def close(self) -> None:
        for d in self.decoders:
            d.close()


class FrameProvider(QObject):
    """Decodes frames for the viewport in one background thread. See the module docstring."""

    frameReady = Signal(int, object)  # index, BGR ndarray (main thread)
    decodeFailed = Signal(int, str)  # index, one-line message
    _delivered = Signal(int, object, int)
    _failed = Signal(int, str, int)

    def __init__(self, parent: QObject | None = None, cache_mb: int = DEFAULT_CACHE_MB,
                 thread_type: str = "auto", skip_nonref: bool = True, decoders: int = 3):
        super().__init__(parent)
        self.cache = FrameCache(cache_mb * 1024 * 1024)
        self.thread_type, self.skip_nonref, self.decoders = thread_type, skip_nonref, decoders
        self.path: str | None = None
        self.info: VideoInfo | None = None
        self.stats = {"requests": 0, "seeks": 0, "decoded": 0, "converted": 0, "emitted": 0, "decode_cpu_s": 0.0}
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._session = 0
        self._closing = False
        self._want: int | None = None
        self._playhead = 0
        self._playing, self._direction, self._speed = False, 1, 1.0
        self._gen = 0  # bumped on every change of what the worker should do
        self._forget = False
        self._last_delta = 0  # the playhead's last move (-1: a step back)
        self._delivered.connect(self._on_delivered, Qt.ConnectionType.QueuedConnection)
        self._failed.connect(self._on_failed, Qt.ConnectionType.QueuedConnection)

    # -- lifetime ---------------------------------------------------------------------------------
    def open(self, path: str, info: VideoInfo) -> None:
        """Start decoding ``path``. Opening the file already open (same info) keeps it as it is."""
        if self._thread is not None and path == self.path and info is self.info:
            return
        self.close()
        self.path, self.info = path, info
        self.cache.clear()
        self._session += 1
        self._closing, self._want, self._playhead, self._gen = False, None, 0, 0
        self._thread = threading.Thread(target=self._run, args=(self._session,), name="obscura-frames",
                                        daemon=True)
        self._thread.start()

    def close(self) -> None:
        if self._thread is None:
            return
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout=10)
        self._thread = None
        self._session += 1
        self.cache.clear()

    @property
    def is_open(self) -> bool:
        return self._thread is not None

    # -- requests (main thread) -------------------------------------------------------------------
    def request(self, index: int) -> None:
        """Ask for frame ``index``; ``frameReady`` follows unless a newer request replaces it."""
        if self._thread is None or self.info is None:
            return
        index = max(0, min(int(index), self.info.frame_count - 1))
        with self._cond:
            self.stats["requests"] += 1
            self._want = index
            self._set_playhead(index)
            self._cond.notify_all()

    def set_playhead(self, index: int) -> None:
        """Tell the provider where the playhead is (for read-ahead) without asking for a frame."""
        with self._cond:
            self._set_playhead(int(index))
            self._cond.notify_all()

    def cached(self, index: int) -> np.ndarray | None:
        """The BGR frame at ``index`` if it is already decoded and converted, else None."""
        return self.cache.get_bgr(index)

    def source_frame(self, index: int) -> av.VideoFrame | None:
        """The decoded frame at ``index`` in its native pixel format, if cached (read-only!)."""
        return self.cache.get_yuv(index)

    def set_playing(self, playing: bool, direction: int = 1, speed: float = 1.0) -> None:
        with self._cond:
            self._playing, self._direction = bool(playing), (1 if direction >= 0 else -1)
            self._speed = abs(speed)
            self._gen += 1
            self._set_window()
            self._cond.notify_all()

    def clear_cache(self, forget_positions: bool = False) -> None:
        """Drop every cached frame; ``forget_positions`` also makes the decoders seek next time
        (a fully cold start, for measurements)."""
        with self._cond:
            self.cache.clear()
            self._forget = self._forget or forget_positions

    def set_cache_budget(self, mb: int) -> None:
        self.cache.budget = int(mb) * 1024 * 1024

    def _set_playhead(self, index: int) -> None:
        self._last_delta = index - self._playhead
        self._playhead = index
        self._gen += 1
        self._set_window()

    def _set_window(self) -> None:
        p, (n, _bgr) = self._playhead, self._ahead()
        d = self._direction if self._playing else 1
        self.cache.set_window(p - (n if d < 0 else _KEEP_BEHIND), p + (n if d > 0 else _KEEP_BEHIND))

    def _ahead(self) -> tuple[int, int]:
        """(frames to decode, frames to convert) ahead of the playhead (behind it when playing
        backward: down to the start of the previous GOP), within the cache budget."""
        if not self._playing or self.info is None:
            return _IDLE_DECODE_AHEAD, _IDLE_BGR_AHEAD
        pixels = self.info.width * self.info.height
        decode = max(2, min(int(float(self.info.fps) * max(1.0, self._speed)), self.cache.budget // (pixels * 3)))
        convert = max(1, min(decode, int(self.cache.budget * self.cache.bgr_share // (pixels * 3)) // 2))
        if self._direction < 0 and self.info.frame_count:
            # decoded frames (YUV 4:2:0: 1.5 bytes a pixel) in the part of the budget BGR copies leave
            room = int(self.cache.budget * (1 - self.cache.bgr_share) // (pixels * 1.5))
            p = max(0, min(self._playhead, self.info.frame_count - 1))
            decode = max(min(decode, max(2, room)), backward_horizon(self.info, p, room))
        return decode, convert

    # -- main-thread delivery ---------------------------------------------------------------------
    def _on_delivered(self, index: int, bgr: object, session: int) -> None:
        if session == self._session:
            self.stats["emitted"] += 1
            self.frameReady.emit(index, bgr)

    def _on_failed(self, index: int, message: str, session: int) -> None:
        if session == self._session:
            self.decodeFailed.emit(index, message)

    # -- the decoding thread ----------------------------------------------------------------------
    def _run(self, session: int) -> None:
        try:
            pool = _DecoderPool(self.path, self.info, self.thread_type, self.decoders)
        except ObscuraError as e:
            self._failed.emit(-1, str(e), session)
            return
        idle_gen = -1
        try:
            while True:
                with self._cond:
                    while not self._closing and self._want is None and idle_gen == self._gen:
                        self._cond.wait()
                    if self._closing:
                        return
                    want, gen = self._want, self._gen
                    if self._forget:
                        self._forget = False
                        for d in pool.decoders:
                            d.eof = True
                try:
                    if want is not None:
                        self._serve(pool, want, session)
                    elif not self._background_step(pool, session):
                        idle_gen = gen  # nothing left to prepare until something changes
                except Exception as e:  # report it and go on: the viewport must never stall
                    with self._cond:
                        if self._want == want:
                            self._want = None
                    message = str(e) if isinstance(e, ObscuraError) else f"cannot decode: {type(e).__name__}: {e}"
                    self._failed.emit(want if want is not None else self._playhead, message, session)
                    for d in pool.decoders:
                        d.eof = True  # force fresh seeks next time
                    if want is None:
                        idle_gen = gen  # no read-ahead retries until something changes
        finally:
            pool.close()

    def _serve(self, pool: _DecoderPool, index: int, session: int) -> None:
        bgr = self.cache.get_bgr(index)
        if bgr is None:
            frame = self.cache.get_yuv(index)
            if frame is None:
                with self._cond:
                    back = -_KEEP_BEHIND <= self._last_delta < 0
                    if self._playing and self._direction < 0:  # every frame before it is shown next
                        back = True  # (after a stall the clock jumps more than a step: keep them all)
                got = self._decode_to(pool, index, session, jump=True, keep_all=back)
                if got is None:
                    return  # superseded, or the file ends early (reported)
                index, frame = got  # a newer request further on the same path may have been served
            bgr = self._convert(index, frame)
        with self._cond:
            if self._want == index:
                self._want = None
        self._delivered.emit(index, bgr, session)

    def _convert(self, index: int, frame: av.VideoFrame) -> np.ndarray:
        bgr = to_bgr(frame)
        bgr.flags.writeable = False  # shared by the cache and the view: nobody may draw on it
        self.cache.put_bgr(index, bgr)
        self.stats["converted"] += 1
        return bgr

    def _decode_to(self, pool: _DecoderPool, index: int, session: int, jump: bool,
                   keep_all: bool = False) -> tuple[int, av.VideoFrame] | None:
        """Decode up to frame ``index``, caching every frame on the way: (index, frame), or None.

        Non-reference frames well before ``index`` are skipped (exact: nothing depends on them)
        unless ``keep_all``.

        With ``jump`` (serving a request) a newer request further along the same path retargets
        the decode, and the index returned is that one. None when superseded or past the end.
        """
        info, retried = self.info, False
        cpu0 = time.thread_time()
        try:
            dec, seek = pool.pick(index)
            if seek:
                dec.seek(index)
                self.stats["seeks"] += 1
            last_emit = time.perf_counter()
            while True:
                skip_pts = None
                if self.skip_nonref and not keep_all and index - _KEEP_BEHIND > dec.pos + 1:
                    skip_pts = info.pts[index - _KEEP_BEHIND]
                out = dec.step(skip_pts)
                if out is None:  # the file ends before the frame
                    msg = f"frame {index} of {self.path} cannot be decoded; the file is truncated"
                    self._failed.emit(index, msg, session)
                    with self._cond:
                        if self._want == index:
                            self._want = None
                    return None
                found = None
                for i, f in out:
                    self.cache.put_yuv(i, f)
                    self.stats["decoded"] += 1
                    if i == index:
                        found = f
                if found is not None:
                    return index, found
                if out and out[-1][0] > index:  # passed the target: broken index, back off one keyframe
                    if retried:
                        return out[-1]
                    retried = True
                    dec.seek(index, extra_back=True)
                    continue
                with self._cond:
                    if self._closing:
                        return None
                    want, playing, direction = self._want, self._playing, self._direction
                if want is not None and want != index:
                    if not jump:
                        return None  # a request preempts read-ahead (what was decoded stays cached)
                    if want > dec.pos and not dec.needs_seek(want) and not self.cache.has(want):
                        index = want  # the new target lies ahead on the same path: keep decoding
                    else:
                        return None
                if playing and direction > 0 and out and time.perf_counter() - last_emit > _LAG_EMIT_S:
                    # Behind the clock: show the newest frame we have rather than nothing.
                    i, f = out[-1]
                    self._delivered.emit(i, self._convert(i, f), session)
                    last_emit = time.perf_counter()
        finally:
            self.stats["decode_cpu_s"] += time.thread_time() - cpu0

    def _background_step(self, pool: _DecoderPool, session: int) -> bool:
        """Prepare one frame near the playhead (read-ahead). False when there is nothing to do."""
        with self._cond:
            p, playing, d, speed = self._playhead, self._playing, self._direction, self._speed
            n, n_bgr = self._ahead()
            stepping_back = -_KEEP_BEHIND <= self._last_delta < 0
        last = self.info.frame_count - 1
        if playing:
            stride = max(1, int(speed))  # fast shuttle shows about every stride-th frame
            span = range(p + d, p + d * (n + 1), d)
            plan = [(i, abs(i - p) <= n_bgr * stride and (i - p) % stride == 0) for i in span if 0 <= i <= last]
        else:
            plan = [(i, i - p <= n_bgr) for i in range(p + 1, min(last, p + n) + 1)]
            behind = range(p - 1, max(-1, p - (_KEEP_BEHIND if stepping_back else _IDLE_BGR_BEHIND) - 1), -1)
            plan += [(i, p - i <= _IDLE_BGR_BEHIND) for i in behind if stepping_back or self.cache.has(i)]
        for i, want_bgr in plan:
            if self.cache.has(i, bgr=want_bgr):
                continue
            frame = self.cache.get_yuv(i)
            if frame is None:
                if not playing and not (i < p and stepping_back) and (i < p or not pool.can_reach(i)):
                    continue  # idle read-ahead seeks only for someone stepping back
                # Going backward, decode the GOP prefix up to i, all of it (it is shown next).
                backward = (playing and d < 0) or i < p
                got = self._decode_to(pool, i, session, jump=False, keep_all=backward)
                if got is None:
                    return False
                frame = got[1]
            if want_bgr:
                self._convert(i, frame)
            return True
        return False


class ThumbnailProvider(QObject):
    """Small timeline pictures, decoded in their own low-priority thread with their own reader.

    ``thumbnail(index, height)`` returns the picture if it is ready, else None and queues it;
    ``thumbnailReady(index, image)`` follows on the main thread. Pending requests are served
    nearest-first from where the reader is, so a strip of thumbnails decodes mostly sequentially.
    """

    thumbnailReady = Signal(int, QImage)
    _done = Signal(int, int, QImage, int)

    def __init__(self, parent: QObject | None = None, max_items: int = 600):
        super().__init__(parent)
        self.max_items = max_items
        self.info: VideoInfo | None = None
        self.path: str | None = None
        self._images: OrderedDict[tuple[int, int], QImage] = OrderedDict()
        self._pending: OrderedDict[tuple[int, int], None] = OrderedDict()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closing = False
        self._session = 0
        self._done.connect(self._on_done, Qt.ConnectionType.QueuedConnection)

    def open(self, path: str, info: VideoInfo) -> None:
        if self._thread is not None and path == self.path and info is self.info:
            return
        self.close()
        self.path, self.info = path, info
        self._session += 1
        self._closing = False
        self._thread = threading.Thread(target=self._run, args=(self._session,), name="obscura-thumbs", daemon=True)
        self._thread.start()

    def close(self) -> None:
        if self._thread is not None:
            with self._cond:
                self._closing = True
                self._pending.clear()
                self._cond.notify_all()
            self._thread.join(timeout=10)
            self._thread = None
        self._session += 1
        self._images.clear()

    def clear_cache(self) -> None:
        """Drop every thumbnail held (they are in memory only; they decode again when shown)."""
        self._images.clear()

    def thumbnail(self, index: int, height: int) -> QImage | None:
        key = (int(index), int(height))
        img = self._images.get(key)
        if img is not None:
            self._images.move_to_end(key)
            return img
        if self._thread is not None and self.info is not None and 0 <= key[0] < self.info.frame_count:
            with self._cond:
                self._pending[key] = None
                self._pending.move_to_end(key)
                while len(self._pending) > self.max_items:
                    self._pending.popitem(last=False)  # the oldest requests are no longer on screen
                self._cond.notify_all()
        return None

    def _on_done(self, index: int, height: int, image: QImage, session: int) -> None:
        if session != self._session:
            return
        self._images[(index, height)] = image
        while len(self._images) > self.max_items:
            self._images.popitem(last=False)
        self.thumbnailReady.emit(index, image)

    def _run(self, session: int) -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)  # Linux: this thread only
        except (AttributeError, OSError):
            pass
        try:
            reader = VideoReader(self.path, self.info, threads=False)
        except ObscuraError:
            return
        pos = -1
        orient = Orientation.of(self.info)
        try:
            while True:
                with self._cond:
                    while not self._closing and not self._pending:
                        self._cond.wait()
                    if self._closing:
                        return
                    keys = list(self._pending)
                    key = min([k for k in keys if k[0] > pos] or keys)
                    del self._pending[key]
                index, height = key
                try:
                    frame = reader.read(index)
                except Exception:  # a damaged spot: no thumbnail there, go on with the others
                    continue
                pos = index
                up_w, up_h = orient.upright_size
                w = max(1, round(height * up_w / max(1, up_h)))
                cw, ch = (height, w) if orient.turns % 2 else (w, height)  # turned a quarter: sides swap
                coded = frame.frame.reformat(width=cw, height=ch, format="rgb24").to_ndarray()
                rgb = np.ascontiguousarray(orient.image(coded))  # upright, as the viewport shows it
                image = QImage(rgb.data, w, height, rgb.strides[0], QImage.Format.Format_RGB888).copy()
                self._done.emit(index, height, image, session)
        finally:
            reader.close()
