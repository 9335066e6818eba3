"""Where the course's files are: the repository root and the folders the grader reads."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


SOLUTIONS_DIR = REPO_ROOT / "solutions"


CHAPTERS_DIR = REPO_ROOT / "chapters"


NOTEBOOK = "exercises.ipynb"


def wrong_answers_file(chapter: str) -> Path:
    """The chapter's made-up answers and the parts each must lose (`course-grade selftest`)."""
    return SOLUTIONS_DIR / chapter / "wrong_answers.yml"


def equivalent_mutants_file(chapter: str) -> Path:
    """Mutants of the chapter's reference that behave exactly like it (`course-mutants`)."""
    return SOLUTIONS_DIR / chapter / "equivalent_mutants.yml"


def graded_chapters() -> list[str]:
    """Names of the chapters that have a graded notebook, e.g. ['01-kernels', ...]."""
    return sorted(p.parent.name for p in SOLUTIONS_DIR.glob(f"*/{NOTEBOOK}"))


def lesson_notebooks() -> list[Path]:
    """Every lesson notebook, the book's executed pages: chapters/*/*.ipynb but the graded
    exercises (the book shows those unexecuted)."""
    return sorted(p for p in CHAPTERS_DIR.glob("*/*.ipynb") if p.name != NOTEBOOK)
