"""`course-mutants`: how many wrong answers each chapter's visible and hidden tests catch.

    course-mutants 01-kernels --list            # the mutants, without grading (fast)
    course-mutants 01-kernels --jobs 2          # grade each with real nbgrader (`make mutants`)
    course-mutants 03-stride --part test_stack_shape --limit 10
    course-mutants all

A mutant is the reference solution with one small change in one answer cell's solution region
(operators: `coursebuild.mutations`). The chapter is released into a temporary course folder,
the reference graded as a control (it must get full marks), then each mutant is submitted as a
student and all are autograded at once, in the grading sandbox where the machine has it. A mutant
is *killed* when a part of its answer cell (the test cells up to the next answer cell) loses
points, through an error or a time limit too; else it *survived*: add a test, or, if it cannot
be told from the reference, write it down in `solutions/NN-topic/equivalent_mutants.yml` (see
solutions/README.md) as *equivalent*: left out of the score and not graded. On demand, never in
CI: minutes a chapter.

(Over 300 lines: the command, its report and the equivalents file belong together.)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from coursebuild.mutations import OPERATORS, cell_mutations
from grader.notebooks import MARKER_LINE, grade_id, is_answer_cell, is_test_cell
from grader.paths import NOTEBOOK, SOLUTIONS_DIR, equivalent_mutants_file, graded_chapters

CONTROL = "reference"  # the control submission's student id
EQUIVALENT_KEYS = {"answer", "mutated", "reason"}


@dataclass(frozen=True)
class Mutant:
    """One mutated answer of a chapter, numbered in notebook order."""

    chapter: str
    number: int
    answer: str  # grade_id of the mutated answer cell
    parts: tuple[str, ...]  # the graded parts (test cells) that belong to that answer
    line: int  # line in the solution cell
    operator: str
    original: str
    mutated: str
    source: str  # the answer cell as a student would type it (no solution markers)

    @property
    def student(self) -> str:
        return f"mutant-{self.number:03d}"


@dataclass(frozen=True)
class Equivalent:
    """A mutant written down as behaving like the reference."""

    answer: str
    mutated: str
    reason: str

    def matches(self, mutant: Mutant) -> bool:
        return mutant.answer == self.answer and _squeezed(mutant.mutated) == _squeezed(self.mutated)


@dataclass(frozen=True)
class Outcome:
    mutant: Mutant
    verdict: str  # "killed", "survived", "equivalent" or "error"
    detail: str = ""  # the parts that lost points, the reason, or what went wrong


def _squeezed(text: str) -> str:
    return " ".join(str(text).split())


def answer_parts(nb: nbformat.NotebookNode) -> dict[str, tuple[str, ...]]:
    """Each answer cell's graded parts: the test cells after it, up to the next answer cell."""
    parts: dict[str, list[str]] = {}
    answer = None
    for cell in nb.cells:
        if is_answer_cell(cell):
            answer = grade_id(cell)
            parts[answer] = []
        elif is_test_cell(cell) and answer is not None:
            parts[answer].append(grade_id(cell))
    return {name: tuple(found) for name, found in parts.items()}


def chapter_mutants(chapter: str) -> list[Mutant]:
    """Every mutant of every answer cell of a chapter's solution notebook."""
    nb = nbformat.read(SOLUTIONS_DIR / chapter / NOTEBOOK, as_version=4)
    parts = answer_parts(nb)
    mutants: list[Mutant] = []
    for cell in (c for c in nb.cells if is_answer_cell(c)):
        for m in cell_mutations(cell.source):
            answer = MARKER_LINE.sub("", m.source).strip() + "\n"  # as `solution_answers` does
            mutants.append(
                Mutant(
                    chapter,
                    len(mutants) + 1,
                    grade_id(cell),
                    parts[grade_id(cell)],
                    m.line,
                    m.operator,
                    m.original,
                    m.mutated,
                    answer,
                )
            )
    return mutants


