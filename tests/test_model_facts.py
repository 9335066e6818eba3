"""helpers.model_facts on real Keras models written in several styles."""

from __future__ import annotations

import json

import keras
import pytest

from helpers import model_facts


def sequential_relu_argument():
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def sequential_relu_layers():
    """The same behaviour with ReLU and softmax as layers of their own."""
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(8, 3, padding="same"),
            keras.layers.ReLU(),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(10),
            keras.layers.Activation("softmax"),
        ]
    )


def functional_nested_trunk():
    """A functional model around a nested Sequential trunk, Activation("relu"), Softmax()."""
    trunk = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(8, 3, padding="same"),
            keras.layers.Activation("relu"),
            keras.layers.MaxPooling2D(2),
        ]
    )
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Flatten()(trunk(inputs))
    outputs = keras.layers.Softmax()(keras.layers.Dense(10)(x))
    return keras.Model(inputs, outputs)


STYLES = [sequential_relu_argument, sequential_relu_layers, functional_nested_trunk]


@pytest.mark.parametrize("build", STYLES)
def test_every_style_gives_the_same_blocks(build):
    expected = model_facts.blocks(sequential_relu_argument())
    assert model_facts.blocks(build()) == expected
    assert model_facts.summary(build()) == "Conv2D(relu) MaxPooling2D Flatten Dense(softmax)"


def test_blocks_tell_a_different_model_apart():
    """A missing activation or another size is a different block list."""
    other = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(8, 3, padding="same"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    reference = model_facts.blocks(sequential_relu_argument())
    assert model_facts.blocks(other) != reference
    assert model_facts.blocks(other)[0]["activation"] == "linear"
    wider = sequential_relu_argument()
    wider.layers[0].filters = 9  # config differs
    assert model_facts.blocks(wider)[0]["config"]["filters"] == 9


def test_describe_gives_plain_data_with_the_models_numbers():
    model = sequential_relu_layers()
    facts = model_facts.describe(model)
    assert json.loads(json.dumps(facts)) == facts  # plain JSON data
    assert facts["class"] == "Sequential" and facts["built"] is True
    assert facts["params"] == model.count_params() == 8 * 9 + 8 + 14 * 14 * 8 * 10 + 10
    assert facts["input_shape"] == [None, 28, 28, 1]
    assert facts["output_shape"] == [None, 10]
    assert [layer["class_name"] for layer in facts["layers"]] == [
        type(layer).__name__ for layer in model.layers
    ]
    conv = facts["layers"][0]
    assert conv["activation"] == "linear" and conv["output_shape"] == [None, 28, 28, 8]
    assert conv["config"]["kernel_size"] == [3, 3] and conv["config"]["padding"] == "same"
    assert "kernel_initializer" not in conv["config"]
    assert facts["layers"][1]["activation"] is None  # ReLU: an activation layer, no attribute


def test_batch_normalization_counts_non_trainable_weights():
    model = keras.Sequential([keras.Input((4,)), keras.layers.BatchNormalization()])
    facts = model_facts.describe(model)
    assert (facts["params"], facts["trainable_params"], facts["non_trainable_params"]) == (
        16,
        8,
        8,
    )


def test_two_outputs_and_nested_layers():
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Flatten()(inputs)
    model = keras.Model(inputs, [keras.layers.Dense(10)(x), keras.layers.Dense(1)(x)])
    facts = model_facts.describe(model)
    assert facts["class"] == "Functional"
    assert facts["output_shape"] == [[None, 10], [None, 1]]
    nested = model_facts.describe(functional_nested_trunk())
    assert nested["layers"][1]["class_name"] == "Sequential"
    assert [inner["class_name"] for inner in nested["layers"][1]["layers"]] == [
        "Conv2D",
        "Activation",
        "MaxPooling2D",
    ]


def test_an_unbuilt_model_has_no_counts_yet():
    facts = model_facts.describe(keras.Sequential([keras.layers.Dense(3)]))
    assert facts["built"] is False and facts["params"] is None
    assert facts["layers"][0]["output_shape"] is None


def test_a_stand_in_answers_with_the_facts_it_carries():
    facts = model_facts.describe(sequential_relu_argument())

    class StandIn:
        course_facts = facts

    got = model_facts.describe(StandIn())
    assert got == facts and got is not facts  # a copy: a test cannot change the stand-in
    assert model_facts.blocks(StandIn()) == model_facts.blocks(facts)


def test_a_standalone_activation_after_an_applied_one_stays_a_block():
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(3, activation="relu"),
            keras.layers.Activation("sigmoid"),
            keras.layers.Activation("linear"),
            keras.layers.ReLU(max_value=6.0),
        ]
    )
    kinds = [(b["kind"], b["activation"]) for b in model_facts.blocks(model)]
    assert kinds == [("Dense", "relu"), ("Activation", "sigmoid"), ("ReLU", None)]
