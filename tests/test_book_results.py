"""What the book's pages show is real and readable: accuracies, finished steps, figure sizes.

The slow tests read the reader's visit of the test build (the `reader` fixture, conftest.py),
whose lessons ran in fast mode, the settings of the README's `make book`:

- no accuracy measured on digits a model did not train on (test, validation, held-out, a
  vote) is below 0.95 on MNIST or 0.85 on Fashion-MNIST;
- with Fashion-MNIST installed, no output says that a step was skipped or that data is missing;
- every figure is a 2x PNG shown at its own width, within its column, so that its text (the
  course's FONT_SIZE at FIGURE_DPI, helpers/plots.py) is as large as the page's body text.

A cell whose model is small on purpose (chapter 07 overfits 300 images to show early stopping)
or that shows a mistake on purpose (chapter 06 scales the test images twice) carries the tag
`small-on-purpose` or `shows-a-mistake`, and its numbers are not held to the floors. The quick
tests check the lessons' sources: those tags only, code within 88 columns, crisp figures.
"""

from __future__ import annotations

import json
import re

import pytest
from book_reader import shown
from conftest import lesson_notebooks

from helpers import data, plots

MNIST_FLOOR, FASHION_FLOOR = 0.95, 0.85
EXEMPT_TAGS = {"small-on-purpose", "shows-a-mistake"}
MAX_CODE_COLUMNS = 88
# An accuracy on data the model did not train on, as the lessons print it.
HELD_OUT = re.compile(
    r"(?:test|val|validation|held-out)[ _]accuracy:?\s*(?P<value>[01]\.\d+)"
    r"|(?:soft|hard) vote[^:\n]*:\s*(?P<vote>[01]\.\d+)",
    re.IGNORECASE,
)
SKIPPED = re.compile(r"\bskip(?:s|ped|ping)?\b|not available|not installed", re.IGNORECASE)
# Offline builds (the tests') cannot reach TF-Hub: chapter 09 says so in one line, once.
NETWORK_ONLY = {"chapters/09-detection/detection": "is not reachable from this machine"}


def held_out_accuracies(reader) -> list[tuple[str, str, float, float]]:
    """(page, line, accuracy, floor) for every held-out accuracy of a cell held to the floors."""
    found = []
    for page in shown(reader):
        for output in page.seen["outputs"]:
            if EXEMPT_TAGS & set(output["tags"]):
                continue
            for line in output["text"].splitlines():
                floor = FASHION_FLOOR if "fashion" in line.lower() else MNIST_FLOOR
                for match in HELD_OUT.finditer(line):
                    value = float(match["value"] or match["vote"])
                    found.append((page.name, line.strip(), value, floor))
    return found


@pytest.mark.slow
def test_no_held_out_accuracy_is_below_the_floor(reader):
    found = held_out_accuracies(reader)
    pages = {page for page, *_ in found}
    for chapter in ("05-mnist-cnn", "06-augmentation", "07-callbacks", "08-ensembles"):
        assert any(chapter in page for page in pages), f"no held-out accuracy found in {chapter}"
    assert len(found) >= 15, f"only {len(found)} accuracies found: the pattern misses them"
    low = [f"{page}: {line}" for page, line, value, floor in found if value < floor]
    assert not low, "accuracies below the floor (0.95 MNIST, 0.85 Fashion):\n" + "\n".join(low)


@pytest.mark.slow
@pytest.mark.skipif(
    not data.fashion_mnist_available(),
    reason="Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist), so "
    "chapters 05 and 06 rightly say they skip its parts",
)
def test_no_output_says_a_step_was_skipped(reader):
    said = []
    for page in shown(reader):
        for output in page.seen["outputs"]:
            text = output["text"]
            allowed = NETWORK_ONLY.get(page.name)
            if allowed and allowed in text:
                text = text.replace(allowed, "")
            said += [f"{page.name}: {line}" for line in text.splitlines() if SKIPPED.search(line)]
    assert not said, "outputs that say a step was skipped:\n" + "\n".join(said)


@pytest.mark.slow
def test_every_figure_is_sharp_and_no_wider_than_its_column(reader):
    """A 2x PNG shown at its own width within the column: never scaled down with its text."""
    figure_text_px = plots.FONT_SIZE * plots.FIGURE_DPI / 72
    figures, problems = 0, []
    for page in shown(reader):
        assert figure_text_px >= page.seen["body_font_px"] - 0.5, (
            f"{page.name}: figure text {figure_text_px:.1f} px, body {page.seen['body_font_px']}"
        )
        for image in (image for image in page.seen["images"] if image["output"]):
            figures += 1
            name = f"{page.name}: {image['src'].rsplit('/', 1)[-1][:12]}"
            width = float(str(image["width_attribute"] or 0).removesuffix("px"))
            if not width or abs(image["width"] - 2 * width) > 2:
                problems.append(f"{name}: not a 2x PNG ({image['width']} px, width={width})")
                continue
            if image["shown_width"] < width - 1:
                problems.append(f"{name}: {width:.0f} px shown at {image['shown_width']:.0f}")
            if image["shown_width"] > image["column_width"] + 1:
                problems.append(f"{name}: wider than its column ({image['column_width']:.0f})")
    assert figures >= 30, f"only {figures} figures found on the lessons' pages"
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_no_code_block_needs_a_sideways_scroll(reader):
    """88 columns of code fit the column (_static/course.css sets the code's font size)."""
    wide = [
        f"{page.name}: {line.strip()[:70]}"
        for page in shown(reader)
        for line in page.seen["overflowing_code"]
    ]
    assert not wide, "code blocks wider than the column:\n" + "\n".join(wide)


@pytest.mark.slow
def test_no_table_is_wider_than_the_column(reader):
    """Every column of every table in view (code in a cell breaks where it must)."""
    wide = [
        f"{page.name}: table starting {first!r}"
        for page in shown(reader)
        for first in page.seen["overflowing_tables"]
    ]
    assert not wide, "tables wider than the column:\n" + "\n".join(wide)


def lesson_cells() -> list[tuple[str, int, dict]]:
    cells = []
    for path in lesson_notebooks():
        notebook = json.loads(path.read_text())
        cells += [(path.parent.name, i, cell) for i, cell in enumerate(notebook["cells"])]
    return cells


def test_lessons_use_only_the_exempt_tags_that_the_floors_know():
    known = EXEMPT_TAGS | {
        "parameters",
        "hide-input",
        "hide-output",
        "remove-cell",
        "remove-input",
        "remove-output",
        "raises-exception",
    }
    for chapter, index, cell in lesson_cells():
        unknown = set(cell["metadata"].get("tags", [])) - known
        assert not unknown, f"{chapter} cell {index}: unknown tags {sorted(unknown)}"


def test_lesson_code_fits_the_books_code_column():
    wide = [
        f"{chapter} cell {index}: {len(line)} columns: {line.strip()[:60]}"
        for chapter, index, cell in lesson_cells()
        if cell["cell_type"] == "code"
        for line in "".join(cell["source"]).splitlines()
        if len(line) > MAX_CODE_COLUMNS
    ]
    assert not wide, f"code lines over {MAX_CODE_COLUMNS} columns:\n" + "\n".join(wide)


def test_every_lesson_draws_crisp_figures():
    for path in lesson_notebooks():
        code = "".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"])
        assert "plots.crisp_figures()" in code, f"{path.parent.name}: call plots.crisp_figures()"
