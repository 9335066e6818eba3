"""A published notebook's first cell in Colab: install only what Colab lacks, never a second TF.

Colab comes with TensorFlow, Keras, NumPy, pandas, Matplotlib, scikit-image, ...: its own
versions stay. `install_missing()` walks from the packages the lessons import (RUNTIME) down
requirements.txt's dependency notes (uv's `# via` lines), and pip installs, without following
dependencies, the pinned version of each package that is not installed at all, and of what it
needs that is missing too. TensorFlow counts as installed in any of its builds (tensorflow,
tensorflow-cpu, ...), so tf-keras's requirement of `tensorflow` never brings a second one.

Standard library only, plus the `packaging` that pip carries, for the environment markers.
"""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

REQUIREMENTS = Path(__file__).resolve().parent.parent / "requirements.txt"
# What the lessons, the exercises and `helpers` import, as distributions.
RUNTIME = (
    "tensorflow-cpu",
    "tensorflow",
    "keras",
    "tensorflow-hub",
    "numpy",
    "scipy",
    "matplotlib",
    "pandas",
    "mlxtend",
    "scikit-image",
    "pillow",
    "mtcnn",
    "lz4",
    "nbformat",
    "nbclient",
)
TENSORFLOWS = {
    "tensorflow",
    "tensorflow-cpu",
    "tensorflow-intel",
    "tensorflow-macos",
    "tf-nightly",
    "tf-nightly-cpu",
}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+?)\s*(?:;\s*(.*))?$")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _marker_holds(marker: str) -> bool:
    if not marker:
        return True
    try:
        from packaging.markers import Marker
    except ImportError:  # a bare venv: pip's own copy
        from pip._vendor.packaging.markers import Marker
    return Marker(marker).evaluate()


def read_lock(text: str, holds=_marker_holds) -> tuple[dict[str, str], dict[str, set[str]]]:
    """requirements.txt (uv's export): {name: version} for this machine, {name: what it needs}."""
    pins: dict[str, str] = {}
    needs: dict[str, set[str]] = {}
    current = None
    for line in text.splitlines():
        match = PIN.match(line)
        if match:
            name = _canonical(match[1])
            current = name if holds(match[3] or "") else None
            if current:
                pins[name] = match[2]
            continue
        note = line.strip().lstrip("#").strip()
        if current and note and note != "via":
            for parent in note.removeprefix("via ").split(","):  # "# via a" or "#   a"
                needs.setdefault(_canonical(parent.strip()), set()).add(current)
    return pins, needs


def installed() -> set[str]:
    """Every distribution this Python has, by canonical name."""
    return {_canonical(dist.metadata["Name"] or "") for dist in metadata.distributions()}


def missing(text: str, have: set[str], holds=_marker_holds) -> list[str]:
    """The pins to install: RUNTIME's packages that are not installed, and theirs, recursively.

    Any TensorFlow installed (`have`) stands for both tensorflow and tensorflow-cpu."""
    pins, needs = read_lock(text, holds)
    have = set(have) | ({"tensorflow", "tensorflow-cpu"} if set(have) & TENSORFLOWS else set())
    wanted, queue = [], [name for name in RUNTIME if name in pins]
    while queue:
        name = queue.pop(0)
        if name in have or f"{name}=={pins[name]}" in wanted:
            continue
        wanted.append(f"{name}=={pins[name]}")
        queue += sorted(needs.get(name, set()) & pins.keys())
    return sorted(wanted)


def install_missing(requirements: Path = REQUIREMENTS) -> list[str]:
    """pip install --no-deps what `missing` names; return it (empty: nothing was missing)."""
    wanted = missing(requirements.read_text(), installed())
    if wanted:
        print(f"Installing what this Python lacks: {' '.join(wanted)}", flush=True)
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", *wanted]
        subprocess.run(command, check=True)
    return wanted
