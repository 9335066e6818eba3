"""`course-students`: write the student notebooks, `chapters/NN-topic/exercises.ipynb`, from
`solutions/` with nbgrader, or check that the committed ones are what nbgrader makes.

    course-students                  # regenerate every student notebook (`make students`)
    course-students --check          # exit 1 if a committed one is out of date
    course-students --check 01-kernels 09-detection   # some chapters only

A student notebook is never edited by hand: edit the solution, then run this and commit both.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from grader.course import make_course
from grader.paths import CHAPTERS_DIR, NOTEBOOK, graded_chapters
from grader.student_notebooks import generate_student_notebook, student_notebook_text


def write_student_notebooks(
    check: bool = False, chapters: list[str] | None = None, chapters_dir: Path = CHAPTERS_DIR
) -> list[str]:
    """Regenerate `chapters_dir/NN-topic/exercises.ipynb` for `chapters` (default: all graded
    ones); return the chapters whose notebook was out of date. With `check`, write nothing."""
    stale = []
    with tempfile.TemporaryDirectory(prefix="nbgrader-course-") as tmp:
        course = make_course(Path(tmp))
        for chapter in chapters or graded_chapters():
            text = student_notebook_text(generate_student_notebook(chapter, course))
            target = Path(chapters_dir) / chapter / NOTEBOOK
            if not target.exists() or target.read_text() != text:
                stale.append(chapter)
                if not check:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(text)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="course-students",
        description="Write (or --check) chapters/*/exercises.ipynb from solutions/ with nbgrader.",
    )
    parser.add_argument("chapters", nargs="*", help="e.g. 01-kernels (default: every chapter)")
    parser.add_argument("--check", action="store_true", help="only report stale notebooks")
    parser.add_argument(
        "--chapters-dir",
        type=Path,
        default=CHAPTERS_DIR,
        help="folder of the chapters to write or check (default: the repository's chapters/)",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.chapters) - set(graded_chapters()))
    if unknown:
        parser.error(f"no graded chapter {', '.join(unknown)}; known: {graded_chapters()}")
    stale = write_student_notebooks(args.check, args.chapters or None, args.chapters_dir)
    if args.check and stale:
        print(f"Out of date: {', '.join(stale)}. Run `make students` and commit the result.")
        return 1
    print(f"Regenerated: {', '.join(stale)}" if stale and not args.check else "Up to date.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
