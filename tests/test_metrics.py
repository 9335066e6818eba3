"""Tests of helpers/metrics.py: accuracy, confusion matrix, per-class accuracy, top confusions."""

import numpy as np
import pytest

from helpers import metrics


def test_confusion_matrix_counts_true_rows_and_predicted_columns():
    matrix = metrics.confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2])
    np.testing.assert_array_equal(matrix, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])


def test_confusion_matrix_matches_a_loop_on_random_labels():
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 7, 500), rng.integers(0, 7, 500)
    expected = np.zeros((7, 7), int)
    for t, p in zip(y_true, y_pred, strict=True):
        expected[t, p] += 1
    np.testing.assert_array_equal(metrics.confusion_matrix(y_true, y_pred, 7), expected)
    assert metrics.confusion_matrix(y_true, y_pred, 7).sum() == 500


def test_confusion_matrix_keeps_classes_that_never_occur():
    matrix = metrics.confusion_matrix([1, 1], [1, 1], num_classes=4)
    assert matrix.shape == (4, 4) and matrix[1, 1] == 2 and matrix.sum() == 2


@pytest.mark.parametrize(
    "y_true, y_pred, num_classes, message",
    [
        ([0, 1], [0], None, "same length"),
        ([0, 5], [0, 1], 3, "below num_classes"),
        ([0, -1], [0, 1], None, "negative"),
        ([[0, 1]], [[0, 1]], None, "1-D"),
        ([0.5, 1], [0, 1], None, "integer"),
    ],
)
def test_confusion_matrix_rejects_bad_labels(y_true, y_pred, num_classes, message):
    with pytest.raises(ValueError, match=message):
        metrics.confusion_matrix(y_true, y_pred, num_classes)


def test_accuracy_is_the_fraction_of_matches():
    assert metrics.accuracy([1, 2, 3, 4], [1, 2, 0, 4]) == 0.75
    with pytest.raises(ValueError, match="at least one"):
        metrics.accuracy([], [])


def test_per_class_accuracy_divides_the_diagonal_by_row_sums():
    matrix = np.array([[3, 1, 0], [0, 0, 0], [1, 1, 2]])
    np.testing.assert_allclose(metrics.per_class_accuracy(matrix), [0.75, np.nan, 0.5])
    with pytest.raises(ValueError, match="square"):
        metrics.per_class_accuracy(np.zeros((2, 3)))


def test_top_confusions_lists_the_largest_off_diagonal_cells_first():
    matrix = np.array([[9, 4, 0], [1, 8, 0], [0, 6, 7]])
    assert metrics.top_confusions(matrix, ["a", "b", "c"], k=2) == [("c", "b", 6), ("a", "b", 4)]
    assert metrics.top_confusions(np.eye(3, dtype=int) * 5) == []
    with pytest.raises(ValueError, match="class names"):
        metrics.top_confusions(matrix, ["a", "b"])
