"""Editor UI speed.

timeline_repaint(): a project with 5,000 tracks over a one-hour 30 fps timeline, a 1600x900
timeline offscreen, full repaints at several zoom levels and scroll positions (the first paint at
each position builds the lanes it shows; the next ones reuse them). Target: < 16 ms (60 Hz).

seek_latency(): a 1080p H.264 clip (10 s, 29.97 fps, GOP 60, B-frames), the real FrameProvider and
VideoView offscreen; the time from ``doc.set_frame(i)`` to frame i on screen (frameReady handled,
pixmap set) for 60 random seeks with nothing cached, per decoder thread type, then with the cache
kept, and for frame stepping forward and backward; playback_rate(): frames shown per second while
playing at 1x, 2x and -1x. Target: median < 80 ms, p95 < 150 ms.

    QT_QPA_PLATFORM=offscreen python bench/ui_bench.py [seek] [playback] [timeline] [--clip VIDEO]

``playback`` alone plays 5 s at each speed (backward from the middle of the clip: it crosses
two GOP boundaries).
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from fractions import Fraction
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core import Keyframe, MediaRef, Project, Shape, Track  # noqa: E402


def _percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def build_timeline_project(n_tracks: int = 5000, seconds: int = 3600, fps: int = 30, seed: int = 7) -> Project:
    """Tracks of mixed classes with 1-4 spans each, keyframes every 5-45 frames, some disabled."""
    rnd = random.Random(seed)
    frames = seconds * fps
    box = Shape.rect(100, 100, 160, 170)
    project = Project(media=MediaRef("/bench/one-hour.mp4", 1920, 1080, Fraction(fps), frames))
    sources = ("auto", "auto", "auto", "tracked", "manual")
    for i in range(n_tracks):
        cls = rnd.choice(("face", "face", "plate", "manual"))
        kfs: list[Keyframe] = []
        f = rnd.randrange(0, frames - 100)
        for _ in range(rnd.randint(1, 4)):
            end = min(frames - 2, f + rnd.randint(15, 1800))
            step = rnd.randint(5, 45)
            for k in range(f, end, step):
                src = "manual" if cls == "manual" else rnd.choice(sources)
                kfs.append(Keyframe(k, box, source=src, score=None if cls == "manual" else rnd.random()))
            kfs.append(Keyframe(end, box, source="auto", visible=False))
            f = end + rnd.randint(10, 3000)
            if f >= frames - 20:
                break
        project.tracks.append(Track(f"{cls}-{i:05d}", cls, kfs, enabled=rnd.random() > 0.1))
    return project


def timeline_repaint(n_tracks: int = 5000, repeats: int = 8) -> dict:
    from PySide6.QtWidgets import QApplication

    from app.ui.document import Document
    from app.ui.style import apply_dark_theme
    from app.ui.timeline import TimelineWidget

    app = QApplication.instance() or QApplication([])
    apply_dark_theme(app)
    t0 = time.perf_counter()
    project = build_timeline_project(n_tracks)
    n_kfs = sum(len(t.keyframes) for t in project.tracks)
    print(f"project: {n_tracks} tracks, {n_kfs} keyframes, {project.media.frame_count} frames "
          f"(built in {time.perf_counter() - t0:.1f} s)")
    doc = Document()
    doc.project = project
    doc.projectReplaced.emit()
    doc.set_frame(project.media.frame_count // 3)
    tl = TimelineWidget(doc)
    tl.resize(1600, 900)
    tl.show()
    app.processEvents()
    fit = tl.zoom

    warm: list[float] = []
    cold: list[float] = []
    rows = []
    for zoom in (fit, 0.5, 4.0, 30.0):
        for v_share in (0.0, 0.5, 1.0):
            for h_share in (0.0, 0.6):
                tl.set_zoom(zoom)
                tl._hbar.setValue(round(tl._hbar.maximum() * h_share))
                tl._vbar.setValue(round(tl._vbar.maximum() * v_share))
                times = []
                for _ in range(repeats + 1):
                    t = time.perf_counter()
                    tl.repaint()
                    times.append((time.perf_counter() - t) * 1000)
                cold.append(times[0])
                warm.extend(times[1:])
                rows.append((tl.zoom, v_share, h_share, times[0], statistics.median(times[1:])))
    print(f"{'px/frame':>9} {'lanes at':>8} {'time at':>7} {'first ms':>9} {'median ms':>9}")
    for z, v, h, c, m in rows:
        print(f"{z:9.3f} {v:8.0%} {h:7.0%} {c:9.2f} {m:9.2f}")

    # Playback: one frame step repaints only the old and the new playhead column.
    tl.set_zoom(fit)
    steps = []
    for i in range(60):
        t = time.perf_counter()
        doc.set_frame(doc.frame + 1 + i % 2)
        app.processEvents()
        steps.append((time.perf_counter() - t) * 1000)

    allt = warm + cold
    result = {
        "median_ms": statistics.median(allt), "p95_ms": _percentile(allt, 0.95),
        "warm_median_ms": statistics.median(warm), "cold_median_ms": statistics.median(cold),
        "cold_max_ms": max(cold), "playhead_step_median_ms": statistics.median(steps),
    }
    print(f"first paint at a new position: median {result['cold_median_ms']:.2f} ms, max {result['cold_max_ms']:.2f} ms;"
          f" repaints: median {result['warm_median_ms']:.2f} ms; playhead step: median "
          f"{result['playhead_step_median_ms']:.2f} ms")
    print(f"RESULT timeline repaint median {result['median_ms']:.2f} ms, p95 {result['p95_ms']:.2f} ms "
          f"with {n_tracks} tracks (target < 16)")
    tl.close()
    return result


# -- seek latency (viewport) --------------------------------------------------------------------
SEEK_CLIP = Path(os.environ.get("OBSCURA_BENCH_DIR", "/tmp/obscura_bench")) / "seek_1080p_gop60.mp4"


def make_seek_clip(path: Path = SEEK_CLIP, seconds: int = 10, gop: int = 60, one_slice: bool = False) -> Path:
    """A 1080p H.264 clip like a camera file: 29.97 fps, a keyframe every ``gop`` frames, B-frames,
    moving textured content with grain (so every frame costs real decoding). Written once, then reused.

    PyAV's libx264 defaults to sliced threads (2 slices per frame here, which lets the decoder
    split a frame between threads); ``one_slice`` writes one slice per frame, as many cameras do."""
    import av
    import cv2
    import numpy as np

    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    w, h, rate = 1920, 1080, Fraction(30000, 1001)
    rng = np.random.default_rng(0)
    base = cv2.resize(rng.integers(0, 255, (h // 8, w // 8, 3), dtype=np.uint8), (w, h),
                      interpolation=cv2.INTER_CUBIC)
    grain = rng.integers(0, 24, (h, w, 3), dtype=np.uint8)
    tmp = path.with_suffix(".tmp.mp4")
    out = av.open(str(tmp), "w")
    vs = out.add_stream("libx264", rate=rate, options={"preset": "veryfast", "crf": "20", "g": str(gop)})
    vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
    if one_slice:
        vs.codec_context.thread_type = "FRAME"
    for i in range(int(seconds * rate)):
        img = cv2.add(np.roll(base, 7 * i, axis=1), np.roll(grain, 13 * i, axis=0))
        cv2.putText(img, str(i), (100, 300), cv2.FONT_HERSHEY_SIMPLEX, 8, (255, 255, 255), 20)
        out.mux(vs.encode(av.VideoFrame.from_ndarray(img, format="bgr24")))
    out.mux(vs.encode(None))
    out.close()
    tmp.rename(path)
    return path


class _SeekRig:
    """A Document, the real FrameProvider and a VideoView (offscreen) on one clip."""

    def __init__(self, app, clip: Path, thread_type: str = "auto", cache_mb: int = 512):
        from PySide6.QtCore import QEventLoop, QTimer

        from app.ui.document import Document
        from app.ui.frame_provider import FrameProvider
        from app.ui.video_view import VideoView

        self.app = app
        self.doc = Document()
        self.provider = FrameProvider(cache_mb=cache_mb, thread_type=thread_type)
        self.view = VideoView(self.doc, self.provider)
        self.view.resize(1280, 720)
        self.view.show()
        self.shown_at: dict[int, float] = {}
        self.cpu_ms: list[float] = []  # decoding CPU time of the worker thread per seek
        self.loop = QEventLoop()
        self.guard = QTimer()
        self.guard.setSingleShot(True)
        self.guard.timeout.connect(self.loop.quit)
        self.view.frameShown.connect(self._on_shown)
        self._waiting: int | None = None
        self.doc.open_media(str(clip))
        self.n = self.doc.frame_count
        self.wait_for(0, time.perf_counter())

    def _on_shown(self, index: int) -> None:
        self.shown_at[index] = time.perf_counter()
        if index == self._waiting:
            self.loop.quit()

    def wait_for(self, index: int, t0: float, timeout_ms: int = 10_000) -> float:
        """Milliseconds from ``t0`` until frame ``index`` is on screen."""
        if self.view.displayed_frame != index:
            self._waiting = index
            self.guard.start(timeout_ms)
            while self.view.displayed_frame != index and self.guard.isActive():
                self.loop.exec()
            self.guard.stop()
            self._waiting = None
        if self.view.displayed_frame != index:
            raise RuntimeError(f"frame {index} was not shown within {timeout_ms} ms")
        return (self.shown_at[index] - t0) * 1000

    def seek(self, index: int, cold: bool = False) -> tuple[float, float]:
        """(ms until the pixmap is set, ms until it is also painted) for a jump to ``index``.

        ``cold``: let the read-ahead of the last jump finish, then drop every cached frame and
        make the decoders seek (nothing helps this jump but the decoder itself)."""
        if cold:
            self.settle()
            self.provider.clear_cache(forget_positions=True)
        cpu0 = self.provider.stats["decode_cpu_s"]
        t0 = time.perf_counter()
        self.doc.set_frame(index)
        shown = self.wait_for(index, t0)
        self.cpu_ms.append((self.provider.stats["decode_cpu_s"] - cpu0) * 1000)
        self.view.viewport().repaint()
        return shown, (time.perf_counter() - t0) * 1000

    def settle(self, ms: int = 150) -> None:
        end = time.perf_counter() + ms / 1000
        while time.perf_counter() < end:
            self.app.processEvents()
            time.sleep(0.005)

    def close(self) -> None:
        self.view.close()
        self.provider.close()


def decode_floor(clip: Path, targets: list[int], thread_type: str = "SLICE") -> dict:
    """The least decoding any exact seek must do, timed packet by packet on this machine.

    H.264 frames depend on the frames before them back to the keyframe, so a frame nobody has
    decoded yet costs at least the decode time of every reference packet from its keyframe to its
    own packet (non-reference B-frames in between can be skipped, the frame itself cannot). This
    sums those times (the best of three sequential decodes, ``thread_type`` threads) for each target."""
    import av

    from app.media.probe import probe

    info = probe(str(clip))
    times: list[tuple[int, bool, float]] = []  # (pts, keyframe, ms) in decode order, best of 3 runs
    for _run in range(3):
        with av.open(str(clip)) as c:
            s = c.streams.video[0]
            s.thread_type = thread_type
            j = 0
            for packet in c.demux(s):
                if packet.pts is None:
                    continue
                t = time.perf_counter()
                packet.decode()
                ms = (time.perf_counter() - t) * 1000
                if _run == 0:
                    times.append((packet.pts, packet.is_keyframe, ms))
                else:
                    times[j] = (packet.pts, packet.is_keyframe, min(ms, times[j][2]))
                j += 1
    # Reference frames: what a decoder told to skip non-reference frames still puts out.
    with av.open(str(clip)) as c:
        s = c.streams.video[0]
        s.codec_context.skip_frame = "NONREF"
        refs = {f.pts for f in c.decode(s)}
    where = {pts: j for j, (pts, _k, _ms) in enumerate(times)}
    floors = []
    for index in targets:
        j = where[info.pts[index]]
        k = max(i for i in range(j + 1) if times[i][1] or i == 0)
        floors.append(sum(ms for i, (pts, _k, ms) in enumerate(times[k : j + 1], k) if i == j or pts in refs))
    return _summary(f"decode-only floor (thread_type={thread_type})", floors)


def _summary(name: str, values: list[float]) -> dict:
    r = {"median_ms": statistics.median(values), "p95_ms": _percentile(values, 0.95), "max_ms": max(values)}
    print(f"  {name:<44} median {r['median_ms']:6.1f}  p95 {r['p95_ms']:6.1f}  max {r['max_ms']:6.1f} ms"
          f"  (n={len(values)})")
    return r


def seek_latency(seeks: int = 60, thread_types: tuple[str, ...] = ("auto", "SLICE", "AUTO", "NONE"),
                 clip: Path | None = None) -> dict:
    """Time from ``doc.set_frame(i)`` to frame i on screen (frameReady handled, pixmap set).

    ``clip``: measure another file instead of the generated one (e.g. a real camera file)."""
    from PySide6.QtWidgets import QApplication

    from app.media.probe import probe

    app = QApplication.instance() or QApplication([])
    t = time.perf_counter()
    own_clip = clip is None
    clip = make_seek_clip() if own_clip else Path(clip)
    info = probe(str(clip))
    print(f"seek clip: {clip} {info.width}x{info.height} {float(info.fps):.3f} fps, {info.frame_count} frames, "
          f"{len(info.keyframe_pts)} keyframes, {os.path.getsize(clip) * 8 / float(info.duration) / 1e6:.1f} Mbit/s "
          f"(ready in {time.perf_counter() - t:.1f} s); {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    rnd = random.Random(2024)
    targets = [rnd.randrange(info.frame_count) for _ in range(seeks)]
    results: dict = {}
    # Cold random seeks, the decoder thread types interleaved seek by seek (fair under a varying load).
    rigs = {tt: _SeekRig(app, clip, thread_type=tt) for tt in thread_types}
    cold: dict[str, list[tuple[float, float]]] = {tt: [] for tt in thread_types}
    for i in targets:
        for tt, rig in rigs.items():
            cold[tt].append(rig.seek(i, cold=True))
    print("random seeks, nothing cached and every decoder made to seek (the worst case):")
    for tt in thread_types:
        results[f"cold_{tt}"] = _summary(f"thread_type={tt}: shown", [c[0] for c in cold[tt]])
        _summary(f"thread_type={tt}: shown + painted", [c[1] for c in cold[tt]])
    results["floor"] = decode_floor(clip, targets)
    if "NONE" in rigs:  # one thread does all the decoding: its CPU time is the work itself
        results["cold_cpu"] = _summary("decoding CPU per seek (thread_type=NONE)", rigs["NONE"].cpu_ms[-seeks:])
    for rig in list(rigs.values())[1:]:
        rig.close()
    one_rigs = {}
    if own_clip:
        one = make_seek_clip(SEEK_CLIP.with_name(SEEK_CLIP.stem + "_1slice.mp4"), one_slice=True)
        print("the same, on a copy written with one slice per frame (as many cameras write):")
        one_rigs = {tt: _SeekRig(app, one, thread_type=tt) for tt in thread_types[:3]}
    one_cold: dict[str, list[float]] = {tt: [] for tt in one_rigs}
    for i in targets[: seeks // 2]:
        for tt, r in one_rigs.items():
            one_cold[tt].append(r.seek(i, cold=True)[0])
    for tt, r in one_rigs.items():
        results[f"cold_1slice_{tt}"] = _summary(f"thread_type={tt}: shown", one_cold[tt])
        r.close()
    rig = rigs[thread_types[0]]
    print(f"as the editor runs (thread_type={thread_types[0]}, 512 MB cache, 3 decoders), back to back:")
    rig.provider.clear_cache(forget_positions=True)
    rig.settle()
    results["session"] = _summary("random seek, cache kept", [rig.seek(i)[0] for i in targets])
    rig.provider.clear_cache(forget_positions=True)
    start = rnd.randrange(info.frame_count - 2 * seeks)
    rig.seek(start)
    results["step_forward"] = _summary("step forward (Right)", [rig.seek(start + k)[0] for k in range(1, seeks + 1)])
    rig.provider.clear_cache(forget_positions=True)
    rig.seek(start + seeks)
    results["step_backward"] = _summary("step backward (Left)",
                                        [rig.seek(start + seeks - k)[0] for k in range(1, seeks + 1)])
    a, b = targets[0], targets[1]
    rig.seek(a)
    results["toggle"] = _summary("back and forth between two places",
                                 [rig.seek(b if k % 2 == 0 else a)[0] for k in range(20)])
    print(f"  provider stats: {rig.provider.stats}")
    rig.close()
    r = results[f"cold_{thread_types[0]}"]
    print(f"RESULT seek median {r['median_ms']:.0f} ms, p95 {r['p95_ms']:.0f} ms (target < 80 / < 150), "
          f"random seeks with nothing cached, {clip.name}, thread_type={thread_types[0]}; the decoding "
          f"these exact frames need takes median {results['floor']['median_ms']:.0f} ms, "
          f"p95 {results['floor']['p95_ms']:.0f} ms on this machine by itself")
    s = results["session"]
    print(f"RESULT seek with cache median {s['median_ms']:.0f} ms, p95 {s['p95_ms']:.0f} ms; "
          f"step forward median {results['step_forward']['median_ms']:.0f} ms, "
          f"step backward median {results['step_backward']['median_ms']:.0f} ms")
    return results


def playback_rate(seconds: float = 3.0, speeds: tuple[float, ...] = (1.0, 2.0, -1.0), gop: int = 60) -> dict:
    """Frames shown per second while playing the 1080p clip, against the frames the clock made due.

    ``gop``: keyframe interval of the clip (60 frames, 2 s: the seek clip; 250 frames, 8 s: a
    long-GOP camera file, whose GOP does not fit the 512 MB frame cache at 1080p)."""
    from PySide6.QtWidgets import QApplication

    from app.ui.transport import PlaybackController

    app = QApplication.instance() or QApplication([])
    clip = make_seek_clip() if gop == 60 else make_seek_clip(SEEK_CLIP.with_name(f"seek_1080p_gop{gop}.mp4"), gop=gop)
    rig = _SeekRig(app, clip)
    controller = PlaybackController(rig.doc, rig.provider)
    results = {}
    print(f"playback (1080p, GOP {gop}, decoder threads chosen for the file; load {os.getloadavg()[0]:.1f}):")
    for speed in speeds:
        rig.provider.clear_cache(forget_positions=True)  # each speed starts cold, as after a jump
        rig.seek(rig.n // 2 if speed < 0 else 10)
        rig.settle(300)
        shown: list[int] = []
        rig.view.frameShown.connect(shown.append)
        f0, t0 = rig.doc.frame, time.perf_counter()
        controller.play(speed)
        while time.perf_counter() - t0 < seconds and controller.playing:
            app.processEvents()
            time.sleep(0.001)
        controller.pause()
        elapsed = time.perf_counter() - t0
        rig.view.frameShown.disconnect(shown.append)
        due = abs(rig.doc.frame - f0)
        distinct = len(set(shown))
        rate = distinct / elapsed
        results[speed] = {"shown_per_s": rate, "due": due, "shown": distinct}
        print(f"  speed {speed:+g}x: clock moved {due} frames in {elapsed:.2f} s, {distinct} distinct frames shown "
              f"({rate:.1f} per s; {100 * (1 - distinct / max(1, due)):.0f}% of the due frames dropped)")
    rig.close()
    return results


def main() -> None:
    args = sys.argv[1:]
    clip = None
    if "--clip" in args:  # --clip PATH: seek latency on that file
        k = args.index("--clip")
        clip = Path(args[k + 1])
        del args[k : k + 2]
    which = set(args) or {"seek", "timeline"}
    if "seek" in which:
        seek_latency(clip=clip)
    if "seek" in which or "playback" in which:
        playback_rate(seconds=5.0 if "playback" in which else 3.0)
    if "playback" in which:
        playback_rate(seconds=5.0, speeds=(1.0, -1.0), gop=250)
    if "timeline" in which:
        timeline_repaint()


if __name__ == "__main__":
    main()
