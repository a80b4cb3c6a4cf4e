"""The inspector: the selected track (its effective style, shape and statistics), the project's
default style per class, and the detector settings for the next analysis.

The selected track's own style (effect, strength, margin, feather) is edited in place: a change
applies to every selected track (a group's too) as one undo command on the document's stack
(:meth:`InspectorPanel.set_track_style`), and "Reset to class default" gives the tracks back their
class's style. The redacted preview and the export draw a track with its own style
(:meth:`Project.style_for`), and the audit report marks it "own". The default styles are
editable in place too (:meth:`InspectorPanel.set_class_style`).
:meth:`InspectorPanel.detector_config` gives the settings for the next analysis.

Each part is a :class:`Section` that folds (click its title), and the panel sits in a scroll area
(:meth:`InspectorPanel.scroll_area`), so it needs little height: on a 1366x768 laptop it no longer
pushes the timeline and the status bar off the screen. New parts (a track's own style, reasons)
go in with :meth:`InspectorPanel.add_section`.
"""

from __future__ import annotations

from collections import Counter

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core import edits
from app.core.style import DEFAULT_STYLES, RedactionMethod, RedactionStyle
from app.core.track import Track
from app.ui import style as colors
from app.ui.document import Document

STYLE_CLASSES = ("face", "plate", "manual")
DEVICES = ("auto", "cpu", "cuda")
TILES = ("auto", "on", "off")
FALLBACK_THRESHOLDS = {"face": 0.3, "plate": 0.1}


def manifest_thresholds(face_model: str = "centerface", plate_model: str = "plate_yolov8n") -> dict[str, float]:
    """The seed score thresholds the manifest gives the face and plate models."""
    out = dict(FALLBACK_THRESHOLDS)
    try:
        from app.detection.models import specs

        all_specs = specs()
    except Exception:  # an unreadable manifest: show the built-in values  # noqa: BLE001
        return out
    for cls, mid in (("face", face_model), ("plate", plate_model)):
        s = all_specs.get(mid)
        if s is not None and "score" in s.thresholds:
            out[cls] = float(s.thresholds["score"])
    return out


def _value(text: str = "—") -> QLabel:
    label = QLabel(text)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _muted(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet(f"color: {colors.MUTED_TEXT.name()}")
    return label


class Section(QWidget):
    """A titled part of the inspector that folds: a flat arrow button over its content."""

    def __init__(self, title: str, content: QWidget, parent: QWidget | None = None):
        super().__init__(parent)
        self.content = content
        self.button = QToolButton()
        self.button.setText(title)
        self.button.setCheckable(True)
        self.button.setChecked(True)
        self.button.setAutoRaise(True)
        self.button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.button.setArrowType(Qt.ArrowType.DownArrow)
        self.button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.button.setStyleSheet("QToolButton { font-weight: bold; text-align: left; border: none; }")
        self.button.toggled.connect(self.set_open)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.button)
        lay.addWidget(content)

    @property
    def is_open(self) -> bool:
        return self.button.isChecked()

    def set_open(self, open_: bool) -> None:
        if self.button.isChecked() != open_:
            self.button.setChecked(open_)  # comes back here through toggled
            return
        self.button.setArrowType(Qt.ArrowType.DownArrow if open_ else Qt.ArrowType.RightArrow)
        self.content.setVisible(open_)


