"""Late policy, extensions and slip days (grader/late_policy.py), and their columns in `export`.

No kernel runs: the decisions are pure functions, and the term's class is written straight into
a real nbgrader gradebook with nbgrader's API, then exported as an instructor would.
"""

from __future__ import annotations

import csv
import json
import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from grader.cli import main
from grader.course import bin_dir, gradebook, make_course
from grader.export import export
from grader.late_policy import (
    COLUMNS,
    EXTENSIONS_NAME,
    POLICY_NAME,
    Policy,
    PolicyError,
    current_extensions,
    decide,
    extension_history,
    late_days,
    load_policy,
    record_extensions,
)

CH1, CH2 = "01-kernels", "02-padding"
POLICY = f"""\
due:
  {CH1}: 2026-02-02T23:59:00+01:00   # 22:59 UTC
  {CH2}: "2026-02-16T23:59:00Z"
penalty:
  per_day: 0.1
  cap: 0.3
slip_days: 2
"""
DUE1 = datetime(2026, 2, 2, 22, 59, tzinfo=UTC)
DUE2 = datetime(2026, 2, 16, 23, 59, tzinfo=UTC)
CET = timezone(timedelta(hours=1))


@pytest.fixture(autouse=True)
def _path(monkeypatch):
    """nbgrader's Gradebook runs `alembic` by name: the environment's bin/ goes on PATH."""
    monkeypatch.setenv("PATH", f"{bin_dir()}{os.pathsep}{os.environ['PATH']}")


def _policy(text: str = POLICY) -> Policy:
    import yaml

    return Policy.from_dict(yaml.safe_load(text))


# --- pure functions ---------------------------------------------------------------------


def test_exactly_at_the_deadline_is_on_time_and_one_second_later_is_a_day():
    assert late_days(DUE1, DUE1, timedelta()) == 0
    assert late_days(DUE1 + timedelta(seconds=1), DUE1, timedelta()) == 1
    assert late_days(DUE1 + timedelta(days=1), DUE1, timedelta()) == 1
    assert late_days(DUE1 + timedelta(days=1, seconds=1), DUE1, timedelta()) == 2
    assert late_days(None, DUE1, timedelta()) == 0


def test_a_due_date_in_another_zone_is_the_same_instant():
    policy = _policy()
    assert policy.due[CH1] == DUE1 and policy.due[CH1].utcoffset() == timedelta(hours=1)
    at_deadline_in_utc = {("ana", CH1): datetime(2026, 2, 2, 22, 59, tzinfo=UTC)}
    assert decide(policy, {}, at_deadline_in_utc)["ana", CH1].late_days == 0
    second_late_in_cet = {("ana", CH1): datetime(2026, 2, 2, 23, 59, 1, tzinfo=CET)}
    assert decide(policy, {}, second_late_in_cet)["ana", CH1].late_days == 1


@pytest.mark.parametrize("naive", ["2026-02-02T23:59:00", "2026-02-02", '"2026-02-02 23:59"'])
def test_a_naive_due_date_is_refused_with_the_way_to_write_it(naive):
    with pytest.raises(PolicyError, match="no time zone; write its UTC offset"):
        _policy(f"due:\n  {CH1}: {naive}\n")


def test_a_naive_extension_is_refused_and_nothing_is_recorded(tmp_path):
    with pytest.raises(PolicyError, match="no time zone"):
        record_extensions(
            tmp_path,
            [
                {"student": "a", "chapter": CH1, "until": "2026-02-03T10:00Z", "reason": "ok"},
                {"student": "b", "chapter": CH1, "until": "2026-02-03T10:00", "reason": "naive"},
            ],
        )
    assert not (tmp_path / EXTENSIONS_NAME).exists()


