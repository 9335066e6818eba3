"""What the judge accepts as a student's Keras model, checked with plain Python before any library.

(Over 300 lines for a reason: the allow-list, the limits and the checks that apply them are
one piece a reviewer reads together; the shapes are in `grader.judge_shapes`.)

A `.keras` file is a zip of three members: config.json (the model's classes and settings),
metadata.json and model.weights.h5. Keras's loader rebuilds whatever classes and functions the
config names, with arguments from the file, so the config is the attack surface; `check_archive`
refuses, before Keras sees a byte:

* an archive that is not exactly Keras's three members, a member or a whole file over its size
  cap (declared and actual: a zip bomb declares little and inflates), a method other than
  stored or deflated, an encrypted member;
* JSON that is too large, too deep or has too many containers (counted on the raw text before
  `json.loads`), strings too long, numbers that are not finite or too large;
* any object outside the allow-list `ALLOWED` (the layers, initialisers, regularisers,
  optimisers, losses and metrics the course teaches, each from its Keras module), any
  `registered_name` Keras does not write for it, any function reference (a `Lambda`, an
  activation given as a function, `__lambda__`), any activation outside `ACTIVATIONS`;
* more layers, parameters or values per layer output than `RuleLimits` allows, computed from
  the config (`grader.judge_shapes`) without building anything.

The HDF5 weights are checked inside the judge (`grader.judge_worker`), the only process that
parses them. This module runs in the grader's process and again in the judge; it imports
nothing of the course, so the judge's jail binds it alone.
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
from dataclasses import dataclass
from typing import Any

try:
    from grader import judge_shapes
except ImportError:  # pragma: no cover - inside the judge the two files sit side by side
    import judge_shapes  # type: ignore[no-redef]

MEMBERS = ("config.json", "metadata.json", "model.weights.h5")
LAYERS = {
    "InputLayer",
    "Conv2D",
    "MaxPooling2D",
    "AveragePooling2D",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling2D",
    "Flatten",
    "Dense",
    "Dropout",
    "SpatialDropout2D",
    "GaussianNoise",
    "GaussianDropout",
    "BatchNormalization",
    "Activation",
    "ReLU",
    "LeakyReLU",
    "Softmax",
    "Rescaling",
    "Reshape",
    "Concatenate",
    "Add",
    "Average",
    "Maximum",
    "Minimum",
    "Multiply",
    "Subtract",
    "ZeroPadding2D",
    "Resizing",
    "CenterCrop",
    "RandomCrop",
    "RandomFlip",
    "RandomRotation",
    "RandomZoom",
    "RandomTranslation",
    "RandomContrast",
    "RandomBrightness",
}
ALLOWED: dict[str, set[str]] = {
    "keras.layers": LAYERS,
    "keras": {"Sequential", "Functional", "DTypePolicy", "FloatDTypePolicy"},
    "keras.src.models.functional": {"Functional"},
    "keras.src.models.sequential": {"Sequential"},
    "keras.initializers": {
        "GlorotUniform",
        "GlorotNormal",
        "HeUniform",
        "HeNormal",
        "LecunUniform",
        "LecunNormal",
        "Zeros",
        "Ones",
        "Constant",
        "RandomNormal",
        "RandomUniform",
        "TruncatedNormal",
    },
    "keras.regularizers": {"L1", "L2", "L1L2"},
    "keras.constraints": {"MaxNorm", "NonNeg", "UnitNorm", "MinMaxNorm"},
    "keras.optimizers": {
        "Adam",
        "AdamW",
        "SGD",
        "RMSprop",
        "Adagrad",
        "Adadelta",
        "Adamax",
        "Nadam",
    },
    "keras.optimizers.schedules": {
        "ExponentialDecay",
        "PiecewiseConstantDecay",
        "CosineDecay",
        "InverseTimeDecay",
        "PolynomialDecay",
    },
    "keras.losses": {
        "SparseCategoricalCrossentropy",
        "CategoricalCrossentropy",
        "BinaryCrossentropy",
        "MeanSquaredError",
        "MeanAbsoluteError",
        "Huber",
    },
    "keras.metrics": {
        "SparseCategoricalAccuracy",
        "CategoricalAccuracy",
        "BinaryAccuracy",
        "Accuracy",
        "MeanSquaredError",
        "MeanAbsoluteError",
        "Precision",
        "Recall",
        "SparseTopKCategoricalAccuracy",
        "TopKCategoricalAccuracy",
    },
}
ACTIVATIONS = {
    "relu",
    "softmax",
    "sigmoid",
    "linear",
    "tanh",
    "elu",
    "selu",
    "gelu",
    "silu",
    "swish",
    "softplus",
    "softsign",
    "leaky_relu",
    "relu6",
    "hard_sigmoid",
    "exponential",
    "log_softmax",
}
DTYPES = {
    "float32",
    "float16",
    "bfloat16",
    "float64",
    "mixed_float16",
    "mixed_bfloat16",
    "uint8",
    "int32",
    "int64",
}
TENSOR = "__keras_tensor__"  # a functional model's link between layers: plain data
OBJECT_KEYS = ("_initializer", "_regularizer", "_constraint")  # objects, never strings here
# A JSON string, matched without backtracking state: `"(?:[^"\\]|\\.)*"` kept about 120 bytes
# per character, 117 MB in the grader for one 1 MB string (within the config cap).
_STRINGS = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"', re.S)
_NAME = re.compile(r"[^A-Za-z0-9_.>]")


@dataclass(frozen=True)
class RuleLimits:
    """The largest model the judge loads. Defaults: 64 layers and 5 million parameters (the
    course's largest reference model has under 1 million); a file of 64 MiB (5 million float32
    weights with Adam's two moments is 60 MB, and the kernel's replies are capped at 64 MiB)."""

    archive_bytes: int = 64 * 2**20
    config_bytes: int = 1 * 2**20
    metadata_bytes: int = 4096
    weights_bytes: int = 64 * 2**20
    json_containers: int = 20_000
    json_depth: int = 40
    string_chars: int = 512
    layers: int = 64
    params: int = 5_000_000
    values_per_output: int = 2**21  # one layer's output per example: 28x28x2048 at most
    dim: int = 8192


class Refused(Exception):
    """A model the judge will not load; `message` is for the student, `detail` for the log."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.message, self.detail = message, detail


