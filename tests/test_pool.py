"""Tests of helpers/pool.py: the seed digest's toy numbers, TensorFlow's results and bad inputs."""

from helpers import config

config.quiet_logs()

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from helpers import pool  # noqa: E402

TOY = np.array([[4.0, 3.0], [2.0, 1.0]])[np.newaxis, :, :, np.newaxis]


def _tf_pool(images, window, stride, padding, mode):
    images = tf.constant(images, tf.float64)
    if mode == "min":
        return -_tf_pool(-images, window, stride, padding, "max")
    op = tf.nn.max_pool2d if mode == "max" else tf.nn.avg_pool2d
    return op(images, ksize=window, strides=stride, padding=padding).numpy()


def test_max_pool_same_keeps_the_toy_image():
    out = pool.pool2d(TOY, 2, 1, "SAME", "max")
    np.testing.assert_array_equal(out[0, :, :, 0], [[4, 3], [2, 1]])


def test_max_pool_valid_gives_one_value():
    out = pool.pool2d(TOY, 2, 1, "VALID", "max")
    assert out.shape == (1, 1, 1, 1)
    assert out[0, 0, 0, 0] == 4


def test_avg_pool_same_divides_by_the_count_of_real_cells():
    out = pool.pool2d(TOY, 2, 1, "SAME", "avg")
    np.testing.assert_array_equal(out[0, :, :, 0], [[2.5, 2.0], [1.5, 1.0]])


def test_min_pool_is_minus_max_pool_of_minus_x():
    out = pool.pool2d(TOY, 2, 1, "SAME", "min")
    np.testing.assert_array_equal(out[0, :, :, 0], [[1, 1], [1, 1]])


def test_negative_maxima_puzzle_from_the_notes():
    # The VALID convolution of 1..9 with 2x2 filters of 1, 10 and -1: shape (1, 2, 2, 3).
    conv = np.array([[12.0, 16.0], [24.0, 28.0]])
    maps = np.stack([conv, 10 * conv, -conv], axis=-1)[np.newaxis]
    out = pool.pool2d(maps, 2, 1, "SAME", "max")
    expected = [[[28, 280, -12], [28, 280, -16]], [[28, 280, -24], [28, 280, -28]]]
    np.testing.assert_array_equal(out[0], expected)
    np.testing.assert_array_equal(out, _tf_pool(maps, 2, 1, "SAME", "max"))


def test_stride_defaults_to_the_window():
    images = np.arange(16.0).reshape(1, 4, 4, 1)
    out = pool.pool2d(images, 2)
    np.testing.assert_array_equal(out[0, :, :, 0], [[5, 7], [13, 15]])


@pytest.mark.parametrize("mode", pool.MODES)
@pytest.mark.parametrize("padding", ["VALID", "SAME"])
def test_pool2d_matches_tensorflow_on_random_inputs(mode, padding):
    rng = np.random.default_rng(7)
    for _ in range(12):
        height, width = rng.integers(3, 10, size=2)
        window = tuple(int(k) for k in rng.integers(1, 4, size=2))
        stride = tuple(int(s) for s in rng.integers(1, 4, size=2))
        # Negative values everywhere: zero padding would win every max at the border.
        images = -rng.uniform(1, 5, size=(2, height, width, 3))
        expected = _tf_pool(images, window, stride, padding, mode)
        out = pool.pool2d(images, window, stride, padding, mode)
        assert out.shape == expected.shape
        np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_same_output_size_rounds_up():
    out = pool.pool2d(np.zeros((1, 7, 5, 2)), 2, 2, "SAME")
    assert out.shape == (1, 4, 3, 2)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"images": np.zeros((4, 4))}, "batch, height, width, channels"),
        ({"mode": "median"}, "mode must be one of"),
        ({"padding": "FULL"}, "padding must be 'VALID' or 'SAME'"),
        ({"window": 0}, "window height must be a positive integer"),
        ({"window": (2, 2, 2)}, "window must be an integer or"),
        ({"stride": -1}, "stride height must be a positive integer"),
        ({"window": 5}, "does not fit"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(kwargs, message):
    arguments = {"images": np.zeros((1, 4, 4, 1)), "window": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        pool.pool2d(**arguments)
