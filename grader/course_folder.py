"""The course folder's layout, named once: where each step of the round reads and writes.

    <course>/
      source/<chapter>/exercises.ipynb    nbgrader's source, without hidden tests   release
      hidden/<chapter>/exercises.ipynb    the full instructor notebook (grader only) release
      release/<chapter>/exercises.ipynb   the student version; release/<name>.zip    release
      submitted/<student>/<chapter>/      the collected notebook, timestamp.txt      collect
      rebuilt/<student>/<chapter>/        what nbgrader grades (a task's own folder) autograde
      autograded/<student>/<chapter>/     nbgrader's graded copy                     autograde
      feedback/<student>/<chapter>/       the student's HTML page                    feedback
      exports/                            scores.csv, summary.csv, the LMS files     export

Every module that builds one of these paths asks `CourseFolder`; tests/test_layout.py fails on
a folder name written as a string anywhere else in `grader/`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from grader.paths import NOTEBOOK

SOURCE = "source"
HIDDEN = "hidden"
RELEASE = "release"
SUBMITTED = "submitted"
REBUILT = "rebuilt"
AUTOGRADED = "autograded"
FEEDBACK = "feedback"
EXPORTS = "exports"
TIMESTAMP = "timestamp.txt"  # the submission's time, beside it in submitted/ and autograded/
# A student id names the student's folders: the one pattern, for every source (LMS, tree,
# roster) and every command.
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
ID_RULE = "1-64 of A-Z a-z 0-9 . _ -, a letter or digit first, no '..'"


def valid_student_id(text: object) -> bool:
    """Whether `text` may name a student: `STUDENT_ID`, and no '..' anywhere in it."""
    return isinstance(text, str) and bool(STUDENT_ID.fullmatch(text)) and ".." not in text


def timestamp_file(folder: Path) -> Path | None:
    """`folder`'s TIMESTAMP when it may be read: a regular file, not a symlink, under 100 bytes."""
    stamp = Path(folder) / TIMESTAMP
    if stamp.is_file() and not stamp.is_symlink() and stamp.stat().st_size < 100:
        return stamp
    return None


@dataclass(frozen=True)
class CourseFolder:
    """The paths of one course folder (`root`), by step."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    def source(self, chapter: str) -> Path:
        return self.root / SOURCE / chapter / NOTEBOOK

    def hidden(self, chapter: str) -> Path:
        return self.root / HIDDEN / chapter / NOTEBOOK

    def release(self, chapter: str) -> Path:
        return self.root / RELEASE / chapter / NOTEBOOK

    def submitted(self, student: str, chapter: str) -> Path:
        """The student's folder for the chapter (the notebook, `TIMESTAMP`)."""
        return self.root / SUBMITTED / student / chapter

    def submitted_students(self, chapter: str) -> list[str]:
        """Students with a folder for `chapter` under submitted/."""
        return sorted(p.parent.name for p in (self.root / SUBMITTED).glob(f"*/{chapter}"))

    def autograded(self, student: str, chapter: str) -> Path:
        return self.root / AUTOGRADED / student / chapter

    def feedback_root(self) -> Path:
        return self.root / FEEDBACK

    def exports(self) -> Path:
        return self.root / EXPORTS
