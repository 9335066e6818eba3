"""The build tools are commands: `coursebuild/`'s console scripts are installed and answer
`--help`, the make targets run them, and `helpers/` keeps no command line of its own but the
students' three (the import rules between the packages are in test_layout.py)."""

from __future__ import annotations

import importlib
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import REPO_ROOT

from helpers import detection

# The student-facing commands, which the published students' repository needs too:
# `make check NB=...` runs `python -m helpers.precheck`, `make data` runs `python -m helpers.data`,
# and chapter 08 runs the ensemble with `python -m helpers.train_command`.
HELPER_COMMANDS = {"helpers/precheck.py", "helpers/data.py", "helpers/train_command.py"}
SCRIPTS = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
BUILD_SCRIPTS = sorted(name for name, target in SCRIPTS.items() if target.startswith("coursebuild"))
HELPERS = sorted((REPO_ROOT / "helpers").rglob("*.py"))


def test_the_build_tools_are_console_scripts():
    assert BUILD_SCRIPTS == [
        "course-benchmark-models",
        "course-build-detector",
        "course-mutants",
        "course-students",
        "course-train",
    ]


@pytest.mark.parametrize("path", HELPERS, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_helpers_have_no_command_line_but_make_check(path):
    if str(path.relative_to(REPO_ROOT)) in HELPER_COMMANDS:
        return
    text = path.read_text()
    assert "__main__" not in text and "argparse" not in text, "commands belong in coursebuild/"


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_console_scripts_point_at_a_main_function(name):
    module, _, function = SCRIPTS[name].partition(":")
    assert callable(getattr(importlib.import_module(module), function))


@pytest.mark.parametrize("name", BUILD_SCRIPTS)
def test_build_scripts_are_installed_and_answer_help(name):
    script = Path(sys.executable).parent / name
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"usage: {name}" in result.stdout


def test_make_targets_run_the_build_scripts():
    def recipe(target: str) -> str:
        dry_run = ["make", "-n", "-o", ".venv/.installed", target]  # never set up here
        result = subprocess.run(dry_run, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert "course-students" in recipe("students")
    assert detection.BUILD_COMMAND in recipe("detector")
    assert "for dataset in mnist;" in recipe("reference-models")
    assert "course-train $dataset --out _build/models/$dataset.keras" in recipe("reference-models")
    assert "course-benchmark-models" in recipe("benchmark-models")
