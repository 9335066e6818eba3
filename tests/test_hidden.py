"""`grader.hidden` without a kernel: which code the grader runs, and how a failure is scored.

The grader runs the locked set-up cells (`_grader_setup`), then each test cell's visible and
hidden tests (`notebooks.grader_test_source`, or the hidden ones alone after `HIDDEN_ONLY`); a
failure becomes the cell's first output (`failure_output`) unless nbgrader already scores the
cell zero (`scores_zero`). The notebooks are tests/files/source.ipynb and cells built here.
"""

from __future__ import annotations

import nbformat
import pytest
from conftest import FILES
from nbgrader.utils import determine_grade

from grader.failure_text import FAILED, failure_output
from grader.hidden import _grader_setup, _run_test, answer_names, decide, scores_zero
from grader.notebooks import HIDDEN_ONLY, grade_id, grader_test_source
from grader.remote import StudentCodeError


def _source() -> nbformat.NotebookNode:
    return nbformat.read(FILES / "source.ipynb", as_version=4)


def _cell(name: str) -> nbformat.NotebookNode:
    return next(c for c in _source().cells if grade_id(c) == name)


def _out(kind: str, text: str = "x") -> nbformat.NotebookNode:
    if kind in {"stdout", "stderr"}:
        return nbformat.v4.new_output("stream", name=kind, text=text)
    if kind == "error":
        return nbformat.v4.new_output("error", ename="E", evalue=text, traceback=[])
    return nbformat.v4.new_output(kind, data={"text/plain": text})


# Outputs a test cell may have after the kernel ran it, and whether nbgrader scores it zero.
OUTPUTS = {
    "nothing": ([], False),
    "a passing print": ([_out("stdout", "Part 1 passed.")], False),
    "an error": ([_out("error")], True),
    "stderr": ([_out("stderr", "warning")], True),
    "print, then error": ([_out("stdout"), _out("error")], True),
    "a figure, then stderr": ([_out("display_data"), _out("stderr")], True),
    "a result, then an error": ([_out("execute_result", "2"), _out("error")], False),
    "a zero result": ([_out("execute_result", "0")], False),
}


def _test_cell(outputs: list) -> nbformat.NotebookNode:
    cell = _cell("test_double")
    cell.outputs = [nbformat.from_dict(o) for o in outputs]
    return cell


@pytest.mark.parametrize("case", OUTPUTS)
def test_scores_zero_reads_the_outputs_as_nbgrader_does(case):
    outputs, zero = OUTPUTS[case]
    assert scores_zero(_test_cell(outputs)) is zero


@pytest.mark.parametrize("case", OUTPUTS)
def test_a_hidden_failure_always_scores_zero_in_nbgrader(case):
    """The grader's rule (the failure goes first unless the cell already scores zero) leaves
    nbgrader no way to give points: a wrong `scores_zero` would let a failed part pass."""
    cell = _test_cell(OUTPUTS[case][0])
    if not scores_zero(cell):
        cell.outputs.insert(0, failure_output("double(21) should be 42"))
    assert determine_grade(cell)[0] == 0


def test_failure_output_is_a_valid_error_that_names_the_grader():
    output = failure_output("double(21) should be 42\nHint: multiply by SCALE")
    assert output.output_type == "error" and output.ename == FAILED
    assert output.evalue.startswith("double(21) should be 42\nHint: multiply by SCALE\n")
    assert "run outside your notebook" in output.evalue
    assert output.traceback == [f"{FAILED}: {output.evalue}"]  # one line, no source quoted
    cell = _test_cell([output])
    nbformat.validate(nbformat.v4.new_notebook(cells=[cell]))
    assert scores_zero(cell)


def test_grader_setup_is_the_locked_code_cells_that_are_neither_answers_nor_tests():
    """setup and parameters, in order; not the answers, tests, markdown or scratch cell."""
    assert _grader_setup(_source()) == "import numpy as np\n\nSCALE = 2\n\nSEED = 0"


