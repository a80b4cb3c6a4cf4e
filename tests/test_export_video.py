"""Video export end to end on real encoded files: timing, audio, pixels, redaction strength, failures."""

from __future__ import annotations

import errno
import hashlib
import os
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from app.assets import asset
from app.base.progress import CancelToken, run
from app.core import Keyframe, KeyframeSource, Project, RedactionStyle, Shape, Track
from app.errors import CorruptMedia, NotAMediaFile, ObscuraError, OutputError
from app.media import writer as writer_mod
from app.media.probe import probe
from app.pipelines.export import export
from app.redaction.masks import build_mask
from tests.media_factory import (
    ClipSpec,
    audio_info,
    audio_payloads,
    decode_planes,
    first_rotation,
    frame_times,
    laplacian_var,
    make_project,
    psnr,
    redaction_scores,
    remux_faststart,
    shared_video,
    vfr_pts,
    write_clip,
    write_random_bytes,
    write_truncated,
)

FAST = writer_mod.EncodeSettings(preset="veryfast")
LOSSLESS = writer_mod.EncodeSettings(codec="ffv1")


def do_export(project, src, dst, settings=None, cancel=None, on_progress=None):
    return run(export(project, str(src), str(dst), settings, cancel), on_progress)


def project_for(path) -> Project:
    info = probe(str(path))
    return make_project(info.width, info.height, info.frame_count)


# -- helpers: where the masks are, per plane ----------------------------------------------------
def plane_align(width: int, height: int, planes: list[np.ndarray]):
    """Each plane's subsampling (sx, sy lists) and the mask alignment grid the exporter uses."""
    sx = [max(1, round(width / p.shape[1])) for p in planes]
    sy = [max(1, round(height / p.shape[0])) for p in planes]
    return sx, sy, (max(sx), max(sy))


