"""Tests for helpers/folders.py: writing, listing, labelling, counting and sizing image folders."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import folders


def _digits(n: int = 6) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, 5, 4), dtype=np.uint8)
    labels = np.arange(n) % 3
    return images, labels


def test_write_image_folders_puts_each_image_in_its_class_folder(tmp_path: Path) -> None:
    images, labels = _digits()
    root = folders.write_image_folders(images, labels, tmp_path / "train")
    assert root == tmp_path / "train"
    assert folders.count_per_class(root) == {"0": 2, "1": 2, "2": 2}
    for index, (image, label) in enumerate(zip(images, labels, strict=True)):
        path = root / str(label) / f"{index:05d}.png"
        np.testing.assert_array_equal(np.asarray(Image.open(path)), image)


def test_write_image_folders_uses_class_names_for_folders(tmp_path: Path) -> None:
    images, labels = _digits()
    folders.write_image_folders(images, labels, tmp_path, class_names=["cat", "dog", "bird"])
    assert folders.count_per_class(tmp_path) == {"bird": 2, "cat": 2, "dog": 2}


def test_write_image_folders_twice_leaves_the_same_files(tmp_path: Path) -> None:
    images, labels = _digits()
    folders.write_image_folders(images, labels, tmp_path)
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in folders.list_images(tmp_path)}
    folders.write_image_folders(images, labels, tmp_path)
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in folders.list_images(tmp_path)}
    assert before == after  # same bytes, and not even rewritten
    assert not list(tmp_path.rglob("*.part"))


def test_write_image_folders_removes_images_of_an_earlier_larger_run(tmp_path: Path) -> None:
    images, labels = _digits(9)
    folders.write_image_folders(images, labels, tmp_path)
    folders.write_image_folders(images[:3], labels[:3], tmp_path)
    assert folders.count_per_class(tmp_path) == {"0": 1, "1": 1, "2": 1}


def test_write_image_folders_accepts_a_channel_axis(tmp_path: Path) -> None:
    images, labels = _digits()
    folders.write_image_folders(images[..., np.newaxis], labels, tmp_path)
    assert sum(folders.count_per_class(tmp_path).values()) == len(images)


@pytest.mark.parametrize(
    ("images", "labels", "message"),
    [
        (np.zeros((2, 3), np.uint8), [0, 1], "expected images of shape"),
        (np.zeros((2, 3, 3), np.float32), [0, 1], "expected uint8"),
        (np.zeros((2, 3, 3), np.uint8), [0], "expected 2 labels"),
        (np.zeros((2, 3, 3), np.uint8), [0.0, 1.0], "integer labels"),
        (np.zeros((2, 3, 3), np.uint8), [0, -1], "integer labels"),
    ],
)
def test_write_image_folders_rejects_bad_input(tmp_path, images, labels, message) -> None:
    with pytest.raises(ValueError, match=message):
        folders.write_image_folders(images, labels, tmp_path)


def test_write_image_folders_needs_a_name_for_every_label(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="has no class name"):
        folders.write_image_folders(np.zeros((2, 3, 3), np.uint8), [0, 2], tmp_path, ["a", "b"])
    with pytest.raises(ValueError, match="folder name"):
        folders.write_image_folders(np.zeros((1, 3, 3), np.uint8), [0], tmp_path, ["a/b"])


@pytest.mark.parametrize(
    ("path", "label"),
    [
        ("digits/training/7/00042.png", "7"),
        ("C:\\data\\training\\3\\00007.png", "3"),
        ("/home/ana/cats/whiskers.png", "cats"),
        ("relative\\dogs\\rex.png", "dogs"),
        ("a/b\\mixed/bird/1.png", "bird"),
        (Path("x") / "y" / "5" / "01.png", "5"),
        (b"set/9/img.png", "9"),
    ],
)
def test_label_from_path_reads_the_parent_folder_with_either_separator(path, label) -> None:
    assert folders.label_from_path(path) == label


def test_label_from_path_rejects_a_bare_file_name() -> None:
    with pytest.raises(ValueError, match="expected a path of the form"):
        folders.label_from_path("lonely.png")


def test_count_per_class_counts_png_files_and_keeps_empty_classes(tmp_path: Path) -> None:
    for name in ["a/1.png", "a/2.png", "b/9.png", "b/readme.txt", "stray.png"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "c").mkdir()
    assert folders.count_per_class(tmp_path) == {"a": 2, "b": 1, "c": 0}
    assert [p.name for p in folders.list_images(tmp_path)] == ["1.png", "2.png", "9.png"]


def test_counting_and_listing_a_missing_folder_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="expected a folder"):
        folders.count_per_class(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="expected a folder"):
        folders.list_images(tmp_path / "missing")


def test_image_sizes_counts_height_and_width(tmp_path: Path) -> None:
    for i, (height, width) in enumerate([(28, 28), (28, 28), (20, 13)]):
        Image.fromarray(np.zeros((height, width), np.uint8)).save(tmp_path / f"{i}.png")
    sizes = folders.image_sizes(sorted(tmp_path.glob("*.png")))
    assert sizes == {(28, 28): 2, (20, 13): 1}
