"""Reading a submission for review: unreadable notebooks, suspicious code, edited locked cells."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat

from grader.notebooks import (
    HIDDEN_REGION,
    SOLUTION_REGION,
    cells_by_grade_id,
    grade_id,
    is_test_cell,
)

GUARDED_MODULES = {"checks", "np", "numpy", "math", "tf", "tensorflow", "testing", "builtins"}


SUSPICIOUS_CALLS = {
    "exit": "calls exit()",
    "quit": "calls quit()",
    "sys.exit": "calls sys.exit()",
    "os._exit": "calls os._exit()",
    "os.kill": "sends a signal",
    "os.fork": "forks",
    "os.system": "runs a shell command",
    "setattr": "sets an attribute with setattr()",
    "get_ipython": "reaches into the IPython shell",
}


SUSPICIOUS_IMPORTS = {
    "socket": "opens network sockets",
    "subprocess": "runs programs",
    "ctypes": "calls C code",
    "builtins": "touches builtins",
    "gc": "walks the garbage collector",
    "inspect": "inspects frames",
    "signal": "handles signals",
    "importlib": "reloads modules",
    "urllib": "uses the network",
    "requests": "uses the network",
}


def notebook_problem(path: Path) -> str | None:
    """Why a submitted notebook cannot be read at all (None when it can): bad JSON, format."""
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as error:  # truncated JSON, wrong nbformat, invalid structure
        return f"not a readable notebook ({type(error).__name__}: {str(error)[:200]})"
    if not nb.cells:
        return "a notebook without cells"
    return None  # repeated or missing grade ids: graded from what matches (grader.rebuild)


def scan_code(nb: nbformat.NotebookNode) -> list[str]:
    """Flags for review from the student's own cells: patched checking tools, exits, sockets.

    A scan cannot prove intent; it points a human at the cells worth reading.
    """
    flags = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("locked") or meta.get("grade"):
            continue  # locked and test cells are replaced by the instructor's copy anyway
        where = grade_id(cell) or "an unmarked cell"
        source = re.sub(r"^\s*[!%].*$", "", cell.source, flags=re.M)  # IPython magics
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete):
                targets = (
                    node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
                )
                for target in targets:
                    base = target
                    while isinstance(base, ast.Attribute):
                        base = base.value
                    if isinstance(target, ast.Attribute) and isinstance(base, ast.Name):
                        if base.id in GUARDED_MODULES or base.id in {"sys", "os", "IPython"}:
                            flags.append(f"{where}: replaces {ast.unparse(target)}")
            elif isinstance(node, ast.FunctionDef) and node.name in {"__eq__", "__ne__"}:
                flags.append(f"{where}: defines {node.name} (an always-equal object?)")
            elif isinstance(node, ast.Call):
                name = ast.unparse(node.func)
                if name in SUSPICIOUS_CALLS:
                    flags.append(f"{where}: {SUSPICIOUS_CALLS[name]}")
            elif isinstance(node, ast.Import | ast.ImportFrom):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                )
                for module in names:
                    top = module.split(".")[0]
                    if top in SUSPICIOUS_IMPORTS:
                        flags.append(f"{where}: imports {module} ({SUSPICIOUS_IMPORTS[top]})")
            elif isinstance(node, ast.Attribute) and node.attr in {"stderr", "showtraceback"}:
                flags.append(f"{where}: uses {ast.unparse(node)}")
    return sorted(set(flags))


def tampering(nb: nbformat.NotebookNode, source: nbformat.NotebookNode) -> list[str]:
    """Differences in the locked cells between a submission and the instructor's notebook.

    nbgrader grades with its own copy of these cells anyway; this says what a student changed.
    """
    mine = {grade_id(c): c for c in source.cells if grade_id(c)}
    theirs = cells_by_grade_id(nb)
    notes = []
    for name, cell in mine.items():
        meta = cell.metadata.nbgrader
        if not (meta.get("locked") or meta.get("grade")):
            continue
        copies = theirs.get(name, [])
        if not copies:
            notes.append(f"{name}: deleted (put back from the release)")
            continue
        if len(copies) > 1:
            notes.append(f"{name}: duplicated")
        got = copies[0]
        if got.cell_type != cell.cell_type:
            notes.append(f"{name}: cell type changed to {got.cell_type}")
        got_meta = got.metadata.get("nbgrader", {})
        if meta.get("grade") and got_meta.get("points") != meta.get("points"):
            notes.append(f"{name}: points changed to {got_meta.get('points')}")
        if got_meta.get("locked") != meta.get("locked") or got_meta.get("grade") != meta.get(
            "grade"
        ):
            notes.append(f"{name}: lock or grade flag changed")
        if is_test_cell(cell) and SOLUTION_REGION.sub("", got.source).strip() != (
            HIDDEN_REGION.sub("", cell.source).strip()
        ):
            notes.append(f"{name}: test code edited")
    return notes


def not_executed(nb: nbformat.NotebookNode) -> list[str]:
    """Grade ids (or cell numbers) of code cells that never ran in an autograded notebook."""
    return [
        grade_id(cell) or f"cell {index}"
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and cell.source.strip() and cell.get("execution_count") is None
    ]
