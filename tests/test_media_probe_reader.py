"""Probe and reader on real encoded files: exact rates, frame tables and frame-exact random access."""

from __future__ import annotations

import random
from fractions import Fraction

import numpy as np
import pytest

from app.errors import CorruptMedia, InputNotFound, NotAMediaFile
from app.media.probe import probe
from app.media.reader import VideoReader
from tests.media_factory import (
    NTSC,
    decoded_frame_count,
    frame_planes,
    frame_times,
    remux_faststart,
    shared_video,
    write_random_bytes,
    write_truncated,
)

SYNTHETIC = ["ntsc_audio", "ntsc_silent", "cfr25", "vfr", "vfr_mkv", "rotated", "odd", "odd_ffv1", "ten_bit", "bframes"]
SHARED = [
    "intel_car_detection_768x432.mp4",
    "egoblur_gen2_faces_2560x1920.mp4",
    "intel_head_pose_female.gif",
]


# -- probe -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", SYNTHETIC)
def test_probe_matches_what_was_written(clips, name):
    spec = clips.spec(name)
    path = clips[name]
    info = probe(str(path))

    assert (info.width, info.height) == (spec.width, spec.height)
    assert info.frame_count == spec.frames == decoded_frame_count(path)
    assert info.is_vfr is spec.vfr
    assert info.rotation == spec.rotation
    assert info.pix_fmt == spec.pix_fmt
    assert info.bit_depth == spec.bit_depth
    assert [a.codec for a in info.audio] == (["aac"] if spec.audio else [])
    assert info.damage is None
    # The frame table is the decoded frames' timestamps, in order.
    times = frame_times(path)
    assert [info.time_of(i) + info.start_pts * info.time_base for i in range(info.frame_count)] == times
    if not spec.vfr:
        assert isinstance(info.fps, Fraction) and info.fps == spec.rate


def test_probe_keeps_29_97_exact(clips):
    info = probe(str(clips["ntsc_silent"]))
    assert info.fps == NTSC and str(info.fps) == "30000/1001"
    assert info.summary()["fps"] == "30000/1001"
    assert info.duration == 45 * Fraction(1001, 30000)
    assert info.time_of(30) == Fraction(30 * 1001, 30000)


def test_probe_vfr_timestamps(clips):
    info = probe(str(clips["vfr"]))
    gaps = {b - a for a, b in zip(info.pts, info.pts[1:], strict=False)}
    assert {g * info.time_base for g in gaps} == {Fraction(1, 30), Fraction(1, 15)}


@pytest.mark.parametrize("name", SHARED)
def test_probe_shared_media(name):
    path = shared_video(name)
    info = probe(str(path))
    assert info.frame_count == decoded_frame_count(path)
    assert info.damage is None
    assert not info.is_vfr or path.suffix == ".gif"
    if name.startswith("intel_car"):
        assert (info.width, info.height, info.fps) == (768, 432, Fraction(25, 2))
        assert [a.codec for a in info.audio] == ["aac"]


def test_probe_sample_clip(sample_clip):
    path, _, truth = sample_clip
    info = probe(str(path))
    assert info.frame_count == len(truth) == decoded_frame_count(path)
    assert info.fps == NTSC and not info.is_vfr


def test_probe_bad_inputs(tmp_path, clips):
    with pytest.raises(InputNotFound, match="not found"):
        probe(str(tmp_path / "missing.mp4"))
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(NotAMediaFile, match="empty"):
        probe(str(tmp_path / "empty.mp4"))
    with pytest.raises(NotAMediaFile, match="not a video"):
        probe(str(write_random_bytes(tmp_path / "noise.mp4")))
    with pytest.raises(CorruptMedia, match="without a readable index.*truncated or corrupt"):  # moov cut off
        probe(str(write_truncated(clips["ntsc_audio"], tmp_path / "cut.mp4")))


