"""Icons for actions and rows, from the Font Awesome 6 Free (solid) font bundled with ``qtawesome``.

qtawesome (MIT, maintained by the Spyder project) draws icons from icon fonts it ships, so the
icons are sharp at any scale (200 % screens included) and nothing is fetched at run time. We use
Font Awesome Free 6's solid font only; its icons are under CC BY 4.0 and the font file under the
SIL OFL 1.1 (see resources/ICONS-LICENCE.md). An icon that cannot be drawn (qtawesome missing in
a stripped environment) is an empty QIcon: the actions keep their text and tooltips.
"""

from __future__ import annotations

import os

from PySide6.QtGui import QIcon

from app.ui import style

# action / row key -> Font Awesome 6 solid icon name (https://fontawesome.com/icons, "solid" style)
NAMES = {
    "open": "fa6s.folder-open",
    "open_project": "fa6s.file-import",
    "save": "fa6s.floppy-disk",
    "export": "fa6s.file-export",
    "undo": "fa6s.rotate-left",
    "redo": "fa6s.rotate-right",
    "analyze": "fa6s.magnifying-glass",
    "cancel": "fa6s.xmark",
    "view_original": "fa6s.eye",
    "view_redacted": "fa6s.eye-slash",
    "view_split": "fa6s.table-columns",
    "fit": "fa6s.expand",
    "select_tool": "fa6s.arrow-pointer",
    "rect_tool": "fa6s.vector-square",
    "ellipse_tool": "fa6s.circle",
    "polygon_tool": "fa6s.draw-polygon",
    "track_back": "fa6s.backward-step",
    "track_forward": "fa6s.forward-step",
    "split": "fa6s.scissors",
    "merge": "fa6s.code-merge",
    "exempt": "fa6s.user-shield",
    "next_review": "fa6s.forward",
    "approve": "fa6s.check",
    "reject": "fa6s.ban",
    "delete": "fa6s.trash",
    "group": "fa6s.object-group",
    "ungroup": "fa6s.object-ungroup",
    "group_person": "fa6s.user",
    "group_vehicle": "fa6s.car",
    "add_keyframe": "fa6s.diamond",
    "mark_in": "fa6s.right-to-bracket",
    "mark_out": "fa6s.right-from-bracket",
    "mute": "fa6s.volume-xmark",
    "bleep": "fa6s.wave-square",
    "shortcuts": "fa6s.keyboard",
    "preferences": "fa6s.gear",
    "reset_layout": "fa6s.table-cells-large",
    "lanes_taller": "fa6s.up-right-and-down-left-from-center",
    "lanes_shorter": "fa6s.down-left-and-up-right-to-center",
    "goto": "fa6s.location-crosshairs",
    "fold": "fa6s.layer-group",
    "clear_cache": "fa6s.broom",
    "operator": "fa6s.user-pen",
    "about": "fa6s.circle-info",
}

_cache: dict[str, QIcon] = {}


def icon(key: str) -> QIcon:
    """The icon for ``key`` (see :data:`NAMES`), drawn in the theme's text colour (muted when
    disabled); an empty icon when it cannot be drawn. Needs a QApplication."""
    got = _cache.get(key)
    if got is not None:
        return got
    name = NAMES.get(key)
    out = QIcon()
    if name is not None:
        try:
            os.environ.setdefault("QT_API", "pyside6")  # qtawesome's QtPy: the binding the app uses
            import qtawesome

            out = qtawesome.icon(name, color=style.TEXT.name(), color_disabled=style.MUTED_TEXT.name())
        except Exception:  # noqa: BLE001 - an icon must never stop the editor from starting
            out = QIcon()
    _cache[key] = out
    return out
