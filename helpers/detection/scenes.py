"""Synthetic digit scenes: MNIST digits pasted on 96x96 canvases, with their true boxes.

The course's digit detector (chapter 09) was trained on such scenes made from the training
digits (`course-build-detector`); `held_out_scenes` makes new ones from the test digits only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CANVAS = 96  # side of the square scenes, in pixels
NUM_CLASSES = 10  # the digits 0-9
SEED = 0


@dataclass(frozen=True)
class Scenes:
    """Generated scenes: images (n, 96, 96) uint8 and per scene a list of boxes and labels.

    Boxes are normalised (ymin, xmin, ymax, xmax) in [0, 1], tight around the digit's ink;
    labels are digits 0-9.
    """

    images: np.ndarray
    boxes: list[np.ndarray]
    labels: list[np.ndarray]

    def __len__(self) -> int:
        return len(self.images)


def _resize(digit: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(digit).resize((size, size), Image.BILINEAR))


def _overlaps(box: tuple[int, int, int, int], others: list[tuple[int, int, int, int]]) -> bool:
    y0, x0, y1, x1 = box
    return any(y0 < b1 and b0 < y1 and x0 < c1 and c0 < x1 for b0, c0, b1, c1 in others)


def make_scenes(
    digits: np.ndarray,
    labels: np.ndarray,
    count: int,
    seed: int = SEED,
    max_digits: int = 3,
    sizes: tuple[int, int] = (22, 46),
) -> Scenes:
    """Place 1 to `max_digits` digits (uint8 (n, 28, 28)) at random sizes and places on canvases.

    Digits do not overlap (their ink boxes, with a 1-pixel margin, are kept apart). The result
    is reproducible for a given `seed`.
    """
    digits, labels = np.asarray(digits), np.asarray(labels)
    if digits.ndim != 3 or digits.shape[1:] != (28, 28) or len(digits) != len(labels):
        raise ValueError(
            f"expected digits (n, 28, 28) and n labels, got {digits.shape}, {labels.shape}"
        )
    if count < 1:
        raise ValueError(f"expected a positive number of scenes, got {count}")
    rng = np.random.default_rng(seed)
    images = np.zeros((count, CANVAS, CANVAS), np.uint8)
    all_boxes, all_labels = [], []
    for n in range(count):
        placed: list[tuple[int, int, int, int]] = []
        scene_labels = []
        for _ in range(rng.integers(1, max_digits + 1)):
            k = rng.integers(len(digits))
            size = int(rng.integers(sizes[0], sizes[1] + 1))
            patch = _resize(digits[k].astype(np.uint8), size)
            rows, cols = np.nonzero(patch > 40)
            if len(rows) == 0:
                continue
            for _attempt in range(20):
                top = int(rng.integers(-rows.min(), CANVAS - rows.max()))
                left = int(rng.integers(-cols.min(), CANVAS - cols.max()))
                box = (
                    top + rows.min(),
                    left + cols.min(),
                    top + rows.max() + 1,
                    left + cols.max() + 1,
                )
                if not _overlaps((box[0] - 1, box[1] - 1, box[2] + 1, box[3] + 1), placed):
                    break
            else:
                continue
            # Paste the part of the patch that lies on the canvas; brighter pixels win.
            y0, x0 = max(top, 0), max(left, 0)
            y1, x1 = min(top + size, CANVAS), min(left + size, CANVAS)
            window = images[n, y0:y1, x0:x1]
            np.maximum(window, patch[y0 - top : y1 - top, x0 - left : x1 - left], out=window)
            placed.append(box)
            scene_labels.append(int(labels[k]))
        all_boxes.append(np.array(placed, np.float32).reshape(-1, 4) / CANVAS)
        all_labels.append(np.array(scene_labels, np.int64))
    return Scenes(images, all_boxes, all_labels)


def held_out_scenes(count: int = 500, seed: int = SEED + 1) -> Scenes:
    """Scenes made from the MNIST test digits only: never seen in training."""
    from helpers import data

    mnist = data.load_mnist(verbose=False)
    return make_scenes(mnist.x_test, mnist.y_test, count, seed=seed)


def to_detector_input(image: np.ndarray) -> np.ndarray:
    """A uint8 gray scene (h, w) -> the detector's float32 batch (1, h, w, 3) in [0, 1]."""
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"expected a gray image (height, width), got shape {image.shape}")
    rgb = np.repeat(image[..., np.newaxis], 3, axis=-1).astype(np.float32) / 255.0
    return rgb[np.newaxis]
