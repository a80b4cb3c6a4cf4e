"""Screenshots of the editor for the README: open a clip, analyse it, capture the three view modes.

    QT_QPA_PLATFORM=offscreen python scripts/screenshots.py [VIDEO] [--out docs] [--frame 300]
    QT_QPA_PLATFORM=offscreen python scripts/screenshots.py --workspace [--sample CLIP] [--out docs]

``--workspace``: the window at 1366x768 and at 1920x1080 after an analysis of the sample clip
(written with ``python -m app sample`` when ``--sample`` is not given), its plate tracks grouped
as one vehicle, and the right-click menu on a track in the track list.

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
    ap.add_argument("--sample", default="", help="the sample clip for --workspace (made when missing)")
    ap.add_argument("--analysed", default="", help="--workspace: the project of an earlier run's analysis "
                    "(opened when it exists, else written after the analysis)")
    args = ap.parse_args()
    if args.workspace:
        workspace_shots(args)
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


if __name__ == "__main__":
    main()
