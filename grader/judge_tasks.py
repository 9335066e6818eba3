"""What the judge does with a student's objects: the requests and the registry of course tasks.

(Over 300 lines for a reason: every task and the checks of its inputs read as one piece, the
allow-lists beside the code that applies them.)

Runs inside the judge's jail (`grader.judge_worker`). A request names an operation on a loaded
model ("load", "predict", "build", "drop") or a task of `TASKS`, written by the course: the
student's code never runs here, only Keras's own classes rebuilt from checked bytes and plain
descriptions. Every input is checked (types, ranges, names from allow-lists) before use: some
come from a student's kernel (the settings of a callback), all reach Keras.

Tasks (inputs by keyword; models as `.keras` bytes, arrays as arrays):

* "fit": fit a model on the grader's data (x, y) and return its history, facts, predictions;
  with `fresh=True` the file's weights are dropped first: the architecture alone is trained,
  from new weights drawn from `seed` (a model trained in the kernel gains nothing).
* "fit_with_callbacks": rebuild built-in callbacks from {"class", "settings"} descriptions, fit
  a model with them, and report what happened: the epochs run, each callback's state, the files
  the checkpoints wrote (in the judge's scratch) and the predictions of the model at the end and
  of the checkpoint's file.
* "image": the pixels of an image file (PNG, JPEG, BMP, GIF) as a uint8 array.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from collections import OrderedDict
from typing import Any

import numpy as np

from grader import judge_rules
from grader.judge_rules import Failure

MAX_MODELS = 8  # loaded at once; the oldest is dropped (the grader reloads it when asked)
RUN_FOLDER = os.path.join(os.environ.get("COURSE_JUDGE_SCRATCH", "/tmp"), "judge", "run")
OPTIMIZERS = {"adam": "Adam", "sgd": "SGD", "rmsprop": "RMSprop"}
LOSSES = {
    "sparse_categorical_crossentropy",
    "categorical_crossentropy",
    "binary_crossentropy",
    "mean_squared_error",
    "mean_absolute_error",
}
METRICS = {
    "accuracy",
    "sparse_categorical_accuracy",
    "categorical_accuracy",
    "binary_accuracy",
    "mae",
    "mse",
}
MONITORS = re.compile(
    r"(val_)?(loss|accuracy|sparse_categorical_accuracy|categorical_accuracy|"
    r"binary_accuracy|mae|mse)"
)
CALLBACKS = {
    "ModelCheckpoint": {
        "filepath",
        "monitor",
        "mode",
        "save_best_only",
        "save_weights_only",
        "initial_value_threshold",
    },
    "EarlyStopping": {
        "monitor",
        "min_delta",
        "patience",
        "mode",
        "baseline",
        "restore_best_weights",
        "start_from_epoch",
    },
    "ReduceLROnPlateau": {
        "monitor",
        "factor",
        "patience",
        "mode",
        "min_delta",
        "cooldown",
        "min_lr",
    },
    "TerminateOnNaN": set(),
}
FILE_NAME = re.compile(r"[A-Za-z0-9_-]{1,48}(\.keras|\.weights\.h5)")


def _bad(what: str) -> Exception:
    return Failure("inputs", what)


def _number(value: Any, low: float, high: float, what: str, integer: bool = False) -> Any:
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
        raise _bad(f"{what} should be a number in [{low}, {high}], got {value!r}"[:200])
    return value


def _array(value: Any, what: str) -> np.ndarray:
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf" or value.size == 0:
        raise _bad(f"{what} should be a non-empty numeric array")
    return value


def _settings(kind: str, settings: Any) -> dict:
    if kind not in CALLBACKS or not isinstance(settings, dict) or set(settings) - CALLBACKS[kind]:
        raise _bad(f"a callback the judge cannot rebuild: {kind!r} {sorted(settings or {})}"[:300])
    for key, value in settings.items():
        if value is not None and not isinstance(value, bool | int | float | str):
            raise _bad(f"{kind} {key} is not a plain value")
        if key == "monitor" and not (isinstance(value, str) and MONITORS.fullmatch(value)):
            raise _bad(f"{kind} monitors {value!r}"[:200])
        if key == "mode" and value not in ("auto", "min", "max"):
            raise _bad(f"{kind} mode {value!r}"[:200])
        if key == "filepath" and not (isinstance(value, str) and FILE_NAME.fullmatch(value)):
            raise _bad(f"{kind} writes to {value!r}: give a file name only"[:200])
        if isinstance(value, int | float) and not isinstance(value, bool):
            _number(value, -1e9, 1e9, f"{kind} {key}")
    return dict(settings)


class State:
    """The models loaded in this process, by id, and the answer to each request."""

    def __init__(self, load) -> None:
        self._load = load  # judge_worker.load: (bytes, compile, limits) -> (model, config)
        self.models: OrderedDict[int, tuple[Any, dict]] = OrderedDict()
        self.next_id = 1

    def answer(self, request: Any) -> Any:
        if not isinstance(request, dict) or not isinstance(request.get("args"), dict):
            raise _bad("a malformed request")
        op, args = request.get("op"), request["args"]
        if op == "usage":  # for the instructor's log and the benchmark
            import resource

            usage = resource.getrusage(resource.RUSAGE_SELF)
            return {
                "max_rss_bytes": usage.ru_maxrss * 1024,
                "cpu_seconds": usage.ru_utime + usage.ru_stime,
            }
        if op == "load":
            return self.load(args)
        if op == "task":
            name, inputs = args.get("name"), args.get("inputs")
            if name not in TASKS or not isinstance(inputs, dict):
                raise _bad(f"no judge task {name!r}"[:100])
            return TASKS[name](self, **inputs)
        model, config = self._model(args.get("id"))
        if op == "predict":
            return self.predict(model, args.get("x"), args.get("batch_size"))
        if op == "build":
            limits = self.limits(args.get("limits"))
            judge_rules.plan(config, limits, args.get("input_shape"))
            model.build(tuple(args["input_shape"]))
            return self.facts(model)
        if op == "drop":
            self.models.pop(args.get("id"), None)
            return None
        raise _bad(f"no operation {op!r}"[:100])

    @staticmethod
    def limits(values: Any) -> judge_rules.RuleLimits:
        if not isinstance(values, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values.values()
        ):
            raise _bad("limits")
        try:
            return judge_rules.RuleLimits(**values)
        except TypeError:
            raise _bad("limits") from None

    def _model(self, model_id: Any) -> tuple[Any, dict]:
        if model_id not in self.models:
            raise Failure("gone", f"no model {model_id!r} (dropped or never loaded)")
        self.models.move_to_end(model_id)
        return self.models[model_id]

    def load(self, args: dict) -> dict:
        compile = bool(args.get("compile"))
        model, config = self._load(args.get("data"), compile, self.limits(args.get("limits")))
        model_id, self.next_id = self.next_id, self.next_id + 1
        self.models[model_id] = (model, config)
        while len(self.models) > MAX_MODELS:
            self.models.popitem(last=False)
        optimizer = getattr(model, "optimizer", None) if compile else None
        iterations = None if optimizer is None else int(optimizer.iterations.numpy())
        return {"id": model_id, "facts": self.facts(model), "iterations": iterations}

    @staticmethod
    def facts(model: Any) -> dict:
        from helpers import model_facts

        return model_facts.describe(model)

    @staticmethod
    def predict(model: Any, x: Any, batch_size: Any = None) -> Any:
        inputs = [_array(a, "x") for a in x] if isinstance(x, list) else _array(x, "x")
        if batch_size is not None:
            _number(batch_size, 1, 65536, "batch_size", integer=True)
        try:
            out = model.predict(inputs, verbose=0, batch_size=batch_size)
        except Exception as error:
            raise Failure("predict", f"{type(error).__name__}: {error}") from None
        if isinstance(out, dict):
            return {str(k): np.asarray(v) for k, v in out.items()}
        return [np.asarray(o) for o in out] if isinstance(out, list | tuple) else np.asarray(out)


def _compile(model: Any, spec: Any) -> None:
    import keras

    if spec is None:
        if not getattr(model, "compiled", False):
            raise _bad("the model is not compiled and no compile settings were given")
        return
    if not isinstance(spec, dict) or set(spec) - {"optimizer", "learning_rate", "loss", "metrics"}:
        raise _bad("compile settings")
    name = spec.get("optimizer", "adam")
    loss, metrics = spec.get("loss"), spec.get("metrics") or []
    if name not in OPTIMIZERS or loss not in LOSSES or not set(metrics) <= METRICS:
        raise _bad(f"compile settings {name!r} {loss!r} {metrics!r}"[:200])
    rate = _number(spec.get("learning_rate", 0.001), 1e-8, 10.0, "learning_rate")
    optimizer = getattr(keras.optimizers, OPTIMIZERS[name])(learning_rate=rate)
    model.compile(optimizer=optimizer, loss=loss, metrics=list(metrics))


def _fit(
    state: State,
    model: Any,
    x: Any,
    y: Any,
    epochs: Any,
    batch_size: Any,
    validation_split: Any,
    seed: Any,
    callbacks: list,
) -> Any:
    import keras

    keras.utils.set_random_seed(_number(seed, 0, 2**31 - 1, "seed", integer=True))
    x, y = _array(x, "x"), _array(y, "y")
    if len(x) != len(y):
        raise _bad("x and y differ in length")
    try:
        return model.fit(
            x,
            y,
            verbose=0,
            callbacks=callbacks,
            epochs=_number(epochs, 1, 200, "epochs", integer=True),
            batch_size=_number(batch_size, 1, 4096, "batch_size", integer=True),
            validation_split=_number(validation_split, 0.0, 0.5, "validation_split"),
        )
    except Exception as error:
        raise Failure("fit", f"{type(error).__name__}: {error}") from None


def _fresh(model: Any, seed: Any) -> Any:
    """The same layers and settings with new weights drawn from `seed` (batch normalisation's
    statistics reset too): Keras's `clone_model` rebuilds the checked config, weights unread."""
    import keras

    keras.utils.set_random_seed(_number(seed, 0, 2**31 - 1, "seed", integer=True))
    try:
        return keras.models.clone_model(model)
    except Exception as error:
        raise Failure("fit", f"{type(error).__name__}: {error}") from None


