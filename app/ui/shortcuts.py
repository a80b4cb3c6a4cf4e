"""Keyboard shortcuts: the list (Help ▸ Keyboard Shortcuts), remapping (Edit ▸ Preferences…), saving.

Every action with a shortcut, and the transport's keys (Space, J/K/L, arrows, Home, End), is an
entry with a stable name (the action's ``objectName``). A remap is saved in the settings as
``shortcuts/<name>`` (the keys in Qt's portable text, "Ctrl+B; Ctrl+Alt+B"; "" for none) and
applied when the window starts (:meth:`ShortcutManager.apply_saved`). A key given to one action is
taken from any other that had it (two actions on one key would fire neither).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QKeySequenceEdit,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from app.ui.menus import plain, refresh_tooltips

SEPARATOR = "; "
TRANSPORT = {  # the transport's QShortcuts, by their key at start -> (name, label)
    "Space": ("transport_play", "Play / pause"),
    "J": ("transport_shuttle_back", "Shuttle backward"),
    "K": ("transport_stop", "Stop"),
    "L": ("transport_shuttle_forward", "Shuttle forward"),
    "Left": ("transport_step_back", "Step one frame back"),
    "Right": ("transport_step_forward", "Step one frame forward"),
    "Shift+Left": ("transport_second_back", "Step one second back"),
    "Shift+Right": ("transport_second_forward", "Step one second forward"),
    "Home": ("transport_first", "First frame"),
    "End": ("transport_last", "Last frame"),
}


@dataclass
class Entry:
    name: str
    label: str
    target: object  # a QAction or a QShortcut
    default: tuple[QKeySequence, ...]

    def keys(self) -> list[QKeySequence]:
        if isinstance(self.target, QShortcut):
            k = self.target.key()
            return [] if k.isEmpty() else [k]
        return [k for k in self.target.shortcuts() if not k.isEmpty()]

    def set_keys(self, keys: list[QKeySequence]) -> None:
        keys = [k for k in keys if not k.isEmpty()]
        if isinstance(self.target, QShortcut):
            self.target.setKey(keys[0] if keys else QKeySequence())
        else:
            self.target.setShortcuts(keys)


def to_text(keys) -> str:
    return SEPARATOR.join(k.toString(QKeySequence.SequenceFormat.PortableText) for k in keys if not k.isEmpty())


def from_text(text: str) -> list[QKeySequence]:
    return [QKeySequence.fromString(p.strip(), QKeySequence.SequenceFormat.PortableText)
            for p in str(text or "").split(";") if p.strip()]


class ShortcutManager:
    """The window's shortcuts (see the module docstring)."""

    def __init__(self, win, settings):
        self.win, self.settings = win, settings
        self.entries: dict[str, Entry] = {}

    def collect(self) -> None:
        """Register every named action with a shortcut and the transport's keys; call once the
        window has built its actions, before :meth:`apply_saved`."""
        for a in self.win.findChildren(QAction):
            name = a.objectName()
            if not name or name in self.entries or a.menu() is not None:
                continue
            keys = tuple(k for k in a.shortcuts() if not k.isEmpty())
            if keys or name.startswith("act_"):  # an action without a key can be given one
                self.entries[name] = Entry(name, plain(a.text()), a, keys)
        for sc in getattr(self.win.playback, "shortcuts", []):
            key = sc.key().toString(QKeySequence.SequenceFormat.PortableText)
            name, label = TRANSPORT.get(key, (f"transport_{key.lower()}", key))
            sc.setObjectName(name)
            self.entries.setdefault(name, Entry(name, label, sc, (sc.key(),)))

    def apply_saved(self) -> None:
        self.settings.beginGroup("shortcuts")
        try:
            saved = {k: self.settings.value(k, "") for k in self.settings.childKeys()}
        finally:
            self.settings.endGroup()
        for name, text in saved.items():
            e = self.entries.get(name)
            if e is not None:
                e.set_keys(from_text(text))
        self.refresh()

    def refresh(self) -> None:
        refresh_tooltips([e.target for e in self.entries.values() if isinstance(e.target, QAction)])
        if hasattr(self.win, "transport") and hasattr(self.win.transport, "refresh_tooltips"):
            self.win.transport.refresh_tooltips({e.name: e.keys() for e in self.entries.values()})

    def assign(self, name: str, keys: list[QKeySequence]) -> list[str]:
        """Give ``keys`` to the entry ``name`` (taking them from others); saved. Returns the
        labels of the entries that lost a key."""
        keys = [k for k in keys if not k.isEmpty()]
        taken = []
        wanted = {k.toString(QKeySequence.SequenceFormat.PortableText) for k in keys}
        for other in self.entries.values():
            if other.name == name:
                continue
            left = [k for k in other.keys() if k.toString(QKeySequence.SequenceFormat.PortableText) not in wanted]
            if len(left) != len(other.keys()):
                other.set_keys(left)
                self._save(other)
                taken.append(other.label)
        e = self.entries[name]
        e.set_keys(keys)
        self._save(e)
        self.refresh()
        return taken

    def reset(self, name: str | None = None) -> None:
        """Back to the default keys (one entry, or all)."""
        for e in ([self.entries[name]] if name else list(self.entries.values())):
            e.set_keys(list(e.default))
            self.settings.remove(f"shortcuts/{e.name}")
        self.refresh()

    def _save(self, e: Entry) -> None:
        if [k.toString() for k in e.keys()] == [k.toString() for k in e.default]:
            self.settings.remove(f"shortcuts/{e.name}")
        else:
            self.settings.setValue(f"shortcuts/{e.name}", to_text(e.keys()))

    def rows(self) -> list[tuple[str, str]]:
        """(action, keys) for Help ▸ Keyboard Shortcuts, sorted, with the mouse gestures."""
        out = sorted((e.label, ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in e.keys()))
                     for e in self.entries.values() if e.keys())
        return out + [("Zoom timeline", "Ctrl+wheel"), ("Lane height", "Ctrl+Alt+wheel"),
                      ("Move through lanes / rows", "Up, Down, Page Up, Page Down (timeline, track list)")]


