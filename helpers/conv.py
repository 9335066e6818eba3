"""NumPy references for convolution, used to explain and to check: same layouts as TensorFlow."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

PADDINGS = ("VALID", "SAME")


def check_padding(padding: str) -> str:
    """Return 'VALID' or 'SAME' for any spelling of them; raise on any other word."""
    word = str(padding).upper()
    if word not in PADDINGS:
        raise ValueError(f"padding must be 'VALID' or 'SAME', got {padding!r}")
    return word


def check_positive(**values: int) -> None:
    """Raise unless every named value is a positive integer (sizes, windows, strides)."""
    for name, value in values.items():
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def output_size(n: int, k: int, stride: int = 1, padding: str = "VALID") -> int:
    """Output length along one axis of an input of length n, window k, as TensorFlow computes it.

    VALID: ceil((n - k + 1) / stride); SAME: ceil(n / stride).
    """
    check_positive(n=n, k=k, stride=stride)
    if check_padding(padding) == "SAME":
        return math.ceil(n / stride)
    if k > n:
        raise ValueError(f"a window of {k} does not fit in {n} pixels with VALID padding")
    return math.ceil((n - k + 1) / stride)


def same_padding(n: int, k: int, stride: int = 1) -> tuple[int, int]:
    """Zeros TensorFlow adds before and after an axis for SAME: the odd one goes after.

    total = max((ceil(n / stride) - 1) * stride + k - n, 0); before = total // 2.
    """
    check_positive(n=n, k=k, stride=stride)
    total = max((math.ceil(n / stride) - 1) * stride + k - n, 0)
    return total // 2, total - total // 2


def correlate2d(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Slide `kernel` (kh, kw) over `image` (h, w), VALID, stride 1: what conv layers compute."""
    image, kernel = np.asarray(image, dtype=float), np.asarray(kernel, dtype=float)
    if image.ndim != 2 or kernel.ndim != 2:
        raise ValueError(
            f"expected a 2-D image and a 2-D kernel, got shapes {image.shape} and {kernel.shape}"
        )
    images = image[np.newaxis, :, :, np.newaxis]
    kernels = kernel[:, :, np.newaxis, np.newaxis]
    return conv2d(images, kernels)[0, :, :, 0]


def conv2d(
    images: np.ndarray, kernels: np.ndarray, stride: int = 1, padding: str = "VALID"
) -> np.ndarray:
    """Cross-correlate like `tf.nn.conv2d`: NHWC images, HWIO kernels, one stride for both axes.

    images: (batch, height, width, channels); kernels: (kh, kw, channels, filters).
    Returns (batch, out_height, out_width, filters).
    """
    images, kernels = np.asarray(images, dtype=float), np.asarray(kernels, dtype=float)
    if images.ndim != 4:
        raise ValueError(
            f"images must be (batch, height, width, channels), got shape {images.shape}"
        )
    if kernels.ndim != 4:
        raise ValueError(
            f"kernels must be (height, width, in_channels, filters), got shape {kernels.shape}"
        )
    if images.shape[3] != kernels.shape[2]:
        raise ValueError(f"image has {images.shape[3]} channels, kernel expects {kernels.shape[2]}")
    padding = check_padding(padding)
    check_positive(stride=stride)
    kh, kw = kernels.shape[:2]
    if padding == "SAME":
        pad_h = same_padding(images.shape[1], kh, stride)
        pad_w = same_padding(images.shape[2], kw, stride)
        images = np.pad(images, [(0, 0), pad_h, pad_w, (0, 0)])
    out_h = output_size(images.shape[1], kh, stride, "VALID")
    out_w = output_size(images.shape[2], kw, stride, "VALID")
    out = np.zeros((images.shape[0], out_h, out_w, kernels.shape[3]))
    for i in range(out_h):
        for j in range(out_w):
            window = images[:, i * stride : i * stride + kh, j * stride : j * stride + kw, :]
            # Multiply the window by every filter and sum over height, width and channels.
            out[:, i, j, :] = np.tensordot(window, kernels, axes=([1, 2, 3], [0, 1, 2]))
    return out


def receptive_field(layers: Sequence[tuple[int, int]]) -> int:
    """Side of the input square that one output pixel of a stack of layers sees.

    layers: (kernel, stride) per layer, first layer first; pooling layers count too.
    Each layer adds (kernel - 1) times the product of the strides before it.
    """
    field, jump = 1, 1
    for index, layer in enumerate(layers):
        if len(layer) != 2:
            raise ValueError(f"layer {index} must be (kernel, stride), got {layer!r}")
        kernel, stride = layer
        check_positive(kernel=kernel, stride=stride)
        field += (kernel - 1) * jump
        jump *= stride
    return field
