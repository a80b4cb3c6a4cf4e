"""`obscura eval`: the annotation loaders, the scoring rules, and the real command on the shared photo sets."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.detection.detections import CLASS_IDS, Detections
from app.errors import ObscuraError
from app.evaluation import Item, class_of, evaluate, load_csv, load_dataset, load_voc, load_wider

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
CLASSES = {"face": CLASS_IDS["face"], "plate": CLASS_IDS["plate"]}
IOU = {"face": 0.4, "plate": 0.5}
MARGINS = {"face": 10.0, "plate": 8.0}


def write_image(path: Path, w: int = 200, h: int = 160) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(path.name))
    assert cv2.imwrite(str(path), rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
    return path


def voc_xml(filename: str | None, objects: list[tuple[str, tuple[float, float, float, float]]]) -> str:
    objs = "".join(
        f"<object><name>{n}</name><pose>Unspecified</pose><bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin>"
        f"<xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>"
        for n, b in objects
    )
    fn = f"<filename>{filename}</filename>" if filename else ""
    return f"<annotation><folder>images</folder>{fn}<size><width>200</width><height>160</height></size>{objs}</annotation>"


# ------------------------------------------------------------------------------------------------
# Loaders


def test_class_names_map_to_face_and_plate():
    for name in ("con_mascarilla", "sin_mascarilla", "mascarilla_mal_puesta", "face", "with_mask", " Face "):
        assert class_of(name) == "face", name
    for name in ("licence", "license_plate", "plate", "number_plate", "LICENCE"):
        assert class_of(name) == "plate", name
    assert class_of("car") == "car"


def test_load_voc(tmp_path):
    images, ann = tmp_path / "images", tmp_path / "annotations"
    ann.mkdir()
    write_image(images / "a.jpg")
    write_image(images / "b.png")
    (ann / "a.xml").write_text(voc_xml("a.jpg", [("con_mascarilla", (10, 20, 50, 70)), ("licence", (60, 80, 120, 100.5))]))
    (ann / "b.xml").write_text(voc_xml("b.png", []))  # an image with no boxes still counts
    (ann / "c.xml").write_text(voc_xml("gone.jpg", [("sin_mascarilla", (1, 1, 5, 5))]))  # no image: skipped
    (ann / "a_noname.xml").write_text(voc_xml(None, [("face", (1, 2, 3, 4))]))  # filename from the stem
    write_image(images / "a_noname.jpg")
    items = load_voc(str(images), str(ann))
    by = {Path(i.image).name: i for i in items}
    assert set(by) == {"a.jpg", "b.png", "a_noname.jpg"}
    a = by["a.jpg"]
    assert a.classes == ["face", "plate"]
    np.testing.assert_allclose(a.boxes, [[10, 20, 50, 70], [60, 80, 120, 100.5]])
    assert by["b.png"].boxes.shape == (0, 4) and by["b.png"].classes == []
    np.testing.assert_allclose(by["a_noname.jpg"].boxes, [[1, 2, 3, 4]])
    # load_dataset finds images/ and annotations/ inside a dataset folder.
    assert len(load_dataset(str(tmp_path), None)) == 3
    (ann / "bad.xml").write_text("<annotation><object>")
    with pytest.raises(ObscuraError, match="bad annotation file"):
        load_voc(str(images), str(ann))


def test_load_wider(tmp_path):
    write_image(tmp_path / "0--Parade" / "x.jpg")
    write_image(tmp_path / "0--Parade" / "y.jpg")
    txt = tmp_path / "gt.txt"
    txt.write_text(
        "0--Parade/x.jpg\n2\n"
        "10 20 30 40 0 0 0 0 0 0\n"
        "100 5 8 0 0 0 0 0 0 0\n"  # zero height: dropped
        "0--Parade/y.jpg\n0\n0 0 0 0 0 0 0 0 0 0\n"  # no faces, one placeholder line
        "0--Parade/missing.jpg\n1\n1 1 5 5 0 0 0 0 0 0\n"
    )
    items = load_wider(str(tmp_path), str(txt))
    assert [Path(i.image).name for i in items] == ["x.jpg", "y.jpg"]
    np.testing.assert_allclose(items[0].boxes, [[10, 20, 40, 60]])
    assert items[0].classes == ["face"]
    assert items[1].boxes.shape == (0, 4)
    assert len(load_dataset(str(tmp_path), str(txt))) == 2


def test_load_csv(tmp_path):
    write_image(tmp_path / "p.jpg")
    write_image(tmp_path / "q.jpg")
    csv = tmp_path / "gt.csv"
    csv.write_text(
        "file,x1,y1,x2,y2,class\n"
        "p.jpg,1,2,30,40,licence\n"
        "p.jpg,5,6,25,36,con_mascarilla\n"
        "q.jpg,0,0,10,12\n"  # no class column: a face
        "nothere.jpg,0,0,10,12,face\n"
    )
    items = load_csv(str(tmp_path), str(csv))
    assert [Path(i.image).name for i in items] == ["p.jpg", "q.jpg"]
    assert items[0].classes == ["plate", "face"]
    np.testing.assert_allclose(items[0].boxes, [[1, 2, 30, 40], [5, 6, 25, 36]])
    assert items[1].classes == ["face"]
    assert len(load_dataset(str(tmp_path), str(csv))) == 2
    with pytest.raises(ObscuraError, match="unknown annotation format"):
        load_dataset(str(tmp_path), str(tmp_path / "gt.json"))
    with pytest.raises(ObscuraError, match="no annotations"):
        load_dataset(str(tmp_path / "p.jpg"), None)


# ------------------------------------------------------------------------------------------------
# Scoring with a fake detect callable (the rules, not the model)


@pytest.fixture
def items(tmp_path) -> list[Item]:
    """Three images: two faces and a plate; one face; one plate (all at least 40 px tall)."""
    return [
        Item(str(write_image(tmp_path / "i0.png")), np.array([[10, 10, 60, 70], [100, 20, 150, 80], [20, 100, 140, 150]],
                                                             np.float32), ["face", "face", "plate"]),
        Item(str(write_image(tmp_path / "i1.png")), np.array([[50, 40, 110, 120]], np.float32), ["face"]),
        Item(str(write_image(tmp_path / "i2.png")), np.array([[30, 60, 170, 110]], np.float32), ["plate"]),
    ]


def fake_detector(items: list[Item], make) -> Callable[[np.ndarray], Detections]:
    """A detect(img) that answers item by item, in the order evaluate reads them."""
    answers = iter([make(it) for it in items])
    return lambda img: next(answers)


def as_detections(boxes, classes, score=0.9) -> Detections:
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    return Detections(boxes, np.full(len(boxes), score), [CLASS_IDS[c] for c in classes], np.zeros(len(boxes)))


def run_eval(items, make, min_height=0.0):
    return evaluate(items, fake_detector(items, make), CLASSES, IOU, MARGINS, min_height=min_height)


def test_perfect_detections(items):
    res = run_eval(items, lambda it: as_detections(it.boxes, it.classes))
    assert res["images"] == 3
    for cls, n in (("face", 3), ("plate", 2)):
        c = res["classes"][cls]
        assert c["ground_truth"] == n and c["detected"] == n
        assert c["recall"] == 1.0 and c["precision"] == 1.0 and c["ap50"] == pytest.approx(1.0)
        assert c["false_boxes"] == 0
        assert c["mean_mask_coverage"] == pytest.approx(1.0)  # the box itself, grown by the margin
        assert sum(v["gt"] for v in c["recall_by_height"].values()) == n
        assert all(v["recall"] == 1.0 for v in c["recall_by_height"].values())


def test_nothing_detected(items):
    res = run_eval(items, lambda it: Detections.empty())
    for cls in ("face", "plate"):
        c = res["classes"][cls]
        assert c["recall"] == 0.0 and c["detected"] == 0 and c["false_boxes"] == 0
        assert c["ap50"] == 0.0 and c["mean_mask_coverage"] == 0.0
        assert c["precision"] is None  # no boxes at all: precision undefined


def test_shifted_boxes_below_the_iou_are_misses(items):
    def shifted(it):
        b = it.boxes.copy()
        w = b[:, 2] - b[:, 0]
        b[:, 0] += 0.6 * w  # IoU with the truth = 0.4 / 1.6 = 0.25 (below 0.4 and 0.5)
        b[:, 2] += 0.6 * w
        return as_detections(b, it.classes)

    res = run_eval(items, shifted)
    for cls, n in (("face", 3), ("plate", 2)):
        c = res["classes"][cls]
        assert c["detected"] == 0 and c["recall"] == 0.0
        assert c["false_boxes"] == n and c["precision"] == 0.0 and c["ap50"] == 0.0
        assert 0.3 < c["mean_mask_coverage"] < 0.7  # half-covered boxes still show in coverage

    def slightly(it):  # a small shift keeps IoU above the threshold: hits
        b = it.boxes.copy()
        b[:, [0, 2]] += 0.1 * (b[:, 2] - b[:, 0])[:, None]
        return as_detections(b, it.classes)

    assert run_eval(items, slightly)["classes"]["face"]["recall"] == 1.0


def test_coco_rule_small_unmatched_detections_and_small_truth_are_ignored(items):
    def extra(it):
        # The truth, plus an unmatched 20-px face far from anything, plus (image 1) an unmatched 40-px face.
        boxes = [*it.boxes.tolist(), [170, 5, 190, 25]]
        classes = [*it.classes, "face"]
        if it is items[1]:
            boxes.append([150, 110, 190, 150])
            classes.append("face")
        return as_detections(boxes, classes)

    res = run_eval(items, extra, min_height=32)
    c = res["classes"]["face"]
    assert c["recall"] == 1.0
    assert c["false_boxes"] == 1  # only the 40-px one; the three 20-px ones are outside the size range
    assert c["precision"] == pytest.approx(3 / 4)

    # A ground-truth face below the cut is not counted, and neither is a detection on it.
    small = [Item(items[1].image, np.array([[50, 40, 110, 120], [5, 5, 25, 25]], np.float32), ["face", "face"])]
    res = run_eval(small, lambda it: as_detections(it.boxes, it.classes), min_height=32)
    c = res["classes"]["face"]
    assert c["ground_truth"] == 1 and c["detected"] == 1 and c["false_boxes"] == 0 and c["precision"] == 1.0
    res = run_eval(small, lambda it: as_detections(it.boxes[:1], ["face"]), min_height=32)
    assert res["classes"]["face"]["recall"] == 1.0  # missing the small one is no miss


# ------------------------------------------------------------------------------------------------
# The real command on the shared photo sets


def run_cli_eval(dataset: str, cls: str, limit: int, tmp_path: Path) -> dict:
    folder = SHARED_DATA / dataset
    if not (folder / "annotations").is_dir():
        pytest.skip(f"shared test photos not found at {folder}")
    out_json, out_html = tmp_path / "out.json", tmp_path / "out.html"
    r = subprocess.run(
        [sys.executable, "-m", "app", "eval", str(folder), "--limit", str(limit), "--json", str(out_json),
         "--html", str(out_html), "--classes", cls, "--device", "cpu"],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert f"{cls}: recall" in r.stdout
    res = json.loads(out_json.read_text())
    assert res["images"] == limit and set(res["classes"]) == {cls}
    c = res["classes"][cls]
    assert c["ground_truth"] > 0 and 0.0 <= c["recall"] <= 1.0 and 0.0 <= c["precision"] <= 1.0
    assert 0.0 <= c["mean_mask_coverage"] <= 1.0
    page = out_html.read_text()
    assert page.startswith("<!doctype html>") and "<table>" in page and "recall" in page and "</table>" in page
    print(f"\neval {dataset} (first {limit}): {cls} recall {c['recall']:.3f} ({c['detected']}/{c['ground_truth']}), "
          f"precision {c['precision']:.3f}, AP50 {c['ap50']:.3f}, coverage {c['mean_mask_coverage']:.3f}")
    return c


@pytest.mark.slow
def test_cli_eval_on_shared_faces(tmp_path):
    c = run_cli_eval("faces", "face", 40, tmp_path)
    assert c["recall"] >= 0.8  # measured 0.96 (75/78) on the first 40 photos at IoU 0.4


@pytest.mark.slow
def test_cli_eval_on_shared_plates(tmp_path):
    c = run_cli_eval("plates", "plate", 30, tmp_path)
    assert c["recall"] >= 0.7  # measured 0.92 (12/13) on the first 30 photos at IoU 0.5
