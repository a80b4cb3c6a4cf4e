"""Sound while playing: with Qt Multimedia, the soundtrack goes to a QAudioSink at 1x, in step with
the video clock, with mutes and bleeps applied to the very samples written; without it (the
project installs PySide6-Essentials, which has no Qt Multimedia) the video plays silently and the
transport says exactly what is missing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.core.audio import AudioMute
from app.ui.audio_playback import multimedia_status
from tests.ui.conftest import wait_frame
from tests.ui.test_waveform import write_speech_clip


def status(qapp) -> tuple[bool, str]:
    return multimedia_status()  # with the QApplication running (Qt Multimedia needs it)


@pytest.fixture(scope="module")
def loud(tmp_path_factory) -> str:
    return write_speech_clip(str(tmp_path_factory.mktemp("loud") / "loud.mp4"), frames=90, loud_from=0)


def test_the_transport_says_whether_sound_plays_and_why_not(qtbot, qapp, window):
    available, why = status(qapp)
    label = window.audio.label
    assert label.parent() is not None and window.transport.isAncestorOf(label)
    if available:
        assert window.audio.available and label.text() == "🔊"
    else:
        assert not window.audio.available and label.text() == "🔇" and label.toolTip() == why
        assert ("PySide6-Addons" in why and "libpulse0" in why) or "audio output device" in why
        window.playback.play(1.0)  # the video still plays, silently
        assert window.playback.playing or not window.doc.has_media
        assert not window.audio.active
        window.playback.pause()


def test_playback_feeds_the_sink_in_sync_with_mutes_applied(qtbot, qapp, window, loud):
    from app.ui.audio_samples import PLAY_RATE

    available, why = status(qapp)
    if not available:
        pytest.skip(f"needs Qt Multimedia and an audio output: {why}")
    assert window.open_path(loud)
    wait_frame(qtbot, window, 0)
    doc, audio = window.doc, window.audio
    doc.edit("mute", list(doc.project.tracks), audio_mutes=[AudioMute("mute-0001", 20, 29),
                                                            AudioMute("mute-0002", 40, 49, "tone")])
    audio.fed = []
    window.playback.play(1.0)
    qtbot.waitUntil(lambda: audio.active, timeout=2000)
    qtbot.waitUntil(lambda: doc.frame >= 60, timeout=10000)
    # in step: what was written runs at most the sink's latency ahead of the video clock
    written_s = sum(len(b) for b in audio.fed) / PLAY_RATE
    video_s = (doc.frame - audio.started_at_frame) / float(doc.fps)
    assert -0.15 < written_s - video_s < 0.3, (written_s, video_s, audio.starts)
    window.playback.pause()
    assert not audio.active
    fps = float(doc.fps)

    def rms(s):
        return float(np.sqrt(np.mean(np.square(s))))

    # every stretch written (a restart, e.g. after a stall of the loaded test machine, begins a new
    # one at the playhead): each frame's samples hold the sound, the mute or the bleep
    expect = {f: 0.0 if 20 <= f <= 29 else 0.1 / math.sqrt(2) if 40 <= f <= 49 else 0.5 / math.sqrt(2)
              for f in range(90)}
    checked = set()
    for start, blocks in audio.fed_segments:
        if not blocks:
            continue
        x = np.concatenate(blocks)[:, 0]
        for f in range(start + 1, 90):  # not the first: AAC's fade-in at the start and after a seek
            a = round((f - start) / fps * PLAY_RATE) + 200
            b = round((f + 1 - start) / fps * PLAY_RATE) - 200
            if b > len(x):
                break
            got = rms(x[a:b])
            assert got == pytest.approx(expect[f], rel=0.05, abs=1e-6), (start, f, got)
            checked.add(f)
    assert {25, 45, 10} <= checked or {45, 55} <= checked, (sorted(checked), audio.starts)
    # a review loop going round: the sound goes back with the picture
    n = len(audio.starts)
    window.playback.play_loop(5, 12)
    qtbot.waitUntil(lambda: any(why == "seek" and f <= 6 for f, why in audio.starts[n:]), timeout=5000)
    window.playback.pause()
    # not at 2x or backwards: silent
    window.playback.play(2.0)
    qtbot.wait(100)
    assert not audio.active
    window.playback.pause()
