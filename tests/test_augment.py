"""Tests for helpers/augment.py: the augmentation layers and the notes' augmentation CNN."""

import numpy as np
import pytest

from helpers import augment


def test_augmentation_layers_hold_the_requested_transformations() -> None:
    block = augment.augmentation_layers(rotation=0.05, shift=0.1, zoom=0.2, flip="horizontal")
    names = [layer.__class__.__name__ for layer in block.layers]
    assert names == ["RandomRotation", "RandomTranslation", "RandomZoom", "RandomFlip"]
    assert augment.augmentation_layers(rotation=0, shift=0.3, zoom=0).layers[0].width_factor
    assert len(augment.augmentation_layers(rotation=0, shift=0, zoom=0).layers) == 0


def test_augmentation_changes_images_in_training_mode_only() -> None:
    images = np.zeros((4, 28, 28, 1), np.float32)
    images[:, 8:20, 12:16] = 255.0
    block = augment.augmentation_layers(seed=1)
    np.testing.assert_array_equal(block(images, training=False), images)
    changed = np.asarray(block(images, training=True))
    assert changed.shape == images.shape
    assert not np.allclose(changed, images)
    # The background fill is black, not mirrored strokes: the corners stay empty.
    assert np.all(changed[:, :2, :2] == 0)


def test_augmentation_layers_with_one_seed_repeat_themselves() -> None:
    images = np.random.default_rng(0).uniform(0, 255, (2, 28, 28, 1)).astype(np.float32)
    first = augment.augmentation_layers(seed=3)(images, training=True)
    second = augment.augmentation_layers(seed=3)(images, training=True)
    np.testing.assert_allclose(first, second, atol=1e-4)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rotation": 1.5}, "rotation between 0 and 1"),
        ({"shift": -0.1}, "shift between 0 and 1"),
        ({"flip": "sideways"}, "expected flip"),
    ],
)
def test_augmentation_layers_reject_bad_settings(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        augment.augmentation_layers(**kwargs)


def test_augmentation_cnn_has_the_notes_architecture() -> None:
    model = augment.augmentation_cnn()
    kinds = [layer.__class__.__name__ for layer in model.layers]
    block = ["Conv2D", "Conv2D", "MaxPooling2D", "Dropout"]
    assert kinds == ["Rescaling", *block, *block, "Flatten", "Dense", "Dropout", "Dense"]
    filters = [layer.filters for layer in model.layers if hasattr(layer, "filters")]
    assert filters == [32, 32, 64, 64]
    assert model.layers[-3].units == 512 and model.output_shape == (None, 10)
    assert model.layers[1].padding == "same"
    assert model.optimizer.learning_rate.numpy() == pytest.approx(0.001)
    # Convolutions 320 + 9,248 + 18,496 + 36,928; dense 3,136 * 512 + 512; output 5,130.
    assert model.count_params() == 1_676_266


def test_augmentation_cnn_rescales_inside_the_model() -> None:
    model = augment.augmentation_cnn(filters=(4, 8), dense_units=16)
    rescaled = model.layers[0](np.full((1, 28, 28, 1), 255.0, np.float32))
    np.testing.assert_allclose(rescaled, 1.0, rtol=1e-6)


def test_augmentation_cnn_places_the_augmentation_after_rescaling() -> None:
    block = augment.augmentation_layers()
    model = augment.augmentation_cnn(block, filters=(4, 8), dense_units=16)
    assert model.layers[1] is block
    x = np.random.default_rng(0).uniform(0, 255, (3, 28, 28, 1)).astype(np.float32)
    # predict runs in inference mode: no augmentation, so two calls agree exactly.
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))


def test_augmentation_cnn_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError, match="expected input_shape"):
        augment.augmentation_cnn(input_shape=(28, 28))
    with pytest.raises(ValueError, match="expected dropout"):
        augment.augmentation_cnn(dropout=1.0)
    colour = augment.augmentation_cnn(input_shape=(32, 32, 3), filters=(4, 8), dense_units=16)
    assert colour.predict(np.zeros((2, 32, 32, 3), np.float32), verbose=0).shape == (2, 10)


def test_presets_use_the_reference_settings_for_each_dataset() -> None:
    digits = augment.preset_layers("digits", seed=1)
    kinds = [type(layer).__name__ for layer in digits.layers]
    assert kinds == ["RandomRotation", "RandomTranslation", "RandomZoom"]  # no flip for digits
    assert digits.layers[0].factor == (-10 / 360, 10 / 360)
    fashion = augment.preset_layers("fashion", seed=1)
    assert [type(layer).__name__ for layer in fashion.layers] == ["RandomTranslation", "RandomFlip"]
    assert fashion.layers[1].mode == "horizontal"
    with pytest.raises(ValueError, match="'digits' or 'fashion'"):
        augment.preset_layers("colour")
