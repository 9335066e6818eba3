"""Object detection: load a TF-Hub style detector, convert and filter boxes, IoU, NMS, drawing."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from helpers import config

# Real detectors on TF-Hub (served from Kaggle Models since 2024); both need a network once.
FASTER_RCNN_HANDLE = "https://tfhub.dev/google/faster_rcnn/openimages_v4/inception_resnet_v2/1"
SSD_MOBILENET_HANDLE = "https://tfhub.dev/google/openimages_v4/ssd/mobilenet_v2/1"
# The course's own small digit detector: committed to the repository, rebuilt by
# `python -m helpers.detector_build --out helpers/models_data/digit_detector`.
DIGIT_DETECTOR_DIR = Path(__file__).resolve().parent / "models_data" / "digit_detector"
OUTPUT_KEYS = (
    "detection_boxes",
    "detection_scores",
    "detection_class_entities",
    "detection_class_names",
    "detection_class_labels",
)


def default_detector_dir() -> Path:
    """The folder of the course's digit detector: the committed one, else a cached build."""
    if (DIGIT_DETECTOR_DIR / "saved_model.pb").exists():
        return DIGIT_DETECTOR_DIR
    cached = config.cache_dir() / "digit_detector"
    if not (cached / "saved_model.pb").exists():
        from helpers import detector_build

        print(f"Building the digit detector into {cached} (a few minutes, once)...")
        detector_build.build(cached, verbose=0)
    return cached


def load_detector(handle: str | Path | None = None) -> Any:
    """Load a detector with `hub.load`: the course's digit detector, a folder or a TF-Hub handle.

    `handle=None` gives the offline digit detector. A URL such as `SSD_MOBILENET_HANDLE` is
    downloaded by tensorflow_hub (and cached by it); with COURSE_OFFLINE=1 it is refused at once.
    Either way, `load_detector(...).signatures["default"]` takes a float32 batch (1, H, W, 3) in
    [0, 1] and returns a dict with the keys in `OUTPUT_KEYS`.
    """
    import tensorflow_hub as hub

    if handle is None:
        return hub.load(str(default_detector_dir()))
    text = str(handle)
    if "://" in text:
        if config.offline_mode():
            raise RuntimeError(
                f"COURSE_OFFLINE=1, so the TF-Hub handle {text} cannot be downloaded: "
                "unset COURSE_OFFLINE on a machine with a network, or use handle=None."
            )
        return hub.load(text)
    if not (Path(text) / "saved_model.pb").exists():
        raise FileNotFoundError(f"expected a SavedModel folder or a TF-Hub URL, got {text!r}")
    return hub.load(text)


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
        ax.text(xmin, ymin, label_text(names[i], np.asarray(scores)[i]), color="white",
                fontsize=8, va="bottom", bbox={"facecolor": color, "pad": 1, "lw": 0})  # fmt: skip
    ax.set_title(title)
    ax.set_xlabel("x (pixels)")
    ax.set_ylabel("y (pixels)")
    return ax.figure


def average_precision(
    boxes: Sequence[np.ndarray],
    scores: Sequence[np.ndarray],
    true_boxes: Sequence[np.ndarray],
    iou_threshold: float = 0.5,
) -> float:
    """AP of one class over many images (VOC style, all points): area under precision-recall.

    Per image, `boxes` (k, 4) and `scores` (k,) are the detections of the class, `true_boxes`
    (m, 4) its objects. A detection is a hit when it overlaps a not yet matched object with IoU
    at least `iou_threshold`; detections are matched best score first.
    """
    total = sum(len(t) for t in true_boxes)
    if total == 0:
        raise ValueError("no objects of this class: average precision is undefined")
    records = []  # (score, hit)
    for det, sc, truth in zip(boxes, scores, true_boxes, strict=True):
        matched = np.zeros(len(truth), dtype=bool)
        overlaps = pairwise_iou(np.reshape(det, (-1, 4)), np.reshape(truth, (-1, 4)))
        for i in np.argsort(-np.asarray(sc), kind="stable"):
            candidates = np.where(~matched, overlaps[i], -1.0)
            j = int(np.argmax(candidates)) if len(truth) else -1
            hit = j >= 0 and candidates[j] >= iou_threshold
            if hit:
                matched[j] = True
            records.append((float(sc[i]), hit))
    records.sort(key=lambda r: -r[0])
    hits = np.array([h for _, h in records], dtype=float)
    recall = np.concatenate([[0.0], np.cumsum(hits) / total])
    precision = np.concatenate([[1.0], np.cumsum(hits) / np.arange(1, len(hits) + 1)])
    # Make precision non-increasing from the right, then sum it over the recall steps.
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    return float(np.sum(np.diff(recall) * precision[1:]))


def mean_average_precision(
    predictions: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
    truths: Sequence[tuple[np.ndarray, np.ndarray]],
    iou_threshold: float = 0.5,
) -> float:
    """mAP: the mean over classes of `average_precision`.

    `predictions` holds per image (boxes (k, 4), scores (k,), classes (k,)); `truths` per image
    (boxes (m, 4), classes (m,)). Classes without any true object are left out.
    """
    if len(predictions) != len(truths):
        raise ValueError(f"got {len(predictions)} predictions for {len(truths)} images")
    classes = sorted({int(c) for _, labels in truths for c in np.asarray(labels)})
    if not classes:
        raise ValueError("no true objects at all: mAP is undefined")
    aps = []
    for c in classes:
        per_image = [
            (np.reshape(b, (-1, 4))[np.asarray(k) == c], np.asarray(s)[np.asarray(k) == c],
             np.reshape(tb, (-1, 4))[np.asarray(tk) == c])
            for (b, s, k), (tb, tk) in zip(predictions, truths, strict=True)
        ]  # fmt: skip
        aps.append(average_precision(*zip(*per_image, strict=True), iou_threshold=iou_threshold))
    return float(np.mean(aps))
