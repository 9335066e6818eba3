"""`course-grade` (grader.cli): each subcommand parses its own options; bad input is refused."""

from __future__ import annotations

import argparse
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
        "chapters",
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
    "feedback": ["chapters"],
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


# Subcommands about one student's submission of one chapter, or one LMS export of one chapter.
ONE_CHAPTER = {"collect", "extend", "regrade", "requests"}


def test_every_subcommand_that_takes_chapters_takes_one_or_more_or_all():
    """One convention (issue 30): a positional `chapters`, `nargs="+"`, 'all' in its help;
    `benchmark --chapter` is its option's old name, kept for instructors' scripts."""
    from grader.cli import COMMANDS, build_parser

    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(subparsers.choices) == set(COMMANDS), "a subcommand without its function"
    odd = []
    for name, sub in subparsers.choices.items():
        for action in sub._actions:
            if action.dest == "chapters":
                if action.nargs != "+" or "'all'" not in (action.help or ""):
                    odd.append(f"{name}: chapters nargs={action.nargs!r} help={action.help!r}")
            elif action.dest == "chapter" and name not in ONE_CHAPTER | {"benchmark"}:
                odd.append(f"{name} takes a single chapter")
    assert not odd, odd


def test_autograde_and_feedback_take_several_chapters_and_check_them_all_first(tmp_path, capsys):
    for command in ("autograde", "feedback"):
        with pytest.raises(SystemExit) as done:
            main(["--course", str(tmp_path / "course"), command, "01-kernels", "99-nothing"])
        assert "unknown chapters ['99-nothing']" in str(done.value)
    assert not (tmp_path / "course" / "autograded").exists()
