"""Every lesson runs in fast mode; every reference solution passes its visible tests."""

from __future__ import annotations

import shutil

import nbformat
import pytest
from conftest import (
    REPO_ROOT,
    Execution,
    execute_notebook,
    lesson_notebooks,
    solution_notebooks,
)

from grader.notebooks import without_hidden_tests


def _name(path) -> str:
    return str(path.relative_to(REPO_ROOT))


def assert_ran_completely(run: Execution) -> nbformat.NotebookNode:
    """Fail unless papermill succeeded and every code cell ran without an error.

    papermill treats SystemExit(0) as success and stops, so the exit code alone proves nothing.
    """
    assert run.returncode == 0, f"{_name(run.source)} failed:\n{run.log[-3000:]}"
    nb = nbformat.read(run.output, as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        assert cell.get("execution_count") is not None, (
            f"{_name(run.source)}: cell {index} never ran (did the notebook stop early?)"
        )
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"{_name(run.source)}: cell {index} raised {errors[0]['ename']}"
    return nb


@pytest.mark.slow
@pytest.mark.parametrize("lesson", lesson_notebooks(), ids=_name)
def test_lesson_executes_in_fast_mode(lesson, staged_book):
    _, runs = staged_book
    nb = assert_ran_completely(runs[lesson])
    stderr = [
        o.text
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "stream" and o.name == "stderr" and "Traceback" in o.text
    ]
    assert not stderr, f"{_name(lesson)} printed a traceback: {stderr[0][:500]}"


@pytest.mark.slow
@pytest.mark.parametrize("solution", solution_notebooks(), ids=_name)
def test_reference_solution_passes_its_visible_tests(solution, tmp_path):
    """The solution notebook runs in a plain kernel, as a student's would, visible tests only.

    Hidden tests run in the grader's process, never in a kernel (test_grading.py grades them).
    """
    visible = tmp_path / "visible" / solution.parent.name / solution.name
    visible.parent.mkdir(parents=True)
    nbformat.write(without_hidden_tests(nbformat.read(solution, as_version=4)), visible)
    shutil.copytree(
        solution.parent,
        visible.parent,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns(solution.name),
    )
    nb = assert_ran_completely(execute_notebook(visible, tmp_path / solution.name))
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert graded, f"{_name(solution)} has no graded cells"
    for cell in graded:
        stderr = [o for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"]
        assert not stderr, (
            f"{cell.metadata.nbgrader.grade_id} wrote to stderr, which nbgrader scores zero: "
            f"{stderr[0].text[:300]}"
        )
