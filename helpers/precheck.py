"""`make check NB=...`: run a student's notebook as the grader will and report each visible test.

    python -m helpers.precheck chapters/01-kernels/exercises.ipynb

Only the visible tests run here; the hidden tests run when the work is graded.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _kernel_env() -> dict[str, str]:
    """The kernel's environment: this Python's bin/ first, fast and offline mode, quiet TF."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("COURSE_FAST", "1")
    env.setdefault("COURSE_OFFLINE", "1")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return env


def check_notebook(path: Path, timeout: int = 300) -> tuple[bool, str]:
    """Run a student's notebook as the grader will and report each visible test.

    Returns (all passed, report). Unlike `nbgrader validate` (jupyter/nbgrader#1908) the result
    can drive an exit code. A notebook that stops early (e.g. `sys.exit()`) fails: every code
    cell must have run.
    """
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=timeout, allow_errors=True, kernel_name="python3",
        resources={"metadata": {"path": str(Path(path).parent)}},
    )  # fmt: skip
    client.execute(env=_kernel_env())  # the kernel's environment, not this process's
    lines, passed = [], True
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if cell.get("execution_count") is None:
            passed = False
            lines.append(f"NOT RUN  {_grade_id(cell) or 'a code cell'}: the notebook stopped early")
            break
        if meta.get("grade") and not meta.get("solution"):
            if errors:
                passed = False
                message = f"{errors[0]['ename']}: {errors[0]['evalue']}".strip()
                lines.append(f"FAIL     {_grade_id(cell)} ({meta.get('points', 0)} points)")
                lines.extend(f"           {line}" for line in message.splitlines())
            else:
                lines.append(f"pass     {_grade_id(cell)} ({meta.get('points', 0)} points)")
        elif errors and errors[0]["ename"] == "NotImplementedError":
            lines.append(f"TODO     {_grade_id(cell) or 'a cell'}: no answer written yet")
    verdict = "All visible tests pass." if passed else "Some visible tests fail (see above)."
    lines.append(verdict + " Hidden tests run when your work is graded.")
    return passed, "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m helpers.precheck chapters/01-kernels/exercises.ipynb")
        return 2
    path = Path(args[0])
    if not path.exists():
        print(f"No such notebook: {path}")
        return 2
    passed, report = check_notebook(path)
    print(report)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
