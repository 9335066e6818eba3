"""Load a detector with `hub.load`: the course's committed digit detector, a folder or a handle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from helpers import config

# Real detectors on TF-Hub (on Kaggle Models since November 2023); both need a network once.
FASTER_RCNN_HANDLE = "https://tfhub.dev/google/faster_rcnn/openimages_v4/inception_resnet_v2/1"
SSD_MOBILENET_HANDLE = "https://tfhub.dev/google/openimages_v4/ssd/mobilenet_v2/1"
# The course's own small digit detector, committed to the repository.
DIGIT_DETECTOR_DIR = Path(__file__).resolve().parent.parent / "models_data" / "digit_detector"
# The command that (re)builds it, from the repository root; `make detector` runs it.
BUILD_COMMAND = "course-build-detector --out helpers/models_data/digit_detector --benchmark"
OUTPUT_KEYS = (
    "detection_boxes",
    "detection_scores",
    "detection_class_entities",
    "detection_class_names",
    "detection_class_labels",
)


def hub_reachable(handle: str, timeout: float = config.NETWORK_TIMEOUT_S) -> bool:
    """Whether a TF-Hub handle's server answers within `timeout` seconds (False when offline).

    tfhub.dev redirects to Kaggle Models; a machine without that network would otherwise wait
    for TensorFlow Hub's own, much longer, timeouts.
    """
    import urllib.error
    import urllib.request

    if config.offline_mode() or "://" not in str(handle):
        return False
    try:
        with urllib.request.urlopen(str(handle) + "?tf-hub-format=compressed", timeout=timeout):
            return True
    except (urllib.error.URLError, OSError, TimeoutError, ValueError):
        return False


class DetectorMissingError(FileNotFoundError):
    """The course's digit detector is not where it should be (it is committed, so rarely)."""


def default_detector_dir() -> Path:
    """The folder of the course's committed digit detector; raises if it is missing.

    Nothing is trained here: building the detector takes minutes and is the job of the build
    command named in the error (`BUILD_COMMAND`).
    """
    folder = DIGIT_DETECTOR_DIR
    if not (folder / "saved_model.pb").exists():
        raise DetectorMissingError(
            f"the course's digit detector is missing: no saved_model.pb in {folder}. Restore it "
            f"with `git checkout -- helpers/models_data/digit_detector`, or rebuild it from the "
            f"repository root with `{BUILD_COMMAND}` (or `make detector`; 5-16 minutes on a CPU)."
        )
    return folder


def load_detector(handle: str | Path | None = None) -> Any:
    """Load a detector with `hub.load`: the course's digit detector, a folder or a TF-Hub handle.

    `handle=None` gives the offline digit detector. A URL such as `SSD_MOBILENET_HANDLE` is
    downloaded by tensorflow_hub (and cached by it); with COURSE_OFFLINE=1 it is refused at once.
    Either way, `load_detector(...).signatures["default"]` takes a float32 batch (1, H, W, 3) in
    [0, 1] and returns a dict with the keys in `OUTPUT_KEYS`.
    """
    import tensorflow_hub as hub

    if handle is None:
        return hub.load(str(default_detector_dir()))
    text = str(handle)
    if "://" in text:
        if config.offline_mode():
            raise RuntimeError(
                f"COURSE_OFFLINE=1, so the TF-Hub handle {text} cannot be downloaded: "
                "unset COURSE_OFFLINE on a machine with a network, or use handle=None."
            )
        return hub.load(text)
    if not (Path(text) / "saved_model.pb").exists():
        raise FileNotFoundError(f"expected a SavedModel folder or a TF-Hub URL, got {text!r}")
    return hub.load(text)
