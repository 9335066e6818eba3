"""`course-grade similarity CHAPTER`: how alike the students' answers are, part by graded part.

A reason to look, never a verdict: nothing here writes the gradebook, the grading log or a
flag. The answers are read as the grader reads them (`grader.scan.notebook_problem`, then
`grader.rebuild.rebuild` on the released notebook: answer cells only, the first copy of each,
cut where the grader cuts), grouped by the graded part whose test cell follows them.

Each answer is normalized first (`normalize`): comments, whitespace, line breaks and string
contents go, and every name the answer binds itself (variables, arguments, loop targets, its
own functions) becomes `V`; the names it uses from elsewhere (`np.pad`, `tf.nn.max_pool2d`,
`range`, keyword arguments) stay, so two calls to different library functions stay different.
The comparison is copydetect's (PyPI `copydetect`, offline; the winnowing fingerprints of
MOSS, Schleimer, Wilkerson and Aiken 2003) on that text (`grader.similarity_prints`): the
hashes of its `NOISE`-character k-grams, winnowed. So renamed variables, other comments and
whitespace change nothing; reordered independent lines and a copy split into helper functions
keep every k-gram inside a line or block. Every k-gram of the released notebook's code (the
starter code, the set-up and test cells) and of the code in its task text is left out first.

A pair's score on a part is the share of the shorter answer's fingerprints that the other
holds. A short task makes independent right answers alike, so a score alone is no reason to
look: each shared fingerprint also carries log2(n / d) bits of evidence, n the part's answers
and d how many of them hold it (code the whole class writes carries none), and a pair of
students is reported only when the parts where they score at or above `--threshold` together
carry at least `--min-evidence` bits. Students linked by reported pairs, three or more, form a
cluster. Measured on made-up classes (tests/test_similarity.py, docs/instructors.md).
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader.course_folder import CourseFolder, valid_student_id
from grader.notebooks import grade_id, is_answer_cell, is_test_cell
from grader.paths import CHAPTERS_DIR, NOTEBOOK
from grader.rebuild import rebuild
from grader.scan import notebook_problem
from grader.similarity_prints import Print, fingerprint, spans

DEFAULT_THRESHOLD = 0.6  # share of the shorter answer's fingerprints
DEFAULT_EVIDENCE = 480  # bits a pair's alike parts must carry together
FOLDER = "similarity"  # <course>/similarity/<chapter>/: report.html, pairs.csv
CODE_IN_TEXT = re.compile(r"```[^\n]*\n(.*?)```|`([^`\n]+)`", re.S)


@dataclass
class Pair:
    """Two students' answers to one part, and what they share."""

    part: str
    a: str
    b: str
    score: float  # share of the shorter answer's fingerprints the other holds
    bits: float  # evidence of this part: log2(n / d) over the shared fingerprints
    evidence: float = 0.0  # the pair's bits over all its parts at or above the threshold
    code_a: str = ""
    code_b: str = ""
    spans_a: list[tuple[int, int]] = field(default_factory=list)  # shared code in code_a
    spans_b: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class Analysis:
    """What `similarity` found in one chapter."""

    chapter: str
    threshold: float
    min_evidence: float
    parts: dict[str, list[str]]  # graded part -> its answer cells
    answered: dict[str, int]  # graded part -> answers that differ from the starter code
    pairs: list[Pair]  # reported: highest evidence first, then by part
    skipped: list[str]  # "student: why" for notebooks that could not be read
    students: int = 0

    def clusters(self) -> list[tuple[list[str], list[str]]]:
        """Groups of three or more students linked by pairs: (students, the parts involved)."""
        parent: dict[str, str] = {}

        def root(x: str) -> str:
            while parent.setdefault(x, x) != x:
                x = parent[x]
            return x

        for pair in self.pairs:
            parent[root(pair.a)] = root(pair.b)
        groups: dict[str, set[str]] = {}
        for student in parent:
            groups.setdefault(root(student), set()).add(student)
        found = []
        for members in groups.values():
            if len(members) >= 3:
                parts = sorted({p.part for p in self.pairs if p.a in members})
                found.append((sorted(members), parts))
        return sorted(found)


