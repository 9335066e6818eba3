"""`course-grade benchmark`: grade a generated class serially and in parallel, and time it.

With `scheduler` the class is graded once on that Dask cluster instead (`grader.grade_pool`):
seconds per submission, and per submission and worker thread.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path

import nbformat

from grader.autograde import autograde
from grader.course_folder import CourseFolder
from grader.notebooks import fill_answers
from grader.release import release
from grader.selftest import load_fixtures, submit


def make_class(course: Path, chapter: str, size: int) -> list[str]:
    """Submit `size` made-up notebooks for `chapter`: the chapter's fixtures, round robin."""
    student_nb = nbformat.read(CourseFolder(course).release(chapter), as_version=4)
    fixtures = load_fixtures(chapter)
    names = []
    for number in range(size):
        fixture = fixtures[number % len(fixtures)]
        nb = student_nb if fixture.answers is None else fill_answers(student_nb, fixture.answers)
        name = f"s{number:03d}-{fixture.student}"
        submit(course, chapter, name, nb)
        names.append(name)
    return names


class MemorySampler:
    """Peak memory of this process's children (graders and kernels), sampled: the proportional
    set size, so that the pages the forked graders share with their forkserver count once."""

    def __init__(self, interval: float = 0.25) -> None:
        self.peak, self.interval, self._stop = 0, interval, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for child in me.children(recursive=True):
                try:
                    total += child.memory_full_info().pss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def benchmark(
    chapters: list[str],
    size: int,
    jobs: list[int],
    cell_timeout: int | None = None,
    use_sandbox: bool = True,
    scheduler: str | None = None,
) -> str:
    """Grade a generated class of `size` submissions per chapter once per value of `jobs`,
    or once on the Dask cluster at `scheduler`; every run grades the whole class again."""
    where = "in the sandbox" if use_sandbox else "without the sandbox"
    lines = [f"benchmark: {size} submissions per chapter, {os.cpu_count()} CPUs, {where}"]
    with tempfile.TemporaryDirectory(prefix="nbgrader-bench-") as tmp:
        course = Path(tmp) / "course"
        release(course, chapters)
        for chapter in chapters:
            names = make_class(course, chapter, size)
            base = None
            for n in [None] if scheduler else jobs:
                start = time.perf_counter()
                with MemorySampler() as memory:
                    results = autograde(
                        course,
                        chapter,
                        names,
                        jobs=n or 1,
                        cell_timeout=cell_timeout,
                        use_sandbox=use_sandbox,
                        scheduler=scheduler,
                        regrade=True,
                    )
                seconds = time.perf_counter() - start
                base = base or seconds
                bad = [r.student for r in results if r.status != "graded"]
                if n:
                    how, threads = f"--jobs {n}", n
                    used = f"peak memory {memory.peak / 2**30:5.2f} GiB"
                else:
                    workers, threads = _cluster(scheduler)
                    address = getattr(scheduler, "address", scheduler)
                    how = f"--scheduler {address} ({workers} workers, {threads} threads)"
                    used = "memory on the workers not measured"
                lines.append(
                    f"{chapter} {how}: {seconds:7.1f} s in all, "
                    f"{seconds / size:5.1f} s per submission "
                    f"({seconds * threads / size:5.1f} s per submission and thread), "
                    f"speed-up {base / seconds:4.2f}x, {used}"
                    + (f", not graded: {bad}" if bad else "")
                )
                print(lines[-1], flush=True)
    return "\n".join(lines)


def _cluster(scheduler) -> tuple[int, int]:
    """The cluster's workers and threads, as the scheduler knows them now."""
    from grader.cluster import connection
    from grader.course import default_course

    with connection(scheduler, default_course()).client() as client:
        threads = client.nthreads()
    return len(threads), sum(threads.values())
