"""Screenshots of the editor for the README: open a clip, analyse it, capture the three view modes.

    QT_QPA_PLATFORM=offscreen python scripts/screenshots.py [VIDEO] [--out docs] [--frame 300]
    QT_QPA_PLATFORM=offscreen python scripts/screenshots.py --workspace [--sample CLIP] [--out docs]

``--workspace``: the window at 1366x768 and at 1920x1080 after an analysis of the sample clip
(written with ``python -m app sample`` when ``--sample`` is not given), its plate tracks grouped
as one vehicle, and the right-click menu on a track in the track list.

``--issue17``: a track's own style in the inspector (with its reason), the waveform lane (the
sample clip's video with a synthetic speech-like soundtrack, since the shared clips' sound is
silent), and a leak's box on the frame (the sample exported without its face mask, then the real
leak check). The tracks are the sample's ground truth, not an analysis.

Default clip: ../shared/data/videos/egoblur_gen1_faces_608x1080.mp4. Only redacted pixels of real
people are published: the "original" shot is taken with the face outlined *and* the screenshot
blurred under every mask, so no identifiable face goes into the repository.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT = ROOT.parent / "shared" / "data" / "videos" / "egoblur_gen1_faces_608x1080.mp4"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("video", nargs="?", default=str(DEFAULT))
    ap.add_argument("--out", default=str(ROOT / "docs"))
    ap.add_argument("--frame", type=int, default=300)
    ap.add_argument("--workspace", action="store_true", help="the workspace shots (1366x768, 1920x1080, menu)")
    ap.add_argument("--issue17", action="store_true", help="track style, waveform lane and leak box shots")
    ap.add_argument("--sample", default="", help="the sample clip for --workspace (made when missing)")
    ap.add_argument("--analysed", default="", help="--workspace: the project of an earlier run's analysis "
                    "(opened when it exists, else written after the analysis)")
    args = ap.parse_args()
    if args.workspace:
        workspace_shots(args)
        return
    if args.issue17:
        issue17_shots(args)
        return

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    app.setOrganizationName("Obscura-screenshots")
    from app.ui.main_window import MainWindow
    from app.ui.style import apply_dark_theme
    from app.ui.video_view import ViewMode

    apply_dark_theme(app)
    QSettings().clear()
    win = MainWindow()
    win.resize(1600, 1000)
    win.show()
    assert win.open_path(args.video)
    t0 = time.time()
    win.start_analysis(confirm=False)
    while win.analysis_running() or win.worker is None:
        app.processEvents()
        time.sleep(0.02)
    for _ in range(50):
        app.processEvents()
        time.sleep(0.01)
    print(f"analysis: {time.time() - t0:.0f} s; {win.analysis_label.text()}")
    faces = [t for t in win.doc.project.tracks if t.cls == "face"]
    if faces:
        win.doc.set_selection([faces[0].id])
    win.doc.set_frame(args.frame)
    os.makedirs(args.out, exist_ok=True)
    for mode, name in ((ViewMode.ORIGINAL, "editor_tracks"), (ViewMode.REDACTED, "editor_redacted_preview"),
                       (ViewMode.SPLIT, "editor_split_view")):
        win.set_view_mode(mode)
        win.view.fit()
        deadline = time.time() + 10
        while win.view.displayed_frame != args.frame and time.time() < deadline:
            app.processEvents()
            time.sleep(0.02)
        for _ in range(30):
            app.processEvents()
            time.sleep(0.01)
        img = _blur_faces(win, win.grab().toImage(), original_view=mode != ViewMode.REDACTED,
                          split=mode == ViewMode.SPLIT)
        path = os.path.join(args.out, name + ".jpg")
        img.save(path, "JPG", 88)
        print(f"wrote {path}")
    _editing_shots(app, win, args)
    win.doc._dirty = False
    win.doc.undo.setClean()
    win.close()


def _settle(app, win, frame: int, ms: int = 300) -> None:
    deadline = time.time() + 10
    while win.view.displayed_frame != frame and time.time() < deadline:
        app.processEvents()
        time.sleep(0.02)
    end = time.time() + ms / 1000
    while time.time() < end:
        app.processEvents()
        time.sleep(0.01)


def _editing_shots(app, win, args) -> None:
    """Editor II: a manual polygon mask being edited, and the review queue."""
    from app.core.shapes import Shape
    from app.ui.video_view import ViewMode

    win.set_view_mode(ViewMode.ORIGINAL)
    win.playback.pause()
    w, h = win.doc.info.width, win.doc.info.height
    # A polygon over the lower part of the frame (say, a document on a table), then tracked/edited.
    frame = args.frame
    win.doc.set_frame(frame)
    win.edit_actions.label_combo.setCurrentIndex(win.edit_actions.label_combo.findData("document"))
    win.edit_actions.set_tool("polygon")
    poly = Shape.polygon([(0.12 * w, 0.74 * h), (0.55 * w, 0.70 * h), (0.62 * w, 0.86 * h), (0.30 * w, 0.93 * h),
                          (0.08 * w, 0.85 * h)])
    track = win.edit_actions.add_manual_mask(poly)
    win.edit_actions.set_tool("select")
    win.doc.set_selection([track.id])
    win.view.fit()
    _settle(app, win, frame)
    img = _blur_faces(win, win.grab().toImage(), original_view=True)
    path = os.path.join(args.out, "editor_manual_polygon.jpg")
    img.save(path, "JPG", 88)
    print(f"wrote {path}")
    # The review queue: the track list filtered to what needs review, the next one selected.
    panel = win.track_list
    k = panel.state_combo.findData("needs_review")
    if k >= 0:
        panel.state_combo.setCurrentIndex(k)
    target = win.edit_actions.next_to_review(1)
    win.playback.pause()
    if target is not None:
        win.doc.set_frame(target.first_frame)
        _settle(app, win, target.first_frame)
    img = _blur_faces(win, win.grab().toImage(), original_view=True)
    path = os.path.join(args.out, "editor_review_queue.jpg")
    img.save(path, "JPG", 88)
    print(f"wrote {path}{'' if target else ' (nothing needed review)'}")


def _blur_faces(win, qimage, original_view: bool, split: bool = False):
    """Hide real faces in a screenshot: pixelate inside each mask shape (slightly shrunk, so the
    viewport's overlay outline stays visible) and the thumbnail strip. The product itself shows the
    operator the original, of course."""
    import numpy as np
    from PySide6.QtGui import QImage

    from app.core.shapes import Shape
    from app.core.style import RedactionMethod, RedactionStyle
    from app.redaction.compose import redact_bgr

    qimage = qimage.convertToFormat(QImage.Format.Format_RGB888)
    w, h = qimage.width(), qimage.height()
    arr = np.frombuffer(qimage.constBits(), np.uint8).reshape(h, qimage.bytesPerLine())[:, : w * 3].reshape(h, w, 3)
    arr = arr.copy()
    hide = RedactionStyle(method=RedactionMethod.PIXELATE, strength=100, margin=0, feather=0)
    masks = []
    if original_view:
        view = win.view
        origin = view.mapTo(win, view.rect().topLeft())
        orient = view.orientation  # the viewport shows the picture upright
        limit = orient.upright_size[0] * win.view._split if split else None  # only the original half
        vx1, vy1 = origin.x(), origin.y()
        vx2, vy2 = vx1 + view.viewport().width(), vy1 + view.viewport().height()
        for track, shape, _style in win.doc.project.masks_at(win.doc.frame):
            if track.cls != "face":  # people's faces only (a drawn mask or a plate stays visible)
                continue
            x1, y1, x2, y2 = orient.shape_upright(shape).bbox
            if limit is not None:
                x2 = min(x2, limit + 4)
            p1, p2 = view.mapFromScene(x1, y1), view.mapFromScene(x2, y2)
            masks.append((Shape.rect(max(vx1, p1.x() + origin.x() + 4), max(vy1, p1.y() + origin.y() + 4),
                                     min(vx2, p2.x() + origin.x() - 4), min(vy2, p2.y() + origin.y() - 4)), hide))
    tl = win.timeline
    strip = tl._strip_rect()
    o = tl.mapTo(win, strip.topLeft())
    masks.append((Shape.rect(o.x(), o.y(), o.x() + strip.width(), o.y() + strip.height()),
                  RedactionStyle(method=RedactionMethod.GAUSSIAN, strength=40, margin=0, feather=0)))
    arr = redact_bgr(arr, masks)
    return QImage(arr.data, w, h, w * 3, QImage.Format.Format_RGB888).copy()


def _wait(app, seconds: float) -> None:
    end = time.time() + seconds
    while time.time() < end:
        app.processEvents()
        time.sleep(0.01)


def _grab_with_menu(win, menu):
    """The window with an open popup menu painted where it is on screen (a popup is a window of
    its own, so the window's grab does not hold it)."""
    from PySide6.QtGui import QPainter

    img = win.grab().toImage()
    p = QPainter(img)
    at = win.mapFromGlobal(menu.pos())
    p.drawImage(at, menu.grab().toImage())
    p.end()
    return img


def workspace_shots(args) -> None:
    """Editor III: the workspace at 1366x768 and 1920x1080 after an analysis, and a track's menu."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    if os.environ.get("QT_QPA_PLATFORM") == "offscreen":  # a 1920x1080 screen (popups stay on it)
        import json
        import tempfile

        screen = os.path.join(tempfile.mkdtemp(prefix="obscura-shots-"), "screen.json")
        with open(screen, "w") as f:
            json.dump({"screens": [{"name": "shots", "x": 0, "y": 0, "width": 1920, "height": 1080,
                                    "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}, f)
        os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={screen}"
    app = QApplication([])
    app.setOrganizationName("Obscura-screenshots")
    from app.ui.context_menus import MenuContext
    from app.ui.main_window import MainWindow
    from app.ui.style import apply_dark_theme
    from app.ui.video_view import ViewMode

    apply_dark_theme(app)
    QSettings().clear()
    clip = args.sample or "/tmp/obscura-sample.mp4"
    if not os.path.exists(clip):
        from app.media.sample import write_sample

        write_sample(clip)
    os.makedirs(args.out, exist_ok=True)
    win = MainWindow()
    win.resize(1366, 768)
    win.show()
    if args.analysed and os.path.exists(args.analysed):
        assert win.open_path(args.analysed)
        win.analysis_label.setText(f"{len(win.doc.project.tracks)} tracks (analysis of {os.path.basename(clip)})")
    else:
        assert win.open_path(clip)
        t0 = time.time()
        win.start_analysis(confirm=False)
        while win.analysis_running() or win.worker is None:
            app.processEvents()
            time.sleep(0.02)
        _wait(app, 0.5)
        print(f"analysis: {time.time() - t0:.0f} s; {win.analysis_label.text()}")
        if args.analysed:
            win.doc.save(args.analysed)
    tracks = win.doc.project.tracks
    plates = [t.id for t in tracks if t.cls == "plate"]
    if plates:  # the car's plate tracks as one vehicle, shown open
        win.doc.set_selection(plates)
        name = win.group_actions.group_selected("vehicle")
        win.doc.set_folded(name, False)
    faces = [t for t in tracks if t.cls == "face"]
    frame = 60
    if faces:
        win.doc.set_selection([faces[0].id])
        frame = next((f for f in range(40, win.doc.frame_count) if faces[0].shape_at(f) is not None), frame)
    win.doc.set_frame(frame)
    win.set_view_mode(ViewMode.ORIGINAL)
    for size, name in (((1366, 768), "editor_1366x768"), ((1920, 1080), "editor_1920x1080")):
        win.resize(*size)
        _wait(app, 0.2)
        win.layout_ctl.apply_shares()
        win.view.fit()
        _settle(app, win, frame, 600)
        _wait(app, 4.0)  # the timeline's thumbnails at their new height
        img = _blur_faces(win, win.grab().toImage(), original_view=True)
        path = os.path.join(args.out, name + ".jpg")
        img.save(path, "JPG", 90)
        print(f"wrote {path} ({img.width()}x{img.height()})")
        if size == (1366, 768):
            panel = win.track_list
            tid = faces[0].id if faces else tracks[0].id
            win.doc.set_selection([tid])
            rect = panel.view.visualRect(panel.proxy_index(tid))
            at = panel.view.viewport().mapToGlobal(rect.center())
            ctx = MenuContext("list", "track", [tid], frame=win.doc.frame)
            right = win.mapToGlobal(win.rect().topRight()).x()
            at.setX(min(at.x(), right - win.context_menus.build(ctx).sizeHint().width() - 4))  # as on a 1366 screen
            menu = win.context_menus.open(ctx, at)
            _wait(app, 0.3)
            shot = _blur_faces(win, _grab_with_menu(win, menu), original_view=True)
            menu.close()
            path = os.path.join(args.out, "editor_track_menu.png")
            shot.save(path, "PNG")
            print(f"wrote {path}")
    win.doc._dirty = False
    win.doc.undo.setClean()
    win.close()


def _speech_clip(src: str, dst: str) -> str:
    """``src``'s video (packets copied) with a synthetic speech-like soundtrack: bursts of filtered
    noise in syllables and words, with pauses, at a speaking level."""
    import math
    from fractions import Fraction

    import av
    import numpy as np

    rate = 48000
    with av.open(src) as inp:
        vin = inp.streams.video[0]
        duration = float(vin.frames / vin.average_rate) if vin.frames else 6.0
        rng = np.random.default_rng(7)
        n = int(duration * rate)
        t = np.arange(n) / rate
        noise = np.convolve(rng.standard_normal(n), np.ones(12) / 12, mode="same")
        env = np.zeros(n)
        pos = 0.4
        while pos < duration - 0.3:
            words = rng.integers(2, 6)
            for _ in range(words):
                syl = rng.uniform(0.12, 0.28)
                a, b = int(pos * rate), int(min(duration, pos + syl) * rate)
                env[a:b] = rng.uniform(0.35, 1.0) * np.sin(np.linspace(0, math.pi, b - a))
                pos += syl + rng.uniform(0.03, 0.1)
            pos += rng.uniform(0.35, 0.9)
        voice = (0.45 * env * (noise / (np.abs(noise).max() + 1e-9)
                              + 0.3 * np.sin(2 * math.pi * 180 * t))).astype(np.float32)
        with av.open(dst, "w") as out:
            vout = out.add_stream_from_template(vin)
            aout = out.add_stream("aac", rate=rate)
            aout.layout = "mono"
            for pkt in inp.demux(vin):
                if pkt.dts is None:
                    continue
                pkt.stream = vout
                out.mux(pkt)
            for s0 in range(0, n, 1024):
                af = av.AudioFrame.from_ndarray(voice[None, s0:s0 + 1024].copy(), format="fltp", layout="mono")
                af.sample_rate, af.pts, af.time_base = rate, s0, Fraction(1, rate)
                out.mux(aout.encode(af))
            out.mux(aout.encode(None))
    return dst


def _hide_leaked_face(win, qimage, face_box):
    """Pixelate the leaked face (``face_box``, frame pixels) in a window grab, all but a thin band
    along the leak box's outline and its name plate, which stay as the product drew them: the leak
    shown is a real face left visible on purpose."""
    import numpy as np
    from PySide6.QtGui import QImage

    from app.core.shapes import Shape
    from app.core.style import RedactionMethod, RedactionStyle
    from app.redaction.compose import redact_bgr

    qimage = qimage.convertToFormat(QImage.Format.Format_RGB888)
    w, h = qimage.width(), qimage.height()
    orig = np.frombuffer(qimage.constBits(), np.uint8).reshape(h, qimage.bytesPerLine())[:, : w * 3]
    orig = orig.reshape(h, w, 3).copy()
    view = win.view
    o = view.mapTo(win, view.rect().topLeft())

    def to_win(x, y):
        p = view.mapFromScene(x, y)
        return p.x() + o.x(), p.y() + o.y()

    x1, y1 = to_win(*face_box[:2])
    x2, y2 = to_win(*face_box[2:])
    hide = RedactionStyle(method=RedactionMethod.PIXELATE, strength=100, margin=0, feather=0)
    out = redact_bgr(orig.copy(), [(Shape.rect(x1, y1, x2, y2), hide)])
    lb = view.leak.shown_box
    if lb is not None:  # give back the outline (a 4-px band) and the name plate above it
        bx1, by1 = to_win(*lb[:2])
        bx2, by2 = to_win(*lb[2:])
        keep = np.zeros((h, w), bool)
        yy, xx = np.mgrid[0:h, 0:w]
        near = ((np.abs(xx - bx1) <= 4) | (np.abs(xx - bx2) <= 4)) & (yy >= by1 - 4) & (yy <= by2 + 4)
        near |= ((np.abs(yy - by1) <= 4) | (np.abs(yy - by2) <= 4)) & (xx >= bx1 - 4) & (xx <= bx2 + 4)
        keep |= near
        plate = view.leak.label.boundingRect()
        keep[max(0, by1 - int(plate.height()) - 8):max(0, by1 - 1), max(0, bx1 - 4):min(w, bx1 + int(plate.width()) + 8)] = True
        out[keep] = orig[keep]
    return QImage(out.data, w, h, w * 3, QImage.Format.Format_RGB888).copy()


def issue17_shots(args) -> None:
    """Editor III, second half: a track's own style in the inspector, the waveform lane, the leak box."""
    import tempfile

    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    app.setOrganizationName("Obscura-screenshots")
    from app.core.audio import AudioMute
    from app.media.sample import truth_project, write_sample
    from app.ui.main_window import MainWindow
    from app.ui.style import apply_dark_theme
    from app.ui.video_view import ViewMode

    apply_dark_theme(app)
    QSettings().clear()
    tmp = tempfile.mkdtemp(prefix="obscura-shots-")
    sample = os.path.join(tmp, "sample.mp4")
    truth = write_sample(sample)
    clip = _speech_clip(sample, os.path.join(tmp, "interview.mp4"))
    os.makedirs(args.out, exist_ok=True)
    win = MainWindow()
    win.resize(1600, 1000)
    win.show()
    assert win.open_path(clip)
    doc = win.doc
    project = truth_project(truth, doc.project.media)
    doc.edit("sample tracks", project.tracks, stamp=False)
    doc.undo.clear()
    face = next(t.id for t in doc.project.tracks if t.cls == "face")
    plate = next(t.id for t in doc.project.tracks if t.cls == "plate")
    win.reasons.set_case("EV-2026-0412", "A. Operator")
    win.reasons.set_track_reason([plate], "vehicle")
    doc.edit("mutes", list(doc.project.tracks), audio_mutes=[
        AudioMute("mute-0001", 40, 62, "silence", reason="personal data spoken"),
        AudioMute("mute-0002", 110, 128, "tone", reason="personal data spoken")])
    # 1. the face's own style: a solid box, in the inspector and the redacted preview
    doc.set_selection([face])
    win.inspector.set_track_style([face], method="solid", margin=25.0)
    win.reasons.set_track_reason([face], "bystander")
    win.inspector_dock.show()
    win.inspector_dock.raise_()
    win.resizeDocks([win.tracks_dock], [110], Qt.Orientation.Vertical)  # two tracks: room for the inspector
    frame = 75
    doc.set_frame(frame)
    win.set_view_mode(ViewMode.REDACTED)
    win.view.fit()
    deadline = time.time() + 20
    while win.timeline.waveform is None and time.time() < deadline:
        _wait(app, 0.05)
    _settle(app, win, frame, 600)
    _wait(app, 3.0)  # thumbnails
    win.inspector.scroll_area().ensureWidgetVisible(win.inspector.reset_style_button, 10, 10)
    _wait(app, 0.2)
    img = _blur_faces(win, win.grab().toImage(), original_view=False)  # the face is a solid box here
    path = os.path.join(args.out, "editor_track_style.png")
    img.save(path, "PNG")
    print(f"wrote {path}")
    # 2. the waveform lane with the mute and the bleep under it
    tl = win.timeline
    doc.set_selection([])
    win.timeline.set_selected_mute("mute-0001")
    _wait(app, 0.3)
    top = tl.mapTo(win, tl.rect().topLeft())
    shot = _blur_faces(win, win.grab().toImage(), original_view=False)
    shot = shot.copy(top.x(), top.y(), tl.width(), min(tl.height(), tl.HEADER_H + 4 * tl.lane_height + 16))
    path = os.path.join(args.out, "editor_waveform.png")
    shot.save(path, "PNG")
    print(f"wrote {path}")
    # 3. a leak: export without the face's track, leak check, pick the leak
    face_track = doc.project.track(face)
    doc.edit("forget the face", [t for t in doc.project.tracks if t.id != face])
    out = os.path.join(tmp, "out.mp4")
    assert win.exporter.start(out, confirm=False, frame_range=(60, 100), leak_check=True, report=False)
    while win.exporter.running():
        _wait(app, 0.1)
    panel = win.leak_panel
    leaks = [e for e in panel.events() if e.kind == "leak" and e.cls == "face"]
    if not leaks:
        print("no face leak found: no leak-box shot")
        return
    e = max(leaks, key=lambda e: e.max_score)
    win.leak_dock.show()
    win.leak_dock.raise_()
    panel.tree.setCurrentItem(panel.tree.topLevelItem(panel.events().index(e)))
    win.set_view_mode(ViewMode.ORIGINAL)
    win.view.fit()
    _settle(app, win, e.peak_frame, 600)
    fx1, fy1, fx2, fy2 = face_track.shape_at(e.peak_frame).bbox  # the whole face (hair too), to hide it
    pad = 0.25 * (fx2 - fx1)
    img = _hide_leaked_face(win, _blur_faces(win, win.grab().toImage(), original_view=False),
                            (fx1 - pad, fy1 - pad, fx2 + pad, fy2 + pad))
    path = os.path.join(args.out, "editor_leak_box.png")
    img.save(path, "PNG")
    print(f"wrote {path} (leak {e.id} at frame {e.peak_frame}, score {e.max_score:.2f})")
    doc._dirty = False
    doc.undo.setClean()
    win.close()


if __name__ == "__main__":
    main()