def test_the_budget_is_spent_in_due_date_order_then_the_penalty_applies_up_to_its_cap():
    policy = _policy()  # slip_days 2, 10% a day, at most 30%
    submitted = {
        ("ben", CH2): DUE2 + timedelta(days=4, hours=10),  # 5 started days
        ("ben", CH1): DUE1 + timedelta(days=2, hours=1),  # 3 started days: 2 slip, 1 charged
    }
    d = decide(policy, {}, submitted)
    assert (d["ben", CH1].late_days, d["ben", CH1].slip_days_used) == (3, 2)
    assert d["ben", CH1].penalty == pytest.approx(0.1)
    # budget exhausted: all 5 days charged, 50% capped at 30%
    assert (d["ben", CH2].late_days, d["ben", CH2].slip_days_used) == (5, 0)
    assert d["ben", CH2].penalty == pytest.approx(0.3)
    assert d["ben", CH2].adjusted(10.0) == pytest.approx(7.0)


def test_cutoff_gives_zero_after_the_deadline_once_the_slip_days_are_gone():
    policy = _policy(f"due:\n  {CH1}: 2026-02-02T23:59:00+01:00\npenalty:\n  cutoff: true\n")
    d = decide(policy, {}, {("a", CH1): DUE1, ("b", CH1): DUE1 + timedelta(seconds=1)})
    assert d["a", CH1].adjusted(8.0) == 8.0 and d["b", CH1].adjusted(8.0) == 0.0
    with_slip = _policy(
        f"due:\n  {CH1}: {DUE1.isoformat()}\npenalty:\n  cutoff: true\nslip_days: 1\n"
    )
    late = decide(with_slip, {}, {("b", CH1): DUE1 + timedelta(hours=3)})["b", CH1]
    assert (late.slip_days_used, late.penalty) == (1, 0.0)
    with pytest.raises(PolicyError, match="not both"):
        _policy(f"due:\n  {CH1}: {DUE1.isoformat()}\npenalty:\n  cutoff: true\n  per_day: 0.1\n")


def test_grace_counts_a_little_late_as_on_time():
    policy = _policy(POLICY + "grace_minutes: 5\n")
    d = decide(
        policy,
        {},
        {("a", CH1): DUE1 + timedelta(minutes=5), ("b", CH1): DUE1 + timedelta(minutes=6)},
    )
    assert (d["a", CH1].late_days, d["b", CH1].late_days) == (0, 1)


def test_a_later_extension_replaces_the_earlier_one_and_the_history_stays(tmp_path):
    record_extensions(
        tmp_path,
        [{"student": "dan", "chapter": CH2, "until": "2026-02-20T23:59:00Z", "reason": "ill"}],
    )
    record_extensions(
        tmp_path,
        [
            {
                "student": "dan",
                "chapter": CH2,
                "until": "2026-02-18T23:59:00Z",
                "reason": "note covers 2 days",
            }
        ],
    )
    history = extension_history(tmp_path)
    assert [e["reason"] for e in history] == ["ill", "note covers 2 days"]
    assert all(e["by"] and e["at"].endswith("+00:00") for e in history)
    assert current_extensions(history) == {("dan", CH2): datetime(2026, 2, 18, 23, 59, tzinfo=UTC)}


# --- the term, through `extend` and `export` on a real gradebook --------------------------

