"""Tests of helpers/progress.py: one bar per `fit`, redrawn in place, or one line where logged."""

from __future__ import annotations

import ast
import io
import re
import sys

import keras
import nbformat
import numpy as np
import pytest
from conftest import REPO_ROOT

from helpers import progress

# 40 examples, 20 % kept for validation: 32 in batches of 8 -> 4 batches per epoch.
STEPS, EPOCHS = 4, 3


@pytest.fixture(scope="module")
def data():
    x = np.random.default_rng(0).random((40, 4)).astype(np.float32)
    return x, (x[:, 0] > 0.5).astype(int)


def tiny_model() -> keras.Model:
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def fit(data, mode, epochs=EPOCHS, **options):
    """Fit the tiny model with a ProgressBar writing to a string; return (callback, text)."""
    out = io.StringIO()
    bar = progress.ProgressBar(mode, out, interval=0)
    options.setdefault("validation_split", 0.2)
    callbacks = [bar, *options.pop("callbacks", [])]
    tiny_model().fit(*data, epochs=epochs, batch_size=8, verbose=0, callbacks=callbacks, **options)
    return bar, out.getvalue()


def test_the_bar_redraws_one_line_in_place_and_ends_with_the_final_numbers(data):
    bar, text = fit(data, "bar")
    assert text.count("\n") == 1 and text.endswith("\n"), "one line, ended once"
    updates = text.split("\r")[1:]
    assert len(updates) >= STEPS * EPOCHS, "a redraw after every batch (interval 0)"
    assert updates[0].startswith("epoch 1/3 [") and "1/12 batches" in updates[0]
    final = updates[-1].rstrip()
    assert final == bar.text
    assert final.startswith(f"3/3 epochs [{'=' * progress.BAR_WIDTH}] 12/12 batches in ")
    assert re.search(r": loss \d\.\d{4}, accuracy \d\.\d{4}, val_loss \d\.\d{4}, val_acc", final)


def test_the_log_mode_writes_only_the_final_line(data):
    bar, text = fit(data, "log")
    assert "\r" not in text
    assert text == bar.text + "\n"
    assert bar.text.startswith("3/3 epochs [") and "12/12 batches" in bar.text


class StopAfterSecondEpoch(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        self.model.stop_training = epoch == 1


def test_an_early_stop_and_a_resumed_run_are_said(data):
    bar, _ = fit(data, "log", epochs=5, callbacks=[StopAfterSecondEpoch()])
    assert bar.text.startswith("2/5 epochs (stopped early), 8/20 batches in ")
    assert "[" not in bar.text  # no half-drawn bar left on the page
    bar, _ = fit(data, "log", epochs=4, initial_epoch=2)
    assert bar.text.startswith("4/4 epochs [") and " 8/8 batches" in bar.text


def test_hooks_fed_by_hand_with_an_unknown_number_of_batches():
    out = io.StringIO()
    bar = progress.ProgressBar("bar", out, interval=0)
    bar.set_params({"epochs": 2, "steps": None})
    bar.on_train_begin()
    for epoch in range(2):
        bar.on_epoch_begin(epoch)
        for batch in range(3):
            bar.on_train_batch_end(batch, {"loss": 1.0 / (batch + 1)})
        bar.on_epoch_end(epoch, {"loss": 0.5, "epoch_time": 1.0})
    bar.on_train_end()
    updates = out.getvalue().split("\r")[1:]
    assert "batch 1," in updates[0], "no total while the first epoch runs"
    assert "4/6 batches" in "".join(updates), "the total once the first epoch has run"
    assert bar.text.startswith("2/2 epochs [") and bar.text.endswith(": loss 0.5000")


def test_the_mode_comes_from_the_environment_or_the_stream(monkeypatch):
    monkeypatch.delenv(progress.ENV_VAR, raising=False)
    assert progress.default_mode(io.StringIO()) == "log"

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert progress.default_mode(Terminal()) == "bar"
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert progress.default_mode() == "log", "no kernel, no terminal"
    monkeypatch.setattr(progress, "in_kernel", lambda: True)
    assert progress.default_mode() == "bar"
    assert progress.default_mode(io.StringIO()) == "log", "a kernel counts for its own output only"
    monkeypatch.setenv(progress.ENV_VAR, "log")
    assert progress.default_mode(Terminal()) == "log"
    monkeypatch.setenv(progress.ENV_VAR, "Bar ")
    assert progress.default_mode(io.StringIO()) == "bar"
    monkeypatch.setenv(progress.ENV_VAR, "quiet")
    with pytest.raises(ValueError, match="COURSE_PROGRESS"):
        progress.default_mode()
    with pytest.raises(ValueError, match="mode"):
        progress.ProgressBar("tqdm")


def test_fit_arguments_map_the_course_verbose():
    assert progress.fit_arguments(0) == {"verbose": 0}
    assert progress.fit_arguments(2) == {"verbose": 2}
    shown = progress.fit_arguments(1)
    assert shown["verbose"] == 0 and isinstance(shown["callbacks"][0], progress.ProgressBar)
    with pytest.raises(ValueError):
        progress.fit_arguments(3)


def test_numbers_keep_four_decimals_and_small_ones_their_digits():
    logs = {"val_loss": 0.5, "accuracy": 0.91234, "learning_rate": 2.5e-05, "loss": 0.0, "x": "a"}
    text = "loss 0.0000, accuracy 0.9123, learning_rate 2.5e-05, val_loss 0.5000"
    assert progress.metrics_text(logs) == text


@pytest.mark.parametrize(
    "seconds, text", [(0.42, "0.4 s"), (42, "42 s"), (210, "3.5 min"), (3900, "1 h 05 min")]
)
def test_durations_are_short(seconds, text):
    assert progress.duration(seconds) == text


@pytest.mark.slow
def test_a_notebook_stores_only_the_last_line_of_the_bar(tmp_path):
    """In a real kernel, as papermill, the book's build and nbgrader run one: one display output
    that the bar updated in place, holding the final line; no carriage returns, no stdout."""
    from nbclient import NotebookClient

    code = (
        "import os\nos.environ.pop('COURSE_PROGRESS', None)\n"
        "import keras, numpy as np\nfrom helpers import progress\n"
        "m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation='softmax')])\n"
        "m.compile('adam', 'sparse_categorical_crossentropy')\n"
        "bar = progress.ProgressBar(interval=0)\n"
        "m.fit(np.zeros((64, 4)), np.zeros(64), batch_size=8, epochs=2, verbose=0, callbacks=[bar])"
        "\nbar._mode, bar.text"
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    client = NotebookClient(
        nb, timeout=300, kernel_name="cnn-course", resources={"metadata": {"path": str(REPO_ROOT)}}
    )
    client.execute()
    outputs = nb.cells[0].outputs
    shown = [o for o in outputs if o.output_type == "display_data"]
    result = [o for o in outputs if o.output_type == "execute_result"]
    assert not [o for o in outputs if o.output_type == "stream"], outputs
    assert len(shown) == 1 and len(result) == 1, outputs
    mode, text = ast.literal_eval(result[0].data["text/plain"])
    assert mode == "bar"
    assert shown[0].data["text/plain"] == text
    assert text.startswith("2/2 epochs [") and "16/16 batches" in text and "\r" not in text
