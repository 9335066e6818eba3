"""Where the grading tasks run: a local pool of threads, or a Dask cluster on many machines.

Both run the same pure function, `grader.grade_task.grade_submission`, once per submission, and
yield each (submission, result) as it finishes, so that the instructor's process commits it at
once (`grader.grade_store.commit`). A task that raised yields its exception instead.

On a cluster (`course-grade autograde CHAPTER --scheduler tls://HOST:8786`) each submission is
one task with a key made of the chapter, the student and the hashes (the same submission with
the same grader and settings is the same task). The chapter's notebooks travel once, as a task
of their own that the grading tasks depend on: should the worker holding them die, the
scheduler makes them again elsewhere. A worker that dies mid-task leaves that task to be rerun
on another worker; one that kills `distributed.scheduler.allowed-failures` + 1 workers (3 by
default) is given up with `KilledWorker`, reported, and graded again by the next run.

The cluster is reached over mutual TLS with the course's certificates (`grader.cluster`). A
worker runs `task_data.grade_as_data`, which answers with plain data only; this process reads
it as msgpack (a result serialized any other way, pickle included, is refused) and checks every
field's type (`task_data.result_from_data`) before anything is committed.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterable, Iterator

from grader.cluster import Connection
from grader.grade_task import Chapter, GradeResult, Settings, Submission, grade_submission
from grader.task_data import RemoteError, grade_as_data, result_from_data

Outcome = tuple[Submission, GradeResult | BaseException]


def grade_locally(
    jobs: int,
    chapter: Chapter,
    submissions: Iterable[Submission],
    version: str,
    settings: Settings,
) -> Iterator[Outcome]:
    """Grade `jobs` submissions at a time in this process's threads (each in its own nbgrader)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        running = {
            pool.submit(grade_submission, chapter, s, version, settings): s for s in submissions
        }
        for future in concurrent.futures.as_completed(running):
            error = future.exception()
            yield running[future], error if error is not None else future.result()


def grade_on_cluster(
    cluster: Connection,
    chapter: Chapter,
    submissions: Iterable[Submission],
    version: str,
    settings: Settings,
    window: int | None = None,
) -> Iterator[Outcome]:
    """Grade on the Dask `cluster`, keeping at most `window` tasks queued there.

    The default window is four tasks per worker thread (at least 32): enough to keep every
    worker busy, few enough that 10,000 submissions never sit in the scheduler's memory at once.
    """
    from distributed import as_completed

    pending = list(submissions)
    with cluster.client() as client:
        threads = sum(client.nthreads().values())
        window = window or max(32, 4 * threads)
        notebooks = client.submit(
            _notebooks, chapter, key=f"chapter-{chapter.name}-{chapter.digest()[:16]}"
        )

        def send(submission: Submission):
            key = (
                f"grade-{chapter.name}-{submission.student}-{submission.sha256[:16]}-"
                f"{version[:12]}-{settings.digest()[:8]}"
            )
            future = client.submit(
                grade_as_data, notebooks, submission, version, settings, key=key, retries=0
            )
            owner[future.key] = submission
            return future

        owner: dict[str, Submission] = {}
        queue = as_completed([send(s) for s in pending[:window]])
        pending = pending[window:]
        for future in queue:
            submission = owner.pop(future.key)
            try:
                outcome: GradeResult | BaseException = result_from_data(future.result())
            except Exception as error:  # KilledWorker; a result that is not plain data
                outcome = RemoteError(f"{type(error).__name__}: {error}")
            future.release()
            if pending:
                queue.add(send(pending.pop(0)))
            yield submission, outcome
        notebooks.release()


def _notebooks(chapter: Chapter) -> Chapter:
    """The chapter as a task's result: remade from the task's own copy if a worker is lost."""
    return chapter
