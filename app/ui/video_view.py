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

from enum import IntEnum
from fractions import Fraction

import av
import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPainterPath, QPen, QPixmap, QPolygonF, QTransform
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsPathItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
)

from app.core.shapes import Shape, ShapeKind
from app.media.frames import fallback_format, native_format_supported, plane_image
from app.redaction.compose import redact, redact_bgr
from app.ui.style import BACKGROUND, PANEL, SELECTED_COLOR, TEXT, class_color

MIN_ZOOM, MAX_ZOOM = 0.02, 32.0


class ViewMode(IntEnum):
    ORIGINAL = 0
    REDACTED = 1
    SPLIT = 2


def export_preview(frame: av.VideoFrame, masks: list) -> np.ndarray:
    """BGR of ``frame`` redacted exactly as the exporter redacts it before encoding.

    ``frame`` (the decoder's, shared with the cache) is left untouched: the work is done on a
    clone that keeps every property of the frame (chroma siting included, which the conversion
    to BGR of a 10-bit frame depends on).
    """
    if not native_format_supported(frame.format.name):
        out = frame.reformat(format=fallback_format(frame))
    else:
        graph = av.filter.Graph()  # buffer -> buffersink: a new reference with all properties
        src = graph.add_buffer(template=frame, time_base=frame.time_base or Fraction(1, 25))
        src.link_to(graph.add("buffersink"))
        graph.configure()
        graph.push(frame)
        out = graph.pull()
    out.make_writable()  # the data is shared with the cache: this copies it
    redact(plane_image(out), masks)
    return out.to_ndarray(format="bgr24")


def shape_path(shape: Shape) -> QPainterPath:
    path = QPainterPath()
    x1, y1, x2, y2 = shape.bbox
    if shape.kind is ShapeKind.RECT:
        path.addRect(QRectF(x1, y1, x2 - x1, y2 - y1))
    elif shape.kind is ShapeKind.ELLIPSE:
        path.addEllipse(QRectF(x1, y1, x2 - x1, y2 - y1))
    else:
        path.addPolygon(QPolygonF([QPointF(x, y) for x, y in shape.points]))
        path.closeSubpath()
    return path


def score_at(track, frame: int) -> float | None:
    """Detection score shown for ``track`` at ``frame``: the last scored keyframe at or before it."""
    best = None
    for kf in track.keyframes:
        if kf.frame > frame:
            break
        if kf.score is not None:
            best = kf.score
    return best if best is not None else track.max_score


class _Label(QGraphicsSimpleTextItem):
    """Track name and score on a dark plate, constant size on screen."""

    def __init__(self, text: str, parent: QGraphicsItem):
        super().__init__(text, parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setBrush(TEXT)
        self.setZValue(10)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        bg = QColor(PANEL)
        bg.setAlpha(220)
        painter.fillRect(self.boundingRect().adjusted(-3, -1, 3, 1), bg)
        super().paint(painter, option, widget)


class ShapeItem(QGraphicsPathItem):
    """One track's shape at the displayed frame."""

    def __init__(self, track, shape: Shape, frame: int, selected: bool, parent: QGraphicsItem):
        super().__init__(shape_path(shape), parent)
        self.track_id, self.cls, self.enabled, self.selected = track.id, track.cls, track.enabled, selected
        score = score_at(track, frame)
        name = f"{track.id} {track.label}".strip() if track.label else track.id
        self.label_text = name + (f" · {score:.2f}" if score is not None else "") + ("" if track.enabled else " (off)")
        self.setToolTip(self.label_text)
        self.setAcceptHoverEvents(True)
        color = class_color(track.cls)
        self.color = color
        pen = QPen(color, 2.0 if not selected else 1.5)
        pen.setCosmetic(True)
        fill = QColor(color)
        if track.enabled:
            fill.setAlpha(30)
            brush = QBrush(fill)
        else:
            pen.setStyle(Qt.PenStyle.DashLine)
            fill.setAlpha(110)
            brush = QBrush(fill, Qt.BrushStyle.BDiagPattern)
        self.setPen(pen)
        self.setBrush(brush)
        self.setZValue(3 if selected else 2 - min(1.0, shape.width * shape.height / 1e7))
        x1, y1, _x2, _y2 = shape.bbox
        self.label = _Label(self.label_text, self)
        self.label.setPos(x1, y1)  # just above the shape's top-left corner, in screen pixels
        self.label.setTransform(QTransform.fromTranslate(0, -self.label.boundingRect().height() - 3))
        self.label.setVisible(selected)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if self.selected:
            outline = QPen(QColor(SELECTED_COLOR), 4.0)
            outline.setCosmetic(True)
            outline.setStyle(self.pen().style())
            painter.setPen(outline)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(self.path())
        painter.setPen(self.pen())
        painter.setBrush(self.brush())
        painter.drawPath(self.path())

    def hoverEnterEvent(self, event) -> None:
        self.label.setVisible(True)
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event) -> None:
        self.label.setVisible(self.selected)
        super().hoverLeaveEvent(event)


