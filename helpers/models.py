"""Model builders of the course: the notes' MNIST CNN, a stronger reference CNN, the two-output
model and an ensemble that averages its members' probabilities.

Every classifier here takes float32 images of shape (batch, 28, 28, 1) scaled to [0, 1] and
returns (batch, num_classes) class probabilities (a softmax), unless told to return logits.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from helpers.augment import PRESETS, preset_layers

INPUT_SHAPE = (28, 28, 1)
AUGMENTATIONS = (*PRESETS, "none")


def _check_classes(num_classes: int) -> None:
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"expected num_classes to be an int >= 2, got {num_classes!r}")


def mnist_cnn(
    num_classes: int = 10, dropout_rate: float = 0.5, logits: bool = False
) -> keras.Sequential:
    """Chapter 05's MNIST CNN (the seed course's TensorFlow 1 model), in Keras 3.

    conv 3x3x32 SAME + ReLU + 2x2 max pool -> conv 3x3x64 SAME + ReLU + pool -> flatten
    (7 * 7 * 64 = 3136) -> dense 256 -> dense 256 -> dropout -> `num_classes` outputs:
    probabilities (softmax), or raw logits with `logits=True` for a loss with `from_logits=True`.
    """
    _check_classes(num_classes)
    if not 0 <= dropout_rate < 1:
        raise ValueError(f"expected a dropout_rate in [0, 1), got {dropout_rate}")
    return keras.Sequential(
        [
            keras.Input(INPUT_SHAPE),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(256, activation="relu"),
            layers.Dense(256, activation="relu"),
            layers.Dropout(dropout_rate),
            layers.Dense(num_classes, activation=None if logits else "softmax"),
        ],
        name="mnist_cnn",
    )


def _conv_bn_relu(x, filters: int):
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    # Momentum 0.9, not Keras's 0.99: the moving statistics that inference uses must settle
    # within the few hundred steps of a short run (with 0.99 they still hold a twentieth of
    # their start values after 300 steps, and every test digit comes out as one class).
    x = layers.BatchNormalization(momentum=0.9)(x)
    return layers.ReLU()(x)


def reference_cnn(
    num_classes: int = 10, augment: str = "digits", seed: int | None = None, width: int = 32
) -> keras.Model:
    """The stronger CNN the training command uses: VGG-style blocks with batch normalisation.

    [conv 3x3 + BN + ReLU] x2, max pool, dropout (width, then 2 x width filters), a third
    conv block on 7x7, global average pooling, dropout and a softmax. `augment` ("digits",
    "fashion" or "none") puts random augmentation layers at the input, active only in training.
    """
    _check_classes(num_classes)
    if augment not in AUGMENTATIONS:
        raise ValueError(f"expected augment in {AUGMENTATIONS}, got {augment!r}")
    inputs = keras.Input(INPUT_SHAPE, name="image")
    x = inputs if augment == "none" else preset_layers(augment, seed)(inputs)
    for filters in (width, 2 * width):
        x = _conv_bn_relu(x, filters)
        x = _conv_bn_relu(x, filters)
        x = layers.MaxPooling2D(2)(x)
        x = layers.Dropout(0.25)(x)
    x = _conv_bn_relu(x, 4 * width)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.3)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name="reference_cnn")


def two_output_cnn() -> keras.Model:
    """The notes' functional model with two heads: the digit and whether it is odd.

    Conv features (two conv + pool blocks) are concatenated with the flattened input pixels;
    output "digit" is a 10-way softmax, output "odd" a sigmoid (1 for odd digits).
    """
    inputs = keras.Input(INPUT_SHAPE, name="image")
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(inputs)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    features = layers.Concatenate()([layers.Flatten()(x), layers.Flatten()(inputs)])
    hidden = layers.Dense(128, activation="relu")(features)
    digit = layers.Dense(10, activation="softmax", name="digit")(hidden)
    odd = layers.Dense(1, activation="sigmoid", name="odd")(hidden)
    return keras.Model(inputs, {"digit": digit, "odd": odd}, name="two_output_cnn")


def average_ensemble(members: Sequence[keras.Model], name: str = "ensemble") -> keras.Model:
    """One model that returns the mean of its members' probabilities (soft voting).

    The members must share the input shape and output shape; the ensemble keeps that contract,
    so it is saved, loaded and called like a single model. The members are renamed member_0,
    member_1, ... (a model needs unique layer names); their weights are shared, not copied.
    """
    members = list(members)
    if not members:
        raise ValueError("expected at least one member model, got none")
    shapes = {tuple(m.outputs[0].shape[1:]) for m in members}
    if len(shapes) != 1:
        raise ValueError(f"expected members with the same output shape, got {sorted(shapes)}")
    inputs = keras.Input(tuple(members[0].inputs[0].shape[1:]), name="image")
    if len(members) == 1:
        return keras.Model(inputs, members[0](inputs), name=name)
    for i, member in enumerate(members):
        # Keras needs unique layer names inside one model.
        member.name = f"member_{i}"
    outputs = layers.Average(name="mean_probs")([member(inputs) for member in members])
    return keras.Model(inputs, outputs, name=name)


def compile_classifier(
    model: keras.Model,
    learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = 1e-3,
) -> keras.Model:
    """Compile a probability-output classifier for integer labels (Adam, sparse cross-entropy)."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model