def shortcuts_dialog(win, manager: ShortcutManager) -> QDialog:
    """Help ▸ Keyboard Shortcuts: every key, as assigned now."""
    dlg = QDialog(win)
    dlg.setWindowTitle("Keyboard shortcuts")
    rows = manager.rows()
    table = QTableWidget(len(rows), 2)
    table.setHorizontalHeaderLabels(["Action", "Keys"])
    for i, (text, keys) in enumerate(rows):
        table.setItem(i, 0, QTableWidgetItem(text))
        table.setItem(i, 1, QTableWidgetItem(keys))
    table.resizeColumnsToContents()
    table.horizontalHeader().setStretchLastSection(True)
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dlg.reject)
    lay = QVBoxLayout(dlg)
    lay.addWidget(QLabel("Change them in Edit ▸ Preferences…"))
    lay.addWidget(table)
    lay.addWidget(buttons)
    dlg.resize(560, 640)
    return dlg


class PreferencesDialog(QDialog):
    """Edit ▸ Preferences…: the shortcuts, each editable (pick a row, press the new keys)."""

    def __init__(self, win, manager: ShortcutManager):
        super().__init__(win)
        self.manager = manager
        self.setWindowTitle("Preferences: keyboard shortcuts")
        self.filter_edit = QLineEdit(placeholderText="Find an action or a key", clearButtonEnabled=True)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Action", "Shortcut"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.key_edit = QKeySequenceEdit()
        self.key_edit.setMaximumSequenceLength(1)
        self.key_edit.setClearButtonEnabled(True)
        self.assign_button = QPushButton("Assign")
        self.default_button = QPushButton("Default")
        self.reset_all_button = QPushButton("Reset all")
        self.note = QLabel("")
        self.note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.accept)
        row = QHBoxLayout()
        row.addWidget(QLabel("New keys:"))
        row.addWidget(self.key_edit, 1)
        row.addWidget(self.assign_button)
        row.addWidget(self.default_button)
        row.addWidget(self.reset_all_button)
        lay = QVBoxLayout(self)
        lay.addWidget(self.filter_edit)
        lay.addWidget(self.table, 1)
        lay.addLayout(row)
        lay.addWidget(self.note)
        lay.addWidget(buttons)
        self.resize(620, 600)
        self._names: list[str] = []
        self.filter_edit.textChanged.connect(self._fill)
        self.table.currentCellChanged.connect(lambda *_a: self._on_row())
        self.assign_button.clicked.connect(self.assign_current)
        self.key_edit.editingFinished.connect(self.assign_current)
        self.default_button.clicked.connect(self._default_current)
        self.reset_all_button.clicked.connect(self._reset_all)
        self._fill()

    def _fill(self, *args) -> None:
        needle = self.filter_edit.text().strip().lower()
        entries = sorted(self.manager.entries.values(), key=lambda e: e.label.lower())
        shown = []
        for e in entries:
            keys = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in e.keys())
            if needle and needle not in e.label.lower() and needle not in keys.lower():
                continue
            shown.append((e, keys))
        self.table.setRowCount(len(shown))
        self._names = [e.name for e, _k in shown]
        for i, (e, keys) in enumerate(shown):
            self.table.setItem(i, 0, QTableWidgetItem(e.label))
            item = QTableWidgetItem(keys)
            if [k.toString() for k in e.keys()] != [k.toString() for k in e.default]:
                f = item.font()
                f.setBold(True)
                item.setFont(f)
            self.table.setItem(i, 1, item)

    def select(self, name: str) -> None:
        if name in self._names:
            self.table.setCurrentCell(self._names.index(name), 0)

    def current_name(self) -> str | None:
        r = self.table.currentRow()
        return self._names[r] if 0 <= r < len(self._names) else None

    def _on_row(self) -> None:
        name = self.current_name()
        keys = self.manager.entries[name].keys() if name else []
        self.key_edit.blockSignals(True)
        self.key_edit.setKeySequence(keys[0] if keys else QKeySequence())
        self.key_edit.blockSignals(False)

    def assign_current(self) -> None:
        name = self.current_name()
        if name is None:
            return
        seq = self.key_edit.keySequence()
        taken = self.manager.assign(name, [seq] if not seq.isEmpty() else [])
        label = self.manager.entries[name].label
        shown = seq.toString(QKeySequence.SequenceFormat.NativeText) or "no key"
        self.note.setText(f"{label}: {shown}" + (f" (taken from {', '.join(taken)})" if taken else ""))
        self._refill(name)

    def _default_current(self) -> None:
        name = self.current_name()
        if name is not None:
            self.manager.reset(name)
            self.note.setText(f"{self.manager.entries[name].label}: back to its default")
            self._refill(name)

    def _reset_all(self) -> None:
        self.manager.reset()
        self.note.setText("every shortcut is back to its default")
        self._refill(self.current_name())

    def _refill(self, name: str | None) -> None:
        self._fill()
        if name:
            self.select(name)

