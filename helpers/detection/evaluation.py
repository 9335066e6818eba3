"""Quality of a detector: average precision (AP) of a class, its mean over classes (mAP), and
the mAP of a digit detector on held-out scenes."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from helpers.detection.boxes import pairwise_iou
from helpers.detection.hub import load_detector
from helpers.detection.scenes import held_out_scenes, to_detector_input


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
            (
                np.reshape(b, (-1, 4))[np.asarray(k) == c],
                np.asarray(s)[np.asarray(k) == c],
                np.reshape(tb, (-1, 4))[np.asarray(tk) == c],
            )
            for (b, s, k), (tb, tk) in zip(predictions, truths, strict=True)
        ]
        aps.append(average_precision(*zip(*per_image, strict=True), iou_threshold=iou_threshold))
    return float(np.mean(aps))


def evaluate_detector(
    model_dir: str | Path | None = None,
    count: int = 500,
    iou_threshold: float = 0.5,
    verbose: bool = True,
) -> float:
    """mAP of a detector on `count` held-out digit scenes (made from the MNIST test digits).

    `model_dir=None` measures the course's committed digit detector; otherwise any folder or
    handle that `load_detector` accepts, whose `default` signature uses the digit detector's
    class labels (digit d has label d + 1).
    """
    import tensorflow as tf

    run = load_detector(model_dir).signatures["default"]
    scenes = held_out_scenes(count)
    predictions = []
    start = time.perf_counter()
    for image in scenes.images:
        result = run(tf.constant(to_detector_input(image)))
        labels = result["detection_class_labels"].numpy() - 1
        predictions.append(
            (result["detection_boxes"].numpy(), result["detection_scores"].numpy(), labels)
        )
    seconds = time.perf_counter() - start
    truths = list(zip(scenes.boxes, scenes.labels, strict=True))
    score = mean_average_precision(predictions, truths, iou_threshold=iou_threshold)
    if verbose:
        print(
            f"mAP@{iou_threshold:g} on {count} held-out scenes (MNIST test digits): {score:.3f} "
            f"({1000 * seconds / count:.1f} ms per image)"
        )
    return score