def mask_layout(project: Project, frame: int, width: int, height: int, planes: list[np.ndarray]):
    """Where the masks of ``frame`` are.

    Returns ``touched`` (per plane, a bool map of every pixel inside a mask's region box: nothing
    outside it may change), ``covered`` (luma grid, alpha > 0 for some mask: nothing outside it may
    change either) and ``cores``: per mask (region, luma bbox slices, bool map of its fully covered
    pixels inside that bbox, method).
    """
    sx, sy, align = plane_align(width, height, planes)
    touched = [np.zeros(p.shape[:2], bool) for p in planes]
    covered = np.zeros((height, width), bool)
    cores = []
    for _track, shape, style in project.masks_at(frame):
        r = build_mask(shape, style, width, height, align)
        if r is None:
            continue
        for k, t in enumerate(touched):
            t[r.y0 // sy[k] : -(-r.y1 // sy[k]), r.x0 // sx[k] : -(-r.x1 // sx[k])] = True
        covered[r.y0 : r.y1, r.x0 : r.x1] |= r.alpha > 0
        core = r.alpha >= 1.0
        ys, xs = np.nonzero(core)
        box = (slice(r.y0 + ys.min(), r.y0 + ys.max() + 1), slice(r.x0 + xs.min(), r.x0 + xs.max() + 1))
        cores.append((r, box, core[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1], style.method))
    return touched, covered, cores


def assert_redacted_inside(orig: np.ndarray, out: np.ndarray, cores, peak: float, what: str, real: bool = False):
    """Inside each mask's fully covered area the luma has clearly lost its structure.

    Synthetic clips are textured everywhere; in real footage (``real``) a mask over a flat wall has
    nothing to hide, so masks with under 5 % detailed pixels are not judged there.
    """
    for r, box, core, method in cores:
        a, b = orig[box], out[box]
        inner = cv2.erode(core.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0  # SSIM windows inside
        detailed, share, structure = redaction_scores(a, b, inner, peak)
        where = f"{what}: {method} mask at {r.x0},{r.y0}"
        if real and detailed < 0.05:
            continue
        assert detailed > 0.5 or real, f"{where}: the test clip has too little texture here"
        assert share >= 0.9, f"{where}: only {share:.0%} of its detailed pixels lost their structure"
        assert structure < 0.5, f"{where}: still looks like the input (SSIM {structure:.2f} on detail)"
        if not real:
            mad = float(np.abs(a.astype(np.float64) - b.astype(np.float64))[core].mean())
            assert mad > 0.03 * peak, f"{where}: barely changed (mean abs diff {mad:.1f})"


# -- timing and format are kept -----------------------------------------------------------------
ALL_KINDS = ["ntsc_audio", "ntsc_silent", "cfr25", "vfr", "vfr_mkv", "rotated", "odd", "odd_ffv1", "ten_bit", "bframes"]


@pytest.mark.parametrize("name", ALL_KINDS)
def test_export_keeps_frames_times_format(clips, tmp_path, name):
    src = clips[name]
    spec = clips.spec(name)
    dst = tmp_path / f"out{spec.ext}"
    settings = LOSSLESS if spec.ext == ".mkv" else FAST
    project = project_for(src)
    result = do_export(project, src, dst, settings)

    assert not result.cancelled and result.frames == spec.frames
    assert result.masked_frames == spec.frames and result.masks_drawn == 3 * spec.frames
    assert frame_times(dst) == frame_times(src)  # same count, same exact instants (VFR stays VFR)
    info_in, info_out = probe(str(src)), probe(str(dst))
    assert info_out.frame_count == info_in.frame_count
    assert info_out.is_vfr == info_in.is_vfr
    assert (info_out.width, info_out.height) == (spec.width, spec.height)
    assert info_out.pix_fmt == spec.pix_fmt  # 10-bit stays yuv420p10le, 4:4:4 stays 4:4:4
    assert info_out.bit_depth == spec.bit_depth
    assert first_rotation(dst) == info_out.rotation == spec.rotation
    if not spec.vfr:
        assert info_out.fps == spec.rate
    assert sorted(os.listdir(tmp_path)) == [dst.name]


@pytest.mark.parametrize("name", ["ntsc_silent", "vfr", "rotated", "odd", "odd_ffv1", "ten_bit", "bframes"])
def test_lossless_export_changes_only_masked_pixels(clips, tmp_path, name):
    src = clips[name]
    spec = clips.spec(name)
    dst = tmp_path / "out.mkv"
    project = project_for(src)
    do_export(project, src, dst, LOSSLESS)

    before, after = decode_planes(src), decode_planes(dst)
    assert len(before) == len(after) == spec.frames
    peak = (1 << spec.bit_depth) - 1
    for i, (a, b) in enumerate(zip(before, after, strict=True)):
        assert [p.shape for p in a] == [p.shape for p in b] and [p.dtype for p in a] == [p.dtype for p in b]
        touched, covered, cores = mask_layout(project, i, spec.width, spec.height, a)
        assert len(cores) == 3
        for k, (pa, pb, t) in enumerate(zip(a, b, touched, strict=True)):
            diff = pa != pb
            assert not diff[~t].any(), f"{name} frame {i} plane {k}: {int(diff[~t].sum())} pixels changed outside masks"
        # Inside the region boxes too, luma pixels where every soft mask is 0 are untouched.
        assert np.array_equal(a[0][~covered], b[0][~covered])
        if i % 5 == 0:
            assert_redacted_inside(a[0], b[0], cores, peak, f"{name} frame {i}")


@pytest.mark.parametrize("name", ["ntsc_audio", "vfr", "ten_bit"])
def test_h264_export_error_outside_masks_is_codec_error_only(clips, tmp_path, name):
    src = clips[name]
    spec = clips.spec(name)
    dst = tmp_path / "out.mp4"
    project = project_for(src)
    do_export(project, src, dst)  # the default settings: x264 CRF 18, preset medium
    do_export(Project(), src, tmp_path / "plain.mp4")  # the codec's own error, for reference

    peak = (1 << spec.bit_depth) - 1
    before, after, plain = decode_planes(src), decode_planes(dst), decode_planes(tmp_path / "plain.mp4")
    redacted, reference = [], []
    for i, (a, b, c) in enumerate(zip(before, after, plain, strict=True)):
        touched, _covered, cores = mask_layout(project, i, spec.width, spec.height, a)
        outside = ~touched[0]
        redacted.append(psnr(a[0][outside], b[0][outside], peak))
        reference.append(psnr(a[0][outside], c[0][outside], peak))
        if i % 5 == 0:
            assert_redacted_inside(a[0], b[0], cores, peak, f"{name} frame {i}")
    # x264 at CRF 18 gives this deliberately noisy texture ~40 dB on average and ~37 dB on its worst
    # frames, with or without masks (frame types differ between two encodes, so compare the clip).
    assert min(redacted) > 36, f"{name}: a frame lost quality outside the masks ({min(redacted):.1f} dB)"
    assert np.mean(redacted) > np.mean(reference) - 0.5, f"{name}: masks cost quality outside them"


def test_empty_project_lossless_is_bit_identical(clips, tmp_path):
    src = clips["ten_bit"]
    dst = tmp_path / "same.mkv"
    result = do_export(Project(), src, dst, LOSSLESS)
    assert (result.frames, result.masked_frames, result.masks_drawn) == (30, 0, 0)
    for a, b in zip(decode_planes(src), decode_planes(dst), strict=True):
        assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_empty_project_h264_keeps_everything(clips, tmp_path):
    src = clips["ntsc_audio"]
    dst = tmp_path / "same.mp4"
    result = do_export(Project(), src, dst)
    assert result.frames == 45 and result.masked_frames == 0
    assert frame_times(dst) == frame_times(src)
    assert audio_payloads(dst) == audio_payloads(src)
    for a, b in zip(decode_planes(src), decode_planes(dst), strict=True):
        assert psnr(a[0], b[0]) > 36  # CRF 18 on a noisy texture: ~40 dB mean, ~37 dB worst


# -- audio -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["ntsc_audio", "lossless"])
def test_audio_copy_keeps_packets_byte_identical(clips, tmp_path, name):
    src = clips[name]
    dst = tmp_path / f"out{clips.spec(name).ext}"
    do_export(project_for(src), src, dst, LOSSLESS if dst.suffix == ".mkv" else FAST)
    payload = audio_payloads(src)
    assert payload and audio_payloads(dst) == payload
    assert audio_info(dst) == audio_info(src)


def test_audio_aac_transcodes_and_keeps_duration(clips, tmp_path):
    src = clips["ntsc_audio"]
    dst = tmp_path / "out.mp4"
    do_export(Project(), src, dst, writer_mod.EncodeSettings(preset="veryfast", audio="aac"))
    codec_in, rate_in, samples_in = audio_info(src)
    codec_out, rate_out, samples_out = audio_info(dst)
    assert (codec_out, rate_out) == ("aac", rate_in)
    assert abs(samples_out - samples_in) <= 1024  # within one AAC frame
    assert audio_payloads(dst) != audio_payloads(src)  # re-encoded, not copied
    assert probe(str(dst)).audio[0].channels == 2


def test_mp4_with_audio_to_lossless_mkv(clips, tmp_path):
    """Matroska counts in milliseconds and cannot start below zero, so an MP4 whose AAC priming
    packet sits at -21 ms comes out shifted by that much (the muxer moves every stream, so sync is
    kept); frame spacing is exact to Matroska's 1 ms."""
    src = clips["ntsc_audio"]
    dst = tmp_path / "out.mkv"
    do_export(Project(), src, dst, LOSSLESS)
    a, b = frame_times(src), frame_times(dst)
    assert len(a) == len(b) == 45
    assert 0 <= b[0] - a[0] <= Fraction(1024, 48000) + Fraction(1, 1000)
    assert max(abs((x - a[0]) - (y - b[0])) for x, y in zip(a, b, strict=True)) <= Fraction(1, 1000)
    assert audio_payloads(dst) == audio_payloads(src)


def test_audio_drop_removes_the_stream(clips, tmp_path):
    src = clips["ntsc_audio"]
    dst = tmp_path / "out.mp4"
    do_export(Project(), src, dst, writer_mod.EncodeSettings(preset="veryfast", audio="drop"))
    assert audio_info(dst) is None and probe(str(dst)).audio == []
    assert frame_times(dst) == frame_times(src)


# -- shared real media -------------------------------------------------------------------------
@pytest.mark.slow
def test_export_shared_intel_clip_with_audio(tmp_path):
    src = shared_video("intel_car_detection_768x432.mp4")
    dst = tmp_path / "intel.mp4"
    project = project_for(src)
    result = do_export(project, src, dst, writer_mod.EncodeSettings(preset="ultrafast"))
    assert result.frames == 377
    assert frame_times(dst) == frame_times(src)
    assert audio_payloads(dst) == audio_payloads(src)
    assert probe(str(dst)).fps == Fraction(25, 2)


@pytest.mark.slow
def test_export_shared_egoblur_clip(tmp_path):
    src = shared_video("egoblur_gen2_faces_2560x1920.mp4")
    dst = tmp_path / "out.mp4"
    info = probe(str(src))
    project = make_project(info.width, info.height, info.frame_count)
    result = do_export(project, src, dst, writer_mod.EncodeSettings(preset="ultrafast"))
    assert result.frames == info.frame_count == 14
    assert frame_times(dst) == frame_times(src)
    assert audio_payloads(dst) == audio_payloads(src)
    for i, (a, b) in enumerate(zip(decode_planes(src), decode_planes(dst), strict=True)):
        if i % 4:
            continue
        touched, _covered, cores = mask_layout(project, i, info.width, info.height, a)
        assert psnr(a[0][~touched[0]], b[0][~touched[0]]) > 38
        assert_redacted_inside(a[0], b[0], cores, 255, f"egoblur frame {i}", real=True)


def test_export_shared_gif_lossless(tmp_path):
    src = shared_video("intel_face_demographics_walking.gif")
    dst = tmp_path / "out.mkv"
    info = probe(str(src))
    project = make_project(info.width, info.height, info.frame_count)
    result = do_export(project, src, dst, LOSSLESS)
    assert result.frames == info.frame_count
    assert frame_times(dst) == frame_times(src)  # 1/100 s GIF delays are exact in Matroska's 1/1000
    out = probe(str(dst))
    assert (out.width, out.height, out.frame_count) == (info.width, info.height, info.frame_count)
    with av.open(str(src)) as a, av.open(str(dst)) as b:
        for i, (fa, fb) in enumerate(zip(a.decode(video=0), b.decode(video=0), strict=True)):
            x, y = fa.to_ndarray(format="rgb24"), fb.to_ndarray(format="rgb24")
            touched, _covered, cores = mask_layout(project, i, info.width, info.height, [x[..., 0]])
            assert np.array_equal(x[~touched[0]], y[~touched[0]]), f"GIF frame {i} changed outside the masks"
            gx, gy = cv2.cvtColor(x, cv2.COLOR_RGB2GRAY), cv2.cvtColor(y, cv2.COLOR_RGB2GRAY)
            assert_redacted_inside(gx, gy, cores, 255, f"GIF frame {i}", real=True)


# -- strength of each method --------------------------------------------------------------------
@pytest.mark.parametrize("method", ["gaussian", "pixelate", "solid"])
def test_each_method_destroys_the_inside(clips, tmp_path, method):
    src = clips["ntsc_silent"]
    project = Project()
    box = Shape.rect(60, 50, 220, 190)
    style = RedactionStyle(method=method, margin=0, feather=0)
    project.add_track(Track("manual-0001", "manual", [Keyframe(0, box), Keyframe(44, box)], style=style))
    dst = tmp_path / "out.mkv"
    do_export(project, src, dst, LOSSLESS)
    for i, (a, b) in enumerate(zip(decode_planes(src), decode_planes(dst), strict=True)):
        core = (slice(50, 190), slice(60, 220))
        touched, _covered, cores = mask_layout(project, i, 320, 240, a)
        assert_redacted_inside(a[0], b[0], cores, 255, f"{method} frame {i}")
        if method != "pixelate":  # (block edges are high-frequency on purpose)
            assert laplacian_var(b[0][core]) < 0.1 * laplacian_var(a[0][core])
        assert np.array_equal(a[0][~touched[0]], b[0][~touched[0]])
        if method == "solid":  # black in limited-range BT.601: Y = 16, U = V = 128
            assert (b[0][core] == 16).all() and (b[1][25:95, 30:110] == 128).all()


def _face_clip(path) -> tuple[str, tuple[int, int, int, int]]:
    """A 3-frame lossless clip of the NASA portrait scaled so the face is ~200 px wide."""
    portrait = cv2.imread(str(asset("astronaut")), cv2.IMREAD_COLOR)
    scale = 200 / (278 - 172)  # the face spans x 172..278, y 62..196 in the 512x512 source
    big = cv2.resize(portrait, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    x1, y1, x2, y2 = (int(round(v * scale)) for v in (172, 62, 278, 196))
    ox, oy = x1 - 140, max(0, y1 - 100)
    crop = np.ascontiguousarray(big[oy : oy + 480, ox : ox + 480])
    with av.open(str(path), "w", format="matroska") as out:
        vs = out.add_stream("ffv1", rate=30)
        vs.width, vs.height, vs.pix_fmt = 480, 480, "yuv420p"
        for i in range(3):
            f = av.VideoFrame.from_ndarray(crop, format="bgr24")
            f.pts = i
            out.mux(vs.encode(f))
        out.mux(vs.encode(None))
    return str(path), (x1 - ox, y1 - oy, x2 - ox, y2 - oy)


def test_default_face_blur_makes_a_200px_face_unrecognisable(tmp_path):
    src, (fx1, fy1, fx2, fy2) = _face_clip(tmp_path / "face.mkv")
    assert fx2 - fx1 == 200
    project = Project()  # the face class's default style: gaussian, strength 80, margin 20 %
    box = Shape.rect(fx1, fy1, fx2, fy2)
    project.add_track(Track("face-0001", "face", [Keyframe(0, box, KeyframeSource.AUTO), Keyframe(2, box)]))
    dst = tmp_path / "blurred.mkv"
    do_export(project, src, dst, LOSSLESS)
    for a, b in zip(decode_planes(src), decode_planes(dst), strict=True):
        face_a, face_b = a[0][fy1:fy2, fx1:fx2], b[0][fy1:fy2, fx1:fx2]
        # Mean SSIM over the whole box is ~0.52: smooth skin matches a smooth blob in brightness.
        # Judged where the face has detail (eyes, mouth, hair), as the acceptance tool does:
        detailed, share, structure = redaction_scores(face_a, face_b, np.ones(face_a.shape, bool))
        assert detailed > 0.2 and share == 1.0 and structure < 0.5
        assert laplacian_var(face_b) < 0.1 * laplacian_var(face_a)  # > 90 % of the fine detail gone
        # Eyes, nose and mouth are gone: what is left is a smooth blob (no edge above a weak gradient).
        assert np.abs(cv2.Sobel(face_b.astype(np.float32), cv2.CV_32F, 1, 0)).max() < 40


# -- bad input, bad output, cancel, disk full ----------------------------------------------------
def _cut_faststart(clips, tmp_path):
    return write_truncated(remux_faststart(clips["ntsc_audio"], tmp_path / "fast.mp4"), tmp_path / "cut_fast.mp4")


@pytest.mark.parametrize(
    "make, error, words",
    [
        (lambda clips, d: write_truncated(clips["ntsc_audio"], d / "cut.mp4"), CorruptMedia, "truncated"),
        (lambda clips, d: write_random_bytes(d / "noise.mp4"), NotAMediaFile, "not a video"),
        (_cut_faststart, CorruptMedia, "truncated"),
        (lambda clips, d: write_truncated(clips["lossless"], d / "cut.mkv"), CorruptMedia, "truncated"),
        (lambda clips, d: write_truncated(clips["vfr_mkv"], d / "cut_vfr.mkv", 0.8), CorruptMedia, "truncated"),
    ],
    ids=["cut-mp4", "random-bytes", "cut-faststart-mp4", "cut-mkv", "cut-mkv-80"],
)
def test_broken_input_fails_cleanly(clips, tmp_path, make, error, words):
    src_dir, out_dir = tmp_path / "in", tmp_path / "out"
    src_dir.mkdir()
    out_dir.mkdir()
    src = make(clips, src_dir)
    dst = out_dir / f"redacted{src.suffix}"
    with pytest.raises(error) as exc:
        do_export(make_project(320, 240, 45), src, dst, LOSSLESS if src.suffix == ".mkv" else FAST)
    message = str(exc.value)
    assert isinstance(exc.value, ObscuraError)
    assert words in message.lower() and "\n" not in message
    assert os.listdir(out_dir) == []


def test_output_equal_to_input_is_refused(clips, tmp_path):
    src = tmp_path / "clip.mp4"
    src.write_bytes(clips["ntsc_silent"].read_bytes())
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    link = tmp_path / "link.mp4"
    link.symlink_to(src)
    for target in (src, tmp_path / "." / "clip.mp4", link):
        with pytest.raises(OutputError, match="input"):
            do_export(project_for(src), src, target, FAST)
    assert hashlib.sha256(src.read_bytes()).hexdigest() == digest
    assert sorted(os.listdir(tmp_path)) == ["clip.mp4", "link.mp4"]


@pytest.mark.parametrize("name", ["out.webm", "out.gif", "out.xyz"])
def test_unsupported_output_type(clips, tmp_path, name):
    with pytest.raises(OutputError, match="unsupported output"):
        do_export(Project(), clips["ntsc_silent"], tmp_path / name, FAST)
    assert os.listdir(tmp_path) == []


def test_missing_output_folder(clips, tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        do_export(Project(), clips["ntsc_silent"], tmp_path / "nope" / "out.mp4", FAST)


def test_cancel_leaves_nothing(clips, tmp_path):
    src = clips["bframes"]
    dst = tmp_path / "out.mp4"
    token = CancelToken()
    events = []

    def on_progress(p):
        events.append(p)
        if p.done < p.total:
            token.cancel()

    result = do_export(project_for(src), src, dst, FAST, token, on_progress)
    assert result.cancelled
    assert 0 < result.frames < 60
    assert events[-1].message == "cancelled"
    assert os.listdir(tmp_path) == []


class _FullDisk:
    """An output container whose disk fills up after ``after`` mux calls (or when it closes)."""

    def __init__(self, inner, after: int | None):
        self._inner, self._left = inner, after

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def mux(self, packets):
        if self._left is not None:
            self._left -= 1
            if self._left < 0:
                raise OSError(errno.ENOSPC, "No space left on device")
        return self._inner.mux(packets)

    def close(self):
        self._inner.close()
        if self._left is None:
            raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("after", [3, 40, None], ids=["early", "late", "at-close"])
def test_disk_full_leaves_no_partial_file(clips, tmp_path, monkeypatch, after):
    class AvWithFullDisk:
        def __getattr__(self, name):
            return getattr(av, name)

        def open(self, *args, **kwargs):
            return _FullDisk(av.open(*args, **kwargs), after)

    monkeypatch.setattr(writer_mod, "av", AvWithFullDisk())
    dst = tmp_path / "out.mp4"
    with pytest.raises(OutputError) as exc:
        do_export(project_for(clips["ntsc_audio"]), clips["ntsc_audio"], dst, FAST)
    message = str(exc.value)
    assert "disk full" in message and "out.mp4" in message and ".part" not in message
    assert os.listdir(tmp_path) == []


def test_export_keeps_odd_size_vfr_rotation_together(tmp_path):
    """All the awkward properties at once, with B-frames: still frame- and time-exact."""
    spec = ClipSpec("awkward", width=321, height=243, pix_fmt="yuv444p", frames=30, rate=Fraction(20),
                    time_base=Fraction(1, 90000), pts=vfr_pts(30), rotation=270,
                    options={"preset": "veryfast", "x264-params": "bframes=4"})
    src = write_clip(tmp_path / "awkward.mp4", spec)
    dst = tmp_path / "out.mp4"
    do_export(project_for(src), src, dst, FAST)
    assert frame_times(dst) == frame_times(src)
    info = probe(str(dst))
    assert (info.width, info.height, info.pix_fmt, info.rotation, info.is_vfr) == (321, 243, "yuv444p", 270, True)


def test_odd_sized_lossless_source_exports_to_h264_at_its_exact_size(tmp_path):
    """An odd-sized 4:2:0-incompatible frame (321x243 FFV1) cannot be H.264 4:2:0: the writer picks
    4:4:4, so the export keeps the exact size instead of failing with an encoder error."""
    from tests.media_factory import CLIPS

    src = write_clip(tmp_path / "odd.mkv", CLIPS["odd_ffv1"])
    out = tmp_path / "odd.mp4"
    result = run(export(make_project(321, 243, 20), str(src), str(out)))
    info = probe(str(out))
    assert (info.width, info.height, info.frame_count, result.frames) == (321, 243, 20, 20)
    assert info.codec == "h264"
