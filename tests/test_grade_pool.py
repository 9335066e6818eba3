"""grader.grade_pool's local pool, with the grading function replaced by a stand-in.

Every submission comes back once, with its own result or the exception its task raised, as
soon as it finishes; at most `jobs` run at a time. tests/test_distributed.py grades on a real
Dask cluster.
"""

from __future__ import annotations

import threading
import time

from grader import grade_pool
from grader.grade_result import GradeResult
from grader.grade_task import Chapter, Settings, Submission

CHAPTER = Chapter("01-kernels", b"source", b"release", b"hidden")


def test_each_submission_comes_back_once_with_its_result_or_its_error(monkeypatch):
    running, most = [0], [0]
    lock = threading.Lock()

    def grade(chapter, submission, version, settings):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05 if submission.student != "slow" else 0.6)
        with lock:
            running[0] -= 1
        if submission.student == "broken":
            raise RuntimeError("the worker died")
        return GradeResult(submission.student, chapter.name, "graded")

    monkeypatch.setattr(grade_pool, "grade_submission", grade)
    students = ["slow", "ada", "broken", "bo", "cy"]
    submissions = [Submission(name, name.encode()) for name in students]
    outcomes = list(grade_pool.grade_locally(2, CHAPTER, submissions, "v", Settings()))

    assert sorted(s.student for s, _ in outcomes) == sorted(students)
    assert outcomes[-1][0].student == "slow"  # yielded when it finished, not in order
    for submission, result in outcomes:
        if submission.student == "broken":
            assert isinstance(result, RuntimeError)
        else:
            assert result.student == submission.student
    assert most[0] == 2
