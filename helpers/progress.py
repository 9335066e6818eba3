"""One progress bar per `fit`, redrawn in place in JupyterLab, and one line where it is stored.

    model.fit(x, y, epochs=10, verbose=0, callbacks=[progress.ProgressBar()])

`verbose=0` turns Keras's own per-epoch bars off; this callback draws **one** bar for the whole
run (every epoch and batch) and redraws it in place, at most four times a second. When training
ends the bar becomes one line: the epochs and batches run, the time, the last epoch's numbers.

In a notebook kernel the bar is one display output that each redraw updates (IPython's
`display_id`), so JupyterLab shows it in place and a notebook executed by papermill or the
book's build stores only the final line. In a terminal it is redrawn with a carriage return.
Output piped into a file, or COURSE_PROGRESS=log, gets the final line only; COURSE_PROGRESS=bar
forces the bar.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

import keras

MODES = ("bar", "log")
ENV_VAR = "COURSE_PROGRESS"
BAR_WIDTH = 20  # characters between the brackets
MIN_INTERVAL_S = 0.25  # at most four redraws a second: the notebook's output stays light


def in_kernel() -> bool:
    """Whether this runs in a notebook kernel (IPython with a kernel: JupyterLab, papermill)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


def default_mode(stream: TextIO | None = None) -> str:
    """The mode, "bar" or "log": COURSE_PROGRESS if set, else "bar" in a kernel or a terminal.

    `stream` is where the text would go (default: sys.stdout); a kernel counts only for it.
    """
    raw = os.environ.get(ENV_VAR, "").strip().lower()
    if raw:
        if raw not in MODES:
            raise ValueError(f"{ENV_VAR}={raw!r}: use 'bar' or 'log'")
        return raw
    if stream is None and in_kernel():
        return "bar"
    stream = sys.stdout if stream is None else stream
    return "bar" if getattr(stream, "isatty", lambda: False)() else "log"


