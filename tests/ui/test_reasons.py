"""Reasons and case data in the editor: a reason per track (the inspector, the right-click menu, a
whole group) and per audio mute, picked from a list edited in the settings; the project's case ID
and the operator's name (asked once, kept); saved in the project file (version 3) and rolled up into
the audit report's redaction and exemption log. Real clips, real widgets, real export."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QPoint, QSettings, Qt

from app.core.edits import clone
from app.core.reasons import DEFAULT_REASONS
from tests.ui.conftest import wait_frame
from tests.ui.test_context_menus import pick, right_click, texts
from tests.ui.test_group_lanes_ui import add_tracks

LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def opened(qtbot, window, short_sample):
    assert window.open_path(short_sample)
    wait_frame(qtbot, window, 0)
    ids = add_tracks(window, 4)
    window.doc.undo.clear()
    window.inspector_dock.show()
    window.inspector_dock.raise_()
    return window, ids


def _submenu(menu, title: str):
    return next(a.menu() for a in menu.actions() if a.menu() is not None and a.text().replace("&", "") == title)


def test_inspector_reason_is_picked_from_the_list_or_typed_and_undoable(qtbot, opened):
    win, ids = opened
    doc, combo = win.doc, win.inspector.reason_combo
    doc.set_selection([ids[0]])
    offered = [combo.itemText(i) for i in range(combo.count())]
    assert offered == ["", *DEFAULT_REASONS]  # no reason yet, then the settings' list
    combo.setFocus()
    combo.showPopup()
    view = combo.view()
    row = offered.index("minor")
    qtbot.mouseClick(view.viewport(), LEFT, pos=view.visualRect(view.model().index(row, 0)).center())
    assert doc.project.track(ids[0]).reason == "minor"
    assert doc.undo.count() == 1 and "minor" in doc.undo.undoText()
    # typed text that is not in the list
    combo.lineEdit().selectAll()
    qtbot.keyClicks(combo.lineEdit(), "passer-by  in   a car")
    qtbot.keyClick(combo.lineEdit(), Qt.Key.Key_Return)
    assert doc.project.track(ids[0]).reason == "passer-by in a car"
    assert doc.project.track(ids[1]).reason == ""  # only the selected track
    doc.undo.undo()
    assert doc.project.track(ids[0]).reason == "minor" and combo.currentText() == "minor"
    doc.undo.undo()
    assert doc.project.track(ids[0]).reason == "" and combo.currentText() == ""


def test_right_click_reason_for_a_group_and_for_a_mute(qtbot, opened):
    win, ids = opened
    doc, tl = win.doc, win.timeline
    doc.set_selection(ids[:3])
    win.group_actions.group_selected("person")
    header = tl.group_lane_rect("Person 1")
    right_click(qtbot, tl, QPoint(60, header.center().y()))
    menu = win.context_menus.last_menu
    assert win.context_menus.last_context.kind == "group"
    rm = _submenu(menu, "Reason")
    assert [t.strip() for t in texts(rm)] == [*DEFAULT_REASONS, "Other…", "No Reason"]
    pick(qtbot, menu, "Reason")
    qtbot.waitUntil(rm.isVisible, timeout=2000)
    before = doc.undo.count()
    pick(qtbot, rm, "bystander")
    assert [doc.project.track(i).reason for i in ids] == ["bystander"] * 3 + [""]
    assert doc.undo.count() == before + 1  # the whole group in one step
    # an audio mute's reason
    mute = win.edit_actions.add_audio_mute("tone")
    tl.set_selected_mute(None)
    right_click(qtbot, tl, QPoint(round(tl.x_of_frame((mute.start + mute.end) / 2)), tl.mute_lane_rect().center().y()))
    menu = win.context_menus.last_menu
    rm = _submenu(menu, "Reason")
    pick(qtbot, menu, "Reason")
    qtbot.waitUntil(rm.isVisible, timeout=2000)
    pick(qtbot, rm, "personal data spoken")
    assert doc.project.audio_mutes[0].reason == "personal data spoken"
    doc.undo.undo()
    assert doc.project.audio_mutes[0].reason == ""


def test_reasons_list_is_edited_in_a_dialog_and_kept_in_the_settings(qtbot, opened, data_dir):
    from app.ui.main_window import MainWindow

    win, ids = opened
    dlg = win.reasons.edit_reasons()
    assert dlg.isVisible() and dlg.reasons() == list(DEFAULT_REASONS)
    dlg.list.setCurrentRow(0)
    dlg.remove_selected()
    dlg.add_reason()
    item = dlg.list.item(dlg.list.count() - 1)
    from PySide6.QtWidgets import QLineEdit

    editor = dlg.list.viewport().findChild(QLineEdit)  # the row's editor, open for typing
    assert editor is not None and editor.text() == "new reason"
    editor.selectAll()
    qtbot.keyClicks(editor, "informant")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: item.text() == "informant", timeout=2000)  # the delegate commits queued
    dlg.accept()
    assert win.reasons.reasons == [*DEFAULT_REASONS[1:], "informant"]
    assert QSettings().value("reasons/list") == win.reasons.reasons
    win.doc.set_selection([ids[0]])
    combo = win.inspector.reason_combo
    assert combo.itemText(combo.count() - 1) == "informant" and combo.findText("bystander") < 0
    other = MainWindow()  # a new window reads the list back
    qtbot.addWidget(other)
    assert other.reasons.reasons == win.reasons.reasons


def test_case_details_are_saved_with_the_project_and_old_files_still_open(qtbot, opened, tmp_path):
    win, ids = opened
    doc = win.doc
    dlg = win.reasons.edit_case()
    dlg.case_edit.setText("  2026-0412-B ")
    dlg.operator_edit.setText("Ann Example")
    dlg.accept()
    assert doc.project.case_id == "2026-0412-B" and doc.dirty
    assert doc.operator == "Ann Example" and QSettings().value("operator/name") == "Ann Example"
    win.reasons.set_track_reason([ids[1]], "minor")
    path = str(tmp_path / "case.obscura.json")
    doc.save(path)
    raw = json.loads(open(path, encoding="utf-8").read())
    assert raw["version"] == 3 and raw["case_id"] == "2026-0412-B"
    assert [t.get("reason", "") for t in raw["tracks"]] == ["", "minor", "", ""]
    assert win.open_path(path)
    assert doc.project.case_id == "2026-0412-B" and doc.project.track(ids[1]).reason == "minor"
    # a version-2 file (no reasons, no case ID) still opens
    for t in raw["tracks"]:
        t.pop("reason", None)
    raw.pop("case_id")
    raw["version"] = 2
    old = tmp_path / "old.obscura.json"
    old.write_text(json.dumps(raw), encoding="utf-8")
    assert win.open_path(str(old))
    assert doc.project.case_id == "" and all(t.reason == "" for t in doc.project.tracks)


@pytest.mark.slow
def test_export_asks_case_and_operator_and_the_report_logs_every_decision(qtbot, window, tmp_path):
    from tests.ui.test_export_dialog import open_clip, open_dialog, write_av_clip

    clip = write_av_clip(str(tmp_path / "clip.mp4"))
    open_clip(qtbot, window, clip)
    doc = window.doc
    ids = add_tracks(window, 3)
    doc.edit_tracks("approve", ids, lambda t: clone(t, review="approved"))  # no question before export
    window.reasons.set_track_reason([ids[0]], "minor")
    who = doc.operator  # the name the edits are made under (set again in the export dialog)
    doc.edit_tracks("exempt", [ids[1]], lambda t: clone(t, enabled=False, reason="officer"))
    doc.set_in_point(10)
    doc.set_out_point(19)
    mute = window.edit_actions.add_audio_mute("silence")
    window.reasons.set_mute_reason(mute.id, "personal data spoken")
    dlg = open_dialog(window)
    assert dlg.operator_edit.text() == doc.operator and dlg.case_edit.text() == ""
    dlg.path_edit.setText(str(tmp_path / "out.mp4"))
    dlg.preset_combo.setCurrentText("ultrafast")
    dlg.set_leak_mode(None)
    dlg.case_edit.setText("EV-77")
    dlg.operator_edit.setText("Bo Operator")
    qtbot.mouseClick(dlg.export_button, LEFT)
    qtbot.waitUntil(lambda: not window.exporter.running(), timeout=180000)
    after = window.exporter.last_after
    assert doc.project.case_id == "EV-77" and QSettings().value("operator/name") == "Bo Operator"
    rep = json.loads(open(after.report_paths[0], encoding="utf-8").read())
    from app.pipelines.report import validate_report

    validate_report(rep)
    assert rep["case_id"] == "EV-77" and rep["operator"] == "Bo Operator" and rep["format_version"] == 2
    log = {e["id"]: e for e in rep["log"]}
    assert set(log) == {*ids, mute.id}
    assert (log[ids[0]]["decision"], log[ids[0]]["reason"], log[ids[0]]["class"]) == ("redacted", "minor", "face")
    assert (log[ids[1]]["decision"], log[ids[1]]["reason"]) == ("exempt", "officer")
    assert log[ids[1]]["operator"] == who  # who exempted it
    m = log[mute.id]
    assert (m["kind"], m["decision"], m["reason"]) == ("audio", "muted", "personal data spoken")
    assert (m["spans"][0]["start"], m["spans"][0]["end"]) == (10, 19) and m["spans"][0]["start_tc"]
    starts = [e["spans"][0]["start"] for e in rep["log"]]
    assert starts == sorted(starts)  # in time order
    html = open(after.report_paths[1], encoding="utf-8").read()
    assert "Redaction and exemption log" in html and "EV-77" in html and "personal data spoken" in html
    assert "officer" in html
