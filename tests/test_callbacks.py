"""Tests for helpers/callbacks.py: the EpochTimer callback."""

import time

import keras
import numpy as np
import pytest

from helpers import callbacks


class _Sleep(keras.callbacks.Callback):
    """Make every epoch last at least `seconds`, so that the timer has something to measure."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def on_epoch_end(self, epoch, logs=None) -> None:
        time.sleep(self.seconds)


def _fit(callback_list: list, epochs: int) -> keras.callbacks.History:
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.zeros((8, 2), np.float32)
    return model.fit(x, x[:, :1], epochs=epochs, verbose=0, callbacks=callback_list)


def test_epoch_timer_records_one_time_per_epoch_and_logs_it() -> None:
    timer = callbacks.EpochTimer()
    history = _fit([_Sleep(0.05), timer], epochs=3)
    assert len(timer.times) == 3
    assert all(isinstance(t, float) and t >= 0.05 for t in timer.times)
    np.testing.assert_allclose(history.history["epoch_time"], timer.times)


def test_epoch_timer_starts_afresh_at_every_fit() -> None:
    timer = callbacks.EpochTimer()
    _fit([timer], epochs=3)
    _fit([timer], epochs=2)
    assert len(timer.times) == 2


def test_epoch_timer_refuses_an_epoch_end_without_a_beginning() -> None:
    with pytest.raises(RuntimeError, match="before on_epoch_begin"):
        callbacks.EpochTimer().on_epoch_end(0, {})
