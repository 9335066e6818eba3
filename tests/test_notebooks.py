"""Every lesson runs in fast mode, each cell without an error or a traceback.

The reference solutions' visible tests run where they are graded: tests/test_grading.py gives
each reference full marks only when every test cell, visible and hidden, passes.
"""

from __future__ import annotations

import nbformat
import pytest
from conftest import (
    REPO_ROOT,
    Execution,
    lesson_notebooks,
)


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
