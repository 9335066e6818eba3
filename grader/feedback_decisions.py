"""The late-policy outcome and the regrade decisions on each student's feedback page.

`course-grade feedback` (grader/feedback.py) lets nbgrader write the pages, then `annotate` puts
two panels above the notebook of each page, before every page is checked:

- **Late policy** (when `late_policy.yml` gives the chapter a due date): the due date, the
  student's extension and new deadline if any, when the submission came in, how many seconds
  after the deadline and how many late days that is, the slip days spent on it (and in the term
  so far), the penalty and the score before and after it. The decision and the adjusted score
  are `export`'s own (`grader.late_policy.course_decisions` and `columns`); the score is the
  gradebook's sum of the graded parts, as `grader.export.score_rows` sums them (feedback comes
  before export in the round and may not import it; tests/test_feedback.py compares the page
  with scores.csv). The extension's reason is the instructor's note and is not shown.
- **Regrade requests** (when the student has any for the chapter, `grader/regrade.py`'s log):
  each request's part, reason, who asked and when, the gradebook's and the regraded score per
  part, and the decision (accepted or rejected, by whom, when, the note) or "open".

Every text from a record (reasons and notes a student may have written, who, parts, ids) is
HTML-escaped and loses the grader's markers (`grader.preprocessors.scrub_markers`), so nothing
in it becomes markup or makes the page check refuse the page.
"""

from __future__ import annotations

import html
import os
from datetime import datetime
from pathlib import Path

from grader import late_policy, regrade
from grader.course import gradebook
from grader.course_folder import CourseFolder
from grader.paths import NOTEBOOK
from grader.preprocessors import scrub_markers
from grader.progress_line import format_duration

ANCHOR = '<div class="panel panel-default">'  # the template's first panel: the notebook's


def text(value) -> str:
    """A record's text as safe HTML: markers scrubbed, every character that is markup escaped."""
    return html.escape(scrub_markers(str(value)), quote=True)


def _when(value: datetime | str | None) -> str:
    """A time as `2026-02-27 23:59:00+01:00` (to the second, its offset kept)."""
    if value is None:
        return "none"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return text(value)
    return text(value.replace(microsecond=0).isoformat(sep=" "))


def _num(value: float | None) -> str:
    return "-" if value is None else f"{float(value):g}"


def late_outcome(course: Path, chapter: str) -> dict[str, dict]:
    """Per student with a submission: what the late policy decided, as `export` decides it.

    Empty when the course has no policy or the policy gives this chapter no due date.
    """
    policy = late_policy.load_policy(course)
    decisions = late_policy.course_decisions(course, [chapter])
    if policy is None or decisions is None or chapter not in policy.due:
        return {}
    found = {}
    for student, row in graded_totals(course, chapter).items():
        decision = decisions[student, chapter]
        spent = sum(d.slip_days_used for d in decisions.values() if d.student == student)
        found[student] = {
            "decision": decision,
            "due": policy.due[chapter],
            "slip_budget": policy.slip_days,
            "slip_spent_term": spent,
            "score": row["score"],
            "max_score": row["max_score"],
            **late_policy.columns(decision, row["score"]),
        }
    return found


def graded_totals(course: Path, chapter: str) -> dict[str, dict[str, float]]:
    """Per student with a submission: `score` and `max_score`, the sums over the graded parts
    (the score nbgrader counts: manual if set, else automatic), as scores.csv has them."""
    totals = {}
    with gradebook(course) as gb:
        for submission in gb.assignment_submissions(chapter):
            student = submission.student.id
            notebook = gb.find_submission_notebook(Path(NOTEBOOK).stem, chapter, student)
            parts = [g for g in notebook.grades if g.max_score > 0]
            totals[student] = {
                "score": sum(float(g.score) for g in parts),
                "max_score": sum(float(g.max_score) for g in parts),
            }
    return totals