class Failure(Exception):
    """A judge request that failed: `code` (a word the grader turns into a sentence for the
    student) and `detail` (the library's text, for the instructor's log only)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code, self.detail = code, detail[:4000]


@dataclass
class Archive:
    config: dict
    metadata: dict
    weights: bytes
    layers: int = 0
    params: int = 0


def _refuse(reason: str, detail: str = "") -> Refused:
    return Refused(f"the model could not be loaded: {reason}", detail[:2000])


def _name(value: Any) -> str:
    return _NAME.sub("?", str(value))[:60]


def read_archive(data: bytes, limits: RuleLimits = RuleLimits()) -> Archive:
    """The three members of a `.keras` file, read within the caps (see the module docstring)."""
    not_keras = "it is not a Keras model file (.keras)"
    if not isinstance(data, bytes | bytearray) or len(data) > limits.archive_bytes:
        size = len(data) if isinstance(data, bytes | bytearray) else 0
        raise _refuse(f"its file is larger than {limits.archive_bytes // 2**20} MiB", f"{size}")
    caps = dict(
        zip(
            MEMBERS, (limits.config_bytes, limits.metadata_bytes, limits.weights_bytes), strict=True
        )
    )
    members: dict[str, bytes] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            names = [info.filename for info in infos]
            if sorted(names) != sorted(MEMBERS):
                extra = [_name(n) for n in names if n not in MEMBERS][:3] or ["a repeated name"]
                raise _refuse(
                    f"its file holds {', '.join(extra)}, which Keras never writes"
                    if len(names) >= 3
                    else not_keras,
                    repr(names)[:500],
                )
            for info in infos:
                cap = caps[info.filename]
                inflates = info.compress_type == zipfile.ZIP_DEFLATED and (
                    info.file_size > 100 * max(info.compress_size, 1)
                )
                if (
                    info.file_size > cap
                    or inflates
                    or info.flag_bits & 0x1
                    or (info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED))
                ):
                    raise _refuse(
                        f"{info.filename} is larger than the grader accepts",
                        f"{info.file_size} (stored {info.compress_size})",
                    )
                with archive.open(info) as member:
                    content = member.read(cap + 1)
                if len(content) != info.file_size:
                    raise _refuse(not_keras, f"{info.filename}: size differs from its header")
                members[info.filename] = content
    except Refused:
        raise
    except Exception as error:  # zipfile's errors on a broken archive: BadZipFile, CRC, EOF
        raise _refuse(not_keras, f"{type(error).__name__}: {error}") from None
    config = parse_json(members["config.json"], limits)
    metadata = parse_json(members["metadata.json"], limits)
    if not isinstance(metadata, dict):
        raise _refuse(not_keras, "metadata.json is not an object")
    return Archive(config, metadata, members["model.weights.h5"])


def parse_json(raw: bytes, limits: RuleLimits = RuleLimits()) -> Any:
    """JSON within the limits, sized on the raw text before it is parsed."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _refuse("its configuration is not text") from None
    if len(raw) > limits.config_bytes:
        raise _refuse("its configuration is larger than the grader accepts", f"{len(raw)}")
    bare = _STRINGS.sub('""', text)
    containers = bare.count("{") + bare.count("[")
    if containers > limits.json_containers:
        raise _refuse("its configuration is larger than the grader accepts", f"{containers}")
    depth = deepest = 0
    for char in re.findall(r"[\[\]{}]", bare):
        depth += 1 if char in "[{" else -1
        deepest = max(deepest, depth)
    if deepest > limits.json_depth:
        raise _refuse("its configuration is nested deeper than the grader accepts", f"{deepest}")

    def number(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(f"not finite: {text[:40]}")
        return value

    def integer(text: str) -> int:
        if len(text.lstrip("-")) > 18:
            raise ValueError(f"integer too long: {text[:40]}")
        return int(text)

    def constant(text: str) -> None:
        raise ValueError(f"not JSON: {text}")

    try:
        return json.loads(text, parse_float=number, parse_int=integer, parse_constant=constant)
    except (ValueError, RecursionError) as error:
        raise _refuse("its configuration is malformed", str(error)[:500]) from None


def check_config(config: Any, limits: RuleLimits = RuleLimits(), compile: bool = False) -> dict:
    """Refuse a config outside the allow-list or the limits; the config Keras will be given.

    The returned copy has `compile_config` removed unless `compile` (Keras then never reads the
    optimizer, loss or metrics).
    """
    if not isinstance(config, dict) or config.get("class_name") not in ("Sequential", "Functional"):
        raise _refuse(
            "it is not a Sequential or Functional Keras model",
            _name(config.get("class_name")) if isinstance(config, dict) else "",
        )
    config = dict(config)
    if not compile:
        config.pop("compile_config", None)
    _walk(config, limits, 0)
    return config


def plan(config: dict, limits: RuleLimits = RuleLimits(), input_shape: Any = None) -> Archive:
    """The layer and parameter counts Keras would build for `config` (refused over the limits).

    `input_shape` is the shape a `build` call gives an unbuilt model."""
    planner = judge_shapes.Planner(limits.values_per_output, limits.dim)
    try:
        given = None if input_shape is None else judge_shapes.as_shape(input_shape)
        planner.model(config, given)
    except judge_shapes.TooLarge as error:
        raise _refuse("a layer's output is larger than the grader accepts", str(error)) from None
    except judge_shapes.ShapeError as error:
        raise _refuse("its layers' sizes do not fit together", str(error)) from None
    except (KeyError, TypeError, AttributeError, IndexError) as error:
        raise _refuse("its configuration is malformed", repr(error)[:500]) from None
    if planner.layers > limits.layers:
        raise _refuse(f"it has {planner.layers} layers; the grader accepts at most {limits.layers}")
    if planner.params > limits.params:
        raise _refuse(
            f"it has {planner.params:,} parameters; the grader accepts at most {limits.params:,}"
        )
    if planner.largest > limits.values_per_output:
        raise _refuse(
            f"a layer's output holds {planner.largest:,} values per example; the "
            f"grader accepts at most {limits.values_per_output:,}"
        )
    return Archive(config, {}, b"", planner.layers, planner.params)


def check_archive(data: bytes, limits: RuleLimits = RuleLimits(), compile: bool = False) -> Archive:
    """`read_archive`, `check_config` and `plan` in one: the archive Keras may be given."""
    archive = read_archive(data, limits)
    archive.config = check_config(archive.config, limits, compile)
    counted = plan(archive.config, limits)
    archive.layers, archive.params = counted.layers, counted.params
    return archive


def _walk(value: Any, limits: RuleLimits, depth: int, key: str = "") -> None:
    if isinstance(value, dict):
        if "class_name" in value:
            _check_object(value, key)
        for name, item in value.items():
            if not isinstance(name, str) or len(name) > limits.string_chars:
                raise _refuse("its configuration is malformed", "a key")
            _walk(item, limits, depth + 1, name)
    elif isinstance(value, list):
        for item in value:
            _walk(item, limits, depth + 1, key)
    elif isinstance(value, str):
        if len(value) > limits.string_chars:
            raise _refuse("its configuration holds a string longer than the grader accepts")
        if key == "activation" and value not in ACTIVATIONS:
            raise _refuse(f"it uses an activation the course does not accept ({_name(value)})")
        if key.endswith(OBJECT_KEYS):
            raise _refuse(f"its {_name(key)} is given by name, which Keras never writes")
        if key == "dtype" and value not in DTYPES:
            raise _refuse(f"it uses a dtype the course does not accept ({_name(value)})")
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**62:
        raise _refuse("its configuration holds a number larger than the grader accepts")
    elif value is not None and not isinstance(value, bool | int | float):
        raise _refuse("its configuration is malformed", type(value).__name__)


def _check_object(value: dict, key: str) -> None:
    kind, module = value.get("class_name"), value.get("module")
    if kind == TENSOR:  # Keras makes a symbolic tensor of it: shape, dtype and a layer's name
        inner = value.get("config")
        if (
            set(value) <= {"class_name", "config"}
            and isinstance(inner, dict)
            and set(inner) <= {"shape", "dtype", "keras_history"}
        ):
            return
        raise _refuse("its configuration is malformed", "a tensor")
    registered = value.get("registered_name")
    layer = isinstance(kind, str) and kind in LAYERS
    if not isinstance(kind, str) or kind not in ALLOWED.get(module, ()):
        what = "a layer" if layer or module == "keras.layers" else "a part"
        raise _refuse(
            f"it uses {what} the course does not accept ({_name(kind)})", f"module {_name(module)}"
        )
    if registered not in (None, kind):
        raise _refuse(f"it uses a part the course does not accept ({_name(registered)})")
    if not isinstance(value.get("config", {}), dict):
        raise _refuse("its configuration is malformed", f"{_name(kind)} config")
