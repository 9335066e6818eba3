"""The shapes and parameter counts a Keras model config declares, found without Keras.

(Over 300 lines for a reason: one shape rule per layer class of the allow-list, next to the
walk that applies them; split, the table and its rules would live apart.)

`grader.judge_rules` asks this module, before any library reads a student's model, how many
weights Keras would allocate to rebuild it and how large each layer's output would be, so that
`Dense(10**9)` or a padding of a million pixels is refused from the config instead of costing
the judge gigabytes. It knows the layers of `judge_rules.LAYERS` (channels-last, as the course
uses them) and follows a Sequential chain or a Functional graph (`keras_history`), nested models
included. A layer's `build_config` must agree with the shape that reaches it: Keras builds a
layer from it first, so a config that declares one shape and feeds another is refused.

Plain Python only: it runs in the grader's process and again inside the judge.
"""

from __future__ import annotations

import math
from typing import Any

Shape = tuple  # (None, 28, 28, 1): the batch first, None where unknown


class ShapeError(ValueError):
    """The config declares something this module refuses or cannot follow."""


class TooLarge(ShapeError):
    """A layer's output with a size over the limit."""


def _ints(value: Any, n: int, what: str) -> tuple[int, ...]:
    values = [value] * n if isinstance(value, int) else list(value or [])
    if len(values) != n or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise ShapeError(f"{what} should be {n} integers, got {value!r}"[:200])
    if any(v < 1 for v in values):
        raise ShapeError(f"{what} should be positive, got {value!r}"[:200])
    return tuple(values)


def as_shape(value: Any) -> Shape:
    if not isinstance(value, list | tuple) or not 1 <= len(value) <= 8:
        raise ShapeError(f"not a shape: {value!r}"[:200])
    for dim in value:
        if dim is not None and (not isinstance(dim, int) or isinstance(dim, bool) or dim < 1):
            raise ShapeError(f"not a shape: {value!r}"[:200])
    return tuple(value)


def _spatial(n: int | None, size: int, stride: int, padding: str, dilation: int = 1) -> int | None:
    if n is None:
        return None
    if padding == "same":
        return math.ceil(n / stride)
    if padding != "valid":
        raise ShapeError(f"padding {padding!r} is not 'valid' or 'same'")
    span = dilation * (size - 1) + 1
    if n < span:
        raise ShapeError(f"a window of {span} does not fit in {n}")
    return (n - span) // stride + 1


def _image(shape: Shape, config: dict) -> tuple:
    if config.get("data_format", "channels_last") not in (None, "channels_last"):
        raise ShapeError("only channels_last images are accepted")
    if len(shape) != 4:
        raise ShapeError(f"expected images (batch, height, width, channels), got {shape}")
    return shape


def _conv(shape: Shape, config: dict) -> tuple[Shape, int]:
    _, h, w, channels = _image(shape, config)
    kh, kw = _ints(config.get("kernel_size"), 2, "kernel_size")
    sh, sw = _ints(config.get("strides", 1), 2, "strides")
    dh, dw = _ints(config.get("dilation_rate", 1), 2, "dilation_rate")
    (filters,) = _ints(config.get("filters"), 1, "filters")
    (groups,) = _ints(config.get("groups", 1), 1, "groups")
    if channels is None or channels % groups or filters % groups:
        raise ShapeError(f"{channels} channels cannot be split in {groups} groups")
    padding = config.get("padding", "valid")
    out = (None, _spatial(h, kh, sh, padding, dh), _spatial(w, kw, sw, padding, dw), filters)
    bias = filters if config.get("use_bias", True) else 0
    return out, kh * kw * (channels // groups) * filters + bias


def _pool(shape: Shape, config: dict) -> tuple[Shape, int]:
    _, h, w, channels = _image(shape, config)
    ph, pw = _ints(config.get("pool_size", 2), 2, "pool_size")
    sh, sw = _ints(config.get("strides") or (ph, pw), 2, "strides")
    padding = config.get("padding", "valid")
    return (None, _spatial(h, ph, sh, padding), _spatial(w, pw, sw, padding), channels), 0


def _global_pool(shape: Shape, config: dict) -> tuple[Shape, int]:
    channels = _image(shape, config)[3]
    return ((None, 1, 1, channels) if config.get("keepdims") else (None, channels)), 0


def _flatten(shape: Shape, config: dict) -> tuple[Shape, int]:
    if any(d is None for d in shape[1:]):
        raise ShapeError(f"Flatten needs known sizes, got {shape}")
    return (None, math.prod(shape[1:])), 0


def _dense(shape: Shape, config: dict) -> tuple[Shape, int]:
    (units,) = _ints(config.get("units"), 1, "units")
    if shape[-1] is None or len(shape) < 2:
        raise ShapeError(f"Dense needs a known last size, got {shape}")
    return (*shape[:-1], units), shape[-1] * units + (units if config.get("use_bias", True) else 0)


def _batch_norm(shape: Shape, config: dict) -> tuple[Shape, int]:
    axes = config.get("axis", -1)
    axes = [axes] if isinstance(axes, int) else list(axes)
    try:
        sizes = [shape[a] for a in axes if a != 0 and a != -len(shape)]
    except (IndexError, TypeError):
        raise ShapeError(f"axis {config.get('axis')!r} does not fit {shape}") from None
    if not sizes or any(s is None for s in sizes):
        raise ShapeError(f"BatchNormalization needs known sizes on its axis, got {shape}")
    per_value = 2 + bool(config.get("center", True)) + bool(config.get("scale", True))
    return shape, math.prod(sizes) * per_value


def _zero_padding(shape: Shape, config: dict) -> tuple[Shape, int]:
    _, h, w, channels = _image(shape, config)
    padding = config.get("padding", 1)
    pairs = [padding, padding] if isinstance(padding, int) else list(padding or [])
    pairs = [[p, p] if isinstance(p, int) else list(p) for p in pairs]
    if len(pairs) != 2 or any(len(p) != 2 for p in pairs):
        raise ShapeError(f"padding {padding!r} is not a ZeroPadding2D padding"[:200])
    flat = [v for p in pairs for v in p]
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in flat):
        raise ShapeError(f"padding {padding!r} is not a ZeroPadding2D padding"[:200])
    grown = [None if n is None else n + sum(p) for n, p in zip((h, w), pairs, strict=True)]
    return (None, *grown, channels), 0


