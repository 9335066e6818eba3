"""grader.failure_text: a hidden test's failure in the test's own words, never its values."""

from __future__ import annotations

import ast

import numpy as np
import pytest

from grader.failure_text import hidden_failure, instructor_detail, literal, visible_failure
from grader.remote import StudentCodeError
from helpers import checks

FILENAME = "<hidden tests of test_x, part 1>"


def _fail(code: str, namespace: dict) -> str:
    """Run hidden `code` as the grader does; return what the student would read."""
    try:
        exec(compile(code, FILENAME, "exec"), {"checks": checks, "np": np, **namespace})
    except Exception as error:
        return hidden_failure(code, FILENAME, error)
    raise AssertionError("the code was expected to fail")


@pytest.mark.parametrize(
    ("source", "text"),
    [
        ('"the layer types"', "the layer types"),
        ('f"the matrix for {len(t)} labels, {k} classes"', "the matrix for … labels, … classes"),
        ('"epoch " + str(e)', None),
        ("name", None),
    ],
)
def test_a_literal_shows_what_is_written_and_hides_what_is_computed(source, text):
    assert literal(ast.parse(source, mode="eval").body) == text


def test_a_failed_check_close_names_what_was_checked_but_not_the_values():
    code = (
        "_secret = np.array([0.123456, 7.654321])\n"
        "checks.check_close(\n"
        "    answer(_secret), _secret * 2, hint='multiply by SCALE',\n"
        "    what=f'the output for {_secret.size} values')\n"
    )
    told = _fail(code, {"answer": lambda x: x * 3})
    assert told == (
        "A hidden test failed: The output for … values is not close enough to what it should "
        "be.\nHint: multiply by SCALE"
    )
    assert "0.12" not in told and "7.65" not in told and "24" not in told


def test_check_true_tells_its_message_as_written():
    code = (
        "_got = answer(21)\n"
        "checks.check_true(isinstance(_got, int), f'Expected an int, got {_got!r}',\n"
        "                  hint='return a Python int')\n"
    )
    told = _fail(code, {"answer": lambda x: f"leaked {x}"})
    assert told == ("A hidden test failed: Expected an int, got ….\nHint: return a Python int")


def test_the_kernels_own_text_never_reaches_the_student():
    def answer(x):
        raise StudentCodeError("your code raised ValueError", f"inputs were {x.tolist()}")

    told = _fail("_got = answer(np.array([3.25, 4.5]))\n", {"answer": answer})
    assert told == "A hidden test stopped: your code raised ValueError (at answer(…))."
    assert "3.25" not in told


def test_a_plain_assert_tells_its_literal_message_only():
    assert _fail("assert answer(2) == 4, f'got {answer(2)}'\n", {"answer": lambda x: 5}) == (
        "A hidden test failed: got …"
    )
    assert _fail("assert answer(2) == 4\n", {"answer": lambda x: 5}) == "A hidden test failed."


def test_a_check_in_a_helper_function_is_found_at_its_own_line():
    code = (
        "def _check(got, expected):\n"
        "    checks.check_equal(got, expected, what='the count', hint='count every pair')\n"
        "\n"
        "_check(answer(3), 9)\n"
    )
    assert _fail(code, {"answer": lambda x: x}) == (
        "A hidden test failed: The count is not what it should be.\nHint: count every pair"
    )


def test_visible_failures_and_the_instructors_copy_keep_everything():
    error = StudentCodeError("your code raised ValueError", "inputs were [3.25]")
    assert visible_failure(error) == "your code raised ValueError: inputs were [3.25]"
    assert "inputs were [3.25]" in instructor_detail(error)
    assert visible_failure(AssertionError()) == "a check failed"