# points per part (each chapter: test_a 4 points, test_b 6 points) and submission time (UTC)
TERM = {
    ("ana", CH1): ((4, 6), datetime(2026, 2, 2, 22, 59)),  # exactly at 23:59+01:00
    ("ana", CH2): ((4, 4), datetime(2026, 2, 19, 12, 0)),  # 2 d 12 h 1 min late: 3 days
    ("ben", CH1): ((2, 4), datetime(2026, 2, 2, 22, 59, 1)),  # one second late: 1 day
    ("ben", CH2): ((4, 6), datetime(2026, 2, 21, 10, 0)),  # 4 d 10 h 1 min late: 5 days
    ("cai", CH1): ((3, 6), datetime(2026, 2, 5, 20, 0)),  # 2 d 21 h late, but extended
    ("cai", CH2): ((2, 3), datetime(2026, 2, 16, 12, 0)),  # on time
    ("dan", CH1): ((4, 3), datetime(2026, 2, 4, 22, 59)),  # exactly 48 h late: 2 days
    ("dan", CH2): ((4, 6), datetime(2026, 2, 19, 0, 30)),  # 31 min after his extension
}
# By hand (slip_days 2 each, spent 01 before 02; then 10% a day, at most 30%):
#   ana 01: on time                                   10 * (1 - 0)   = 10
#   ana 02: 3 days, 2 slip, 1 charged -> 10%           8 * (1 - 0.1) = 7.2
#   ben 01: 1 day, 1 slip (1 left)                      6 * (1 - 0)   = 6
#   ben 02: 5 days, 1 slip, 4 charged -> 40%, cap 30% 10 * (1 - 0.3) = 7
#   cai 01: extended to 2026-02-05T23:59+01:00 (22:59Z), in at 20:00Z: on time    = 9
#   cai 02: on time                                                               = 5
#   dan 01: 2 days, 2 slip (budget gone)                7 * (1 - 0)   = 7
#   dan 02: extension 02-20 replaced by 02-18T23:59Z; in 31 min later: 1 day,
#           no slip left -> 10%                        10 * (1 - 0.1) = 9
EXPECTED = {  # (late_days, slip_days_used, late_penalty, adjusted_score)
    ("ana", CH1): (0, 0, 0.0, 10.0),
    ("ana", CH2): (3, 2, 0.1, 7.2),
    ("ben", CH1): (1, 1, 0.0, 6.0),
    ("ben", CH2): (5, 1, 0.3, 7.0),
    ("cai", CH1): (0, 0, 0.0, 9.0),
    ("cai", CH2): (0, 0, 0.0, 5.0),
    ("dan", CH1): (2, 2, 0.0, 7.0),
    ("dan", CH2): (1, 0, 0.1, 9.0),
}


def _term_course(tmp_path: Path) -> Path:
    course = make_course(tmp_path / "course")
    with gradebook(course) as gb:
        for chapter in (CH1, CH2):
            gb.add_assignment(chapter)
            gb.add_notebook("exercises", chapter)
            for name, points in (("test_a", 4.0), ("test_b", 6.0)):
                gb.add_grade_cell(name, "exercises", chapter, max_score=points, cell_type="code")
                gb.add_solution_cell(name + "_answer", "exercises", chapter)
        for student in ("ana", "ben", "cai", "dan"):
            gb.add_student(student)
        for (student, chapter), ((a, b), when) in TERM.items():
            gb.add_submission(chapter, student, timestamp=when)
            notebook = gb.find_submission_notebook("exercises", chapter, student)
            for grade in notebook.grades:
                grade.auto_score = float(a if grade.name == "test_a" else b)
        gb.db.commit()
    return course


def _rows(path: Path) -> tuple[list[str], dict]:
    with path.open(newline="") as handle:
        table = list(csv.reader(handle))
    return table[0], {(r[0], r[1]): dict(zip(table[0], r, strict=True)) for r in table[1:]}


def test_the_term_exports_the_scores_computed_by_hand(tmp_path, capsys):
    course = _term_course(tmp_path)
    header_before, before = _rows(export(course, [CH1, CH2], tmp_path / "plain")[0])
    assert not set(COLUMNS) & set(header_before)  # no policy: the columns as ever

    (course / POLICY_NAME).write_text(POLICY)
    base = ["--course", str(course), "extend"]
    assert main([*base, "cai", CH1, "--until", "2026-02-05T23:59:00+01:00", "--reason", "flu"]) == 0
    (tmp_path / "ext.csv").write_text(
        "student,chapter,until,reason\n"
        f"dan,{CH2},2026-02-20T23:59:00Z,family\n"
        f"dan,{CH2},2026-02-18T23:59:00Z,corrected: two days only\n"
    )
    assert main([*base, "--csv", str(tmp_path / "ext.csv")]) == 0
    history = json.loads((course / EXTENSIONS_NAME).read_text())["history"]
    assert [(e["student"], e["reason"]) for e in history] == [
        ("cai", "flu"),
        ("dan", "family"),
        ("dan", "corrected: two days only"),
    ]

    header, rows = _rows(export(course, [CH1, CH2], tmp_path / "late")[0])
    assert header == header_before + list(COLUMNS)  # appended, nothing moved
    for key, (days, slip, penalty, adjusted) in EXPECTED.items():
        row = rows[key]
        assert {k: row[k] for k in header_before} == before[key]
        got = (int(row["late_days"]), int(row["slip_days_used"]), float(row["late_penalty"]))
        assert got == (days, slip, pytest.approx(penalty)), key
        assert float(row["adjusted_score"]) == pytest.approx(adjusted), key
    assert rows["cai", CH1]["deadline"] == "2026-02-05T23:59:00+01:00"

    capsys.readouterr()
    assert main(["--course", str(course), "summary", CH1, CH2]) == 0
    out = capsys.readouterr().out
    assert "dan" in out and "(extended)" in out and "30%" in out


