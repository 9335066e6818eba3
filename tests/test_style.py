"""The repository's own rules: notebooks stored clean, code linted, chapters laid out alike."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import CHAPTERS_DIR, REPO_ROOT, SOLUTIONS_DIR

NOTEBOOKS = sorted(REPO_ROOT.glob("chapters/*/*.ipynb")) + sorted(
    REPO_ROOT.glob("solutions/*/*.ipynb")
)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert not cell.outputs, f"cell {index} has outputs: clear them before committing"
            assert cell.execution_count is None, f"cell {index} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_notebook_has_a_title_and_a_parameters_cell(path):
    nb = nbformat.read(path, as_version=4)
    titles = [c for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("# ")]
    assert titles, "no H1 title"
    commented = [
        line
        for c in nb.cells
        if c.cell_type == "markdown"
        for line in c.source.splitlines()
        if line.startswith("# #")
    ]
    assert not commented, f"markdown written as commented headings: {commented[:3]}"
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, "exactly one cell must be tagged `parameters` for papermill"
    assert "FAST" in params[0].source and "SEED" in params[0].source
    setup = next(c for c in nb.cells if c.cell_type == "code")
    assert "config.quiet_logs()" in setup.source, "the setup cell must call config.quiet_logs()"


def test_every_chapter_has_a_lesson_and_matching_solution_folder():
    chapters = sorted(p.name for p in CHAPTERS_DIR.iterdir() if p.is_dir())
    assert chapters, "no chapters"
    for name in chapters:
        number, _, topic = name.partition("-")
        assert number.isdigit() and len(number) == 2 and topic, f"bad chapter folder {name}"
        lessons = [p for p in (CHAPTERS_DIR / name).glob("*.ipynb") if p.name != "exercises.ipynb"]
        assert lessons, f"{name} has no lesson notebook"
        assert (SOLUTIONS_DIR / name / "exercises.ipynb").exists(), f"{name} has no solutions"


# Every folder of the repository's Python: the packages, the entry point, the book's extension.
PYTHON_DIRS = ["helpers", "grader", "coursebuild", "course", "_ext", "tests"]


def test_python_code_passes_ruff():
    ruff = str(Path(sys.executable).parent / "ruff")
    for command in (
        [ruff, "check", *PYTHON_DIRS],
        [ruff, "format", "--check", *PYTHON_DIRS],
        [ruff, "check", "chapters", "solutions"],  # the notebooks' code, linted, not reformatted
    ):
        result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
