"""Audio mutes and frame ranges in the export, on the real sample clip (6 s, 440 Hz AAC stereo).

Muted spans must be silent (below -60 dBFS), bleeped spans must carry the 1 kHz tone, and the rest
of the soundtrack must keep its 440 Hz tone at its level. Without mutes the audio packets are
copied byte for byte. A frame range exports exactly those frames with the matching audio.
"""

from __future__ import annotations

import math
from fractions import Fraction

import av
import numpy as np
import pytest

from app.base.progress import run
from app.core.audio import AudioMute
from app.core.project import Project
from app.errors import OutputError
from app.media.probe import probe
from app.media.writer import AudioEdit, EncodeSettings, MuteSpan, _AudioEditor
from app.pipelines.export import audio_edit, export, frame_time
from tests.media_factory import audio_payloads

FAST = EncodeSettings(preset="ultrafast")
RATE = 48000
EDGE = 1024  # one AAC frame of codec smear allowed at each boundary
FRAME = Fraction(1001, 30000)  # the sample clip's frame duration


def decode_audio(path) -> tuple[int, np.ndarray]:
    """(pts of the first decoded sample, samples as float32 (channels, n)) of the first audio stream."""
    with av.open(str(path)) as c:
        s = c.streams.audio[0]
        first, chunks = None, []
        for f in c.decode(s):
            if first is None:
                first = f.pts
            chunks.append(f.to_ndarray())
    return first, np.concatenate(chunks, axis=1).astype(np.float64)


def dbfs(x: np.ndarray) -> float:
    return 20 * math.log10(math.sqrt(float(np.mean(x ** 2))) + 1e-12)


def peak_hz(x: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / RATE)[np.argmax(spec)])


def samples_of(frames_from: int, frames_to: int) -> slice:
    """The samples of frames ``frames_from`` .. ``frames_to - 1``, less EDGE at each end."""
    a = math.ceil(frames_from * FRAME * RATE)
    b = math.ceil(frames_to * FRAME * RATE)
    return slice(a + EDGE, b - EDGE)


@pytest.fixture(scope="module")
def sample(sample_clip):
    return str(sample_clip[0])


@pytest.fixture(scope="module")
def reference(sample):
    """The input's level of the 440 Hz tone."""
    _first, pcm = decode_audio(sample)
    return dbfs(pcm[0, RATE : 2 * RATE])


@pytest.fixture(scope="module")
def muted_export(sample, tmp_path_factory):
    project = Project()
    project.audio_mutes = [AudioMute("mute-0001", 30, 59, "silence", "a name"),
                           AudioMute("mute-0002", 90, 119, "tone")]
    out = tmp_path_factory.mktemp("mute") / "muted.mp4"
    result = run(export(project, sample, str(out), FAST))
    return out, result


def test_muted_span_is_silent_and_the_bleep_is_1khz(muted_export, reference):
    out, result = muted_export
    assert not result.cancelled and result.frames == 180 and result.audio_mutes == 2
    first, pcm = decode_audio(out)
    assert first == 0
    for ch in pcm:
        silent = ch[samples_of(30, 60)]
        assert dbfs(silent) < -60, dbfs(silent)
        bleep = ch[samples_of(90, 120)]
        assert abs(peak_hz(bleep) - 1000) < 5
        assert abs(dbfs(bleep) - (-20 - 3.01)) < 0.5  # a sine peaking at -20 dBFS
        for a, b in ((0, 30), (60, 90), (120, 180)):
            kept = ch[samples_of(a, b)]
            assert abs(peak_hz(kept) - 440) < 5, (a, b)
            assert abs(dbfs(kept) - reference) < 0.5, (a, b, dbfs(kept), reference)


def test_muted_export_reencodes_at_the_same_rate_and_layout(muted_export, sample):
    out, _result = muted_export
    src, dst = probe(sample), probe(str(out))
    assert dst.frame_count == src.frame_count and dst.pts == src.pts
    (a_in,), (a_out,) = src.audio, dst.audio
    assert (a_out.codec, a_out.sample_rate, a_out.channels) == ("aac", a_in.sample_rate, a_in.channels)
    assert audio_payloads(out) != audio_payloads(sample)


def test_without_mutes_audio_packets_are_copied_byte_identical(sample, tmp_path):
    out = tmp_path / "plain.mp4"
    result = run(export(Project(), sample, str(out), FAST))
    assert result.frames == 180 and result.audio_mutes == 0
    assert probe(str(out)).frame_count == probe(sample).frame_count
    payload = audio_payloads(sample)
    assert payload and audio_payloads(out) == payload


