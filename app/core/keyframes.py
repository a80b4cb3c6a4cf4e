"""Dense to sparse: keep the fewest keyframes whose interpolation reproduces the dense boxes.

Ramer-Douglas-Peucker on the box trajectory: keep the first and last frame, then recursively keep
the frame whose linear interpolation error (the largest of the four box coordinates, in pixels)
is biggest, until every frame is within ``tolerance``. An operator then edits a handful of
keyframes instead of hundreds of boxes, and the export draws the same masks within the tolerance.
"""

from __future__ import annotations

import numpy as np


def reduce_boxes(frames: np.ndarray, boxes: np.ndarray, tolerance: float = 1.5) -> list[int]:
    """Indices into ``frames``/``boxes`` to keep as keyframes (sorted, first and last included).

    ``frames`` are increasing frame numbers (gaps allowed), ``boxes`` (N, 4). Linear interpolation
    between the kept keyframes is within ``tolerance`` px of every box.
    """
    frames = np.asarray(frames, np.float64)
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    n = len(frames)
    if n <= 2:
        return list(range(n))
    keep = np.zeros(n, bool)
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    while stack:
        a, b = stack.pop()
        if b - a < 2:
            continue
        t = (frames[a + 1 : b] - frames[a]) / (frames[b] - frames[a])
        interp = boxes[a] + t[:, None] * (boxes[b] - boxes[a])
        err = np.abs(interp - boxes[a + 1 : b]).max(axis=1)
        k = int(np.argmax(err))
        if err[k] > tolerance:
            m = a + 1 + k
            keep[m] = True
            stack.append((a, m))
            stack.append((m, b))
    return [int(i) for i in np.nonzero(keep)[0]]
