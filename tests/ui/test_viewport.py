"""The viewport, the frame provider and the transport, driven like a user would, on a real clip."""

from __future__ import annotations

import random
import time
from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.core import Keyframe, Shape, Track
from app.media.frames import plane_image
from app.media.reader import VideoReader
from app.redaction.compose import redact
from app.ui.document import Document
from app.ui.frame_provider import FrameProvider, ThumbnailProvider
from app.ui.style import SELECTED_COLOR, class_color
from app.ui.transport import PlaybackController, Transport, parse_position
from app.ui.video_view import VideoView, ViewMode

pytestmark = pytest.mark.gui

WAIT_MS = 10_000


@pytest.fixture
def editor(qtbot, ui_clip):
    doc = Document()
    provider = FrameProvider()
    view = VideoView(doc, provider)
    controller = PlaybackController(doc, provider)
    transport = Transport(doc, controller)
    host = QWidget()
    lay = QVBoxLayout(host)
    lay.addWidget(view, 1)
    lay.addWidget(transport)
    host.resize(640, 480)
    controller.install_shortcuts(host)
    qtbot.addWidget(host)
    host.show()
    qtbot.waitExposed(host)
    host.activateWindow()
    view.setFocus()
    doc.open_media(ui_clip)
    ed = SimpleNamespace(doc=doc, provider=provider, view=view, controller=controller, transport=transport,
                         host=host, qtbot=qtbot)
    wait_shown(ed, 0)
    yield ed
    controller.pause()
    provider.close()


def wait_shown(ed, frame: int) -> None:
    ed.qtbot.waitUntil(lambda: ed.doc.frame == frame and ed.view.displayed_frame == frame, timeout=WAIT_MS)


def export_render(path: str, index: int, masks) -> np.ndarray:
    """What the exporter feeds the encoder for frame ``index``, as BGR (independent of the UI)."""
    with VideoReader(path) as r:
        frame = r.read(index).frame
        frame.make_writable()
        redact(plane_image(frame), masks)
        return frame.to_ndarray(format="bgr24")


def face_track(tid="face-0003", enabled=True, frames=(0, 59), box=(40, 40, 140, 150), score=0.93) -> Track:
    kfs = [Keyframe(f, Shape.rect(*box), score=score) for f in frames]
    return Track(tid, "face", kfs, enabled=enabled)


def add_tracks(ed, *tracks) -> None:
    for t in tracks:
        ed.doc.project.add_track(t)
    ed.doc.mark_changed()


# -- stepping, jumping, exact pixels ------------------------------------------------------------
def test_right_steps_show_the_exact_frame(editor, ui_clip_frames):
    for _ in range(5):
        editor.qtbot.keyClick(editor.view, Qt.Key.Key_Right)
    wait_shown(editor, 5)
    assert np.array_equal(editor.view.displayed_image(), ui_clip_frames[5])
    editor.qtbot.keyClick(editor.view, Qt.Key.Key_Left)
    wait_shown(editor, 4)
    assert np.array_equal(editor.view.displayed_image(), ui_clip_frames[4])


