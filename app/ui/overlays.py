"""What the viewport draws over the frame: each track's shape (:class:`ShapeItem`) with its name
and score, and the redacted preview rendered by the export's own code (:func:`export_preview`)."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPen, QPolygonF, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QGraphicsSimpleTextItem

from app.core.shapes import Shape, ShapeKind
from app.media.frames import fallback_format, native_format_supported, plane_image
from app.redaction.compose import redact
from app.ui.style import MUTED_TEXT, PANEL, SELECTED_COLOR, TEXT, class_color


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
    """One track's shape at the displayed frame.

    Enabled tracks: solid outline in the class colour over a faint fill. Disabled (exempt)
    tracks: dashed outline over a hatched fill. Rejected tracks: dimmed, dotted grey outline."""

    def __init__(self, track, shape: Shape, frame: int, selected: bool, parent: QGraphicsItem):
        super().__init__(shape_path(shape), parent)
        self.track_id, self.cls, self.enabled, self.selected = track.id, track.cls, track.enabled, selected
        self.rejected = track.review == "rejected"
        score = score_at(track, frame)
        name = f"{track.id} {track.label}".strip() if track.label else track.id
        self.label_text = (name + (f" · {score:.2f}" if score is not None else "")
                           + ("" if track.enabled else " (off)") + (" (rejected)" if self.rejected else ""))
        self.setToolTip(self.label_text)
        self.setAcceptHoverEvents(True)
        color = QColor(MUTED_TEXT) if self.rejected else class_color(track.cls)
        self.color = color
        pen = QPen(color, 2.0 if not selected else 1.5)
        pen.setCosmetic(True)
        fill = QColor(color)
        if track.enabled:
            fill.setAlpha(10 if self.rejected else 30)
            brush = QBrush(fill)
        else:
            pen.setStyle(Qt.PenStyle.DashLine)
            fill.setAlpha(110)
            brush = QBrush(fill, Qt.BrushStyle.BDiagPattern)
        if self.rejected:
            pen.setStyle(Qt.PenStyle.DotLine)
            self.setOpacity(0.6)
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


LEAK_COLOR = QColor("#fa5252")


class LeakMarker:
    """The box of the leak picked in the Leak check panel, drawn on the frame in every view mode
    (the leak is in the output, so it matters most in the redacted view): a red dashed rectangle
    with the event's name and score. On a frame the check did not look at, inside the event's
    frames, the nearest checked frame's box is drawn dotted and says which frame it is from.
    Boxes are in coded pixels (like tracks); the scene shows the upright picture."""

    def __init__(self, scene):
        self.event = None
        self.item = QGraphicsPathItem()
        self.item.setZValue(20)
        self.item.setVisible(False)
        self.label = _Label("", self.item)
        scene.addItem(self.item)
        self.shown_box: tuple[float, float, float, float] | None = None  # upright, as drawn

    def set_event(self, event) -> None:
        self.event = event

    def box_at(self, frame: int | None) -> tuple[int, tuple[float, float, float, float]] | None:
        """(the frame its box is from, the box in coded pixels) for ``frame``, or None."""
        e = self.event
        if e is None or frame is None or not e.first_frame <= frame <= e.last_frame:
            return None
        boxes = e.boxes or {e.peak_frame: e.box}
        at = frame if frame in boxes else min(boxes, key=lambda f: (abs(f - frame), f))
        return at, boxes[at]

    def update(self, frame: int | None, orientation) -> None:
        found = self.box_at(frame)
        if found is None:
            self.item.setVisible(False)
            self.shown_box = None
            return
        at, (x1, y1, x2, y2) = found
        shape = orientation.shape_upright(Shape.rect(x1, y1, x2, y2))
        self.shown_box = shape.bbox
        self.item.setPath(shape_path(shape))
        pen = QPen(LEAK_COLOR, 2.5)
        pen.setCosmetic(True)
        pen.setStyle(Qt.PenStyle.DashLine if at == frame else Qt.PenStyle.DotLine)
        self.item.setPen(pen)
        fill = QColor(LEAK_COLOR)
        fill.setAlpha(40)
        self.item.setBrush(QBrush(fill))
        e = self.event
        text = f"leak {e.id} · {e.cls} {e.max_score:.2f}" + ("" if at == frame else f" (box of frame {at})")
        self.label.setText(text)
        self.item.setToolTip(text)
        ux1, uy1, _ux2, _uy2 = shape.bbox
        self.label.setPos(ux1, uy1)
        self.label.setTransform(QTransform.fromTranslate(0, -self.label.boundingRect().height() - 3))
        self.item.setVisible(True)
