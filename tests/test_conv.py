"""Unit tests for helpers/conv.py: values against tf.nn.conv2d, the digest's numbers, bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from helpers import config

config.quiet_logs()

import tensorflow as tf  # noqa: E402

from helpers import conv  # noqa: E402

TOY = np.arange(1, 10, dtype=float).reshape(1, 3, 3, 1)
ONES = np.ones((2, 2, 1, 1))


def tf_conv(images: np.ndarray, kernels: np.ndarray, stride: int, padding: str) -> np.ndarray:
    return tf.nn.conv2d(
        images.astype(np.float32), kernels.astype(np.float32), strides=stride, padding=padding
    ).numpy()


# Output sizes -------------------------------------------------------------------------------


@pytest.mark.parametrize("padding", ["VALID", "SAME"])
def test_output_size_matches_tensorflow_shapes(padding):
    for n, k, stride in itertools.product([1, 4, 5, 7, 28], [1, 2, 3, 5], [1, 2, 3]):
        if padding == "VALID" and k > n:
            continue
        out = tf_conv(np.zeros((1, n, n, 1)), np.zeros((k, k, 1, 1)), stride, padding)
        assert conv.output_size(n, k, stride, padding) == out.shape[1], (n, k, stride)


def test_output_size_examples_from_the_lessons():
    assert conv.output_size(3, 2) == 2
    assert conv.output_size(3, 2, padding="SAME") == 3
    assert conv.output_size(28, 3, 2, "SAME") == 14
    assert conv.output_size(28, 3, 2, "VALID") == 13
    assert conv.output_size(5, 2, 2, "same") == 3  # lower case is accepted


def test_output_size_refuses_a_window_larger_than_the_input_with_valid():
    with pytest.raises(ValueError, match="does not fit"):
        conv.output_size(2, 3, 1, "VALID")


@pytest.mark.parametrize("padding", ["valid ", "FULL", "causal", ""])
def test_bad_padding_words_are_refused(padding):
    with pytest.raises(ValueError, match="padding must be 'VALID' or 'SAME'"):
        conv.output_size(5, 3, 1, padding)
    with pytest.raises(ValueError, match="padding must be 'VALID' or 'SAME'"):
        conv.conv2d(TOY, ONES, padding=padding)


@pytest.mark.parametrize("stride", [0, -1, 1.5])
def test_non_positive_or_fractional_stride_is_refused(stride):
    with pytest.raises(ValueError, match="stride must be a positive integer"):
        conv.output_size(5, 3, stride)
    with pytest.raises(ValueError, match="stride must be a positive integer"):
        conv.same_padding(5, 3, stride)
    with pytest.raises(ValueError, match="stride must be a positive integer"):
        conv.conv2d(TOY, ONES, stride=stride)


# SAME padding --------------------------------------------------------------------------------


def test_same_padding_puts_odd_pixel_bottom_right():
    assert conv.same_padding(3, 2) == (0, 1)
    assert conv.same_padding(5, 4) == (1, 2)
    assert conv.same_padding(28, 3, 2) == (0, 1)
    assert conv.same_padding(5, 3, 2) == (1, 1)


def test_same_padding_follows_the_rule_and_never_goes_negative():
    assert conv.same_padding(3, 3) == (1, 1)
    assert conv.same_padding(6, 1, 3) == (0, 0)
    assert conv.same_padding(7, 1, 3) == (0, 0)
    assert conv.same_padding(7, 2, 3) == (0, 1)
    for n, k, s in itertools.product(range(1, 12), range(1, 6), range(1, 5)):
        before, after = conv.same_padding(n, k, s)
        total = max((-(-n // s) - 1) * s + k - n, 0)
        assert (before, after) == (total // 2, total - total // 2)


def test_np_pad_then_valid_equals_tensorflow_same():
    rng = np.random.default_rng(0)
    for h, w, kh, kw, s in [(5, 7, 2, 3, 1), (6, 6, 3, 3, 2), (7, 4, 4, 2, 3), (28, 28, 3, 3, 2)]:
        image, kernel = rng.normal(size=(1, h, w, 1)), rng.normal(size=(kh, kw, 1, 1))
        padded = np.pad(
            image, [(0, 0), conv.same_padding(h, kh, s), conv.same_padding(w, kw, s), (0, 0)]
        )
        np.testing.assert_allclose(
            tf_conv(padded, kernel, s, "VALID"), tf_conv(image, kernel, s, "SAME"), atol=1e-5
        )


# Convolution values --------------------------------------------------------------------------


def test_toy_example_valid_gives_12_16_24_28():
    out = conv.conv2d(TOY, ONES)
    assert out.shape == (1, 2, 2, 1)
    np.testing.assert_array_equal(out[0, :, :, 0], [[12, 16], [24, 28]])


def test_toy_example_same_gives_the_digest_numbers():
    out = conv.conv2d(TOY, ONES, padding="SAME")
    assert out.shape == (1, 3, 3, 1)
    np.testing.assert_array_equal(out[0, :, :, 0], [[12, 16, 9], [24, 28, 15], [15, 17, 9]])


def test_three_filters_scale_the_same_map_by_1_10_and_minus_1():
    kernels = np.stack([np.full((2, 2), v) for v in (1.0, 10.0, -1.0)], axis=-1)[:, :, None, :]
    out = conv.conv2d(TOY, kernels, padding="SAME")
    base = np.array([[12, 16, 9], [24, 28, 15], [15, 17, 9]])
    assert out.shape == (1, 3, 3, 3)
    for index, factor in enumerate((1, 10, -1)):
        np.testing.assert_array_equal(out[0, :, :, index], factor * base)


def test_correlate2d_does_not_flip_the_kernel():
    image = np.zeros((3, 3))
    image[1, 1] = 1.0
    kernel = np.arange(9.0).reshape(3, 3)
    # A lone bright pixel comes out as the kernel turned half around under cross-correlation.
    np.testing.assert_array_equal(conv.correlate2d(np.pad(image, 1), kernel), kernel[::-1, ::-1])
    np.testing.assert_allclose(
        conv.correlate2d(TOY[0, :, :, 0], ONES[:, :, 0, 0]), [[12, 16], [24, 28]]
    )


def test_conv2d_matches_tensorflow_on_random_shapes_strides_and_paddings():
    rng = np.random.default_rng(1)
    for _ in range(25):
        batch, c, f = rng.integers(1, 4, size=3)
        h, w = rng.integers(3, 12, size=2)
        kh, kw = rng.integers(1, 4, size=2)
        stride = int(rng.integers(1, 4))
        padding = str(rng.choice(["VALID", "SAME"]))
        images = rng.normal(size=(batch, h, w, c))
        kernels = rng.normal(size=(kh, kw, c, f))
        np.testing.assert_allclose(
            conv.conv2d(images, kernels, stride, padding),
            tf_conv(images, kernels, stride, padding),
            atol=1e-4,
            err_msg=f"{images.shape} {kernels.shape} stride {stride} {padding}",
        )


# Bad shapes -----------------------------------------------------------------------------------


def test_channel_mismatch_says_how_many_channels_each_side_has():
    with pytest.raises(ValueError, match="image has 3 channels, kernel expects 1"):
        conv.conv2d(np.zeros((1, 5, 5, 3)), np.zeros((3, 3, 1, 4)))


def test_images_and_kernels_must_be_four_dimensional():
    with pytest.raises(ValueError, match=r"images must be \(batch, height, width, channels\)"):
        conv.conv2d(np.zeros((5, 5)), ONES)
    with pytest.raises(ValueError, match=r"kernels must be \(height, width, in_channels"):
        conv.conv2d(TOY, np.ones((2, 2)))
    with pytest.raises(ValueError, match="expected a 2-D image and a 2-D kernel"):
        conv.correlate2d(np.zeros((1, 5, 5, 1)), np.ones((2, 2)))


def test_valid_kernel_larger_than_image_is_refused():
    with pytest.raises(ValueError, match="does not fit"):
        conv.conv2d(np.zeros((1, 2, 2, 1)), np.zeros((3, 3, 1, 1)))


# Receptive field ------------------------------------------------------------------------------


def test_receptive_field_of_known_stacks():
    assert conv.receptive_field([]) == 1
    assert conv.receptive_field([(3, 1)]) == 3
    assert conv.receptive_field([(3, 1), (3, 1), (3, 1)]) == 7
    assert conv.receptive_field([(3, 2), (3, 2), (3, 2)]) == 15
    # The notes' MNIST CNN: conv 3x3, max pool 2x2 stride 2, conv 3x3, max pool 2x2 stride 2.
    assert conv.receptive_field([(3, 1), (2, 2), (3, 1), (2, 2)]) == 10


def test_receptive_field_matches_the_input_pixels_tensorflow_uses():
    # Strides stay at most the kernel size: TensorFlow 2.21's CPU gradient of a convolution whose
    # stride exceeds its kernel can corrupt memory and abort the process (seen here).
    rng = np.random.default_rng(2)
    for _ in range(6):
        kernels = rng.integers(1, 5, size=3)
        layers = [(int(k), int(rng.integers(1, min(k, 3) + 1))) for k in kernels]
        size = 64
        image = tf.Variable(tf.zeros((1, size, size, 1)))
        with tf.GradientTape() as tape:
            out = image
            for k, s in layers:
                out = tf.nn.conv2d(out, tf.ones((k, k, 1, 1)), strides=s, padding="VALID")
            pixel = out[0, 0, 0, 0]
        grad = tape.gradient(pixel, image).numpy()[0, :, :, 0]
        rows = np.flatnonzero(grad.any(axis=1))
        assert rows.max() - rows.min() + 1 == conv.receptive_field(layers), layers


def test_receptive_field_refuses_bad_layers():
    with pytest.raises(ValueError, match="must be \\(kernel, stride\\)"):
        conv.receptive_field([(3, 1, "SAME")])
    with pytest.raises(ValueError, match="stride must be a positive integer"):
        conv.receptive_field([(3, 0)])
    with pytest.raises(ValueError, match="kernel must be a positive integer"):
        conv.receptive_field([(-3, 1)])
