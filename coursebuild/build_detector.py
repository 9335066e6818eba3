"""Build the course's offline digit detector: training on synthetic scenes, SavedModel export.

Command line (from the repository root, with the course's environment; `make detector`):
    course-build-detector --out helpers/models_data/digit_detector   # 5-16 min, CPU
    course-build-detector --benchmark        # mAP at IoU 0.5 on held-out scenes
    course-build-detector --out /tmp/tiny --fast   # a seconds-long smoke build

The detector is a compact single-shot grid detector (YOLO-like): the image is shrunk to 96x96
gray, a small CNN maps it to a 12x12 grid, and every cell predicts an objectness, a box (centre
offset inside the cell, width, height) and scores for the ten digits. The exported SavedModel
has a `default` signature with the input and the output keys of the Open Images detectors on
TF-Hub, so `hub.load(folder).signatures["default"]` is used exactly like them. The scenes, the
loading and the mAP are the lesson's, in `helpers.detection`; only the build is here.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from helpers import config, data, detection
from helpers.detection.scenes import CANVAS, NUM_CLASSES, SEED, Scenes, make_scenes

STRIDE = 8  # pixels per grid cell
GRID = CANVAS // STRIDE  # 12x12 cells
MAX_DETECTIONS = 20  # the Open Images detectors return 100; scenes here hold at most 3 digits
NMS_IOU = 0.5
ENTITIES = tuple(f"digit {d}" for d in range(NUM_CLASSES))
CLASS_NAMES = tuple(f"/digit/{d}" for d in range(NUM_CLASSES))
# The committed detector, rebuilt by `make detector`; its mAP@0.5 must reach this.
MIN_MAP = 0.8


def grid_targets(scenes: Scenes) -> np.ndarray:
    """Training targets (n, 12, 12, 6): objectness, x/y offset in the cell, width, height, class.

    Each digit belongs to the cell that holds its box centre (as in YOLO).
    """
    targets = np.zeros((len(scenes), GRID, GRID, 6), np.float32)
    for n, (boxes, labels) in enumerate(zip(scenes.boxes, scenes.labels, strict=True)):
        for (ymin, xmin, ymax, xmax), label in zip(boxes, labels, strict=True):
            cy, cx = (ymin + ymax) / 2 * GRID, (xmin + xmax) / 2 * GRID
            i, j = min(int(cy), GRID - 1), min(int(cx), GRID - 1)
            targets[n, i, j] = (1.0, cx - j, cy - i, xmax - xmin, ymax - ymin, label)
    return targets


def build_model(width: int = 16):
    """The grid detector: (batch, 96, 96, 1) -> (batch, 12, 12, 15) raw outputs (logits)."""
    import keras
    from keras import layers

    def block(x, filters, strides=1):
        x = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        return layers.ReLU()(x)

    inputs = keras.Input((CANVAS, CANVAS, 1))
    x = block(inputs, width, strides=2)  # 48x48
    x = block(x, 2 * width)
    x = layers.MaxPooling2D()(x)  # 24x24
    x = block(x, 4 * width)
    x = block(x, 4 * width)
    x = layers.MaxPooling2D()(x)  # 12x12
    x = block(x, 6 * width)
    x = block(x, 6 * width)
    outputs = layers.Conv2D(5 + NUM_CLASSES, 1)(x)
    return keras.Model(inputs, outputs, name="digit_grid_detector")


def detection_loss(y_true, y_pred):
    """Objectness cross-entropy on every cell; box and class losses on the cells with a digit."""
    import tensorflow as tf

    objectness = y_true[..., 0]
    positives = tf.maximum(tf.reduce_sum(objectness), 1.0)
    obj_ce = tf.nn.sigmoid_cross_entropy_with_logits(labels=objectness, logits=y_pred[..., 0])
    obj_loss = tf.reduce_sum(obj_ce * (1.0 + 4.0 * objectness)) / positives
    box_error = tf.abs(tf.sigmoid(y_pred[..., 1:5]) - y_true[..., 1:5])
    box_loss = 10.0 * tf.reduce_sum(objectness * tf.reduce_sum(box_error, -1)) / positives
    classes = tf.cast(y_true[..., 5], tf.int32)
    cls_ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=classes, logits=y_pred[..., 5:])
    cls_loss = tf.reduce_sum(objectness * cls_ce) / positives
    return obj_loss + box_loss + cls_loss


def decode(raw):
    """Grid outputs (batch, 12, 12, 15) -> boxes (batch, 144, 4), scores, classes (batch, 144)."""
    import tensorflow as tf

    grid = tf.cast(tf.range(GRID), tf.float32)
    cols, rows = tf.meshgrid(grid, grid)
    cx = (cols + tf.sigmoid(raw[..., 1])) / GRID
    cy = (rows + tf.sigmoid(raw[..., 2])) / GRID
    w, h = tf.sigmoid(raw[..., 3]), tf.sigmoid(raw[..., 4])
    boxes = tf.clip_by_value(tf.stack([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2], -1), 0, 1)
    probs = tf.sigmoid(raw[..., :1]) * tf.nn.softmax(raw[..., 5:])
    batch = tf.shape(raw)[0]
    boxes = tf.reshape(boxes, (batch, GRID * GRID, 4))
    probs = tf.reshape(probs, (batch, GRID * GRID, NUM_CLASSES))
    return boxes, tf.reduce_max(probs, -1), tf.argmax(probs, -1)


def _export_module(model):
    import tensorflow as tf

    class DigitDetector(tf.Module):
        """A SavedModel with the Open Images detectors' `default` signature."""

        def __init__(self, model):
            super().__init__(name="digit_detector")
            self.model = model
            self.entities = tf.constant([e.encode() for e in ENTITIES])
            self.class_names = tf.constant([c.encode() for c in CLASS_NAMES])

        def _candidates(self, images):
            gray = tf.reduce_mean(tf.cast(images, tf.float32), axis=-1, keepdims=True)
            gray = tf.image.resize(gray, (CANVAS, CANVAS), antialias=True)
            boxes, scores, classes = decode(self.model(gray, training=False))
            return boxes[0], scores[0], classes[0]

        @tf.function(input_signature=[tf.TensorSpec((1, None, None, 3), tf.float32)])
        def detect(self, images):
            boxes, scores, classes = self._candidates(images)
            keep = tf.image.non_max_suppression(boxes, scores, MAX_DETECTIONS, NMS_IOU)
            classes = tf.gather(classes, keep)
            return {
                "detection_boxes": tf.gather(boxes, keep),
                "detection_scores": tf.gather(scores, keep),
                "detection_class_entities": tf.gather(self.entities, classes),
                "detection_class_names": tf.gather(self.class_names, classes),
                # As in Open Images, label 0 means background, so digit d has label d + 1.
                "detection_class_labels": classes + 1,
            }

        @tf.function(input_signature=[tf.TensorSpec((1, None, None, 3), tf.float32)])
        def candidates(self, images):
            boxes, scores, classes = self._candidates(images)
            return {"boxes": boxes, "scores": scores, "classes": classes}

    return DigitDetector(model)


