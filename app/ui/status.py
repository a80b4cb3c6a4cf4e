"""The status bar: messages in their own elided label, so they never run into the permanent widgets.

Qt's own temporary message is painted across the whole bar left of the permanent widgets, over the
normal widgets, and a long one is cut off mid-word at the first permanent widget (the analysis
progress, the review counter): it read as if the two ran together. Here a message is the text of
one label that the bar's layout sizes like any other widget: it gets the room left between the
position read-out and the permanent widgets, shows "…" when the text is longer (the whole text is
its tooltip), and never covers anything. ``showMessage`` / ``clearMessage`` / ``currentMessage``
keep Qt's meaning (a timeout in ms clears the message), so every caller stays as it was; Qt's own
status tips (menu hovers) come through :meth:`show_status_tip`.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtWidgets import QLabel, QSizePolicy, QStatusBar


class ElidedLabel(QLabel):
    """A one-line label that elides its text to its width (the full text is the tooltip)."""

    def __init__(self, text: str = "", parent=None):
        super().__init__(parent)
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(0)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.set_full_text(text)

    def full_text(self) -> str:
        return self._full

    def set_full_text(self, text: str) -> None:
        self._full = text or ""
        self._elide()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(0, super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(self.fontMetrics().horizontalAdvance(self._full) + 8, super().sizeHint().height())

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._elide()

    def is_elided(self) -> bool:
        return self.text() != self._full

    def _elide(self) -> None:
        width = max(0, self.contentsRect().width())
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, width) if self._full else ""
        if shown != self.text():
            super().setText(shown)
        self.setToolTip(self._full if shown != self._full else "")


class StatusBar(QStatusBar):
    """See the module docstring. ``message_label`` holds the message."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSizeGripEnabled(False)
        # a thin rule between the read-outs, so that "analysed ... (12 s)" and "detection on CPU" read apart
        self.setStyleSheet("QStatusBar::item { border: none; border-left: 1px solid #3a3d43; }")
        self.message_label = ElidedLabel()
        self.message_label.setObjectName("status_message")
        self._message = ""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.clearMessage)
        self._added = False

    def addWidget(self, widget, stretch: int = 0) -> None:  # noqa: N802 - Qt API
        super().addWidget(widget, stretch)
        self._add_label()

    def _add_label(self) -> None:
        """The message label comes after the normal widgets (the position) and takes what is left."""
        if self._added:
            self.removeWidget(self.message_label)
        super().addWidget(self.message_label, 1)
        self.message_label.show()
        self._added = True

    def showMessage(self, text: str, timeout: int = 0) -> None:  # noqa: N802 - Qt API
        if not self._added:
            self._add_label()
        self._message = text or ""
        self.message_label.set_full_text(self._message)
        if timeout and self._message:
            self._timer.start(int(timeout))
        else:
            self._timer.stop()

    def clearMessage(self) -> None:  # noqa: N802
        self._timer.stop()
        self._message = ""
        self.message_label.set_full_text("")

    def currentMessage(self) -> str:  # noqa: N802
        return self._message

    def show_status_tip(self, tip: str) -> None:
        """A menu's or a toolbar button's status tip (shown while hovered, as Qt does)."""
        self.showMessage(tip)