def release_notebook(course: Path, chapter: str) -> nbformat.NotebookNode:
    """The student version as released into the course, else the repository's copy."""
    path = CourseFolder(course).release(chapter)
    if not path.is_file():
        path = CHAPTERS_DIR / chapter / NOTEBOOK
    return nbformat.read(path, as_version=4)


def part_cells(release: nbformat.NotebookNode) -> dict[str, list[str]]:
    """Each graded part (test cell) with the answer cells between it and the previous one."""
    parts, pending = {}, []
    for cell in release.cells:
        if is_answer_cell(cell):
            pending.append(grade_id(cell))
        elif is_test_cell(cell) and pending:
            parts[grade_id(cell)], pending = pending, []
    return parts


def boilerplate_code(release: nbformat.NotebookNode) -> str:
    """Every piece of code a student was given: code cells, and code in the task text."""
    pieces = [cell.source for cell in release.cells if cell.cell_type == "code"]
    for cell in release.cells:
        if cell.cell_type == "markdown":
            pieces += [block or span for block, span in CODE_IN_TEXT.findall(cell.source)]
    return "\n".join(pieces)


def read_answers(course: Path, chapter: str, release: nbformat.NotebookNode):
    """{student: {answer cell: source}} as the grader would grade it, and the unread ones."""
    answers, skipped = {}, []
    for student in CourseFolder(course).submitted_students(chapter):
        path = CourseFolder(course).submitted(student, chapter) / NOTEBOOK
        if not valid_student_id(student):
            skipped.append(f"{student!r}: not a valid student id")
            continue
        if path.is_symlink() or not path.is_file():
            skipped.append(f"{student}: no regular {NOTEBOOK}")
            continue
        problem = notebook_problem(path)
        if problem:
            skipped.append(f"{student}: {problem}")
            continue
        rebuilt, _ = rebuild(nbformat.read(path, as_version=4), release)
        answers[student] = {grade_id(c): c.source for c in rebuilt.cells if is_answer_cell(c)}
    return answers, skipped


def analyse(
    course: Path,
    chapter: str,
    threshold: float = DEFAULT_THRESHOLD,
    min_evidence: float = DEFAULT_EVIDENCE,
) -> Analysis:
    """Every pair of students reported on some graded part (module docstring). Reads only."""
    from copydetect import compare_files

    release = release_notebook(course, chapter)
    parts = part_cells(release)
    starters = {grade_id(c): c.source for c in release.cells if is_answer_cell(c)}
    given = fingerprint(boilerplate_code(release), window=1).hashes
    answers, skipped = read_answers(course, chapter, release)
    alike: dict[tuple[str, str], list[Pair]] = defaultdict(list)
    prints_of: dict[str, dict[str, Print]] = {}
    answered = {}
    for part, cells in parts.items():
        codes = {
            student: "\n".join(mine.get(cell, "") for cell in cells)
            for student, mine in answers.items()
            if any(mine.get(cell, "").strip() != starters[cell].strip() for cell in cells)
        }
        answered[part] = len(codes)
        prints = {s: fingerprint(code, given) for s, code in codes.items()}
        prints = {s: p for s, p in prints.items() if p.hashes}
        prints_of[part] = prints
        held = Counter(h for p in prints.values() for h in p.hashes)
        for a, b in itertools.combinations(sorted(prints), 2):
            mine, theirs = prints[a].hashes, prints[b].hashes
            shared = mine & theirs
            score = len(shared) / min(len(mine), len(theirs))
            if score >= threshold:
                bits = sum(math.log2(len(prints) / held[h]) for h in shared)
                alike[a, b].append(Pair(part, a, b, round(score, 3), round(bits, 1)))
    reported = []
    for found in alike.values():
        evidence = round(sum(pair.bits for pair in found), 1)
        if evidence < min_evidence:
            continue
        for pair in found:
            one, other = prints_of[pair.part][pair.a], prints_of[pair.part][pair.b]
            _, _, (slices_a, slices_b) = compare_files(one, other)
            pair.evidence, pair.code_a, pair.code_b = evidence, one.code, other.code
            pair.spans_a, pair.spans_b = spans(one, slices_a), spans(other, slices_b)
            reported.append(pair)
    reported.sort(key=lambda p: (-p.evidence, p.a, p.b, p.part))
    return Analysis(
        chapter, threshold, min_evidence, parts, answered, reported, skipped, len(answers)
    )