def export(model, out: Path) -> Path:
    """Save `model` as a SavedModel at `out` with `default` and `candidates` signatures."""
    import tensorflow as tf

    module = _export_module(model)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tf.saved_model.save(
        module, str(out), signatures={"default": module.detect, "candidates": module.candidates}
    )
    return out


def train(
    num_scenes: int = 6000, epochs: int = 10, width: int = 12, seed: int = SEED, verbose: int = 2
):
    """Train the grid detector on scenes made from the MNIST training digits; return the model."""
    import keras

    config.set_seed(seed)
    mnist = data.load_mnist(verbose=verbose > 0)
    scenes = make_scenes(mnist.x_train, mnist.y_train, num_scenes, seed=seed)
    x = (scenes.images.astype(np.float32) / 255.0)[..., np.newaxis]
    y = grid_targets(scenes)
    model = build_model(width)
    steps = epochs * int(np.ceil(num_scenes / 64))
    schedule = keras.optimizers.schedules.CosineDecay(3e-3, decay_steps=max(steps, 1))
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=detection_loss)
    model.fit(x, y, batch_size=64, epochs=epochs, shuffle=True, verbose=verbose)
    return model


def build(out: Path, fast: bool = False, seed: int = SEED, verbose: int = 2) -> Path:
    """Train and export the detector to `out`; `fast` makes a tiny, untrained-quality one."""
    if fast:
        model = train(num_scenes=64, epochs=1, width=4, seed=seed, verbose=0)
    else:
        model = train(seed=seed, verbose=verbose)
    return export(model, out)


def benchmark(model_dir: Path | None = None, count: int = 500, verbose: bool = True) -> float:
    """Mean average precision at IoU 0.5 of a detector folder on `count` held-out scenes."""
    return detection.evaluate_detector(model_dir, count=count, verbose=verbose)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course-build-detector", description=__doc__)
    parser.add_argument("--out", type=Path, help="folder to write the SavedModel to")
    parser.add_argument("--fast", action="store_true", help="tiny smoke build (seconds)")
    parser.add_argument("--benchmark", action="store_true", help="print mAP@0.5 afterwards")
    parser.add_argument("--model", type=Path, help="folder to benchmark (default: the course's)")
    parser.add_argument("--scenes", type=int, default=500, help="held-out scenes to benchmark")
    args = parser.parse_args(argv)
    if args.out is None and not args.benchmark:
        parser.error("give --out DIR to build, --benchmark to measure, or both")
    config.quiet_logs()
    import tensorflow as tf

    # Same seed, same operations, same order: the build gives the same weights every time.
    tf.config.experimental.enable_op_determinism()
    if args.out is not None:
        start = time.perf_counter()
        build(args.out, fast=args.fast)
        print(f"Saved the detector to {args.out} in {time.perf_counter() - start:.0f} s")
    if args.benchmark:
        score = benchmark(args.model or args.out, count=args.scenes)
        return 0 if args.fast or score >= MIN_MAP else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
