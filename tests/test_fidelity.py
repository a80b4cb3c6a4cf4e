"""Issue 18: the export matches its input in every way the README promises.

Every case of ``tests/fidelity_corpus.py`` (made from scratch with PyAV) is exported through the
delivery job with a mask on every frame, and input and output are measured with PyAV directly
(not with Obscura's probe): frame count, each frame's time, duration, SAR, field order, alpha,
audio streams. Then one test per defect of the issue that the comparison does not name by itself.
"""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from tests.fidelity_corpus import BY_NAME, CASES, export_case, facts, rgba_png, write_corpus

REPO = Path(__file__).resolve().parents[1]
MKV_CLOCK = Fraction(1, 1000)  # Matroska stores times in milliseconds (FFmpeg's TimecodeScale)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("fidelity_in"))


@pytest.fixture(scope="module")
def exported(corpus, tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("fidelity_out")
    done: dict = {}

    def get(name: str):
        if name not in done:
            done[name] = export_case(BY_NAME[name], corpus[name], out_dir)
        return done[name], out_dir / BY_NAME[name].output

    return get


OK_CASES = [c.name for c in CASES if c.expected == "ok"]


@pytest.mark.parametrize("name", OK_CASES)
def test_export_keeps_what_the_input_holds(name, corpus, exported):
    case = BY_NAME[name]
    result, out = exported(name)
    assert not isinstance(result, Exception), f"{name}: export refused: {result}"
    a, b = facts(corpus[name]), facts(out)
    assert a.error is None and b.error is None, (a.error, b.error)
    assert b.frames == a.frames, f"{name}: {a.frames} frames in, {b.frames} out"
    assert b.alpha == a.alpha, f"{name}: alpha {a.alpha} -> {b.alpha}"
    if case.filename.endswith(".png"):
        return
    assert b.audio == a.audio, f"{name}: audio {a.audio} -> {b.audio}"
    assert b.field_order == a.field_order, f"{name}: field order {a.field_order} -> {b.field_order}"
    if name != "broken_matrix":  # its "SAR" and turn are FFmpeg's reading of a sheared matrix (see below)
        assert b.sar == a.sar, f"{name}: SAR {a.sar} -> {b.sar}"
        assert b.rotation == a.rotation, f"{name}: rotation {a.rotation} -> {b.rotation}"
    ext = Path(case.output).suffix
    if ext == ".avi":
        # AVI has no frame times, only a frame rate; FFmpeg reads H.264 in AVI one frame late
        # (pts = dts + 1), so the frames are compared relative to the first: in order, evenly spaced
        ta, tb = [t - a.times[0] for t in a.times], [t - b.times[0] for t in b.times]
        assert tb == ta, f"{name}: frame times {ta} -> {tb}"
    elif ext == ".mkv":
        worst = max(abs(x - y) for x, y in zip(a.times, b.times, strict=True))
        assert worst <= MKV_CLOCK / 2, f"{name}: a frame moved {float(worst) * 1000:.3f} ms in Matroska"
    else:
        assert b.times == a.times, f"{name}: frame times {[float(t) for t in a.times]} -> {[float(t) for t in b.times]}"
    if case.filename.endswith(".mp4") and a.duration is not None and ext != ".mkv":
        assert b.duration == a.duration, f"{name}: duration {float(a.duration):.4f} -> {float(b.duration):.4f} s"


# -- (1) non-square pixels ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["sar_2_1", "dvd_mpeg2", "mpeg4_avi"])
def test_sample_aspect_ratio_is_kept(name, corpus, exported):
    _result, out = exported(name)
    assert facts(corpus[name]).sar is not None
    assert facts(out).sar == facts(corpus[name]).sar


def test_ffv1_refuses_non_square_pixels_up_front(corpus, tmp_path):
    from app.errors import OutputError
    from app.jobs.delivery import DeliveryOptions, preflight
    from app.media.facts import open_media
    from app.media.writer import EncodeSettings

    media = open_media(str(corpus["sar_2_1"]))
    with pytest.raises(OutputError, match="pixel aspect ratio"):
        preflight(media, DeliveryOptions(str(tmp_path / "o.mkv"), settings=EncodeSettings(codec="ffv1")))


# -- (2) interlaced ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["interlaced", "interlaced_mkv"])
def test_interlaced_stays_interlaced(name, corpus, exported):
    _result, out = exported(name)
    with av.open(str(out)) as c:
        frames = list(c.decode(video=0))
    assert frames and all(f.interlaced_frame for f in frames), "the output's frames are coded progressive"
    assert facts(out).field_order == facts(corpus[name]).field_order == "bff"


# -- (3) AVI -----------------------------------------------------------------------------------------
def test_avi_output_has_no_b_frames_and_frames_in_order(exported):
    _result, out = exported("bframes_avi")
    with av.open(str(out)) as c:
        frames = list(c.decode(video=0))
    pts = [f.pts for f in frames]
    types = {f.pict_type.name if hasattr(f.pict_type, "name") else str(f.pict_type) for f in frames}
    assert pts == sorted(pts) and len(set(pts)) == len(pts) == 12, pts
    assert all(b - a == 1 for a, b in zip(pts, pts[1:], strict=False)), pts  # one tick a frame
    assert "B" not in types


def test_vfr_into_avi_is_refused_before_analysis(corpus, tmp_path):
    from app.errors import OutputError
    from app.jobs.delivery import DeliveryOptions
    from app.jobs.process import process_job
    from app.media.facts import open_media

    media = open_media(str(corpus["vfr_long_last"]))
    job = process_job(media, None, DeliveryOptions(str(tmp_path / "out.avi"), report=False))
    with pytest.raises(OutputError, match="variable frame rate"):
        next(job)
    assert not (tmp_path / "out.avi").exists()


def test_avi_refuses_a_start_between_two_frames(corpus, tmp_path):
    from app.errors import OutputError
    from app.jobs.delivery import DeliveryOptions, preflight
    from app.media.facts import open_media

    media = open_media(str(corpus["ts_offset"]))  # 10.0333 s at 29.97 fps: 300.7 frames
    with pytest.raises(OutputError, match="start time"):
        preflight(media, DeliveryOptions(str(tmp_path / "o.avi"), report=False))


def test_matroska_says_it_rounds_frame_times(corpus):
    from app.jobs.delivery import input_notes
    from app.media.facts import open_media

    media = open_media(str(corpus["interlaced"]))  # 1/90000 s ticks
    assert any("millisecond" in n for n in input_notes(media, "x.mkv"))
    assert not any("millisecond" in n for n in input_notes(media, "x.mp4"))


# -- (4) exact start times ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["ts_offset", "dvd_mpeg2", "edit_list", "data_stream"])
def test_start_time_exact_in_the_input_time_base(name, corpus, exported):
    _result, out = exported(name)
    a, b = facts(corpus[name]), facts(out)
    assert b.times[0] == a.times[0], f"{float(a.times[0])!r} -> {float(b.times[0])!r}"
    with av.open(str(corpus[name])) as ci, av.open(str(out)) as co:
        assert co.streams.video[0].time_base == ci.streams.video[0].time_base


# -- (5) VFR: the last frame's duration --------------------------------------------------------------
def test_vfr_last_frame_keeps_its_duration(corpus, exported):
    _result, out = exported("vfr_long_last")
    a, b = facts(corpus["vfr_long_last"]), facts(out)
    assert a.duration == Fraction(174300, 90000)
    assert b.duration == a.duration


# -- (6) PNG alpha -----------------------------------------------------------------------------------
def test_png_alpha_is_kept_and_redaction_leaves_it_unchanged(corpus, exported):
    result, out = exported("rgba_png")
    assert not isinstance(result, Exception), result
    src = cv2.imread(str(corpus["rgba_png"]), cv2.IMREAD_UNCHANGED)
    dst = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert dst.shape == src.shape == rgba_png().shape
    assert np.array_equal(dst[..., 3], src[..., 3]), "the alpha channel changed"
    inside = (slice(40, 80), slice(52, 108))  # the mask: the middle 40 % of the 160x120 picture
    assert np.abs(dst[inside][..., :3].astype(int) - src[inside][..., :3]).mean() > 5, "not redacted"
    outside = (slice(0, 30), slice(0, 40))
    assert np.array_equal(dst[outside], src[outside])


def test_transparent_png_to_jpeg_is_refused_up_front(corpus, tmp_path):
    from app.errors import OutputError
    from app.jobs.delivery import DeliveryOptions, preflight
    from app.media.facts import open_media

    with pytest.raises(OutputError, match="transparency"):
        preflight(open_media(str(corpus["rgba_png"])), DeliveryOptions(str(tmp_path / "x.jpg"), report=False))


# -- (7) the output checked before any analysis -----------------------------------------------------
@pytest.mark.parametrize("output, words", [("x.webm", "unsupported output type"), ("x.ts", "unsupported output type"),
                                           ("x.gif", "unsupported output type"), ("missing/x.mp4", "folder")])
def test_process_checks_the_output_before_analysis(corpus, tmp_path, output, words):
    from app.errors import OutputError
    from app.jobs.delivery import DeliveryOptions
    from app.jobs.process import process_job
    from app.media.facts import open_media

    media = open_media(str(corpus["control_mp4"]))
    job = process_job(media, None, DeliveryOptions(str(tmp_path / output), report=False))  # no detector
    with pytest.raises(OutputError, match=words):
        next(job)


def test_batch_checks_the_output_before_loading_the_models(corpus, tmp_path):
    """``batch --codec ffv1`` over an .mp4: each file fails on the container, no model loaded."""
    from app import batch
    from app.jobs.delivery import DeliveryOptions
    from app.media.writer import EncodeSettings

    batch._DETECTORS.clear()
    options = batch.BatchOptions(detector=None, analysis=None,
                                 delivery=DeliveryOptions("", settings=EncodeSettings(codec="ffv1")), styles={})
    outcome = batch.process_file(str(corpus["control_mp4"]), str(tmp_path / "control.mp4"), options)
    assert outcome.rc != 0 and "ffv1" in outcome.error.lower(), outcome.error
    assert not batch._DETECTORS, "the models were loaded for an output that cannot be written"


# -- (8) a transport stream that starts mid-GOP ------------------------------------------------------
def test_mid_gop_stream_decodes_what_decodes_and_says_so(corpus, exported):
    from app.jobs.delivery import input_notes
    from app.media.facts import open_media
    from app.media.probe import probe

    info = probe(str(corpus["midgop_ts"]))
    with av.open(str(corpus["midgop_ts"])) as c:
        decodable = sum(1 for _ in c.decode(video=0))
    assert (info.frame_count, info.skipped_leading, info.damage) == (decodable, 7, None)
    assert info.summary()["skipped_leading_frames"] == 7
    result, out = exported("midgop_ts")
    assert not isinstance(result, Exception), result
    assert result.export.frames == info.frame_count == facts(out).frames
    line = " ".join(input_notes(open_media(str(corpus["midgop_ts"]))))
    assert "first 7 frames cannot be decoded" in line and f"holds the {decodable} frames" in line


# -- (9) encrypted input -----------------------------------------------------------------------------
def test_encrypted_input_is_refused_in_one_line(corpus, tmp_path):
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    for args in (["probe", str(corpus["cenc"])], ["process", str(corpus["cenc"]), "-o", str(tmp_path / "o.mp4")]):
        r = subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, env=env,
                           timeout=120, cwd=tmp_path)
        lines = r.stderr.strip().splitlines()
        assert r.returncode != 0 and len(lines) == 1, r.stderr
        assert "encrypted" in lines[0] and "cenc.mp4" in lines[0], lines[0]
        assert "Traceback" not in r.stderr
    assert not (tmp_path / "o.mp4").exists()