def duration(seconds: float) -> str:
    """A short duration: '4.2 s', '42 s', '3.5 min', '1 h 05 min'."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes:02d} min"


def _order(name: str) -> tuple[bool, bool, str]:
    """Training numbers before validation ones, the loss first in each."""
    validation = name.startswith("val_")
    return validation, name.removeprefix("val_") != "loss", name


def metrics_text(logs: dict | None) -> str:
    """'loss 0.2345, accuracy 0.9312, val_loss ...': four decimals, small ones as 2.5e-05."""
    items = []
    for name, value in sorted((logs or {}).items(), key=lambda item: _order(item[0])):
        try:
            value = float(value)
        except (TypeError, ValueError):
            continue  # not a number (Keras logs only numbers, but a callback may add others)
        small = value != 0 and abs(value) < 1e-3  # a learning rate, say
        items.append(f"{name} {value:.1e}" if small else f"{name} {value:.4f}")
    return ", ".join(items)


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """'[=======>            ]' for a fraction between 0 and 1."""
    fraction = min(max(fraction, 0.0), 1.0)
    done = int(fraction * width)
    if done == width:
        return "[" + "=" * width + "]"
    return "[" + "=" * done + ">" + " " * (width - done - 1) + "]"


def fit_arguments(verbose: int) -> dict:
    """`fit`'s arguments for a course `verbose`: 0 silent, 1 this bar, 2 Keras's line per epoch."""
    if verbose not in (0, 1, 2):
        raise ValueError(f"expected verbose 0, 1 or 2, got {verbose!r}")
    if verbose == 1:
        return {"verbose": 0, "callbacks": [ProgressBar()]}
    return {"verbose": verbose}


class ProgressBar(keras.callbacks.Callback):
    """One bar per `fit` over all its epochs and batches; one final line when training ends.

    mode: "bar" (redrawn in place) or "log" (the final line only); None reads the environment
    when training starts (`default_mode`). stream: where to write; by default a display output
    in a notebook kernel, else sys.stdout. After `fit`, `text` holds the final line.
    """

    def __init__(
        self,
        mode: str | None = None,
        stream: TextIO | None = None,
        width: int = BAR_WIDTH,
        interval: float = MIN_INTERVAL_S,
    ) -> None:
        super().__init__()
        if mode is not None and mode not in MODES:
            raise ValueError(f"mode must be 'bar', 'log' or None, got {mode!r}")
        self.mode, self.stream, self.width, self.interval = mode, stream, width, interval
        self.text = ""
        self._reset()

    def _reset(self) -> None:
        self._mode = self.mode or "log"
        self._epochs = self._steps = None
        self._first_epoch = self._epoch = None
        self._done = self._batch = 0
        self._logs: dict = {}
        self._start = self._last_draw = 0.0
        self._drawn = 0  # length of the line on screen, to blank what a shorter one leaves
        self._display = None  # IPython's handle of the display output, in a kernel

    # What fit calls.
    def on_train_begin(self, logs: dict | None = None) -> None:
        self._reset()
        self._mode = self.mode or default_mode(self.stream)
        self._epochs = int(self.params.get("epochs") or 1)
        self._steps = self.params.get("steps")
        self._start = time.perf_counter()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if self._first_epoch is None:
            self._first_epoch = epoch
        self._epoch, self._batch = epoch, 0

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._batch, self._done = batch + 1, self._done + 1
        self._logs = dict(logs or {})
        now = time.perf_counter()
        if self._mode == "bar" and (now - self._last_draw >= self.interval or self._done == 1):
            self._draw(self._line())
            self._last_draw = now

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self._steps is None:  # unknown until the first epoch has run
            self._steps = self._batch
        self._logs = {k: v for k, v in (logs or {}).items() if k != "epoch_time"}
        if self._mode == "bar":
            self._draw(self._line())

    def on_train_end(self, logs: dict | None = None) -> None:
        self.text = self._final_line()
        if self._mode == "log":
            self._write(self.text + "\n")
        elif self._draw(self.text) == "stream":
            self._write("\n")

    # The text.
    def _total(self) -> int | None:
        if self._steps is None or self._first_epoch is None:
            return None
        return (self._epochs - self._first_epoch) * int(self._steps)

    def _line(self) -> str:
        """The bar while training: epoch, bar, batches, time spent and left, the numbers."""
        total, elapsed = self._total(), time.perf_counter() - self._start
        epoch = f"epoch {(self._epoch or 0) + 1}/{self._epochs}"
        if total:
            left = elapsed / self._done * (total - self._done) if self._done else 0.0
            where = f"{bar(self._done / total, self.width)} {self._done:,}/{total:,} batches"
            timing = f"{duration(elapsed)}, about {duration(left)} left"
        else:
            where, timing = f"batch {self._done:,}", duration(elapsed)
        numbers = metrics_text(self._logs)
        return f"{epoch} {where}, {timing}" + (f": {numbers}" if numbers else "")

    def _final_line(self) -> str:
        """'10/10 epochs [====] 540/540 batches in 32 s: loss ..., val_accuracy ...'.

        A run that stopped early (a callback set `stop_training`) ends without a bar, which
        would stay half drawn: '3/10 epochs (stopped early), 162/540 batches in 9.6 s: ...'.
        """
        ran = 0 if self._epoch is None else self._epoch + 1
        total, elapsed = self._total(), time.perf_counter() - self._start
        batches = f"{self._done:,}/{total:,}" if total else f"{self._done:,}"
        if total and self._done < total:
            where = f" (stopped early), {batches}"
        else:
            where = " " + (bar(1.0, self.width) + " " if total else "") + batches
        numbers = metrics_text(self._logs)
        line = f"{ran}/{self._epochs} epochs{where} batches in {duration(elapsed)}"
        return line + (f": {numbers}" if numbers else "")

    # The output.
    def _out(self) -> TextIO:
        return self.stream if self.stream is not None else sys.stdout

    def _draw(self, line: str) -> str:
        """Show `line` in place of the last one; say how ("display" or "stream")."""
        if self.stream is None and in_kernel():
            from IPython.display import display

            if self._display is None:
                self._display = display({"text/plain": line}, raw=True, display_id=True)
            else:
                self._display.update({"text/plain": line}, raw=True)
            return "display"
        # A carriage return, the line, and blanks over what a longer old line leaves.
        self._write("\r" + line + " " * max(self._drawn - len(line), 0))
        self._drawn = len(line)
        return "stream"

    def _write(self, text: str) -> None:
        out = self._out()
        out.write(text)
        out.flush()