def test_shift_arrows_step_one_second_home_and_end(editor, ui_clip_frames):
    second = round(editor.doc.fps)
    assert second == 30
    editor.qtbot.keyClick(editor.view, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    wait_shown(editor, second)
    assert np.array_equal(editor.view.displayed_image(), ui_clip_frames[second])
    editor.qtbot.keyClick(editor.view, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    wait_shown(editor, 0)
    editor.qtbot.keyClick(editor.view, Qt.Key.Key_End)
    wait_shown(editor, 59)
    assert np.array_equal(editor.view.displayed_image(), ui_clip_frames[59])
    editor.qtbot.keyClick(editor.view, Qt.Key.Key_Home)
    wait_shown(editor, 0)
    assert np.array_equal(editor.view.displayed_image(), ui_clip_frames[0])


def test_goto_box_frame_timecode_and_seconds(editor, ui_clip_frames):
    box = editor.transport.goto
    for text, frame in (("12", 12), ("00:00:01:03", 33), ("1.5s", 44), ("-2", 42)):
        box.setFocus()
        box.selectAll()
        editor.qtbot.keyClicks(box, text)
        editor.qtbot.keyClick(box, Qt.Key.Key_Return)
        wait_shown(editor, frame)
        assert np.array_equal(editor.view.displayed_image(), ui_clip_frames[frame])
    assert editor.transport.position_label.text().startswith("42 / 59")
    # Arrow keys, Home, End and letters belong to the text box while it has focus.
    box.setFocus()
    box.setText("12")
    for key in (Qt.Key.Key_Left, Qt.Key.Key_Home, Qt.Key.Key_End, Qt.Key.Key_L, Qt.Key.Key_Space):
        editor.qtbot.keyClick(box, key)
    assert editor.doc.frame == 42 and not editor.controller.playing
    # Nonsense is refused with a message and the playhead stays.
    box.setText("soon")
    editor.qtbot.keyClick(box, Qt.Key.Key_Return)
    assert editor.doc.frame == 42 and "border" in box.styleSheet()


def test_parse_position():
    from fractions import Fraction

    fps = Fraction(30000, 1001)
    assert parse_position("123", fps, 1000) == 123
    assert parse_position("00:00:04:03", fps, 1000) == 123
    assert parse_position("4.5s", fps, 1000) == 134
    assert parse_position("0:05", Fraction(25), 1000) == 125
    assert parse_position("+10", fps, 1000, current=5) == 15
    assert parse_position("99999", fps, 1000) == 999
    for bad in ("", "abc", "00:00:01:45", "1:75"):
        with pytest.raises(ValueError):
            parse_position(bad, fps, 1000)


def test_random_seeks_show_the_right_pixels(editor, ui_clip_frames):
    rnd = random.Random(5)
    for i in [rnd.randrange(60) for _ in range(16)] + [59, 0, 58, 1]:
        editor.doc.set_frame(i)
        wait_shown(editor, i)
        assert np.array_equal(editor.view.displayed_image(), ui_clip_frames[i]), i


def test_fast_scrub_drops_stale_requests(editor, ui_clip_frames):
    editor.provider.clear_cache()
    before = dict(editor.provider.stats)
    for i in range(59, 10, -3):  # backward scrub: every step is a seek
        editor.doc.set_frame(i)
    wait_shown(editor, 11)
    assert np.array_equal(editor.view.displayed_image(), ui_clip_frames[11])
    editor.qtbot.wait(100)
    emitted = editor.provider.stats["emitted"] - before["emitted"]
    assert emitted < 17  # latest request wins: most of the 17 requests were never delivered


def test_provider_cache_and_source_frame(editor, ui_clip_frames):
    editor.doc.set_frame(20)
    wait_shown(editor, 20)
    editor.qtbot.waitUntil(lambda: editor.provider.cached(21) is not None, timeout=WAIT_MS)  # read-ahead
    assert np.array_equal(editor.provider.cached(21), ui_clip_frames[21])
    assert editor.provider.source_frame(20) is not None
    editor.qtbot.keyClick(editor.view, Qt.Key.Key_Right)
    assert editor.view.displayed_frame == 21  # shown at once from the cache, no round trip


# -- playback ------------------------------------------------------------------------------------
def test_play_advances_at_the_frame_rate_and_pause_stops(editor, ui_clip_frames):
    editor.qtbot.keyClick(editor.view, Qt.Key.Key_Space)
    assert editor.controller.playing
    t0 = time.perf_counter()
    editor.qtbot.wait(500)
    elapsed = time.perf_counter() - t0
    editor.qtbot.keyClick(editor.view, Qt.Key.Key_Space)
    assert not editor.controller.playing
    frame = editor.doc.frame
    expected = elapsed * float(editor.doc.fps)
    assert 0.5 * expected <= frame <= 1.3 * expected + 2, (frame, expected)
    editor.qtbot.wait(200)
    assert editor.doc.frame == frame
    wait_shown(editor, frame)
    assert np.array_equal(editor.view.displayed_image(), ui_clip_frames[frame])


def test_jkl_shuttle(editor, ui_clip_frames):
    c = editor.controller
    editor.qtbot.keyClick(editor.view, Qt.Key.Key_L)
    assert c.speed == 1
    editor.qtbot.keyClick(editor.view, Qt.Key.Key_L)
    assert c.speed == 2
    editor.qtbot.keyClick(editor.view, Qt.Key.Key_L)
    assert c.speed == 4
    editor.qtbot.keyClick(editor.view, Qt.Key.Key_K)
    assert c.speed == 0
    c.seek(50)
    editor.qtbot.keyClick(editor.view, Qt.Key.Key_J)
    assert c.speed == -1
    editor.qtbot.keyClick(editor.view, Qt.Key.Key_J)
    assert c.speed == -2
    editor.qtbot.waitUntil(lambda: editor.doc.frame < 45, timeout=WAIT_MS)
    editor.qtbot.keyClick(editor.view, Qt.Key.Key_K)
    frame = editor.doc.frame
    wait_shown(editor, frame)
    assert np.array_equal(editor.view.displayed_image(), ui_clip_frames[frame])


def test_play_to_the_end_stops_on_the_last_frame(editor, ui_clip_frames):
    editor.controller.seek(50)
    editor.controller.play(4.0)
    editor.qtbot.waitUntil(lambda: not editor.controller.playing, timeout=WAIT_MS)
    wait_shown(editor, 59)
    assert np.array_equal(editor.view.displayed_image(), ui_clip_frames[59])


def test_jog_slider_moves_the_playhead(editor, ui_clip_frames):
    editor.transport.slider.setValue(17)
    wait_shown(editor, 17)
    assert np.array_equal(editor.view.displayed_image(), ui_clip_frames[17])
    editor.doc.set_frame(3)
    assert editor.transport.slider.value() == 3


# -- overlays and selection ----------------------------------------------------------------------
def test_overlay_colour_click_selects_and_hover_label(editor):
    add_tracks(editor, face_track(), face_track("plate-0001", enabled=False, box=(200, 150, 300, 200)))
    editor.doc.project.track("plate-0001").cls = "plate"
    editor.doc.mark_changed()
    editor.doc.set_frame(5)
    wait_shown(editor, 5)
    view = editor.view
    face = view.item_for_track("face-0003")
    assert face is not None and face.pen().color() == class_color("face")
    plate = view.item_for_track("plate-0001")
    assert plate.pen().color() == class_color("plate") and plate.pen().style() == Qt.PenStyle.DashLine
    assert face.label_text == "face-0003 · 0.93" and face.toolTip() == face.label_text
    center = view.mapFromScene(QPointF(90, 95))
    editor.qtbot.mouseMove(view.viewport(), center)
    editor.qtbot.waitUntil(lambda: view.item_for_track("face-0003").label.isVisible(), timeout=WAIT_MS)
    editor.qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=center)
    assert editor.doc.selection == ["face-0003"]
    selected = view.item_for_track("face-0003")
    assert selected.selected and selected.label.isVisible()
    assert SELECTED_COLOR.name() == "#ffffff"
    editor.qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(QPointF(250, 175)))
    assert editor.doc.selection == ["plate-0001"]  # disabled tracks are drawn and selectable
    editor.qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(QPointF(300, 20)))
    assert editor.doc.selection == []


