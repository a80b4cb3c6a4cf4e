"""Child process of tests/ui/test_layout.py: the main window maximised on a screen of a given size.

    QT_QPA_PLATFORM=offscreen:configfile=SCREEN.json [QT_SCALE_FACTOR=2] python -m tests.ui.fit_probe [VIDEO]

The offscreen platform takes its screen (size, DPI, device pixel ratio) from the JSON file, so the
window is maximised on a real 1366x768 (or 1920x1080, or 3840x2160 at 200 %) screen. It prints one
JSON line: the screen's available geometry, the window's minimum size and geometry, and where the
timeline, the transport, the status bar, the track list and the inspector ended up (in window
coordinates, with their visibility). The file name does not match ``test_*.py``: pytest does not
collect it.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile


def _rect(win, w) -> dict:
    tl = w.mapTo(win, w.rect().topLeft())
    return {"x": tl.x(), "y": tl.y(), "w": w.width(), "h": w.height(), "visible": w.isVisible()}


def _toolbar(win) -> dict:
    """For the actions that must not hide behind the toolbar's overflow arrow: is its button on
    screen, inside its toolbar and inside the window."""
    ea = win.edit_actions
    out = {}
    for name, a in (("split", ea.split), ("merge", ea.merge), ("exempt", ea.exempt), ("approve", ea.approve),
                    ("reject", ea.reject), ("analyze", win.act_analyze)):
        tb = next((t for t in win.toolbars() if a in t.actions()), None)
        w = tb.widgetForAction(a) if tb is not None else None
        r = _rect(win, w) if w is not None else {"visible": False}
        r["inside"] = bool(w is not None and w.isVisible() and r["x"] + r["w"] <= win.width()
                           and tb.rect().contains(w.geometry()))
        out[name] = r
    return out


def main() -> None:
    from PySide6.QtCore import QSettings, QStandardPaths
    from PySide6.QtWidgets import QApplication

    QStandardPaths.setTestModeEnabled(True)
    tmp = tempfile.mkdtemp(prefix="obscura-fit-")
    os.environ.setdefault("OBSCURA_DATA", os.path.join(tmp, "data"))
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, os.path.join(tmp, "settings"))
    app = QApplication([])
    app.setOrganizationName("Obscura-fit-probe")
    from app.ui.main_window import MainWindow
    from app.ui.style import apply_dark_theme

    apply_dark_theme(app)
    win = MainWindow()
    if len(sys.argv) > 1:
        assert win.open_path(sys.argv[1])
    win.showMaximized()
    for _ in range(20):
        app.processEvents()
    screen = win.screen()
    av = screen.availableGeometry()
    ms = win.minimumSizeHint().expandedTo(win.minimumSize())
    out = {
        "screen": {"w": av.width(), "h": av.height(), "dpr": screen.devicePixelRatio()},
        "maximized": win.isMaximized(),
        "min": {"w": ms.width(), "h": ms.height()},
        "window": {"w": win.width(), "h": win.height()},
        "timeline": _rect(win, win.timeline),
        "transport": _rect(win, win.transport),
        "statusbar": _rect(win, win.statusBar()),
        "tracks": _rect(win, win.track_list.view),
        "inspector": _rect(win, win.inspector_dock),
        "viewport": _rect(win, win.view),
        "toolbar": _toolbar(win),
    }
    print("FIT " + json.dumps(out))
    win.doc._dirty = False
    win.doc.undo.setClean()
    win.close()


if __name__ == "__main__":
    main()
