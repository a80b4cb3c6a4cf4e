"""The editing actions of the main window: keyframes, track operations, manual masks,
click-to-track and the review queue. Every edit is an undo command on the document's stack
(:meth:`Document.edit_tracks`); multi-track actions are one macro.

Keys (none clashes with the transport's Space, J, K, L, arrows, Home, End, nor 1-3 and F):

=================  ==============================================================
Insert             add a keyframe at the playhead (pins the shape shown there)
Shift+Delete       delete the keyframe at the playhead
, and .            previous / next keyframe of the selected track
Alt+arrows         nudge the selected shape 1 px (Alt+Shift: 10 px)
Ctrl+B             split the selected track at the playhead
Ctrl+M             merge the selected tracks, gaps interpolated (Ctrl+Shift+M: gaps kept)
[ and ]            set the start / end of the span at the playhead
Delete, Backspace  delete the selected tracks
E                  exempt / redact again ("keep this person visible")
V, R, C, P         select tool, rectangle, ellipse, polygon
T / Shift+T        track the selected mask forward / backward from the playhead
N / Shift+N        next / previous track to review (plays its span in a loop)
A / X              approve / reject the selected tracks (then the next to review)
I / O              mark the in / out point at the playhead (the export range, new audio mutes)
Alt+X              clear the in / out points
=================  ==============================================================

The Audio menu adds audio mutes (silence, or a 1 kHz bleep) from the in to the out point, or one
second either side of the playhead when no point is marked; Delete removes the audio mute selected
in the timeline's "Audio mutes" lane (or, when none is, the selected tracks).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QComboBox, QLabel, QMessageBox, QProgressBar, QPushButton

from app.core import edits
from app.core.edits import MANUAL_LABELS, EditError
from app.core.shapes import Shape
from app.core.track import Track

CLASSES = (("Face", "face"), ("Plate", "plate"), ("Manual mask", "manual"))


class EditActions(QObject):
    def __init__(self, win):
        super().__init__(win)
        self.win, self.doc = win, win.doc
        self.follow_worker = None
        self._reviewing = False
        self._build()
        self._build_audio()
        self.doc.tracksChanged.connect(self.update_review_counter)
        self.doc.projectReplaced.connect(self.update_review_counter)
        self.doc.selectionChanged.connect(lambda _ids: self._update_enabled())
        self.doc.message.connect(lambda text: self.win.statusBar().showMessage(text, 6000))
        view = self.win.view
        if hasattr(view, "shapeDrawn"):
            view.shapeDrawn.connect(self.add_manual_mask)
        if hasattr(view, "toolChanged"):
            view.toolChanged.connect(self._on_tool_changed)
        self.update_review_counter()
        self._update_enabled()

    # -- construction ---------------------------------------------------------------------------
    def _act(self, text: str, slot, keys=(), tip: str = "", repeat: bool = False, icon_key: str | None = None) -> QAction:
        from app.ui.icons import icon
        from app.ui.menus import action_name

        a = QAction(text, self.win)
        a.setObjectName(action_name(text))
        if icon_key:
            a.setIcon(icon(icon_key))
        seqs = [QKeySequence(k) for k in ((keys,) if isinstance(keys, (str, QKeySequence.StandardKey)) else keys)]
        if seqs:
            a.setShortcuts(seqs)
        a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        a.setAutoRepeat(repeat)
        a.setStatusTip(tip or text)
        a.triggered.connect(lambda _checked=False: slot())
        self.win.addAction(a)  # shortcuts work even when the menu bar is hidden
        return a

    def _build(self) -> None:
        A = self._act
        self.add_kf = A("Add &Keyframe at Playhead", self.add_keyframe, "Insert", icon_key="add_keyframe")
        self.del_kf = A("&Delete Keyframe at Playhead", self.delete_keyframe, "Shift+Delete")
        self.prev_kf = A("&Previous Keyframe", lambda: self.jump_keyframe(-1), ",", repeat=True)
        self.next_kf = A("&Next Keyframe", lambda: self.jump_keyframe(1), ".", repeat=True)
        self.nudges = []
        for name, dx, dy in (("Left", -1, 0), ("Right", 1, 0), ("Up", 0, -1), ("Down", 0, 1)):
            self.nudges.append(A(f"Nudge {name}", lambda dx=dx, dy=dy: self.nudge(dx, dy), f"Alt+{name}",
                                 repeat=True))
            self.nudges.append(A(f"Nudge {name} ×10", lambda dx=dx, dy=dy: self.nudge(10 * dx, 10 * dy),
                                 f"Alt+Shift+{name}", repeat=True))
        self.split = A("&Split at Playhead", self.split_track, "Ctrl+B", "Split the selected track at the playhead",
                       icon_key="split")
        self.merge = A("&Merge Selected (interpolate gaps)", lambda: self.merge_tracks(True), "Ctrl+M",
                       "Merge the selected tracks into one, the gaps between them interpolated", icon_key="merge")
        self.merge_gap = A("Merge Selected (&keep gaps)", lambda: self.merge_tracks(False), "Ctrl+Shift+M")
        self.set_start = A("Set Span &Start to Playhead", lambda: self.set_span(True), "[")
        self.set_end = A("Set Span &End to Playhead", lambda: self.set_span(False), "]")
        self.delete = A("De&lete Tracks", self.delete_selection, (QKeySequence.StandardKey.Delete, "Backspace"),
                        "Delete the selected tracks (or the selected audio mute)", icon_key="delete")
        self.exempt = A("&Exempt / Redact (keep visible)", self.toggle_exempt, "E",
                        "Exempt the selected tracks from redaction (keep this person visible), or redact them again",
                        icon_key="exempt")
        self.select_all = A("Select &All Tracks", self.select_all_tracks, "Ctrl+A")
        self.disable_plates = A("Exempt All &Plates", self.exempt_all_plates, (),
                                "Exempt every plate track (in the selection, if several tracks are selected)")
        self.class_actions = [A(f"Class: {text}", lambda c=cls: self.change_class(c)) for text, cls in CLASSES]
        self.follow_fwd = A("&Track Forward", lambda: self.track(1), "T",
                            "Follow the selected mask forward from the playhead", icon_key="track_forward")
        self.follow_back = A("Track &Backward", lambda: self.track(-1), "Shift+T",
                             "Follow the selected mask backward from the playhead", icon_key="track_back")
        self.follow_cancel = A("Cancel Tracking", self.cancel_tracking)
        self.follow_cancel.setEnabled(False)
        self.next_review = A("&Next to Review", lambda: self.next_to_review(1), "N",
                             "Select the next track that needs review and play it in a loop", icon_key="next_review")
        self.prev_review = A("&Previous to Review", lambda: self.next_to_review(-1), "Shift+N")
        self.approve = A("&Approve", lambda: self.set_review("approved"), "A", "Approve the selected tracks",
                         icon_key="approve")
        self.reject = A("&Reject (not a face/plate)", lambda: self.set_review("rejected"), "X",
                        "Reject the selected tracks: false detections, not redacted", icon_key="reject")
        self.needs = A("Mark as &Needs Review", lambda: self.set_review("needs_review"))
        # tools
        self.tool_group = QActionGroup(self.win)
        self.tool_actions = {}
        for tool, text, key in (("select", "&Select / Edit", "V"), ("rect", "&Rectangle Mask", "R"),
                                ("ellipse", "&Ellipse Mask", "C"), ("polygon", "&Polygon Mask", "P")):
            a = A(text, lambda t=tool: self.set_tool(t), key, icon_key=f"{tool}_tool")
            a.setCheckable(True)
            self.tool_group.addAction(a)
            self.tool_actions[tool] = a
        self.tool_actions["select"].setChecked(True)
        self.label_combo = QComboBox()
        self.label_combo.addItem("By shape", "")  # "rectangle", "ellipse" or "polygon": what was drawn
        for label in MANUAL_LABELS:
            self.label_combo.addItem(label.capitalize(), label)
        self.label_combo.setToolTip("Label of the next manual mask (By shape: Rectangle, Ellipse or Polygon)")
        self.label_combo.setFocusPolicy(Qt.FocusPolicy.ClickFocus)

        mb = self.win.menuBar()
        edit = next((m.menu() for m in mb.actions() if m.text() == "&Edit"), None) or mb.addMenu("&Edit")
        edit.addSeparator()
        for a in (self.add_kf, self.del_kf, self.prev_kf, self.next_kf):
            edit.addAction(a)
        nudge = edit.addMenu("Nu&dge")
        for a in self.nudges:
            nudge.addAction(a)
        edit.addSeparator()
        edit.addAction(self.select_all)
        m = mb.addMenu("&Track")
        for a in (self.split, self.merge, self.merge_gap, self.set_start, self.set_end, None, self.exempt,
                  self.disable_plates, None):
            m.addSeparator() if a is None else m.addAction(a)
        cm = m.addMenu("&Class")
        for a in self.class_actions:
            cm.addAction(a)
        m.addSeparator()
        m.addAction(self.delete)
        m = mb.addMenu("&Mask")
        for a in self.tool_actions.values():
            m.addAction(a)
        m.addSeparator()
        for a in (self.follow_fwd, self.follow_back, self.follow_cancel):
            m.addAction(a)
        m = mb.addMenu("&Review")
        for a in (self.next_review, self.prev_review, None, self.approve, self.reject, self.needs):
            m.addSeparator() if a is None else m.addAction(a)

        from app.ui.menus import icon_toolbar

        tb = icon_toolbar(self.win, "Edit", "edit_toolbar")
        for a in self.tool_actions.values():
            tb.addAction(a)
        tb.addWidget(self.label_combo)
        tb.addSeparator()
        for a in (self.follow_back, self.follow_fwd, None, self.split, self.merge, self.exempt, None,
                  self.next_review, self.approve, self.reject):
            tb.addSeparator() if a is None else tb.addAction(a)

        sb = self.win.statusBar()
        self.review_label = QLabel("review: –")
        self.follow_progress = QProgressBar()
        self.follow_progress.setMaximumWidth(160)
        self.follow_progress.setVisible(False)
        self.follow_cancel_button = QPushButton("Stop tracking")
        self.follow_cancel_button.setVisible(False)
        self.follow_cancel_button.clicked.connect(self.cancel_tracking)
        sb.addPermanentWidget(self.review_label)
        sb.addPermanentWidget(self.follow_progress)
        sb.addPermanentWidget(self.follow_cancel_button)

    def all_actions(self) -> list[QAction]:
        return [a for a in self.win.actions() if a.shortcuts()]

    # -- helpers ---------------------------------------------------------------------------------
    def _selected(self) -> list[Track]:
        return [t for t in (self.doc.project.track(i) for i in self.doc.selection) if t is not None]

    def _one(self) -> Track | None:
        sel = self._selected()
        if len(sel) != 1:
            self.doc.message.emit("select one track first" if not sel else "select only one track")
            return None
        return sel[0]

    def _update_enabled(self) -> None:
        n = len(self.doc.selection)
        for a in (self.add_kf, self.del_kf, self.prev_kf, self.next_kf, self.split, self.set_start, self.set_end,
                  self.follow_fwd, self.follow_back, *self.nudges):
            a.setEnabled(n == 1)
        for a in (self.delete, self.exempt, self.approve, self.reject, self.needs, *self.class_actions):
            a.setEnabled(n >= 1)
        self.merge.setEnabled(n >= 2)
        self.merge_gap.setEnabled(n >= 2)
        if hasattr(self, "delete_mute"):
            self._update_audio_enabled()

    # -- audio mutes and in/out points -------------------------------------------------------------
    def _build_audio(self) -> None:
        A = self._act
        self.mark_in = A("Mark &In", self.mark_in_point, "I", "Mark the in point at the playhead", icon_key="mark_in")
        self.mark_out = A("Mark &Out", self.mark_out_point, "O", "Mark the out point at the playhead",
                          icon_key="mark_out")
        self.clear_marks = A("&Clear In/Out", self.clear_in_out, "Alt+X")
        self.mute_audio = A("&Mute Audio from In to Out", lambda: self.add_audio_mute("silence"), (),
                            "Silence the soundtrack from the in to the out point (or 1 s around the playhead)",
                            icon_key="mute")
        self.bleep_audio = A("&Bleep (1 kHz) from In to Out", lambda: self.add_audio_mute("tone"), (),
                             "Replace the soundtrack from the in to the out point with a 1 kHz tone", icon_key="bleep")
        self.mute_mode = A("Switch Silence / &Bleep", self.toggle_mute_mode, (),
                           "Switch the selected audio mute between silence and a 1 kHz tone")
        self.delete_mute = A("&Delete Audio Mute", self.delete_audio_mute, (),
                             "Remove the audio mute selected in the timeline (Delete)")
        m = self.win.menuBar().addMenu("&Audio")
        for a in (self.mark_in, self.mark_out, self.clear_marks, None, self.mute_audio, self.bleep_audio,
                  None, self.mute_mode, self.delete_mute):
            m.addSeparator() if a is None else m.addAction(a)
        tl = getattr(self.win, "timeline", None)
        if tl is not None and hasattr(tl, "muteSelectionChanged"):
            tl.muteSelectionChanged.connect(lambda _m: self._update_enabled())
        self.doc.tracksChanged.connect(self._update_audio_enabled)

    def selected_mute(self):
        """The audio mute selected in the timeline's mute lane, or None."""
        tl = getattr(self.win, "timeline", None)
        mid = getattr(tl, "selected_mute", None)
        return next((m for m in self.doc.project.audio_mutes if m.id == mid), None) if mid else None

    def _update_audio_enabled(self) -> None:
        has = self.selected_mute() is not None
        self.delete_mute.setEnabled(has)
        self.mute_mode.setEnabled(has)
        if has:
            self.delete.setEnabled(True)  # Delete removes the selected mute

    def mark_in_point(self) -> None:
        self.doc.set_in_point(self.doc.frame)
        self.doc.message.emit(f"in point: {self.doc.timecode()}")

    def mark_out_point(self) -> None:
        self.doc.set_out_point(self.doc.frame)
        self.doc.message.emit(f"out point: {self.doc.timecode()}")

    def clear_in_out(self) -> None:
        self.doc.clear_in_out()
        self.doc.message.emit("in/out points cleared")

    def mute_range(self) -> tuple[int, int] | None:
        """The frames a new audio mute covers: the in/out range, else one second either side of the
        playhead; None without media."""
        n = self.doc.frame_count
        if not n:
            return None
        marked = self.doc.in_out_range()
        if marked is not None:
            return marked
        second = max(1, round(self.doc.fps))
        f = self.doc.frame
        return max(0, f - second), min(n - 1, f + second)

    def add_audio_mute(self, mode: str = "silence", label: str = ""):
        """A new audio mute over :meth:`mute_range`, selected in the timeline; returns it."""
        from app.core.audio import AudioMute
        from app.ui.timeline.mutes import new_mute_id

        rng = self.mute_range()
        if rng is None:
            self.doc.message.emit("open a video first")
            return None
        mutes = self.doc.project.audio_mutes
        mute = AudioMute(new_mute_id(mutes), rng[0], rng[1], mode, label)
        what = "Bleep" if mode == "tone" else "Mute audio"
        self.doc.edit(f"{what} {self.doc.timecode(rng[0])}–{self.doc.timecode(rng[1])}", list(self.doc.project.tracks),
                      audio_mutes=[*mutes, mute])
        tl = getattr(self.win, "timeline", None)
        if tl is not None and hasattr(tl, "set_selected_mute"):
            tl.set_selected_mute(mute.id)
        if self.doc.info is not None and not self.doc.info.audio:
            self.doc.message.emit("note: this video has no audio; the mute has nothing to silence")
        return mute

    def delete_audio_mute(self) -> bool:
        m = self.selected_mute()
        if m is None:
            self.doc.message.emit("select an audio mute in the timeline first")
            return False
        from app.ui.timeline.mutes import replaced

        self.doc.edit(f"Delete audio mute {m.id}", list(self.doc.project.tracks),
                      audio_mutes=replaced(self.doc.project.audio_mutes, None, m.id))
        return True

    def toggle_mute_mode(self) -> None:
        from dataclasses import replace

        from app.ui.timeline.mutes import replaced

        m = self.selected_mute()
        if m is None:
            self.doc.message.emit("select an audio mute in the timeline first")
            return
        new = replace(m, mode="silence" if m.mode == "tone" else "tone")
        self.doc.edit("Bleep audio mute" if new.mode == "tone" else "Silence audio mute",
                      list(self.doc.project.tracks), audio_mutes=replaced(self.doc.project.audio_mutes, new, m.id))

    def delete_selection(self) -> None:
        """Delete: the selected audio mute when there is one (and no track is selected), else the
        selected tracks."""
        if not self.doc.selection and self.selected_mute() is not None:
            self.delete_audio_mute()
        else:
            self.delete_tracks()

    # -- keyframes -------------------------------------------------------------------------------
    def add_keyframe(self) -> None:
        if (t := self._one()) is not None:
            self.doc.edit_tracks("Add keyframe", [t.id], lambda t: edits.add_keyframe(t, self.doc.frame))

    def delete_keyframe(self) -> None:
        if (t := self._one()) is not None:
            self.doc.edit_tracks("Delete keyframe", [t.id], lambda t: edits.delete_keyframe(t, self.doc.frame))

    def jump_keyframe(self, direction: int) -> None:
        if (t := self._one()) is not None:
            f = edits.neighbour_keyframe(t, self.doc.frame, direction)
            if f is None:
                self.doc.message.emit(f"no {'next' if direction > 0 else 'previous'} keyframe")
            else:
                self.win.playback.pause()
                self.doc.set_frame(f)

    def nudge(self, dx: float, dy: float) -> None:
        """Move the selected shape ``dx``, ``dy`` pixels on the picture as shown (Alt+Right: right
        on screen, whatever the video's display rotation)."""
        if (t := self._one()) is not None:
            cx, cy = self.doc.orientation.vector_coded(dx, dy)
            self.doc.edit_tracks("Nudge mask", [t.id], lambda t: edits.nudge(t, self.doc.frame, cx, cy))

    # -- track operations --------------------------------------------------------------------------
    def split_track(self) -> None:
        if (t := self._one()) is None:
            return
        new_id = self.doc.project.new_track_id(t.cls)
        self.doc.edit_tracks("Split track", [t.id], lambda t: edits.split(t, self.doc.frame, new_id),
                             select_new=True)

    def merge_tracks(self, interpolate: bool) -> None:
        sel = self._selected()
        try:
            merged = edits.merge(sel, interpolate_gaps=interpolate)
        except EditError as e:
            self.doc.message.emit(str(e))
            return
        gone = {t.id for t in sel} - {merged.id}
        tracks = [merged if t.id == merged.id else t for t in self.doc.project.tracks if t.id not in gone]
        self.doc.edit(f"Merge {len(sel)} tracks", tracks, selection=[merged.id])

    def set_span(self, start: bool) -> None:
        if (t := self._one()) is not None:
            fn = edits.set_start if start else edits.set_end
            self.doc.edit_tracks("Set span start" if start else "Set span end", [t.id], lambda t: fn(t, self.doc.frame))

    def delete_tracks(self) -> None:
        sel = self.doc.selection
        if sel:
            self.doc.edit_tracks(f"Delete {len(sel)} track(s)", sel, lambda t: None)

    def toggle_exempt(self) -> None:
        sel = self._selected()
        if not sel:
            return
        enable = not all(t.enabled for t in sel)  # any exempt: redact them all again
        text = "Redact" if enable else "Exempt (keep visible)"
        with self.doc.macro(f"{text}: {len(sel)} track(s)"):
            for t in sel:
                if t.enabled != enable:
                    self.doc.edit_tracks(text, [t.id], lambda t: edits.clone(t, enabled=enable))

    def exempt_all_plates(self) -> None:
        pool = self._selected() if len(self.doc.selection) > 1 else self.doc.project.tracks
        plates = [t for t in pool if t.cls == "plate" and t.enabled]
        if not plates:
            self.doc.message.emit("no plate tracks to exempt")
            return
        with self.doc.macro(f"Exempt {len(plates)} plate track(s)"):
            for t in plates:
                self.doc.edit_tracks("Exempt plate", [t.id], lambda t: edits.clone(t, enabled=False))

    def select_all_tracks(self) -> None:
        self.doc.set_selection([t.id for t in self.doc.project.tracks if not self.doc.is_hidden(t.id)])

    def change_class(self, cls: str) -> None:
        sel = self.doc.selection
        if sel:
            self.doc.edit_tracks(f"Class: {cls}", sel, lambda t: edits.change_class(t, cls))

    # -- manual masks ----------------------------------------------------------------------------
    def set_tool(self, tool: str) -> None:
        if hasattr(self.win.view, "set_tool"):
            self.win.view.set_tool(tool)
        self._on_tool_changed(tool)

    def _on_tool_changed(self, tool: str) -> None:
        a = self.tool_actions.get(tool)
        if a is not None and not a.isChecked():
            a.setChecked(True)

    def add_manual_mask(self, shape: Shape) -> Track:
        """A drawn shape becomes a new manual track, static from the playhead to the end of the
        clip (over-redaction is the safe default: trim it with ] or track it with T)."""
        label = self.label_combo.currentData() or edits.SHAPE_LABELS.get(shape.kind.value, "other")
        tid = self.doc.project.new_track_id("manual")
        end = max(self.doc.frame, self.doc.frame_count - 1)
        track = edits.new_manual_track(tid, shape, self.doc.frame, end, label=label)
        self.doc.edit(f"Draw {shape.kind.value} mask ({label})", [*self.doc.project.tracks, track], selection=[tid])
        return self.doc.project.track(tid)

    # -- click-to-track ----------------------------------------------------------------------------
    def tracking_running(self) -> bool:
        return self.follow_worker is not None and self.follow_worker.running

    def track(self, direction: int) -> bool:
        t = self._one()
        if t is None or self.tracking_running() or not self.doc.has_media:
            return False
        frame = self.doc.frame
        shape = t.shape_at(frame)
        if shape is None:
            self.doc.message.emit(f"track {t.id} shows nothing at frame {frame}: move to one of its frames")
            return False
        from app.tracking.follow import follow
        from app.ui.workers import PipelineWorker

        info, path, tid = self.doc.info, self.doc.media_path, t.id
        box = shape.bbox
        self.follow_worker = PipelineWorker(lambda cancel: follow(path, info, frame, box, direction, cancel=cancel))
        self.follow_worker.progress.connect(self._on_follow_progress)
        self._follow_job = (tid, frame, shape, direction)
        self.follow_worker.finished.connect(self._on_follow_finished)  # a bound slot: runs on the main thread
        self.follow_worker.failed.connect(self._on_follow_failed)
        self.follow_progress.setRange(0, 0)
        self.follow_progress.setVisible(True)
        self.follow_cancel_button.setVisible(True)
        self.follow_cancel.setEnabled(True)
        self.win.statusBar().showMessage(f"tracking {tid} {'forward' if direction > 0 else 'backward'}…")
        self.follow_worker.start()
        return True

    def cancel_tracking(self) -> None:
        if self.tracking_running():
            self.follow_worker.cancel()

    def _on_follow_progress(self, p) -> None:
        if p.total:
            self.follow_progress.setRange(0, p.total)
            self.follow_progress.setValue(p.done)

    def _follow_ui_done(self) -> None:
        self.follow_progress.setVisible(False)
        self.follow_cancel_button.setVisible(False)
        self.follow_cancel.setEnabled(False)

    def _on_follow_finished(self, result) -> None:
        self._on_follow_done(result, *self._follow_job)

    def _on_follow_done(self, result, tid: str, frame: int, shape: Shape, direction: int) -> None:
        self._follow_ui_done()
        if result is None or len(result.boxes) <= 1:
            self.doc.message.emit("tracking found nothing to follow" if result is None or not result.cancelled
                                  else "tracking cancelled")
            return
        text = f"Track {'forward' if direction > 0 else 'backward'} ({len(result.boxes) - 1} frames)"
        ok = self.doc.edit_tracks(text, [tid], lambda t: edits.apply_follow(t, frame, shape, result.boxes))
        why = {"lost": "lost the object", "end": "reached the end", "limit": "reached the limit",
               "cancelled": "cancelled"}.get(result.stopped, result.stopped)
        if ok:
            self.doc.message.emit(f"tracked {tid} over {len(result.boxes) - 1} frames to frame "
                                  f"{result.last_frame} ({why})")

    def _on_follow_failed(self, message: str) -> None:
        self._follow_ui_done()
        self.win.error(message)

    # -- review --------------------------------------------------------------------------------
    def review_queue(self) -> list[Track]:
        """Tracks that need review, in order of their first frame."""
        ts = [t for t in self.doc.project.tracks if t.review == "needs_review" and t.keyframes]
        return sorted(ts, key=lambda t: (t.first_frame, t.id))

    def next_to_review(self, direction: int = 1) -> Track | None:
        """Select the next track that needs review, after the selected one (in time order), and
        play its span in a loop."""
        queue = self.review_queue()
        if not queue:
            self.win.playback.pause()
            self.doc.message.emit("nothing left to review")
            return None
        order = sorted(self.doc.project.tracks, key=lambda t: (t.first_frame if t.first_frame is not None else -1,
                                                               t.id))
        sel = self.doc.selection
        pos = next((i for i, t in enumerate(order) if sel and t.id == sel[0]), None)
        keys = [(t.first_frame, t.id) for t in order]
        if pos is None:
            target = queue[0] if direction > 0 else queue[-1]
        else:
            here = keys[pos]
            later = [t for t in queue if (t.first_frame, t.id) > here]
            earlier = [t for t in queue if (t.first_frame, t.id) < here]
            if direction > 0:
                target = later[0] if later else queue[0]
            else:
                target = earlier[-1] if earlier else queue[-1]
        self.doc.set_selection([target.id])
        spans = target.spans()
        first, last = spans[0][0], spans[-1][1]
        self.win.playback.play_loop(first, last)
        if hasattr(self.win.timeline, "ensure_track_visible"):
            self.win.timeline.ensure_track_visible(target.id)
        return target

    def set_review(self, state: str) -> None:
        sel = self.doc.selection
        if not sel:
            self.doc.message.emit("select a track first")
            return
        looping = self.win.playback.loop is not None
        name = {"approved": "Approve", "rejected": "Reject", "needs_review": "Needs review"}[state]
        self.doc.edit_tracks(f"{name} {len(sel)} track(s)", sel, lambda t: edits.clone(t, review=state))
        if looping and state != "needs_review":
            self.next_to_review(1)  # the review loop goes on with the next one

    def update_review_counter(self) -> None:
        ts = self.doc.project.tracks
        todo = sum(1 for t in ts if t.review == "needs_review")
        ok = sum(1 for t in ts if t.review == "approved")
        bad = sum(1 for t in ts if t.review == "rejected")
        self.review_label.setText(f"review: {todo} to do · {ok} approved · {bad} rejected")

    def warn_unreviewed(self) -> bool:
        """Before export: True to go on. Asks when tracks still need review."""
        todo = len(self.review_queue())
        if not todo:
            return True
        r = QMessageBox.question(
            self.win, "Tracks need review",
            f"{todo} track(s) still need review. They will be redacted as they are.\n\nExport anyway?",
        )
        return r == QMessageBox.StandardButton.Yes