def test_overlays_follow_the_displayed_frame(editor):
    add_tracks(editor, face_track(frames=(10, 20)))
    assert editor.view.item_for_track("face-0003") is None  # frame 0: the track has not started
    editor.doc.set_frame(15)
    wait_shown(editor, 15)
    item = editor.view.item_for_track("face-0003")
    assert item is not None and item.path().boundingRect().width() == pytest.approx(100)


# -- view modes ----------------------------------------------------------------------------------
def test_redacted_mode_is_the_export_rendering(editor, ui_clip, ui_clip_frames):
    add_tracks(editor, face_track(), face_track("face-0004", enabled=False, box=(200, 100, 260, 180)))
    editor.doc.set_frame(7)
    wait_shown(editor, 7)
    editor.view.set_view_mode(ViewMode.REDACTED)
    masks = [(shape, style) for _t, shape, style in editor.doc.project.masks_at(7)]
    assert len(masks) == 1  # the disabled track is not redacted
    shown = editor.view.displayed_image()
    assert np.array_equal(shown, export_render(ui_clip, 7, masks))
    original = ui_clip_frames[7]
    assert not np.array_equal(shown[40:150, 40:140], original[40:150, 40:140])
    assert np.array_equal(shown[:, 220:], original[:, 220:])  # far from the mask: untouched
    assert editor.view.overlay_items() == []
    # Playing on in REDACTED mode keeps rendering each frame the exporter's way.
    editor.qtbot.keyClick(editor.view, Qt.Key.Key_Right)
    wait_shown(editor, 8)
    masks8 = [(s, st) for _t, s, st in editor.doc.project.masks_at(8)]
    assert np.array_equal(editor.view.displayed_image(), export_render(ui_clip, 8, masks8))


