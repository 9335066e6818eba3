"""`make check NB=...`: run a student's notebook as the grader will and report each graded part.

    python -m helpers.precheck chapters/01-kernels/exercises.ipynb

One row per graded part: answered or not, and whether its visible checks pass (with the first
line of a failure and its hint). Only the visible tests run here; the hidden tests run when the
work is graded. Exit status 0 when every part is answered and passes its visible checks, else 1.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

import nbformat

# nbgrader's stub for an answer not written yet (the course's ClearSolutions.code_stub).
STUB = re.compile(r"^\s*raise NotImplementedError\b", re.M)
PART = re.compile(r"^#+\s*(Part\s+\d+)", re.M)
HIDDEN = "The hidden tests run when your work is graded."


def _kernel_env() -> dict[str, str]:
    """The kernel's environment: this Python's bin/ first, fast and offline mode, quiet TF."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("COURSE_FAST", "1")
    env.setdefault("COURSE_OFFLINE", "1")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return env


def run_notebook(nb, folder: Path, timeout: int = 300) -> str | None:
    """Execute `nb` in place in a fresh kernel; None, or why it stopped before the end.

    The kernel talks over Unix sockets in a private folder (POSIX), so ipykernel has no reason
    to warn about unencrypted TCP; its own stderr goes to a file, shown only if it dies."""
    from nbclient import NotebookClient
    from traitlets.config import Config

    with tempfile.TemporaryDirectory(prefix="precheck-") as tmp:
        config = Config()
        if os.name == "posix":
            config.KernelManager.update(transport="ipc", ip=f"{tmp}/kernel")
        client = NotebookClient(
            nb,
            config=config,
            timeout=timeout,
            allow_errors=True,
            interrupt_on_timeout=True,
            kernel_name="python3",
            resources={"metadata": {"path": str(folder)}},
        )
        log = Path(tmp) / "kernel.log"
        with log.open("w") as stderr:
            try:
                client.execute(env=_kernel_env(), stderr=stderr)
            except Exception as error:  # the kernel died or did not start
                tail = log.read_text().strip().splitlines()[-3:]
                why = f"{type(error).__name__}: {error}".strip().splitlines()[0]
                return "; ".join([why, *tail])
    return None


def _error(cell) -> dict | None:
    return next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)


def _failure(error: dict, prefix: str = "") -> list[str]:
    """A failed check as its first line and its hint; any other error as `Name: first line`."""
    lines = str(error.get("evalue", "")).strip().splitlines() or [""]
    first = lines[0] if error.get("ename") == "CheckFailed" else f"{error['ename']}: {lines[0]}"
    hints = [line for line in lines[1:] if line.startswith("Hint:")]
    return [f"failed: {prefix}{first}".rstrip(), *hints]


def part_rows(nb) -> list[dict]:
    """One row per graded part: its name, points, answered or not, and the visible verdict."""
    rows, answers, name = [], [], None
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        meta = meta if isinstance(meta, dict) else {}
        if cell.cell_type == "markdown" and PART.search(cell.source):
            name = PART.search(cell.source).group(1)
        elif cell.cell_type == "code" and meta.get("solution") and not meta.get("grade"):
            answers.append(cell)
        elif cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            answered = bool(answers) and not any(STUB.search(a.source) for a in answers)
            broken = next((e for a in answers if (e := _error(a))), None)
            if not answered or any(a.get("execution_count") is None for a in [*answers, cell]):
                verdict = ["not run"]
            elif broken:
                verdict = _failure(broken, "your answer cell raised ")
            elif (error := _error(cell)) is not None:
                verdict = _failure(error)
            else:
                verdict = ["passed"]
            rows.append(
                {
                    "part": name or meta.get("grade_id", "?"),
                    "points": meta.get("points", 0),
                    "answered": answered,
                    "verdict": verdict,
                }
            )
            answers, name = [], None
    return rows


def format_table(rows: list[dict]) -> str:
    table = [("Part", "Points", "Answer", "Visible checks")]
    for row in rows:
        n = int(row["points"]) if float(row["points"]).is_integer() else row["points"]
        answer = "answered" if row["answered"] else "not answered"
        table.append((row["part"], f"{n} point{'s' * (n != 1)}", answer, row["verdict"][0]))
        table.extend(("", "", "", line) for line in row["verdict"][1:])
    widths = [max(len(r[i]) for r in table) for i in range(3)]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r[:3], widths, strict=True)) + "  " + r[3]
        for r in table
    )


def check_notebook(path: Path, timeout: int = 300) -> tuple[bool, str]:
    """Run a student's notebook as the grader will; (every part answered and passing, report).

    Unlike `nbgrader validate` (jupyter/nbgrader#1908) the result can drive an exit code."""
    nb = nbformat.read(path, as_version=4)
    stopped = run_notebook(nb, Path(path).parent, timeout)
    rows = part_rows(nb)
    if not rows:
        return False, f"{path} has no graded parts: is it an exercises notebook?"
    good = sum(r["answered"] and r["verdict"] == ["passed"] for r in rows)
    lines = [format_table(rows)] + [f"The notebook stopped early: {stopped}"] * bool(stopped)
    count = f"All {good}" if good == len(rows) else f"{good} of {len(rows)}"
    lines.append(f"{count} parts answered and passing their visible checks. {HIDDEN}")
    return good == len(rows) and not stopped, "\n".join(lines)


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
