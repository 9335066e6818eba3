"""`course-mutants` (coursebuild/mutants.py, coursebuild/mutations.py): each operator on small
answer cells, mutants only inside the solution region, the equivalents file, `--list` on chapter
01; one slow test grades a few mutants of chapter 01 with real nbgrader."""

from __future__ import annotations

import textwrap

import pytest

from coursebuild import mutants as tool
from coursebuild.mutations import OPERATORS, cell_mutations


def cell(body: str, head: str = "def f(x, y):\n") -> str:
    """An answer cell: `head` (outside the region), then `body` between the solution markers."""
    inner = textwrap.indent(textwrap.dedent(body).strip("\n"), "    ")
    return f"{head}    ### BEGIN SOLUTION\n{inner}\n    ### END SOLUTION\n"


def mutated(source: str, operator: str | None = None) -> list[str]:
    return [m.mutated for m in cell_mutations(source) if operator in (None, m.operator)]


@pytest.mark.parametrize(
    "body, operator, expected",
    [
        ("return x < y", "comparison", ["return x <= y"]),
        ("return x >= y", "comparison", ["return x > y"]),
        ("return x == y", "comparison", ["return x != y"]),
        ("return x is not None", "comparison", ["return x is None"]),
        ("return x + y", "arithmetic", ["return x - y"]),
        ("return x * y", "arithmetic", ["return x / y"]),
        ("return x / y", "arithmetic", ["return x * y", "return x // y"]),
        ("return x // y", "arithmetic", ["return x / y"]),
        ("x += y\nreturn x", "arithmetic", ["x -= y"]),
        ("return x[3]", "constant", ["return x[4]", "return x[2]"]),
        ("return x.sum(axis=-1)", "axis", ["return x.sum(axis=0)", "return x.sum(axis=1)"]),
        ("return x.sum(axis=-1)", "constant", ["return x.sum(axis=-2)", "return x.sum(axis=-0)"]),
        ("return max(x, y)", "min/max", ["return min(x, y)"]),
        ("return np.argmax(x)", "min/max", ["return np.argmin(x)"]),
        ("return np.minimum(x, y)", "min/max", ["return np.maximum(x, y)"]),
        ("return x.max()", "min/max", ["return x.min()"]),
        ("return math.floor(x)", "floor/ceil", ["return math.ceil(x)"]),
        ("return x.astype(np.float32)", "cast", ["return x"]),
        ("return np.zeros(x, dtype=int)", "cast", ["return np.zeros(x)"]),
        ("return float(x)", "cast", ["return x"]),
        (
            "return x[1:y]",
            "slice",
            ["return x[2:y]", "return x[0:y]", "return x[1:y + 1]", "return x[1:y - 1]"],
        ),
        (
            "return slice(x, x + y)",
            "slice",
            [
                "return slice(x + 1, x + y)",
                "return slice(x - 1, x + y)",
                "return slice(x, x + y + 1)",
                "return slice(x, x + y - 1)",
            ],
        ),
        ("return g(x, a=1, b=2)", "keyword", ["return g(x, b=2)", "return g(x, a=1)"]),
        ("return x and y", "and/or", ["return x or y"]),
        ("return g(x, flag=True)", "True/False", ["return g(x, flag=False)"]),
        ("return -x", "negation", ["return x"]),
        ("return not x", "negation", ["return x"]),
        ("z = x * 2\nreturn z", "return first argument", ["return x"]),
    ],
)
def test_each_operator_makes_the_expected_line(body, operator, expected):
    assert mutated(cell(body), operator) == expected


def test_every_operator_is_tested():
    tested = {row[1] for row in test_each_operator_makes_the_expected_line.pytestmark[0].args[1]}
    assert tested == set(OPERATORS)


def test_a_mutant_keeps_every_other_line_of_the_cell():
    source = cell(
        """
        # the sum, then a comment
        total = x + y  # a trailing comment
        for i in range(3):
            total = total * 2
        return total
        """,
        head='def f(x, y):\n    """Docstring: x + 1 is not the answer."""\n',
    )
    (mutant,) = [m for m in cell_mutations(source) if m.mutated == "for i in range(4):"]
    assert mutant.line == 6 and mutant.original == "for i in range(3):"
    assert mutant.source == source.replace("range(3)", "range(4)")
    (mutant,) = [m for m in cell_mutations(source) if m.mutated == "total = x - y"]
    assert mutant.source == source.replace("total = x + y", "total = x - y")  # comment kept


def test_only_the_solution_region_is_mutated():
    source = (
        "SIZE = 3 + 4\n\n\ndef f(x, y=1 + 2):\n    ### BEGIN SOLUTION\n    return x + y\n"
        "    ### END SOLUTION\n\n\nassert f(2) < 10\n"
    )
    found = cell_mutations(source)
    assert {m.mutated for m in found} == {"return x - y", "return x"}
    assert {m.line for m in found} == {6}


