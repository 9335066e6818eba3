"""One lock for every platform the course supports, and the entry point that installs it.

pyproject.toml pins the direct dependencies; uv.lock resolves them for Linux x86-64 and
aarch64, macOS on Apple silicon and Windows, Python 3.11.2 to 3.13; requirements.txt is its
export for pip. These tests read the three offline (uv's own checks, no index): they agree, each
platform and Python gets one TensorFlow and every direct pin, Debian's Python 3.11.2 gets pins
it can run, and this environment is the lock. That each target installs from wheels is checked
against the package index by `python -m course lock --check` in CI (.ci/run). The entry point
`python -m course` (standard library only, also Windows's) is tested here on its own logic.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import sysconfig
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from conftest import REPO_ROOT
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from course import env, lock

PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
# (sys.platform, platform.machine()) of each supported platform, and the TensorFlow it gets.
PLATFORMS = {
    ("linux", "x86_64"): "tensorflow-cpu",
    ("linux", "aarch64"): "tensorflow",
    ("darwin", "arm64"): "tensorflow",
    ("win32", "AMD64"): "tensorflow-cpu",
}
PYTHONS = ("3.11.2", "3.11.7", "3.12.8", "3.13.1")


def marker_environment(system: str, machine: str, python: str) -> dict[str, str]:
    """What packaging's markers see on that platform and Python (PEP 508)."""
    names = {"linux": "Linux", "darwin": "Darwin", "win32": "Windows"}
    return {
        "sys_platform": system,
        "platform_machine": machine,
        "platform_system": names[system],
        "os_name": "nt" if system == "win32" else "posix",
        "python_full_version": python,
        "python_version": ".".join(python.split(".")[:2]),
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "implementation_version": python,
        "platform_release": "",
        "platform_version": "",
    }


@functools.cache
def requirements() -> list[Requirement]:
    lines = (REPO_ROOT / "requirements.txt").read_text().splitlines()
    return [Requirement(line) for line in lines if line.strip() and not line.lstrip()[0] == "#"]


def pins(environment: dict[str, str] | None = None) -> dict[str, str]:
    """name -> version of every line of requirements.txt whose marker holds there."""
    found = {}
    for requirement in requirements():
        line = str(requirement)
        if requirement.marker is None or requirement.marker.evaluate(environment):
            (spec,) = requirement.specifier
            assert spec.operator == "==", line
            name = canonicalize_name(requirement.name)
            assert name not in found, f"{name} pinned twice for {environment}"
            found[name] = spec.version
    return found


def test_requirements_txt_is_the_locks_export():
    assert (REPO_ROOT / "requirements.txt").read_text() == lock.exported(), (
        "requirements.txt is not uv.lock's export: run `python -m course lock`"
    )
    assert not (REPO_ROOT / "constraints.txt").exists(), "one lock: requirements.txt only"