def test_dropped_audio_ignores_the_mutes(sample, tmp_path):
    project = Project()
    project.audio_mutes = [AudioMute("mute-0001", 0, 10)]
    out = tmp_path / "silent.mp4"
    result = run(export(project, sample, str(out), EncodeSettings(preset="ultrafast", audio="drop")))
    assert result.audio_mutes == 0 and probe(str(out)).audio == []


def test_frame_range_exports_those_frames_and_their_audio(sample, tmp_path, reference):
    project = Project()
    project.audio_mutes = [AudioMute("mute-0001", 50, 79)]  # frames 30..59 of the output
    out = tmp_path / "range.mp4"
    result = run(export(project, sample, str(out), FAST, frame_range=(20, 99)))
    assert result.frames == 80 and result.frame_range == (20, 99)
    info = probe(str(out))
    assert info.frame_count == 80
    assert info.pts[0] == 0 and info.pts[:3] == [0, 1001, 2002]
    assert abs(float(info.duration) - 80 * float(FRAME)) < 1e-6
    first, pcm = decode_audio(out)
    assert first == 0
    n = 80 * FRAME * RATE
    assert n <= pcm.shape[1] < n + 2 * EDGE  # the range's audio (plus the encoder's last-frame padding)
    assert dbfs(pcm[0, samples_of(30, 60)]) < -60
    # the kept audio is the input's audio of the same frames: in phase with it
    _f, src = decode_audio(sample)
    k0 = math.ceil(20 * FRAME * RATE)
    seg = samples_of(0, 30)
    a, b = pcm[0, seg], src[0, seg.start + k0 : seg.stop + k0]
    assert np.corrcoef(a, b)[0, 1] > 0.99
    assert abs(dbfs(pcm[0, samples_of(60, 80)]) - reference) < 0.5


def test_frame_range_outside_the_video_is_refused(sample, tmp_path):
    with pytest.raises(OutputError, match="outside the video"):
        run(export(Project(), sample, str(tmp_path / "x.mp4"), FAST, frame_range=(100, 180)))
    assert not list(tmp_path.iterdir())


def test_frames_map_to_times_with_the_video_timestamps(sample):
    info = probe(sample)
    project = Project()
    project.audio_mutes = [AudioMute("m", 30, 59), AudioMute("t", 170, 500, "tone")]
    edit = audio_edit(project, info)
    assert edit.mutes == (MuteSpan(Fraction(1001, 1000), Fraction(2002, 1000), "silence"),
                          MuteSpan(170 * FRAME, info.duration, "tone"))
    assert frame_time(info, 180) == info.duration
    ranged = audio_edit(project, info, (20, 99))
    assert ranged.window == (20 * FRAME, 100 * FRAME) and ranged.shift == 20 * FRAME
    assert audio_edit(Project(), info, (0, 179)).window == (None, None)
    assert not audio_edit(Project(), info).needed


def _frames(signal: np.ndarray, size: int):
    for s in range(0, signal.shape[1], size):
        f = av.AudioFrame.from_ndarray(np.ascontiguousarray(signal[:, s : s + size]), format="fltp", layout="stereo")
        f.sample_rate = RATE
        f.pts = s
        f.time_base = Fraction(1, RATE)
        yield f


def test_editor_is_sample_exact_and_the_tone_is_phase_continuous():
    ones = np.full((2, 10 * 1024), 0.5, np.float32)
    # spans at odd sample positions, across frame boundaries; window cuts both ends
    edit = AudioEdit((MuteSpan(Fraction(1000, RATE), Fraction(3001, RATE)),
                      MuteSpan(Fraction(4000, RATE), Fraction(7000, RATE), "tone")),
                     window=(Fraction(500, RATE), Fraction(9000, RATE)), shift=Fraction(500, RATE))
    editor = _AudioEditor(edit, RATE, "stereo", Fraction(1, RATE))
    outs = [f for f in (editor.process(f) for f in _frames(ones, 1024)) if f is not None]
    assert outs[0].pts == 0
    pcm = np.concatenate([f.to_ndarray() for f in outs], axis=1)
    assert pcm.shape == (2, 8500)
    x = pcm[0]
    assert np.all(x[: 1000 - 500] == 0.5) and np.all(x[1000 - 500 : 3001 - 500] == 0)
    assert x[3001 - 500] == 0.5
    k = np.arange(3000)
    want = (0.1 * np.sin(2 * np.pi * 1000 * k / RATE)).astype(np.float32)
    assert np.allclose(x[4000 - 500 : 7000 - 500], want, atol=1e-6)
    assert np.all(x[7000 - 500 :] == 0.5)
