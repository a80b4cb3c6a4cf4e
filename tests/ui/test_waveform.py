"""The waveform lane: the soundtrack's loudness per frame, computed in a background thread when a
video opens, drawn under the thumbnails, kept in memory only (never on disk); and the samples
playback plays, with mutes and bleeps applied as the export applies them. Real AAC clips."""

from __future__ import annotations

import math
import os
import threading
from fractions import Fraction

import av
import numpy as np
import pytest

from app.core.audio import AudioMute
from app.ui.timeline.waveform import WAVE_COLOR
from tests.ui.conftest import wait_frame

FPS = Fraction(30000, 1001)
RATE = 48000


def write_speech_clip(path: str, frames: int = 60, loud_from: int = 30, amp: float = 0.5) -> str:
    """A 320x240 H.264 clip with AAC stereo sound: silence for frames 0..loud_from-1, then a
    440 Hz tone at ``amp`` peak (a stand-in for speech with a clear start)."""
    out = av.open(path, "w")
    try:
        vs = out.add_stream("libx264", rate=FPS, options={"preset": "ultrafast", "crf": "23"})
        vs.width, vs.height, vs.pix_fmt = 320, 240, "yuv420p"
        aus = out.add_stream("aac", rate=RATE)
        aus.layout = "stereo"
        base = np.random.default_rng(3).integers(0, 255, (240, 320, 3), dtype=np.uint8)
        for i in range(frames):
            vf = av.VideoFrame.from_ndarray(np.roll(base, 4 * i, axis=1), format="bgr24")
            vf.pts, vf.time_base = i, 1 / FPS
            out.mux(vs.encode(vf))
        n = int(frames * RATE / FPS)
        t = np.arange(n) / RATE
        sound = (amp * np.sin(2 * math.pi * 440 * t)).astype(np.float32)
        sound[: int(loud_from * RATE / FPS)] = 0.0
        for s in range(0, n, 1024):
            block = np.ascontiguousarray(np.stack([sound[s:s + 1024]] * 2))
            af = av.AudioFrame.from_ndarray(block, format="fltp", layout="stereo")
            af.sample_rate, af.pts, af.time_base = RATE, s, Fraction(1, RATE)
            out.mux(aus.encode(af))
        out.mux(vs.encode(None))
        out.mux(aus.encode(None))
    finally:
        out.close()
    return path


def reference_peaks(path: str, info) -> np.ndarray:
    """Per frame, the loudest decoded sample: computed here independently of the product, with
    exact fractions (sample ``s`` plays at ``s / rate``; frame ``f`` owns the samples from its
    start on)."""
    import bisect

    peaks = np.zeros(info.frame_count)
    with av.open(path) as c:
        rate = c.streams.audio[0].rate
        starts = [math.ceil(Fraction(p) * info.time_base * rate) for p in info.pts]
        for fr in c.decode(c.streams.audio[0]):
            data = np.abs(fr.to_ndarray()).max(axis=0)
            s0 = int(Fraction(fr.pts) * fr.time_base * rate)
            for k, a in enumerate(data.tolist()):
                f = bisect.bisect_right(starts, s0 + k) - 1
                if 0 <= f < len(peaks):
                    peaks[f] = max(peaks[f], a)
    return peaks


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> str:
    return write_speech_clip(str(tmp_path_factory.mktemp("speech") / "speech.mp4"))


def test_waveform_lane_is_computed_in_the_background_and_drawn(qtbot, window, speech, data_dir):
    from app.ui import waveform as wf

    wf.clear_cache()
    seen_threads: list[str] = []
    real = wf.waveform

    def spy(*a, **k):
        seen_threads.append(threading.current_thread().name)
        return real(*a, **k)

    wf.waveform = spy
    try:
        assert window.open_path(speech)
        tl, loader = window.timeline, window.waveform
        qtbot.waitUntil(lambda: tl.waveform is not None, timeout=20000)
    finally:
        wf.waveform = real
    assert seen_threads == ["obscura-waveform"]  # not the GUI thread
    assert tl.waveform_state == "" and loader.computed == 1
    peaks = tl.waveform
    assert len(peaks) == window.doc.frame_count
    ref = reference_peaks(speech, window.doc.info)
    np.testing.assert_allclose(peaks, ref, atol=1e-4)
    assert peaks[:25].max() < 0.02 and peaks[35:55].min() > 0.4  # silence, then the "speech"
    # drawn: the lane's column over a loud frame is coloured, over a silent one not
    wait_frame(qtbot, window, 0)
    lane = tl.wave_lane_rect()
    img = tl.grab().toImage()

    def colored(frame: int) -> int:
        x = round(tl.x_of_frame(frame + 0.5))
        return sum(img.pixelColor(x, y) == WAVE_COLOR for y in range(lane.top(), lane.bottom()))

    assert colored(45) > lane.height() // 2 and colored(10) == 0
    # reopening the same video takes it from memory; nothing is written to disk
    assert window.open_path(speech)
    assert tl.waveform is not None and loader.computed == 1
    written = [os.path.join(d, f) for d, _s, fs in os.walk(data_dir) for f in fs]
    assert {os.path.basename(f) for f in written} <= {"probe.json", "owner.json"}, written  # the frame table only


def test_a_video_without_sound_says_so(qtbot, window, ui_clip):
    assert window.open_path(ui_clip)
    assert window.timeline.waveform is None and window.timeline.waveform_state == "no audio"


def test_played_samples_hold_the_mutes_and_bleeps_of_the_export(speech):
    from app.core.project import Project
    from app.media.probe import probe
    from app.ui.audio_samples import PLAY_RATE, PlaybackAudio

    info = probe(speech)
    project = Project()
    project.audio_mutes = [AudioMute("mute-0001", 36, 41), AudioMute("mute-0002", 46, 51, "tone")]
    fps = float(info.fps)
    player = PlaybackAudio(speech, info, project, frame=30)
    x = player.read(PLAY_RATE)  # 1 s from frame 30
    player.close()
    assert x.shape == (PLAY_RATE, 2) and x.dtype == np.float32

    def seg(f0, f1):  # samples of frames f0..f1-1, a little inside the edges
        a = round((f0 - 30) / fps * PLAY_RATE) + 300
        b = round((f1 - 30) / fps * PLAY_RATE) - 300
        return x[a:b, 0]

    def rms(s):
        return float(np.sqrt(np.mean(np.square(s))))

    assert rms(seg(31, 36)) == pytest.approx(0.5 / math.sqrt(2), rel=0.05)  # the sound as it is
    assert rms(seg(36, 42)) == 0.0  # muted: silence, sample-exact
    bleep = seg(46, 52)
    assert rms(bleep) == pytest.approx(0.1 / math.sqrt(2), rel=0.02)  # -20 dBFS
    spectrum = np.abs(np.fft.rfft(bleep))
    assert np.argmax(spectrum) * PLAY_RATE / len(bleep) == pytest.approx(1000, abs=10)  # 1 kHz
