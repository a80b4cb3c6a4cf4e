"""Photos through export: same kind out, metadata stripped, orientation applied, pixels kept."""

from __future__ import annotations

import hashlib
import os
import struct
import zlib

import cv2
import numpy as np
import pytest

from app.base.progress import run
from app.core import Keyframe, Project, RedactionStyle, Shape, Track
from app.errors import CorruptMedia, InputNotFound, NotAMediaFile, OutputError
from app.media.images import read_image
from app.pipelines.export import export
from app.redaction.masks import build_mask
from tests.media_factory import psnr, redaction_scores, textured_frame, write_random_bytes

SECRET_GPS = b"GPS 48.8584N 2.2945E"
SECRET_ARTIST = b"Jane Q. Photographer"


# -- building files with metadata by hand -----------------------------------------------------
def _tiff_exif(orientation: int = 1) -> bytes:
    """A little-endian TIFF block: Orientation, Artist and ImageDescription (holding a GPS note)."""
    strings = [SECRET_ARTIST + b"\x00", SECRET_GPS + b"\x00"]
    entries = 3
    ifd_size = 2 + 12 * entries + 4
    data_at = 8 + ifd_size
    ifd = struct.pack("<H", entries)
    ifd += struct.pack("<HHII", 0x0112, 3, 1, orientation)  # Orientation (SHORT, value in place)
    ifd += struct.pack("<HHII", 0x013B, 2, len(strings[0]), data_at)  # Artist
    ifd += struct.pack("<HHII", 0x010E, 2, len(strings[1]), data_at + len(strings[0]))  # ImageDescription
    ifd += struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + b"".join(strings)


def jpeg_with_exif(image: np.ndarray, orientation: int = 1) -> bytes:
    ok, enc = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    jpg = enc.tobytes()
    payload = b"Exif\x00\x00" + _tiff_exif(orientation)
    app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    comment = b"\xff\xfe" + struct.pack(">H", len(SECRET_GPS) + 2) + SECRET_GPS  # COM segment
    return jpg[:2] + app1 + comment + jpg[2:]


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_with_metadata(image: np.ndarray) -> bytes:
    ok, enc = cv2.imencode(".png", image)
    assert ok
    png = enc.tobytes()
    end_of_ihdr = 8 + 25
    extra = _png_chunk(b"tEXt", b"Author\x00" + SECRET_ARTIST) + _png_chunk(b"eXIf", _tiff_exif())
    return png[:end_of_ihdr] + extra + png[end_of_ihdr:]


def photo(width: int = 320, height: int = 240) -> np.ndarray:
    return cv2.cvtColor(textured_frame(3, width, height, seed=7), cv2.COLOR_RGB2BGR)


def photo_project() -> Project:
    p = Project()
    p.add_track(Track("face-0001", "face", [Keyframe(0, Shape.ellipse(40, 30, 140, 150))]))
    p.add_track(Track("manual-0001", "manual", [Keyframe(0, Shape.polygon([(200, 150), (300, 160), (250, 230)]))],
                      style=RedactionStyle(method="pixelate")))
    return p


def export_photo(project: Project, src, dst):
    return run(export(project, str(src), str(dst)))


