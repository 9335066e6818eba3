"""`make check` (`python -m helpers.precheck`) on chapter 01: blank, partly answered, complete.

Each run starts a kernel that imports TensorFlow, so the three run side by side, two at a time.
The blank notebook goes through `make check` itself: the table and exit status 1, no make line.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import nbformat
import pytest
from conftest import CHAPTERS_DIR, REPO_ROOT, SOLUTIONS_DIR, WORKERS

from grader.notebooks import fill_answers, solution_answers

pytestmark = pytest.mark.slow

CHAPTER = "01-kernels"
POINTS = {
    "Part 1": "1 point",
    "Part 2": "2 points",
    "Part 3": "3 points",
    "Part 4": "2 points",
    "Part 5": "2 points",
}
HIDDEN = "The hidden tests run when your work is graded."


def _run(path, make: bool = False) -> tuple[int, str]:
    command = [sys.executable, "-m", "helpers.precheck", str(path)]
    if make:  # as a student types it; not as a sub-make of `make test` (MAKEFLAGS, MAKELEVEL)
        command = ["make", "check", f"NB={path}"]
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    result = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, env=env
    )
    return result.returncode, result.stdout + result.stderr


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """Exit status and output of precheck on the blank, a partial and a complete notebook."""
    blank = CHAPTERS_DIR / CHAPTER / "exercises.ipynb"
    student = nbformat.read(blank, as_version=4)
    reference = solution_answers(nbformat.read(SOLUTIONS_DIR / CHAPTER / "exercises.ipynb", 4))
    folder = tmp_path_factory.mktemp("precheck")
    partial = {
        # Wrong, but right where the visible checks look (the shape and the top-left value).
        "hand_output": "hand_output = np.array([[-1, 0], [0, 0]])\n",
        # Wrong where they look: float64 instead of float32.
        "kernel_bank": reference["kernel_bank"].replace(".astype(np.float32)", ""),
        "conv2d_valid": reference["conv2d_valid"],
    }
    assert partial["kernel_bank"] != reference["kernel_bank"]
    paths = {"blank": blank}
    for name, answers in [("partial", partial), ("complete", reference)]:
        paths[name] = folder / f"{name}.ipynb"
        nbformat.write(fill_answers(student, answers), paths[name])
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        runs = pool.map(_run, paths.values(), [name == "blank" for name in paths])
        return dict(zip(paths, runs, strict=True))


def _rows(output: str) -> dict[str, str]:
    """'Part N' -> the rest of its row, the next lines (a hint) included."""
    found = re.findall(r"^(Part \d+)  +(.*(?:\n {8,}\S.*)*)", output, re.M)
    return {part: re.sub(r"\s+", " ", rest) for part, rest in found}


@pytest.mark.parametrize("name", ["blank", "partial", "complete"])
def test_the_report_is_one_clean_table(reports, name):
    _, output = reports[name]
    rows = _rows(output)
    assert list(rows) == list(POINTS), output
    assert all(rows[part].startswith(f"{points} ") for part, points in POINTS.items()), output
    assert output.splitlines()[0].split() == ["Part", "Points", "Answer", "Visible", "checks"]
    assert output.rstrip().endswith(HIDDEN), output
    for noise in ("warning", "traceback", "tcp", "1 points", "\x1b[", "make:", "*** ["):
        assert noise not in output.lower(), (noise, output)


def test_a_blank_notebook_fails_with_every_part_not_answered(reports):
    returncode, output = reports["blank"]
    assert returncode == 1, output
    for part, row in _rows(output).items():
        assert row == f"{POINTS[part]} not answered not run", output
    assert "0 of 5 parts answered" in output


def test_a_partial_notebook_shows_each_part_and_the_hint_of_the_wrong_one(reports):
    returncode, output = reports["partial"]
    assert returncode == 1, output
    rows = _rows(output)
    # A wrong answer that the visible checks cannot see still passes here: the hidden ones decide.
    assert rows["Part 1"] == "1 point answered passed", output
    assert rows["Part 2"] == (
        "2 points answered failed: Expected your answer to be 'float32', got 'float64'. "
        "Hint: use .astype(np.float32)"
    ), output
    assert rows["Part 3"] == "3 points answered passed", output
    assert rows["Part 4"] == rows["Part 5"] == "2 points not answered not run", output
    assert "2 of 5 parts answered and passing their visible checks." in output


def test_a_complete_notebook_passes(reports):
    returncode, output = reports["complete"]
    assert returncode == 0, output
    for part, row in _rows(output).items():
        assert row == f"{POINTS[part]} answered passed", output
    assert "All 5 parts answered and passing their visible checks." in output
