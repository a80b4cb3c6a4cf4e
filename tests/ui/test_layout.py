"""The window fits a laptop: maximised on 1366x768 (and 1920x1080, and 3840x2160 at 200 %) the
timeline, the transport and the status bar are on screen; the inspector scrolls and folds; the
docks share the height; View > Reset Layout puts everything back."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from PySide6.QtCore import Qt

from tests.ui.conftest import wait_frame

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _maximised(tmp_path, width: int, height: int, scale: int, clip: str) -> dict:
    """The window maximised on a screen of that size, in a child process (the offscreen platform
    takes its screen from a JSON file; a process has one screen for its whole life)."""
    screen = tmp_path / f"screen_{width}x{height}.json"
    screen.write_text(json.dumps({"screens": [{"name": "test", "x": 0, "y": 0, "width": width, "height": height,
                                               "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={screen}", QT_SCALE_FACTOR=str(scale),
               OBSCURA_DATA=str(tmp_path / "data"), XDG_CONFIG_HOME=str(tmp_path / "config"))
    r = subprocess.run([sys.executable, "-m", "tests.ui.fit_probe", clip], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=180)
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("FIT ")), None)
    assert r.returncode == 0 and line, (r.returncode, r.stdout[-2000:], r.stderr[-3000:])
    return json.loads(line[4:])


def _inside(box: dict, window: dict) -> bool:
    return (box["visible"] and box["w"] > 0 and box["h"] > 0 and box["x"] >= 0 and box["y"] >= 0
            and box["x"] + box["w"] <= window["w"] and box["y"] + box["h"] <= window["h"])


@pytest.mark.slow
@pytest.mark.parametrize("width, height, scale", [(1366, 768, 1), (1920, 1080, 1), (3840, 2160, 2)],
                         ids=["1366x768", "1920x1080", "3840x2160@200%"])
def test_maximised_window_fits_the_screen(tmp_path, short_sample, width, height, scale):
    fit = _maximised(tmp_path, width, height, scale, short_sample)
    screen, win = fit["screen"], fit["window"]
    assert (screen["w"], screen["h"]) == (width // scale, height // scale) and screen["dpr"] == scale
    assert fit["maximized"]
    # its minimum size fits the screen, with room for a title bar and a panel on a real desktop
    assert fit["min"]["w"] <= screen["w"] and fit["min"]["h"] <= screen["h"] - 100, fit["min"]
    assert win["w"] <= screen["w"] and win["h"] <= screen["h"]
    for name in ("timeline", "transport", "statusbar", "viewport", "tracks", "inspector"):
        assert _inside(fit[name], win), (name, fit[name], win)
    # nothing overlaps the status bar, and the timeline is tall enough for a few lanes
    bar_top = fit["statusbar"]["y"]
    for name in ("timeline", "transport", "tracks", "inspector"):
        assert fit[name]["y"] + fit[name]["h"] <= bar_top, name
    assert fit["timeline"]["h"] >= 160 and fit["tracks"]["h"] >= 80
    # Split, Merge, Exempt and Approve/Reject are on the toolbar, not behind its overflow arrow
    assert all(v["inside"] for v in fit["toolbar"].values()), fit["toolbar"]


def test_inspector_scrolls_and_its_sections_fold(qtbot, window, short_sample):
    from PySide6.QtWidgets import QScrollArea

    assert window.open_path(short_sample)
    scroll = window.inspector_dock.widget()
    assert isinstance(scroll, QScrollArea) and scroll.widget() is window.inspector
    assert scroll.minimumSizeHint().height() < 150  # the dock no longer needs 650 px
    window.inspector_dock.show()
    window.inspector_dock.raise_()
    window.resize(1366, 700)
    qtbot.wait(50)
    inner = window.inspector
    assert inner.height() > scroll.viewport().height()  # taller than what is shown: it scrolls
    bar = scroll.verticalScrollBar()
    assert bar.maximum() > 0
    section = inner.sections["styles"]
    tall = inner.sizeHint().height()
    qtbot.mouseClick(section.button, Qt.MouseButton.LeftButton)  # fold "Default style per class"
    assert not section.is_open and not section.content.isVisible()
    qtbot.waitUntil(lambda: inner.sizeHint().height() < tall - 50, timeout=2000)  # less to scroll
    qtbot.mouseClick(section.button, Qt.MouseButton.LeftButton)
    assert section.content.isVisible()


def test_docks_share_the_height_and_the_list_grows_with_its_dock(qtbot, window, short_sample):
    from tests.ui.test_group_lanes_ui import add_tracks

    assert window.open_path(short_sample)
    add_tracks(window, 40)
    window.resize(1366, 740)
    window.layout_ctl.apply_shares()
    qtbot.wait(50)
    view = window.track_list.view
    rows_before = view.viewport().height() // view.sizeHintForRow(0)
    assert rows_before >= 3
    h = window.tracks_dock.height()
    window.resizeDocks([window.tracks_dock], [h + 150], Qt.Orientation.Vertical)
    qtbot.wait(50)
    grown = window.tracks_dock.height() - h
    row_h = view.sizeHintForRow(0)
    assert grown > 2 * row_h
    assert view.viewport().height() // row_h >= rows_before + grown // row_h - 1  # the list grew with it
    assert window.timeline.height() >= window.timeline.minimumHeight()


def test_reset_layout_puts_the_docks_back(qtbot, window, short_sample):
    assert window.open_path(short_sample)
    wait_frame(qtbot, window, 0)
    window.tracks_dock.hide()
    window.inspector_dock.setFloating(True)
    window.resizeDocks([window.timeline_dock], [500], Qt.Orientation.Vertical)
    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    assert window.act_reset_layout in view_menu.actions()
    window.act_reset_layout.trigger()
    qtbot.wait(50)
    assert window.tracks_dock.isVisible() and not window.inspector_dock.isFloating()
    assert window.dockWidgetArea(window.inspector_dock) == Qt.DockWidgetArea.RightDockWidgetArea
    assert window.dockWidgetArea(window.timeline_dock) == Qt.DockWidgetArea.BottomDockWidgetArea
    assert window.timeline_dock.height() < 0.45 * window.height()
    assert window.settings.value("window/state") is not None  # the reset layout is the one kept


def test_a_layout_saved_by_an_older_editor_is_not_restored(qtbot, data_dir):
    """An old saved state (a 650 px inspector that pushed the timeline off a laptop's screen)."""
    from PySide6.QtCore import QSettings

    from app.ui.main_window import MainWindow

    old = MainWindow()
    qtbot.addWidget(old)
    old.inspector_dock.setFloating(True)
    state = old.saveState(1)  # version 1: before this layout
    old.close()
    QSettings().setValue("window/state", state)
    win = MainWindow()
    qtbot.addWidget(win)
    assert not win.inspector_dock.isFloating()
    win.close()