class InspectorPanel(QWidget):
    reasonPicked = Signal(str)  # a reason chosen or typed for the selected tracks ("" clears it)

    TRACK_FIELDS = (
        ("title", "Track"), ("cls", "Class"), ("label", "Label"), ("state", "State"), ("range", "Frames"),
        ("keyframes", "Keyframes"), ("scores", "Scores"), ("shape", "Shape"),
    )
    TRACK_STYLE_FIELDS = ("method", "strength", "margin", "feather")

    def __init__(self, doc: Document, parent: QWidget | None = None):
        super().__init__(parent)
        self.doc = doc
        self._updating = False
        self._scroll: QScrollArea | None = None
        self.sections: dict[str, Section] = {}
        self._lay = lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.setSpacing(6)
        lay.addStretch(1)
        self.add_section("track", "Selected track", self._build_track_box())
        self.add_section("styles", "Default style per class", self._build_styles_box())
        self.add_section("detector", "Next analysis", self._build_detector_box())
        doc.selectionChanged.connect(self._refresh_track)
        doc.tracksChanged.connect(self.refresh)
        doc.projectReplaced.connect(self.refresh)
        doc.frameChanged.connect(self._refresh_shape)
        self.refresh()

    def add_section(self, key: str, title: str, widget: QWidget, after: str | None = None) -> Section:
        """Add a folding part (after the section ``after``, else at the end); returns it."""
        section = Section(title, widget, self)
        section.setObjectName(f"inspector_{key}")
        index = self._lay.count() - 1  # before the stretch
        if after in self.sections:
            index = self._lay.indexOf(self.sections[after]) + 1
        self._lay.insertWidget(index, section)
        self.sections[key] = section
        return section

    def scroll_area(self) -> QScrollArea:
        """The panel in a scroll area (made once): what the window's dock holds."""
        if self._scroll is None:
            sc = QScrollArea()
            sc.setObjectName("inspector_scroll")
            sc.setWidgetResizable(True)
            sc.setFrameShape(QFrame.Shape.NoFrame)
            sc.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
            sc.setWidget(self)
            sc.setMinimumHeight(90)
            self._scroll = sc
        return self._scroll

    # -- building ----------------------------------------------------------------------------------
    def _build_track_box(self) -> QWidget:
        box = QWidget()
        form = QFormLayout(box)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.track_fields: dict[str, QLabel] = {}
        for key, name in self.TRACK_FIELDS:
            self.track_fields[key] = w = _value()
            form.addRow(name, w)
        self.track_fields["title"].setStyleSheet("font-weight: bold")
        # the track's own style: editable; a change applies to all selected tracks (one undo step)
        method = QComboBox()
        method.setObjectName("track_style_method")
        for m in RedactionMethod:
            method.addItem(m.value.capitalize(), m.value)
        self.track_style: dict[str, QWidget] = {
            "method": method, "strength": _spin(0, 100, ""), "margin": _spin(0, 200, " %"),
            "feather": _spin(0, 100, " %")}
        for key, name in (("method", "Effect"), ("strength", "Strength"), ("margin", "Margin"),
                          ("feather", "Feather")):
            w = self.track_style[key]
            w.setObjectName(f"track_style_{key}")
            w.setToolTip(f"{name} of the selected track(s) only (their own style; undoable)")
            form.addRow(name, w)
        method.currentIndexChanged.connect(lambda _i: self._track_style_edited("method"))
        for key in ("strength", "margin", "feather"):
            self.track_style[key].valueChanged.connect(lambda _v, k=key: self._track_style_edited(k))
        self.reason_combo = QComboBox()
        self.reason_combo.setObjectName("track_reason")
        self.reason_combo.setEditable(True)
        self.reason_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.reason_combo.lineEdit().setPlaceholderText("why redacted / kept visible")
        self.reason_combo.setToolTip("Why the selected track(s) are redacted or kept visible, for the audit "
                                     "report's log: pick one (Edit ▸ Reasons… edits the list) or type another")
        self.reason_combo.activated.connect(lambda _i: self._reason_edited())
        self.reason_combo.lineEdit().editingFinished.connect(self._reason_edited)
        self._reasons: list[str] = []
        form.addRow("Reason", self.reason_combo)
        self.track_fields["source"] = source = _value()
        self.reset_style_button = QPushButton("Reset to class default")
        self.reset_style_button.setObjectName("track_style_reset")
        self.reset_style_button.setToolTip("The selected track(s) take their class's default style again")
        self.reset_style_button.clicked.connect(self.reset_track_style)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(source, 1)
        row.addWidget(self.reset_style_button)
        form.addRow("Style from", row)
        return box

    def _build_styles_box(self) -> QWidget:
        box = QWidget()
        grid = QGridLayout(box)
        grid.setHorizontalSpacing(6)
        for col, head in enumerate(("", "Effect", "Strength", "Margin", "Feather", "")):
            if head:
                grid.addWidget(_muted(head), 0, col)
        self.style_widgets: dict[str, dict[str, QWidget]] = {}
        for row, cls in enumerate(STYLE_CLASSES, start=1):
            name = QLabel(cls.capitalize())
            name.setStyleSheet(f"color: {colors.class_color(cls).name()}; font-weight: bold")
            method = QComboBox()
            for m in RedactionMethod:
                method.addItem(m.value.capitalize(), m.value)
            strength = _spin(0, 100, "")
            margin = _spin(0, 200, " %")
            feather = _spin(0, 100, " %")
            safe = QLabel()
            ws = {"method": method, "strength": strength, "margin": margin, "feather": feather, "safe": safe}
            self.style_widgets[cls] = ws
            for col, w in enumerate((name, method, strength, margin, feather, safe)):
                grid.addWidget(w, row, col)
            method.currentIndexChanged.connect(lambda _i, c=cls: self._style_edited(c))
            for w in (strength, margin, feather):
                w.valueChanged.connect(lambda _v, c=cls: self._style_edited(c))
        return box

    def _build_detector_box(self) -> QWidget:
        box = QWidget()
        form = QFormLayout(box)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self._defaults = manifest_thresholds()
        self.threshold_hint = _muted("")
        self.faces_check = QCheckBox("Faces")
        self.plates_check = QCheckBox("Plates")
        self.face_threshold = _dspin()
        self.plate_threshold = _dspin()
        for check, spin in ((self.faces_check, self.face_threshold), (self.plates_check, self.plate_threshold)):
            check.setChecked(True)
            check.toggled.connect(spin.setEnabled)
            check.toggled.connect(self._update_hint)
            spin.valueChanged.connect(self._update_hint)
        self.face_threshold.setValue(self._defaults["face"])
        self.plate_threshold.setValue(self._defaults["plate"])
        self.tiles_combo = QComboBox()
        for t in TILES:
            self.tiles_combo.addItem(t.capitalize() if t != "auto" else "Auto (large frames)", t)
        self.device_combo = QComboBox()
        for d in DEVICES:
            self.device_combo.addItem({"auto": "Auto (GPU if usable)", "cpu": "CPU", "cuda": "CUDA GPU"}[d], d)
        form.addRow(self.faces_check, self.face_threshold)
        form.addRow(self.plates_check, self.plate_threshold)
        form.addRow("Tiles", self.tiles_combo)
        form.addRow("Device", self.device_combo)
        form.addRow(self.threshold_hint)
        self._update_hint()
        return box

    # -- detector settings -------------------------------------------------------------------------
    def detector_config(self):
        """The :class:`DetectorConfig` for the next analysis (None thresholds: the manifest's)."""
        from app.detection.detector import DetectorConfig

        def threshold(spin: QDoubleSpinBox, cls: str) -> float | None:
            v = round(spin.value(), 3)
            return None if abs(v - self._defaults[cls]) < 1e-9 else v

        return DetectorConfig(
            device=self.device_combo.currentData(),
            faces=self.faces_check.isChecked(),
            plates=self.plates_check.isChecked(),
            face_threshold=threshold(self.face_threshold, "face"),
            plate_threshold=threshold(self.plate_threshold, "plate"),
            tiles=self.tiles_combo.currentData(),
        )

    def _update_hint(self, *args) -> None:
        from app.detection.detector import DetectorConfig

        low = DetectorConfig.low_factor
        parts = [f"{name} ≥ {spin.value():.2f} always redacted, tracked down to {spin.value() * low:.2f}"
                 for name, check, spin in (("faces", self.faces_check, self.face_threshold),
                                           ("plates", self.plates_check, self.plate_threshold))
                 if check.isChecked()]
        self.threshold_hint.setText("; ".join(parts).capitalize() if parts else "No detector selected")

    # -- default styles ----------------------------------------------------------------------------
    def _class_style(self, cls: str) -> RedactionStyle:
        return self.doc.project.styles.get(cls) or DEFAULT_STYLES.get(cls) or RedactionStyle()

    def _style_edited(self, cls: str) -> None:
        if self._updating:
            return
        ws = self.style_widgets[cls]
        new = self._class_style(cls).replace(
            method=ws["method"].currentData(), strength=float(ws["strength"].value()),
            margin=float(ws["margin"].value()), feather=float(ws["feather"].value()),
        )
        if new != self._class_style(cls):
            self.set_class_style(cls, new)

    def set_class_style(self, cls: str, new: RedactionStyle) -> None:
        """The one place the inspector edits the project: an undo command (a spin box's steps
        in a row merge into one)."""
        styles = dict(self.doc.project.styles)
        styles[cls] = new
        self.doc.edit(f"{cls.capitalize()} style", list(self.doc.project.tracks), merge_key=("style", cls),
                      styles=styles)

    # -- the selected tracks' own style ----------------------------------------------------------
    def _track_style_edited(self, key: str) -> None:
        if self._updating:
            return
        w = self.track_style[key]
        value = w.currentData() if key == "method" else float(w.value())
        self.set_track_style(self.doc.selection, **{key: value})

    def set_track_style(self, ids: list[str], **changes) -> bool:
        """Give the tracks ``ids`` their own style: their current (effective) style with
        ``changes`` (``method``, ``strength``, ``margin``, ``feather``, ``color``) applied, as one
        undo command; the steps of one spin box in a row merge into one. True when something
        changed."""
        project = self.doc.project

        def restyle(t: Track) -> Track:
            new = project.style_for(t).replace(**changes)
            return t if new == t.style else edits.clone(t, style=new)

        fields = "/".join(sorted(changes))
        return self.doc.edit_tracks(f"Track style ({fields})", list(ids), restyle,
                                    merge_key=("track_style", tuple(ids), fields))

    def reset_track_style(self) -> bool:
        """The selected tracks take their class's default style again (one undo command)."""
        ids = [i for i in self.doc.selection if (t := self.doc.project.track(i)) is not None and t.style is not None]
        if not ids:
            self.doc.message.emit("the selected track(s) already use their class's style")
            return False
        return self.doc.edit_tracks(f"Reset {len(ids)} track style(s) to class default", ids,
                                    lambda t: edits.clone(t, style=None))

    # -- reasons -------------------------------------------------------------------------------
    def set_reasons(self, reasons: list[str]) -> None:
        """The reasons the "Reason" box offers (from the settings)."""
        self._reasons = list(reasons)
        self._refresh_track()

    def _reason_edited(self) -> None:
        if self._updating or not self.doc.selection:
            return
        text = " ".join(self.reason_combo.currentText().split())
        current = {t.reason for t in (self.doc.project.track(i) for i in self.doc.selection) if t is not None}
        if current != {text}:
            self.reasonPicked.emit(text)

    # -- refresh -----------------------------------------------------------------------------------
    def refresh(self) -> None:
        self._updating = True
        try:
            for cls, ws in self.style_widgets.items():
                s = self._class_style(cls)
                ws["method"].setCurrentIndex(max(0, ws["method"].findData(s.method.value)))
                ws["strength"].setValue(round(s.strength))
                ws["margin"].setValue(round(s.margin))
                ws["feather"].setValue(round(s.feather))
                ws["safe"].setText("✓" if s.irreversible else "⚠ reversible")
                ws["safe"].setStyleSheet(f"color: {'#51cf66' if s.irreversible else '#ff922b'}")
                ws["safe"].setToolTip(
                    "Meets the irreversibility bar (solid fill, or blur/pixelation at strength 80 or more: "
                    "the face detector no longer finds redacted faces, bench/irreversibility_bench.py)"
                    if s.irreversible else
                    "Weaker than strength 80: a face detector still finds some faces under this blur or "
                    "pixelation. Use 80 or more, or a solid fill, for published footage.")
        finally:
            self._updating = False
        self._refresh_track()

    def selected_track(self) -> Track | None:
        sel = self.doc.selection
        return self.doc.project.track(sel[0]) if sel else None

    def _refresh_track(self, *args) -> None:
        f = self.track_fields
        t = self.selected_track()
        for w in (*self.track_style.values(), self.reset_style_button, self.reason_combo):
            w.setEnabled(t is not None)
        self._refresh_reason()
        if t is None:
            for w in f.values():
                w.setText("—")
            f["title"].setText("No track selected")
            return
        n_sel = len(self.doc.selection)
        f["title"].setText(t.id if n_sel == 1 else f"{t.id}  (+{n_sel - 1} more selected)")
        f["cls"].setText(f'<span style="color:{colors.class_color(t.cls).name()}">■</span> {t.cls}')
        f["label"].setText(t.label or "—")
        f["state"].setText(f"{'enabled' if t.enabled else 'exempt (disabled)'}, {t.review.replace('_', ' ')}")
        if t.first_frame is not None:
            n = t.last_frame - t.first_frame + 1
            spans = len(t.spans())
            f["range"].setText(f"{self.doc.timecode(t.first_frame)} – {self.doc.timecode(t.last_frame)}"
                               f"  ({n} frames, {spans} span{'s' if spans != 1 else ''})")
        else:
            f["range"].setText("—")
        kinds = Counter(kf.source.value for kf in t.keyframes)
        detail = ", ".join(f"{c} {k}" for k, c in sorted(kinds.items()))
        f["keyframes"].setText(f"{len(t.keyframes)}" + (f"  ({detail})" if detail else ""))
        f["scores"].setText(self._scores_text(t))
        s = self.doc.project.style_for(t)
        ws = self.track_style
        was, self._updating = self._updating, True
        try:
            ws["method"].setCurrentIndex(max(0, ws["method"].findData(s.method.value)))
            for key in ("strength", "margin", "feather"):
                ws[key].setValue(round(getattr(s, key)))
        finally:
            self._updating = was
        own = t.style is not None
        f["source"].setText("this track's own style" if own else f"the {t.cls} default")
        f["source"].setStyleSheet("font-weight: bold" if own else "")
        self.reset_style_button.setEnabled(any(
            (x := self.doc.project.track(i)) is not None and x.style is not None for i in self.doc.selection))
        self._refresh_shape()

    def _refresh_reason(self) -> None:
        sel = [t for t in (self.doc.project.track(i) for i in self.doc.selection) if t is not None]
        reasons = {t.reason for t in sel}
        text = next(iter(reasons)) if len(reasons) == 1 else ""
        was, self._updating = self._updating, True
        try:
            combo = self.reason_combo
            combo.clear()
            combo.addItem("")  # no reason
            for r in self._reasons:
                combo.addItem(r)
            if text and combo.findText(text) < 0:
                combo.addItem(text)
            combo.setCurrentIndex(max(0, combo.findText(text)))
            combo.lineEdit().setPlaceholderText("(several reasons)" if len(reasons) > 1
                                                else "why redacted / kept visible")
        finally:
            self._updating = was

    def _refresh_shape(self, *args) -> None:
        t = self.selected_track()
        if t is None or not t.keyframes:
            self.track_fields["shape"].setText("—")
            return
        shape = t.shape_at(self.doc.frame)
        where = "at the playhead"
        if shape is None:
            shape, where = t.keyframes[0].shape, "first keyframe"
        shape = self.doc.orientation.shape_upright(shape)  # width and height as the operator sees them
        self.track_fields["shape"].setText(f"{shape.kind.value} {shape.width:.0f}×{shape.height:.0f} px ({where})")

    def _scores_text(self, t: Track) -> str:
        scores = [kf.score for kf in t.keyframes if kf.score is not None]
        mx = t.stats.get("max_score", max(scores) if scores else None)
        mean = t.stats.get("mean_score", sum(scores) / len(scores) if scores else None)
        if mx is None:
            return "—"
        text = f"max {mx:.2f}, mean {mean:.2f}" if mean is not None else f"max {mx:.2f}"
        share = t.stats.get("detected_share")
        return text + (f", detected in {share:.0%} of frames" if share is not None else "")


def _spin(lo: int, hi: int, suffix: str) -> QSpinBox:
    s = QSpinBox()
    s.setRange(lo, hi)
    s.setSuffix(suffix)
    s.setKeyboardTracking(False)
    return s


def _dspin() -> QDoubleSpinBox:
    s = QDoubleSpinBox()
    s.setRange(0.01, 1.0)
    s.setSingleStep(0.05)
    s.setDecimals(2)
    s.setPrefix("score ≥ ")
    s.setKeyboardTracking(False)
    return s