def test_grader_setup_leaves_out_a_locked_answer_and_an_unlocked_cell():
    source = _source()
    locked_answer = nbformat.from_dict(_cell("double"))
    locked_answer.metadata.nbgrader["locked"] = True
    unlocked = nbformat.from_dict(_cell("setup"))
    unlocked.metadata.nbgrader.update(locked=False, grade_id="unlocked")
    unlocked.source = "SCALE = 3"
    source.cells += [locked_answer, unlocked]
    assert _grader_setup(source) == "import numpy as np\n\nSCALE = 2\n\nSEED = 0"


def test_grader_test_source_runs_visible_then_hidden_tests_without_the_markers():
    assert grader_test_source(_cell("test_double")) == (
        '"""double() doubles."""\n'
        "assert double(1) == 2\n"
        "# CANARY hidden double\n"
        "assert double(21) == 42\n"
    )


def test_hidden_only_marker_runs_the_hidden_tests_alone():
    code = grader_test_source(_cell("test_total"))
    assert code.startswith(HIDDEN_ONLY)
    assert "assert total(np.arange(4)) == 6" in code
    assert "total([1, 2])" not in code and "BEGIN HIDDEN" not in code


@pytest.mark.parametrize(
    "source",
    [
        # the marker lower in the region: not its first line
        "visible()\n### BEGIN HIDDEN TESTS\nhidden()\n# grader: hidden tests only\n"
        "### END HIDDEN TESTS",
        # the marker in the visible part
        "# grader: hidden tests only\nvisible()\n### BEGIN HIDDEN TESTS\nhidden()\n"
        "### END HIDDEN TESTS",
    ],
)
def test_hidden_only_marker_counts_only_as_the_regions_first_line(source):
    code = grader_test_source(nbformat.v4.new_code_cell(source))
    assert "visible()" in code and "hidden()" in code


def test_a_test_cell_without_hidden_tests_runs_as_it_is():
    cell = nbformat.v4.new_code_cell('"""Visible only."""\nassert double(1) == 2')
    assert grader_test_source(cell) == cell.source


def test_every_hidden_region_of_a_test_cell_runs():
    cell = nbformat.v4.new_code_cell(
        "visible()\n### BEGIN HIDDEN TESTS\nfirst()\n### END HIDDEN TESTS\n"
        "more_visible()\n### BEGIN HIDDEN TESTS\nsecond()\n### END HIDDEN TESTS\n"
    )
    assert grader_test_source(cell) == "visible()\nfirst()\nmore_visible()\nsecond()\n"


def _namespace(**answers) -> dict:
    """What the grader has before the tests: its own set-up, and the answers (stand-ins)."""
    namespace: dict = {"__name__": "__grader__"}
    exec(_grader_setup(_source()), namespace)
    return {**namespace, **answers}


def _problem(test, namespace, gid) -> str | None:
    return _run_test(test, namespace, gid)[0]


def test_the_hidden_tests_decide_when_the_visible_ones_pass():
    """An answer fitted to the visible test fails the hidden one; a right one passes both."""
    test = _cell("test_double")
    assert _run_test(test, _namespace(double=lambda x: 2 * x), "test_double") == (None, "")
    fitted = _namespace(double=lambda x: 2 if x == 1 else 0)
    assert _problem(test, fitted, "test_double") == "A hidden test failed."


def test_a_hidden_only_part_skips_the_visible_checks():
    """test_total's visible check is not run by the grader: only the hidden one decides."""
    test = _cell("test_total")
    only_hidden_right = _namespace(total=lambda xs: 6)
    assert _problem(test, only_hidden_right, "test_total") is None
    assert _problem(test, _namespace(total=lambda xs: 3), "test_total") == "A hidden test failed."


