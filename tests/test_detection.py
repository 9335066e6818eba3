"""Tests of helpers/detection/: boxes, AP and mAP, the digit scenes, loading detectors."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest
from conftest import REPO_ROOT

from helpers import config

config.quiet_logs()

import tensorflow as tf  # noqa: E402

from helpers import detection  # noqa: E402


def random_boxes(rng: np.random.Generator, n: int) -> np.ndarray:
    corners = rng.uniform(0, 1, size=(n, 2, 2))
    return np.concatenate([corners.min(axis=1), corners.max(axis=1)], axis=1)


def test_iou_of_identical_boxes_is_one():
    assert detection.iou([0.1, 0.2, 0.5, 0.6], [0.1, 0.2, 0.5, 0.6]) == pytest.approx(1.0)


def test_iou_of_disjoint_boxes_is_zero_even_when_both_axes_miss():
    # Both overlaps are negative here: multiplying them without clipping would give +0.01.
    assert detection.iou([0.0, 0.0, 0.1, 0.1], [0.2, 0.2, 0.3, 0.3]) == 0.0
    assert detection.iou([0.0, 0.0, 0.1, 0.1], [0.1, 0.0, 0.2, 0.1]) == 0.0  # touching edge


def test_iou_of_nested_boxes_is_the_area_ratio():
    assert detection.iou([0, 0, 4, 4], [1, 1, 3, 3]) == pytest.approx(4 / 16)


def test_iou_of_half_overlapping_boxes():
    # Intersection 1x2 = 2, union 4 + 4 - 2 = 6.
    assert detection.iou([0, 0, 2, 2], [1, 0, 3, 2]) == pytest.approx(2 / 6)


def test_iou_of_zero_area_boxes_is_zero():
    assert detection.iou([0, 0, 0, 0], [0, 0, 0, 0]) == 0.0


def test_pairwise_iou_matches_single_iou_and_is_symmetric():
    rng = np.random.default_rng(0)
    a, b = random_boxes(rng, 5), random_boxes(rng, 4)
    table = detection.pairwise_iou(a, b)
    assert table.shape == (5, 4)
    assert table[2, 3] == pytest.approx(detection.iou(a[2], b[3]))
    np.testing.assert_allclose(detection.pairwise_iou(b, a), table.T)
    assert ((table >= 0) & (table <= 1)).all()


def test_pairwise_iou_rejects_wrong_shapes():
    with pytest.raises(ValueError, match=r"expected boxes_a of shape \(n, 4\)"):
        detection.pairwise_iou(np.zeros((3, 3)), np.zeros((1, 4)))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("threshold", [0.1, 0.3, 0.5, 0.7])
def test_nms_matches_tensorflow_on_random_boxes(seed, threshold):
    rng = np.random.default_rng(seed)
    boxes = random_boxes(rng, 30)
    scores = rng.uniform(size=30)
    expected = tf.image.non_max_suppression(
        boxes.astype(np.float32), scores.astype(np.float32), 30, threshold
    ).numpy()
    np.testing.assert_array_equal(detection.non_max_suppression(boxes, scores, threshold), expected)


def test_nms_keeps_boxes_whose_iou_equals_the_threshold_like_tensorflow():
    boxes, scores = np.array([[0, 0, 1, 1], [0, 0, 1, 0.5]]), np.array([0.9, 0.8])
    expected = tf.image.non_max_suppression(boxes.astype(np.float32), scores, 10, 0.5).numpy()
    np.testing.assert_array_equal(detection.non_max_suppression(boxes, scores, 0.5), expected)
    np.testing.assert_array_equal(expected, [0, 1])


def test_nms_respects_max_output_size_and_checks_scores():
    rng = np.random.default_rng(5)
    boxes = random_boxes(rng, 10)
    assert len(detection.non_max_suppression(boxes, rng.uniform(size=10), 1.0, 3)) == 3
    with pytest.raises(ValueError, match="expected 10 scores"):
        detection.non_max_suppression(boxes, np.ones(9))


def test_to_pixel_boxes_scales_rows_by_height_and_columns_by_width():
    pixels = detection.to_pixel_boxes([[0.1, 0.2, 0.5, 1.0]], height=100, width=300)
    np.testing.assert_allclose(pixels, [[10, 60, 50, 300]])


@pytest.mark.parametrize("bad", [np.zeros(4), np.zeros((2, 5))])
def test_to_pixel_boxes_rejects_wrong_shapes(bad):
    with pytest.raises(ValueError, match=r"shape \(n, 4\)"):
        detection.to_pixel_boxes(bad, 10, 10)


def test_to_pixel_boxes_rejects_non_positive_sizes():
    with pytest.raises(ValueError, match="positive image size"):
        detection.to_pixel_boxes(np.zeros((1, 4)), 0, 10)


def test_top_detections_thresholds_sorts_and_cuts():
    scores = np.array([0.2, 0.9, 0.5, 0.5, 0.05])
    np.testing.assert_array_equal(detection.top_detections(scores, 0.2), [1, 2, 3, 0])
    np.testing.assert_array_equal(detection.top_detections(scores, 0.1, k=2), [1, 2])
    assert len(detection.top_detections(scores, 0.95)) == 0
    with pytest.raises(ValueError, match="expected k >= 0"):
        detection.top_detections(scores, k=-1)


def test_label_text_decodes_bytes_and_truncates_the_percentage():
    assert detection.label_text(b"Person", 0.876) == "Person: 87%"
    assert detection.label_text(np.bytes_(b"digit 3"), 1.0) == "digit 3: 100%"


def test_average_precision_is_one_for_perfect_detections_and_drops_with_a_false_positive():
    truth = [np.array([[0, 0, 0.5, 0.5]]), np.array([[0.5, 0.5, 1, 1]])]
    assert detection.average_precision(truth, [np.array([0.9]), np.array([0.8])], truth) == 1.0
    with_miss = [np.array([[0, 0, 0.5, 0.5], [0.6, 0.6, 0.9, 0.9]]), truth[1]]
    ap = detection.average_precision(with_miss, [np.array([0.5, 0.95]), np.array([0.8])], truth)
    # Ranked: false positive (0.95), hit (0.8), hit (0.5): precisions 0, 1/2, 2/3 at recalls
    # 0, 1/2, 1. Interpolated (best precision at this recall or more): 2/3 on both steps.
    assert ap == pytest.approx(2 / 3)


def test_mean_average_precision_averages_over_classes():
    boxes = np.array([[0, 0, 0.4, 0.4], [0.5, 0.5, 0.9, 0.9]])
    truths = [(boxes, np.array([3, 7]))]
    perfect = [(boxes, np.array([0.9, 0.8]), np.array([3, 7]))]
    wrong_class = [(boxes, np.array([0.9, 0.8]), np.array([3, 3]))]
    assert detection.mean_average_precision(perfect, truths) == 1.0
    assert detection.mean_average_precision(wrong_class, truths) == pytest.approx(0.5)


def test_make_scenes_gives_tight_non_overlapping_boxes_on_the_ink():
    digits = np.zeros((2, 28, 28), np.uint8)
    digits[:, 4:24, 10:18] = 255
    scenes = detection.make_scenes(digits, np.array([1, 7]), count=6, seed=3)
    assert scenes.images.shape == (6, 96, 96)
    for image, boxes, labels in zip(scenes.images, scenes.boxes, scenes.labels, strict=True):
        assert 1 <= len(boxes) == len(labels) <= 3
        pixels = np.round(boxes * 96).astype(int)
        for ymin, xmin, ymax, xmax in pixels:
            assert image[ymin:ymax, xmin:xmax].max() > 40
        overlaps = detection.pairwise_iou(boxes, boxes) - np.eye(len(boxes))
        assert (overlaps == 0).all()
        # No ink outside the boxes.
        mask = np.zeros(image.shape, bool)
        for ymin, xmin, ymax, xmax in pixels:
            mask[ymin:ymax, xmin:xmax] = True
        assert image[~mask].max(initial=0) <= 40


def test_make_scenes_rejects_bad_digits():
    with pytest.raises(ValueError, match=r"expected digits \(n, 28, 28\)"):
        detection.make_scenes(np.zeros((3, 32, 32)), np.zeros(3), count=1)


def test_load_detector_refuses_urls_offline_and_missing_folders(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    with pytest.raises(RuntimeError, match="COURSE_OFFLINE=1"):
        detection.load_detector(detection.SSD_MOBILENET_HANDLE)
    with pytest.raises(FileNotFoundError, match="expected a SavedModel folder"):
        detection.load_detector(tmp_path / "nothing")


def test_committed_digit_detector_is_small_and_finds_digits():
    folder = detection.DIGIT_DETECTOR_DIR
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert size < 5 * 1024 * 1024, f"the committed detector weighs {size:,} bytes"
    assert detection.evaluate_detector(folder, count=40, verbose=False) >= 0.8


def test_a_missing_digit_detector_raises_an_error_that_names_the_build_command(
    monkeypatch, tmp_path
):
    # Point the package at an empty folder instead of deleting the committed detector.
    monkeypatch.setattr(detection.hub, "DIGIT_DETECTOR_DIR", tmp_path / "digit_detector")
    monkeypatch.setattr(config, "cache_dir", lambda: tmp_path / "cache")
    with pytest.raises(detection.DetectorMissingError) as raised:
        detection.load_detector()
    assert isinstance(raised.value, FileNotFoundError)
    message = str(raised.value)
    assert "course-build-detector --out helpers/models_data/digit_detector" in message
    assert "make detector" in message and str(tmp_path / "digit_detector") in message
    assert not (tmp_path / "cache").exists(), "nothing may be built behind the user's back"


def test_the_build_command_named_in_the_error_exists():
    script, *options = detection.BUILD_COMMAND.split()
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["scripts"][script] == "coursebuild.build_detector:main"
    assert options[:2] == ["--out", str(detection.DIGIT_DETECTOR_DIR.relative_to(REPO_ROOT))]


def test_the_package_keeps_the_names_of_the_single_module_it_replaced():
    for name in (
        "load_detector",
        "default_detector_dir",
        "iou",
        "pairwise_iou",
        "top_detections",
        "non_max_suppression",
        "to_pixel_boxes",
        "draw_boxes",
        "label_text",
        "as_text",
        "average_precision",
        "mean_average_precision",
        "make_scenes",
        "held_out_scenes",
        "to_detector_input",
        "Scenes",
        "OUTPUT_KEYS",
        "DIGIT_DETECTOR_DIR",
        "FASTER_RCNN_HANDLE",
        "SSD_MOBILENET_HANDLE",
    ):
        assert hasattr(detection, name), name
    assert set(detection.__all__) <= set(dir(detection))


def test_to_detector_input_makes_a_float_rgb_batch_in_zero_one():
    image = np.array([[0, 255], [51, 102]], np.uint8)
    batch = detection.to_detector_input(image)
    assert batch.shape == (1, 2, 2, 3) and batch.dtype == np.float32
    np.testing.assert_allclose(batch[0, ..., 1], image / 255.0)
    with pytest.raises(ValueError, match="expected a gray image"):
        detection.to_detector_input(np.zeros((2, 2, 3)))
