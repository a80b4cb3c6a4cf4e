"""The track list and the inspector, driven through their real widgets and a real Document."""

from __future__ import annotations

from fractions import Fraction

import pytest
from PySide6.QtCore import QPoint, Qt

from app.core import Keyframe, MediaRef, Project, RedactionStyle, Shape, Track
from app.ui.document import Document
from app.ui.inspector import InspectorPanel, manifest_thresholds
from app.ui.track_list import (
    COL_ENABLED,
    COL_KEYFRAMES,
    COL_MAX,
    COL_START,
    SORT_ROLE,
    TrackListPanel,
)

pytestmark = pytest.mark.gui

BOX = Shape.rect(10, 10, 60, 40)


def make_track(tid, cls, start, n_kfs, scores=None, **kw) -> Track:
    scores = scores or [None] * n_kfs
    kfs = [Keyframe(start + 5 * i, BOX, score=s) for i, s in enumerate(scores)]
    return Track(tid, cls, kfs, **kw)


def make_doc(tracks) -> Document:
    doc = Document()
    doc.project = Project(media=MediaRef("/nonexistent/clip.mp4", 640, 360, Fraction(25), 500), tracks=list(tracks))
    doc.projectReplaced.emit()
    return doc


@pytest.fixture
def doc():
    return make_doc([
        make_track("face-0001", "face", 100, 2, [0.9, 0.7]),
        make_track("face-0002", "face", 20, 10, [0.15] * 10, review="approved"),
        make_track("plate-0001", "plate", 50, 100, [0.5] * 100, stats={"max_score": 0.55, "mean_score": 0.5}),
        make_track("manual-0001", "manual", 0, 3, enabled=False),
    ])


@pytest.fixture
def panel(doc, qtbot):
    p = TrackListPanel(doc)
    qtbot.addWidget(p)
    p.resize(1000, 300)
    p.show()
    qtbot.waitExposed(p)
    return p


def column(panel, col, role=Qt.ItemDataRole.DisplayRole):
    proxy = panel.proxy
    return [proxy.data(proxy.index(r, col), role) for r in range(proxy.rowCount())]


def ids(panel):
    return column(panel, 0)


def test_rows_show_the_tracks(panel):
    assert ids(panel) == ["manual-0001", "face-0002", "plate-0001", "face-0001"]  # by start time
    row = panel.proxy.mapFromSource(panel.model.index(panel.model.row_of("plate-0001"), 0)).row()
    values = [panel.proxy.index(row, c).data() for c in range(panel.proxy.columnCount())]
    assert values[1:8] == ["plate", "00:00:02:00", "00:00:21:20", "19.8 s", "100", "0.55", "0.50"]
    assert values[9] in ("needs review", "approved")
    assert panel.proxy.index(row, COL_ENABLED).data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    assert panel.count_label.text() == "4 tracks"


def test_sorting_by_score_and_keyframes_is_numeric(panel):
    panel.view.sortByColumn(COL_MAX, Qt.SortOrder.DescendingOrder)
    assert ids(panel) == ["face-0001", "plate-0001", "face-0002", "manual-0001"]
    assert all(isinstance(v, float) for v in column(panel, COL_MAX, SORT_ROLE))
    panel.view.sortByColumn(COL_KEYFRAMES, Qt.SortOrder.AscendingOrder)
    assert column(panel, COL_KEYFRAMES) == ["2", "3", "10", "100"]  # not "10" < "100" < "2"


def test_class_state_and_text_filters(panel, doc):
    panel.set_class_filter("face")
    assert sorted(ids(panel)) == ["face-0001", "face-0002"]
    assert panel.count_label.text() == "2 of 4 tracks"
    panel.set_state_filter("approved")
    assert ids(panel) == ["face-0002"]
    panel.set_class_filter(None)
    panel.set_state_filter("disabled")
    assert ids(panel) == ["manual-0001"]
    panel.set_state_filter(None)
    panel.set_search("PLATE")
    assert ids(panel) == ["plate-0001"]
    panel.set_search("")
    assert len(ids(panel)) == 4