def test_visible_failures_are_told_in_full_hidden_ones_in_the_tests_own_words():
    test = _cell("test_double")
    unanswered = _problem(test, _namespace(), "test_double")
    assert "name 'double' is not defined" in unanswered and "run the answer cell" in unanswered

    def raises(x):
        raise StudentCodeError("your code raised ZeroDivisionError", "division by zero")

    # The visible call double(1) raises: the student may read the kernel's text.
    assert _problem(test, _namespace(double=raises), "test_double") == (
        "your code raised ZeroDivisionError: division by zero"
    )

    def raises_on_hidden_input(x):
        if x == 1:
            return 2
        raise StudentCodeError("your code raised ValueError", f"called with x={x}")

    told, kept = _run_test(test, _namespace(double=raises_on_hidden_input), "test_double")
    assert "x=21" not in told and "21" not in told and "your code raised ValueError" in told
    assert "x=21" in kept  # the instructor's copy keeps the kernel's text

    def wrong_type(x):
        return "2" * x

    # the visible `assert double(1) == 2` fails first, and says so
    assert _problem(test, _namespace(double=wrong_type), "test_double") == "a check failed"
    broken = _namespace(double=lambda x: x.missing)
    assert _problem(test, broken, "test_double").startswith("AttributeError: ")


def test_answer_names_never_include_the_graders_own():
    source = _source()
    grader = _namespace()
    names = answer_names(source, {**grader, "kernel": object()})
    assert names and not {"np", "SCALE", "kernel", "print", "checks"} & set(names)
    # A reference answer that happened to assign `np` or a builtin would still not take it.
    answer = next(c for c in source.cells if c.metadata.get("nbgrader", {}).get("solution"))
    answer.source += "\nnp = None\nlen = 3\n"
    assert not {"np", "len"} & set(answer_names(source, grader))


def _stream(name, text):
    return nbformat.v4.new_output("stream", name=name, text=text)


def test_the_graders_verdict_alone_decides_the_score():
    """A right answer's warning on stderr costs nothing; a failure always costs the part."""
    passed = _test_cell([_stream("stderr", "UserWarning: empty class\n"), _stream("stdout", "ok")])
    decide(passed, None)
    assert determine_grade(passed)[0] == determine_grade(passed)[1]
    assert "UserWarning: empty class" in passed.outputs[0].text  # still shown
    errored = _test_cell([_out("error", "patched numpy broke the visible check")])
    decide(errored, None)
    assert determine_grade(errored)[0] == determine_grade(errored)[1]
    failed = _test_cell([_stream("stdout", "Part 1 passed.")])
    decide(failed, "A hidden test failed.")
    assert determine_grade(failed)[0] == 0 and failed.outputs[0].ename == FAILED


def test_the_graders_kernel_client_drops_a_message_over_the_cap_unread():
    """The client `setup_kernel` starts (nbclient's synchronous path) decodes no frame over the
    cap: a 20 MiB display arrives as a stand-in that says so, the kernel's next output too."""
    import zmq
    from jupyter_core.utils import run_sync

    from grader import message_caps
    from grader.hidden import ExecuteAndGrade

    client = ExecuteAndGrade(kernel_name="python3")
    client.nb = nbformat.v4.new_notebook()
    client.km = client.create_kernel_manager()  # nbclient's own (asynchronous) manager
    run_sync(client.km.start_kernel)()
    try:
        kc = client.start_new_kernel_client()
        assert kc.iopub_channel.socket.getsockopt(zmq.MAXMSGSIZE) == message_caps.SOCKET_CAP_BYTES
        code = (
            "import time\nfrom IPython.display import publish_display_data\n"
            "publish_display_data({'text/plain': 'x' * 20 * 2**20})\n"
            "time.sleep(1)\nprint('after')\n"
        )
        msg_id = kc.execute(code)
        seen = []
        while True:
            msg = run_sync(kc.get_iopub_msg)(timeout=60)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            seen.append((msg["msg_type"], str(msg["content"])[:100]))
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        assert ("stream", "{'name': 'stdout', 'text': 'after\\n'}") in seen, seen
        displays = [text for kind, text in seen if kind == "display_data"]
        assert len(displays) == 1 and message_caps.NOTE[:40] in displays[0], seen
    finally:
        if client.kc is not None:
            client.kc.stop_channels()
        run_sync(client.km.shutdown_kernel)(now=True)
