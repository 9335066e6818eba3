"""NumPy reference for pooling, to explain and to check: the layouts and rules of TensorFlow."""

from __future__ import annotations

import numpy as np

from helpers.conv import check_padding, check_positive, output_size, same_padding

MODES = ("max", "avg", "min")


def _pair(value: int | tuple[int, int], name: str) -> tuple[int, int]:
    """Read a window or stride given as one integer or as (height, width)."""
    pair = (value, value) if np.isscalar(value) else tuple(value)
    if len(pair) != 2:
        raise ValueError(f"{name} must be an integer or (height, width), got {value!r}")
    check_positive(**{f"{name} height": pair[0], f"{name} width": pair[1]})
    return int(pair[0]), int(pair[1])


def pool2d(
    images: np.ndarray,
    window: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: str = "VALID",
    mode: str = "max",
) -> np.ndarray:
    """Pool like `tf.nn.max_pool2d` / `tf.nn.avg_pool2d`: NHWC images, each channel on its own.

    images: (batch, height, width, channels); window and stride: an integer or (height, width);
    stride defaults to the window, as in `keras.layers.MaxPooling2D`. mode: "max", "avg" or
    "min" (min pooling is -maxpool(-x)). With SAME, the padded cells are left out of every
    window: they never win a max or a min, and an average divides by the count of real cells.
    Returns (batch, out_height, out_width, channels) as float.
    """
    images = np.asarray(images, dtype=float)
    if images.ndim != 4:
        raise ValueError(
            f"images must be (batch, height, width, channels), got shape {images.shape}"
        )
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    padding = check_padding(padding)
    kh, kw = _pair(window, "window")
    sh, sw = _pair(window if stride is None else stride, "stride")
    if mode == "min":
        return -pool2d(-images, (kh, kw), (sh, sw), padding, "max")
    _, height, width, _ = images.shape
    out_h = output_size(height, kh, sh, padding)
    out_w = output_size(width, kw, sw, padding)
    top, left = 0, 0
    if padding == "SAME":
        top, left = same_padding(height, kh, sh)[0], same_padding(width, kw, sw)[0]
    out = np.zeros((images.shape[0], out_h, out_w, images.shape[3]))
    for i in range(out_h):
        # Clip each window to the real pixels: padded cells take no part in the result.
        row0, row1 = max(i * sh - top, 0), min(i * sh - top + kh, height)
        for j in range(out_w):
            col0, col1 = max(j * sw - left, 0), min(j * sw - left + kw, width)
            cells = images[:, row0:row1, col0:col1, :]
            if mode == "max":
                out[:, i, j, :] = cells.max(axis=(1, 2))
            else:
                out[:, i, j, :] = cells.mean(axis=(1, 2))
    return out
