"""The viewport: the exact frame at the playhead, track overlays, redacted and split previews.

``VideoView`` asks its :class:`FrameProvider` for the playhead's frame and shows it when it
arrives (only if it is still wanted; while frames are late it shows the newest one on the way).
Overlays always belong to the frame on screen, not to a playhead the decoder has not reached yet.

The redacted preview is rendered as the export renders it: the same ``app.redaction`` code
applied to the decoded frame in its native pixel format (YUV planes), then converted to BGR the
way every frame on screen is. When the decoded frame is no longer cached it falls back to
``redact_bgr`` on the BGR frame (visually the same, not bit-identical).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap, QPolygonF, QTransform
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
)

from app.core import edits
from app.core.shapes import Shape
from app.media.frames import Orientation
from app.redaction.compose import redact_bgr
from app.ui import shape_tools
from app.ui.overlays import LeakMarker, ShapeItem, _Label, export_preview, score_at, shape_path  # noqa: F401
from app.ui.style import BACKGROUND, SELECTED_COLOR, TEXT

MIN_ZOOM, MAX_ZOOM = 0.02, 32.0
HANDLE_PX = 8  # edit handles: squares (bbox) and discs (polygon vertices) of this size on screen
DRAG_START_PX = 3  # a press on a shape edits it only once the mouse moved this far (a click selects)
CLOSE_POLYGON_PX = 8  # a click this close to a polygon's first point closes it
MIN_DRAWN_PX = 3  # rect/ellipse drawings smaller than this (source px, either side) are dropped
DRAW_COLOR = QColor("#fcc419")


class ViewMode(IntEnum):
    ORIGINAL = 0
    REDACTED = 1
    SPLIT = 2


@dataclass
class _Drag:
    """A mouse drag in progress. Kept by the view (overlay items are rebuilt at every edit)."""

    kind: str  # "pan", "split", "move", "resize", "vertex" or "draw"
    last: QPointF  # viewport position of the previous event
    press: QPointF | None = None  # viewport position of the press
    start: QPointF | None = None  # scene position of the press
    track_id: str = ""
    frame: int = 0
    shape: Shape | None = None  # the track's shape at the press
    handle: str = ""
    serial: int = 0  # merge key part: one drag, one undo step
    active: bool = False  # moved past DRAG_START_PX


_EDIT_TEXT = {"move": "Move mask", "resize": "Resize mask", "vertex": "Move point"}


class VideoView(QGraphicsView):
    """Bound to a Document (playhead, project, selection) and a FrameProvider (pixels).

    Tools (:meth:`set_tool`): "select" clicks select tracks, drags move or resize the selected
    shape (handles) or pan; "rect", "ellipse" and "polygon" draw a new shape and emit
    ``shapeDrawn`` (the window makes it a track). Esc cancels a drawing, or leaves the tool.
    """

    frameShown = Signal(int)  # after a frame's pixmap is on the scene
    viewModeChanged = Signal(int)
    zoomChanged = Signal(float)
    toolChanged = Signal(str)
    shapeDrawn = Signal(object)  # a Shape in source (coded) pixels, drawn with a drawing tool
    # A right-click: {"ids": the track(s) of the shape under the mouse (now selected) or [],
    # "global_pos": where the menu opens, "scene_pos": the point on the upright picture}
    contextMenuRequested = Signal(object)

    def __init__(self, doc, provider, parent=None):
        super().__init__(parent)
        self.doc, self.provider = doc, provider
        self.setScene(QGraphicsScene(self))
        self.setBackgroundBrush(BACKGROUND)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self._pixmap = QGraphicsPixmapItem()
        self._pixmap.setShapeMode(QGraphicsPixmapItem.ShapeMode.BoundingRectShape)
        self.scene().addItem(self._pixmap)
        self._overlays = QGraphicsRectItem()
        self._overlays.setPen(Qt.PenStyle.NoPen)
        self._overlays.setFlag(QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape)
        self._overlays.setZValue(1)
        self.scene().addItem(self._overlays)
        self.leak = LeakMarker(self.scene())  # the leak picked in the Leak check panel
        self._divider = QGraphicsLineItem()
        pen = QPen(QColor(SELECTED_COLOR), 2)
        pen.setCosmetic(True)
        self._divider.setPen(pen)
        self._divider.setZValue(20)
        self._divider.setVisible(False)
        self.scene().addItem(self._divider)
        self._captions = [_Label("Original", self._divider), _Label("Redacted", self._divider)]
        self._message = QGraphicsSimpleTextItem()
        self._message.setBrush(TEXT)
        self._message.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self._message.setZValue(30)
        self.scene().addItem(self._message)
        self._mode = ViewMode.ORIGINAL
        self._split = 0.5
        self._fit = True
        self._size = (0, 0)  # the picture as shown (upright)
        self._orient = Orientation()  # coded pixels <-> the upright picture (display rotation)
        self._frame: int | None = None  # index on screen
        self._bgr: np.ndarray | None = None  # its decoded pixels
        self._shown: np.ndarray | None = None  # what the pixmap holds (original, redacted or split)
        self._redacted: tuple[tuple, np.ndarray] | None = None
        self._revision = 0
        self._drag: _Drag | None = None
        self._serial = 0  # bumped at each press that may edit a shape
        self._tool = "select"
        self._poly: list[tuple[float, float]] = []  # polygon being drawn (upright picture px)
        self._rubber: tuple[QPointF, QPointF] | None = None  # rect/ellipse being drawn (scene)
        self._hover_scene: QPointF | None = None  # where the polygon preview follows the mouse
        self._handles_for: tuple[str, Shape] | None = None  # the selected track's shape on screen
        doc.projectReplaced.connect(self._on_project_replaced)
        doc.frameChanged.connect(self._on_frame_changed)
        doc.tracksChanged.connect(self._on_tracks_changed)
        doc.selectionChanged.connect(self._on_selection_changed)
        doc.hiddenChanged.connect(self._rebuild_overlays)
        provider.frameReady.connect(self._on_frame_ready)
        provider.decodeFailed.connect(self._on_decode_failed)
        if doc.has_media:
            self._on_project_replaced()

    # -- public API -------------------------------------------------------------------------------
    @property
    def displayed_frame(self) -> int | None:
        return self._frame

    def displayed_image(self) -> np.ndarray | None:
        """The pixels on screen at 1:1 (original, redacted or the split composite), BGR, upright."""
        return self._shown

    @property
    def orientation(self) -> Orientation:
        """How the coded frame is turned to be shown; the scene is the upright picture."""
        return self._orient

    @property
    def view_mode(self) -> ViewMode:
        return self._mode

    def set_view_mode(self, mode: ViewMode | int) -> None:
        mode = ViewMode(mode)
        if mode != self._mode:
            self._mode = mode
            self._refresh()
            self.viewModeChanged.emit(int(mode))

    def set_split(self, fraction: float) -> None:
        """Where the split view's divider stands, as a fraction of the width (0.5: the middle)."""
        self._split = min(1.0, max(0.0, float(fraction)))
        if self._mode == ViewMode.SPLIT:
            self._refresh()

    @property
    def split_x(self) -> int:
        return int(round(self._size[0] * self._split))

    @property
    def zoom(self) -> float:
        return self.transform().m11()

    @property
    def is_fit(self) -> bool:
        return self._fit

    def fit(self) -> None:
        self._fit = True
        w, h = self._size
        if w and h:
            self.fitInView(QRectF(0, 0, w, h), Qt.AspectRatioMode.KeepAspectRatio)
        self._zoom_changed()

    def zoom_1to1(self) -> None:
        self.set_zoom(1.0)

    def zoom_in(self) -> None:
        self.set_zoom(self.zoom * 1.25)

    def zoom_out(self) -> None:
        self.set_zoom(self.zoom / 1.25)

    def set_zoom(self, zoom: float, anchor_under_mouse: bool = False) -> None:
        zoom = min(MAX_ZOOM, max(MIN_ZOOM, zoom))
        center = self.mapToScene(self.viewport().rect().center())
        self._fit = False
        old = self.transformationAnchor()
        if not anchor_under_mouse:
            self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.scale(zoom / self.zoom, zoom / self.zoom)
        if not anchor_under_mouse:
            self.centerOn(center)
        self.setTransformationAnchor(old)
        self._zoom_changed()

    def overlay_items(self) -> list[ShapeItem]:
        return [i for i in self._overlays.childItems() if isinstance(i, ShapeItem)]

    def item_for_track(self, track_id: str) -> ShapeItem | None:
        return next((i for i in self.overlay_items() if i.track_id == track_id), None)

    # -- tools ------------------------------------------------------------------------------------
    @property
    def tool(self) -> str:
        return self._tool

    def set_tool(self, tool: str) -> None:
        """"select" (default), "rect", "ellipse" or "polygon". Cancels a drawing in progress."""
        if tool not in shape_tools.TOOLS:
            raise ValueError(f"unknown tool {tool!r} (one of {', '.join(shape_tools.TOOLS)})")
        self.cancel_drawing()
        if tool != self._tool:
            self._tool = tool
            if self._drag is not None and self._drag.kind != "pan":
                self._drag = None
            self._update_cursor(None)
            self.viewport().update()  # handles show in the select tool only
            self.toolChanged.emit(tool)

    @property
    def is_drawing(self) -> bool:
        """True while a shape is being drawn (a rubber band or an unfinished polygon)."""
        return self._rubber is not None or bool(self._poly)

    def drawing_points(self) -> list[tuple[float, float]]:
        """The unfinished polygon's points, or the rubber band's two corners (upright picture px)."""
        if self._rubber is not None:
            a, b = self._rubber
            return [(a.x(), a.y()), (b.x(), b.y())]
        return list(self._poly)

    def cancel_drawing(self) -> None:
        if self._drag is not None and self._drag.kind == "draw":
            self._drag = None
        if self.is_drawing:
            self._rubber, self._poly = None, []
            self.viewport().update()

    # -- coordinates and handles ------------------------------------------------------------------
    def scene_to_view(self, p: QPointF) -> QPoint:
        """A scene point (the upright picture's pixels) in viewport (widget) coordinates."""
        return self.mapFromScene(p)

    def _to_scene(self, pos: QPointF) -> QPointF:
        return self.viewportTransform().inverted()[0].map(QPointF(pos))

    def _to_view(self, x: float, y: float) -> QPointF:
        return self.viewportTransform().map(QPointF(x, y))

    def handle_positions(self) -> dict[str, QPointF]:
        """The selected shape's edit handles, name -> viewport position (empty when there is no
        single selected track drawn on this frame). Edge midpoints are left out while the box is
        too small on screen for them to be told apart from the corners."""
        if self._handles_for is None or self._tool != "select":
            return {}
        _tid, shape = self._handles_for
        out = {name: self._to_view(x, y) for name, (x, y) in shape_tools.box_handles(shape).items()}
        w = abs(out["tr"].x() - out["tl"].x())
        h = abs(out["bl"].y() - out["tl"].y())
        if w < 3 * HANDLE_PX:
            out.pop("t"), out.pop("b")
        if h < 3 * HANDLE_PX:
            out.pop("l"), out.pop("r")
        out.update({name: self._to_view(x, y) for name, (x, y) in shape_tools.vertex_handles(shape).items()})
        return out

    def handle_at(self, pos: QPointF) -> str | None:
        """The handle under viewport position ``pos`` (the nearest; a polygon vertex wins a tie)."""
        best, best_d = None, HANDLE_PX / 2 + 2
        items = sorted(self.handle_positions().items(), key=lambda kv: not shape_tools.is_vertex(kv[0]))
        for name, p in items:
            d = max(abs(p.x() - pos.x()), abs(p.y() - pos.y()))
            if d <= best_d and (best is None or d < best_d):
                best, best_d = name, d
        return best

    # -- document and provider --------------------------------------------------------------------
    def _on_project_replaced(self) -> None:
        self._frame, self._bgr, self._shown, self._redacted = None, None, None, None
        self._drag = None
        self.cancel_drawing()
        self._pixmap.setPixmap(QPixmap())
        self._message.setText("")
        self._rebuild_overlays()
        info = self.doc.info
        if info is None:
            return
        if not (self.provider.is_open and self.provider.path == info.path):
            self.provider.open(info.path, info)  # a no-op when the window opened it already
        self._orient = self.doc.orientation
        self._set_size(*self._orient.upright_size)
        self._on_frame_changed(self.doc.frame)

    def _on_frame_changed(self, index: int) -> None:
        bgr = self.provider.cached(index)
        if bgr is not None:
            self.provider.set_playhead(index)
            self._show(index, bgr)
        else:
            self.provider.request(index)

    def _on_frame_ready(self, index: int, bgr: np.ndarray) -> None:
        target, shown = self.doc.frame, self._frame
        on_the_way = shown is not None and (shown < index < target or target < index < shown)
        if index == target or on_the_way:
            self._show(index, bgr)

    def _on_decode_failed(self, index: int, message: str) -> None:
        self._message.setText(message)
        self._message.setPos(0, 0)

    def _on_selection_changed(self, _ids: list) -> None:
        self._rebuild_overlays()

    def _on_tracks_changed(self) -> None:
        self._revision += 1
        if self._mode == ViewMode.ORIGINAL:
            self._rebuild_overlays()  # the pixels do not depend on the tracks: no new pixmap
        else:
            self._refresh()

    # -- rendering --------------------------------------------------------------------------------
    def _show(self, index: int, bgr: np.ndarray) -> None:
        self._frame, self._bgr = index, bgr
        self._message.setText("")
        self._refresh()
        self.frameShown.emit(index)

    def _set_size(self, w: int, h: int) -> None:
        if (w, h) == self._size:
            return
        self._size = (w, h)
        self.setSceneRect(QRectF(-w, -h, 3 * w, 3 * h))  # room to pan the picture off-centre
        if self._fit:
            self.fit()

    def _refresh(self) -> None:
        if self._bgr is None:
            return
        turn = self._orient.image  # the coded frame as it is shown
        original = turn(self._bgr)
        h, w = original.shape[:2]
        self._set_size(w, h)
        if self._mode == ViewMode.ORIGINAL:
            shown = original
        elif self._mode == ViewMode.REDACTED:
            shown = turn(self._redacted_image())
        else:
            sx = self.split_x
            shown = original.copy()
            shown[:, sx:] = turn(self._redacted_image())[:, sx:]
        self._shown = shown
        shown = np.ascontiguousarray(shown)
        image = QImage(shown.data, w, h, shown.strides[0], QImage.Format.Format_BGR888)
        self._pixmap.setPixmap(QPixmap.fromImage(image))  # fromImage copies: the array may go
        self._divider.setVisible(self._mode == ViewMode.SPLIT)
        self._divider.setLine(self.split_x, 0, self.split_x, h)
        left, right = self._captions  # in screen pixels beside the divider's top
        left.setPos(self.split_x, 0)
        left.setTransform(QTransform.fromTranslate(-left.boundingRect().width() - 8, 6))
        right.setPos(self.split_x, 0)
        right.setTransform(QTransform.fromTranslate(8, 6))
        self._rebuild_overlays()

    def _redacted_image(self) -> np.ndarray:
        key = (self._frame, self._revision, id(self.doc.project))
        if self._redacted is not None and self._redacted[0] == key:
            return self._redacted[1]
        masks = [(shape, style) for _t, shape, style in self.doc.project.masks_at(self._frame)]
        if not masks:
            out = self._bgr
        else:
            source = self.provider.source_frame(self._frame)
            out = export_preview(source, masks) if source is not None else redact_bgr(self._bgr, masks)
        self._redacted = (key, out)
        return out

    def set_leak(self, event) -> None:
        """Draw ``event``'s box (a leak check event; None: none) on the frames it covers."""
        self.leak.set_event(event)
        self.leak.update(self._frame, self._orient)

    def _rebuild_overlays(self) -> None:
        self.leak.update(self._frame, self._orient)
        for item in self._overlays.childItems():
            item.setParentItem(None)
            self.scene().removeItem(item)
        self._handles_for = None
        self.viewport().update()  # the handles are drawn in the foreground
        w, h = self._size
        visible = self._frame is not None and self._mode != ViewMode.REDACTED
        self._overlays.setVisible(visible)
        if not visible:
            return
        clip_w = self.split_x if self._mode == ViewMode.SPLIT else w
        self._overlays.setRect(QRectF(0, 0, clip_w, h))
        selection = self.doc.selection
        selected = set(selection)
        for track in self.doc.project.tracks:
            if self.doc.is_hidden(track.id):
                continue
            shape = track.shape_at(self._frame)
            if shape is not None:
                shape = self._orient.shape_upright(shape)  # the scene is the upright picture
                ShapeItem(track, shape, self._frame, track.id in selected, self._overlays)
                if len(selection) == 1 and track.id == selection[0]:
                    self._handles_for = (track.id, shape)

    def _zoom_changed(self) -> None:
        mode = Qt.TransformationMode.SmoothTransformation if self.zoom < 1.0 else Qt.TransformationMode.FastTransformation
        self._pixmap.setTransformationMode(mode)  # magnified: show the real pixels
        self.zoomChanged.emit(self.zoom)

    # -- mouse and resize -------------------------------------------------------------------------
    def shape_item_at(self, pos) -> ShapeItem | None:
        for item in self.items(pos):
            while item is not None and not isinstance(item, ShapeItem):
                item = item.parentItem()
            if item is not None:
                return item
        return None

    def _near_divider(self, pos) -> bool:
        if self._mode != ViewMode.SPLIT or self._frame is None:
            return False
        x = self.mapFromScene(QPointF(self.split_x, 0)).x()
        return abs(pos.x() - x) <= 5

    def _update_cursor(self, pos: QPointF | None) -> None:
        vp = self.viewport()
        d = self._drag
        if d is not None:
            if d.kind == "pan":
                vp.setCursor(Qt.CursorShape.ClosedHandCursor)
            elif d.kind == "split":
                vp.setCursor(Qt.CursorShape.SplitHCursor)
            elif d.kind == "move":
                vp.setCursor(Qt.CursorShape.SizeAllCursor)
            elif d.kind in ("resize", "vertex"):
                vp.setCursor(shape_tools.handle_cursor(d.handle))
            else:
                vp.setCursor(Qt.CursorShape.CrossCursor)
            return
        if self._tool != "select":
            vp.setCursor(Qt.CursorShape.CrossCursor)
            return
        if pos is None:
            vp.setCursor(Qt.CursorShape.ArrowCursor)
            return
        if self._near_divider(pos):
            vp.setCursor(Qt.CursorShape.SplitHCursor)
        elif (handle := self.handle_at(pos)) is not None:
            vp.setCursor(shape_tools.handle_cursor(handle))
        elif (item := self.shape_item_at(pos.toPoint())) is not None:
            vp.setCursor(Qt.CursorShape.SizeAllCursor if item.selected else Qt.CursorShape.PointingHandCursor)
        else:
            vp.setCursor(Qt.CursorShape.ArrowCursor)

    def _start_pan(self, pos: QPointF) -> None:
        self._drag = _Drag("pan", pos)
        self._update_cursor(pos)

    def _start_edit(self, kind: str, track_id: str, pos: QPointF, handle: str = "") -> None:
        """Arm a move/resize/vertex drag of ``track_id``'s shape at the frame on screen."""
        track = self.doc.project.track(track_id)
        frame = self._frame
        shape = track.shape_at(frame) if track is not None and frame is not None else None
        if shape is None:
            return
        shape = self._orient.shape_upright(shape)  # dragged on the upright picture
        self._serial += 1
        self._drag = _Drag(kind, pos, press=QPointF(pos), start=self._to_scene(pos), track_id=track_id,
                           frame=frame, shape=shape, handle=handle, serial=self._serial)
        self._update_cursor(pos)

    def _drag_edit(self, pos: QPointF) -> None:
        d = self._drag
        if not d.active:
            delta = pos - d.press
            if abs(delta.x()) + abs(delta.y()) < DRAG_START_PX:
                return
            d.active = True
        track = self.doc.project.track(d.track_id)
        if track is None:  # undone or deleted under the mouse
            self._drag = None
            return
        scene = self._to_scene(pos)
        dx, dy = scene.x() - d.start.x(), scene.y() - d.start.y()
        if d.kind == "move":
            new = shape_tools.move(d.shape, dx, dy)
        elif d.kind == "resize":
            new = shape_tools.resize(d.shape, d.handle, dx, dy)
        else:
            new = shape_tools.move_vertex(d.shape, int(d.handle[1:]), dx, dy)
        if new is None:
            return
        new = self._orient.shape_coded(new)
        kf = track.keyframe_at(d.frame)
        if kf is not None and kf.visible and kf.source == edits.MANUAL and kf.shape == new:
            return
        frame = d.frame
        self.doc.edit_tracks(_EDIT_TEXT[d.kind], [d.track_id], lambda t: edits.set_shape(t, frame, new),
                             merge_key=("drag", d.track_id, frame, d.serial))

    # -- drawing ----------------------------------------------------------------------------------
    def _draw_press(self, pos: QPointF) -> None:
        scene = self._to_scene(pos)
        if self._tool in ("rect", "ellipse"):
            self._rubber = (scene, scene)
            self._drag = _Drag("draw", pos, press=QPointF(pos), start=scene)
        else:
            self._add_polygon_point(pos)
        self.viewport().update()

    def _add_polygon_point(self, pos: QPointF) -> None:
        """A click of the polygon tool: a new point, or closing the polygon on its first point."""
        if len(self._poly) >= 3:
            first = self._to_view(*self._poly[0])
            if max(abs(first.x() - pos.x()), abs(first.y() - pos.y())) <= CLOSE_POLYGON_PX:
                self._finish_polygon()
                return
        if self._poly:
            last = self._to_view(*self._poly[-1])
            if max(abs(last.x() - pos.x()), abs(last.y() - pos.y())) <= 2:
                return  # the second click of a double-click, or a twitch
        scene = self._to_scene(pos)
        self._poly.append((shape_tools.rounded(scene.x()), shape_tools.rounded(scene.y())))
        self._hover_scene = scene

    def _finish_polygon(self) -> None:
        pts, self._poly = self._poly, []
        self.viewport().update()
        if len(pts) >= 3:
            shape = Shape.polygon(pts)
            if shape.width > 0 and shape.height > 0:
                self.shapeDrawn.emit(self._orient.shape_coded(shape))

    def _finish_box(self) -> None:
        a, b = self._rubber
        self._rubber = None
        self.viewport().update()
        if abs(b.x() - a.x()) < MIN_DRAWN_PX or abs(b.y() - a.y()) < MIN_DRAWN_PX:
            return
        drawn = shape_tools.box_from_corners(self._tool, (a.x(), a.y()), (b.x(), b.y()))
        self.shapeDrawn.emit(self._orient.shape_coded(drawn))

    # -- mouse ------------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        pos = event.position()
        button = event.button()
        if button == Qt.MouseButton.MiddleButton:
            self._start_pan(pos)
            return
        if button != Qt.MouseButton.LeftButton:
            super().mousePressEvent(event)
            return
        self.setFocus(Qt.FocusReason.MouseFocusReason)  # Esc and Backspace reach the drawing tools
        if self._tool != "select":
            self._draw_press(pos)
            return
        if self._near_divider(pos):
            self._drag = _Drag("split", pos)
            return
        handle = self.handle_at(pos)
        if handle is not None:
            self._start_edit("vertex" if shape_tools.is_vertex(handle) else "resize", self._handles_for[0], pos, handle)
            return
        item = self.shape_item_at(pos.toPoint())
        if item is not None:
            ids = self.doc.selection
            if event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier):
                ids = [i for i in ids if i != item.track_id] if item.track_id in ids else [*ids, item.track_id]
                self.doc.set_selection(ids)
                return
            track_id = item.track_id  # the item goes when the selection rebuilds the overlays
            self.doc.set_selection([track_id])
            self._start_edit("move", track_id, pos)
            return
        self.doc.set_selection([])
        self._start_pan(pos)

    def mouseMoveEvent(self, event) -> None:
        pos = event.position()
        d = self._drag
        if d is not None:
            if d.kind == "pan":
                delta = pos - d.last
                self._fit = False
                self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - round(delta.x()))
                self.verticalScrollBar().setValue(self.verticalScrollBar().value() - round(delta.y()))
            elif d.kind == "split":
                if self._size[0]:
                    self.set_split(self._to_scene(pos).x() / self._size[0])
            elif d.kind == "draw":
                if self._rubber is not None:
                    self._rubber = (self._rubber[0], self._to_scene(pos))
                    self.viewport().update()
            else:
                self._drag_edit(pos)
            if self._drag is not None:
                self._drag.last = pos
            return
        if self._tool == "polygon" and self._poly:
            self._hover_scene = self._to_scene(pos)
            self.viewport().update()
        self._update_cursor(pos)
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        d = self._drag
        if d is not None:
            self._drag = None
            if d.kind == "draw" and self._rubber is not None:
                self._finish_box()
            self._update_cursor(event.position())
            return
        if self._tool != "select" and event.button() == Qt.MouseButton.LeftButton:
            event.accept()  # the polygon tool's clicks
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:
        if self._tool == "polygon" and event.button() == Qt.MouseButton.LeftButton:
            self._add_polygon_point(event.position())  # a no-op when the first click placed it
            if len(self._poly) >= 3:
                self._finish_polygon()
            return
        if self._tool != "select":
            return
        super().mouseDoubleClickEvent(event)

    def contextMenuEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self.is_drawing:  # a right-click while drawing a polygon: nothing to offer but Esc
            event.accept()
            return
        item = self.shape_item_at(event.pos())
        ids: list[str] = []
        if item is not None:
            ids = [item.track_id]
            if item.track_id in self.doc.selection:
                ids = self.doc.selection
            else:
                self.doc.set_selection(ids)
        self.contextMenuRequested.emit({"ids": ids, "global_pos": event.globalPos(),
                                        "scene_pos": self._to_scene(QPointF(event.pos()))})
        event.accept()

    # -- keys -------------------------------------------------------------------------------------
    def _owns_key(self, key) -> bool:
        if key == Qt.Key.Key_Escape:
            return self._tool != "select" or self.is_drawing
        if key == Qt.Key.Key_Backspace:
            return bool(self._poly)
        return False

    def event(self, event) -> bool:
        # A window-wide shortcut on Esc or Backspace must not take them from a drawing in progress.
        if event.type() == QEvent.Type.ShortcutOverride and self._owns_key(event.key()):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:
        key = event.key()
        if not self._owns_key(key):
            super().keyPressEvent(event)
            return
        if key == Qt.Key.Key_Escape:
            if self.is_drawing:
                self.cancel_drawing()
            else:
                self.set_tool("select")
        else:
            self._poly.pop()
            self.viewport().update()
        event.accept()

    # -- foreground: handles and drawing previews -------------------------------------------------
    def drawForeground(self, painter: QPainter, rect) -> None:
        super().drawForeground(painter, rect)
        handles = self.handle_positions()
        if not handles and not self.is_drawing:
            return
        painter.save()
        painter.resetTransform()  # viewport pixels: constant size whatever the zoom
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        half = HANDLE_PX / 2
        painter.setPen(QPen(QColor(BACKGROUND), 1))
        painter.setBrush(QColor(SELECTED_COLOR))
        for name, p in handles.items():
            r = QRectF(p.x() - half, p.y() - half, HANDLE_PX, HANDLE_PX)
            if shape_tools.is_vertex(name):
                painter.drawEllipse(r)
            else:
                painter.drawRect(r)
        if self.is_drawing:
            self._paint_drawing(painter)
        painter.restore()

    def _paint_drawing(self, painter: QPainter) -> None:
        pen = QPen(DRAW_COLOR, 1.5, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        fill = QColor(DRAW_COLOR)
        fill.setAlpha(40)
        if self._rubber is not None:
            a, b = self._rubber
            r = QRectF(self.viewportTransform().map(a), self.viewportTransform().map(b)).normalized()
            painter.setBrush(fill)
            if self._tool == "ellipse":
                painter.drawEllipse(r)
            else:
                painter.drawRect(r)
            return
        pts = [self._to_view(x, y) for x, y in self._poly]
        if self._hover_scene is not None:
            pts.append(self.viewportTransform().map(self._hover_scene))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPolyline(QPolygonF(pts))
        painter.setPen(QPen(QColor(BACKGROUND), 1))
        painter.setBrush(DRAW_COLOR)
        half = HANDLE_PX / 2
        for i, p in enumerate(pts[: len(self._poly)]):
            grow = 2 if i == 0 and len(self._poly) >= 3 else 0  # the first point closes the polygon
            painter.drawEllipse(QRectF(p.x() - half - grow, p.y() - half - grow,
                                       HANDLE_PX + 2 * grow, HANDLE_PX + 2 * grow))

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.set_zoom(self.zoom * (1.25**steps), anchor_under_mouse=True)
        event.accept()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fit:
            self.fit()
