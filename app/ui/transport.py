"""Playback: the clock that moves the playhead, J/K/L shuttle, keyboard shortcuts, transport bar.

``PlaybackController`` drives ``doc.frame`` from a wall clock: at each tick the playhead goes to
the frame the clock says (start frame + elapsed x fps x speed), so when decoding cannot keep up,
frames are dropped (the viewport shows the newest frame it has) instead of playback falling
behind. Variable-frame-rate media play at their average rate.

``Transport`` is the bar under the viewport: buttons, a jog slider, a go-to box and the position.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from PySide6.QtCore import QElapsedTimer, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QSlider, QStyle, QToolButton, QWidget

from app.core.timebase import seconds_to_frame

MAX_SHUTTLE = 8  # J/L speeds: 1x, 2x, 4x, 8x

_SECONDS = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)\s*(s|sec|secs|second|seconds)$")
_TIMECODE = re.compile(r"^(\d+):(\d{1,2}):(\d{1,2})[:;](\d{1,3})$")
_CLOCK = re.compile(r"^(?:(\d+):)?(\d+):(\d{1,2}(?:\.\d*)?)$")


def parse_position(text: str, fps: Fraction, frame_count: int, current: int = 0, info=None) -> int:
    """A frame index from what the user typed (ValueError with a readable message otherwise).

    ``123`` frame 123; ``+10`` / ``-10`` relative to ``current``; ``00:00:04:03`` timecode
    HH:MM:SS:FF (``round(fps)`` frames per timecode second, as the app displays it);
    ``4.5s`` seconds; ``1:30`` or ``0:01:30.5`` clock time. The result is clamped to the video.
    """
    t = text.strip().lower()
    fps = Fraction(fps)
    if not t:
        raise ValueError("type a frame number, a timecode (00:00:04:03) or seconds (4.5s)")
    if re.fullmatch(r"[+-]\d+", t):
        frame = current + int(t)
    elif t.isdigit():
        frame = int(t)
    elif m := _SECONDS.match(t):
        frame = _frame_at(Fraction(m.group(1)), fps, info)
    elif m := _TIMECODE.match(t):
        h, mi, s, ff = (int(g) for g in m.groups())
        nominal = max(1, round(fps))
        if ff >= nominal or mi >= 60 or s >= 60:
            raise ValueError(f"{text.strip()} is not a valid timecode (frames go to {nominal - 1})")
        frame = ((h * 60 + mi) * 60 + s) * nominal + ff
    elif m := _CLOCK.match(t):
        h, mi, s = int(m.group(1) or 0), int(m.group(2)), Fraction(m.group(3))
        if s >= 60 or (m.group(1) and mi >= 60):
            raise ValueError(f"{text.strip()} is not a valid time")
        frame = _frame_at((h * 60 + mi) * 60 + s, fps, info)
    else:
        raise ValueError(f"cannot read {text.strip()!r}: type a frame number, a timecode or seconds")
    return max(0, min(frame, max(0, frame_count - 1)))


def _frame_at(seconds: Fraction, fps: Fraction, info) -> int:
    """The frame showing at ``seconds`` from the start (by timestamps when they are known)."""
    if info is not None and info.pts:
        return info.index_of_pts(info.start_pts + math.floor(seconds / info.time_base))
    return seconds_to_frame(seconds, fps)


class PlaybackController(QObject):
    """Play, pause, shuttle and step; owns the playback clock."""

    stateChanged = Signal()  # playing or speed changed

    def __init__(self, doc, provider=None, parent: QObject | None = None):
        super().__init__(parent)
        self.doc, self.provider = doc, provider
        self._speed = 0.0  # signed; 0 = paused
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)
        self._clock = QElapsedTimer()
        self._anchor = 0
        self._moving = False  # True while the controller itself moves the playhead
        self.loop: tuple[int, int] | None = None  # (first, last) frame played over and over
        self.shortcuts: list[QShortcut] = []
        doc.projectReplaced.connect(self.pause)
        doc.frameChanged.connect(self._on_frame_changed)

    # -- state ------------------------------------------------------------------------------------
    @property
    def playing(self) -> bool:
        return self._speed != 0

    @property
    def speed(self) -> float:
        """Signed playback speed: 1 normal, 2 and 4 fast forward, -1 backward, 0 paused."""
        return self._speed

    @property
    def fps(self) -> Fraction:
        return self.doc.fps

    # -- commands ---------------------------------------------------------------------------------
    def play(self, speed: float = 1.0) -> None:
        self.loop = None
        n = self.doc.frame_count
        if n <= 1 or speed == 0:
            self.pause()
            return
        if speed > 0 and self.doc.frame >= n - 1:
            self._move(0)  # play at the end starts over
        elif speed < 0 and self.doc.frame <= 0:
            self._move(n - 1)
        self._speed = float(speed)
        self._restart_clock()
        interval = 1000.0 / (float(self.fps) * abs(self._speed))
        self._timer.start(max(4, min(20, int(interval / 2))))
        if self.provider is not None:
            self.provider.set_playing(True, 1 if speed > 0 else -1, abs(speed))
        self.stateChanged.emit()

    def play_loop(self, first: int, last: int) -> None:
        """Play ``first``..``last`` over and over (the review queue's "play its span in a loop").
        Any other transport command ends the loop."""
        last = max(first, min(last, self.doc.frame_count - 1))
        self.pause()
        self.loop = (first, last)
        self._move(first)
        self._speed = 1.0
        self._restart_clock()
        self._timer.start(max(4, min(20, int(500.0 / float(self.fps)))))
        if self.provider is not None:
            self.provider.set_playing(True, 1, 1.0)
        self.stateChanged.emit()

    def pause(self) -> None:
        self.loop = None
        was = self._speed != 0
        self._timer.stop()
        self._speed = 0.0
        if self.provider is not None:
            self.provider.set_playing(False)
        if was:
            self.stateChanged.emit()

    def toggle(self) -> None:
        if self.playing:
            self.pause()
        else:
            self.play(1.0)

    def shuttle_forward(self) -> None:
        """L: play forward; pressed again, twice as fast (up to 8x)."""
        self.play(1.0 if self._speed <= 0 else min(self._speed * 2, MAX_SHUTTLE))

    def shuttle_backward(self) -> None:
        """J: play backward; pressed again, twice as fast backward."""
        self.play(-1.0 if self._speed >= 0 else max(self._speed * 2, -MAX_SHUTTLE))

    def step(self, frames: int) -> None:
        self.pause()
        self.doc.set_frame(self.doc.frame + int(frames))

    def step_seconds(self, seconds: int) -> None:
        self.step(int(seconds) * max(1, round(self.fps)))

    def home(self) -> None:
        self.pause()
        self.doc.set_frame(0)

    def end(self) -> None:
        self.pause()
        self.doc.set_frame(self.doc.frame_count - 1)

    def seek(self, frame: int) -> None:
        """Move the playhead; playback, if running, goes on from there."""
        self.doc.set_frame(frame)

    def go_to(self, text: str) -> int:
        """Jump to what the user typed (see :func:`parse_position`); ValueError when unreadable."""
        frame = parse_position(text, self.fps, self.doc.frame_count, self.doc.frame, self.doc.info)
        self.seek(frame)
        return frame

    # -- shortcuts --------------------------------------------------------------------------------
    def install_shortcuts(self, widget: QWidget, context=Qt.ShortcutContext.WidgetWithChildrenShortcut) -> list:
        """Space, J, K, L, Left, Right, Shift+Left/Right (one second), Home, End on ``widget``.

        Text fields keep their own keys: a QLineEdit with focus claims arrows, Home, End and
        letters before any shortcut sees them.
        """
        keys = [
            ("Space", self.toggle, False),
            ("J", self.shuttle_backward, False),
            ("K", self.pause, False),
            ("L", self.shuttle_forward, False),
            ("Left", lambda: self.step(-1), True),
            ("Right", lambda: self.step(1), True),
            ("Shift+Left", lambda: self.step_seconds(-1), True),
            ("Shift+Right", lambda: self.step_seconds(1), True),
            ("Home", self.home, False),
            ("End", self.end, False),
        ]
        made = []
        for key, slot, repeat in keys:
            sc = QShortcut(QKeySequence(key), widget)
            sc.setContext(context)
            sc.setAutoRepeat(repeat)
            sc.activated.connect(slot)
            made.append(sc)
        self.shortcuts.extend(made)
        return made

    # -- clock ------------------------------------------------------------------------------------
    def _move(self, frame: int) -> None:
        self._moving = True
        try:
            self.doc.set_frame(frame)
        finally:
            self._moving = False

    def _restart_clock(self) -> None:
        self._anchor = self.doc.frame
        self._clock.restart()

    def _on_frame_changed(self, frame: int) -> None:
        if self.playing and not self._moving:
            self.loop = None  # someone moved the playhead: a review loop ends, playback goes on
            self._restart_clock()  # someone moved the playhead while playing: go on from there

    def _tick(self) -> None:
        elapsed = Fraction(self._clock.nsecsElapsed(), 1_000_000_000)
        advance = math.floor(elapsed * self.fps * Fraction(abs(self._speed)).limit_denominator(1000))
        target = self._anchor + (advance if self._speed > 0 else -advance)
        if self.loop is not None:
            first, end = self.loop
            if target > end or target < first:
                self._move(first)
                self._restart_clock()
            elif target != self.doc.frame:
                self._move(target)
            return
        last = self.doc.frame_count - 1
        if (self._speed > 0 and target >= last) or (self._speed < 0 and target <= 0):
            self._move(max(0, min(target, last)))
            self.pause()
            return
        if target != self.doc.frame:
            self._move(target)


class Transport(QWidget):
    """Play/pause, frame steps, jog slider, go-to box and the position readout."""

    def __init__(self, doc, controller: PlaybackController, parent: QWidget | None = None):
        super().__init__(parent)
        self.doc, self.controller = doc, controller
        style = self.style()
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 3, 6, 3)
        lay.setSpacing(4)

        def button(icon, tip, slot) -> QToolButton:
            b = QToolButton(self)
            b.setIcon(style.standardIcon(icon))
            b.setToolTip(tip)
            b.setAutoRaise(True)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.clicked.connect(slot)
            lay.addWidget(b)
            return b

        sp = QStyle.StandardPixmap
        self.home_button = button(sp.SP_MediaSkipBackward, "First frame (Home)", controller.home)
        self.back_button = button(sp.SP_MediaSeekBackward, "Previous frame (Left; Shift+Left: 1 s)",
                                  lambda: controller.step(-1))
        self.play_button = button(sp.SP_MediaPlay, "Play / pause (Space; J K L shuttle)", controller.toggle)
        self.forward_button = button(sp.SP_MediaSeekForward, "Next frame (Right; Shift+Right: 1 s)",
                                     lambda: controller.step(1))
        self.end_button = button(sp.SP_MediaSkipForward, "Last frame (End)", controller.end)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setToolTip("Jog")
        self.slider.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.slider.valueChanged.connect(self._on_slider)
        lay.addWidget(self.slider, 1)
        self.goto = QLineEdit(self)
        self.goto.setPlaceholderText("go to: 123, 00:00:04:03, 4.5s")
        self.goto.setToolTip("Frame number, timecode HH:MM:SS:FF, seconds (4.5s) or +/- frames; Enter to go")
        self.goto.setFixedWidth(170)
        self.goto.returnPressed.connect(self._on_goto)
        self.goto.textEdited.connect(lambda _t: self.goto.setStyleSheet(""))
        lay.addWidget(self.goto)
        self.speed_label = QLabel(self)
        self.speed_label.setMinimumWidth(34)
        lay.addWidget(self.speed_label)
        self.position_label = QLabel(self)
        self.position_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.position_label)
        self._syncing = False
        doc.frameChanged.connect(self._on_frame)
        doc.projectReplaced.connect(self._on_project)
        controller.stateChanged.connect(self._on_state)
        self._on_project()

    def _on_project(self) -> None:
        n = self.doc.frame_count
        self._syncing = True
        self.slider.setRange(0, max(0, n - 1))
        self.slider.setPageStep(max(1, round(self.doc.fps)))
        self.slider.setValue(self.doc.frame)
        self._syncing = False
        self.setEnabled(n > 0)
        self._on_frame(self.doc.frame)
        self._on_state()

    def _on_frame(self, frame: int) -> None:
        self._syncing = True
        self.slider.setValue(frame)
        self._syncing = False
        n = self.doc.frame_count
        if n:
            self.position_label.setText(f"{frame} / {n - 1}   {self.doc.timecode(frame)}")
        else:
            self.position_label.setText("-- / --   --:--:--:--")

    def _on_state(self) -> None:
        sp = QStyle.StandardPixmap
        playing = self.controller.playing
        self.play_button.setIcon(self.style().standardIcon(sp.SP_MediaPause if playing else sp.SP_MediaPlay))
        speed = self.controller.speed
        self.speed_label.setText("" if speed in (0, 1) else f"{speed:+g}×")

    def _on_slider(self, value: int) -> None:
        if not self._syncing:
            self.controller.seek(value)

    def _on_goto(self) -> None:
        try:
            self.controller.go_to(self.goto.text())
        except ValueError as e:
            self.goto.setStyleSheet("QLineEdit { border: 1px solid #ff6b6b; }")
            self.goto.setToolTip(str(e))
            return
        self.goto.setStyleSheet("")
        self.goto.selectAll()
