"""Where the course's files are: the repository root and the folders the grader reads."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


WRONG_ANSWERS_DIR = REPO_ROOT / "tests" / "wrong_answers"


SOLUTIONS_DIR = REPO_ROOT / "solutions"


CHAPTERS_DIR = REPO_ROOT / "chapters"


NOTEBOOK = "exercises.ipynb"


def graded_chapters() -> list[str]:
    """Names of the chapters that have a graded notebook, e.g. ['01-kernels', ...]."""
    return sorted(p.parent.name for p in SOLUTIONS_DIR.glob(f"*/{NOTEBOOK}"))