def _history(history: Any) -> dict:
    return {str(k): [float(v) for v in values] for k, values in history.history.items()}


def fit(
    state: State,
    model: bytes,
    x,
    y,
    epochs=1,
    batch_size=32,
    validation_split=0.0,
    seed=0,
    compile=None,
    predict=None,
    limits=None,
    fresh=False,
) -> dict:
    """Fit the model on (x, y) with the grader's settings; its history, facts and predictions.
    `fresh=True` (with `compile`): the architecture from new weights, not the file's."""
    fresh = bool(fresh)
    loaded = state._load(model, compile is None and not fresh, state.limits(limits))[0]
    if fresh:
        loaded = _fresh(loaded, seed)
    _compile(loaded, compile)
    history = _fit(state, loaded, x, y, epochs, batch_size, validation_split, seed, [])
    return {
        "history": _history(history),
        "epochs": len(history.epoch),
        "facts": state.facts(loaded),
        "predictions": None if predict is None else state.predict(loaded, predict),
    }


def fit_with_callbacks(
    state: State,
    model: bytes,
    x,
    y,
    callbacks,
    epochs=1,
    batch_size=32,
    validation_split=0.0,
    seed=0,
    compile=None,
    predict=None,
    limits=None,
) -> dict:
    """Rebuild the described built-in callbacks, fit with them, report what they did."""
    import keras

    if not isinstance(callbacks, list) or len(callbacks) > 8:
        raise _bad("callbacks should be a list of at most 8 descriptions")
    shutil.rmtree(RUN_FOLDER, ignore_errors=True)
    os.makedirs(RUN_FOLDER)
    built = []
    for item in callbacks:
        kind = item.get("class") if isinstance(item, dict) else None
        settings = _settings(kind, item.get("settings", {}) if isinstance(item, dict) else None)
        if "filepath" in settings:
            settings["filepath"] = os.path.join(RUN_FOLDER, settings["filepath"])
        try:
            built.append(getattr(keras.callbacks, kind)(**settings))
        except (TypeError, ValueError) as error:
            raise _bad(f"{kind}: {error}"[:300]) from None
    limits = state.limits(limits)
    loaded = state._load(model, compile is None, limits)[0]
    _compile(loaded, compile)
    history = _fit(state, loaded, x, y, epochs, batch_size, validation_split, seed, built)
    report = []
    for callback in built:
        facts = {"class": type(callback).__name__}
        for name in ("stopped_epoch", "best", "wait", "best_epoch"):
            value = getattr(callback, name, None)
            if isinstance(value, int | float | np.generic) and not isinstance(value, bool):
                facts[name] = float(value) if isinstance(value, float | np.floating) else int(value)
        report.append(facts)
    files = {
        name: os.path.getsize(os.path.join(RUN_FOLDER, name))
        for name in sorted(os.listdir(RUN_FOLDER))
    }
    result = {
        "history": _history(history),
        "epochs": len(history.epoch),
        "callbacks": report,
        "files": files,
        "predictions": None,
        "file_predictions": {},
    }
    if predict is not None:
        result["predictions"] = state.predict(loaded, predict)
        for name in files:
            if name.endswith(".keras"):
                with open(os.path.join(RUN_FOLDER, name), "rb") as handle:
                    saved = state._load(handle.read(), False, limits)[0]
                result["file_predictions"][name] = state.predict(saved, predict)
    shutil.rmtree(RUN_FOLDER, ignore_errors=True)
    return result


def image(
    state: State, data: bytes, mode: str | None = None, max_pixels: int = 2**22, limits: Any = None
) -> Any:
    """The pixels of an image file as a uint8 array (height, width[, channels])."""
    from PIL import Image

    if not isinstance(data, bytes) or mode not in (None, "L", "RGB", "RGBA"):
        raise _bad("image data and mode")
    _number(max_pixels, 1, 2**26, "max_pixels", integer=True)
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with Image.open(io.BytesIO(data), formats=["PNG", "JPEG", "BMP", "GIF"]) as picture:
            width, height = picture.size
            if width * height > max_pixels:
                raise Failure("image", f"{width}x{height} pixels")
            picture = picture.convert(mode) if mode else picture
            return np.asarray(picture, dtype=np.uint8)
    except Exception as error:
        if isinstance(error, Failure):
            raise
        raise Failure("image", f"{type(error).__name__}: {error}") from None


TASKS = {"fit": fit, "fit_with_callbacks": fit_with_callbacks, "image": image}
