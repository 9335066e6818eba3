"""Hidden tests, run in the grader's process against the student's live kernel.

`ExecuteAndGrade` replaces nbgrader's `Execute` in the course's autograde preprocessors. It runs
the rebuilt notebook as nbgrader does (answers, then the visible tests, in the sandboxed kernel),
and then, before the kernel stops, runs each test cell's visible *and* hidden tests here, in the
grader's own process: the names the answer cells define are stand-ins that call into the kernel
(`grader.remote`), while `np`, `tf`, `checks` and every expected value are the grader's own. The
hidden tests never enter the kernel; nothing the kernel reports about passing counts.

A test cell that fails here gets the failure as its *first* output, so nbgrader scores it zero
whatever the kernel printed (nbgrader reads the first error or result of a cell); one that
passes here keeps the kernel's own outputs, so a visible test that failed in the kernel still
scores zero: a part's score is the lower of the two.
"""

from __future__ import annotations

import contextlib
import io
import sys
import threading
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute

from grader import notebooks
from grader.course import HIDDEN
from grader.remote import ForgedReply, KernelLink, StudentCodeError

FAILED = "HiddenTestFailed"  # ename of a failure found by the grader
VERDICTS = "course_grader"  # notebook metadata key with the grader's verdict per part
FORGED_NOTE = "(not a reply the grader's code sends: flagged for review)"


def hidden_source(course_root: Path, assignment: str, notebook: str) -> nbformat.NotebookNode:
    return nbformat.read(Path(course_root) / HIDDEN / assignment / f"{notebook}.ipynb", 4)


def _preload_tensorflow(source: nbformat.NotebookNode) -> None:
    """Import TensorFlow in a thread while the kernel works, when the grader will need it and
    has not imported it yet (`course-grade autograde` forks graders that already have it)."""
    if "tensorflow" in sys.modules:
        return
    if any("tensorflow" in cell.source for cell in source.cells if cell.cell_type == "code"):
        threading.Thread(target=__import__, args=("tensorflow",), daemon=True).start()


def failure_output(message: str) -> NotebookNode:
    text = f"{message}\n(found by the grader's tests, run outside your notebook)"
    return nbformat.v4.new_output(
        "error", ename=FAILED, evalue=text, traceback=[f"{FAILED}: {text}"]
    )


class ExecuteAndGrade(Execute):
    """nbgrader's Execute, then every test cell's visible and hidden tests in this process."""

    def preprocess(self, nb, resources=None, km=None):
        info = resources.get("nbgrader", {}) if resources else {}
        root = CourseDirectory(config=self.config).root
        source = hidden_source(root, info["assignment"], info["notebook"])
        _preload_tensorflow(source)
        self._hidden_source = source
        return super().preprocess(nb, resources, km)

    # nbconvert's ExecutePreprocessor.preprocess runs every cell through preprocess_cell inside
    # `setup_kernel()`; after the last cell, while the kernel still runs, grade the tests here.
    def preprocess_cell(self, cell, resources, index):
        cell, resources = super().preprocess_cell(cell, resources, index)
        if index == len(self.nb.cells) - 1:
            self.grade_in_grader()
        return cell, resources

    def grade_in_grader(self) -> None:
        source = self._hidden_source
        by_id = {notebooks.grade_id(c): c for c in source.cells if notebooks.grade_id(c)}
        answer_names = [
            name
            for cell in source.cells
            if notebooks.is_answer_cell(cell)
            for name in notebooks.defined_names(cell.source)
        ]
        link = KernelLink(self, timeout=self.timeout or 300)
        namespace: dict = {"__name__": "__grader__"}
        setup_error = None
        try:
            _run_quietly(_grader_setup(source), namespace, "the course's set-up cells")
            link.start()
            namespace.update(link.describe(answer_names))
            namespace["kernel"] = link
        except Exception as error:  # the kernel is gone or answers nonsense: every part fails
            note = f" {FORGED_NOTE}" if isinstance(error, ForgedReply) else ""
            setup_error = f"the grader could not reach your answers: {error}{note}"
        verdicts = {}
        for cell in self.nb.cells:
            gid = notebooks.grade_id(cell)
            if not notebooks.is_test_cell(cell) or gid not in by_id:
                continue
            problem = setup_error or _run_test(by_id[gid], namespace, gid)
            verdicts[gid] = problem or "passed"
            if problem and not scores_zero(cell):
                cell.outputs.insert(0, failure_output(problem))
        self.nb.metadata[VERDICTS] = verdicts


def forged_parts(nb: nbformat.NotebookNode) -> list[str]:
    """The test cells of an autograded notebook whose answers came in replies the grader's code
    never sends (something in the kernel printed the grader's reply type itself)."""
    return sorted(
        gid for gid, verdict in nb.metadata.get(VERDICTS, {}).items() if FORGED_NOTE in verdict
    )


def scores_zero(cell: nbformat.NotebookNode) -> bool:
    """Whether nbgrader already gives this test cell zero: its first verdict-bearing output is
    an error or stderr (nbgrader stops at the first error, stderr stream or result)."""
    for output in cell.outputs:
        if output.output_type == "error" or (
            output.output_type == "stream" and output.get("name") == "stderr"
        ):
            return True
        if output.output_type == "execute_result":
            return False
    return False


def _grader_setup(source: nbformat.NotebookNode) -> str:
    """The locked code cells that are neither answers nor tests: imports, parameters, data."""
    return "\n\n".join(
        cell.source
        for cell in source.cells
        if cell.cell_type == "code"
        and notebooks.nbgrader_meta(cell).get("locked")
        and not notebooks.is_test_cell(cell)
        and not notebooks.is_answer_cell(cell)
    )


def _run_quietly(code: str, namespace: dict, name: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        exec(compile(code, f"<{name}>", "exec"), namespace)


def _run_test(cell: nbformat.NotebookNode, namespace: dict, gid: str) -> str | None:
    """None when the test cell's visible and hidden tests pass here, else what went wrong."""
    try:
        _run_quietly(notebooks.grader_test_source(cell), namespace, f"tests of {gid}")
    except ForgedReply as error:
        return f"{error} {FORGED_NOTE}"
    except StudentCodeError as error:
        return str(error)
    except NameError as error:
        return f"{error}: run the answer cell without errors (is the answer written?)"
    except AssertionError as error:
        return str(error) or "a check failed"
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return None