def _resize(shape: Shape, config: dict) -> tuple[Shape, int]:
    channels = _image(shape, config)[3]
    (height,) = _ints(config.get("height"), 1, "height")
    (width,) = _ints(config.get("width"), 1, "width")
    return (None, height, width, channels), 0


def _reshape(shape: Shape, config: dict) -> tuple[Shape, int]:
    target = list(config.get("target_shape") or [])
    if not 1 <= len(target) <= 7 or any(not isinstance(d, int) for d in target):
        raise ShapeError(f"target_shape {target!r} is not a shape"[:200])
    known = math.prod(d for d in target if d != -1)
    size = math.prod(shape[1:]) if None not in shape[1:] else None
    if target.count(-1) > 1 or known < 1 or (size is not None and size % known):
        raise ShapeError(f"cannot reshape {shape} to {target}"[:200])
    if -1 in target:
        target[target.index(-1)] = None if size is None else size // known
    elif size is not None and size != known:
        raise ShapeError(f"cannot reshape {shape} to {target}"[:200])
    return (None, *target), 0


def _same(shape: Shape, config: dict) -> tuple[Shape, int]:
    return shape, 0


def _merge(shapes: list[Shape], config: dict, concat: bool) -> tuple[Shape, int]:
    if len(shapes) < 2 or len({len(s) for s in shapes}) != 1:
        raise ShapeError(f"cannot merge {shapes}"[:200])
    axis = config.get("axis", -1) % len(shapes[0]) if concat else None
    out = []
    for index, dims in enumerate(zip(*shapes, strict=True)):
        if index == axis:
            out.append(None if None in dims else sum(dims))
        elif len({d for d in dims if d is not None}) > 1 and index != 0:
            raise ShapeError(f"cannot merge {shapes}"[:200])
        else:
            out.append(next((d for d in dims if d is not None), None))
    return (None, *out[1:]), 0


SINGLE = {
    "Conv2D": _conv,
    "MaxPooling2D": _pool,
    "AveragePooling2D": _pool,
    "GlobalAveragePooling2D": _global_pool,
    "GlobalMaxPooling2D": _global_pool,
    "Flatten": _flatten,
    "Dense": _dense,
    "BatchNormalization": _batch_norm,
    "ZeroPadding2D": _zero_padding,
    "Resizing": _resize,
    "RandomCrop": _resize,
    "CenterCrop": _resize,
    "Reshape": _reshape,
    **dict.fromkeys(
        (
            "Dropout",
            "SpatialDropout2D",
            "GaussianNoise",
            "GaussianDropout",
            "Activation",
            "ReLU",
            "LeakyReLU",
            "Softmax",
            "Rescaling",
            "RandomFlip",
            "RandomRotation",
            "RandomZoom",
            "RandomTranslation",
            "RandomContrast",
            "RandomBrightness",
        ),
        _same,
    ),
}
MERGE = {"Concatenate", "Add", "Average", "Maximum", "Minimum", "Multiply", "Subtract"}
MODELS = {"Sequential", "Functional"}