# -- (10) display matrix, dropped streams ------------------------------------------------------------
def test_probe_ignores_a_display_matrix_that_is_no_rotation(corpus, exported):
    from app.media.probe import probe

    with av.open(str(corpus["broken_matrix"])) as c:
        raw = next(c.decode(video=0)).rotation
    assert raw % 90 != 0  # the file really holds a nonsense matrix
    info = probe(str(corpus["broken_matrix"]))
    assert info.rotation == 0
    assert info.sar == 1  # FFmpeg reads the shear as an absurd pixel shape: not kept either
    assert any("display matrix" in n for n in info.notes)
    _result, out = exported("broken_matrix")
    assert facts(out).rotation == 0  # the output is shown as coded, not turned by a nonsense angle


def test_dropped_data_stream_is_named_in_the_report(corpus, tmp_path):
    from app.base.progress import run
    from app.core import Project
    from app.jobs.delivery import DeliveryOptions, delivery_job
    from app.media.facts import open_media
    from app.media.writer import EncodeSettings

    media = open_media(str(corpus["data_stream"]))
    assert media.info.dropped_streams == ["stream 2: data"]
    done = run(delivery_job(Project(), media, DeliveryOptions(str(tmp_path / "d.mp4"),
                                                              settings=EncodeSettings(preset="ultrafast"))))
    assert done.report["media"]["dropped_streams"] == ["stream 2: data"]
    assert done.report["media"]["start_s"] == str(Fraction(1920, 90000))
    html = Path(done.report_paths[1]).read_text(encoding="utf-8")
    assert "streams not carried over" in html and "stream 2: data" in html
