"""What a Keras model is, as plain data: its class, shapes, parameter counts and layers.

`describe(model)` gives a dict of strings, numbers, booleans, lists and dicts (JSON as is), the
same wherever it runs: in a student's kernel on a real model, in the grader's judge (a jailed
process that loads a student's saved model) and, through the grader's stand-in for such a model,
in the grader (an object that carries the facts as `course_facts` is answered with those). So
one test reads the same facts from a live model and from a model the grader only holds as bytes.

`blocks(model_or_facts)` is the behaviour-level view a structure check compares: nested models
flattened, input layers dropped, and a standalone `Activation`, `ReLU` or `Softmax` folded into
the layer before it, so `Conv2D(8, 3, activation="relu")`, `Conv2D(8, 3)` + `ReLU()` and
`Conv2D(8, 3)` + `Activation("relu")` give the same blocks.

Nothing here is secret: the sandbox mounts `helpers/` into every student kernel.
"""

from __future__ import annotations

import copy
from typing import Any

FACTS_ATTRIBUTE = "course_facts"

# The part of a layer's config a check may read: sizes and settings, never initialisers.
CONFIG_KEYS = (
    "filters",
    "kernel_size",
    "strides",
    "padding",
    "dilation_rate",
    "groups",
    "units",
    "pool_size",
    "keepdims",
    "rate",
    "use_bias",
    "axis",
    "momentum",
    "epsilon",
    "center",
    "scale",
    "offset",
    "target_shape",
    "factor",
    "height_factor",
    "width_factor",
    "mode",
    "fill_mode",
    "interpolation",
    "height",
    "width",
    "stddev",
    "max_value",
    "negative_slope",
    "threshold",
    "data_format",
)
# Layers that are only an activation, and the activation they apply (with default settings).
ACTIVATION_LAYERS = {"Activation": None, "ReLU": "relu", "Softmax": "softmax"}
NO_ACTIVATION = (None, "linear")
MODEL_CLASSES = ("Sequential", "Functional")


