"""Rebuild a submission from the released notebook: only the student's answers are kept.

What nbgrader grades is the released student notebook with each answer cell's source taken
from the submission, matched by grade_id. Every locked, test and task cell, all metadata
(points, lock flags, checksums, the kernel) and the cell order come from the release; cells the
student added, outputs and the submission's metadata are dropped. A submission whose structure
does not match (an answer cell missing, duplicated or turned into another cell type) is graded
from what can be matched, and each mismatch is reported as a flag.
"""

from __future__ import annotations

import nbformat

from grader.notebooks import cells_by_grade_id, grade_id, nbgrader_meta

MAX_ANSWER_CHARS = 200_000  # one answer cell longer than this is cut and flagged


def _text(source) -> str:
    if isinstance(source, list):
        return "".join(str(part) for part in source)
    return source if isinstance(source, str) else ""


def rebuild(
    submitted: nbformat.NotebookNode, release: nbformat.NotebookNode
) -> tuple[nbformat.NotebookNode, list[str]]:
    """The notebook to grade, and what did not match. `release` is the student version."""
    found = cells_by_grade_id(submitted)
    released = {_text(c.source) for c in release.cells if not grade_id(c)}
    grouped = {id(cell) for copies in found.values() for cell in copies}
    own_cells = sum(
        isinstance(cell, dict)
        and id(cell) not in grouped
        and cell.get("cell_type") == "code"
        and _text(cell.get("source")) not in released
        for cell in submitted.get("cells", [])
    )
    flags = []
    rebuilt = nbformat.from_dict(release)
    for cell in rebuilt.cells:
        cell.pop("attachments", None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        if not nbgrader_meta(cell).get("solution"):
            continue  # locked, test and task cells: the release's own
        name = grade_id(cell)
        copies = found.get(name, [])
        if not copies:
            flags.append(f"{name}: answer cell missing (graded as unanswered)")
            continue
        if len(copies) > 1:
            flags.append(f"{name}: answer cell appears {len(copies)} times (the first is graded)")
        theirs = copies[0]
        if theirs.get("cell_type") != cell.cell_type:
            flags.append(f"{name}: answer cell changed to {theirs.get('cell_type')} (not graded)")
            continue
        text = _text(theirs.get("source"))
        if len(text) > MAX_ANSWER_CHARS:
            flags.append(f"{name}: answer cut to {MAX_ANSWER_CHARS:,} characters")
            text = text[:MAX_ANSWER_CHARS]
        cell.source = text
    known = {grade_id(cell) for cell in rebuilt.cells}
    strays = sorted(n for n in found if n not in known)
    if strays:
        flags.append(f"cells with unknown grade ids dropped: {', '.join(strays)[:300]}")
    if own_cells:
        flags.append(
            f"{own_cells} code cells of the student's own dropped (only answer cells count)"
        )
    return rebuilt, flags
