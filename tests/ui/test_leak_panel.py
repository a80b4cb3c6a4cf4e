"""The editor's Leak check list: a face left unmasked in a real export is listed, clicking it seeks
there, and "Add mask here" makes a manual track that covers it in the next export."""

from __future__ import annotations

import pytest

from app.base.progress import run
from app.core.project import MediaRef
from app.media.probe import probe
from app.media.sample import truth_project
from app.pipelines.export import export
from app.pipelines.leakcheck import leak_check
from tests.test_leakcheck import STRIDE, write_short_sample


@pytest.mark.slow
def test_leak_list_seeks_and_adds_a_mask_that_closes_the_leak(qtbot, tmp_path):
    from app.ui.document import Document
    from app.ui.leak_panel import LeakPanel

    clip = tmp_path / "clip.mp4"
    truth = write_short_sample(clip)
    info = probe(str(clip))
    doc = Document()
    doc.open_media(str(clip))
    project = truth_project(truth, MediaRef(str(clip), info.width, info.height, info.fps, info.frame_count))
    face = next(t for t in project.tracks if t.cls == "face")
    plates = [t for t in project.tracks if t.cls != "face"]
    doc.edit("truth without the face", plates, stamp=False)
    out = tmp_path / "out.mp4"
    run(export(doc.project.copy(), str(clip), str(out)))
    report = run(leak_check(str(out), doc.project.copy(), stride=STRIDE))
    panel = LeakPanel(doc)
    qtbot.addWidget(panel)
    panel.set_report(report)
    leaks = [e for e in panel.events() if e.kind == "leak" and e.cls == "face"]
    assert leaks and "possible leak" in panel.summary.text()
    first = panel.events().index(leaks[0])
    panel.tree.setCurrentItem(panel.tree.topLevelItem(first))
    assert doc.frame == leaks[0].peak_frame and panel.add_button.isEnabled()
    track = panel.add_mask()
    assert track.cls == "manual" and doc.undo.count() == 2  # one undo step for the new mask
    x1, y1, x2, y2 = face.shape_at(leaks[0].peak_frame).bbox
    mx1, my1, mx2, my2 = track.shape_at(leaks[0].peak_frame).bbox
    assert mx1 <= x1 + 4 and my1 <= y1 + 4 and mx2 >= x2 - 4 and my2 >= y2 - 4  # it covers the face
    out2 = tmp_path / "out2.mp4"
    run(export(doc.project.copy(), str(clip), str(out2)))
    again = run(leak_check(str(out2), doc.project.copy(), stride=STRIDE))
    assert not [e for e in again.leaks if e.cls == "face" and e.max_score >= 0.5]
    panel.set_report(again)
    assert "nothing visible" in panel.summary.text() or all(e.max_score < 0.5 for e in again.leaks)
