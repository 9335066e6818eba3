"""Course-wide settings: fast or full mode, offline mode, seeding, cache folder and quiet logs."""

from __future__ import annotations

import logging
import os
import sys
import warnings
from pathlib import Path

# Seconds to wait for a server before a download gives up and the code falls back to offline data.
NETWORK_TIMEOUT_S = 5.0

_TRUE_WORDS = {"1", "true", "yes", "on"}
_FALSE_WORDS = {"0", "false", "no", "off", ""}


def env_flag(name: str, default: bool = False) -> bool:
    """Read a yes/no environment variable such as COURSE_FAST=1; raise on anything else."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise ValueError(f"{name}={raw!r} is not a yes/no value: use 1 or 0.")


def fast_mode() -> bool:
    """Whether notebooks should use their small, CPU-sized settings (COURSE_FAST=1)."""
    return env_flag("COURSE_FAST", default=False)


def offline_mode() -> bool:
    """Whether every network attempt should be skipped (COURSE_OFFLINE=1)."""
    return env_flag("COURSE_OFFLINE", default=False)


def cache_dir() -> Path:
    """The folder for files the course writes (image folders, checkpoints): never the repository."""
    root = os.environ.get("COURSE_CACHE_DIR") or Path.home() / ".cache" / "cnn-course"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def shown_path(path: str | os.PathLike) -> str:
    """A path as a reader should see it: `~/...` under the home folder, never the machine's."""
    path, home = Path(path).expanduser(), Path.home()
    try:
        return str(Path("~") / path.relative_to(home))
    except ValueError:
        return str(path)


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow at once, so that a run can be repeated exactly."""
    import keras

    keras.utils.set_random_seed(int(seed))


def _show_warning_on_stdout(message, category, filename, lineno, file=None, line=None) -> None:
    sys.stdout.write(warnings.formatwarning(message, category, filename, lineno, line))


def quiet_logs() -> None:
    """Keep library chatter off stderr: call it before `import tensorflow`.

    TensorFlow's C++ start-up lines and Python warnings go to stderr, and nbgrader scores a test
    cell zero when anything reaches stderr. This imports TensorFlow once with stderr silenced
    (its start-up lines ignore TF_CPP_MIN_LOG_LEVEL), keeps its later C++ logs to real errors,
    and shows Python warnings on stdout: still visible, no longer costing points. Exceptions
    still fail cells as usual.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    warnings.showwarning = _show_warning_on_stdout
    if "tensorflow" not in sys.modules:
        sys.stderr.flush()
        saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(devnull)
            os.close(saved)
    import absl.logging

    absl.logging.set_verbosity("error")
    # TensorFlow's Python warnings ("5 out of the last 316 calls ... triggered tf.function
    # retracing") go to stderr through its own logger: errors only.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
