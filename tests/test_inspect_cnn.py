"""helpers/inspect_cnn.py: saliency, Grad-CAM and occlusion against their formulas."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from helpers import inspect_cnn


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.fixture(scope="module")
def linear_model():
    """probs = softmax(W x + b) on flattened 6x6 images, with known random weights."""
    keras.utils.set_random_seed(3)
    model = keras.Sequential(
        [keras.Input((6, 6, 1)), keras.layers.Flatten(name="flatten"), keras.layers.Dense(3)]
    )
    outputs = keras.layers.Softmax()(model.outputs[0])
    return keras.Model(model.inputs, outputs)


def test_saliency_is_the_gradient_of_the_log_probability(linear_model):
    rng = np.random.default_rng(0)
    images = rng.random((4, 6, 6, 1), dtype=np.float32)
    classes = np.array([0, 2, 1, 2])
    kernel, bias = (w.numpy() for w in linear_model.weights)  # (36, 3), (3,)
    probs = softmax(images.reshape(4, 36) @ kernel + bias)
    # d log p_c / d x = W[:, c] - sum_j p_j W[:, j]
    expected = np.abs(kernel[:, classes].T - probs @ kernel.T)
    got = inspect_cnn.saliency(linear_model, images, classes)
    assert got.shape == (4, 6, 6)
    np.testing.assert_allclose(got.reshape(4, 36), expected, rtol=1e-4, atol=1e-6)


def test_saliency_checks_its_inputs(linear_model):
    with pytest.raises(ValueError, match="batch, height"):
        inspect_cnn.saliency(linear_model, np.zeros((6, 6, 1)), [0])
    with pytest.raises(ValueError, match="one class per image"):
        inspect_cnn.saliency(linear_model, np.zeros((2, 6, 6, 1)), [0])


def test_grad_cam_weighs_each_map_by_its_mean_gradient():
    """conv (2 channels) -> global average pooling -> dense -> softmax: the gradient of
    log p_c with respect to map k is the same at every place, (W[k, c] - sum_j p_j W[k, j]) / HW,
    so the CAM is relu(sum_k that weight times map k), divided by its largest value."""
    keras.utils.set_random_seed(5)
    inputs = keras.Input((8, 8, 1))
    maps = keras.layers.Conv2D(2, 3, padding="same", activation="relu", name="conv")(inputs)
    pooled = keras.layers.GlobalAveragePooling2D()(maps)
    outputs = keras.layers.Dense(3, activation="softmax")(pooled)
    model = keras.Model(inputs, outputs)
    images = np.random.default_rng(1).random((3, 8, 8, 1), dtype=np.float32)
    classes = np.array([0, 1, 2])

    a = keras.Model(inputs, maps)(images).numpy()  # (3, 8, 8, 2)
    kernel, bias = (w.numpy() for w in model.layers[-1].weights)
    probs = softmax(a.mean(axis=(1, 2)) @ kernel + bias)
    weights = (kernel[:, classes].T - probs @ kernel.T) / 64  # (3 images, 2 channels)
    cam = np.maximum((a * weights[:, None, None, :]).sum(-1), 0)
    peak = cam.max(axis=(1, 2), keepdims=True)
    expected = np.divide(cam, peak, out=np.zeros_like(cam), where=peak > 0)

    got = inspect_cnn.grad_cam(model, images, classes, "conv")
    assert got.shape == (3, 8, 8)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert got.max() <= 1 + 1e-6 and got.min() >= 0


def test_grad_cam_refuses_a_layer_without_feature_maps(linear_model):
    with pytest.raises(ValueError, match="feature maps"):
        inspect_cnn.grad_cam(linear_model, np.zeros((1, 6, 6, 1)), [0], "flatten")


def test_occlusion_finds_the_one_pixel_the_model_reads():
    """A model whose class-0 probability grows with pixel (4, 5): blanking any patch that
    covers that pixel lowers p[0] by the same amount; every other pixel's drop is 0 or that
    amount averaged with patches that missed it."""
    inputs = keras.Input((10, 10, 1))
    pixel = inputs[:, 4, 5, :]  # (batch, 1)
    logits = keras.layers.Concatenate()([4 * pixel, 0 * pixel])
    model = keras.Model(inputs, keras.layers.Softmax()(logits))
    image = np.zeros((10, 10, 1), np.float32)
    image[4, 5] = 1.0
    drop = softmax(np.array([4.0, 0.0]))[0] - 0.5  # p[0] with the pixel, minus without

    heat = inspect_cnn.occlusion(model, image, label=0, patch=3, stride=1)
    assert heat.shape == (10, 10)
    np.testing.assert_allclose(heat[4, 5], drop, rtol=1e-5)  # every patch over it hides it
    assert np.unravel_index(np.argmax(heat), heat.shape) == (4, 5)
    assert heat[0, 0] == 0 and heat[9, 9] == 0  # patches there never cover (4, 5)
    assert np.all(heat >= -1e-7) and np.all(heat <= drop + 1e-6)


def test_occlusion_checks_its_inputs():
    model = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Flatten()])
    with pytest.raises(ValueError, match="one image"):
        inspect_cnn.occlusion(model, np.zeros((1, 6, 6, 1)), 0)
    with pytest.raises(ValueError, match="patch"):
        inspect_cnn.occlusion(model, np.zeros((6, 6, 1)), 0, patch=7)
