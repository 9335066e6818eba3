"""Made-up submissions and `course-grade selftest`: the reference, a blank one, wrong answers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat

from grader.course import db_url, make_course
from grader.course_folder import CourseFolder
from grader.notebooks import fill_answers, solution_answers
from grader.paths import NOTEBOOK, SOLUTIONS_DIR, wrong_answers_file

OUTPUT_PART = "output shows: "  # a verdict on printed text rather than on a graded cell


def submit(course: Path, chapter: str, student: str, nb: nbformat.NotebookNode) -> Path:
    """Place a student's notebook where `nbgrader autograde` looks for it."""
    target = CourseFolder(course).submitted(student, chapter) / NOTEBOOK
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    return target


@dataclass(frozen=True)
class PartScore:
    """The score of one graded cell of one student's notebook."""

    score: float
    max_score: float


def scores(course: Path, chapter: str) -> dict[str, dict[str, PartScore]]:
    """Scores per student and graded cell, read from the course's nbgrader gradebook."""
    from nbgrader.api import Gradebook

    result: dict[str, dict[str, PartScore]] = {}
    with Gradebook(db_url(Path(course))) as gb:
        for submission in gb.assignment_submissions(chapter):
            notebook = gb.find_submission_notebook(
                Path(NOTEBOOK).stem, chapter, submission.student.id
            )
            result[submission.student.id] = {
                grade.name: PartScore(float(grade.score), float(grade.max_score))
                for grade in notebook.grades
                if grade.max_score > 0
            }
    return result


@dataclass(frozen=True)
class Fixture:
    """A made-up submission and what it must score: all points, none, or all but `loses`."""

    student: str
    description: str
    answers: dict[str, str] | None  # None: the untouched student notebook
    loses: tuple[str, ...] | None  # None: must score zero in total
    shows: str = ""  # text the graded test cells must print, e.g. a warning they must survive

    def expected(self, part: str, max_score: float) -> float:
        if self.loses is None or part in self.loses:
            return 0.0
        return max_score


def load_fixtures(chapter: str, per_submission: int = 6, sample: bool = False) -> list[Fixture]:
    """The reference solution, the blank notebook and solutions/<chapter>/wrong_answers.yml.

    To keep grading time down, up to `per_submission` answers share one made-up submission when
    they touch different answer cells and break different parts: each must still lose exactly
    its own parts, and every part that none of them breaks keeps full marks.
    `sample`: of the file's answers only `sample_entries` (what `make test` grades).
    """
    import yaml

    source = nbformat.read(SOLUTIONS_DIR / chapter / NOTEBOOK, as_version=4)
    reference = solution_answers(source)
    fixtures = [
        Fixture("reference", "the reference solution", reference, ()),
        Fixture("blank", "the untouched student notebook", None, None),
    ]
    path = wrong_answers_file(chapter)
    listed = yaml.safe_load(path.read_text()) if path.exists() else []
    entries = list(enumerate(listed, 1))
    if sample:
        kept = {id(entry) for entry in sample_entries(listed)}
        entries = [(number, entry) for number, entry in entries if id(entry) in kept]
    groups: list[list[tuple[int, dict]]] = []
    for number, entry in entries:
        unknown = set(entry["answers"]) - set(reference)
        if unknown:
            raise KeyError(f"{path.name}: {entry['name']!r} names unknown cells {sorted(unknown)}")
        for group in groups:
            cells = {cell for _, other in group for cell in other["answers"]}
            broken = {part for _, other in group for part in other["loses"]}
            if (
                len(group) < per_submission
                and not cells & set(entry["answers"])
                and not broken & set(entry["loses"])
            ):
                group.append((number, entry))
                break
        else:
            groups.append([(number, entry)])
    for group in groups:
        loses = tuple(part for _, entry in group for part in entry["loses"])
        answers = dict(reference)
        for _, entry in group:
            answers.update(entry["answers"])
        fixtures.append(
            Fixture(
                student=("wrong" if loses else "right") + "_".join(f"{n:02d}" for n, _ in group),
                description=" + ".join(entry["name"] for _, entry in group),
                answers=answers,
                loses=loses,
                shows=" ".join(entry.get("shows", "") for _, entry in group).strip(),
            )
        )
    return fixtures


