"""The layout of docs/architecture.md, kept true: who may import whom, no cycles, small modules.

`helpers` is what students' notebooks and kernels import; the sandbox mounts it into every
student kernel, so it must never reach the grader (`grader`) or the build tools (`coursebuild`).
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from conftest import CHAPTERS_DIR, REPO_ROOT

PACKAGES = ("helpers", "grader", "coursebuild")
# What each package may import from the course's own packages.
ALLOWED = {
    "helpers": {"helpers"},
    "grader": {"grader", "helpers"},  # the grader's reference code uses the course's checks
    "coursebuild": {"coursebuild", "grader", "helpers"},
}
MAX_LINES = 300


def modules() -> dict[str, Path]:
    """Dotted name -> file, for every module of the course's packages."""
    found = {}
    for package in PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            parts = path.relative_to(REPO_ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imported(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every course module named by an import in `source`, at any depth (functions included)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing module's package
                base = module.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            names.add(prefix)
            names.update(f"{prefix}.{alias.name}" for alias in node.names)
    return {name for name in names if name.split(".")[0] in PACKAGES}


def graph() -> dict[str, set[str]]:
    every = modules()
    edges = {}
    for name, path in every.items():
        targets = imported(path.read_text(), name, path.name == "__init__.py")
        # `from helpers import checks` names helpers.checks when it is a module.
        edges[name] = {t for t in targets if t in every and t != name}
    return edges


def test_the_import_rule_finds_a_forbidden_import():
    """The checker itself: an import of the grader from a helper is seen, even in a function."""
    source = "def f():\n    from grader import hidden\n"
    assert "grader.hidden" in imported(source, "helpers.plots")
    assert "helpers.conv" in imported("from . import conv\n", "helpers.pool")


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_imports_only_what_it_may(package):
    bad = {
        f"{name} imports {target}"
        for name, targets in graph().items()
        if name.split(".")[0] == package
        for target in targets
        if target.split(".")[0] not in ALLOWED[package]
    }
    assert not bad, sorted(bad)


def test_no_import_cycle_anywhere():
    edges = graph()
    done, path, cycles = set(), [], []

    def visit(node):
        if node in path:
            cycles.append(path[path.index(node) :] + [node])
            return
        if node in done:
            return
        path.append(node)
        for target in sorted(edges.get(node, ())):
            # A package's __init__ re-exporting its own modules is not a cycle.
            if not target.startswith(node + "."):
                visit(target)
        path.pop()
        done.add(node)

    for node in sorted(edges):
        visit(node)
    assert not cycles, [" -> ".join(c) for c in cycles]


def test_modules_are_small_or_say_why_not():
    """Over 300 lines only with a reason written at the top of the module."""
    long = [
        f"{path.relative_to(REPO_ROOT)}: {len(lines)} lines"
        for path in modules().values()
        if len(lines := path.read_text().splitlines()) > MAX_LINES
        and "300 lines" not in "\n".join(lines[:25])
    ]
    assert not long, long


# A formatter directive is allowed only with its reason beside it: "# fmt: skip (why)".
DIRECTIVE = re.compile(r"#\s*(fmt:\s*(skip|off)|isort:\s*skip|yapf:\s*disable)(?!\s*[(:-]\s*\w)")
PYTHON_TREES = ("helpers", "grader", "coursebuild", "course", "tests", "_ext")


def directives_without_reason(text: str) -> list[int]:
    return [n for n, line in enumerate(text.splitlines(), 1) if DIRECTIVE.search(line)]


def test_the_directive_rule_finds_a_bare_skip_and_accepts_a_reason():
    bare = "x = [1,\n     2]  # fmt: skip\n# fmt: off\n"
    assert directives_without_reason(bare) == [2, 3]
    assert directives_without_reason("y = (1,)  # fmt: skip (a matrix reads as rows)\n") == []


def test_no_formatter_directive_without_its_reason():
    """ruff format decides the layout of the Python code; a line it may not touch says why."""
    found = [
        f"{path.relative_to(REPO_ROOT)}:{line}"
        for tree in PYTHON_TREES
        for path in sorted((REPO_ROOT / tree).rglob("*.py"))
        if path.name not in ("test_lesson_claims.py", "test_layout.py")  # quote directives
        for line in directives_without_reason(path.read_text())
    ]
    assert not found, found


def notebook_code(path: Path) -> str:
    """The code cells of a notebook, without IPython's % and ! lines."""
    cells = json.loads(path.read_text())["cells"]
    lines = [
        line
        for cell in cells
        if cell["cell_type"] == "code"
        for line in "".join(cell["source"]).splitlines()
        if not line.lstrip().startswith(("%", "!"))
    ]
    return "\n".join(lines)


def test_every_helper_is_imported_by_a_notebook_or_another_helper():
    every, edges = modules(), graph()
    used = {"helpers.precheck"}  # the student's `make check` command
    for path in CHAPTERS_DIR.glob("*/*.ipynb"):
        code = notebook_code(path)
        used |= {name for name in imported(code, "__main__") if name in every}
        # A command a notebook runs: [sys.executable, "-m", "helpers.train_command", ...]
        used |= {name for name in re.findall(r'"-m",\s*"(helpers[\w.]*)"', code) if name in every}
    for name, targets in edges.items():
        if name.startswith("helpers"):
            used |= targets
    unused = sorted(n for n in every if n.startswith("helpers.") and n not in used)
    assert not unused, f"helpers that no notebook or other helper imports: {unused}"


def test_student_notebooks_never_import_the_grader_or_the_build_tools():
    bad = [
        f"{path.relative_to(REPO_ROOT)} imports {name}"
        for path in sorted(CHAPTERS_DIR.glob("*/*.ipynb"))
        for name in imported(notebook_code(path), "__main__")
        if not name.startswith("helpers")
    ]
    assert not bad, bad


def _step_of() -> dict[str, int]:
    from grader import ROUND

    return {f"grader.{m}": i for i, modules_ in enumerate(ROUND.values()) for m in modules_}


def test_every_grader_module_has_one_place_in_the_round():
    """grader/__init__.py's ROUND, SHARED and TOOLS name every module of grader/ exactly once."""
    from grader import ROUND, SHARED, TOOLS

    listed = [m for step in ROUND.values() for m in step] + [*SHARED, *TOOLS]
    twice = sorted({m for m in listed if listed.count(m) > 1})
    assert not twice, f"listed twice: {twice}"
    present = {p.stem for p in (REPO_ROOT / "grader").glob("*.py")} - {"__init__"}
    assert set(listed) == present, (
        f"not listed: {sorted(present - set(listed))}; gone: {sorted(set(listed) - present)}"
    )


def forward_imports(edges: dict[str, set[str]], step_of: dict[str, int]) -> list[str]:
    return sorted(
        f"{name} imports {target}"
        for name, targets in edges.items()
        if name in step_of
        for target in targets
        if target in step_of and step_of[target] > step_of[name]
    )


def test_the_step_rule_finds_an_import_of_a_later_step():
    steps = {"grader.collect": 1, "grader.export": 5}
    assert forward_imports({"grader.collect": {"grader.export"}}, steps) == [
        "grader.collect imports grader.export"
    ]
    assert forward_imports({"grader.export": {"grader.collect"}}, steps) == []


def test_no_step_imports_a_later_step():
    """The round runs release, collect, autograde, decide, feedback, export: a step may use what
    came before it (and SHARED), never what comes after."""
    assert not forward_imports(graph(), _step_of())


def duplicated_constants(sources: dict[str, str]) -> list[str]:
    """Module-level UPPER_CASE names bound to the same literal in two modules."""
    seen: dict[tuple[str, str], list[str]] = {}
    for module, source in sources.items():
        for node in ast.parse(source).body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                for target in node.targets:
                    if isinstance(target, ast.Name) and target.id.isupper():
                        key = (target.id, repr(node.value.value))
                        seen.setdefault(key, []).append(module)
    return sorted(
        f"{name} = {value} in {where}" for (name, value), where in seen.items() if len(where) > 1
    )


def test_the_duplicate_rule_finds_one_constant_defined_twice():
    found = duplicated_constants({"a": "TIMESTAMP = 't.txt'\n", "b": "TIMESTAMP = 't.txt'\n"})
    assert found == ["TIMESTAMP = 't.txt' in ['a', 'b']"]
    assert duplicated_constants({"a": "LIMIT = 1\n", "b": "LIMIT = 2\n"}) == []


def test_no_constant_is_defined_twice_in_the_grader():
    sources = {p.stem: p.read_text() for p in sorted((REPO_ROOT / "grader").glob("*.py"))}
    assert not duplicated_constants(sources)


def folder_literals(source: str) -> list[int]:
    """Lines that build a course-folder path from a literal name: `course / "submitted"`."""
    from grader import course_folder

    names = {
        getattr(course_folder, n)
        for n in ("SUBMITTED", "AUTOGRADED", "REBUILT", "HIDDEN", "RELEASE", "SOURCE", "EXPORTS")
    } | {course_folder.FEEDBACK, course_folder.TIMESTAMP}
    return sorted(
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Div)
        and any(isinstance(s, ast.Constant) and s.value in names for s in (node.left, node.right))
    )


def test_the_folder_rule_finds_a_literal_folder_name():
    assert folder_literals('p = course / "submitted" / student\n') == [1]
    assert folder_literals("p = CourseFolder(course).submitted(student, chapter)\n") == []


def test_the_course_folder_layout_is_named_in_one_module():
    """grader/course_folder.py owns the course folder's layout (`CourseFolder`)."""
    found = [
        f"grader/{p.name}:{line}"
        for p in sorted((REPO_ROOT / "grader").glob("*.py"))
        if p.name != "course_folder.py"
        for line in folder_literals(p.read_text())
    ]
    assert not found, found
