"""The course's environment, `.venv`: where its programs are on each system, and how it is made.

Standard library only, and Python 3.8 syntax, so that any `python3` can at least say what is
missing. `make setup` runs `setup()` through `python -m course setup`, as Windows does.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements.txt"  # the lock's export: every package pinned, with markers
INPUTS = (REQUIREMENTS, ROOT / "pyproject.toml")  # a newer one of these means: install again
KERNEL_NAME, KERNEL_DISPLAY = "cnn-course", "CNN course"
OLDEST, NEWEST = (3, 11, 2), (3, 13)  # Debian 12's Python 3.11.2 up to Python 3.13
# (sys.platform, platform.machine()) that TensorFlow 2.21 has wheels for, as uv.lock lists them.
SUPPORTED = {
    ("linux", "x86_64"): "Linux x86-64",
    ("linux", "aarch64"): "Linux aarch64",
    ("darwin", "arm64"): "macOS on Apple silicon",
    ("win32", "AMD64"): "Windows x86-64",
}


class Venv:
    """A virtual environment's layout: `bin/` on POSIX, `Scripts\\` and `.exe` on Windows."""

    def __init__(self, path: Path, windows: bool | None = None) -> None:
        self.path = Path(path)
        self.windows = os.name == "nt" if windows is None else windows

    @property
    def bin(self) -> Path:
        return self.path / ("Scripts" if self.windows else "bin")

    @property
    def python(self) -> Path:
        return self.script("python")

    @property
    def stamp(self) -> Path:
        return self.path / ".installed"

    @property
    def kernel(self) -> Path:
        return self.path / "share" / "jupyter" / "kernels" / KERNEL_NAME / "kernel.json"

    def kernel_current(self) -> bool:
        """The kernel "CNN course" was installed after the packages were (what make checks)."""
        stamp = self.stamp.stat().st_mtime if self.stamp.exists() else float("inf")
        return self.kernel.exists() and self.kernel.stat().st_mtime >= stamp

    def script(self, name: str) -> Path:
        """A console script of the environment, e.g. jupyter-book (jupyter-book.exe)."""
        return self.bin / (f"{name}.exe" if self.windows else name)

    def environ(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """The environment a command runs with: the venv's programs first on PATH (nbgrader
        runs `alembic` by name, Jupyter finds the kernel's Python there)."""
        env = dict(os.environ if base is None else base)
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(self.path)
        return env

    def installed(self, inputs: tuple[Path, ...] = INPUTS) -> bool:
        """True when the stamp is newer than every file the install reads (what make checks)."""
        if not (self.python.exists() and self.stamp.exists()):
            return False
        made = self.stamp.stat().st_mtime
        return all(not path.exists() or path.stat().st_mtime <= made for path in inputs)


VENV = Venv(Path(os.environ.get("COURSE_VENV") or ROOT / ".venv"))


def unsupported(
    version: tuple[int, ...] | None = None, system: str | None = None, machine: str | None = None
) -> str | None:
    """Why this Python on this machine cannot run the course (None: it can)."""
    version = tuple(sys.version_info[:3]) if version is None else tuple(version)
    system = sys.platform if system is None else system
    machine = platform.machine() if machine is None else machine
    shown = ".".join(map(str, version))
    if not OLDEST <= version[:3] or version[:2] > NEWEST:
        return (
            f"Python {shown} cannot run the course: it needs Python 3.11 (3.11.2 or newer), "
            "3.12 or 3.13. Run this command with one of those, e.g. `python3.11 -m course "
            "setup`, `py -3.11 -m course setup` on Windows, or `make setup PYTHON=python3.12`."
        )
    key = (
        system,
        "AMD64"
        if system == "win32" and machine.lower() in ("amd64", "x86_64")
        else "aarch64"
        if system == "linux" and machine == "arm64"
        else machine,
    )
    if key in SUPPORTED:
        return None
    if system == "darwin" and machine == "x86_64":
        return (
            "TensorFlow 2.21 has no build for Intel Macs (nor for a Python that runs under "
            "Rosetta on Apple silicon: use the arm64 Python there). Read the book, and run the "
            "notebooks in Colab (the rocket button of a page) or on a Linux machine."
        )
    names = ", ".join(SUPPORTED.values())
    return f"TensorFlow 2.21 has no build for {system} on {machine}; the course runs on {names}."


def run(command: list, env: dict[str, str] | None = None, quiet: bool = False, echo=True) -> int:
    """Run a command in the repository (shown first, as make does) and return its exit status."""
    if echo:
        print("+", " ".join(str(part) for part in command), flush=True)
    output = subprocess.DEVNULL if quiet else None
    result = subprocess.run([str(part) for part in command], cwd=ROOT, env=env, stdout=output)
    return result.returncode


def install_commands(venv: Venv, uv: str | None = None) -> list[list]:
    """The commands that fill `venv` from requirements.txt and install the course's packages.

    `--no-deps`: requirements.txt is the whole locked set for every platform already; without
    it pip would follow tf-keras's requirement of `tensorflow` and install a second TensorFlow
    over tensorflow-cpu (uv.lock overrides that requirement). uv, when it is on PATH, does the
    same from the same file, faster.
    """
    if uv:
        python = ["--python", venv.python]
        return [
            [uv, "pip", "install", *python, "--no-deps", "-r", REQUIREMENTS.name],
            [uv, "pip", "install", *python, "--no-deps", "-e", "."],
        ]
    pip = [venv.python, "-m", "pip", "install", "--quiet"]
    return [
        [*pip, "--upgrade", "pip>=24"],
        [*pip, "--no-deps", "-r", REQUIREMENTS.name],
        [*pip, "--no-deps", "-e", "."],
    ]


def kernel_command(venv: Venv) -> list:
    return [
        venv.python,
        "-m",
        "ipykernel",
        "install",
        "--sys-prefix",
        "--name",
        KERNEL_NAME,
        "--display-name",
        KERNEL_DISPLAY,
    ]


def setup(venv: Venv = VENV, force: bool = False) -> int:
    """Create `venv` with this Python if it is missing, install the pins, install the kernel."""
    if not force and venv.installed() and venv.kernel_current():
        return 0
    if not venv.python.exists():
        problem = unsupported()
        if problem:
            print(problem, file=sys.stderr)
            return 2
        print(f"Creating {venv.path} with Python {platform.python_version()}", flush=True)
        status = run([sys.executable, "-m", "venv", venv.path])
        if status:
            if sys.platform == "linux":
                print("Debian, Ubuntu: `sudo apt-get install python3-venv` first", file=sys.stderr)
            return status
    if force or not venv.installed():
        # uv when it is on PATH (or in .venv), pip otherwise; COURSE_INSTALLER=pip forces pip.
        uv = shutil.which("uv", path=venv.environ()["PATH"])
        uv = None if os.environ.get("COURSE_INSTALLER") == "pip" else uv
        print(
            f"Installing the pinned packages with {'uv' if uv else 'pip'} (1 GB the first time)",
            flush=True,
        )
        for command in install_commands(venv, uv):
            status = run(command, env=venv.environ())
            if status:
                return status
        venv.stamp.touch()
    status = run(kernel_command(venv), env=venv.environ(), quiet=True)
    if status == 0:
        print(f'Environment ready in {venv.path}, with the Jupyter kernel "{KERNEL_DISPLAY}"')
    return status