def test_summary_and_the_lms_files_give_the_adjusted_scores(tmp_path, capsys):
    """canvas.csv and moodle.csv carry each chapter's adjusted score (what the student is
    given), summary.csv and `summary` an `adjusted_total` beside the unadjusted `total`."""
    course = _term_course(tmp_path)
    (course / POLICY_NAME).write_text(POLICY)
    record_extensions(
        course,
        [
            {"student": "cai", "chapter": CH1, "until": "2026-02-05T23:59:00+01:00", "reason": "x"},
            {"student": "dan", "chapter": CH2, "until": "2026-02-18T23:59:00Z", "reason": "y"},
        ],
    )
    out = tmp_path / "out"
    assert main(["--course", str(course), "export", CH1, CH2, "--to", str(out)]) == 0
    for name, id_column in (("canvas.csv", "SIS Login ID"), ("moodle.csv", "ID number")):
        with (out / name).open(newline="") as handle:
            table = {r[id_column]: r for r in csv.DictReader(handle) if r[id_column]}
        got = {(s, c): float(table[s][c]) for s, c in EXPECTED}
        assert got == {key: pytest.approx(v[3]) for key, v in EXPECTED.items()}, name
    with (out / "summary.csv").open(newline="") as handle:
        summary = {(r["chapter"], r["part"]): r for r in csv.DictReader(handle)}
    # by hand: 01 adjusted 10, 6, 9, 7 (as unadjusted: no penalty there); 02 7.2, 7, 5, 9
    assert float(summary[CH1, "adjusted_total"]["mean"]) == pytest.approx(8.0)
    assert float(summary[CH2, "adjusted_total"]["mean"]) == pytest.approx(7.05)
    assert float(summary[CH2, "total"]["mean"]) == pytest.approx((8 + 10 + 5 + 10) / 4)
    assert summary[CH2, "adjusted_total"]["distribution"] == "5:1 7:1 7.2:1 9:1"
    capsys.readouterr()
    assert main(["--course", str(course), "summary", CH1, CH2]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "adjusted_total" in x)
    assert line.split()[:4] == [CH1, "adjusted_total", "8", "8"]


def test_extend_refuses_a_naive_time_and_an_unknown_chapter(tmp_path):
    course = make_course(tmp_path / "course")
    base = ["--course", str(course), "extend", "ana"]
    with pytest.raises(SystemExit, match="no time zone"):
        main([*base, CH1, "--until", "2026-02-05T23:59", "--reason", "x"])
    with pytest.raises(SystemExit, match="unknown chapters"):
        main([*base, "99-nothing", "--until", "2026-02-05T23:59Z", "--reason", "x"])
    assert not (course / EXTENSIONS_NAME).exists()
    assert load_policy(course) is None


def test_extend_has_its_own_help_with_its_options(capsys):
    with pytest.raises(SystemExit) as done:
        main(["extend", "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: course-grade extend")
    assert all(option in text for option in ("--until", "--reason", "--csv", "student", "chapter"))
