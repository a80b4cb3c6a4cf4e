"""The bundled demo clip: format, length, audio, and ground truth that matches what is drawn."""

from __future__ import annotations

import json
from fractions import Fraction

import av
import numpy as np

from app.media import sample
from app.media.probe import probe
from app.redaction.masks import grown_points
from tests.media_factory import NTSC, audio_info, decoded_frame_count, frame_times


def test_sample_format(sample_clip):
    path, _truth_path, truth = sample_clip
    info = probe(str(path))
    assert (info.width, info.height) == (1280, 720)
    assert info.fps == NTSC and str(info.fps) == "30000/1001"
    assert info.frame_count == 180 == decoded_frame_count(path)
    assert abs(info.duration - Fraction(180 * 1001, 30000)) < Fraction(1, 100)  # ~6.006 s
    assert not info.is_vfr and info.rotation == 0 and info.damage is None
    assert (info.codec, info.pix_fmt) == ("h264", "yuv420p")
    assert frame_times(path) == [Fraction(i * 1001, 30000) for i in range(180)]


def test_sample_audio(sample_clip):
    path, _truth_path, _truth = sample_clip
    codec, rate, samples = audio_info(path)
    assert (codec, rate) == ("aac", 48000)
    assert abs(samples / rate - 180 * 1001 / 30000) < 1024 / rate * 2
    with av.open(str(path)) as c:
        assert c.streams.audio[0].codec_context.channels == 2
        tone = np.concatenate([f.to_ndarray()[0] for f in c.decode(audio=0)])
    # a 440 Hz tone: the spectrum peaks there
    spectrum = np.abs(np.fft.rfft(tone[4800:52800]))
    assert abs(np.argmax(spectrum) * 48000 / 48000 - 440) <= 2


def test_sample_truth(sample_clip):
    _path, truth_path, truth = sample_clip
    assert json.loads(truth_path.read_text()) == truth
    assert len(truth) == 180
    for i, boxes in enumerate(truth):
        classes = sorted(b["cls"] for b in boxes)
        assert classes == ["face", "plate"], f"frame {i}: {classes}"
        for b in boxes:
            x1, y1, x2, y2 = b["box"]
            assert 0 <= x1 < x2 <= 1280 and 0 <= y1 < y2 <= 720
        face = next(b["box"] for b in boxes if b["cls"] == "face")
        assert 100 <= face[2] - face[0] <= 130 and 130 <= face[3] - face[1] <= 160
    # objects move: the face goes right, the car goes left
    first = {b["cls"]: b["box"] for b in truth[0]}
    last = {b["cls"]: b["box"] for b in truth[-1]}
    assert last["face"][0] > first["face"][0] + 500 and last["plate"][0] < first["plate"][0] - 500


def test_sample_truth_matches_the_pixels(sample_clip):
    """The plate box holds the white plate, and the face box the portrait: the truth is where it says."""
    path, _truth_path, truth = sample_clip
    with av.open(str(path)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i not in (0, 90, 179):
                continue
            bgr = frame.to_ndarray(format="bgr24")
            boxes = {b["cls"]: [int(round(v)) for v in b["box"]] for b in truth[i]}
            x1, y1, x2, y2 = boxes["plate"]
            plate = bgr[y1 + 4 : y2 - 4, x1 + 20 : x2 - 4]
            assert np.median(plate) > 200 and plate.min() < 60  # white plate with dark letters
            x1, y1, x2, y2 = boxes["face"]
            face = bgr[y1:y2, x1:x2].astype(np.float32)
            assert face.std() > 25  # a real face has eyes, mouth, hair: not the flat background


def test_truth_project_covers_every_truth_box(sample_clip):
    """Keyframes every 30th frame plus the style's margin cover the truth box on every frame."""
    _path, _truth_path, truth = sample_clip
    project = sample.truth_project(truth)
    assert sorted(t.cls for t in project.tracks) == ["face", "plate"]
    for i, boxes in enumerate(truth):
        masks = {track.cls: (shape, style) for track, shape, style in project.masks_at(i)}
        for b in boxes:
            shape, style = masks[b["cls"]]
            pts = grown_points(shape, style.margin)
            gx1, gy1 = pts.min(axis=0)
            gx2, gy2 = pts.max(axis=0)
            x1, y1, x2, y2 = b["box"]
            assert gx1 <= x1 and gy1 <= y1 and gx2 >= x2 and gy2 >= y2, f"frame {i}: {b['cls']} not covered"
