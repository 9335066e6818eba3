"""helpers.glue: values reach myst-nb's glue and are kept when myst-nb is missing."""

from __future__ import annotations

import builtins

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