def sample_entries(entries: list[dict]) -> list[dict]:
    """The answers `make test` grades of a chapter's list: for each part, the first wrong answer
    that loses it; every right answer that must show a warning; the first other right answer.

    Every part is still shown to lose a point to a wrong answer and a right answer in another
    style is still shown to keep every point, in about a third of the gradings of the whole
    list, which `course-grade selftest` (`make selftest`) grades.
    """
    covered: set[str] = set()
    chosen, plain_right = [], None
    for entry in entries:
        if entry["loses"]:
            if set(entry["loses"]) - covered:
                chosen.append(entry)
                covered |= set(entry["loses"])
        elif entry.get("shows"):
            chosen.append(entry)
        elif plain_right is None:
            plain_right = entry
            chosen.append(entry)
    return chosen


@dataclass(frozen=True)
class Verdict:
    """How one fixture scored on one graded part, against what it had to score."""

    student: str
    description: str
    part: str
    score: float
    max_score: float
    expected: float

    @property
    def ok(self) -> bool:
        return abs(self.score - self.expected) < 1e-9


def selftest(chapter: str, course: Path, jobs: int = 2, sample: bool = False) -> list[Verdict]:
    """Autograde every fixture of `chapter` with real nbgrader and compare with expectations.

    `sample`: the reference, the blank notebook and `sample_entries` of the wrong answers only."""
    from grader import sandbox
    from grader.autograde import autograde
    from grader.release import release

    course = make_course(Path(course))
    release(course, [chapter])
    student_nb = nbformat.read(CourseFolder(course).release(chapter), as_version=4)
    fixtures = load_fixtures(chapter, sample=sample)
    for fixture in fixtures:
        nb = student_nb if fixture.answers is None else fill_answers(student_nb, fixture.answers)
        submit(course, chapter, fixture.student, nb)
    results = autograde(course, chapter, jobs=jobs, use_sandbox=sandbox.full_isolation())
    failed = [f"{r.student}: {r.status} {r.message}" for r in results if r.status != "graded"]
    if failed:
        raise RuntimeError(f"{chapter}: not every fixture was graded:\n" + "\n".join(failed))
    table = scores(course, chapter)
    verdicts = []
    for fixture in (f for f in fixtures if f.shows):
        graded = nbformat.read(
            CourseFolder(course).autograded(fixture.student, chapter) / NOTEBOOK, as_version=4
        )
        printed = "".join(
            output.get("text", "")
            for cell in graded.cells
            if cell.metadata.get("nbgrader", {}).get("grade")
            for output in cell.get("outputs", [])
        )
        found = float(fixture.shows in printed)
        verdicts.append(
            Verdict(
                fixture.student,
                fixture.description,
                f"{OUTPUT_PART}{fixture.shows}",
                found,
                1.0,
                1.0,
            )
        )
    for fixture in fixtures:
        for part, got in sorted(table[fixture.student].items()):
            verdicts.append(
                Verdict(
                    fixture.student,
                    fixture.description,
                    part,
                    got.score,
                    got.max_score,
                    fixture.expected(part, got.max_score),
                )
            )
    return verdicts


def format_verdicts(verdicts: list[Verdict]) -> str:
    """A table of scores per fixture and part, with the mismatches marked."""
    lines = []
    for v in verdicts:
        mark = "ok " if v.ok else "BAD"
        lines.append(
            f"{mark} {v.student:<9} {v.part:<24} {v.score:g}/{v.max_score:g} "
            f"(expected {v.expected:g})  {v.description}"
        )
    return "\n".join(lines)
