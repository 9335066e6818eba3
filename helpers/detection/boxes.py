"""Boxes of a detector's output: pixels, IoU, the best detections, NMS and drawing with labels.

Boxes are (ymin, xmin, ymax, xmax) rows, normalised to [0, 1] as TF-Hub detectors return them
(or in pixels, for the functions that do not care).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def _boxes(boxes: Any, what: str = "boxes") -> np.ndarray:
    array = np.asarray(boxes.numpy() if hasattr(boxes, "numpy") else boxes, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 4:
        raise ValueError(f"expected {what} of shape (n, 4), got {array.shape}")
    return array


def to_pixel_boxes(boxes: Any, height: int, width: int) -> np.ndarray:
    """Normalised (ymin, xmin, ymax, xmax) boxes (n, 4) -> the same boxes in pixels of an image."""
    if height <= 0 or width <= 0:
        raise ValueError(f"expected a positive image size, got height={height}, width={width}")
    return _boxes(boxes) * np.array([height, width, height, width], dtype=np.float64)


def iou(box_a: Sequence[float], box_b: Sequence[float]) -> float:
    """Intersection over union of two (ymin, xmin, ymax, xmax) boxes; 0 when they do not touch."""
    return float(pairwise_iou(np.reshape(box_a, (1, 4)), np.reshape(box_b, (1, 4)))[0, 0])


def pairwise_iou(boxes_a: Any, boxes_b: Any) -> np.ndarray:
    """IoU of every box of `boxes_a` (n, 4) with every box of `boxes_b` (m, 4): shape (n, m).

    Corners may come in either order (as tf.image.non_max_suppression allows); boxes of zero
    area have IoU 0 with everything.
    """
    a, b = _boxes(boxes_a, "boxes_a"), _boxes(boxes_b, "boxes_b")
    a = np.concatenate([np.minimum(a[:, :2], a[:, 2:]), np.maximum(a[:, :2], a[:, 2:])], 1)
    b = np.concatenate([np.minimum(b[:, :2], b[:, 2:]), np.maximum(b[:, :2], b[:, 2:])], 1)
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    # Boxes that do not meet give a negative overlap on some axis: clip it to zero.
    intersection = np.prod(np.clip(bottom_right - top_left, 0, None), axis=-1)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=-1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=-1)
    union = area_a[:, None] + area_b[None, :] - intersection
    return np.divide(intersection, union, out=np.zeros_like(intersection), where=union > 0)


def top_detections(scores: Any, min_score: float = 0.0, k: int | None = None) -> np.ndarray:
    """Indices of the detections with score >= `min_score`, best first, at most `k` of them."""
    scores = np.asarray(scores.numpy() if hasattr(scores, "numpy") else scores, dtype=np.float64)
    if scores.ndim != 1:
        raise ValueError(f"expected scores of shape (n,), got {scores.shape}")
    if k is not None and k < 0:
        raise ValueError(f"expected k >= 0 or None, got {k}")
    order = np.argsort(-scores, kind="stable")
    order = order[scores[order] >= min_score]
    return order if k is None else order[:k]


def non_max_suppression(
    boxes: Any, scores: Any, iou_threshold: float = 0.5, max_output_size: int | None = None
) -> np.ndarray:
    """Greedy NMS, as tf.image.non_max_suppression: indices of the kept boxes, best first.

    Take the best remaining box, drop every remaining box whose IoU with it is above
    `iou_threshold`, repeat.
    """
    boxes = _boxes(boxes)
    scores = np.asarray(scores.numpy() if hasattr(scores, "numpy") else scores, dtype=np.float64)
    if scores.shape != (len(boxes),):
        raise ValueError(f"expected {len(boxes)} scores for {len(boxes)} boxes, got {scores.shape}")
    overlaps = pairwise_iou(boxes, boxes)
    remaining = list(np.argsort(-scores, kind="stable"))
    keep: list[int] = []
    limit = len(boxes) if max_output_size is None else max_output_size
    while remaining and len(keep) < limit:
        best = remaining.pop(0)
        keep.append(int(best))
        remaining = [i for i in remaining if overlaps[best, i] <= iou_threshold]
    return np.array(keep, dtype=np.int64)


def as_text(name: Any) -> str:
    """A class name as text: detectors return bytes (b'Person'), NumPy bytes or str."""
    if isinstance(name, bytes | np.bytes_):
        return bytes(name).decode("utf-8")
    return str(name)


def label_text(name: Any, score: float) -> str:
    """The label drawn on a box, "name: score%", as in the TF-Hub detection tutorial."""
    return f"{as_text(name)}: {int(100 * float(score))}%"


def draw_boxes(
    image: np.ndarray,
    boxes: Any,
    names: Sequence[Any],
    scores: Any,
    max_boxes: int = 10,
    min_score: float = 0.1,
    title: str = "Detections",
    ax: Any = None,
) -> Any:
    """Draw the best `max_boxes` normalised boxes above `min_score` with "name: score%" labels."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    image = np.asarray(image)
    boxes = _boxes(boxes)
    if not len(boxes) == len(names) == len(np.asarray(scores)):
        raise ValueError(f"got {len(boxes)} boxes, {len(names)} names, {len(scores)} scores")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 6))
    ax.imshow(image, cmap="gray" if image.ndim == 2 else None)
    pixels = to_pixel_boxes(boxes, image.shape[0], image.shape[1])
    colors = plt.get_cmap("tab10")
    for rank, i in enumerate(top_detections(scores, min_score, max_boxes)):
        ymin, xmin, ymax, xmax = pixels[i]
        color = colors(rank % 10)
        ax.add_patch(Rectangle((xmin, ymin), xmax - xmin, ymax - ymin, fill=False, lw=2, ec=color))
        ax.text(
            xmin,
            ymin,
            label_text(names[i], np.asarray(scores)[i]),
            color="white",
            fontsize=8,
            va="bottom",
            bbox={"facecolor": color, "pad": 1, "lw": 0},
        )
    ax.set_title(title)
    ax.set_xlabel("x (pixels)")
    ax.set_ylabel("y (pixels)")
    return ax.figure