def late_panel(outcome: dict) -> str:
    """The late policy's panel for one student (see the module docstring)."""
    d: late_policy.Decision = outcome["decision"]
    extension = (
        f"until {_when(d.deadline)}: your deadline" if d.extended else "none: the due date holds"
    )
    if d.submitted is None:
        late = "no submission time recorded: counted as on time"
    elif d.late_days == 0:
        late = f"{d.seconds_late:.0f} s after the deadline: on time" + (
            " (within the grace period)" if d.seconds_late else ""
        )
    else:
        days = "day" if d.late_days == 1 else "days"
        late = (
            f"{d.seconds_late:.0f} s after the deadline ({format_duration(d.seconds_late)}): "
            f"{d.late_days} late {days}"
        )
    slip = (
        f"{d.slip_days_used} on this chapter; {outcome['slip_spent_term']} of the term's "
        f"{outcome['slip_budget']} spent so far"
    )
    top = _num(outcome["max_score"])
    rows = [
        ("Due date", _when(outcome["due"])),
        ("Extension", extension),
        ("Submitted", _when(d.submitted)),
        ("Late by", late),
        ("Slip days spent", slip),
        ("Late penalty", f"{d.penalty:.0%} of the score"),
        ("Score before the penalty", f"{_num(outcome['score'])} / {top}"),
        ("Score after the penalty", f"<b>{_num(outcome['adjusted_score'])} / {top}</b>"),
    ]
    body = "".join(f"<tr><th>{name}</th><td>{value}</td></tr>" for name, value in rows)
    return _panel(
        "late-policy", "Late policy", f'<table class="table table-condensed">{body}</table>'
    )


def regrade_panel(requests: list[dict]) -> str:
    """The student's regrade requests for the chapter, oldest first, with their decisions."""
    items = []
    for r in requests:
        parts = "".join(
            f"<tr><td><code>{text(part)}</code></td><td>{_num(old)}</td>"
            f"<td>{_num(r['new'].get(part))}</td></tr>"
            for part, old in r["old"].items()
        )
        d = r["decision"]
        if d is None:
            verdict = "<b>Open</b>: not decided yet; the score is unchanged."
        else:
            verdict = (
                f"<b>{text(d['outcome'].capitalize())}</b> by {text(d['who'])} at "
                f"{_when(d['when'])}: {text(d['note'])}"
            )
            if d["outcome"] == "accepted":
                verdict += " The regraded scores are your scores on this page."
        items.append(
            f'<div class="regrade-request" id="regrade-{int(r["id"])}">'
            f"<h5>Request #{int(r['id'])}, part {text(r['part'])}: asked by {text(r['who'])} "
            f"at {_when(r['when'])}</h5><p>Reason: {text(r['reason'])}</p>"
            '<table class="table table-condensed"><tr><th>part</th><th>score before</th>'
            f"<th>score when graded again</th></tr>{parts}</table><p>Decision: {verdict}</p></div>"
        )
    return _panel("regrade-requests", "Regrade requests", "".join(items))


def _panel(anchor: str, title: str, body: str) -> str:
    return (
        f'<div class="panel panel-default course-outcome" id="{anchor}">'
        f'<div class="panel-heading"><h4>{title}</h4></div>'
        f'<div class="panel-body">{body}</div></div>\n'
    )


def panels(course: Path, chapter: str) -> dict[str, str]:
    """Per student: the HTML to put on the page (only students with something to show)."""
    course = Path(course)
    found: dict[str, str] = {}
    for student, outcome in late_outcome(course, chapter).items():
        found[student] = late_panel(outcome)
    requests: dict[str, list[dict]] = {}
    for r in regrade.read_requests(course):
        if r["chapter"] == chapter:
            requests.setdefault(r["student"], []).append(r)
    for student, mine in requests.items():
        found[student] = found.get(student, "") + regrade_panel(sorted(mine, key=lambda r: r["id"]))
    return found


def insert(page: str, block: str) -> str:
    """`block` before the template's first panel (the notebook's), else right after <body>."""
    at = page.find(ANCHOR)
    if at < 0:
        body = page.find("<body>")
        at = body + len("<body>") if body >= 0 else len(page)
    return page[:at] + block + page[at:]


def annotate(course: Path, chapter: str, root: Path | None = None) -> list[Path]:
    """Add each student's panels to `<root>/<student>/<chapter>/<notebook>.html`; the pages
    written. Only plain files in plain folders are touched (`check_pages` deals with the rest).
    """
    course = Path(course)
    root = Path(root or CourseFolder(course).feedback_root())
    written = []
    for student, block in panels(course, chapter).items():
        folder = root / student / chapter
        page = folder / (Path(NOTEBOOK).stem + ".html")
        if any(p.is_symlink() for p in (root / student, folder, page)) or not page.is_file():
            continue
        tmp = folder / (page.name + ".tmp")
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(insert(page.read_text(errors="replace"), block))
        os.replace(tmp, page)
        written.append(page)
    return written
