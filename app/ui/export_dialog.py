"""File ▸ Export: the export dialog (output file, format, audio, range, checks after export).

* Output: a path with a Browse button. Never the input (refused with a message); an existing file
  is replaced only after the operator agreed.
* Format: "Same as input" where Obscura can write the input's codec (H.264 keeps its container:
  an .mp4 stays .mp4 at CRF 18; FFV1 stays lossless), "MP4 (H.264)" with CRF (default 18,
  visually lossless) and x264 preset (default medium), or "MKV (FFV1, lossless)". A photo goes
  back to a photo (JPEG or PNG). Changing the format changes the file name's extension.
* Audio: Copy (packets unchanged) or Drop. The project's audio mutes are applied automatically
  (the dialog says how many; the soundtrack is then re-encoded to AAC).
* Range: the whole video, or the in/out points (enabled only when one is set).
* After export: the leak check (a choice: Off, Quick, the default, or Thorough) and the audit
  report (a checkbox, on by default), with the case or evidence ID and the operator's name it
  records (the name is kept in the settings, so it is asked once and offered again).

The dialog only gathers :class:`ExportOptions`; :class:`app.ui.export_ui.ExportController` runs
the export.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.base.atomic import same_file
from app.errors import OutputError
from app.media.probe import IMAGE_EXTENSIONS, is_image_path
from app.media.writer import PRESETS, EncodeSettings, container_for

# format key -> (menu text, extension, codec)
FORMATS = {
    "mp4": ("MP4 (H.264)", ".mp4", "h264"),
    "mkv": ("MKV (FFV1, lossless)", ".mkv", "ffv1"),
}
IMAGE_FORMATS = {"jpg": ("JPEG image", ".jpg"), "png": ("PNG image (lossless)", ".png")}
# leak check choice -> menu text (None: no leak check); the texts say what each costs
LEAK_CHOICES = {
    None: "Off",
    "quick": "Quick: about 5 frames a second (about 5x faster)",
    "thorough": "Thorough: every frame (slowest, most complete)",
}
_H264_EXTS = (".mp4", ".m4v", ".mov", ".mkv", ".avi")
_FFV1_EXTS = (".mkv", ".avi")


@dataclass(frozen=True)
class ExportOptions:
    output: str
    settings: EncodeSettings
    frame_range: tuple[int, int] | None  # (first, last) input frames; None: the whole video
    leak_check: bool
    report: bool
    leak_mode: str = "quick"  # "quick" or "thorough" (app.pipelines.leakcheck.MODES); unused when leak_check is off
    case_id: str = ""  # the project's case or evidence ID, for the report
    operator: str = ""  # the operator's name, for the report (kept in the settings)


def available(module: str) -> bool:
    """True when ``module`` (e.g. app.pipelines.leakcheck) can be imported."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def same_as_input(media_path: str, codec: str | None) -> tuple[str, str] | None:
    """(codec, extension) for a "same as input" export, or None when Obscura can't write it."""
    ext = os.path.splitext(media_path)[1].lower()
    if codec == "h264" and ext in _H264_EXTS:
        return "h264", ext
    if codec == "ffv1" and ext in _FFV1_EXTS:
        return "ffv1", ext
    return None


def default_output_path(media_path: str, ext: str | None = None) -> str:
    """``clip.redacted.mp4`` beside ``clip.mp4`` (with ``ext``, when given)."""
    base, old = os.path.splitext(media_path)
    if ext is None:
        ext = old if old.lower() in (".mp4", ".mov", ".mkv", ".m4v") or is_image_path(media_path) else ".mp4"
    return f"{base}.redacted{ext}"


def with_extension(path: str, ext: str) -> str:
    base, _old = os.path.splitext(path)
    return base + ext


