"""What a student reads when a test fails in the grader, and what only the instructor reads.

A visible test's failure is told in full (expected, got, the kernel's error text): its inputs
are in the student's notebook already. A hidden test's failure is told in the test's own
literal words, read from its source at the failing line, never from the values the test
computed or the kernel sent: the check's `what` or message and its hint, with every
interpolated value shown as "…". So the feedback says what was checked and that it failed, but
not the hidden inputs, the expected values or any text the student's code produced while
probed (an exception carrying its arguments, a class named after them).

    check_equal(_got, _expected, what=f"the matrix for {len(_t)} labels", hint="np.add.at")
    -> "A hidden test failed: the matrix for … labels is not what it should be.
        Hint: np.add.at"
"""

from __future__ import annotations

import ast
import traceback

import nbformat
from nbformat.notebooknode import NotebookNode

from grader.remote import StudentCodeError

FAILED = "HiddenTestFailed"  # ename of a failure found by the grader

CHECKS = {"check_close", "check_equal", "check_true", "check_shape", "as_numbers", "check_not_used"}
ELIDED = "…"
# How each check's failure reads, from its `what` (or check_true's message).
VERBS = {
    "check_close": "{what} is not close enough to what it should be",
    "check_equal": "{what} is not what it should be",
    "check_shape": "{what} has the wrong shape",
    "as_numbers": "{what} cannot be read as numbers",
    "check_true": "{what}",
    "check_not_used": "{what}",
}


def literal(node: ast.AST | None) -> str | None:
    """The text of a string expression as written, every interpolated value as "…"."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            part.value if isinstance(part, ast.Constant) else ELIDED for part in node.values
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = literal(node.left), literal(node.right)
        return None if left is None or right is None else left + right
    return None


def _argument(call: ast.Call, position: int, name: str) -> ast.AST | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    return call.args[position] if len(call.args) > position else None


def _name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _failing_line(error: BaseException, filename: str) -> int | None:
    """The innermost line of the test code (compiled as `filename`) the error passed through."""
    line = None
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename == filename:
            line = frame.lineno
    return line


def _calls_at(tree: ast.AST, line: int) -> list[ast.Call]:
    """Calls spanning `line`, innermost first."""
    found = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and node.lineno <= line <= (node.end_lineno or node.lineno)
    ]
    return sorted(found, key=lambda n: ((n.end_lineno or n.lineno) - n.lineno, -n.col_offset))


def describe_check(call: ast.Call) -> str:
    """A failed check in the test's own words: what it checked, and its hint."""
    kind = _name(call)
    if kind == "check_true":
        what = literal(_argument(call, 1, "message")) or "a condition of the task"
        hint = literal(_argument(call, 2, "hint"))
    elif kind == "check_not_used":  # grader.code_rules: the rule, as the task states it
        what = literal(_argument(call, 3, "rule")) or "a rule of the task about the code"
        hint = None
    else:
        where = {"check_close": 5, "as_numbers": 1}.get(kind, 3)  # `what`'s position
        what = literal(_argument(call, where, "what")) or "your answer"
        hint = literal(_argument(call, 2, "hint"))
    text = VERBS.get(kind, "{what}").format(what=what).rstrip(".")
    return f"{text[:1].upper()}{text[1:]}." + (f"\nHint: {hint}" if hint else "")


def hidden_failure(code: str, filename: str, error: BaseException) -> str:
    """What the student reads about a hidden test that failed with `error`."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        tree = None
    line = _failing_line(error, filename)
    calls = _calls_at(tree, line) if tree is not None and line is not None else []
    check = next((c for c in calls if _name(c) in CHECKS), None)
    if isinstance(error, AssertionError) and check is not None:
        return f"A hidden test failed: {describe_check(check)}"
    if isinstance(error, AssertionError):  # a plain assert: its message as written, if any
        asserts = (
            [n for n in ast.walk(tree) if isinstance(n, ast.Assert) and n.lineno == line]
            if tree is not None and line is not None
            else []
        )
        words = literal(asserts[0].msg) if asserts else None
        return "A hidden test failed" + (f": {words}" if words else ".")
    # The outermost call that is not a check: usually the student's function, e.g. `f(x)` in
    # `checks.check_equal(f(x), ...)` or `_got = f(np.array(...))`.
    called = next((c for c in reversed(calls) if _name(c) not in CHECKS and _name(c)), None)
    where = f" (at {_name(called)}({ELIDED}))" if called is not None else ""
    if isinstance(error, StudentCodeError):
        return f"A hidden test stopped: {error}{where}."
    if isinstance(error, NameError):
        return f"{error}: run the answer cell without errors (is the answer written?)"
    return f"A hidden test could not use your answer ({type(error).__name__}){where}."


def visible_failure(error: BaseException) -> str:
    """What the student reads about a visible test that failed in the grader: all of it."""
    if isinstance(error, StudentCodeError):
        return f"{error}: {error.detail}" if error.detail else str(error)
    if isinstance(error, NameError):
        return f"{error}: run the answer cell without errors (is the answer written?)"
    if isinstance(error, AssertionError):
        return str(error) or "a check failed"
    return f"{type(error).__name__}: {error}"


def instructor_detail(error: BaseException) -> str:
    """Everything about the failure, for the instructor's copy only."""
    detail = getattr(error, "detail", "")
    text = f"{type(error).__name__}: {error}" + (f" | {detail}" if detail else "")
    return text[:4000]


def failure_output(message: str) -> NotebookNode:
    """The error output a test cell gets for the grader's failure (first among its outputs)."""
    text = f"{message}\n(found by the grader's tests, run outside your notebook)"
    return nbformat.v4.new_output(
        "error", ename=FAILED, evalue=text, traceback=[f"{FAILED}: {text}"]
    )
