"""The hostile media corpus (issue 9, item 1) through the real CLI, one subprocess per command.

Every case of ``tests/hostile_corpus.py`` is written from scratch, then ``obscura probe --json CASE``
and ``obscura process CASE -o OUT`` (real detectors, faces; faces and plates for the rotated demo
clip) run with a time limit and an address-space cap, their peak memory measured. A case passes
when each command gives what the case owes: a clear one-line ``obscura: error: ...`` naming the file
(and no output, no temporary file left at the target), or exit 0 with a correct output (it decodes;
frame count, size, bit depth, rotation tag, timestamps and audio streams as the input's). No case
may print a traceback, write a crash log, hang, exceed the memory limit or change its input
(SHA-256 before and after). ``python tests/hostile_corpus.py --run OUTDIR`` prints the same as a table.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.hostile_corpus import BY_NAME, CASES, RSS_LIMIT_MB, run_case, write_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("hostile"))


@pytest.mark.slow
@pytest.mark.parametrize("name", [c.name for c in CASES])
def test_hostile_case(name, corpus, tmp_path):
    case = BY_NAME[name]
    result = run_case(case, corpus[name], tmp_path, process=case.process)
    assert result.input_unchanged, f"{name}: the input file was modified"
    assert not result.failed, f"{name} ({case.about}): " + "; ".join(result.problems)
    outcome = result.process or result.probe
    if case.expected == "error":
        assert outcome.status == "clear error"
    elif case.expected == "ok":
        assert outcome.status == "correct result"
    for o in (result.probe, result.process):
        if o is not None:
            assert o.peak_rss_mb < RSS_LIMIT_MB


def test_the_corpus_covers_the_issue():
    """The kinds of hostile input issue 9 lists are all in the corpus."""
    names = set(BY_NAME)
    for needed in ("trunc_in_moov", "trunc_10", "trunc_50", "trunc_90", "zero_video", "video_as_jpg",
                   "jpeg_as_mp4", "audio_only", "huge_mjpeg_16k", "png_bomb", "odd_420", "ten_bit", "yuv444",
                   "rotate_90", "vfr", "bframes", "negative_ts_mp4", "duplicate_ts", "many_streams_mkv"):
        assert needed in names
    assert sum(c.name.startswith("flip_") for c in CASES) >= 6
    assert {c.expected for c in CASES} == {"error", "ok", "either"}


@pytest.mark.parametrize("rotation", [0, 90, 180, 270, -90])
def test_upright_boxes_map_back_to_the_coded_frame(rotation):
    """What the detectors find on the upright picture lands on the same pixels of the coded frame."""
    from app.media.frames import boxes_to_coded, points_to_coded, upright

    w, h = 320, 240
    coded = np.zeros((h, w), np.uint8)
    coded[30:80, 200:260] = 255
    shown = upright(coded, rotation)
    assert shown.shape == ((w, h) if rotation % 180 else (h, w))
    ys, xs = np.nonzero(shown)
    box = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], np.float32)
    assert boxes_to_coded(box, rotation, w, h).tolist() == [[200, 30, 260, 80]]
    corners = np.array([[box[0, 0], box[0, 1]], [box[0, 2], box[0, 3]]], np.float32)
    back = points_to_coded(corners, rotation, w, h)
    assert sorted(back[:, 0].tolist()) == [200, 260] and sorted(back[:, 1].tolist()) == [30, 80]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["trunc_50", "trunc_mkv_50"])
def test_process_refuses_a_truncated_video_before_analysing_it(name, corpus, tmp_path):
    """``process`` (and ``batch``) would only have the export refuse a truncated video after the whole
    analysis: the probe already knows, so nothing is detected and the models' time is not spent."""
    from tests.hostile_corpus import child_env, run_cli, sha256

    path = corpus[name]
    before = sha256(path)
    out = tmp_path / "out.mp4"
    run = run_cli(["process", str(path), "-o", str(out), "--device", "cpu"], child_env(tmp_path / "data"))
    assert run.rc == 3, run.stderr
    assert "truncated or corrupt" in run.stderr and str(path) in run.stderr
    assert "analyze:" not in run.stderr and "analysed" not in run.stderr, run.stderr  # no frame was analysed
    assert "Traceback" not in run.stderr
    assert not list(tmp_path.glob("*out*")), list(tmp_path.iterdir())
    assert sha256(path) == before
