"""grader.preprocessors, one preprocessor at a time, on cells built here.

`CapOutput` (autograde) cuts nbgrader's lines and every long output field; `HideHiddenTests`
and `SanitizeFeedback` (feedback) drop the hidden tests and what could become script, and cap
the outputs a page keeps per cell and per notebook. tests/test_feedback.py renders whole pages
through nbgrader's exporter; these tests check each rule on its own.
"""

from __future__ import annotations

import base64
import json

import nbformat
import pytest
from conftest import FILES

from grader.course import find_secrets
from grader.failure_text import failure_output
from grader.notebooks import grade_id
from grader.preprocessors import CapOutput, HideHiddenTests, SanitizeFeedback

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(64))).decode()


def _graded(source: str, **nbgrader) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "t", "points": 1, **nbgrader}
    return cell


def _error(traceback: list[str], ename="CheckFailed", evalue="wrong\nHint: h"):
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=traceback)


def _stream(text: str, name="stdout"):
    return nbformat.v4.new_output("stream", name=name, text=text)


def _display(kind="display_data", **data):
    return nbformat.v4.new_output(kind, data=data)


def _run(preprocessor, *cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A notebook of copies of `cells`, preprocessed (not validated: some cells are malformed)."""
    nb = nbformat.from_dict({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells})
    nb, _ = preprocessor.preprocess(nb, {})
    return nb


# ------------------------------------------------------------------------------ HideHiddenTests


def test_feedback_filter_removes_hidden_tests_and_their_traceback():
    cell = _graded(
        "check(x)\n### BEGIN HIDDEN TESTS\n# CANARY hidden x\nsecret()\n### END HIDDEN TESTS\n"
        'print("ok")'
    )
    cell.outputs = [_error(["secret() # CANARY"])]
    cell, _ = HideHiddenTests().preprocess_cell(cell, {}, 0)
    assert find_secrets(json.dumps(cell)) == []
    assert cell.source == 'check(x)\nprint("ok")'
    assert cell.outputs[0]["traceback"] == ["CheckFailed: wrong\nHint: h"]


def test_every_hidden_region_goes_indented_or_last():
    cell = _graded(
        "def check_all():\n"
        "    visible()\n"
        "    ### BEGIN HIDDEN TESTS\n"
        "    first_secret()\n"
        "    ### END HIDDEN TESTS\n"
        "\n"
        "\n"
        "check_all()\n"
        "### BEGIN HIDDEN TESTS\n"
        "second_secret()\n"
        "### END HIDDEN TESTS"
    )
    cell, _ = HideHiddenTests().preprocess_cell(cell, {}, 0)
    assert cell.source == "def check_all():\n    visible()\n\n\ncheck_all()\n"


def test_the_instructors_test_cells_lose_their_hidden_tests_and_keep_the_visible_ones():
    nb = _run(HideHiddenTests(), *nbformat.read(FILES / "source.ipynb", as_version=4).cells)
    tests = {grade_id(c): c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}
    assert tests.pop("why") == "Doubling is scaling by two."  # a written answer: untouched
    assert tests == {
        "test_double": '"""double() doubles."""\nassert double(1) == 2\n',
        "test_total": '"""total() adds."""\nassert total([1, 2]) == 3\n',
    }


def test_only_graded_cells_are_filtered():
    """The student's own traceback, in an answer cell, is theirs to read."""
    answer = nbformat.v4.new_code_cell("double(1)")
    answer.metadata["nbgrader"] = {"solution": True, "grade": False, "grade_id": "double"}
    answer.outputs = [_error(["Traceback", "----> 1 double(1)"], ename="NameError")]
    before = nbformat.from_dict(answer)
    cell, _ = HideHiddenTests().preprocess_cell(answer, {}, 0)
    assert cell == before


def test_the_graders_failure_reaches_the_page_whole():
    """A hidden test's failure message (its hint) passes both feedback filters unchanged."""
    failure = failure_output("double(21) should be 42\nHint: multiply by SCALE")
    cell = _graded('"""double() doubles."""\nassert double(1) == 2', locked=True)
    cell.outputs = [failure]
    nb = _run(SanitizeFeedback(), *_run(HideHiddenTests(), cell).cells)
    [shown] = nb.cells[0].outputs
    assert (shown.ename, shown.evalue) == (failure.ename, failure.evalue)
    assert shown.traceback == failure.traceback


# ------------------------------------------------------------------------------------ CapOutput


def test_cap_output_cuts_every_long_text_field_and_says_how_long_it_was():
    cell = nbformat.v4.new_code_cell("flood()")
    cell.outputs = [
        _stream("x" * 5000),
        _display(**{"text/html": "<p>" * 2000, "text/plain": "short"}),
        _display(**{"image/png": "A" * 5000}),
        _error(["line " * 1000], evalue="e" * 5000),
    ]
    cell, _ = CapOutput(max_chars=1000).preprocess_cell(cell, {}, 0)
    stream, html, image, error = cell.outputs
    assert stream.text == "x" * 1000 + "\n... output cut: 5,000 characters in all ...\n"
    assert (
        html.data["text/html"].startswith("<p>" * 333)
        and "6,000 characters" in html.data["text/html"]
    )
    assert html.data["text/plain"] == "short"
    assert image.data["image/png"] == "... image/png output of 5,000 characters removed ..."
    assert error.evalue.startswith("e" * 1000) and len(error.evalue) < 1100
    assert len(error.traceback[0]) < 1100


def test_cap_output_keeps_nbgraders_line_and_traceback_limits():
    cell = nbformat.v4.new_code_cell("for i in range(30): print(i)")
    cell.outputs = [
        _stream("".join(f"{i}\n" for i in range(30))),
        _error([f"frame {i}" for i in range(50)]),
    ]
    cell, _ = CapOutput(max_lines=10, max_traceback=6).preprocess_cell(cell, {}, 0)
    lines = cell.outputs[0].text.split("\n")
    assert len(lines) == 10 and lines[-1] == "... Output truncated ..."
    traceback = cell.outputs[1].traceback
    assert len(traceback) == 6 and "... Traceback truncated ..." in traceback


def test_cap_output_leaves_small_outputs_alone():
    cell = nbformat.v4.new_code_cell("1")
    cell.outputs = [
        _stream("ok\n"),
        _display("execute_result", **{"text/plain": "1", "image/png": PNG}),
    ]
    cell.outputs[1].execution_count = 1
    before = nbformat.from_dict(cell)
    cell, _ = CapOutput().preprocess_cell(cell, {}, 0)
    assert cell == before


def _flood(outputs: int, size: int, *verdicts) -> nbformat.NotebookNode:
    """A test cell that displays `outputs` outputs of `size` characters, `verdicts` among them."""
    cell = _graded("flood()")
    cell.outputs = [_display(**{"text/plain": "x" * size}) for _ in range(outputs)]
    for index, output in verdicts:
        cell.outputs.insert(index, output)
    return cell


def test_a_display_flood_is_cut_per_cell_and_per_notebook_with_a_note():
    cap = CapOutput(max_outputs=50, max_cell_bytes=100_000, max_notebook_bytes=150_000)
    nb = _run(cap, _flood(3000, 10_000), _flood(3000, 10_000), _flood(5, 10))
    sizes = [len(json.dumps(cell.outputs)) for cell in nb.cells]
    assert sizes[0] < 102_000 and sizes[0] + sizes[1] < 155_000, sizes
    note = nb.cells[0].outputs[-1]
    assert note.name == "stdout" and note.text.startswith("[autograde: 2,991 outputs (")
    assert "keeps 50 outputs and 100,000 bytes a cell, 150,000 bytes a notebook" in note.text
    assert nb.cells[1].outputs[-1].text.startswith("[autograde: ")
    assert len(nb.cells[2].outputs) == 5  # a small cell at the end: nothing cut, no note
    again = _run(cap, _flood(3000, 10_000))  # the budget starts again for the next notebook
    assert len(again.cells[0].outputs) == len(nb.cells[0].outputs)


@pytest.mark.parametrize(
    "verdict",
    [
        _error(["boom"], ename="AssertionError", evalue="wrong"),
        _stream("a warning\n", name="stderr"),
        _display("execute_result", **{"text/plain": "0.5"}),
    ],
)
def test_the_output_nbgraders_verdict_reads_is_never_cut(verdict):
    """A failure after a flood must still score zero (nbgrader: the first error, stderr or
    result decides); cutting it would turn a failing test cell into full marks."""
    from nbgrader.utils import determine_grade

    cell = _flood(500, 10_000, (400, verdict))
    before = determine_grade(nbformat.from_dict(cell))
    cell, _ = CapOutput(max_outputs=20, max_cell_bytes=50_000).preprocess_cell(cell, {}, 0)
    assert determine_grade(cell) == before and before[0] != 1.0
    assert len(cell.outputs) <= 21 + 1 and verdict in cell.outputs
    assert cell.outputs[-1].text.startswith("[autograde: ")


# ---------------------------------------------------------------------------- SanitizeFeedback


def test_html_and_javascript_outputs_are_replaced_by_their_plain_text():
    cell = nbformat.v4.new_code_cell("show()")
    cell.outputs = [
        _display(**{"text/html": "<script>alert(1)</script>", "text/plain": "<b>plain</b>"}),
        _display(**{"application/javascript": "alert(2)"}),
        _display(**{"text/html": "Tags"}),  # no markup, still html: the type decides
        _display(**{"image/svg+xml": "<svg onload=alert(3)/>"}),
        _display(**{"image/png": '" onerror="alert(4)'}),
        _display(**{"image/png": PNG[:40] + "\n" + PNG[40:], "text/markdown": "<script>"}),
    ]
    [plain, image, note] = _run(SanitizeFeedback(), cell).cells[0].outputs
    assert plain.data == {"text/plain": "<b>plain</b>"}
    assert image.data == {"image/png": PNG}  # checked base64, line breaks dropped
    assert note.text == (
        "[feedback: outputs of type application/javascript, image/png, image/svg+xml, "
        "text/html, text/markdown are not shown here]\n"
    )
    assert "alert" not in json.dumps(_run(SanitizeFeedback(), cell).cells[0])


def test_streams_errors_and_counts_are_kept_as_plain_values():
    cell = nbformat.v4.new_code_cell("run()")
    cell.execution_count = True  # not a number
    cell.outputs = [
        _stream("to stderr\n", name="stderr"),
        _stream("odd\n", name='stdout" onclick="x'),
        nbformat.from_dict({"output_type": "update_display_data", "data": {}, "metadata": {}}),
        _display("execute_result", **{"text/plain": "3"}),
    ]
    cell.outputs[3].execution_count = 7
    [err, out, result, note] = _run(SanitizeFeedback(), cell).cells[0].outputs
    assert (err.name, out.name) == ("stderr", "stdout")
    assert result.execution_count == 7 and result.data == {"text/plain": "3"}
    assert "update_display_data" in note.text
    assert _run(SanitizeFeedback(), cell).cells[0].execution_count is None


def test_markdown_the_student_wrote_is_shown_as_text():
    """Only a locked markdown cell of the release (with a grade id) stays markdown."""
    locked = nbformat.v4.new_markdown_cell("## Part 1 <b>now</b>")
    locked.metadata["nbgrader"] = {"locked": True, "grade_id": "intro"}
    written = nbformat.v4.new_markdown_cell("<img src=x onerror=alert(1)>")
    written.metadata["nbgrader"] = {"solution": True, "grade": True, "grade_id": "why"}
    no_id = nbformat.v4.new_markdown_cell("<script>alert(2)</script>")
    no_id.metadata["nbgrader"] = {"locked": True}
    raw = nbformat.v4.new_raw_cell("<script>alert(3)</script>")
    cells = _run(SanitizeFeedback(), locked, written, no_id, raw).cells
    assert cells[0].source == "## Part 1 <b>now</b>"
    assert cells[1].source == "<pre>&lt;img src=x onerror=alert(1)&gt;</pre>"
    assert cells[2].source == "<pre>&lt;script&gt;alert(2)&lt;/script&gt;</pre>"
    assert cells[3].cell_type == "markdown"
    assert cells[3].source == "<pre>&lt;script&gt;alert(3)&lt;/script&gt;</pre>"


def test_metadata_is_reduced_to_checked_nbgrader_fields():
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.metadata.update(tags=['" onmouseover="alert(1)'], collapsed=True)
    cell.metadata["nbgrader"] = {
        "grade": "yes",
        "solution": True,
        "grade_id": 'a" onclick="x',
        "points": "many",
        "checksum": "abc",
        "comment": "Good work.",
    }
    cell.id = "<script>"
    cell["attachments"] = {"x.png": {"image/png": PNG}}
    nb = nbformat.from_dict({"nbformat": 4, "nbformat_minor": 5, "cells": [cell]})
    nb.metadata = {"widgets": {"<script>alert(2)</script>": {}}, "kernelspec": {"name": "x"}}
    nb, _ = SanitizeFeedback().preprocess(nb, {})
    [clean] = nb.cells
    assert clean.metadata == {
        "nbgrader": {"grade": False, "solution": True, "points": 0.0, "comment": "Good work."}
    }
    assert clean.id == "cell-0" and "attachments" not in clean
    assert nb.metadata == {"language_info": {"name": "python", "pygments_lexer": "ipython3"}}


def _chatty(index: int, outputs: int, size: int) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(f"chat({index})")
    cell.outputs = [_stream(f"{index}:" + "x" * size) for _ in range(outputs)]
    return cell


def _kept(cell) -> int:
    return sum(not o.text.startswith("[feedback:") for o in cell.outputs)


def test_outputs_are_capped_by_count_per_cell():
    sanitize = SanitizeFeedback(max_outputs=3)
    cells = _run(sanitize, _chatty(0, 10, 10), _chatty(1, 2, 10)).cells
    assert [_kept(c) for c in cells] == [3, 2]
    note = cells[0].outputs[-1].text
    assert note.startswith("[feedback: 7 outputs (") and "feedback keeps 3 outputs" in note
    assert len(cells[1].outputs) == 2  # nothing cut, no note


def test_outputs_are_capped_by_bytes_per_cell_and_per_notebook():
    """Outputs of ~1 kB: four fit in 5,000 bytes a cell, six in 7,000 bytes a notebook."""
    sanitize = SanitizeFeedback(max_cell_bytes=5_000, max_notebook_bytes=7_000)
    cells = _run(sanitize, _chatty(1, 10, 1_000), _chatty(2, 10, 1_000), _chatty(3, 1, 10)).cells
    assert [_kept(c) for c in cells] == [4, 2, 1]  # a small output still fits at the end
    assert cells[0].outputs[-1].text.startswith("[feedback: 6 outputs (")
    assert cells[1].outputs[-1].text.startswith("[feedback: 8 outputs (")
    assert "5,000 bytes a cell, 7,000 bytes a notebook" in cells[1].outputs[-1].text


def test_the_notebook_budget_starts_again_for_each_notebook():
    """nbgrader runs one preprocessor instance over every student's notebook."""
    sanitize = SanitizeFeedback(max_cell_bytes=5_000, max_notebook_bytes=7_000)
    first = _run(sanitize, _chatty(1, 10, 1_000), _chatty(2, 10, 1_000))
    second = _run(sanitize, _chatty(1, 10, 1_000), _chatty(2, 10, 1_000))
    assert [_kept(c) for c in second.cells] == [_kept(c) for c in first.cells] == [4, 2]


@pytest.mark.parametrize("outputs", [[None], [3, "text"], "not a list", {"output_type": "x"}])
def test_outputs_that_are_not_a_list_of_outputs_are_dropped(outputs):
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = outputs
    assert _run(SanitizeFeedback(), cell).cells[0].outputs == []


@pytest.mark.parametrize("marker", ["CANARY", "BEGIN HIDDEN TESTS", "BEGIN SOLUTION"])
def test_marker_text_the_student_made_is_scrubbed_and_the_graders_own_is_kept(marker):
    """A student who prints the grader's markers gets a page without them (the page check
    would refuse it); a marker in the instructor's cells or the grader's failure stays, so a
    real leak is still found."""
    answer = _graded(f"print('{marker}')  # {marker}", solution=True, grade=False, locked=False)
    answer.outputs = [
        _stream(f"{marker}\n"),
        _display(**{"text/plain": f"'{marker}'"}),
        _error([f"{marker} line"], ename=f"{marker}Error", evalue=marker),
    ]
    added = nbformat.v4.new_markdown_cell(f"my notes: {marker}")
    test = _graded("check()", locked=True)
    test.outputs = [_stream(marker), failure_output(f"grader said {marker}")]
    nb = _run(SanitizeFeedback(), answer, added, test)
    student = json.dumps([nb.cells[0], nb.cells[1], nb.cells[2].outputs[0]])
    assert find_secrets(student) == [] and "removed]" in student
    assert find_secrets(nb.cells[2].source) == []  # the instructor's test cell had none
    assert marker in nb.cells[2].outputs[1].evalue  # the grader's own text is not touched
