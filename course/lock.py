"""`python -m course lock [--check]`: the one lock for every platform, and its check.

pyproject.toml names the course's direct dependencies; `uv lock` resolves them once for every
platform in its [tool.uv] environments (uv.lock), and `uv export` writes that lock as
requirements.txt, pinned, with environment markers, for pip. `--check` is what CI runs: the
lock matches pyproject.toml, requirements.txt matches the lock, and for each supported platform
and Python, uv's dry run installs requirements.txt from wheels only (`--only-binary :all:`),
with its markers evaluated for that target, and needs nothing the file does not pin.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from course.env import REQUIREMENTS, ROOT, VENV

PYPROJECT = ROOT / "pyproject.toml"
EXPORT = ["export", "--frozen", "--no-hashes", "--no-emit-project", "--no-header"]
HEADER = """\
# Every package of the course, pinned for every platform it supports (environment markers pick
# each platform's: tensorflow-cpu on Linux x86-64 and Windows, tensorflow on Linux aarch64 and
# macOS on Apple silicon). Written by `python -m course lock` from uv.lock (`uv export`); edit
# the direct dependencies in pyproject.toml, never this file. Install it with --no-deps
# (`python -m course setup` does): it is complete, and pip would otherwise follow tf-keras to a
# second TensorFlow. With uv: `uv sync --locked`.
"""
# uv's names for the platforms in pyproject.toml's [tool.uv] environments.
PLATFORMS = {
    "Linux x86-64": "x86_64-manylinux_2_28",
    "Linux aarch64": "aarch64-manylinux_2_28",
    "macOS on Apple silicon": "aarch64-apple-darwin",
    "Windows x86-64": "x86_64-pc-windows-msvc",
}
PYTHONS = ("3.11.2", "3.12", "3.13")  # Debian 12's 3.11 is the oldest; 3.13 the newest
WOULD_INSTALL = re.compile(r"^ \+ (\S+)==(\S+)$", re.M)


def uv() -> str:
    found = shutil.which("uv", path=str(VENV.bin)) or shutil.which("uv")
    if not found:
        sys.exit("uv is not installed: `python -m course setup` installs it into .venv")
    return found


def exported() -> str:
    """requirements.txt as the lock says it must read."""
    result = subprocess.run([uv(), *EXPORT], cwd=ROOT, capture_output=True, text=True)
    if result.returncode:
        sys.exit(f"uv export failed:\n{result.stderr}")
    return HEADER + result.stdout


def write() -> int:
    """Resolve uv.lock again from pyproject.toml (keeping every pin it can) and export it."""
    status = subprocess.run([uv(), "lock"], cwd=ROOT).returncode
    if status == 0:
        REQUIREMENTS.write_text(exported())
        print(f"Wrote uv.lock and {REQUIREMENTS.name}")
    return status


def overrides() -> str:
    """pyproject's [tool.uv] override-dependencies, for a dry run (which does not read them)."""
    config = tomllib.loads(PYPROJECT.read_text())
    return "\n".join(config["tool"]["uv"].get("override-dependencies", [])) + "\n"


def dry_run(platform: str, python: str, folder: Path, deps: bool) -> tuple[int, str, dict]:
    """uv's dry run of requirements.txt for one target: status, output, {name: version}.

    From uv's cache first (index pages and wheels' metadata; a second run of the check takes
    seconds), and from the index when the cache lacks something.
    """
    command = [
        uv(),
        "pip",
        "install",
        "--dry-run",
        "--only-binary",
        ":all:",
        "--python-platform",
        platform,
        "--python-version",
        python,
        "--target",
        str(folder / f"{platform}-{python}"),
        "-r",
        str(REQUIREMENTS),
    ]
    command += ["--overrides", str(folder / "overrides.txt")] if deps else ["--no-deps"]
    for network in (["--offline"], []):
        result = subprocess.run(command + network, cwd=ROOT, capture_output=True, text=True)
        if result.returncode == 0:
            break
    output = result.stdout + result.stderr
    return result.returncode, output, dict(WOULD_INSTALL.findall(output))


def check_target(name: str, platform: str, python: str, folder: Path) -> str | None:
    """None when requirements.txt installs for the target from wheels and is complete there."""
    status, output, pinned = dry_run(platform, python, folder, deps=False)
    if status or not pinned:
        return f"{name}, Python {python}: no wheels for the pins\n{output[-3000:]}"
    status, output, resolved = dry_run(platform, python, folder, deps=True)
    if status:
        return f"{name}, Python {python}: the pins do not resolve\n{output[-3000:]}"
    if resolved != pinned:
        extra = sorted(f"{k}=={v}" for k, v in resolved.items() if pinned.get(k) != v)
        return f"{name}, Python {python}: needs packages the lock does not pin: {extra}"
    return None


def check(only: str | None = None) -> int:
    """The lock is current, the export matches it, and every target installs (see above)."""
    problems = []
    start = time.perf_counter()
    if subprocess.run([uv(), "lock", "--check"], cwd=ROOT).returncode:
        problems.append("uv.lock does not match pyproject.toml: run `python -m course lock`")
    if REQUIREMENTS.read_text() != exported():
        problems.append(f"{REQUIREMENTS.name} is not uv.lock's export: run `python -m course lock`")
    pythons = [only] if only else list(PYTHONS)
    targets = [(name, platform, py) for name, platform in PLATFORMS.items() for py in pythons]
    with tempfile.TemporaryDirectory(prefix="course-lock-") as folder:
        (Path(folder) / "overrides.txt").write_text(overrides())
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(lambda t: check_target(*t, Path(folder)), targets))
    for (name, _, python), problem in zip(targets, results, strict=True):
        print(f"{'FAIL' if problem else 'ok  '}  {name}, Python {python}")
        if problem:
            problems.append(problem)
    print(f"Lock checked for {len(targets)} targets in {time.perf_counter() - start:.0f} s")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0