def test_split_mode_left_original_right_redacted(editor, ui_clip, ui_clip_frames):
    add_tracks(editor, face_track(box=(100, 60, 260, 200)))
    editor.doc.set_frame(9)
    wait_shown(editor, 9)
    view = editor.view
    view.set_view_mode(ViewMode.SPLIT)
    sx = view.split_x
    assert sx == 160
    masks = [(s, st) for _t, s, st in editor.doc.project.masks_at(9)]
    shown = view.displayed_image()
    assert np.array_equal(shown[:, :sx], ui_clip_frames[9][:, :sx])
    assert np.array_equal(shown[:, sx:], export_render(ui_clip, 9, masks)[:, sx:])
    assert not np.array_equal(shown[:, sx:], ui_clip_frames[9][:, sx:])
    assert view._divider.isVisible() and view._divider.line().x1() == sx
    item = view.item_for_track("face-0003")
    assert item is not None  # overlays on the original half, clipped at the divider
    assert view._overlays.rect().width() == sx
    view.set_view_mode(ViewMode.ORIGINAL)
    assert np.array_equal(view.displayed_image(), ui_clip_frames[9])
    assert not view._divider.isVisible()


# -- zoom and pan --------------------------------------------------------------------------------
def test_zoom_pan_and_fit(editor):
    view = editor.view
    assert view.is_fit
    fit = view.zoom
    assert fit == pytest.approx(min(view.viewport().width() / 320, view.viewport().height() / 240), rel=0.02)
    view.zoom_in()
    assert view.zoom == pytest.approx(fit * 1.25) and not view.is_fit
    view.zoom_out()
    view.zoom_out()
    assert view.zoom == pytest.approx(fit / 1.25)
    pos = QPointF(view.viewport().rect().center())
    wheel = QWheelEvent(pos, view.viewport().mapToGlobal(pos), QPoint(0, 0), QPoint(0, 240),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    view.wheelEvent(wheel)
    assert view.zoom == pytest.approx(fit * 1.25)
    view.zoom_1to1()
    assert view.zoom == pytest.approx(1.0)
    view.set_zoom(4.0)
    before = view.mapToScene(view.viewport().rect().center())
    editor.qtbot.mousePress(view.viewport(), Qt.MouseButton.MiddleButton, pos=QPoint(200, 200))
    editor.qtbot.mouseMove(view.viewport(), QPoint(150, 170))
    editor.qtbot.mouseRelease(view.viewport(), Qt.MouseButton.MiddleButton, pos=QPoint(150, 170))
    after = view.mapToScene(view.viewport().rect().center())
    assert after.x() > before.x() and after.y() > before.y()  # dragged left/up: the view moved right/down
    view.fit()
    assert view.is_fit and view.zoom == pytest.approx(fit, rel=0.02)
    editor.host.resize(900, 700)
    editor.qtbot.waitUntil(lambda: view.zoom > fit * 1.2, timeout=WAIT_MS)  # fit follows the window


# -- thumbnails ----------------------------------------------------------------------------------
def test_thumbnails_come_from_their_own_thread(qtbot, ui_clip):
    from app.media.probe import probe

    thumbs = ThumbnailProvider()
    info = probe(ui_clip)
    thumbs.open(ui_clip, info)
    try:
        got = {}
        thumbs.thumbnailReady.connect(lambda i, img: got.setdefault(i, img))
        assert thumbs.thumbnail(30, 48) is None
        thumbs.thumbnail(5, 48)
        qtbot.waitUntil(lambda: 30 in got and 5 in got, timeout=WAIT_MS)
        img = thumbs.thumbnail(30, 48)
        assert img is not None and img.height() == 48 and img.width() == 64
    finally:
        thumbs.close()


# -- the provider alone, on every kind of clip the suite has ---------------------------------------
@pytest.mark.parametrize("name", ["bframes", "vfr", "vfr_mkv", "ten_bit", "odd", "odd_ffv1", "rotated"])
def test_provider_frames_equal_the_reader(qtbot, clips, name):
    from app.media.probe import probe

    path = str(clips[name])
    info = probe(path)
    with VideoReader(path, info) as r:
        reference = [f.to_bgr() for f in r.frames()]
    provider = FrameProvider(cache_mb=64)
    provider.open(path, info)
    got = {}
    provider.frameReady.connect(lambda i, a: got.__setitem__(i, a))
    try:
        rnd = random.Random(1)
        order = [rnd.randrange(info.frame_count) for _ in range(12)] + [info.frame_count - 1, 0, 1]
        for k, i in enumerate(order):
            if k % 4 == 3:
                provider.clear_cache(forget_positions=True)
            got.pop(i, None)
            provider.request(i)
            qtbot.waitUntil(lambda i=i: i in got, timeout=WAIT_MS)
            assert np.array_equal(got[i], reference[i]), (name, i)
    finally:
        provider.close()


def test_frame_cache_budget_and_window():
    import av

    from app.ui.frame_provider import FrameCache

    frame = av.VideoFrame(64, 48, "yuv420p")  # 4608 bytes
    bgr = np.zeros((48, 64, 3), np.uint8)  # 9216 bytes
    cache = FrameCache(10 * 4608 + 2 * 9216, bgr_share=0.3)
    cache.set_window(0, 2)
    for i in range(20):
        cache.put_yuv(i, frame)
    for i in range(5):
        cache.put_bgr(i, bgr)
    assert cache.nbytes <= cache.budget
    assert all(cache.has(i) for i in (0, 1, 2))  # the window around the playhead stays
    assert cache.has(19) and not cache.has(5)  # then the most recently used
    assert sum(cache.get_bgr(i) is not None for i in range(5)) <= 2  # BGR copies kept to their share
    cache.clear()
    assert cache.nbytes == 0 and len(cache) == 0


@pytest.mark.parametrize("name", ["ten_bit", "odd", "odd_ffv1"])
def test_redacted_preview_is_exact_in_other_pixel_formats(qtbot, clips, name):
    """10-bit, 4:4:4 and odd-sized frames: the preview is still the exporter's rendering."""
    path = str(clips[name])
    doc, provider = Document(), FrameProvider()
    view = VideoView(doc, provider)
    qtbot.addWidget(view)
    try:
        doc.open_media(path)
        doc.project.add_track(Track("face-0001", "face", [Keyframe(0, Shape.ellipse(30, 30, 150, 140)),
                                                          Keyframe(19, Shape.ellipse(60, 50, 200, 200))]))
        doc.mark_changed()
        doc.set_frame(7)
        qtbot.waitUntil(lambda: view.displayed_frame == 7, timeout=WAIT_MS)
        view.set_view_mode(ViewMode.REDACTED)
        masks = [(s, st) for _t, s, st in doc.project.masks_at(7)]
        with VideoReader(path) as r:
            frame = r.read(7).frame
            from app.media.frames import fallback_format, native_format_supported

            if not native_format_supported(frame.format.name):
                frame = frame.reformat(format=fallback_format(frame))
            frame.make_writable()
            redact(plane_image(frame), masks)
            expected = frame.to_ndarray(format="bgr24")
        assert np.array_equal(view.displayed_image(), expected)
        view.set_view_mode(ViewMode.ORIGINAL)  # and the cached source frame was not drawn on
        with VideoReader(path) as r:
            assert np.array_equal(view.displayed_image(), r.read(7).to_bgr())
            planes = [bytes(p) for p in r.read(7).frame.planes]
            assert [bytes(p) for p in provider.source_frame(7).planes] == planes
    finally:
        provider.close()
