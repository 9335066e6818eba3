"""What grading one submission gave: one result type, from the task to the gradebook.

`grader.nbgrader_run.grade_student` fills how the run went (status, message, flags, times,
peaks); `grader.grade_task.grade_submission` adds the key it is kept under and what nbgrader
wrote per part (scores, comments, the autograded notebook); `grader.task_data` checks each
field when a result crosses a cluster; `grader.grade_store` commits it and logs the
`LOG_FIELDS`, from which a later run reuses it (`from_log`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields


@dataclass
class GradeResult:
    """How grading one student's notebook went, and what it gave per graded part."""

    student: str
    chapter: str
    status: str  # "graded", "missing", "corrupt", "time limit", "error"
    seconds: float = 0.0
    message: str = ""
    flags: list[str] = field(default_factory=list)
    attempts: int = 1
    kernel_peaks: dict[str, int] = field(default_factory=dict)  # sandbox cgroups: memory, pids
    grader_peak: int = 0  # the grading process's peak resident memory, bytes
    sandbox_uid: int | None = None
    # What the result is kept under (grader.grade_store): the submission, the grader, settings.
    sha256: str = ""
    grader_version: str = ""
    settings: str = ""
    worker: str = ""  # the host that graded it
    reused: bool = False  # True: kept from an earlier run, not graded again
    # What nbgrader wrote, per grade id (None: no gradebook entry, nothing to write).
    scores: dict[str, float | None] | None = None
    needs_manual: dict[str, bool] = field(default_factory=dict)
    comments: dict[str, str | None] = field(default_factory=dict)
    timestamp: str | None = None  # the submission's time as nbgrader read it (ISO)
    late_penalty: float | None = None
    notebook: bytes | None = None  # the autograded notebook
    log: str = ""  # nbgrader's output when it failed
    workdir: str = ""  # the temporary course folder it was graded in (named in messages)

    def log_entry(self) -> dict:
        """The fields grading-log.json keeps (how it went and its key; no scores or bytes)."""
        return {name: getattr(self, name) for name in LOG_FIELDS}

    @classmethod
    def from_log(cls, entry: dict) -> GradeResult:
        """A result as the log holds it, marked as reused (unknown keys are dropped)."""
        return cls(**{**{k: v for k, v in entry.items() if k in LOG_FIELDS}, "reused": True})


# What nbgrader wrote: committed to the gradebook and autograded/, never to the log.
PAYLOAD = (
    "scores",
    "needs_manual",
    "comments",
    "timestamp",
    "late_penalty",
    "notebook",
    "log",
    "workdir",
)
LOG_FIELDS = tuple(f.name for f in fields(GradeResult) if f.name not in PAYLOAD)
