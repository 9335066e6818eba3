"""Reading nbgrader notebooks: cells by grade_id, answers, solution and hidden-test regions."""

from __future__ import annotations

import ast
import re

import nbformat

SOLUTION_REGION = re.compile(
    r"^[ \t]*### BEGIN SOLUTION.*?^[ \t]*### END SOLUTION[^\n]*\n?", re.M | re.S
)
MARKER_LINE = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[^\n]*\n?", re.M)
HIDDEN_REGION = re.compile(
    r"^[^\n]*BEGIN HIDDEN TESTS.*?^[^\n]*END HIDDEN TESTS[^\n]*(\n|$)", re.M | re.S
)
HIDDEN_BODY = re.compile(
    r"^[^\n]*BEGIN HIDDEN TESTS[^\n]*\n(?P<body>.*?)^[^\n]*END HIDDEN TESTS", re.M | re.S
)
# A hidden region whose first line is this runs alone in the grader, without the visible part
# (for parts whose visible checks use objects that cannot leave the student's kernel).
HIDDEN_ONLY = "# grader: hidden tests only"


def nbgrader_meta(cell: nbformat.NotebookNode) -> dict:
    """A cell's nbgrader metadata; {} when missing or not a dict (a submission holds any JSON)."""
    metadata = cell.get("metadata", {})
    meta = metadata.get("nbgrader", {}) if isinstance(metadata, dict) else {}
    return meta if isinstance(meta, dict) else {}


def grade_id(cell: nbformat.NotebookNode) -> str | None:
    """The nbgrader grade_id of a cell, or None for a cell nbgrader does not track."""
    return nbgrader_meta(cell).get("grade_id")


def cells_by_grade_id(nb) -> dict[str, list]:
    """A submission's cells grouped by grade_id, in order; malformed cells are skipped."""
    found: dict[str, list] = {}
    for cell in nb.get("cells", []):
        meta = cell.get("metadata") if isinstance(cell, dict) else None
        name = grade_id(cell) if isinstance(meta, dict) else None
        if isinstance(name, str):
            found.setdefault(name, []).append(cell)
    return found


def is_answer_cell(cell: nbformat.NotebookNode) -> bool:
    """Whether a cell is an autograded answer (a code cell with a solution region)."""
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and bool(meta.get("solution")) and not meta.get("grade")


def is_test_cell(cell: nbformat.NotebookNode) -> bool:
    """Whether a cell is an autograded test (a graded code cell without a solution)."""
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def solution_answers(source: nbformat.NotebookNode) -> dict[str, str]:
    """The reference answer of every answer cell, as a student would type it (no markers)."""
    return {
        grade_id(cell): MARKER_LINE.sub("", cell.source).strip() + "\n"
        for cell in source.cells
        if is_answer_cell(cell)
    }


def fill_answers(student: nbformat.NotebookNode, answers: dict[str, str]) -> nbformat.NotebookNode:
    """A copy of the student notebook with the given answer cells replaced by `answers`."""
    nb = nbformat.from_dict(student)
    known = {grade_id(cell) for cell in nb.cells if is_answer_cell(cell)}
    unknown = set(answers) - known
    if unknown:
        raise KeyError(f"no answer cells named {sorted(unknown)}; the notebook has {sorted(known)}")
    for cell in nb.cells:
        if is_answer_cell(cell) and grade_id(cell) in answers:
            cell.source = answers[grade_id(cell)]
    return nb


def without_hidden_tests(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of an instructor notebook whose test cells keep their visible tests only."""
    copy = nbformat.from_dict(nb)
    for cell in copy.cells:
        if cell.cell_type == "code":
            cell.source = HIDDEN_REGION.sub("", cell.source)
    return copy


def grader_test_source(cell: nbformat.NotebookNode) -> str:
    """The code the grader runs for a test cell: visible tests and hidden tests, in order.

    With `HIDDEN_ONLY` as the hidden region's first line, the hidden tests alone.
    """
    bodies = [match["body"] for match in HIDDEN_BODY.finditer(cell.source)]
    if bodies and bodies[0].lstrip().startswith(HIDDEN_ONLY):
        return "".join(bodies)
    regions = iter(bodies)
    return HIDDEN_REGION.sub(lambda m: next(regions), cell.source)


def grader_test_segments(cell: nbformat.NotebookNode) -> list[tuple[str, bool]]:
    """The code the grader runs for a test cell, in order, as (code, is_hidden) pieces.

    The visible code and each hidden region, as `grader_test_source` joins them; with
    `HIDDEN_ONLY` as the hidden region's first line, the hidden regions alone. A failure is
    told in full in a visible piece and in the test's own words in a hidden one
    (`grader.failure_text`).
    """
    bodies = [match["body"] for match in HIDDEN_BODY.finditer(cell.source)]
    if bodies and bodies[0].lstrip().startswith(HIDDEN_ONLY):
        return [(body, True) for body in bodies]
    pieces, end = [], 0
    for match, body in zip(HIDDEN_REGION.finditer(cell.source), bodies, strict=True):
        pieces += [(cell.source[end : match.start()], False), (body, True)]
        end = match.end()
    pieces.append((cell.source[end:], False))
    return [(code, hidden) for code, hidden in pieces if code.strip()]


def defined_names(source: str) -> list[str]:
    """Top-level names an answer cell defines (functions, classes, assigned variables)."""
    try:
        tree = ast.parse(MARKER_LINE.sub("", source))
    except SyntaxError:
        return []
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for leaf in ast.walk(target):
                    if isinstance(leaf, ast.Name):
                        names.append(leaf.id)
    return list(dict.fromkeys(names))
