"""The main window's layout: docks that fit a 1366x768 laptop, the saved layout and Reset Layout.

The window is: the viewport with the transport under it in the middle, the timeline across the
bottom, the track list above the inspector on the right (the inspector tabbed with History and
Leak check). Everything has a small minimum (the inspector scrolls, the track list and the
timeline show at least a few rows), so the window's minimum height is well under a laptop's
768 px; when the window is shown, the docks get shares of its size (:data:`SHARES`) rather than
their size hints, so the track list and the timeline grow with the window.

The layout (dock places and sizes, toolbars) is saved with ``QMainWindow.saveState`` under
``window/state`` and restored at the next start; :data:`LAYOUT_VERSION` is part of the saved
state, so a layout saved by an older editor (with a 650 px inspector) is ignored rather than
restored. View ▸ Reset Layout puts the default back.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer

LAYOUT_VERSION = 2  # saveState's version: raise it when the default layout changes a lot
# Shares of the window: the right-hand column's width, the timeline's height, and the track
# list's part of the right-hand column (the inspector gets the rest).
SHARES = {"right_width": 0.30, "timeline_height": 0.30, "tracks_of_column": 0.50}
RIGHT_MIN_W, RIGHT_MAX_W = 300, 560


class WindowLayout(QObject):
    """Applies the default layout, saves and restores the operator's (see the module docstring)."""

    def __init__(self, win, settings):
        super().__init__(win)
        self.win, self.settings = win, settings
        self._default_state = None
        self._restored = False
        self._sized = False

    # -- default -----------------------------------------------------------------------------------
    def capture_default(self) -> None:
        """Remember the layout as built (before anything saved is restored): Reset Layout's target."""
        self._default_state = self.win.saveState(LAYOUT_VERSION)

    def apply_shares(self) -> None:
        """Size the docks by :data:`SHARES` of the window's current size."""
        w = self.win
        width, height = max(1, w.width()), max(1, w.height())
        right = int(min(RIGHT_MAX_W, max(RIGHT_MIN_W, width * SHARES["right_width"])))
        docks_right = [d for d in (w.tracks_dock, w.inspector_dock) if not d.isFloating() and d.isVisible()]
        if docks_right:
            w.resizeDocks(docks_right, [right] * len(docks_right), Qt.Orientation.Horizontal)
        if w.timeline_dock.isVisible() and not w.timeline_dock.isFloating():
            w.resizeDocks([w.timeline_dock], [int(height * SHARES["timeline_height"])], Qt.Orientation.Vertical)
        if len(docks_right) == 2:
            column = max(2, height - int(height * SHARES["timeline_height"]) - 120)
            tracks = int(column * SHARES["tracks_of_column"])
            w.resizeDocks(docks_right, [tracks, column - tracks], Qt.Orientation.Vertical)

    def reset(self) -> None:
        """View ▸ Reset Layout: every dock back in its place and shown, sizes by the shares."""
        w = self.win
        if self._default_state is not None:
            w.restoreState(self._default_state, LAYOUT_VERSION)
        for dock in w.findChildren(type(w.timeline_dock)):
            dock.setFloating(False)
        for dock in (w.timeline_dock, w.tracks_dock, w.inspector_dock):
            dock.show()
        w.inspector_dock.raise_()
        for tb in w.toolbars():
            tb.show()
        self.apply_shares()
        self.save()

    # -- saved -------------------------------------------------------------------------------------
    def restore(self) -> None:
        geo = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if geo is not None:
            self.win.restoreGeometry(geo)
        if state is not None:
            self._restored = bool(self.win.restoreState(state, LAYOUT_VERSION))

    def save(self) -> None:
        self.settings.setValue("window/geometry", self.win.saveGeometry())
        self.settings.setValue("window/state", self.win.saveState(LAYOUT_VERSION))

    def on_first_show(self) -> None:
        """Once the window has its real size: the default shares, unless a saved layout was restored."""
        if self._sized:
            return
        self._sized = True
        if not self._restored:
            QTimer.singleShot(0, self.apply_shares)
