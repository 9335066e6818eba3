"""`autograde`'s progress: one line per finished submission, with an estimate of the time left.

A line reads `[3/40] ada  graded  12.3 s  about 4 min 05 s left`: how many of this run's
submissions are finished, the student, the status, the seconds grading took, and the time
left, the mean seconds per finished submission times the submissions left, divided by the
jobs that grade at once. On a Dask cluster (jobs unknown: the workers' threads) the estimate
is the wall-clock time so far per finished submission times the submissions left.

The lines go to the terminal's stderr (stdout keeps the table that scripts read) and, each
with the time (UTC) and the chapter, to `<course>/logs/autograde-progress.log`, appended.
Submissions kept from an earlier run or not submitted are not graded and not counted.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, TextIO

PROGRESS_LOG = "autograde-progress.log"  # in <course>/logs/


class Finished(Protocol):
    student: str
    status: str
    seconds: float


def format_duration(seconds: float) -> str:
    """`12 s`, `4 min 05 s`, `1 h 02 min`."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def seconds_left(seconds: list[float], remaining: int, jobs: int) -> float:
    """Mean seconds per finished submission x the submissions left / the jobs at once."""
    return statistics.fmean(seconds) * remaining / max(1, jobs) if seconds else 0.0


def progress_line(done: int, total: int, result: Finished, left: float | None) -> str:
    """The line for the `done`-th of `total` finished results; `left`: seconds, None at the end."""
    width = len(str(total))
    if done >= total or left is None:
        estimate = "all done"
    else:
        estimate = f"about {format_duration(left)} left"
    return (
        f"[{done:>{width}}/{total}] {result.student:<14} {result.status:<10} "
        f"{result.seconds:6.1f} s  {estimate}"
    )


class Progress:
    """Counts the finished results of one `autograde` run; prints and logs a line for each."""

    def __init__(
        self, course: Path, chapter: str, total: int, jobs: int | None, stream: TextIO
    ) -> None:
        self.chapter, self.total, self.jobs, self.stream = chapter, total, jobs, stream
        self.log = Path(course) / "logs" / PROGRESS_LOG
        self.seconds: list[float] = []
        self.started = time.monotonic()
        at_once = f"{jobs} at a time" if jobs else "on the cluster"
        self._say(f"autograde {chapter}: {total} submissions to grade, {at_once}")

    def finished(self, result: Finished) -> str:
        """Count one finished result; return the line that was printed and logged."""
        self.seconds.append(float(result.seconds))
        done = len(self.seconds)
        remaining = self.total - done
        if self.jobs:
            left = seconds_left(self.seconds, remaining, self.jobs)
        else:
            left = (time.monotonic() - self.started) / done * remaining
        line = progress_line(done, self.total, result, left)
        self._say(line)
        return line

    def _say(self, line: str) -> None:
        print(line, file=self.stream, flush=True)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self.log.open("a", encoding="utf-8") as handle:
            handle.write(f"{stamp} {self.chapter} {line}\n")