def test_the_lock_matches_pyproject():
    result = subprocess.run(
        [lock.uv(), "lock", "--check", "--offline"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, f"run `python -m course lock`:\n{result.stderr}"


def test_the_lock_is_for_the_supported_platforms_and_pythons():
    assert PYPROJECT["project"]["requires-python"] == ">=3.11.2, <3.14"
    uv = PYPROJECT["tool"]["uv"]
    for system, machine in PLATFORMS:
        marker = f"sys_platform == '{system}' and platform_machine == '{machine}'"
        assert marker in uv["environments"] and marker in uv["required-environments"], marker
    assert set(lock.PLATFORMS) == set(env.SUPPORTED.values())
    assert lock.PYTHONS[0] == "3.11.2" and lock.PYTHONS[-1] == "3.13"


@pytest.mark.parametrize("python", PYTHONS)
@pytest.mark.parametrize("platform", PLATFORMS, ids="-".join)
def test_each_platform_gets_one_tensorflow_and_every_direct_pin(platform, python):
    found = pins(marker_environment(*platform, python))
    tensorflows = {name for name in ("tensorflow", "tensorflow-cpu") if name in found}
    assert tensorflows == {PLATFORMS[platform]}, f"{platform}, {python}: {tensorflows}"
    for line in PYPROJECT["project"]["dependencies"]:
        requirement = Requirement(line)
        if requirement.marker and not requirement.marker.evaluate(
            marker_environment(*platform, python)
        ):
            continue
        name = canonicalize_name(requirement.name)
        assert name in found, f"{name} is not pinned for {platform}, Python {python}"
        assert requirement.specifier.contains(found[name]), (name, found[name])
    assert env.unsupported(tuple(map(int, python.split("."))), *platform) is None


def test_debian_12s_python_gets_pins_it_can_run():
    """Soup Sieve 3 and later need Python 3.11.5 (a pip freeze on 3.11.7 once pinned 4.1.3)."""
    debian = pins(marker_environment("linux", "x86_64", "3.11.2"))
    newer = pins(marker_environment("linux", "x86_64", "3.11.7"))
    assert int(debian["soupsieve"].split(".")[0]) < 3, debian["soupsieve"]
    different = {name for name in debian.keys() | newer.keys() if debian.get(name) != newer[name]}
    assert different == {"soupsieve"}, different


def test_an_intel_mac_gets_no_tensorflow_and_is_told_why():
    found = pins(marker_environment("darwin", "x86_64", "3.12.8"))
    assert not {"tensorflow", "tensorflow-cpu"} & found.keys()
    assert "Intel Macs" in env.unsupported((3, 12, 8), "darwin", "x86_64")
    assert "no build for win32 on ARM64" in env.unsupported((3, 12, 8), "win32", "ARM64")


def test_this_environment_is_the_lock():
    """What `make setup` installed is what the lock pins for this machine, version for version."""
    if Path(sys.prefix).resolve() != (REPO_ROOT / ".venv").resolve():
        pytest.skip(f"not the course's .venv: {sys.prefix}")
    # Only the environment's own site-packages: setuptools puts copies of packages it vendors
    # (older importlib-metadata, wheel, ...) on sys.path once it is imported.
    folders = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    found = metadata.distributions(path=folders)
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in found}
    wrong = {
        name: (version, installed.get(name))
        for name, version in pins().items()
        if installed.get(name) != version
    }
    assert not wrong, f"(locked, installed) differ; run `make setup`: {wrong}"


@pytest.mark.parametrize(
    ("version", "allowed"),
    [
        ((3, 11, 1), False),
        ((3, 11, 2), True),
        ((3, 12, 0), True),
        ((3, 13, 9), True),
        ((3, 14, 0), False),
        ((3, 10, 12), False),
        ((3, 9, 6), False),
    ],
)
def test_only_python_3_11_2_to_3_13_may_create_the_environment(version, allowed):
    problem = env.unsupported(version, "linux", "x86_64")
    assert (problem is None) == allowed, problem
    if not allowed:
        assert "3.11.2 or newer" in problem and "py -3.11 -m course setup" in problem


def test_the_environment_layout_on_windows_and_elsewhere(tmp_path):
    windows, posix = env.Venv(tmp_path, windows=True), env.Venv(tmp_path, windows=False)
    assert windows.python == tmp_path / "Scripts" / "python.exe"
    assert windows.script("jupyter-book") == tmp_path / "Scripts" / "jupyter-book.exe"
    assert posix.python == tmp_path / "bin" / "python"
    assert posix.script("jupyter-book") == tmp_path / "bin" / "jupyter-book"
    path = windows.environ({"PATH": "C:\\Windows"})["PATH"]
    assert path == f"{tmp_path / 'Scripts'}{os.pathsep}C:\\Windows"
    for venv in (windows, posix):
        assert venv.kernel.relative_to(tmp_path).parts[:3] == ("share", "jupyter", "kernels")


def test_pip_installs_the_whole_lock_without_following_dependencies(tmp_path):
    venv = env.Venv(tmp_path / ".venv")
    for commands in (env.install_commands(venv), env.install_commands(venv, uv="uv")):
        requirements, project = commands[-2], commands[-1]
        assert requirements[-3:] == ["--no-deps", "-r", "requirements.txt"], requirements
        assert project[-3:] == ["--no-deps", "-e", "."], project
        assert str(venv.python) in map(str, requirements)
    kernel = env.kernel_command(venv)
    assert kernel[kernel.index("--name") + 1] == "cnn-course" and "--sys-prefix" in kernel


def test_the_stamp_says_when_to_install_again(tmp_path):
    venv = env.Venv(tmp_path / ".venv", windows=False)
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("x==1\n")
    assert not venv.installed((requirements,))
    venv.bin.mkdir(parents=True)
    venv.python.write_text("")
    venv.stamp.write_text("")
    os.utime(requirements, (1, 1))
    assert venv.installed((requirements,)) and not venv.kernel_current()
    venv.kernel.parent.mkdir(parents=True)
    venv.kernel.write_text("{}")
    assert venv.kernel_current()
    requirements.touch()  # a new lock: install again
    os.utime(venv.stamp, (2, 2))
    assert not venv.installed((requirements,))


def test_the_entry_point_runs_on_a_bare_python_before_the_environment_exists(tmp_path):
    """`python -m course` with no site-packages at all (-S), as on a fresh Windows."""
    for python in {sys.executable, "/usr/bin/python3"}:
        if not Path(python).exists():
            continue
        result = subprocess.run(
            [python, "-S", "-m", "course", "--help"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            env={"PATH": os.environ["PATH"]},
        )
        assert result.returncode == 0, result.stderr
        for command in ("setup", "book", "lab", "check", "test"):
            assert command in result.stdout


def test_tensorflow_hub_imports_without_a_warning():
    """tensorflow_hub 0.16.1 imports pkg_resources: gone in setuptools 82, a UserWarning on
    stderr (in a lesson's output) from 80.9; the lock pins setuptools 80.8.0."""
    result = subprocess.run(
        [sys.executable, "-W", "error::UserWarning", "-c", "import tensorflow_hub"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert pins()["setuptools"] == "80.8.0"
