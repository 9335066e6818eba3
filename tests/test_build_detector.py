"""Tests of coursebuild/build_detector.py, the build tool of chapter 09's digit detector (fast:
a tiny build only; the committed detector's quality is tested in test_detection.py)."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import config

config.quiet_logs()

import tensorflow as tf  # noqa: E402

from coursebuild import build_detector  # noqa: E402
from helpers import detection  # noqa: E402


def test_grid_targets_put_each_digit_in_the_cell_of_its_centre():
    digits = np.full((1, 28, 28), 255, np.uint8)
    scenes = detection.make_scenes(digits, np.array([4]), count=3, seed=1, max_digits=1)
    targets = build_detector.grid_targets(scenes)
    assert targets.shape == (3, 12, 12, 6)
    for n, (box,) in enumerate(scenes.boxes):
        i, j = int((box[0] + box[2]) / 2 * 12), int((box[1] + box[3]) / 2 * 12)
        np.testing.assert_allclose(
            targets[n, i, j, [0, 3, 4, 5]], [1, *(box[2:] - box[:2])[::-1], 4]
        )
        assert targets[n, ..., 0].sum() == 1


@pytest.mark.slow
def test_tiny_detector_exports_the_open_images_default_signature(tmp_path):
    import tensorflow_hub as hub

    folder = build_detector.build(tmp_path / "tiny", fast=True)
    detector = detection.load_detector(folder)
    result = detector.signatures["default"](tf.zeros((1, 64, 80, 3), tf.float32))
    assert set(result) == set(detection.OUTPUT_KEYS)
    n = result["detection_scores"].shape[0]
    assert 1 <= n <= build_detector.MAX_DETECTIONS
    assert result["detection_boxes"].shape == (n, 4)
    assert result["detection_boxes"].dtype == tf.float32
    assert result["detection_scores"].dtype == tf.float32
    assert result["detection_class_entities"].dtype == tf.string
    assert result["detection_class_names"].dtype == tf.string
    assert result["detection_class_labels"].dtype == tf.int64
    scores = result["detection_scores"].numpy()
    assert (np.diff(scores) <= 0).all(), "detections must come best first"
    boxes = result["detection_boxes"].numpy()
    assert ((boxes >= 0) & (boxes <= 1)).all()
    labels = result["detection_class_labels"].numpy()
    entities = [e.decode() for e in result["detection_class_entities"].numpy()]
    assert entities == [f"digit {label - 1}" for label in labels]
    assert hub.load(str(folder)).signatures["candidates"](tf.zeros((1, 96, 96, 3)))[
        "boxes"
    ].shape == (144, 4)


def test_command_needs_something_to_do(capsys):
    with pytest.raises(SystemExit):
        build_detector.main([])
    assert "give --out DIR to build, --benchmark to measure" in capsys.readouterr().err