def test_elif_and_multiline_statements():
    source = cell(
        """
        if x > 0:
            return 1
        elif x == 0:  # zero
            return 2
        return g(x,
                 y + 1)
        """
    )
    found = mutated(source)
    assert "elif x != 0:" in found and "if x >= 0:" in found
    (mutant,) = [m for m in cell_mutations(source) if m.mutated == "elif x != 0:"]
    assert "    elif x != 0:  # zero\n" in mutant.source
    (mutant,) = [m for m in cell_mutations(source) if m.mutated == "return g(x, y - 1)"]
    assert mutant.original == "return g(x, y + 1)"  # its two lines, joined
    assert mutant.source.endswith("    return g(x, y - 1)\n    ### END SOLUTION\n")


def test_mutants_that_do_not_compile_are_skipped_and_duplicates_kept_once():
    # `x[1:y]`: the slice's lower bound + 1 and the constant 1 + 1 make the same cell: once.
    found = cell_mutations(cell("return x[1:y]"))
    sources = [m.source for m in found]
    assert len(sources) == len(set(sources))
    assert sum(m.mutated == "return x[2:y]" for m in found) == 1
    # `return` outside a function parses but does not compile: no mutant of it is kept.
    assert cell_mutations("### BEGIN SOLUTION\nreturn 1 + 2\n### END SOLUTION\n") == []
    assert cell_mutations("### BEGIN SOLUTION\nz = 1 + 2\n### END SOLUTION\n")


def test_equivalents_file(tmp_path):
    (tmp_path / "01-kernels.yml").write_text(
        "- answer: conv2d_valid\n"
        "  mutated: 'image, kernel = (np.asarray(image),   np.asarray(kernel, dtype=float))'\n"
        "  reason: the product with a float kernel is float anyway\n"
    )
    (entry,) = tool.load_equivalents("01-kernels", tmp_path / "01-kernels.yml")
    found = tool.chapter_mutants("01-kernels")
    assert [m.operator for m in found if entry.matches(m)] == ["cast"]
    assert tool.load_equivalents("02-padding", tmp_path / "02-padding.yml") == []
    for text, problem in [
        ("- answer: nope\n  mutated: x\n  reason: y\n", "no answer cell 'nope'"),
        ("- answer: conv2d_valid\n  mutated: x\n", "exactly the keys"),
        ("- answer: conv2d_valid\n  mutated: x\n  reason: ''\n", "must not be empty"),
        ("answer: conv2d_valid\n", "a list of entries"),
    ]:
        (tmp_path / "01-kernels.yml").write_text(text)
        with pytest.raises(ValueError, match=problem):
            tool.load_equivalents("01-kernels", tmp_path / "01-kernels.yml")


def test_list_chapter_01_has_mutants_for_every_graded_part(capsys):
    found = tool.chapter_mutants("01-kernels")
    parts = {
        "test_hand_output",
        "test_kernel_bank",
        "test_conv2d_valid",
        "test_edge_kernel",
        "test_apply_kernels",
    }
    assert {p for m in found for p in m.parts} == parts
    assert all(len(m.parts) == 1 for m in found)
    assert len({m.source for m in found}) == len(found)
    assert tool.main(["01-kernels", "--list"]) == 0
    out = capsys.readouterr().out
    for part in parts:
        assert f"\n{part} " in out
    assert "mutant-001" in out and "+ return kernels" in out


def test_part_and_limit_select_mutants(capsys):
    found = tool.chapter_mutants("01-kernels")
    some = tool.select(found, None, 5)
    assert len(some) == 5 and len({m.answer for m in some}) == 5  # one from each answer cell
    assert {m.answer for m in tool.select(found, "test_edge_kernel")} == {"edge_kernel"}
    assert tool.select(found, "edge_kernel") == tool.select(found, "test_edge_kernel")
    with pytest.raises(SystemExit):
        tool.main(["01-kernels", "--list", "--part", "test_nothing"])
    with pytest.raises(SystemExit):
        tool.main(["99-nothing", "--list"])


@pytest.mark.slow
def test_grading_kills_an_obviously_wrong_mutant():
    found = tool.chapter_mutants("01-kernels")
    wrong = next(m for m in found if m.answer == "kernel_bank" and m.mutated == "return kernels")
    off_by_one = next(
        m for m in found if m.answer == "hand_output" and "[[-1, 2], [7, 1]]" in m.mutated
    )
    outcomes = tool.grade_mutants("01-kernels", [wrong, off_by_one], jobs=2)
    assert [(o.mutant, o.verdict) for o in outcomes] == [(wrong, "killed"), (off_by_one, "killed")]
    assert outcomes[0].detail.startswith("test_kernel_bank")
    table = tool.format_table(outcomes)
    assert "total" in table and "100%" in table
