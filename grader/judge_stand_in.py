"""The grader's stand-in for a student's Keras model that the judge holds (`grader.judge`).

A hidden test reads a `JudgedModel` as it reads a Keras model where it can: `predict`,
`count_params()`, `layers` (each with `name`, `activation` whose `__name__` is its name,
`output.shape`, `output_shape`, `count_params()`, and `type(layer).__name__` the Keras class),
`built`, `build(shape)`; and the course's own views: `course_facts` (what
`helpers.model_facts.describe` gives, so `describe(stand_in)` is the same dict), `blocks()`,
`class_name`, `optimizer_iterations` (loaded with compile=True only: `compiled()`), `data`
(the bytes).
Every value comes from the judge's answers: no Keras runs in the grader for it.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np

from helpers import model_facts


class ActivationName(str):
    """An activation's name that also answers `__name__`, as Keras's activation functions do."""

    @property
    def __name__(self) -> str:  # noqa: A003
        return str(self)


class _Output:
    def __init__(self, shape: Any) -> None:
        self.shape = _tuple(shape)


def _tuple(shape: Any) -> Any:
    if isinstance(shape, list) and shape and isinstance(shape[0], list):
        return [_tuple(s) for s in shape]
    return None if shape is None else tuple(shape)


class JudgedLayer:
    """One layer's facts; its class is named after the Keras class it stands for."""

    def __init__(self, facts: dict) -> None:
        self.facts = facts
        self.name, self.class_name = str(facts["name"]), str(facts["class_name"])
        activation = facts.get("activation")
        self.activation = None if activation is None else ActivationName(activation)
        self.output_shape = _tuple(facts.get("output_shape"))
        self.trainable = bool(facts.get("trainable"))
        self.config = dict(facts.get("config") or {})
        self.layers = [make_layer(f) for f in facts.get("layers", [])]

    @property
    def output(self) -> _Output:
        if self.output_shape is None:
            raise AttributeError(f"layer {self.name!r} has no known output (not built)")
        return _Output(self.facts["output_shape"])

    def count_params(self) -> int:
        if self.facts.get("params") is None:
            raise ValueError(f"layer {self.name!r} is not built: it has no parameters yet")
        return int(self.facts["params"])

    def __repr__(self) -> str:
        return f"<{self.class_name} name={self.name}, judged>"


_CLASSES: dict[str, type] = {}


def make_layer(facts: dict) -> JudgedLayer:
    kind = str(facts["class_name"])
    if kind not in _CLASSES:  # the name passed the judge's allow-list: a Keras class name
        _CLASSES[kind] = type(kind, (JudgedLayer,), {"__module__": __name__})
    return _CLASSES[kind](facts)


class JudgedModel:
    """A student's model held by the judge; see the module's docstring."""

    def __init__(self, judge: Any, data: bytes, compile: bool) -> None:
        self._judge, self.data, self.compiled_load = judge, data, compile
        self._id: int | None = None
        self._generation = -1
        self.course_facts: dict = {}
        self.optimizer_iterations: int | None = None
        self._build_shape: Any = None
        self._compiled: JudgedModel | None = None

    def reload(self) -> None:
        """Load the bytes in the judge's current worker (after a restart, or once evicted)."""
        judge = self._judge
        args = {"data": self.data, "compile": self.compiled_load, "limits": _limits(judge)}
        reply = judge.request("load", args, judge.limits.load_seconds, "loading the model")
        self._id, self._generation = reply["id"], judge.generation
        self.optimizer_iterations = reply.get("iterations")
        self._set_facts(reply["facts"])
        if self._build_shape is not None and not self.built:
            self.build(self._build_shape)

    def _set_facts(self, facts: dict) -> None:
        self.course_facts = facts
        self.layers = [make_layer(f) for f in facts["layers"]]

    def _call(self, op: str, args: dict, seconds: float, doing: str) -> Any:
        if self._generation != self._judge.generation:
            self.reload()
        try:
            return self._judge.request(op, {"id": self._id, **args}, seconds, doing)
        except Exception as error:
            if getattr(error, "code", None) != "gone":
                raise
        self.reload()
        return self._judge.request(op, {"id": self._id, **args}, seconds, doing)

    # --- as a Keras model reads ---

    @property
    def name(self) -> str:
        return str(self.course_facts.get("name", ""))

    @property
    def class_name(self) -> str:
        return str(self.course_facts.get("class", ""))

    @property
    def built(self) -> bool:
        return bool(self.course_facts.get("built"))

    def build(self, input_shape: Any) -> None:
        """Build an unbuilt model for `input_shape` in the judge (checked against the limits)."""
        shape = [None if d is None else int(d) for d in input_shape]
        self._judge.plan(self.data, shape)  # JudgeRefused over the limits
        self._build_shape = shape
        facts = self._call(
            "build",
            {"input_shape": shape, "limits": _limits(self._judge)},
            self._judge.limits.load_seconds,
            "building the model",
        )
        self._set_facts(facts)

    def count_params(self) -> int:
        if self.course_facts.get("params") is None:
            raise ValueError(f"the model {self.name!r} is not built: it has no parameters yet")
        return int(self.course_facts["params"])

    def predict(self, x: Any, verbose: int = 0, batch_size: int | None = None) -> Any:
        """Keras's `predict` in the judge: an array, or a list (dict) for several outputs."""
        inputs = [np.asarray(a) for a in x] if isinstance(x, list | tuple) else np.asarray(x)
        return self._call(
            "predict",
            {"x": inputs, "batch_size": batch_size},
            self._judge.limits.predict_seconds,
            "making predictions",
        )

    def compiled(self) -> JudgedModel:
        """The same bytes loaded with compile=True (its optimizer, `optimizer_iterations`);
        a model without a compile config, or with one off the allow-list, is refused."""
        if self.compiled_load:
            return self
        if self._compiled is None:
            self._compiled = self._judge.model(self.data, compile=True)
        return self._compiled

    def blocks(self) -> list[dict]:
        return model_facts.blocks(self.course_facts)

    def summary_line(self) -> str:
        return model_facts.summary(self.course_facts)

    def __repr__(self) -> str:
        return f"<{self.class_name} {self.name!r} held by the grader's judge>"


def _limits(judge: Any) -> dict:
    return asdict(judge.rules)
