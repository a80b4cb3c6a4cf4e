"""The leak box on the frame: clicking a leak in the Leak check panel draws its box on the frame
(in the original and the redacted view, on the frames the event covers), and "Add mask here" starts
the new mask from that box. A face left unmasked in a real export, found by the real leak check."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from app.base.progress import run
from app.pipelines.export import export
from app.pipelines.leakcheck import leak_check
from app.ui.overlays import LEAK_COLOR
from app.ui.video_view import ViewMode
from tests.test_leakcheck import STRIDE, write_short_sample
from tests.ui.conftest import wait_frame

LEFT = Qt.MouseButton.LeftButton


@pytest.mark.slow
def test_clicking_a_leak_draws_its_box_and_add_mask_starts_from_it(qtbot, window, tmp_path):
    from app.media.sample import truth_project

    clip = tmp_path / "clip.mp4"
    truth = write_short_sample(clip)
    assert window.open_path(str(clip))
    wait_frame(qtbot, window, 0)
    doc, view, panel = window.doc, window.view, window.leak_panel
    project = truth_project(truth, doc.project.media)
    doc.edit("plates only", [t for t in project.tracks if t.cls != "face"], stamp=False)
    out = tmp_path / "out.mp4"
    run(export(doc.project.copy(), str(clip), str(out)))
    report = run(leak_check(str(out), doc.project.copy(), stride=STRIDE))
    window._show_leak_report(report)
    leak = max((e for e in panel.events() if e.kind == "leak" and e.cls == "face"), key=lambda e: e.max_score)
    assert not view.leak.item.isVisible()  # nothing picked yet
    # click its row with the mouse
    row = panel.events().index(leak)
    tree = panel.tree
    qtbot.mouseClick(tree.viewport(), LEFT, pos=tree.visualItemRect(tree.topLevelItem(row)).center())
    assert doc.frame == leak.peak_frame
    wait_frame(qtbot, window, leak.peak_frame)
    assert view.leak.item.isVisible() and view.leak.shown_box == pytest.approx(leak.box)
    assert f"leak {leak.id}" in view.leak.label.text()
    # it is drawn: red pixels on the box's left edge in the viewport
    x1, y1, x2, y2 = leak.box
    for mode in (ViewMode.ORIGINAL, ViewMode.REDACTED):
        view.set_view_mode(mode)
        qtbot.wait(30)
        img = view.viewport().grab().toImage()
        edge = view.mapFromScene(QPointF(x1, (y1 + y2) / 2))
        near = [img.pixelColor(edge.x() + dx, edge.y() + dy) for dx in (-1, 0, 1) for dy in range(-6, 7)]
        assert any(c.red() > 200 and c.green() < 120 and c.blue() < 120 for c in near), (mode, near[:3])
        assert view.leak.item.isVisible()
    # outside the event's frames: no box; back inside: the box again
    if leak.last_frame + 1 < doc.frame_count:
        doc.set_frame(leak.last_frame + 1)
        wait_frame(qtbot, window, leak.last_frame + 1)
        assert not view.leak.item.isVisible()
        doc.set_frame(leak.peak_frame)
        wait_frame(qtbot, window, leak.peak_frame)
        assert view.leak.item.isVisible()
    # "Add mask here" starts from the box drawn: the new mask holds it at the peak frame
    qtbot.mouseClick(panel.add_button, LEFT)
    track = doc.project.track(doc.selection[0])
    assert track.cls == "manual" and doc.undo.undoText() == f"Mask leak {leak.id}"
    mx1, my1, mx2, my2 = track.shape_at(leak.peak_frame).bbox
    assert mx1 <= x1 and my1 <= y1 and mx2 >= x2 and my2 >= y2
    pad = 0.15 * max(x2 - x1, y2 - y1)
    assert (mx2 - mx1) <= (x2 - x1) + 2 * pad + 1  # grown a little, not a different place
    # the redacted view now hides what is in the box; a new report takes the box away
    view.set_view_mode(ViewMode.ORIGINAL)
    qtbot.wait(30)
    ix1, iy1, ix2, iy2 = (int(round(v)) for v in leak.box)
    original = view.displayed_image()[iy1:iy2, ix1:ix2].astype(int)
    view.set_view_mode(ViewMode.REDACTED)
    qtbot.waitUntil(lambda: np.abs(view.displayed_image()[iy1:iy2, ix1:ix2].astype(int) - original).mean() > 5,
                    timeout=5000)
    assert view.leak.item.pen().color() == LEAK_COLOR
    window._show_leak_report(None)
    assert not view.leak.item.isVisible()
