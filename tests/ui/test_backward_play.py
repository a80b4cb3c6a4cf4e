"""Backward play decodes the GOP before the one on screen into the cache at once (a GOP can only be
decoded forward from its keyframe), so -1x keeps up; the frames are the exact ones."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEventLoop, QTimer

from app.media.probe import probe
from app.media.reader import VideoReader
from app.ui.frame_provider import FrameProvider, backward_horizon, gop_start
from tests.ui.conftest import write_ui_clip


@pytest.fixture(scope="module")
def long_gop_clip(tmp_path_factory) -> str:
    """150 frames at 29.97 fps with a keyframe every 60 (2 s GOPs, longer than the second of frames
    the forward read-ahead prepares): GOPs 0-59, 60-119, 120-149."""
    return write_ui_clip(str(tmp_path_factory.mktemp("gop") / "gop60.mp4"), frames=150, gop=60)


def test_backward_horizon_reaches_the_previous_gop(long_gop_clip):
    info = probe(long_gop_clip)
    assert [gop_start(info, i) for i in (0, 59, 60, 119, 120, 149)] == [0, 0, 60, 60, 120, 120]
    assert backward_horizon(info, 149, 1000) == 149 - 60
    assert backward_horizon(info, 130, 1000) == 130 - 60
    assert backward_horizon(info, 59, 1000) == 59
    assert backward_horizon(info, 149, 40) == 0  # more than the cache holds: the usual read-ahead


def _wait(qtbot, cond, ms: int) -> bool:
    try:
        qtbot.waitUntil(cond, timeout=ms)
        return True
    except Exception:  # noqa: BLE001 - pytest-qt's TimeoutError
        return False


def test_playing_backward_decodes_the_previous_gop_before_it_is_due(qtbot, long_gop_clip):
    info = probe(long_gop_clip)
    provider = FrameProvider()
    got = {}
    provider.frameReady.connect(lambda i, bgr: got.setdefault(i, bgr))
    provider.open(long_gop_clip, info)
    try:
        provider.request(149)
        qtbot.waitUntil(lambda: 149 in got, timeout=10000)
        provider.set_playing(True, -1, 1.0)
        provider.set_playhead(149)  # the clock has not moved yet: only the read-ahead works
        # every frame back to the start of the previous GOP (60), not just the next second (120)
        assert _wait(qtbot, lambda: all(provider.cache.get_yuv(i) is not None for i in range(60, 149)), 20000), \
            [i for i in range(60, 149) if provider.cache.get_yuv(i) is None][:10]
        assert provider.stats["seeks"] <= 3  # one decode per GOP, not one per frame
        with VideoReader(long_gop_clip) as r:
            for i in (60, 61, 90, 119, 148):
                assert np.array_equal(provider.cache.get_yuv(i).to_ndarray(format="bgr24"), r.read(i).to_bgr()), i
    finally:
        provider.set_playing(False)
        provider.close()


def test_backward_play_shows_the_frames_in_order(qtbot, long_gop_clip):
    """-1x through a GOP boundary on the real viewport: frames come in descending order, and
    most of those the clock made due are shown (a small clip decodes far faster than real time)."""
    from app.ui.document import Document
    from app.ui.transport import PlaybackController
    from app.ui.video_view import VideoView

    doc = Document()
    provider = FrameProvider()
    view = VideoView(doc, provider)
    qtbot.addWidget(view)
    controller = PlaybackController(doc, provider)
    shown: list[int] = []
    view.frameShown.connect(shown.append)
    doc.open_media(long_gop_clip)
    doc.set_frame(100)
    qtbot.waitUntil(lambda: view.displayed_frame == 100, timeout=10000)
    shown.clear()
    controller.play(-1.0)
    loop = QEventLoop()
    QTimer.singleShot(1800, loop.quit)  # about 54 frames: from 100 across the GOP start at 60
    loop.exec()
    controller.pause()
    try:
        assert doc.frame < 60
        assert shown == sorted(shown, reverse=True)
        assert len(set(shown)) >= 0.6 * (100 - doc.frame)
    finally:
        provider.close()