class ExportDialog(QDialog):
    def __init__(self, doc, output: str | None = None, parent: QWidget | None = None,
                 default_leak_check: bool = True, default_report: bool = True, default_leak_mode: str = "quick"):
        super().__init__(parent)
        self.doc = doc
        self.setWindowTitle("Export redacted video")
        self.setObjectName("export_dialog")
        self.media_path: str = doc.media_path or ""
        self.image = is_image_path(self.media_path)
        info = getattr(doc, "info", None)
        self._same = None if self.image else same_as_input(self.media_path, info.codec if info else None)
        self._has_audio = bool(info.audio) if info is not None else False
        self._building = True

        # -- output ------------------------------------------------------------------------------
        self.path_edit = QLineEdit()
        self.path_edit.setMinimumWidth(420)
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self.browse)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(self.browse_button)

        # -- format ------------------------------------------------------------------------------
        self.format_combo = QComboBox()
        if self.image:
            ext = os.path.splitext(self.media_path)[1].lower()
            self.format_combo.addItem(f"Same as input ({ext.lstrip('.').upper()})", "same")
            for key, (text, _ext) in IMAGE_FORMATS.items():
                self.format_combo.addItem(text, key)
        else:
            if self._same is not None:
                codec, ext = self._same
                what = "H.264" if codec == "h264" else "FFV1, lossless"
                self.format_combo.addItem(f"Same as input ({what} in {ext})", "same")
            else:
                self.format_combo.addItem(f"Same as input ({self._input_codec_text()}: not available)", "same")
                self.format_combo.model().item(0).setEnabled(False)
            for key, (text, _ext, _codec) in FORMATS.items():
                self.format_combo.addItem(text, key)
        self.format_combo.setCurrentIndex(0 if self.image or self._same is not None else 1)
        self.crf_spin = QSpinBox()
        self.crf_spin.setRange(0, 51)
        self.crf_spin.setValue(EncodeSettings.crf)
        self.crf_spin.setToolTip("x264 constant rate factor: lower is better and larger; 18 is visually lossless")
        self.preset_combo = QComboBox()
        self.preset_combo.addItems(list(PRESETS))
        self.preset_combo.setCurrentText(EncodeSettings.preset)
        self.preset_combo.setToolTip("x264 preset: slower presets make smaller files at the same quality")
        quality = QHBoxLayout()
        quality.addWidget(QLabel("CRF"))
        quality.addWidget(self.crf_spin)
        quality.addSpacing(12)
        quality.addWidget(QLabel("Preset"))
        quality.addWidget(self.preset_combo, 1)
        self.quality_row = QWidget()
        self.quality_row.setLayout(quality)
        quality.setContentsMargins(0, 0, 0, 0)

        # -- audio -------------------------------------------------------------------------------
        self.audio_combo = QComboBox()
        self.audio_combo.addItem("Copy (unchanged)", "copy")
        self.audio_combo.addItem("Drop (no sound)", "drop")
        self.mute_note = QLabel()
        self.mute_note.setWordWrap(True)

        # -- range -------------------------------------------------------------------------------
        n = doc.frame_count
        self.range_whole = QRadioButton(f"Whole video ({n} frames, {self._tc(0)} – {self._tc(max(0, n - 1))})")
        marked = doc.in_out_range() if hasattr(doc, "in_out_range") else None
        self.marked_range = marked
        if marked is not None:
            a, b = marked
            self.range_marked = QRadioButton(f"In to Out ({b - a + 1} frames, {self._tc(a)} – {self._tc(b)})")
        else:
            self.range_marked = QRadioButton("In to Out (mark them with I and O on the timeline)")
            self.range_marked.setEnabled(False)
        self.range_group = QButtonGroup(self)
        self.range_group.addButton(self.range_whole)
        self.range_group.addButton(self.range_marked)
        self.range_whole.setChecked(True)
        range_box = QVBoxLayout()
        range_box.setContentsMargins(0, 0, 0, 0)
        range_box.addWidget(self.range_whole)
        range_box.addWidget(self.range_marked)
        range_widget = QWidget()
        range_widget.setLayout(range_box)

        # -- after export ------------------------------------------------------------------------
        self.leak_combo = QComboBox()
        self.leak_combo.setObjectName("leak_mode")
        for mode, text in LEAK_CHOICES.items():
            self.leak_combo.addItem(text, mode)
        self.set_leak_mode(default_leak_mode if default_leak_check else None)
        self.leak_combo.setToolTip("Re-decode the output and look for faces and plates left visible.\n"
                                   "Quick checks about 5 frames a second; Thorough checks every frame\n"
                                   "and takes about 5x longer. Both look at 1.5x the analysis's resolution.")
        if not available("app.pipelines.leakcheck"):
            self.leak_combo.setToolTip("the leak check is not available in this build: it will be skipped")
        leak_row = QHBoxLayout()
        leak_row.addWidget(QLabel("Leak check"))
        leak_row.addWidget(self.leak_combo, 1)
        self.report_box = QCheckBox("Write the audit report beside the output (JSON and HTML)")
        self.report_box.setChecked(default_report)
        if not available("app.pipelines.report"):
            self.report_box.setToolTip("the audit report is not available in this build: it will be skipped")

        # -- layout ------------------------------------------------------------------------------
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Output file", row)
        form.addRow("Format", self.format_combo)
        form.addRow("Quality", self.quality_row)
        self.audio_label = QLabel("Audio")
        form.addRow(self.audio_label, self.audio_combo)
        form.addRow("", self.mute_note)
        self.range_label = QLabel("Range")
        form.addRow(self.range_label, range_widget)
        checks = QGroupBox("After export")
        cl = QVBoxLayout(checks)
        cl.addLayout(leak_row)
        cl.addWidget(self.report_box)
        # the case data the report names (the operator's name is asked here and kept for next time)
        self.case_edit = QLineEdit(getattr(doc.project, "case_id", ""))
        self.case_edit.setObjectName("export_case_id")
        self.case_edit.setPlaceholderText("case or evidence ID (optional)")
        self.operator_edit = QLineEdit(getattr(doc, "operator", ""))
        self.operator_edit.setObjectName("export_operator")
        self.operator_edit.setPlaceholderText("your name")
        self.operator_edit.setToolTip("Recorded in the audit report; kept for the next export")
        case_form = QFormLayout()
        case_form.addRow("Case / evidence ID", self.case_edit)
        case_form.addRow("Operator", self.operator_edit)
        cl.addLayout(case_form)
        self.report_box.toggled.connect(self.case_edit.setEnabled)
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.export_button.setDefault(True)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(checks)
        lay.addWidget(self.buttons)

        self.format_combo.currentIndexChanged.connect(self._on_format_changed)
        self.audio_combo.currentIndexChanged.connect(lambda _i: self._update())
        self.path_edit.setText(output or default_output_path(self.media_path, self._format_ext()))
        self._building = False
        self._on_format_changed()

    # -- what was chosen -------------------------------------------------------------------------
    def format_key(self) -> str:
        return self.format_combo.currentData()

    def _format_ext(self) -> str:
        key = self.format_key()
        if key == "same":
            return os.path.splitext(self.media_path)[1].lower() if self.image else self._same[1]
        if self.image:
            return IMAGE_FORMATS[key][1]
        return FORMATS[key][1]

    def _allowed_exts(self) -> tuple[str, ...]:
        key = self.format_key()
        if self.image:
            return (".jpg", ".jpeg") if self._format_ext() in (".jpg", ".jpeg") else (self._format_ext(),)
        if key == "mp4":
            return (".mp4", ".m4v", ".mov")
        if key == "mkv":
            return (".mkv",)
        return (self._same[1],)

    def settings(self) -> EncodeSettings:
        if self.image:
            return EncodeSettings()
        key = self.format_key()
        codec = self._same[0] if key == "same" else FORMATS[key][2]
        return EncodeSettings(codec=codec, crf=self.crf_spin.value(), preset=self.preset_combo.currentText(),
                              audio=self.audio_combo.currentData())

    def frame_range(self) -> tuple[int, int] | None:
        if self.image or not self.range_marked.isChecked() or self.marked_range is None:
            return None
        a, b = self.marked_range
        return None if (a, b) == (0, self.doc.frame_count - 1) else (a, b)

    def options(self) -> ExportOptions:
        mode = self.leak_mode()
        return ExportOptions(self.output_path(), self.settings(), self.frame_range(),
                             mode is not None, self.report_box.isChecked(), mode or "quick",
                             " ".join(self.case_edit.text().split()), " ".join(self.operator_edit.text().split()))

    def leak_mode(self) -> str | None:
        """The chosen leak check: "quick", "thorough" or None (off)."""
        return self.leak_combo.currentData()

    def set_leak_mode(self, mode: str | None) -> None:
        i = self.leak_combo.findData(mode)
        self.leak_combo.setCurrentIndex(i if i >= 0 else self.leak_combo.findData("quick"))

    def output_path(self) -> str:
        text = os.path.expanduser(self.path_edit.text().strip())
        return os.path.abspath(text) if text else ""

    # -- reacting --------------------------------------------------------------------------------
    def _on_format_changed(self, _index: int = 0) -> None:
        if self._building:
            return
        path = self.path_edit.text().strip()
        if path and os.path.splitext(path)[1].lower() not in self._allowed_exts():
            self.path_edit.setText(with_extension(path, self._format_ext()))
        self._update()

    def _update(self) -> None:
        video = not self.image
        h264 = video and self.settings().codec == "h264"
        self.quality_row.setEnabled(h264)
        for w in (self.audio_combo, self.audio_label, self.range_whole, self.range_label):
            w.setEnabled(video)
        self.range_marked.setEnabled(video and self.marked_range is not None)
        self.audio_combo.setEnabled(video and self._has_audio)
        mutes = len(self.doc.project.audio_mutes)
        if self.image:
            text = ""
        elif not self._has_audio:
            text = "The video has no audio." + (f" Its {mutes} audio mute(s) have nothing to silence." if mutes else "")
        elif self.audio_combo.currentData() == "drop":
            text = "The soundtrack is left out." + (f" ({mutes} audio mute(s) not needed.)" if mutes else "")
        elif mutes:
            text = f"{mutes} muted span{'s' if mutes != 1 else ''} will be applied (audio re-encoded)."
        else:
            text = "Audio packets are copied unchanged."
        self.mute_note.setText(text)
        self.mute_note.setVisible(bool(text))

    def browse(self) -> None:
        key = self.format_key()
        exts = self._allowed_exts()
        what = "Images" if self.image else ("Matroska video" if key == "mkv" else "Videos")
        filt = f"{what} ({' '.join('*' + e for e in exts)});;All files (*)"
        path, _ = QFileDialog.getSaveFileName(self, "Export redacted video", self.path_edit.text(), filt)
        if path:
            if os.path.splitext(path)[1].lower() not in exts:
                path = with_extension(path, self._format_ext()) if os.path.splitext(path)[1] else path + exts[0]
            self.path_edit.setText(path)

    # -- checking --------------------------------------------------------------------------------
    def problem(self) -> str | None:
        """Why the chosen output can't be written (None when it can)."""
        out = self.output_path()
        if not out:
            return "choose an output file"
        if self.media_path and (same_file(out, self.media_path)
                                or os.path.normcase(out) == os.path.normcase(os.path.abspath(self.media_path))):
            return "the output cannot be the input video: choose another file name"
        if os.path.isdir(out):
            return f"the output is a folder: {out}"
        folder = os.path.dirname(out)
        if not os.path.isdir(folder):
            return f"the output folder does not exist: {folder}"
        ext = os.path.splitext(out)[1].lower()
        if self.image:
            if ext not in IMAGE_EXTENSIONS:
                return "a photo exports to a photo: use .jpg or .png"
            return None
        try:
            container_for(out, self.settings())
        except OutputError as e:
            return str(e)
        return None

    def accept(self) -> None:
        why = self.problem()
        if why is not None:
            QMessageBox.warning(self, "Cannot export there", why[0].upper() + why[1:])
            return
        out = self.output_path()
        if os.path.exists(out):
            r = QMessageBox.question(self, "Replace file?", f"{os.path.basename(out)} already exists. Replace it?")
            if r != QMessageBox.StandardButton.Yes:
                return
        super().accept()

    # -- helpers ---------------------------------------------------------------------------------
    def _tc(self, frame: int) -> str:
        return self.doc.timecode(frame) if self.doc.frame_count else "00:00:00:00"

    def _input_codec_text(self) -> str:
        info = getattr(self.doc, "info", None)
        codec = (info.codec if info else "unknown").upper()
        return f"{codec} in {os.path.splitext(self.media_path)[1].lower() or 'this file'}"