def masked_area(project: Project, width: int, height: int) -> tuple[np.ndarray, list[tuple]]:
    """Bool map of every pixel a mask's region covers, and (region box slices, core map) per mask."""
    touched = np.zeros((height, width), bool)
    cores = []
    for _t, shape, style in project.masks_at(0):
        r = build_mask(shape, style, width, height, (1, 1))
        touched[r.y0 : r.y1, r.x0 : r.x1] = True
        core = cv2.erode((r.alpha >= 1).astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
        cores.append(((slice(r.y0, r.y1), slice(r.x0, r.x1)), core))
    return touched, cores


# -- tests -------------------------------------------------------------------------------------
def test_png_in_png_out_changes_only_the_masks(tmp_path):
    img = photo()
    src, dst = tmp_path / "in.png", tmp_path / "out.png"
    src.write_bytes(png_with_metadata(img))
    project = photo_project()
    result = export_photo(project, src, dst)

    assert (result.frames, result.masked_frames, result.masks_drawn) == (1, 1, 2)
    data = dst.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert SECRET_ARTIST not in data and b"eXIf" not in data and b"tEXt" not in data
    out = cv2.imread(str(dst), cv2.IMREAD_UNCHANGED)
    assert out.shape == img.shape and out.dtype == np.uint8
    touched, cores = masked_area(project, 320, 240)
    assert np.array_equal(out[~touched], img[~touched])
    gray_in, gray_out = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.cvtColor(out, cv2.COLOR_BGR2GRAY)
    for box, core in cores:
        _detailed, share, structure = redaction_scores(gray_in[box], gray_out[box], core)
        assert share >= 0.9 and structure < 0.5
    assert sorted(os.listdir(tmp_path)) == ["in.png", "out.png"]


def test_jpeg_in_jpeg_out_strips_exif(tmp_path):
    img = photo()
    src, dst = tmp_path / "in.jpg", tmp_path / "out.jpeg"
    src.write_bytes(jpeg_with_exif(img))
    assert SECRET_GPS in src.read_bytes() and b"Exif\x00\x00" in src.read_bytes()
    project = photo_project()
    export_photo(project, src, dst)

    data = dst.read_bytes()
    assert data.startswith(b"\xff\xd8\xff") and data.rstrip(b"\x00").endswith(b"\xff\xd9")
    for secret in (SECRET_GPS, SECRET_ARTIST, b"Exif\x00\x00", b"\xff\xe1", b"\xff\xfe"):
        assert secret not in data, f"{secret!r} survived into the output"
    original = cv2.imread(str(src))
    out = cv2.imread(str(dst))
    touched, cores = masked_area(project, 320, 240)
    assert psnr(original[~touched], out[~touched]) > 35  # a quality-95 re-encode
    gray_in, gray_out = cv2.cvtColor(original, cv2.COLOR_BGR2GRAY), cv2.cvtColor(out, cv2.COLOR_BGR2GRAY)
    for box, core in cores:
        _detailed, share, structure = redaction_scores(gray_in[box], gray_out[box], core)
        assert share >= 0.9 and structure < 0.5


def test_exif_orientation_is_applied_then_dropped(tmp_path):
    """A portrait photo stored sideways (orientation 6) comes out upright, with no tag left to rotate it again."""
    upright = photo(120, 200)
    stored = cv2.rotate(upright, cv2.ROTATE_90_COUNTERCLOCKWISE)  # what the sensor wrote: 200x120
    src, dst = tmp_path / "sideways.jpg", tmp_path / "out.png"
    src.write_bytes(jpeg_with_exif(stored, orientation=6))
    assert read_image(str(src)).shape == (200, 120, 3)
    export_photo(Project(), src, dst)
    out = cv2.imread(str(dst), cv2.IMREAD_UNCHANGED)
    assert out.shape == (200, 120, 3)
    assert psnr(out, upright) > 30


def test_photo_with_empty_project_is_unchanged(tmp_path):
    img = photo()
    src, dst = tmp_path / "in.png", tmp_path / "out.png"
    assert cv2.imwrite(str(src), img)
    result = export_photo(Project(), src, dst)
    assert result.masked_frames == 0
    assert np.array_equal(cv2.imread(str(dst)), img)


def test_track_starting_later_does_not_touch_a_photo(tmp_path):
    """A photo is frame 0: a track whose first keyframe is at frame 5 draws nothing."""
    img = photo()
    src, dst = tmp_path / "in.png", tmp_path / "out.png"
    assert cv2.imwrite(str(src), img)
    p = Project()
    p.add_track(Track("face-0001", "face", [Keyframe(5, Shape.rect(10, 10, 100, 100))]))
    assert export_photo(p, src, dst).masks_drawn == 0
    assert np.array_equal(cv2.imread(str(dst)), img)


def test_photo_errors(tmp_path, clips):
    img = photo()
    good = tmp_path / "good.png"
    assert cv2.imwrite(str(good), img)
    digest = hashlib.sha256(good.read_bytes()).hexdigest()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(jpeg_with_exif(img)[:3000])
    noise = write_random_bytes(tmp_path / "noise.jpg", 5000)
    out = tmp_path / "out"
    out.mkdir()

    with pytest.raises(OutputError, match="overwrite the input"):
        export_photo(photo_project(), good, good)
    assert hashlib.sha256(good.read_bytes()).hexdigest() == digest
    with pytest.raises(InputNotFound):
        export_photo(Project(), tmp_path / "missing.jpg", out / "x.jpg")
    with pytest.raises(NotAMediaFile, match="not a JPEG or PNG"):
        export_photo(Project(), noise, out / "x.jpg")
    with pytest.raises(CorruptMedia, match="truncated or corrupt"):
        export_photo(Project(), cut, out / "x.jpg")
    with pytest.raises(OutputError, match="photo exports to a photo"):
        export_photo(Project(), good, out / "x.mp4")
    with pytest.raises(OutputError, match="photo exports to a photo"):
        export_photo(Project(), clips["ntsc_silent"], out / "x.jpg")
    assert os.listdir(out) == []
