"""Image folders on disk: one folder per class of PNG files, their labels, counts and sizes."""

from __future__ import annotations

import io
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path, PureWindowsPath

import numpy as np

IMAGE_SUFFIX = ".png"


def _check_class_name(name: str) -> str:
    if not name or name in {".", ".."} or any(sep in name for sep in ("/", "\\")):
        raise ValueError(f"expected a class name usable as a folder name, got {name!r}")
    return name


def _write_png(image: np.ndarray, target: Path) -> None:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    content = buffer.getvalue()
    if target.exists() and target.read_bytes() == content:
        return  # A second run finds the same file and leaves it alone.
    # Write next to the target, then rename: a reader never sees half a file.
    part = target.with_name(f".{target.name}.{os.getpid()}.part")
    part.write_bytes(content)
    os.replace(part, target)


def write_image_folders(
    images: np.ndarray,
    labels: Sequence[int] | np.ndarray,
    root: str | os.PathLike,
    class_names: Sequence[str] | None = None,
) -> Path:
    """Write uint8 images (n, height, width) as `root/<class name>/<index>.png`; return `root`.

    `labels` are integers 0..k-1 and `class_names[label]` names the folder (default: the label
    itself, "0".."9" for digits). Running it again with the same arrays leaves the same files, and
    PNG files in the class folders that the arrays do not describe (left by an earlier run with
    other data) are removed, so the folder always holds exactly these images.
    """
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] not in (1, 3)):
        raise ValueError(
            f"expected images of shape (n, height, width) or (n, height, width, 1 or 3), "
            f"got {images.shape}"
        )
    if images.dtype != np.uint8:
        raise ValueError(f"expected uint8 images (0-255), got {images.dtype}")
    if labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(f"expected {len(images)} labels in a 1-D array, got shape {labels.shape}")
    if labels.size and (labels.dtype.kind not in "iu" or labels.min() < 0):
        raise ValueError(f"expected integer labels 0, 1, 2, ..., got {labels[:5]} ...")
    if class_names is None:
        class_names = [str(i) for i in range(int(labels.max()) + 1 if labels.size else 0)]
    class_names = [_check_class_name(str(name)) for name in class_names]
    if labels.size and labels.max() >= len(class_names):
        raise ValueError(f"label {labels.max()} has no class name: got {len(class_names)} names")
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]

    root = Path(root)
    width = max(5, len(str(len(images))))
    wanted = {
        root / class_names[label] / f"{index:0{width}d}{IMAGE_SUFFIX}"
        for index, label in enumerate(labels.tolist())
    }
    for name in class_names:
        (root / name).mkdir(parents=True, exist_ok=True)
        for stale in (root / name).glob(f"*{IMAGE_SUFFIX}"):
            if stale not in wanted:
                stale.unlink()
    for index, (image, label) in enumerate(zip(images, labels.tolist(), strict=True)):
        _write_png(image, root / class_names[label] / f"{index:0{width}d}{IMAGE_SUFFIX}")
    return root


def label_from_path(path: str | os.PathLike) -> str:
    """The class of an image file: the name of the folder it sits in.

    Works whatever wrote the path: '/' (Linux, macOS) and '\\' (Windows) both separate folders,
    at any depth, with or without a drive letter: 'C:\\data\\train\\7\\001.png' -> '7'.
    """
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = text.decode()
    # PureWindowsPath accepts both separators; a plain split on one of them breaks on the other.
    parent = PureWindowsPath(text).parent.name
    if not parent:
        raise ValueError(f"expected a path of the form <class>/<file>, got {text!r}")
    return parent


def list_images(root: str | os.PathLike) -> list[Path]:
    """All PNG files one folder below `root` (`root/<class>/<file>.png`), sorted."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"expected a folder of class folders, got {root}")
    return sorted(root.glob(f"*/*{IMAGE_SUFFIX}"))


def count_per_class(root: str | os.PathLike) -> dict[str, int]:
    """Number of PNG files in each class folder of `root`, empty folders included, by name."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"expected a folder of class folders, got {root}")
    return {
        folder.name: sum(1 for f in folder.iterdir() if f.suffix.lower() == IMAGE_SUFFIX)
        for folder in sorted(root.iterdir())
        if folder.is_dir()
    }


def image_sizes(paths: Iterable[str | os.PathLike]) -> Counter[tuple[int, int]]:
    """How many images have each (height, width); reads only the file headers."""
    from PIL import Image

    sizes: Counter[tuple[int, int]] = Counter()
    for path in paths:
        with Image.open(path) as image:
            width, height = image.size
        sizes[(height, width)] += 1
    return sizes
