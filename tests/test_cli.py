"""`course-grade` (grader.cli): each subcommand parses its own options; bad input is refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from grader.cli import _chapters, main
from grader.paths import graded_chapters

SCRIPT = Path(sys.executable).parent / "course-grade"
# Every subcommand and the options its --help must list.
OPTIONS = {
    "release": ["chapters", "--zip"],
    "collect": ["chapter", "source", "--roster", "--lms-id", "--due"],
    "autograde": [
        "chapter",
        "--jobs",
        "--student",
        "--cell-timeout",
        "--notebook-timeout",
        "--no-sandbox",
        "--memory-limit",
        "--process-limit",
        "--scheduler",
        "--regrade",
    ],
    "feedback": ["chapter"],
    "export": ["chapters", "--to"],
    "summary": ["chapters"],
    "benchmark": [
        "--chapter",
        "--students",
        "--jobs",
        "--cell-timeout",
        "--no-sandbox",
        "--scheduler",
    ],
    "publish": ["dir", "--url"],
    "selftest": ["chapters", "--jobs"],
    "report": ["chapters", "--out"],
}


@pytest.mark.parametrize("command", OPTIONS)
def test_each_subcommand_has_its_own_help_with_its_options(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    help_text = capsys.readouterr().out
    assert help_text.startswith(f"usage: course-grade {command}"), help_text[:200]
    missing = [option for option in OPTIONS[command] if option not in help_text]
    assert not missing, help_text


def test_an_unknown_subcommand_is_refused_with_the_valid_ones(capsys):
    with pytest.raises(SystemExit) as done:
        main(["grade-everyone"])
    assert done.value.code == 2
    error = capsys.readouterr().err
    assert "invalid choice: 'grade-everyone'" in error
    assert all(f"'{command}'" in error for command in OPTIONS), error


def test_the_console_script_runs_main():
    """The installed `course-grade`: a subcommand's help, and a refusal that names the others."""
    result = subprocess.run([str(SCRIPT), "autograde", "--help"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: course-grade autograde") and "--jobs" in result.stdout
    result = subprocess.run([str(SCRIPT), "grade-everyone"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "invalid choice" in result.stderr and "'autograde'" in result.stderr


def test_chapters_are_checked_before_anything_runs(tmp_path):
    assert _chapters(["all"]) == graded_chapters()
    assert _chapters(["01-kernels"]) == ["01-kernels"]
    with pytest.raises(SystemExit, match=r"unknown chapters \['99-nothing'\]"):
        main(["--course", str(tmp_path / "course"), "export", "01-kernels", "99-nothing"])
    assert not (tmp_path / "course").exists()
