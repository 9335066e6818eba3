"""Keras callbacks shared by the chapters: a timer that records the seconds of every epoch."""

from __future__ import annotations

import time

import keras


class EpochTimer(keras.callbacks.Callback):
    """Record how many seconds each epoch of `fit` takes, in `times` (one float per epoch).

    The list starts empty at every `fit`, and the time is also put into the epoch's logs as
    `epoch_time`, so that `History`, `CSVLogger` and progress bars show it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []
        self._start: float | None = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.times = []

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self._start is None:
            raise RuntimeError("on_epoch_end came before on_epoch_begin")
        seconds = time.perf_counter() - self._start
        self.times.append(seconds)
        if logs is not None:
            logs["epoch_time"] = seconds
