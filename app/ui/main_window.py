"""The editor's main window: menus, toolbar, dockable panels, status bar, analysis and autosave."""

from __future__ import annotations

import os
import weakref

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from app import __version__
from app.core.edits import ReviewRules
from app.errors import ObscuraError
from app.ui import autosave
from app.ui.document import PROJECT_SUFFIX, Document, MediaMissing

VIDEO_FILTER = "Videos (*.mp4 *.mov *.m4v *.mkv *.avi *.webm *.mts *.m2ts *.ts *.gif);;All files (*)"
PROJECT_FILTER = f"Obscura projects (*{PROJECT_SUFFIX} *.json)"
MAX_RECENT = 10
AUTOSAVE_MS = 30_000


class MainWindow(QMainWindow):
    integrityWarning = Signal(str)  # a model-integrity warning (from any thread)

    def __init__(self, settings: QSettings | None = None):
        super().__init__()
        self.settings = settings or QSettings()
        self.doc = Document(self)
        self.setWindowTitle("Obscura")
        self.setAcceptDrops(True)
        self.resize(1440, 900)
        from app.ui.layout import WindowLayout
        from app.ui.shortcuts import ShortcutManager
        from app.ui.status import StatusBar

        self.setStatusBar(StatusBar(self))
        self.layout_ctl = WindowLayout(self, self.settings)
        self._build_widgets()
        self._build_actions()
        self._build_status_bar()
        self._build_editing()
        self._build_privacy()
        self._build_workspace()
        self.layout_ctl.capture_default()
        self._restore_layout()
        self.shortcuts = ShortcutManager(self, self.settings)
        self.shortcuts.collect()
        self.shortcuts.apply_saved()
        self.doc.frameChanged.connect(self._update_position)
        self.doc.projectReplaced.connect(self._on_project_replaced)
        self.doc.dirtyChanged.connect(lambda _d: self._update_title())
        self._autosave_timer = QTimer(self)
        self._autosave_timer.setInterval(AUTOSAVE_MS)
        self._autosave_timer.timeout.connect(self.autosave_now)
        self._autosave_timer.start()
        self._update_title()
        QTimer.singleShot(0, self._show_device)

    # -- construction ---------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        from app.ui.frame_provider import FrameProvider, ThumbnailProvider
        from app.ui.inspector import InspectorPanel
        from app.ui.timeline import TimelineWidget
        from app.ui.track_list import TrackListPanel
        from app.ui.transport import PlaybackController, Transport
        from app.ui.video_view import VideoView

        self.frames = FrameProvider(self)
        self.thumbs = ThumbnailProvider(self)
        self.view = VideoView(self.doc, self.frames)
        self.playback = PlaybackController(self.doc, self.frames, self)
        self.transport = Transport(self.doc, self.playback)
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.transport)
        self.setCentralWidget(central)
        self.playback.install_shortcuts(self)

        self.timeline = TimelineWidget(self.doc)
        self.timeline.set_thumbnail_source(lambda i, h: self.thumbs.thumbnail(i, h))
        self.thumbs.thumbnailReady.connect(self.timeline.thumbnail_ready)
        self.track_list = TrackListPanel(self.doc)
        self.inspector = InspectorPanel(self.doc)
        self.timeline_dock = self._dock("Timeline", self.timeline, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.tracks_dock = self._dock("Tracks", self.track_list, Qt.DockWidgetArea.RightDockWidgetArea)
        self.inspector_dock = self._dock("Inspector", self.inspector.scroll_area(),
                                         Qt.DockWidgetArea.RightDockWidgetArea)
        self.splitDockWidget(self.tracks_dock, self.inspector_dock, Qt.Orientation.Vertical)

    def _dock(self, title: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title.lower() + "_dock")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_actions(self) -> None:
        from app.ui.menus import build_window_actions

        build_window_actions(self)

    def _build_editing(self) -> None:
        """Editing actions, the History panel, File ▸ Export and Help ▸ Keyboard Shortcuts."""
        from PySide6.QtWidgets import QUndoView

        from app.ui.analysis_ui import AnalysisController
        from app.ui.edit_actions import EditActions
        from app.ui.export_ui import ExportController

        self.edit_actions = EditActions(self)
        self.analysis = AnalysisController(self)
        self.exporter = ExportController(self)
        from app.ui.leak_panel import LeakPanel

        self.leak_panel = LeakPanel(self.doc)
        self.leak_panel.leakSelected.connect(self.view.set_leak)
        self.leak_dock = self._dock("Leak check", self.leak_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.exporter.leakCheckFinished.connect(self._show_leak_report)
        self.history = QUndoView(self.doc.undo)
        self.history.setEmptyLabel("<project opened>")
        self.history_dock = self._dock("History", self.history, Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.inspector_dock, self.history_dock)
        self.tabifyDockWidget(self.inspector_dock, self.leak_dock)
        self.inspector_dock.raise_()
        from app.ui.menus import make_action

        self.act_export = make_action(self, "&Export Redacted Video…", self.exporter.export_dialog, "Ctrl+E",
                                      icon_key="export")
        self.act_shortcuts = make_action(self, "&Keyboard Shortcuts", self.show_shortcuts, "F1", icon_key="shortcuts")
        self.act_operator = make_action(self, "&Operator Name…", self.ask_operator_name, None,
                                        "Your name, recorded in the audit report and on the tracks you change",
                                        icon_key="operator")
        name = str(self.settings.value("operator/name", "") or "")
        if name:
            self.doc.operator = name
        menus = {a.text(): a.menu() for a in self.menuBar().actions()}
        file_menu = menus["&File"]
        file_menu.insertAction(self.act_quit, self.act_export)
        file_menu.insertSeparator(self.act_quit)
        menus["&Edit"].addSeparator()
        menus["&Edit"].addAction(self.act_operator)
        view_menu = menus["&View"]
        view_menu.addAction(self.history_dock.toggleViewAction())
        view_menu.addAction(self.leak_dock.toggleViewAction())
        help_menu = menus["&Help"]
        help_menu.insertAction(help_menu.actions()[0], self.act_shortcuts)

    def _build_privacy(self) -> None:
        """File > Clear Cache..., the sweep of caches whose project is gone, and the integrity
        warnings (OBSCURA_MANIFEST, unverified weights) shown in the status bar."""
        from app import assets, cache
        from app.ui.menus import make_action

        self.act_clear_cache = make_action(self, "Clear &Cache…", lambda: self.clear_cache(),
                                           tip="Delete the per-project caches (frame tables; no images)",
                                           icon_key="clear_cache")
        file_menu = {a.text(): a.menu() for a in self.menuBar().actions()}["&File"]
        file_menu.insertAction(self.act_quit, self.act_clear_cache)
        file_menu.insertSeparator(self.act_quit)
        self.integrity_label = QLabel("")
        self.integrity_label.setStyleSheet("color: #e0a030;")
        self.integrity_label.hide()
        self.statusBar().addPermanentWidget(self.integrity_label)
        self.integrityWarning.connect(self._show_integrity_warning)
        me = weakref.ref(self)

        def sink(message: str) -> None:  # called from any thread; a closed window drops out
            win = me()
            if win is None:
                raise RuntimeError("window gone")
            win.integrityWarning.emit(message)

        self._integrity_sink = sink
        try:
            cache.sweep()
        except OSError:
            pass
        assets.check_manifest_setting()
        assets.add_warning_sink(self._integrity_sink)

    def _show_integrity_warning(self, message: str) -> None:
        from app.assets import integrity_warnings

        self.integrity_label.setText("⚠ models not verified")
        self.integrity_label.setToolTip("\n".join(integrity_warnings()) or message)
        self.integrity_label.show()
        self.statusBar().showMessage(f"warning: {message}", 15000)

    def clear_cache(self, confirm: bool = True) -> bool:
        """Delete every per-project cache folder and the frames and thumbnails held in memory."""
        from app import cache

        n, size = len(cache.entries()), cache.total_size()
        if confirm:
            r = QMessageBox.question(
                self, "Clear cache",
                f"Delete Obscura's caches ({n} project folder(s), {size / 1024:.0f} KiB of frame tables; they "
                "never hold images) and the frames and thumbnails held in memory? They are rebuilt when needed.",
            )
            if r != QMessageBox.StandardButton.Yes:
                return False
        gone = cache.clear(everything=True)
        self.frames.clear_cache()
        self.thumbs.clear_cache()
        self.timeline.update()
        self.statusBar().showMessage(f"Cache cleared: {len(gone)} folder(s), {size / 1024:.0f} KiB", 6000)
        return True

    def ask_operator_name(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        name, ok = QInputDialog.getText(self, "Operator name", "Your name (for the audit report):",
                                        text=self.doc.operator)
        if ok and name.strip():
            self.set_operator_name(name.strip())

    def set_operator_name(self, name: str) -> None:
        self.doc.operator = name
        self.settings.setValue("operator/name", name)

    def _show_leak_report(self, report) -> None:
        self.leak_panel.set_report(report)
        self.leak_dock.show()
        self.leak_dock.raise_()

    def shortcut_rows(self) -> list[tuple[str, str]]:
        """(action, keys) for every shortcut as assigned now, the transport's keys included."""
        return self.shortcuts.rows()

    def show_shortcuts(self) -> None:
        from app.ui.shortcuts import shortcuts_dialog

        self.shortcuts_dialog = shortcuts_dialog(self, self.shortcuts)
        self.shortcuts_dialog.show()

    def show_preferences(self) -> None:
        """Edit ▸ Preferences…: remap the shortcuts (saved at once)."""
        from app.ui.shortcuts import PreferencesDialog

        self.preferences_dialog = PreferencesDialog(self, self.shortcuts)
        self.preferences_dialog.show()

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.position_label = QLabel("frame –")
        self.device_label = QLabel("models: –")
        self.analysis_label = QLabel("no analysis")
        from app.ui.job_progress import JobProgress

        self.job_progress = JobProgress("Cancel")  # the analysis's (the export has its own)
        self.job_progress.cancelRequested.connect(self.cancel_analysis)
        self.progress, self.cancel_button = self.job_progress.bar, self.job_progress.cancel_button
        sb.addWidget(self.position_label)
        sb.addPermanentWidget(self.analysis_label)
        sb.addPermanentWidget(self.job_progress)
        sb.addPermanentWidget(self.device_label)

    # -- layout and recent files ----------------------------------------------------------------
    def _restore_layout(self) -> None:
        self.layout_ctl.restore()

    def _save_layout(self) -> None:
        self.layout_ctl.save()

    def reset_layout(self) -> None:
        """View ▸ Reset Layout."""
        self.layout_ctl.reset()
        self.statusBar().showMessage("layout reset", 3000)

    def toolbars(self) -> list:
        from PySide6.QtWidgets import QToolBar

        return self.findChildren(QToolBar)

    def change_lane_height(self, delta: int) -> None:
        self.timeline.set_lane_height(self.timeline.lane_height + delta)

    def _on_lane_height(self, px: int) -> None:
        self.settings.setValue("timeline/lane_height", int(px))

    def showEvent(self, e) -> None:  # noqa: N802 - Qt API
        super().showEvent(e)
        self.layout_ctl.on_first_show()

    def event(self, e) -> bool:
        from PySide6.QtCore import QEvent

        if e.type() == QEvent.Type.StatusTip:  # menu and toolbar hovers: through the elided message
            self.statusBar().show_status_tip(e.tip())
            return True
        return super().event(e)

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent", []) or []
        return [value] if isinstance(value, str) else list(value)

    def _add_recent(self, path: str) -> None:
        items = [p for p in self.recent_files() if p != path]
        self.settings.setValue("recent", [path, *items][:MAX_RECENT])
        self._refresh_recent()

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        for p in files:
            self.recent_menu.addAction(os.path.basename(p), lambda _c=False, p=p: self.open_path(p)).setToolTip(p)
        self.recent_menu.setEnabled(bool(files))

    # -- opening and saving ---------------------------------------------------------------------
    def open_video_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open video", self._last_dir(), VIDEO_FILTER)
        if path:
            self.open_path(path)

    def open_project_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open project", self._last_dir(), PROJECT_FILTER)
        if path:
            self.open_path(path)

    def _last_dir(self) -> str:
        return str(self.settings.value("last_dir", os.path.expanduser("~")))

    def open_path(self, path: str) -> bool:
        if not self._confirm_discard():
            return False
        try:
            self.doc.open_path(path)
        except MediaMissing as e:
            if not self._locate_media(path, e.media_path):
                return False
        except ObscuraError as e:
            self.error(str(e))
            return False
        except Exception as e:  # noqa: BLE001 - a strange file must end in a dialog, never in a dead slot
            reason = (str(e).strip().splitlines() or [""])[0]
            self.error(f"cannot open {path}: {type(e).__name__}" + (f" ({reason})" if reason else ""))
            return False
        info = self.doc.info
        if info is not None and info.damage:  # it opens (the readable part can be reviewed); say what is wrong
            self.error(f"{info.path} is truncated or corrupt: {info.damage}; you can review it, but it cannot "
                       "be exported")
        self.settings.setValue("last_dir", os.path.dirname(os.path.abspath(path)))
        self._add_recent(os.path.abspath(path))
        return True

    def _locate_media(self, project_path: str, missing: str) -> bool:
        """The project's video was moved: offer to point the project at it (its work is kept; the
        project file changes only when the operator saves)."""
        sb = QMessageBox.StandardButton
        r = QMessageBox.question(
            self, "Video not found",
            f"The video of this project was not found:\n{missing}\n\nLocate it? The project's tracks are "
            "kept; the project file changes only when you save.", sb.Yes | sb.No)
        if r != sb.Yes:
            return False
        start = os.path.dirname(missing) if os.path.isdir(os.path.dirname(missing)) else os.path.dirname(
            os.path.abspath(project_path))
        found, _ = QFileDialog.getOpenFileName(self, f"Locate {os.path.basename(missing)}", start, VIDEO_FILTER)
        if not found:
            return False
        try:
            self.doc.open_project(project_path, media_path=found)
        except ObscuraError as e:
            self.error(str(e))
            return False
        return True

    def save(self) -> bool:
        if not self.doc.has_media:
            return False
        if self.doc.project_path is None:
            return self.save_as()
        return self._save_to(self.doc.project_path)

    def save_as(self) -> bool:
        from app.ui.document import default_project_path

        start = self.doc.project_path or default_project_path(self.doc.media_path or "untitled.mp4")
        path, _ = QFileDialog.getSaveFileName(self, "Save project", start, PROJECT_FILTER)
        return self._save_to(path) if path else False

    def _save_to(self, path: str) -> bool:
        if not path.endswith(PROJECT_SUFFIX) and not path.endswith(".json"):
            path += PROJECT_SUFFIX
        before = self.doc.project_path
        try:
            self.doc.save(path)
        except ObscuraError as e:
            self.error(str(e))
            return False
        for key_path in {before, self.doc.project_path}:  # the work is on disk: no autosave to offer
            autosave.clear(self.doc.media_path, key_path)
        self._add_recent(self.doc.project_path)
        self.statusBar().showMessage(f"Saved {os.path.basename(path)}", 4000)
        return True

    def _confirm_discard(self) -> bool:
        if not self.doc.dirty:
            return True
        r = QMessageBox.question(
            self, "Unsaved changes", "The project has unsaved changes. Save them first?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
        )
        if r == QMessageBox.StandardButton.Save:
            return self.save()
        return r == QMessageBox.StandardButton.Discard

    def _build_workspace(self) -> None:
        """Groups, right-click menus, View ▸ Reset Layout and lane height, Edit ▸ Preferences."""
        from app.ui.context_menus import ContextMenus
        from app.ui.group_actions import GroupActions
        from app.ui.menus import build_layout_actions

        self.group_actions = GroupActions(self)
        self.context_menus = ContextMenus(self)
        from app.ui.reasons import ReasonActions

        self.reasons = ReasonActions(self)
        from app.ui.waveform import WaveformLoader

        self.waveform = WaveformLoader(self.doc, self.timeline, self)
        from app.ui.audio_playback import AudioPlayback

        self.audio = AudioPlayback(self.doc, self.playback, self)  # silent, saying why, without Qt Multimedia
        self.transport.layout().addWidget(self.audio.label)
        build_layout_actions(self)
        lane = self.settings.value("timeline/lane_height")
        if lane is not None:
            try:
                self.timeline.set_lane_height(int(lane))
            except (TypeError, ValueError):
                pass
        self.timeline.laneHeightChanged.connect(self._on_lane_height)

    def _on_project_replaced(self) -> None:
        self.statusBar().clearMessage()  # what was said was about the file before
        info = self.doc.info
        if info is not None:
            self.frames.open(info.path, info)
            self.thumbs.open(info.path, info)
        self._update_title()
        self._update_position(self.doc.frame)
        self.analysis_label.setText("no analysis" if not self.doc.project.tracks else
                                    f"{len(self.doc.project.tracks)} tracks")
        QTimer.singleShot(0, self.view.fit)

    # -- drag and drop --------------------------------------------------------------------------
    def dragEnterEvent(self, e) -> None:  # noqa: N802 - Qt API
        if e.mimeData().hasUrls():
            e.acceptProposedAction()

    def dropEvent(self, e) -> None:  # noqa: N802
        urls = [u.toLocalFile() for u in e.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.open_path(urls[0])

    # -- status ---------------------------------------------------------------------------------
    def _update_title(self) -> None:
        name = os.path.basename(self.doc.project_path or self.doc.media_path or "") or "no video"
        self.setWindowTitle(f"{'*' if self.doc.dirty else ''}{name} — Obscura")

    def _update_position(self, frame: int) -> None:
        if not self.doc.has_media:
            self.position_label.setText("open a video to begin (File ▸ Open, or drop a file here)")
            return
        self.position_label.setText(f"frame {frame} / {self.doc.frame_count - 1}   {self.doc.timecode(frame)}")

    def _show_device(self) -> None:
        from app.detection.sessions import choose_device

        try:
            self.device_label.setText(f"models: {choose_device('auto').describe()}")
        except ObscuraError as e:
            self.device_label.setText(f"models: {e}")

    def set_view_mode(self, mode) -> None:
        self.view.set_view_mode(mode)
        for m, a in self.mode_actions.items():
            a.setChecked(m == mode)

    def error(self, message: str) -> None:
        self.statusBar().showMessage(message, 8000)
        QMessageBox.warning(self, "Obscura", message)

    def about(self) -> None:
        QMessageBox.about(self, "About Obscura", f"Obscura {__version__}\nOn-premise video anonymisation.\n"
                          "Models run on this machine; nothing is sent anywhere.")

    # -- analysis (app.ui.analysis_ui) ----------------------------------------------------------
    @property
    def worker(self):
        """The analysis's worker (None before the first analysis)."""
        return self.analysis.worker

    def analysis_running(self) -> bool:
        return self.analysis.running()

    def start_analysis(self, confirm: bool = True) -> bool:
        return self.analysis.start(confirm)

    def cancel_analysis(self) -> None:
        self.analysis.cancel()

    def review_rules(self) -> ReviewRules:
        """When a new auto track needs review (Settings: review/min_seconds, review/min_score_<cls>)."""
        base = ReviewRules()
        st = self.settings
        scores = {c: float(st.value(f"review/min_score_{c}", base.threshold(c))) for c in ("face", "plate")}
        return ReviewRules(float(st.value("review/min_seconds", base.min_seconds)), scores)

    # -- autosave and recovery ------------------------------------------------------------------
    def autosave_now(self) -> bool:
        """Autosave a dirty project; False when that failed (the status bar says why)."""
        if self.doc.has_media and self.doc.dirty:
            try:
                autosave.write(self._autosave_project(), self.doc.media_path, self.doc.project_path)
            except ObscuraError as e:
                self.statusBar().showMessage(f"autosave failed: {e}", 8000)
                return False
        return True

    def _autosave_project(self):
        """The project to autosave. While an analysis runs: as if it were cancelled now (the
        operator's edits kept, its provisional tracks left out), so that a recovered project never
        holds a half-done analysis that would pass for a finished one (the frames not analysed yet
        would go unredacted)."""
        tracks = self.analysis.tracks_without_analysis()
        if tracks is None:
            return self.doc.project
        from dataclasses import replace

        return replace(self.doc.project, tracks=tracks)

    def offer_recovery(self, ask=None) -> bool:
        """After a crash: offer each leftover autosave. ``ask(recoverable) -> bool`` replaces the dialog."""
        for rec in autosave.pending():
            if ask is None:
                r = QMessageBox.question(
                    self, "Recover unsaved work?",
                    f"Obscura did not close properly. An autosave of\n{rec.media_path}\nfrom {rec.saved_at} "
                    "was found. Recover it?",
                )
                yes = r == QMessageBox.StandardButton.Yes
            else:
                yes = ask(rec)
            if not yes:
                rec.discard()
                continue
            try:
                project = rec.load()
                from app.errors import ProjectError
                from app.media.probe import probe

                if project.media is None:
                    raise ProjectError("the autosave names no video")
                if not os.path.exists(project.media.path):  # the video moved since: find it, keep the work
                    found = self._locate_recovered_media(project.media)
                    if found is None:
                        self.error(f"cannot recover yet: the video {project.media.path} was not found; the "
                                   "autosave is kept and offered again at the next start")
                        continue
                    project.media.path = found
                info = probe(project.media.path)
            except ObscuraError as e:
                self.error(f"cannot recover: {e}")
                continue
            project_path = rec.record.get("project") or None
            self.doc._replace(project, info, project_path)
            self.doc.mark_changed()
            if self.autosave_now():  # this session's autosave first: a crash now still leaves one of the two
                rec.discard()
            return True
        return False

    def _locate_recovered_media(self, media) -> str | None:
        """An autosave whose video moved: ask where it is now; it must be the same video (frame size
        and count). Returns the new path, or None (the autosave then stays for the next start)."""
        from app.errors import ProjectError
        from app.media.probe import not_same_video, probe

        sb = QMessageBox.StandardButton
        r = QMessageBox.question(
            self, "Video not found",
            f"The video of the unsaved work was not found:\n{media.path}\n\nLocate it? The work is kept "
            "either way.", sb.Yes | sb.No)
        if r != sb.Yes:
            return None
        start = os.path.dirname(media.path) if os.path.isdir(os.path.dirname(media.path)) else ""
        found, _ = QFileDialog.getOpenFileName(self, f"Locate {os.path.basename(media.path)}", start, VIDEO_FILTER)
        if not found:
            return None
        why = not_same_video(probe(found), media.width, media.height, media.frame_count)
        if why:
            raise ProjectError(f"{found} is not the video of the unsaved work: {why}")
        return os.path.abspath(found)

    def closeEvent(self, e) -> None:  # noqa: N802
        if not self._confirm_discard():
            e.ignore()
            return
        if self.analysis_running():
            self.worker.cancel()
            self.worker.wait(10000)
        for w in (self.edit_actions.follow_worker, self.exporter.worker):
            if w is not None and w.running:
                w.cancel()
                w.wait(10000)
        self._save_layout()
        autosave.clear(self.doc.media_path, self.doc.project_path)
        from app import assets, cache

        cache.release(self.doc.project_path, self.doc.media_path)  # an unsaved untitled project's cache goes
        assets.remove_warning_sink(self._integrity_sink)
        self.frames.close()
        self.thumbs.close()
        e.accept()


def run_editor(path: str | None = None) -> int:
    import sys

    import PySide6

    if PySide6.__version__ == "6.12.0" and sys.version_info < (3, 12):
        raise ObscuraError("PySide6 6.12.0 crashes on Python 3.11: run pip install 'PySide6-Essentials!=6.12.0'")
    app = QApplication.instance() or QApplication([])
    app.setOrganizationName("Obscura")
    app.setApplicationName("Obscura")
    from app.ui.style import apply_dark_theme

    apply_dark_theme(app)
    win = MainWindow()
    win.show()
    if not win.offer_recovery() and path:
        win.open_path(path)
    return app.exec()