def _plain(value: Any) -> Any:
    """`value` as JSON data: tuples become lists; anything else that is not plain becomes None."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        return value
    if hasattr(value, "item") and getattr(value, "shape", None) == ():  # a NumPy scalar
        return _plain(value.item())
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return None


def _shape(tensor_or_shape: Any) -> list | None:
    shape = getattr(tensor_or_shape, "shape", tensor_or_shape)
    try:
        return [None if d is None else int(d) for d in shape]
    except TypeError:
        return None


def _shapes(tensors: Any) -> list | None:
    """One shape, or a list of shapes for several tensors; None when unknown."""
    if isinstance(tensors, list | tuple):
        shapes = [_shape(t) for t in tensors]
        return shapes[0] if len(shapes) == 1 else shapes
    return _shape(tensors)


def _activation_name(layer: Any) -> str | None:
    function = getattr(layer, "activation", None)
    if function is None:
        return None
    return str(getattr(function, "__name__", type(function).__name__))


def _count(layer: Any, weights: str | None = None) -> int | None:
    try:
        if weights is None:
            return int(layer.count_params())
        return int(sum(int(_size(w)) for w in getattr(layer, weights)))
    except (ValueError, AttributeError, TypeError):  # not built yet
        return None


def _size(weight: Any) -> int:
    total = 1
    for dim in weight.shape:
        total *= int(dim)
    return total


def _layer_facts(layer: Any) -> dict:
    try:
        config = layer.get_config()
    except Exception:  # a layer without a config still has a class and a name
        config = {}
    try:
        output_shape = _shapes(layer.output)
    except (AttributeError, ValueError, RuntimeError):  # unbuilt, or called more than once
        output_shape = None
    facts = {
        "name": str(layer.name),
        "class_name": type(layer).__name__,
        "activation": _activation_name(layer),
        "output_shape": output_shape,
        "params": _count(layer),
        "trainable": bool(layer.trainable),
        "config": {key: _plain(config[key]) for key in CONFIG_KEYS if key in config},
    }
    if type(layer).__name__ in MODEL_CLASSES or hasattr(layer, "layers"):
        facts["layers"] = [_layer_facts(inner) for inner in layer.layers]
    return facts


def describe(model: Any) -> dict:
    """The model's facts as plain data (see the module's docstring); a stand-in's own facts.

    Keys: "class" ("Sequential", "Functional" or the class's name), "built", "input_shape" and
    "output_shape" (one shape as a list with None for the batch, or a list of shapes), "params",
    "trainable_params", "non_trainable_params" (None until built) and "layers": per layer (as
    `model.layers` lists them) its "name", "class_name", "activation" (its name, e.g. "relu",
    "linear"; None for a layer without one), "output_shape", "params", "trainable", "config"
    (the allow-listed settings of `CONFIG_KEYS`) and, for a nested model, its own "layers".
    """
    carried = getattr(model, FACTS_ATTRIBUTE, None)
    if isinstance(carried, dict):
        return copy.deepcopy(carried)
    built = bool(getattr(model, "built", False))
    facts = {
        "class": type(model).__name__,
        "name": str(getattr(model, "name", "")),
        "built": built,
        "input_shape": None,
        "output_shape": None,
        "params": _count(model) if built else None,
        "trainable_params": _count(model, "trainable_weights") if built else None,
        "non_trainable_params": _count(model, "non_trainable_weights") if built else None,
        "layers": [_layer_facts(layer) for layer in model.layers],
    }
    try:
        facts["input_shape"] = _shapes(model.inputs)
        facts["output_shape"] = _shapes(model.outputs)
    except (AttributeError, ValueError, RuntimeError):  # a Sequential model not built yet
        pass
    return facts


def _flat_layers(layers: list[dict]) -> list[dict]:
    flat = []
    for layer in layers:
        if "layers" in layer:
            flat.extend(_flat_layers(layer["layers"]))
        elif layer["class_name"] != "InputLayer":
            flat.append(layer)
    return flat


def _standalone_activation(layer: dict) -> str | None:
    """The activation a layer that is only an activation applies, if it uses the defaults."""
    kind, config = layer["class_name"], layer.get("config", {})
    if kind == "Activation":
        return layer.get("activation")
    if kind == "ReLU" and not config.get("max_value") and not config.get("negative_slope"):
        return "relu" if not config.get("threshold") else None
    if kind == "Softmax" and config.get("axis", -1) in (-1, [-1]):
        return "softmax"
    return None


def blocks(model_or_facts: Any) -> list[dict]:
    """The model's layers as behaviour-level blocks, for checks that accept every style.

    Each block is {"kind": the layer's class, "activation": the effective activation name or
    None, "output_shape", "params", "config"}; a standalone activation layer after a layer with
    none (or "linear") is folded into it, and one after an activation already applied, or first,
    stays a block of its own (kind "Activation", with its activation). Activation("linear") is
    dropped: it does nothing.
    """
    facts = model_or_facts if isinstance(model_or_facts, dict) else describe(model_or_facts)
    result: list[dict] = []
    for layer in _flat_layers(facts["layers"]):
        applied = _standalone_activation(layer)
        if layer["class_name"] in ACTIVATION_LAYERS and applied is not None:
            if applied == "linear":
                continue
            if result and result[-1]["activation"] in NO_ACTIVATION:
                result[-1]["activation"] = applied
                result[-1]["output_shape"] = layer["output_shape"]
                continue
            result.append(_block("Activation", applied, layer))
            continue
        result.append(_block(layer["class_name"], layer["activation"], layer))
    return result


def _block(kind: str, activation: str | None, layer: dict) -> dict:
    return {
        "kind": kind,
        "activation": activation,
        "output_shape": layer["output_shape"],
        "params": layer["params"],
        "config": dict(layer.get("config", {})),
    }


def summary(model_or_facts: Any) -> str:
    """The blocks in one line, e.g. "Conv2D(relu) MaxPooling2D Flatten Dense(softmax)"."""
    return " ".join(
        b["kind"] + (f"({b['activation']})" if b["activation"] not in NO_ACTIVATION else "")
        for b in blocks(model_or_facts)
    )