def test_filtering_keeps_the_document_selection(panel, doc):
    doc.set_selection(["face-0001", "plate-0001"])
    assert set(panel.selected_ids()) == {"face-0001", "plate-0001"}
    panel.set_class_filter("plate")
    assert doc.selection == ["face-0001", "plate-0001"]
    assert panel.selected_ids() == ["plate-0001"]
    panel.set_class_filter(None)
    assert set(panel.selected_ids()) == {"face-0001", "plate-0001"}


def test_row_click_selects_and_double_click_seeks(panel, doc, qtbot):
    view = panel.view
    idx = panel.proxy.index(ids(panel).index("plate-0001"), COL_START)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(idx).center())
    assert doc.selection == ["plate-0001"]
    idx = panel.proxy.index(ids(panel).index("face-0001"), COL_START)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(idx).center())
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(idx).center())
    assert doc.selection == ["face-0001"]
    assert doc.frame == 100


def test_enabled_checkbox_toggles_the_track(panel, doc):
    row = ids(panel).index("face-0001")
    idx = panel.proxy.index(row, COL_ENABLED)
    assert panel.proxy.setData(idx, Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
    assert doc.project.track("face-0001").enabled is False
    assert doc.dirty
    assert panel.proxy.index(ids(panel).index("face-0001"), COL_ENABLED).data(
        Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked


def test_added_and_removed_tracks_update_rows_and_keep_selection(panel, doc):
    doc.set_selection(["face-0002"])
    doc.project.add_track(make_track("plate-0002", "plate", 400, 4, [0.3] * 4))
    doc.mark_changed()
    assert "plate-0002" in ids(panel) and panel.model.rowCount() == 5
    assert panel.selected_ids() == ["face-0002"]
    doc.project.remove_track("face-0001")
    doc.mark_changed()
    assert "face-0001" not in ids(panel) and panel.model.rowCount() == 4
    assert panel.selected_ids() == ["face-0002"] and doc.selection == ["face-0002"]


def test_inspector_shows_the_selected_track(doc, qtbot):
    doc.project.track("plate-0001").style = RedactionStyle(method="pixelate", margin=35.0)
    insp = InspectorPanel(doc)
    qtbot.addWidget(insp)
    f = insp.track_fields
    assert f["title"].text() == "No track selected"
    doc.set_selection(["plate-0001"])
    ts = insp.track_style
    assert ts["margin"].value() == 35
    assert ts["method"].currentData() == "pixelate"
    assert "own style" in f["source"].text()
    assert f["shape"].text().startswith("rect 50×30")
    doc.set_selection(["face-0001"])
    assert ts["margin"].value() == 20  # the face default
    assert ts["method"].currentData() == "gaussian"
    assert "max 0.90" in f["scores"].text()


def test_inspector_edits_default_style_and_gives_detector_config(doc, qtbot):
    insp = InspectorPanel(doc)
    qtbot.addWidget(insp)
    insp.style_widgets["plate"]["margin"].setValue(42)
    assert doc.project.styles["plate"].margin == 42.0 and doc.dirty
    cfg = insp.detector_config()
    assert cfg.face_threshold is None and cfg.plate_threshold is None and cfg.device == "auto"
    assert insp.face_threshold.value() == pytest.approx(manifest_thresholds()["face"])
    insp.face_threshold.setValue(0.5)
    insp.plates_check.setChecked(False)
    insp.tiles_combo.setCurrentIndex(insp.tiles_combo.findData("off"))
    insp.device_combo.setCurrentIndex(insp.device_combo.findData("cpu"))
    cfg = insp.detector_config()
    assert (cfg.face_threshold, cfg.plates, cfg.tiles, cfg.device) == (0.5, False, "off", "cpu")


def test_list_click_to_timeline_and_back(panel, doc, qtbot):
    from app.ui.timeline import TimelineWidget

    tl = TimelineWidget(doc)
    qtbot.addWidget(tl)
    tl.resize(900, 300)
    idx = panel.proxy.index(ids(panel).index("face-0002"), 0)
    qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=panel.view.visualRect(idx).center())
    assert tl.highlighted_ids() == ["face-0002"]
    qtbot.mouseClick(tl, Qt.MouseButton.LeftButton, pos=QPoint(30, tl.lane_rect("plate-0001").center().y()))
    assert panel.selected_ids() == ["plate-0001"]
