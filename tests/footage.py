"""Real footage with faces for the offline and privacy tests: short cuts of the shared clips
(../shared/data, see its README), photos from the shared face set, or the product's own sample.
Nothing here is committed: clips are cut into the test's temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
EGO_FACES = SHARED / "videos" / "egoblur_gen1_faces_608x1080.mp4"
FACE_IMAGES = SHARED / "faces" / "images"


def _encode(frames, dst: Path, rate) -> Path:
    import av

    out = av.open(str(dst), "w")
    try:
        vs = None
        for i, img in enumerate(frames):
            if vs is None:
                vs = out.add_stream("libx264", rate=rate)
                vs.width, vs.height, vs.pix_fmt = img.shape[1], img.shape[0], "yuv420p"
                vs.codec_context.options = {"preset": "ultrafast", "crf": "20"}
            nf = av.VideoFrame.from_ndarray(img, format="bgr24")
            nf.pts = i
            out.mux(vs.encode(nf))
        out.mux(vs.encode(None))
    finally:
        out.close()
    return dst


def face_clip(dst: Path, frames: int = 8, size: tuple[int, int] = (304, 540)) -> Path:
    """The first ``frames`` frames of a real clip with people's faces, scaled to ``size`` (small: the
    models run on 2 shared CPU cores here). The shared EgoBlur clip, else the product's sample."""
    import av

    if EGO_FACES.is_file():
        src = av.open(str(EGO_FACES))
        try:
            imgs = []
            for f in src.decode(video=0):
                imgs.append(f.reformat(width=size[0], height=size[1]).to_ndarray(format="bgr24"))
                if len(imgs) >= frames:
                    break
        finally:
            src.close()
        return _encode(imgs, dst, 30)
    from app.errors import ObscuraError
    from app.media.sample import render_frames

    try:
        imgs = []
        for _i, img, _truth in render_frames():
            imgs.append(img)
            if len(imgs) >= frames:
                break
    except ObscuraError as e:
        pytest.skip(f"no footage with faces: {EGO_FACES} is absent and the sample's asset is unavailable ({e})")
    return _encode(imgs, dst, 30)


def face_photos(n: int) -> list[Path]:
    if not FACE_IMAGES.is_dir():
        pytest.skip(f"shared face photos absent ({FACE_IMAGES}; see ../shared/data/README.md)")
    return sorted(FACE_IMAGES.glob("*.jp*g"))[:n]
