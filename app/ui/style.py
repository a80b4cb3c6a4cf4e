"""Colours and the dark theme shared by every widget."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

CLASS_COLORS = {
    "face": QColor("#ff6b6b"),
    "plate": QColor("#4dabf7"),
    "manual": QColor("#fcc419"),
}
DEFAULT_COLOR = QColor("#b197fc")
SELECTED_COLOR = QColor("#ffffff")
PLAYHEAD_COLOR = QColor("#ffd43b")
BACKGROUND = QColor("#1e1f22")
PANEL = QColor("#2b2d31")
GRID = QColor("#3a3d43")
TEXT = QColor("#e3e5e8")
MUTED_TEXT = QColor("#9aa0a6")


def class_color(cls: str) -> QColor:
    return QColor(CLASS_COLORS.get(cls, DEFAULT_COLOR))


def apply_dark_theme(app: QApplication) -> None:
    """Fusion with a dark palette; follows the system's scheme when it is light-or-dark aware."""
    app.setStyle("Fusion")
    hints = app.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    if scheme is not None and scheme() == Qt.ColorScheme.Light and not _force_dark():
        return  # the system asked for light: keep Fusion's light palette
    p = QPalette()
    p.setColor(QPalette.ColorRole.Window, PANEL)
    p.setColor(QPalette.ColorRole.WindowText, TEXT)
    p.setColor(QPalette.ColorRole.Base, BACKGROUND)
    p.setColor(QPalette.ColorRole.AlternateBase, QColor("#26282c"))
    p.setColor(QPalette.ColorRole.ToolTipBase, PANEL)
    p.setColor(QPalette.ColorRole.ToolTipText, TEXT)
    p.setColor(QPalette.ColorRole.Text, TEXT)
    p.setColor(QPalette.ColorRole.Button, QColor("#34373c"))
    p.setColor(QPalette.ColorRole.ButtonText, TEXT)
    p.setColor(QPalette.ColorRole.BrightText, QColor("#ff6b6b"))
    p.setColor(QPalette.ColorRole.Highlight, QColor("#4c6ef5"))
    p.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    p.setColor(QPalette.ColorRole.PlaceholderText, MUTED_TEXT)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, MUTED_TEXT)
    app.setPalette(p)


def _force_dark() -> bool:
    import os

    return os.environ.get("OBSCURA_THEME", "dark").lower() != "system"
