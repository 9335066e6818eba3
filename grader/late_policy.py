"""Late policy, extensions and slip days: what `export` and `summary` apply to each score.

The policy is `<course>/late_policy.yml` (none: `export` is exactly as without this module):

    due:                                  # every chapter the policy covers, with its UTC offset
      01-kernels: 2026-02-02T23:59:00+01:00
      02-convolution: "2026-02-16T23:59:00Z"
    penalty:
      per_day: 0.1                        # share of the score lost per late day ...
      cap: 0.5                            # ... never more than this share in all
      # cutoff: true                      # or: zero after the deadline (no per_day/cap)
    slip_days: 3                          # per student for the whole term (default 0)
    grace_minutes: 5                      # optional: this late still counts as on time

A time without an offset is refused: a deadline means one instant, and a naive time would mean
whatever zone the grading machine is in. Extensions are `<course>/extensions.json`, written by
`course-grade extend` (who, when in UTC, why; a later one for the same student and chapter
replaces the earlier one, and the history stays in the file).

The decision for one student and chapter (`decide`): the deadline is the policy's due date or
the student's extension, whichever is later. Submitted at or before it (or within the grace) is
on time; otherwise every started 24 hours after the deadline is a late day. Slip days are spent
automatically, chapters in due-date order, before any penalty, until the budget is gone; the
days left are penalised: `min(cap, per_day * days)`, or the whole score with `cutoff`. The
adjusted score is `score * (1 - penalty)`.
"""

from __future__ import annotations

import getpass
import json
import math
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

POLICY_NAME = "late_policy.yml"
EXTENSIONS_NAME = "extensions.json"
DAY = 86400.0


class PolicyError(ValueError):
    """A policy or extension the course cannot apply as written."""


def aware(value, what: str) -> datetime:
    """An ISO 8601 time (or a datetime YAML already read) with an explicit UTC offset."""
    if isinstance(value, datetime):
        when = value
    else:
        try:
            when = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise PolicyError(f"{what}: {value!r} is not an ISO 8601 time") from None
    if when.tzinfo is None or when.utcoffset() is None:
        raise PolicyError(
            f"{what}: {value!s} has no time zone; write its UTC offset, "
            "e.g. 2026-02-02T23:59:00+01:00 or ...Z for UTC"
        )
    return when


@dataclass(frozen=True)
class Policy:
    due: dict[str, datetime]
    per_day: float = 0.0
    cap: float = 1.0
    cutoff: bool = False
    slip_days: int = 0
    grace: timedelta = field(default_factory=timedelta)

    @classmethod
    def from_dict(cls, data: dict) -> Policy:
        if not isinstance(data, dict) or not isinstance(data.get("due"), dict):
            raise PolicyError(f"{POLICY_NAME}: needs a `due:` mapping of chapter: time")
        due = {str(k): aware(v, f"due date of {k}") for k, v in data["due"].items()}
        penalty = data.get("penalty") or {}
        unknown = set(penalty) - {"per_day", "cap", "cutoff"}
        if unknown:
            raise PolicyError(f"penalty: unknown keys {sorted(unknown)}")
        cutoff = bool(penalty.get("cutoff", False))
        if cutoff and ("per_day" in penalty or "cap" in penalty):
            raise PolicyError("penalty: `cutoff: true` or `per_day`/`cap`, not both")
        per_day, cap = float(penalty.get("per_day", 0.0)), float(penalty.get("cap", 1.0))
        slip = data.get("slip_days", 0)
        if not 0 <= per_day <= 1 or not 0 <= cap <= 1:
            raise PolicyError("penalty: per_day and cap are shares between 0 and 1")
        if not isinstance(slip, int) or isinstance(slip, bool) or slip < 0:
            raise PolicyError(f"slip_days: {slip!r} is not a whole number of days >= 0")
        grace = timedelta(minutes=float(data.get("grace_minutes", 0)))
        return cls(due, per_day, cap, cutoff, slip, grace)


@dataclass(frozen=True)
class Decision:
    student: str
    chapter: str
    deadline: datetime | None  # the due date, or the extension when later
    late_days: int = 0
    slip_days_used: int = 0
    penalty: float = 0.0  # share of the score taken off
    extended: bool = False
    submitted: datetime | None = None  # the gradebook's time; None: no submission

    def adjusted(self, score: float) -> float:
        return round(score * (1.0 - self.penalty), 6)

    @property
    def seconds_late(self) -> float:
        """Seconds after the student's deadline (the grace not taken off); 0 when on time."""
        if self.submitted is None or self.deadline is None:
            return 0.0
        return max(0.0, (self.submitted - self.deadline).total_seconds())


def late_days(submitted: datetime | None, deadline: datetime, grace: timedelta) -> int:
    """Started 24 h periods after the deadline; 0 at or before it, or within the grace."""
    if submitted is None:
        return 0
    late = (submitted - deadline).total_seconds()
    if late <= 0 or late <= grace.total_seconds():
        return 0
    return math.ceil(late / DAY)


