"""Assertions for graded tests whose failure says what was expected, what came, and a hint."""

from __future__ import annotations

from typing import Any

import numpy as np


class CheckFailed(AssertionError):
    """A graded check failed; the message says what was expected, what came and a hint."""


def _fail(message: str, hint: str) -> None:
    raise CheckFailed(message + (f"\nHint: {hint}" if hint else ""))


def as_numbers(value: Any, what: str = "your answer", hint: str = "") -> np.ndarray:
    """Turn a number, list, NumPy array or tensor into a plain numeric array, or fail clearly.

    Objects that are not numbers (None, strings, objects with a custom `__eq__`) are refused,
    so that nothing but real values can pass a comparison.
    """
    if value is None:
        _fail(f"{what} is None: did the function forget to `return`?", hint)
    if hasattr(value, "numpy") and callable(value.numpy):
        value = value.numpy()
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:
        _fail(f"{what} cannot be read as numbers ({error}).", hint)
    if array.dtype.kind not in "biuf":
        _fail(f"{what} should hold numbers, got {type(value).__name__} of {array.dtype}.", hint)
    return array


def check_shape(actual: Any, expected: tuple[int, ...], hint: str = "", what: str = "") -> None:
    """Fail unless `actual` (an array, a tensor or a shape tuple) has the shape `expected`."""
    label = what or "the shape"
    # A tuple of ints is a shape; a list of ints is an answer (e.g. predicted labels).
    if isinstance(actual, tuple) and all(isinstance(n, int | np.integer) for n in actual):
        shape = tuple(int(n) for n in actual)
    else:
        shape = tuple(as_numbers(actual, what or "your answer", hint).shape)
    if shape != tuple(expected):
        _fail(f"Expected {label} {tuple(expected)}, got {shape}.", hint)


def check_close(
    actual: Any,
    expected: Any,
    hint: str = "",
    atol: float = 1e-5,
    rtol: float = 1e-5,
    what: str = "your answer",
) -> None:
    """Fail unless `actual` has the shape of `expected` and every value is close to it."""
    expected = np.asarray(expected, dtype=float)
    values = as_numbers(actual, what, hint)
    if values.shape != expected.shape:
        _fail(f"Expected {what} of shape {expected.shape}, got shape {values.shape}.", hint)
    close = np.isclose(values.astype(float), expected, atol=atol, rtol=rtol)
    if not close.all():
        bad = tuple(int(i) for i in np.argwhere(~close)[0])
        where = f" at index {bad}" if bad else ""
        detail = (
            f"\nExpected:\n{np.round(expected, 4)}\nGot:\n{np.round(values, 4)}"
            if expected.size <= 25
            else ""
        )
        _fail(
            f"{what} differs{where}: expected {expected[bad]:.6g}, got {values[bad]:.6g} "
            f"({int((~close).sum())} of {close.size} values wrong).{detail}",
            hint,
        )


def check_equal(actual: Any, expected: Any, hint: str = "", what: str = "your answer") -> None:
    """Fail unless `actual` equals `expected` exactly: numbers, arrays or strings."""
    if isinstance(expected, str):
        if type(actual) is not str or actual != expected:
            _fail(f"Expected {what} to be {expected!r}, got {actual!r}.", hint)
        return
    values = as_numbers(actual, what, hint)
    expected = np.asarray(expected)
    if values.shape != expected.shape or not np.array_equal(values, expected):
        _fail(f"Expected {what} to be {expected.tolist()!r}, got {values.tolist()!r}.", hint)


def check_true(condition: bool, message: str, hint: str = "") -> None:
    """Fail with `message` unless `condition` is the boolean True (not merely truthy)."""
    if not (isinstance(condition, bool | np.bool_) and bool(condition)):
        _fail(message, hint)


def _short_failure(shell, etype, value, tb, tb_offset=None):
    """IPython's handler for CheckFailed: the message and hint, without traceback frames.

    It still reports an error (the cell stops, and nbgrader scores the part zero)."""
    shell._showtraceback(etype, value, [f"\x1b[0;31m{etype.__name__}\x1b[0m: {value}"])


def show_failures_briefly() -> bool:
    """In IPython or Jupyter, show a failed check as its message and hint only (no frames).

    Called when this module is imported, so the test cells of every graded notebook teach
    without a traceback through this file. Returns whether a shell was there to change.
    """
    try:
        shell = get_ipython()  # noqa: F821  (defined by IPython in a kernel)
    except NameError:
        return False
    shell.set_custom_exc((CheckFailed,), _short_failure)
    return True


show_failures_briefly()
