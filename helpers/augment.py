"""Data augmentation with Keras preprocessing layers, and the notes' augmentation CNN."""

from __future__ import annotations

import keras

FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")
# The reference models' settings per dataset (`preset_layers`): a flipped digit is another
# digit or none, so digits get small turns, shifts and zooms; a flipped shoe is still a shoe.
PRESETS = {
    "digits": {"rotation": 10 / 360, "shift": 0.1, "zoom": 0.1},
    "fashion": {"rotation": 0.0, "shift": 0.08, "zoom": 0.0, "flip": "horizontal"},
}


def augmentation_layers(
    rotation: float = 0.05,
    shift: float = 0.1,
    zoom: float = 0.1,
    flip: str | None = None,
    seed: int | None = None,
) -> keras.Sequential:
    """Random rotation, translation, zoom (and, if asked, flip) as one Sequential block.

    `rotation` is a fraction of a full turn (0.05 = up to 18 degrees either way), `shift` and
    `zoom` fractions of the image size, as in the old ImageDataGenerator's ranges. The layers
    only change images when called with `training=True` (as `fit` does); in `predict` and
    `evaluate` they pass images through unchanged.
    """
    for name, value in (("rotation", rotation), ("shift", shift), ("zoom", zoom)):
        if not 0 <= value < 1:
            raise ValueError(f"expected {name} between 0 and 1, got {value}")
    if flip is not None and flip not in FLIP_MODES:
        raise ValueError(f"expected flip to be None or one of {FLIP_MODES}, got {flip!r}")
    layers = []
    if rotation:
        layers.append(keras.layers.RandomRotation(rotation, fill_mode="constant", seed=seed))
    if shift:
        layers.append(keras.layers.RandomTranslation(shift, shift, fill_mode="constant", seed=seed))
    if zoom:
        layers.append(keras.layers.RandomZoom(zoom, fill_mode="constant", seed=seed))
    if flip:
        layers.append(keras.layers.RandomFlip(flip, seed=seed))
    return keras.Sequential(layers, name="augmentation")


def preset_layers(kind: str = "digits", seed: int | None = None) -> keras.Sequential:
    """`augmentation_layers` with the reference models' settings for "digits" or "fashion"."""
    if kind not in PRESETS:
        raise ValueError(f"expected augmentation {' or '.join(map(repr, PRESETS))}, got {kind!r}")
    return augmentation_layers(**PRESETS[kind], seed=seed)


def augmentation_cnn(
    augmentation: keras.layers.Layer | None = None,
    input_shape: tuple[int, int, int] = (28, 28, 1),
    num_classes: int = 10,
    filters: tuple[int, int] = (32, 64),
    dense_units: int = 512,
    dropout: float = 0.5,
    rescale: float = 1.0 / 255,
    learning_rate: float = 0.001,
) -> keras.Sequential:
    """The notes' augmentation CNN, compiled, taking raw pixels (0-255) as input.

    [Conv 3x3 SAME, ReLU] x2, MaxPool 2, Dropout; the same with more filters; Flatten, Dense,
    ReLU, Dropout, Dense softmax; Adam. Rescaling is the first layer, so training and test data
    are scaled the same way; the optional `augmentation` block follows it and acts in `fit` only.
    The defaults are the notes' sizes; smaller `filters` and `dense_units` train faster on a CPU.
    """
    if len(input_shape) != 3:
        raise ValueError(f"expected input_shape (height, width, channels), got {input_shape}")
    if not 0 <= dropout < 1:
        raise ValueError(f"expected dropout between 0 and 1, got {dropout}")
    layers: list[keras.layers.Layer] = [keras.Input(shape=input_shape)]
    layers.append(keras.layers.Rescaling(rescale, name="rescaling"))
    if augmentation is not None:
        layers.append(augmentation)
    for width in filters:
        layers += [
            keras.layers.Conv2D(width, 3, padding="same", activation="relu"),
            keras.layers.Conv2D(width, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Dropout(dropout),
        ]
    layers += [
        keras.layers.Flatten(),
        keras.layers.Dense(dense_units, activation="relu"),
        keras.layers.Dropout(dropout),
        keras.layers.Dense(num_classes, activation="softmax"),
    ]
    model = keras.Sequential(layers, name="augmentation_cnn")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model
