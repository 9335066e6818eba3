"""helpers.glue: values reach myst-nb's glue and are kept when myst-nb is missing."""

from __future__ import annotations

import builtins

import numpy as np

from helpers import glue


def test_glue_keeps_the_value_and_returns_it():
    assert glue.glue("test_accuracy", 0.9650) == 0.9650
    assert glue.GLUED["test_accuracy"] == 0.9650


def test_glue_without_myst_nb_still_returns_the_value(monkeypatch):
    real_import = builtins.__import__

    def no_myst(name, *args, **kwargs):
        if name.startswith("myst_nb"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_myst)
    assert glue.glue("epochs", 8) == 8
    assert glue.GLUED["epochs"] == 8


def test_numpy_scalars_are_glued_as_python_numbers_the_book_can_format():
    # NumPy 2's repr, np.float64(0.25), is what myst-nb would try to read as a number.
    assert type(glue.glue("share", np.float64(0.25))) is float
    assert repr(glue.GLUED["share"]) == "0.25"
    assert type(glue.glue("count", np.int64(14))) is int
    assert glue.glue("rows", "12 16 9") == "12 16 9"
