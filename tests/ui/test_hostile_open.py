"""Hostile media through the editor's real open path (issue 9): a clear dialog, or the file opens and
shows its frames; never an exception (pytest-qt fails the test on one raised in a Qt slot or
virtual), and the input is never modified."""

from __future__ import annotations

import numpy as np
import pytest

from tests.hostile_corpus import sha256, write_corpus
from tests.ui.conftest import wait_frame

# name -> what the editor owes: "dialog" (refused with a message holding these words and the file's
# name), "opens" (every frame shows; with words: it opens, and the viewport explains, in these words,
# why a later frame cannot be shown), or "opens+warns" (it opens, and a dialog says that the file is
# damaged)
EDITOR_CASES = {
    "jpeg_as_mp4": ("dialog", ("JPEG", "not a video")),
    "video_as_jpg": ("dialog", ("video", "not a JPEG or PNG photo")),
    "png_bomb": ("dialog", ("photo",)),  # refused by its name: never decoded
    "zero_video": ("dialog", ("empty",)),
    "text_as_mp4": ("dialog", ("not a video",)),
    "trunc_no_moov": ("dialog", ("truncated",)),
    "audio_cover_art": ("dialog", ("no video",)),
    "huge_mjpeg_12k": ("dialog", ("12288x12288",)),
    "trunc_50": ("opens+warns", ("truncated",)),
    "rotate_90": ("opens", ()),
    "many_streams_mkv": ("opens", ()),
    "negative_ts_mkv": ("opens", ()),
    "size_change": ("opens", ("size", "changes")),
}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("hostile_ui"), list(EDITOR_CASES))


@pytest.mark.parametrize("name", list(EDITOR_CASES))
def test_editor_opens_or_explains(qtbot, window, corpus, name, _no_blocking_dialogs):
    said = _no_blocking_dialogs
    path = corpus[name]
    before = sha256(path)
    want, words = EDITOR_CASES[name]
    opened = window.open_path(str(path))
    if want == "dialog":
        assert not opened
        assert len(said) == 1, said
        text = said[0][1]
        assert "\n" not in text and "Traceback" not in text and path.name in text, text
        for w in words:
            assert w.lower() in text.lower(), (w, text)
        assert not window.doc.has_media
    else:
        assert opened, said
        info = window.doc.info
        if want == "opens+warns":
            assert len(said) == 1 and path.name in said[0][1], said
            assert all(w.lower() in said[0][1].lower() for w in words), said
        else:
            assert said == []
        wait_frame(qtbot, window, 0)
        shown = window.view.displayed_image()
        up_w, up_h = window.doc.orientation.upright_size  # a rotated video is shown upright
        assert shown.shape[:2] == (up_h, up_w)
        last = info.frame_count - 1
        window.doc.set_frame(last)
        qtbot.waitUntil(lambda: window.view.displayed_frame == last or bool(window.view._message.text()),
                        timeout=10000)
        if want == "opens" and not words:
            assert window.view.displayed_frame == last
            assert np.asarray(window.view.displayed_image()).shape[:2] == (up_h, up_w)
        elif want == "opens":
            message = window.view._message.text()
            assert path.name in message and all(w in message for w in words), message
    assert sha256(path) == before
