"""The row of video thumbnails under the ruler.

Thumbnails come from outside: a source ``callable(frame_index, height) -> QImage | None`` (None
while the image is being made; the provider then calls :meth:`ThumbnailStrip.ready`, through the
timeline's ``thumbnail_ready`` slot). Slots are laid out on the timeline's content coordinates, so
scrolling keeps every slot on the same frame and only zooming asks for new frames.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen

ThumbnailSource = Callable[[int, int], "QImage | None"]

STRIP_BG = QColor("#151618")
PLACEHOLDER = QColor("#26282c")
PLACEHOLDER_EDGE = QColor("#34373c")
KEEP = 400  # thumbnails handed to ready() kept here


class ThumbnailStrip:
    def __init__(self) -> None:
        self.source: ThumbnailSource | None = None
        self._images: OrderedDict[int, QImage] = OrderedDict()

    def clear(self) -> None:
        self._images.clear()

    def ready(self, frame: int, image: QImage) -> None:
        self._images[int(frame)] = image
        self._images.move_to_end(int(frame))
        while len(self._images) > KEEP:
            self._images.popitem(last=False)

    def image(self, frame: int, height: int) -> QImage | None:
        img = self._images.get(frame)
        if img is not None:
            return img
        if self.source is None:
            return None
        try:
            img = self.source(frame, height)
        except Exception:  # a failing provider must not break painting  # noqa: BLE001
            return None
        return img if img is not None and not img.isNull() else None

    def paint(
        self,
        p: QPainter,
        rect: QRectF,
        *,
        x_from: float,
        x_to: float,
        origin: float,
        zoom: float,
        frame_count: int,
        aspect: float,
    ) -> None:
        """Thumbnails whose slots meet ``x_from..x_to``, inside the strip ``rect``."""
        p.fillRect(rect, STRIP_BG)
        if frame_count <= 0:
            return
        th = int(rect.height()) - 6
        tw = max(8, round(th * aspect))
        slot = tw + 2
        end_x = origin + frame_count * zoom
        k0 = max(0, math.floor((x_from - origin) / slot))
        k1 = math.floor((min(x_to, end_x) - origin) / slot)
        top = rect.top() + 3
        p.save()
        p.setClipRect(QRectF(rect.left(), rect.top(), max(0.0, min(rect.right(), end_x) - rect.left()),
                             rect.height()), Qt.ClipOperation.IntersectClip)
        for k in range(k0, k1 + 1):
            x = origin + k * slot
            frame = min(frame_count - 1, int(k * slot / zoom))
            target = QRectF(x + 1, top, tw, th)
            img = self.image(frame, th)
            if img is not None:
                p.drawImage(target, img)
            else:
                p.fillRect(target, PLACEHOLDER)
                p.setPen(QPen(PLACEHOLDER_EDGE, 1))
                p.drawRect(target.adjusted(0.5, 0.5, -0.5, -0.5))
        p.restore()