class VideoView(QGraphicsView):
    """Bound to a Document (playhead, project, selection) and a FrameProvider (pixels)."""

    frameShown = Signal(int)  # after a frame's pixmap is on the scene
    viewModeChanged = Signal(int)
    zoomChanged = Signal(float)

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
        self._size = (0, 0)
        self._frame: int | None = None  # index on screen
        self._bgr: np.ndarray | None = None  # its decoded pixels
        self._shown: np.ndarray | None = None  # what the pixmap holds (original, redacted or split)
        self._redacted: tuple[tuple, np.ndarray] | None = None
        self._revision = 0
        self._drag: tuple[str, QPointF] | None = None
        doc.projectReplaced.connect(self._on_project_replaced)
        doc.frameChanged.connect(self._on_frame_changed)
        doc.tracksChanged.connect(self._on_tracks_changed)
        doc.selectionChanged.connect(self._on_selection_changed)
        provider.frameReady.connect(self._on_frame_ready)
        provider.decodeFailed.connect(self._on_decode_failed)
        if doc.has_media:
            self._on_project_replaced()

    # -- public API -------------------------------------------------------------------------------
    @property
    def displayed_frame(self) -> int | None:
        return self._frame

    def displayed_image(self) -> np.ndarray | None:
        """The pixels on screen at 1:1 (original, redacted or the split composite), BGR."""
        return self._shown

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

    # -- document and provider --------------------------------------------------------------------
    def _on_project_replaced(self) -> None:
        self._frame, self._bgr, self._shown, self._redacted = None, None, None, None
        self._pixmap.setPixmap(QPixmap())
        self._message.setText("")
        self._rebuild_overlays()
        info = self.doc.info
        if info is None:
            return
        if not (self.provider.is_open and self.provider.path == info.path):
            self.provider.open(info.path, info)  # a no-op when the window opened it already
        self._set_size(info.width, info.height)
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
        h, w = self._bgr.shape[:2]
        self._set_size(w, h)
        if self._mode == ViewMode.ORIGINAL:
            shown = self._bgr
        elif self._mode == ViewMode.REDACTED:
            shown = self._redacted_image()
        else:
            sx = self.split_x
            shown = self._bgr.copy()
            shown[:, sx:] = self._redacted_image()[:, sx:]
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

    def _rebuild_overlays(self) -> None:
        for item in self._overlays.childItems():
            item.setParentItem(None)
            self.scene().removeItem(item)
        w, h = self._size
        visible = self._frame is not None and self._mode != ViewMode.REDACTED
        self._overlays.setVisible(visible)
        if not visible:
            return
        clip_w = self.split_x if self._mode == ViewMode.SPLIT else w
        self._overlays.setRect(QRectF(0, 0, clip_w, h))
        selected = set(self.doc.selection)
        for track in self.doc.project.tracks:
            shape = track.shape_at(self._frame)
            if shape is not None:
                ShapeItem(track, shape, self._frame, track.id in selected, self._overlays)

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

    def mousePressEvent(self, event) -> None:
        pos = event.position().toPoint()
        button = event.button()
        if button == Qt.MouseButton.LeftButton:
            if self._near_divider(pos):
                self._drag = ("split", event.position())
                return
            item = self.shape_item_at(pos)
            if item is not None:
                ids = self.doc.selection
                if event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier):
                    ids = [i for i in ids if i != item.track_id] if item.track_id in ids else [*ids, item.track_id]
                else:
                    ids = [item.track_id]
                self.doc.set_selection(ids)
                return
            self.doc.set_selection([])
        if button in (Qt.MouseButton.LeftButton, Qt.MouseButton.MiddleButton):
            self._drag = ("pan", event.position())
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._drag is not None:
            kind, last = self._drag
            if kind == "pan":
                delta = event.position() - last
                self._fit = False
                self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - round(delta.x()))
                self.verticalScrollBar().setValue(self.verticalScrollBar().value() - round(delta.y()))
            elif self._size[0]:
                self.set_split(self.mapToScene(event.position().toPoint()).x() / self._size[0])
            self._drag = (kind, event.position())
            return
        pos = event.position().toPoint()
        self.viewport().setCursor(Qt.CursorShape.SplitHCursor if self._near_divider(pos) else Qt.CursorShape.ArrowCursor)
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if self._drag is not None:
            self._drag = None
            self.viewport().unsetCursor()
            return
        super().mouseReleaseEvent(event)

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.set_zoom(self.zoom * (1.25**steps), anchor_under_mouse=True)
        event.accept()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fit:
            self.fit()
