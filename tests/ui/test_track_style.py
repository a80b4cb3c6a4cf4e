"""A track's own style, edited in the inspector: undoable on the one undo stack, applied to every
selected track (a group's too), reset to the class default, drawn in the redacted preview, used by
the export and named in the audit report. On real clips, with the real widgets."""

from __future__ import annotations

import json

import av
import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.core import Keyframe, Shape, Track
from app.core.style import RedactionMethod
from app.ui.video_view import ViewMode
from tests.ui.conftest import wait_frame
from tests.ui.test_viewport import export_render

LEFT = Qt.MouseButton.LeftButton
BOX = (300, 150, 500, 400)  # a box on the 1280x720 sample


def _tracks(win) -> list[str]:
    frames = win.doc.frame_count
    a = Track("face-0001", "face", [Keyframe(0, Shape.rect(*BOX), score=0.9),
                                    Keyframe(frames - 1, Shape.rect(*BOX), score=0.9)], review="approved")
    b = Track("face-0002", "face", [Keyframe(0, Shape.rect(700, 150, 900, 400), score=0.9),
                                    Keyframe(frames - 1, Shape.rect(700, 150, 900, 400), score=0.9)],
              review="approved")
    win.doc.edit("two faces", [a, b], stamp=False)
    win.doc.undo.clear()
    return [a.id, b.id]


@pytest.fixture
def styled(qtbot, window, short_sample):
    assert window.open_path(short_sample)
    wait_frame(qtbot, window, 0)
    ids = _tracks(window)
    window.inspector_dock.show()
    window.inspector_dock.raise_()
    return window, ids


def _pick(combo, value: str) -> None:
    combo.setCurrentIndex(combo.findData(value))


def test_track_style_is_one_undo_step_and_resets_to_the_class_default(qtbot, styled):
    win, ids = styled
    doc, insp = win.doc, win.inspector
    ws = insp.track_style
    doc.set_selection([ids[0]])
    assert ws["method"].isEnabled() and insp.track_fields["source"].text() == "the face default"
    assert ws["margin"].value() == 20 and ws["method"].currentData() == "gaussian"  # the face default shown
    assert not insp.reset_style_button.isEnabled()
    _pick(ws["method"], "solid")
    t = doc.project.track(ids[0])
    assert t.style is not None and t.style.method == RedactionMethod.SOLID and t.style.margin == 20.0
    assert doc.project.track(ids[1]).style is None  # only the selected track
    assert insp.track_fields["source"].text() == "this track's own style" and insp.reset_style_button.isEnabled()
    assert doc.undo.count() == 1 and doc.undo.undoText() == "Track style (method)"
    # three steps of the margin spin box (arrow keys) are one undo step
    ws["margin"].setFocus()
    for _ in range(3):
        qtbot.keyClick(ws["margin"], Qt.Key.Key_Up)
    assert doc.project.track(ids[0]).style.margin == 23.0
    assert doc.undo.count() == 2
    assert doc.project.track(ids[0]).changed_by == doc.operator  # the audit's "changed by"
    doc.undo.undo()
    assert doc.project.track(ids[0]).style.margin == 20.0 and ws["margin"].value() == 20
    doc.undo.undo()
    assert doc.project.track(ids[0]).style is None and ws["method"].currentData() == "gaussian"
    doc.undo.redo()
    doc.undo.redo()
    assert doc.project.track(ids[0]).style.margin == 23.0
    # Reset to class default: one click, one undo step
    qtbot.mouseClick(insp.reset_style_button, LEFT)
    assert doc.project.track(ids[0]).style is None and ws["margin"].value() == 20
    assert doc.undo.undoText().startswith("Reset 1 track style")
    doc.undo.undo()
    assert doc.project.track(ids[0]).style.method == RedactionMethod.SOLID