def decide(
    policy: Policy,
    extensions: dict[tuple[str, str], datetime],
    submitted: dict[tuple[str, str], datetime | None],
) -> dict[tuple[str, str], Decision]:
    """A decision per (student, chapter) in `submitted`; times are aware (UTC or any offset).

    Slip days go to each student's chapters in the policy's due-date order, first come first
    served; a chapter the policy has no due date for is never late.
    """
    order = sorted(policy.due, key=lambda c: (policy.due[c], c))
    keys = sorted(submitted, key=lambda k: (order.index(k[1]) if k[1] in order else -1, k))
    left: dict[str, int] = {}
    decisions = {}
    for student, chapter in keys:
        due = policy.due.get(chapter)
        if due is None:
            decisions[student, chapter] = Decision(
                student, chapter, None, submitted=submitted[student, chapter]
            )
            continue
        until = extensions.get((student, chapter))
        deadline = max(due, until) if until is not None else due
        days = late_days(submitted[student, chapter], deadline, policy.grace)
        budget = left.setdefault(student, policy.slip_days)
        slip = min(days, budget)
        left[student] = budget - slip
        charged = days - slip
        if policy.cutoff:
            penalty = 1.0 if charged else 0.0
        else:
            penalty = min(policy.cap, policy.per_day * charged)
        extended = until is not None and until > due
        decisions[student, chapter] = Decision(
            student,
            chapter,
            deadline,
            days,
            slip,
            round(penalty, 6),
            extended,
            submitted[student, chapter],
        )
    return decisions


def load_policy(course: Path) -> Policy | None:
    """The course's policy, or None when it has no `late_policy.yml`."""
    import yaml

    path = Path(course) / POLICY_NAME
    if not path.exists():
        return None
    return Policy.from_dict(yaml.safe_load(path.read_text()))


def extension_history(course: Path) -> list[dict]:
    path = Path(course) / EXTENSIONS_NAME
    return json.loads(path.read_text())["history"] if path.exists() else []


def current_extensions(history: list[dict]) -> dict[tuple[str, str], datetime]:
    """The latest extension per (student, chapter): a later one replaces an earlier one."""
    return {
        (e["student"], e["chapter"]): aware(e["until"], f"extension of {e['student']}")
        for e in history
    }


def record_extensions(course: Path, entries: list[dict], now: datetime | None = None) -> Path:
    """Append extensions (student, chapter, until, reason) with who and when; history kept.

    Every entry is checked before any is written: one bad row in a CSV records none.
    """
    if not entries:
        raise PolicyError("no extension given")
    who = getpass.getuser()
    when = (now or datetime.now(UTC)).astimezone(UTC).isoformat()
    new = []
    for entry in entries:
        student, chapter = str(entry["student"]).strip(), str(entry["chapter"]).strip()
        reason = str(entry.get("reason") or "").strip()
        if not student or not chapter or not reason:
            raise PolicyError(f"extension {entry!r}: student, chapter and a reason are needed")
        until = aware(entry["until"], f"extension of {student} for {chapter}")
        record = {"student": student, "chapter": chapter, "until": until.isoformat()}
        new.append({**record, "reason": reason, "by": who, "at": when})
    path = Path(course) / EXTENSIONS_NAME
    history = extension_history(course) + new
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"history": history}, indent=1) + "\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def as_utc(naive_or_aware: datetime | None) -> datetime | None:
    """nbgrader stores times as naive UTC: make them aware."""
    if naive_or_aware is None or naive_or_aware.tzinfo is not None:
        return naive_or_aware
    return naive_or_aware.replace(tzinfo=UTC)


def course_decisions(course: Path, chapters: list[str]) -> dict | None:
    """Each (student, chapter)'s late-policy decision, or None when the course has no policy.

    The submission time is the gradebook's (nbgrader's timestamp, naive UTC); none: on time.
    """
    from grader.course import gradebook

    policy = load_policy(course)
    if policy is None:
        return None
    extensions = current_extensions(extension_history(course))
    submitted = {}
    with gradebook(course) as gb:
        students = sorted(s.id for s in gb.students)
        for chapter in sorted(set(chapters) | set(policy.due)):  # slip days span the term
            for student in students:
                try:
                    stamp = gb.find_submission(chapter, student).timestamp
                except Exception:
                    stamp = None
                submitted[student, chapter] = as_utc(stamp)
    return decide(policy, extensions, submitted)


COLUMNS = ("late_days", "slip_days_used", "late_penalty", "adjusted_score", "deadline")


def columns(decision: Decision, score: float) -> dict:
    """The columns `export` appends to a scores.csv row."""
    deadline = decision.deadline.isoformat() if decision.deadline else ""
    return {
        "late_days": decision.late_days,
        "slip_days_used": decision.slip_days_used,
        "late_penalty": decision.penalty,
        "adjusted_score": decision.adjusted(score),
        "deadline": deadline,
    }


def format_decisions(decisions: dict[tuple[str, str], Decision]) -> str:
    """The late, slip-day and extended submissions, one a line (for `summary`)."""
    shown = [d for d in decisions.values() if d.late_days or d.extended]
    if not shown:
        return "Late policy: every submission on time, no extensions."
    lines = [f"{'student':<16} {'chapter':<20} late  slip  penalty  deadline"]
    for d in sorted(shown, key=lambda d: (d.chapter, d.student)):
        mark = " (extended)" if d.extended else ""
        lines.append(
            f"{d.student:<16} {d.chapter:<20} {d.late_days:>4}  {d.slip_days_used:>4}  "
            f"{d.penalty:>7.0%}  {d.deadline.isoformat()}{mark}"
        )
    return "\n".join(lines)
