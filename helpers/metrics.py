"""Classification metrics in NumPy: accuracy, confusion matrix, per-class accuracy, confusions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _labels(values, what: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(
            f"expected {what} as a 1-D array of integer labels, got shape {array.shape}"
        )
    if array.size and array.dtype.kind not in "iu":
        if array.dtype.kind != "f" or not np.all(array == np.round(array)):
            raise ValueError(f"expected integer labels in {what}, got {array.dtype}")
        array = array.astype(np.int64)
    return array.astype(np.int64)


def accuracy(y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray) -> float:
    """The fraction of predictions that equal the true labels."""
    y_true, y_pred = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"expected labels of the same length, got {y_true.shape} and {y_pred.shape}"
        )
    if y_true.size == 0:
        raise ValueError("expected at least one label, got none")
    return float(np.mean(y_true == y_pred))


def confusion_matrix(
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray,
    num_classes: int | None = None,
) -> np.ndarray:
    """Counts (num_classes, num_classes): row = true class, column = predicted class.

    `num_classes` defaults to one more than the largest label seen.
    """
    y_true, y_pred = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"expected labels of the same length, got {y_true.shape} and {y_pred.shape}"
        )
    if y_true.size and min(y_true.min(), y_pred.min()) < 0:
        raise ValueError("expected labels >= 0, got a negative label")
    largest = int(max(y_true.max(), y_pred.max())) if y_true.size else -1
    if num_classes is None:
        num_classes = largest + 1
    if largest >= num_classes:
        raise ValueError(f"expected labels below num_classes={num_classes}, got {largest}")
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    # np.add.at adds 1 once per (true, predicted) pair, repeated pairs included.
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def per_class_accuracy(matrix: np.ndarray) -> np.ndarray:
    """Recall of each class: the diagonal of a confusion matrix over its row sums (NaN if empty)."""
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"expected a square confusion matrix, got shape {matrix.shape}")
    totals = matrix.sum(axis=1).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(matrix) / totals, np.nan)


def top_confusions(
    matrix: np.ndarray, class_names: Sequence[str] | None = None, k: int = 5
) -> list[tuple[str, str, int]]:
    """The `k` largest off-diagonal cells as (true name, predicted name, count), largest first."""
    matrix = np.asarray(matrix)
    per_class_accuracy(matrix)  # validates the shape
    names = list(class_names) if class_names is not None else [str(i) for i in range(len(matrix))]
    if len(names) != len(matrix):
        raise ValueError(f"expected {len(matrix)} class names, got {len(names)}")
    off = matrix.astype(np.int64).copy()
    np.fill_diagonal(off, -1)
    order = np.argsort(off, axis=None, kind="stable")[::-1][:k]
    pairs = [np.unravel_index(i, off.shape) for i in order]
    return [(names[t], names[p], int(matrix[t, p])) for t, p in pairs if off[t, p] > 0]