def test_a_change_applies_to_every_selected_track_in_one_step(qtbot, styled):
    win, ids = styled
    doc, insp = win.doc, win.inspector
    doc.set_selection(ids)
    _pick(insp.track_style["method"], "pixelate")
    assert [doc.project.track(i).style.method for i in ids] == [RedactionMethod.PIXELATE] * 2
    assert doc.undo.count() == 1
    doc.undo.undo()
    assert all(doc.project.track(i).style is None for i in ids)
    # the class default still changes the tracks without their own style, not the others
    doc.set_selection([ids[1]])
    insp.track_style["strength"].setValue(95)
    insp.style_widgets["face"]["margin"].setValue(40)
    assert doc.project.style_for(doc.project.track(ids[0])).margin == 40.0
    assert doc.project.style_for(doc.project.track(ids[1])).margin == 20.0  # kept its own


def test_preview_draws_the_track_style_as_the_export_does(qtbot, styled, short_sample):
    win, ids = styled
    doc, insp = win.doc, win.inspector
    doc.set_selection([ids[0]])
    win.view.set_view_mode(ViewMode.REDACTED)
    doc.set_frame(5)
    wait_frame(qtbot, win, 5)
    x1, y1, x2, y2 = BOX
    blurred = win.view.displayed_image()[y1 + 20:y2 - 20, x1 + 20:x2 - 20].astype(int)
    assert blurred.std() > 3  # a blur: not a flat fill
    _pick(insp.track_style["method"], "solid")
    qtbot.waitUntil(lambda: win.view.displayed_image()[y1 + 20:y2 - 20, x1 + 20:x2 - 20].max() < 40, timeout=5000)
    shown = win.view.displayed_image()
    masks = [(s, st) for _t, s, st in doc.project.masks_at(5)]
    assert np.array_equal(shown, export_render(short_sample, 5, masks))
    other = shown[170:380, 720:880].astype(int)
    assert other.std() > 3  # the other face keeps the class's blur


@pytest.mark.slow
def test_export_uses_the_track_style_and_the_report_names_it(qtbot, styled, tmp_path):
    from tests.ui.test_export_jobs import _export

    win, ids = styled
    doc, insp = win.doc, win.inspector
    doc.set_selection([ids[0]])
    _pick(insp.track_style["method"], "solid")
    after = _export(qtbot, win, tmp_path / "styled.mp4", leak=False)
    x1, y1, x2, y2 = BOX
    with av.open(str(tmp_path / "styled.mp4")) as c:
        img = next(c.decode(video=0)).to_ndarray(format="bgr24")
    assert img[y1 + 10:y2 - 10, x1 + 10:x2 - 10].max() < 40  # a solid black box
    assert img[170:380, 720:880].astype(int).std() > 3  # the other face: blurred, not filled
    rep = json.loads(open(after.report_paths[0], encoding="utf-8").read())
    tracks = {t["id"]: t for t in rep["tracks"]}
    assert tracks[ids[0]]["style"]["method"] == "solid" and tracks[ids[0]]["style_overridden"] is True
    assert tracks[ids[1]]["style"]["method"] == "gaussian" and tracks[ids[1]]["style_overridden"] is False
    html = open(after.report_paths[1], encoding="utf-8").read()
    assert "solid" in html and "(own)" in html


def test_a_group_is_styled_as_a_whole_from_its_row(qtbot, styled):
    win, ids = styled
    doc, insp, panel = win.doc, win.inspector, win.track_list
    doc.set_selection(ids)
    win.group_actions.group_selected("person")
    g = panel.group_proxy_index("Person 1")
    panel.view.setCurrentIndex(g)  # the group's one row
    qtbot.mouseClick(panel.view.viewport(), LEFT, pos=panel.view.visualRect(g).center())
    assert sorted(doc.selection) == sorted(ids)
    before = doc.undo.count()
    _pick(insp.track_style["method"], "pixelate")
    assert all(doc.project.track(i).style.method == RedactionMethod.PIXELATE for i in ids)
    assert doc.undo.count() == before + 1
    qtbot.mouseClick(insp.reset_style_button, LEFT)
    assert all(doc.project.track(i).style is None for i in ids) and doc.undo.count() == before + 2