def load_equivalents(chapter: str, path: Path | None = None) -> list[Equivalent]:
    """The entries of the chapter's `equivalent_mutants.yml` (or `path`); none when it does not
    exist; raises on a bad one."""
    import yaml

    path = Path(path) if path is not None else equivalent_mutants_file(chapter)
    if not path.exists():
        return []
    entries = yaml.safe_load(path.read_text()) or []
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a list of entries")
    answers = set(answer_parts(nbformat.read(SOLUTIONS_DIR / chapter / NOTEBOOK, as_version=4)))
    found = []
    for number, entry in enumerate(entries, 1):
        where = f"{path.name}, entry {number}"
        if not isinstance(entry, dict) or set(entry) != EQUIVALENT_KEYS:
            raise ValueError(f"{where}: expected exactly the keys {sorted(EQUIVALENT_KEYS)}")
        if entry["answer"] not in answers:
            raise ValueError(f"{where}: no answer cell {entry['answer']!r}; {sorted(answers)}")
        if not str(entry["reason"] or "").strip() or not str(entry["mutated"] or "").strip():
            raise ValueError(f"{where}: `mutated` and `reason` must not be empty")
        found.append(Equivalent(entry["answer"], str(entry["mutated"]), str(entry["reason"])))
    return found


def select(mutants: list[Mutant], part: str | None = None, limit: int | None = None):
    """The mutants of one part or answer cell; at most `limit`, taken in turn from each answer."""
    chosen = [m for m in mutants if part is None or part == m.answer or part in m.parts]
    if limit is None or limit >= len(chosen):
        return chosen
    turn = {}  # mutant number -> how many of its answer cell's mutants come before it
    for answer in {m.answer for m in chosen}:
        turn |= {m.number: i for i, m in enumerate(m for m in chosen if m.answer == answer)}
    taken = sorted(chosen, key=lambda m: (turn[m.number], m.number))[:limit]
    return sorted(taken, key=lambda m: m.number)


def grade_mutants(
    chapter: str, mutants: list[Mutant], jobs: int = 2, cell_timeout: int | None = 120
) -> list[Outcome]:
    """Grade the reference (it must score full marks, else RuntimeError) and then `mutants`,
    with real nbgrader in a temporary course folder; one `Outcome` per mutant."""
    from grader import sandbox
    from grader.autograde import autograde
    from grader.course import make_course
    from grader.notebooks import fill_answers, solution_answers
    from grader.release import release
    from grader.selftest import scores, submit

    reference = solution_answers(nbformat.read(SOLUTIONS_DIR / chapter / NOTEBOOK, as_version=4))
    isolate = sandbox.full_isolation()
    with tempfile.TemporaryDirectory(prefix="course-mutants-") as tmp:
        course = make_course(Path(tmp) / "course")
        release(course, [chapter])
        student_nb = nbformat.read(course / "release" / chapter / NOTEBOOK, as_version=4)

        def grade(names: list[str]) -> dict:
            results = autograde(
                course, chapter, names, jobs=jobs, cell_timeout=cell_timeout, use_sandbox=isolate
            )
            return {r.student: r for r in results}

        submit(course, chapter, CONTROL, fill_answers(student_nb, reference))
        control = grade([CONTROL])[CONTROL]
        got = scores(course, chapter).get(CONTROL, {})
        short = [
            f"{p} {s.score:g}/{s.max_score:g}" for p, s in got.items() if s.score < s.max_score
        ]
        if control.status != "graded" or short or not got:
            raise RuntimeError(
                f"{chapter}: the reference solution did not get full marks ({control.status}"
                f" {control.message}; {', '.join(short) or 'no scores'}): fix it before mutating"
            )
        for mutant in mutants:
            answers = {**reference, mutant.answer: mutant.source}
            submit(course, chapter, mutant.student, fill_answers(student_nb, answers))
        results = grade([m.student for m in mutants]) if mutants else {}
        table = scores(course, chapter)
    outcomes = []
    for mutant in mutants:
        result, got = results[mutant.student], table.get(mutant.student, {})
        lost = [p for p in mutant.parts if p in got and got[p].score < got[p].max_score - 1e-9]
        if any(p not in got for p in mutant.parts):  # no score in the gradebook
            outcomes.append(Outcome(mutant, "error", f"{result.status}: {result.message}"))
        elif lost:
            outcomes.append(Outcome(mutant, "killed", f"{', '.join(lost)} ({result.status})"))
        else:
            outcomes.append(Outcome(mutant, "survived"))
    return outcomes


def format_mutant(outcome: Outcome) -> str:
    m = outcome.mutant
    note = f"  [{outcome.verdict}: {outcome.detail}]" if outcome.detail else ""
    return (
        f"  {m.student}  {m.answer} line {m.line} ({m.operator}){note}\n"
        f"      - {m.original}\n      + {m.mutated}"
    )


