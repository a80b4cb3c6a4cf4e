"""Reasons and case data in the editor.

* The reasons list (Edit ▸ Reasons…): the texts offered for why a track is redacted or kept
  visible, or why a stretch of sound is muted. Kept in the settings (``reasons/list``); the
  defaults are :data:`app.core.reasons.DEFAULT_REASONS`.
* A track's reason: the inspector's "Reason" box, or Reason ▸ in the right-click menu of a track,
  a group or several tracks; a mute's reason: Reason ▸ in the mute's right-click menu. Each is
  one undo step.
* Case details (File ▸ Case Details…): the project's case or evidence ID, and the operator's name
  (kept in the settings: asked once, offered again in the export dialog).

The audit report rolls all of it up into its redaction and exemption log.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core import edits
from app.core.reasons import DEFAULT_REASONS, MAX_CASE_ID, MAX_REASON, clean_reasons

SETTINGS_KEY = "reasons/list"


def load_reasons(settings) -> list[str]:
    raw = settings.value(SETTINGS_KEY)
    if raw is None:
        return list(DEFAULT_REASONS)
    items = [raw] if isinstance(raw, str) else list(raw)
    return clean_reasons(items)


def save_reasons(settings, items) -> list[str]:
    items = clean_reasons(items)
    settings.setValue(SETTINGS_KEY, items)
    return items


class ReasonsDialog(QDialog):
    """Edit the reasons list: double-click a row to change it; Add, Remove, Restore Defaults."""

    def __init__(self, reasons: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Reasons")
        self.setObjectName("reasons_dialog")
        self.list = QListWidget()
        self._fill(reasons)
        add = QPushButton("Add")
        add.clicked.connect(self.add_reason)
        remove = QPushButton("Remove")
        remove.clicked.connect(self.remove_selected)
        defaults = QPushButton("Restore Defaults")
        defaults.clicked.connect(lambda: self._fill(DEFAULT_REASONS))
        side = QVBoxLayout()
        for b in (add, remove, defaults):
            side.addWidget(b)
        side.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.list, 1)
        row.addLayout(side)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Reasons offered for a redaction, an exemption or an audio mute.\n"
                             "Use categories (\"bystander\", \"minor\"), never a person's name."))
        lay.addLayout(row)
        lay.addWidget(buttons)

    def _fill(self, reasons) -> None:
        self.list.clear()
        for r in reasons:
            self._add_item(r)

    def _add_item(self, text: str) -> QListWidgetItem:
        it = QListWidgetItem(text)
        it.setFlags(it.flags() | Qt.ItemFlag.ItemIsEditable)
        self.list.addItem(it)
        return it

    def add_reason(self) -> None:
        it = self._add_item("new reason")
        self.list.setCurrentItem(it)
        self.list.editItem(it)

    def remove_selected(self) -> None:
        for it in self.list.selectedItems():
            self.list.takeItem(self.list.row(it))

    def reasons(self) -> list[str]:
        return clean_reasons(self.list.item(i).text() for i in range(self.list.count()))


class CaseDialog(QDialog):
    """The project's case or evidence ID and the operator's name."""

    def __init__(self, case_id: str, operator: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Case details")
        self.setObjectName("case_dialog")
        self.case_edit = QLineEdit(case_id)
        self.case_edit.setMaxLength(MAX_CASE_ID)
        self.case_edit.setPlaceholderText("e.g. 2026-0412-B")
        self.operator_edit = QLineEdit(operator)
        self.operator_edit.setMaxLength(MAX_REASON)
        form = QFormLayout()
        form.addRow("Case / evidence ID", self.case_edit)
        form.addRow("Operator", self.operator_edit)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(QLabel("Both are written into the audit report. Your name is kept for next time."))
        lay.addWidget(buttons)

    def values(self) -> tuple[str, str]:
        return " ".join(self.case_edit.text().split()), " ".join(self.operator_edit.text().split())


class ReasonActions(QObject):
    """Reasons and case data for one window (see the module's docstring)."""

    def __init__(self, win):
        super().__init__(win)
        from app.ui.menus import make_action

        self.win, self.doc = win, win.doc
        self.reasons = load_reasons(win.settings)
        self.dialog: QDialog | None = None
        self.act_reasons = make_action(win, "&Reasons…", self.edit_reasons, None,
                                       "The reasons offered for a redaction, an exemption or an audio mute")
        self.act_case = make_action(win, "&Case Details…", self.edit_case, None,
                                    "The case or evidence ID and the operator's name, for the audit report",
                                    icon_key="operator")
        menus = {a.text(): a.menu() for a in win.menuBar().actions()}
        menus["&Edit"].addAction(self.act_reasons)
        file_menu = menus["&File"]
        file_menu.insertAction(getattr(win, "act_export", None) or getattr(win, "act_quit", None), self.act_case)
        win.context_menus.add_extension(self._menu_extension)
        if hasattr(win, "inspector"):
            win.inspector.set_reasons(self.reasons)
            win.inspector.reasonPicked.connect(lambda text: self.set_track_reason(self.doc.selection, text))

    # -- the list -----------------------------------------------------------------------------------
    def set_reasons(self, items) -> list[str]:
        self.reasons = save_reasons(self.win.settings, items)
        if hasattr(self.win, "inspector"):
            self.win.inspector.set_reasons(self.reasons)
        return self.reasons

    def edit_reasons(self) -> ReasonsDialog:
        """Open the reasons dialog (window-modal, not blocking); OK saves the list."""
        dlg = ReasonsDialog(self.reasons, self.win)
        dlg.accepted.connect(lambda: self.set_reasons(dlg.reasons()))
        self.dialog = dlg
        dlg.open()
        return dlg

    def edit_case(self) -> CaseDialog:
        """Open the case details dialog (window-modal, not blocking); OK applies them."""
        dlg = CaseDialog(self.doc.project.case_id, self.doc.operator, self.win)
        dlg.accepted.connect(lambda: self.set_case(*dlg.values()))
        self.dialog = dlg
        dlg.open()
        return dlg

    def set_case(self, case_id: str, operator: str | None = None) -> None:
        """The project's case ID (an unsaved change) and the operator's name (the settings)."""
        case_id = " ".join(case_id.split())[:MAX_CASE_ID]
        if case_id != self.doc.project.case_id:
            self.doc.project.case_id = case_id
            self.doc.mark_changed()
        if operator and operator != self.doc.operator:
            self.win.set_operator_name(operator[:MAX_REASON])

    # -- setting reasons --------------------------------------------------------------------------
    def set_track_reason(self, ids: list[str], reason: str) -> bool:
        """The tracks' reason (one undo step); "" clears it."""
        reason = " ".join(reason.split())[:MAX_REASON]
        ids = [i for i in ids if (t := self.doc.project.track(i)) is not None and t.reason != reason]
        if not ids:
            return False
        text = f"Reason '{reason}' for {len(ids)} track(s)" if reason else f"Clear the reason of {len(ids)} track(s)"
        return self.doc.edit_tracks(text, ids, lambda t: edits.clone(t, reason=reason))

    def set_mute_reason(self, mute_id: str, reason: str) -> bool:
        from app.ui.timeline.mutes import replaced

        reason = " ".join(reason.split())[:MAX_REASON]
        m = next((m for m in self.doc.project.audio_mutes if m.id == mute_id), None)
        if m is None or m.reason == reason:
            return False
        self.doc.edit(f"Reason '{reason}' for audio mute {m.id}" if reason else f"Clear the reason of {m.id}",
                      list(self.doc.project.tracks),
                      audio_mutes=replaced(self.doc.project.audio_mutes, replace(m, reason=reason), m.id))
        return True

    # -- right-click menus ---------------------------------------------------------------------------
    def _menu_extension(self, menu: QMenu, ctx) -> None:
        if ctx.kind in ("track", "group") and ctx.ids:
            current = {t.reason for t in (self.doc.project.track(i) for i in ctx.ids) if t is not None}
            self._reason_menu(menu, current, lambda text, ids=list(ctx.ids): self.set_track_reason(ids, text))
        elif ctx.kind == "mute":
            mute = self.win.edit_actions.selected_mute()
            if mute is not None:
                self._reason_menu(menu, {mute.reason}, lambda text, mid=mute.id: self.set_mute_reason(mid, text))

    def _reason_menu(self, menu: QMenu, current: set[str], apply) -> QMenu:
        rm = QMenu("&Reason", menu)
        rm.setObjectName("ctx_reason")
        entries = menu.actions()
        style = next((i for i, a in enumerate(entries) if a.menu() is not None and "Style" in a.text().replace("&", "")),
                     None)
        if style is not None and style + 1 < len(entries):
            menu.insertMenu(entries[style + 1], rm)  # beside Style: what the track looks like and why
        else:
            menu.addMenu(rm)
        only = next(iter(current)) if len(current) == 1 else None
        for text in self.reasons:
            a = rm.addAction(text, lambda t=text: apply(t))
            a.setCheckable(True)
            a.setChecked(text == only)
        rm.addSeparator()
        rm.addAction("Other…", lambda: self._ask_other(apply, only or ""))
        clear = rm.addAction("No Reason", lambda: apply(""))
        clear.setEnabled(any(current))
        return rm

    def _ask_other(self, apply, current: str) -> None:
        text, ok = QInputDialog.getText(self.win, "Reason", "Reason (a category, not a name):", text=current)
        if ok:
            apply(text)
