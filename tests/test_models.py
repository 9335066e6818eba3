"""Tests of helpers/models.py: layer shapes, parameter counts, outputs and the ensemble."""

import keras
import numpy as np
import pytest

from helpers import models


def _images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 28, 28, 1), dtype=np.float32)


def test_mnist_cnn_has_the_seed_shapes_and_parameter_count():
    model = models.mnist_cnn()
    shapes = [tuple(layer.output.shape[1:]) for layer in model.layers]
    assert shapes[:5] == [(28, 28, 32), (14, 14, 32), (14, 14, 64), (7, 7, 64), (3136,)]
    # conv1 (3*3*1+1)*32, conv2 (3*3*32+1)*64, dense (3136+1)*256, (256+1)*256, (256+1)*10
    expected = 320 + 18_496 + 803_072 + 65_792 + 2_570
    assert model.count_params() == expected


def test_mnist_cnn_returns_probabilities_or_logits():
    probs = models.mnist_cnn()(_images(4), training=False).numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    # Same weights with logits=True: the raw scores, whose softmax is the probabilities.
    keras.utils.set_random_seed(0)
    probs_model = models.mnist_cnn()
    logits_model = models.mnist_cnn(logits=True)
    logits_model.set_weights(probs_model.get_weights())
    images = _images(4)
    logits = logits_model(images, training=False).numpy()
    assert not np.allclose(logits.sum(axis=1), 1.0)
    np.testing.assert_allclose(
        keras.ops.softmax(logits).numpy(), probs_model(images, training=False), atol=1e-5
    )
    with pytest.raises(ValueError, match="num_classes"):
        models.mnist_cnn(num_classes=1)
    with pytest.raises(ValueError, match="dropout_rate"):
        models.mnist_cnn(dropout_rate=1.0)


@pytest.mark.parametrize("augment", ["digits", "fashion", "none"])
def test_reference_cnn_maps_images_to_probabilities(augment):
    model = models.reference_cnn(augment=augment, seed=1)
    probs = model.predict(_images(3), verbose=0)
    assert probs.shape == (3, 10) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_reference_cnn_augments_with_the_dataset_preset_only_in_training():
    model = models.reference_cnn(augment="fashion", seed=3)
    block = model.layers[1]
    kinds = [type(layer).__name__ for layer in block.layers]
    assert kinds == ["RandomTranslation", "RandomFlip"]  # a flipped shoe is still a shoe
    images = _images(2)
    np.testing.assert_allclose(block(images, training=False), images)
    assert not np.allclose(block(images, training=True), images)
    with pytest.raises(ValueError, match="augment"):
        models.reference_cnn(augment="colour")


def test_two_output_cnn_has_digit_and_odd_heads():
    model = models.two_output_cnn()
    out = model.predict(_images(5), verbose=0)
    assert out["digit"].shape == (5, 10) and out["odd"].shape == (5, 1)
    assert ((out["odd"] > 0) & (out["odd"] < 1)).all()


def test_average_ensemble_is_the_mean_of_its_members(tmp_path):
    members = [models.mnist_cnn() for _ in range(3)]
    images = _images(4)
    expected = np.mean([m.predict(images, verbose=0) for m in members], axis=0)
    ensemble = models.average_ensemble(members)
    np.testing.assert_allclose(ensemble.predict(images, verbose=0), expected, atol=1e-6)
    ensemble.save(tmp_path / "ensemble.keras")
    loaded = keras.models.load_model(tmp_path / "ensemble.keras")
    np.testing.assert_allclose(loaded.predict(images, verbose=0), expected, atol=1e-6)


def test_average_ensemble_rejects_no_members_and_mixed_outputs():
    with pytest.raises(ValueError, match="at least one"):
        models.average_ensemble([])
    with pytest.raises(ValueError, match="same output shape"):
        models.average_ensemble([models.mnist_cnn(), models.mnist_cnn(num_classes=5)])