def format_table(outcomes: list[Outcome], verdicts=("killed", "survived", "equivalent", "error")):
    """Per graded part: mutants, how many got each verdict and the share killed (of those
    killed or survived)."""
    rows: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        rows.setdefault(", ".join(outcome.mutant.parts) or "(no part)", []).append(outcome)
    score = "killed" in verdicts
    lines = [f"{'part':<24} {'mutants':>7} " + " ".join(f"{v:>10}" for v in verdicts)]
    lines[0] += f" {'score':>6}" if score else ""
    for part, found in [*rows.items(), ("total", outcomes)]:
        counts = [sum(o.verdict == v for o in found) for v in verdicts]
        line = f"{part:<24} {len(found):>7} " + " ".join(f"{c:>10}" for c in counts)
        if score:
            scored = counts[0] + counts[1]
            line += f" {counts[0] / scored:>6.0%}" if scored else f" {'-':>6}"
        lines.append(line)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="course-mutants",
        description="Share of mutated reference answers that each graded part's tests catch.",
        epilog=f"Operators: {', '.join(OPERATORS)}. Equivalent mutants: "
        "solutions/NN-topic/equivalent_mutants.yml.",
    )
    parser.add_argument("chapters", nargs="+", help="e.g. 01-kernels, or 'all'")
    parser.add_argument("--jobs", type=int, default=2, help="mutants graded at once (default 2)")
    parser.add_argument("--limit", type=int, help="at most N mutants per chapter, answers in turn")
    parser.add_argument("--part", help="only the mutants of this graded part (or answer cell)")
    parser.add_argument("--list", action="store_true", help="list the mutants, grade nothing")
    parser.add_argument(
        "--cell-timeout",
        type=int,
        default=120,
        help="seconds per cell; a mutant that runs longer is killed (default 120)",
    )
    args = parser.parse_args(argv)
    known = graded_chapters()
    chapters = known if args.chapters == ["all"] else args.chapters
    unknown = sorted(set(chapters) - set(known))
    if unknown:
        parser.error(f"no graded chapter {', '.join(unknown)}; known: {', '.join(known)} or all")
    every = {chapter: chapter_mutants(chapter) for chapter in chapters}
    names = {n for found in every.values() for m in found for n in (m.answer, *m.parts)}
    if args.part and args.part not in names:
        parser.error(f"no graded part or answer cell {args.part!r} in {', '.join(chapters)}")
    try:
        marked = {chapter: load_equivalents(chapter) for chapter in chapters}
    except ValueError as error:
        parser.error(str(error))
    for chapter, found in every.items():
        equivalents = marked[chapter]
        stale = [e for e in equivalents if not any(e.matches(m) for m in found)]
        chosen = select(found, args.part, None)
        if not chosen:
            continue
        outcomes, to_grade = [], []
        for mutant in chosen:
            equal = next((e for e in equivalents if e.matches(mutant)), None)
            if equal:
                outcomes.append(Outcome(mutant, "equivalent", equal.reason))
            else:
                to_grade.append(mutant)
        to_grade = select(to_grade, None, args.limit)
        outcomes += [Outcome(m, "listed") for m in to_grade]
        outcomes.sort(key=lambda o: o.mutant.number)
        print(f"\n== {chapter}: {len(to_grade)} mutants to grade, {len(found)} in all")
        for entry in stale:
            print(f"note: no mutant matches the equivalent {entry.answer}: {entry.mutated!r}")
        if args.list:
            print(format_table(outcomes, ("equivalent",)))
            print("\n".join(format_mutant(o) for o in outcomes))
            continue
        start = time.perf_counter()
        try:
            graded = grade_mutants(chapter, to_grade, args.jobs, args.cell_timeout)
        except RuntimeError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        seconds = time.perf_counter() - start
        outcomes = [o for o in outcomes if o.verdict == "equivalent"] + graded
        outcomes.sort(key=lambda o: o.mutant.number)
        each = f", {seconds / len(to_grade):.1f} s a mutant" if to_grade else ""
        print(f"graded in {seconds:.0f} s, --jobs {args.jobs}{each}; the control got full marks")
        print(format_table(outcomes))
        left = [o for o in outcomes if o.verdict in {"survived", "error"}]
        print(f"\nSurvivors ({len(left)}): add a test, or write one down as equivalent:")
        print("\n".join(format_mutant(o) for o in left) or "  none")
    return 0


if __name__ == "__main__":
    sys.exit(main())