def test_probe_reports_truncation_it_can_see(tmp_path, clips):
    """A cut faststart MP4 or MKV still opens (for viewing) but the probe says what is missing."""
    fast = remux_faststart(clips["ntsc_audio"], tmp_path / "fast.mp4")
    assert probe(str(fast)).damage is None
    cut = probe(str(write_truncated(fast, tmp_path / "fast_cut.mp4")))
    assert cut.frame_count < 45 and "45 video frames" in cut.damage
    mkv = probe(str(write_truncated(clips["vfr_mkv"], tmp_path / "cut.mkv")))
    assert mkv.frame_count < 30 and "header says" in mkv.damage


# -- reader ------------------------------------------------------------------------------------
def _sequential(path) -> list:
    with VideoReader(str(path)) as r:
        out = []
        for f in r.frames():
            out.append((f.index, f.pts, f.time, frame_planes(f.frame)))
        return out


def _same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("name", ["ntsc_silent", "vfr", "vfr_mkv", "bframes", "ten_bit", "odd"])
def test_reader_sequential_and_random_access_agree(clips, name):
    path = clips[name]
    seq = _sequential(path)
    n = clips.spec(name).frames
    assert [s[0] for s in seq] == list(range(n))
    info = probe(str(path))
    assert [s[1] for s in seq] == info.pts
    assert [s[2] for s in seq] == [info.time_of(i) for i in range(n)]

    rng = random.Random(name)
    order = [0, n - 1, n // 2, 1, n - 2, 0] + rng.sample(range(n), min(n, 12))
    order += sorted(rng.sample(range(n), 5))  # forward steps: decoded on without a seek
    with VideoReader(str(path), info) as r:
        for i in order:
            f = r.read(i)
            assert (f.index, f.pts) == (i, info.pts[i])
            assert _same(frame_planes(f.frame), seq[i][3]), f"{name}: read({i}) differs from frame {i}"
        # frames(start) after random access starts exactly at start
        assert [f.index for f in r.frames(n - 5)] == list(range(n - 5, n))
        assert [f.index for f in r.frames()][:3] == [0, 1, 2]
        with pytest.raises(IndexError):
            r.read(n)


def test_reader_random_access_on_shared_gif():
    path = shared_video("intel_head_pose_female.gif")
    seq = _sequential(path)
    with VideoReader(str(path)) as r:
        for i in [len(seq) - 1, 3, 0, 10, 2]:
            assert _same(frame_planes(r.read(i).frame), seq[i][3])


def test_reader_random_access_on_shared_mp4():
    path = shared_video("intel_car_detection_768x432.mp4")
    with VideoReader(str(path)) as r:
        n = r.info.frame_count
        seq = {f.index: frame_planes(f.frame) for f in r.frames()}
        assert sorted(seq) == list(range(n))
        rng = random.Random(5)
        for i in [n - 1, 0, 200, 120, 121, 5, *rng.sample(range(n), 8)]:
            assert _same(frame_planes(r.read(i).frame), seq[i]), f"read({i}) differs from frame {i}"


@pytest.mark.parametrize("threads", [True, False])
def test_reader_reports_truncated_frames_clearly(tmp_path, clips, threads):
    """A file cut mid-packet: every frame before the cut reads; the rest fail with a clear error."""
    cut = write_truncated(remux_faststart(clips["ntsc_silent"], tmp_path / "fast.mp4"), tmp_path / "cut.mp4")
    with VideoReader(str(cut), threads=threads) as r:
        n = r.info.frame_count
        assert 0 < n < 45 and r.info.damage
        got = []
        try:
            for f in r.frames():  # frame threading ends quietly at the cut; plain decoding raises
                got.append(f.index)
        except CorruptMedia as e:
            assert "corrupt or truncated" in str(e)
        assert got == list(range(len(got))) and len(got) >= n - 2
        for i in range(len(got), n):
            with pytest.raises(CorruptMedia, match="truncated"):
                r.read(i)
        assert r.read(0).index == 0  # still usable afterwards