class Planner:
    """Walks one model config; `layers`, `params` and the largest output per example add up."""

    def __init__(self, max_values: int, max_dim: int) -> None:
        self.layers = self.params = self.largest = 0
        self.max_values, self.max_dim = max_values, max_dim

    def _output(self, shape: Shape) -> Shape:
        if any(d is not None and d > self.max_dim for d in shape):
            raise TooLarge(f"a size in {shape} is over {self.max_dim}")
        if None not in shape[1:]:
            self.largest = max(self.largest, math.prod(shape[1:]))
        return shape

    def _built(self, layer: dict, inputs: Any) -> None:
        """A layer's build_config must name the shape that reaches it, when both are known."""
        declared = (layer.get("build_config") or {}).get("input_shape")
        if declared is not None and inputs is not None and _norm(declared) != _norm(inputs):
            raise ShapeError(f"{layer.get('class_name')} declares input {declared}, gets {inputs}")

    def call(self, layer: dict, inputs: Any, first_call: bool = True) -> Any:
        """The output shape(s) of one layer config called on `inputs`; counts its weights once."""
        kind, config = layer.get("class_name"), layer.get("config")
        if not isinstance(config, dict):
            raise ShapeError(f"{kind} has no config")
        if kind in MODELS:
            return self.model(layer, inputs)
        self.layers += first_call
        if inputs is None:  # an unbuilt model: Keras builds from build_config or not at all
            declared = (layer.get("build_config") or {}).get("input_shape")
            if declared is None:
                return None
            inputs = _as_inputs(declared)
        self._built(layer, inputs)
        if kind in MERGE:
            out, params = _merge([as_shape(s) for s in inputs], config, kind == "Concatenate")
        elif kind in SINGLE:
            out, params = SINGLE[kind](as_shape(inputs), config)
        else:
            raise ShapeError(f"no shape rule for {kind!r}")
        if first_call:
            self.params += params
        return self._output(out)

    def model(self, model: dict, inputs: Any = None) -> Any:
        self.layers += 1
        config = model["config"]
        layers = config.get("layers")
        if not isinstance(layers, list) or not layers:
            raise ShapeError("a model without layers")
        if model.get("class_name") == "Sequential":
            declared = (model.get("build_config") or {}).get("input_shape")
            return self._sequential(config, layers, inputs, declared)
        return self._functional(config, layers, inputs)

    def _sequential(self, config: dict, layers: list, inputs: Any, declared: Any) -> Any:
        shape = inputs
        if layers[0].get("class_name") == "InputLayer":
            shape = self._input(layers[0], inputs)
            layers = layers[1:]
        elif shape is None and (built := config.get("build_input_shape") or declared):
            shape = self._output(as_shape(built))
        for layer in layers:
            shape = self.call(layer, shape)
        return shape

    def _input(self, layer: dict, given: Any) -> Shape:
        self.layers += 1
        shape = self._output(as_shape(layer["config"].get("batch_shape")))
        if given is not None and _norm(given) != _norm(shape):
            raise ShapeError(f"an input of {shape} called on {given}")
        return shape

    def _functional(self, config: dict, layers: list, inputs: Any) -> Any:
        outputs: dict[tuple[str, int], list] = {}
        given = [] if inputs is None else list(inputs) if isinstance(inputs, list) else [inputs]
        for layer in layers:
            name = layer.get("name")
            if layer.get("class_name") == "InputLayer":
                outputs[(name, 0)] = [self._input(layer, given.pop(0) if given else None)]
                continue
            nodes = layer.get("inbound_nodes")
            if not isinstance(nodes, list) or not nodes:
                raise ShapeError(f"layer {name!r} is not connected")
            for index, node in enumerate(nodes):
                args = [outputs_of(outputs, t) for t in _tensors(node)]
                out = self.call(layer, args[0] if len(args) == 1 else args, index == 0)
                outputs[(name, index)] = out if isinstance(out, list) else [out]
        ends = [
            outputs_of(outputs, {"config": {"keras_history": h}})
            for h in _histories(config.get("output_layers"))
        ]
        return ends[0] if len(ends) == 1 else ends


def outputs_of(outputs: dict, tensor: dict) -> Any:
    history = tensor.get("config", {}).get("keras_history")
    try:
        name, node, index = history
        return outputs[(name, node)][index]
    except (KeyError, IndexError, TypeError, ValueError):
        raise ShapeError(f"a tensor from an unknown layer: {history!r}"[:200]) from None


def _tensors(node: Any) -> list[dict]:
    """The `__keras_tensor__` entries of an inbound node, in order (args, then kwargs)."""
    found = []
    if isinstance(node, dict):
        if node.get("class_name") == "__keras_tensor__":
            return [node]
        for value in node.values():
            found += _tensors(value)
    elif isinstance(node, list):
        for value in node:
            found += _tensors(value)
    return found


def _histories(value: Any) -> list:
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
        return [value]
    if isinstance(value, dict) and value:  # outputs by name
        return [h for item in value.values() for h in _histories(item)]
    if isinstance(value, list) and value:
        return [h for item in value for h in _histories(item)]
    raise ShapeError(f"no outputs: {value!r}"[:200])


def _norm(shape: Any) -> Any:
    if isinstance(shape, list | tuple) and shape and isinstance(shape[0], list | tuple):
        return [_norm(s) for s in shape]
    return [None, *list(shape)[1:]] if isinstance(shape, list | tuple) else shape


def _as_inputs(declared: Any) -> Any:
    if isinstance(declared, list) and declared and isinstance(declared[0], list):
        return [as_shape(s) for s in declared]
    return as_shape(declared)
