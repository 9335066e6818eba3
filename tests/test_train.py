"""Tests of helpers/train.py and its command line `course-train` (coursebuild/train.py):
in fast mode they save a model with the contract.

Quality (accuracy and time in full mode) is measured by `course-benchmark-models`, not here.
"""

import keras
import numpy as np
import pytest

from coursebuild import train as train_command
from helpers import data, train


def _check_contract(path) -> None:
    model = keras.models.load_model(path)
    images = np.random.default_rng(0).random((7, 28, 28, 1), dtype=np.float32)
    probs = np.asarray(model.predict(images, verbose=0))
    assert probs.shape == (7, 10)
    assert (probs >= 0).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("COURSE_OFFLINE", "1")


def test_command_in_fast_mode_prints_a_report_and_saves_one_averaging_model(tmp_path, capsys):
    """Two members in one command (one model is the same path with `members` 1)."""
    out = tmp_path / "ensemble.keras"
    # One epoch instead of fast mode's 4 keeps the test short; the book shows the accuracy.
    argv = ["mnist", "--fast", "--epochs", "1", "--members", "2", "--out", str(out)]
    assert train_command.main([*argv, "--verbose", "0"]) == 0
    printed = capsys.readouterr().out
    for words in (
        "Source:",
        "4,000 training images",
        "1,000 held-out test images",
        "ensemble of 2 models, 1 epoch each",
        "Held-out test accuracy:",
        "Time:",
        str(out),
    ):
        assert words in printed
    _check_contract(out)
    assert sum(isinstance(layer, keras.Model) for layer in keras.models.load_model(out).layers) == 2


@pytest.mark.skipif(
    not data.fashion_mnist_available(),
    reason="Fashion-MNIST is not available offline: apt-get install dataset-fashion-mnist, "
    "or run keras.datasets.fashion_mnist.load_data() once with a network",
)
def test_command_trains_on_fashion_mnist(tmp_path):
    report = train.run("fashion", tmp_path / "f.keras", epochs=1, fast=True, verbose=0)
    assert report.train_size == train.FAST_TRAIN_SIZE and report.test_size == train.FAST_TEST_SIZE
    _check_contract(tmp_path / "f.keras")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["mnist", "--members", "0"], "--members"),
        (["mnist", "--epochs", "0"], "--epochs"),
        (["mnist", "--out", "model.h5"], ".keras"),
        (["cifar"], "invalid choice"),
    ],
)
def test_command_rejects_bad_arguments(argv, message, capsys):
    with pytest.raises(SystemExit):
        train_command.main(argv)
    assert message in capsys.readouterr().err


def test_train_reference_rejects_images_without_a_channel_axis():
    with pytest.raises(ValueError, match=r"\(n, 28, 28, 1\)"):
        train.train_reference(np.zeros((4, 28, 28), np.float32), np.zeros(4, int))


def test_full_mode_takes_at_least_min_steps_on_small_data():
    """25 epochs on all 60,000 digits; on the 4,000 offline ones 50, so that the training
    takes as many steps as it needs (0.988 after 25 epochs, 0.991 after 50, measured)."""
    assert train.default_epochs("mnist", 60_000) == 25
    assert train.default_epochs("fashion", 60_000) == 10
    assert train.default_epochs("mnist", 4_000) == 50
    steps = -(-4_000 // train.BATCH_SIZE["mnist"]) * train.default_epochs("mnist", 4_000)
    assert train.MIN_STEPS <= steps < train.MIN_STEPS + 63
