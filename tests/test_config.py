"""helpers/config.py: yes/no flags, fast and offline mode, seeding, cache folder, quiet logs."""

import os
import subprocess
import sys

import numpy as np
import pytest

from helpers import config


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("yes", True), ("0", False), ("", False)]
)
def test_env_flag_reads_yes_and_no(monkeypatch, raw, expected):
    monkeypatch.setenv("COURSE_SOMETHING", raw)
    assert config.env_flag("COURSE_SOMETHING") is expected


def test_env_flag_uses_default_when_unset(monkeypatch):
    monkeypatch.delenv("COURSE_SOMETHING", raising=False)
    assert config.env_flag("COURSE_SOMETHING", default=True) is True


def test_env_flag_rejects_other_words(monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "maybe")
    with pytest.raises(ValueError, match="COURSE_FAST='maybe' is not a yes/no value"):
        config.fast_mode()


def test_fast_and_offline_modes_follow_the_environment(monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "0")
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    assert config.fast_mode() is False
    assert config.offline_mode() is True


def test_set_seed_makes_numpy_and_tensorflow_repeat():
    import tensorflow as tf

    config.set_seed(7)
    first = np.random.rand(3), tf.random.uniform((3,)).numpy()
    config.set_seed(7)
    second = np.random.rand(3), tf.random.uniform((3,)).numpy()
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


def test_cache_dir_is_created_where_asked(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    assert config.cache_dir() == tmp_path / "cache"
    assert (tmp_path / "cache").is_dir()


def test_quiet_logs_keeps_tensorflow_and_warnings_off_stderr():
    code = (
        "from helpers import config; config.quiet_logs()\n"
        "import warnings, keras, tensorflow as tf\n"
        "warnings.warn('visible on stdout')\n"
        "keras.Sequential([keras.layers.Conv2D(1, 2, input_shape=(4, 4, 1))])\n"
        "tf.nn.conv2d(tf.ones((1, 3, 3, 1)), tf.ones((2, 2, 1, 1)), 1, 'VALID')\n"
        "tf.get_logger().warning('5 out of the last 5 calls triggered tf.function retracing')\n"
    )
    # Without TF_CPP_MIN_LOG_LEVEL from outside: quiet_logs() alone must do it.
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "visible on stdout" in result.stdout
    assert "input_shape" in result.stdout


def test_shown_path_hides_the_home_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert config.shown_path(tmp_path / ".cache" / "cnn-course") == "~/.cache/cnn-course"
    assert config.shown_path("~/x") == "~/x"
    assert config.shown_path("/usr/share/datasets") == "/usr/share/datasets"
    assert str(tmp_path) not in config.shown_path(tmp_path / "a" / "b")
