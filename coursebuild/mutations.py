"""The mutation operators of `course-mutants` (`coursebuild.mutants`), on one answer cell's code.

`cell_mutations(source)` parses an answer cell of a solution notebook (markers included: they are
comments) and returns one `Mutation` per changed node, only inside the `### BEGIN SOLUTION` /
`### END SOLUTION` regions. One node changes at a time; the statement that holds it is written
back with `ast.unparse` in place of its own lines (for an `if`/`for`/`while`/`with`, its header
line only), so every other line of the cell, comments included, stays as it was. Mutants that do
not compile are skipped and identical mutant cells are kept once.

(Over 300 lines: the operator tables read one entry a line; the code is the rest.)
"""

from __future__ import annotations

import ast
import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass

from grader.notebooks import SOLUTION_REGION

COMPARISONS = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
ARITHMETIC = {
    ast.Add: [ast.Sub],
    ast.Sub: [ast.Add],
    ast.Mult: [ast.Div],
    ast.Div: [ast.Mult, ast.FloorDiv],
    ast.FloorDiv: [ast.Div],
}
PAIRS = [
    ("min", "max"),
    ("argmin", "argmax"),
    ("minimum", "maximum"),
    ("amin", "amax"),
    ("nanmin", "nanmax"),
    ("reduce_min", "reduce_max"),
    ("floor", "ceil"),
]
SWAPPED_NAMES = {a: b for pair in PAIRS for a, b in (pair, pair[::-1])}
CASTS = ("float", "int")  # `float(x)` -> `x`, like `x.astype(...)` -> `x`
AXES = (0, 1, -1)  # what an `axis=` keyword is moved to (its own value left out)
HEADER_END = re.compile(r"\s*\)*\s*:\s*(#.*)?")  # what may follow a compound statement's header
TRAILING = re.compile(r"\s*(#.*)?")  # what may follow a simple statement on its last line
OPERATORS = (
    "comparison",
    "arithmetic",
    "constant",
    "axis",
    "min/max",
    "floor/ceil",
    "cast",
    "slice",
    "keyword",
    "and/or",
    "True/False",
    "negation",
    "return first argument",
)


@dataclass(frozen=True)
class Mutation:
    """One mutant of an answer cell: where, which operator, the line before and after."""

    line: int  # 1-based line of the changed statement in the solution cell
    operator: str
    original: str  # the statement's original text (its lines joined), or the solution's size
    mutated: str  # the text that replaces it
    source: str  # the whole mutated cell, markers included


def _int(node: ast.AST) -> int | None:
    """The value of an integer literal, `-3` included; None for anything else."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _int(node.operand)
        return None if inner is None else -inner
    return None


def _literal(value: int) -> ast.expr:
    if value < 0:
        return ast.UnaryOp(ast.USub(), ast.Constant(-value))
    return ast.Constant(value)


def _shifted(node: ast.expr, by: int) -> ast.expr:
    """`node + 1` or `node - 1`, folded when `node` is an integer literal."""
    value = _int(node)
    if value is not None:
        return _literal(value + by)
    return ast.BinOp(copy.deepcopy(node), ast.Add() if by > 0 else ast.Sub(), ast.Constant(1))


def _changed(node: ast.AST, **fields) -> ast.AST:
    new = copy.deepcopy(node)
    for name, value in fields.items():
        setattr(new, name, value)
    return new


def node_mutations(node: ast.AST) -> Iterator[tuple[str, ast.AST]]:
    """(operator, replacement node) for every single change the operators make to `node`."""
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in COMPARISONS:
                ops = list(node.ops)
                ops[i] = COMPARISONS[type(op)]()
                yield "comparison", _changed(node, ops=ops)
    elif isinstance(node, ast.BinOp | ast.AugAssign):
        for new_op in ARITHMETIC.get(type(node.op), []):
            yield "arithmetic", _changed(node, op=new_op())
    elif isinstance(node, ast.Constant) and type(node.value) is bool:
        yield "True/False", ast.Constant(not node.value)
    elif isinstance(node, ast.Constant) and type(node.value) is int:
        yield "constant", ast.Constant(node.value + 1)
        yield "constant", ast.Constant(node.value - 1)
    elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
        if node.id in SWAPPED_NAMES:
            kind = "floor/ceil" if node.id in {"floor", "ceil"} else "min/max"
            yield kind, ast.Name(SWAPPED_NAMES[node.id], ast.Load())
    elif isinstance(node, ast.Attribute) and node.attr in SWAPPED_NAMES:
        kind = "floor/ceil" if node.attr in {"floor", "ceil"} else "min/max"
        yield kind, _changed(node, attr=SWAPPED_NAMES[node.attr])
    elif isinstance(node, ast.BoolOp):
        yield "and/or", _changed(node, op=ast.Or() if isinstance(node.op, ast.And) else ast.And())
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.Not):
        yield "negation", copy.deepcopy(node.operand)
    elif isinstance(node, ast.Slice):
        for bound in ("lower", "upper"):
            if getattr(node, bound) is not None:
                for by in (1, -1):
                    yield "slice", _changed(node, **{bound: _shifted(getattr(node, bound), by)})
    elif isinstance(node, ast.keyword) and node.arg == "axis" and _int(node.value) is not None:
        for axis in AXES:
            if axis != _int(node.value):
                yield "axis", _changed(node, value=_literal(axis))
    if isinstance(node, ast.Call):
        yield from _call_mutations(node)


def _call_mutations(node: ast.Call) -> Iterator[tuple[str, ast.AST]]:
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr == "astype":
        yield "cast", copy.deepcopy(func.value)
    if isinstance(func, ast.Attribute) and func.attr == "cast" and node.args:
        yield "cast", copy.deepcopy(node.args[0])
    if (
        isinstance(func, ast.Name)
        and func.id in CASTS
        and len(node.args) == 1
        and not node.keywords
    ):
        yield "cast", copy.deepcopy(node.args[0])
    if isinstance(func, ast.Name) and func.id == "slice" and node.args and not node.keywords:
        bounds = [0] if len(node.args) == 1 else [0, 1]
        for i in bounds:
            for by in (1, -1):
                args = list(node.args)
                args[i] = _shifted(args[i], by)
                yield "slice", _changed(node, args=args)
    for i, keyword in enumerate(node.keywords):
        if keyword.arg is not None:
            kind = "cast" if keyword.arg == "dtype" else "keyword"
            yield kind, _changed(node, keywords=node.keywords[:i] + node.keywords[i + 1 :])


def _replace(root: ast.AST, target: ast.AST, new: ast.AST) -> ast.AST:
    """A copy of `root` where the node `target` (inside it, or itself) is `new`."""
    if target is root:
        return new
    memo: dict = {}
    root_copy = copy.deepcopy(root, memo)
    old = memo[id(target)]
    for parent in ast.walk(root_copy):
        for name, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, name, new)
                return root_copy
            if isinstance(value, list) and any(item is old for item in value):
                value[[item is old for item in value].index(True)] = new
                return root_copy
    raise LookupError("the node is not inside the statement")


def _header(statement: ast.stmt) -> list[ast.AST] | None:
    """The parts of a compound statement's header line; None for a simple statement."""
    if isinstance(statement, ast.If | ast.While):
        return [statement.test]
    if isinstance(statement, ast.For | ast.AsyncFor):
        return [statement.target, statement.iter]
    if isinstance(statement, ast.With | ast.AsyncWith):
        return [
            part
            for item in statement.items
            for part in (item.context_expr, item.optional_vars)
            if part is not None
        ]
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Try):
        return []  # never mutated: defaults and bases are not the answer; their bodies are
    return None


def _statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    for statement in body:
        yield statement
        for name in ("body", "orelse", "finalbody"):
            yield from _statements(getattr(statement, name, []))
        for handler in getattr(statement, "handlers", []):
            yield from _statements(handler.body)


def _text(statement: ast.stmt, original_line: str) -> str:
    """A simple statement unparsed, or a compound statement's header line."""
    if _header(statement) is None:
        return ast.unparse(statement)
    bare = _changed(statement, body=[ast.Pass()])
    bare.orelse = [] if hasattr(bare, "orelse") else None
    text = ast.unparse(bare).splitlines()[0]
    return "el" + text if original_line.lstrip().startswith("elif") else text


def _regions(source: str) -> list[range]:
    """Line numbers (1-based) of the code inside each solution region, markers left out."""
    regions = []
    for match in SOLUTION_REGION.finditer(source):
        first = source.count("\n", 0, match.start()) + 1  # the BEGIN line
        last = first + match.group().rstrip("\n").count("\n")  # the END line
        regions.append(range(first + 1, last))
    return regions


def _splice(lines: list[str], statement: ast.stmt, ends: tuple[int, int], text: str) -> str | None:
    """The cell with `statement`'s lines (up to `ends`: line, byte column) replaced by `text`;
    None when the statement shares a line with other code."""
    first = lines[statement.lineno - 1].encode()
    last = lines[ends[0] - 1].encode()
    indent, rest = first[: statement.col_offset].decode(), last[ends[1] :].decode()
    allowed = TRAILING if _header(statement) is None else HEADER_END
    found = allowed.fullmatch(rest)
    if indent.strip() or not found:
        return None
    comment = f"  {found.group(1)}" if found.group(1) else ""
    new = lines[: statement.lineno - 1] + [indent + text + comment] + lines[ends[0] :]
    return "\n".join(new)


def _first_parameter(function: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    params = [a.arg for a in function.args.posonlyargs + function.args.args]
    return next((p for p in params if p not in {"self", "cls"}), None)


def _first_argument_mutations(tree: ast.Module, lines: list[str], regions: list[range]):
    """`return x`, x the first parameter, in place of a solution region that is a function's
    body, and in place of the body of each function defined inside a region (but `__init__`)."""
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    for region in regions:
        code = [n for n in region if lines[n - 1].strip()]
        around = [f for f in functions if code and f.lineno < region.start <= f.end_lineno]
        if around and (first := _first_parameter(max(around, key=lambda f: f.lineno))):
            start = region.start - 1  # the first line after the BEGIN marker, 0-based
            marker = lines[start - 1]
            text = f"return {first}"
            new = lines[:start] + [marker[: len(marker) - len(marker.lstrip())] + text]
            original = f"(the solution, {len(code)} line{'s' * (len(code) > 1)})"
            yield Mutation(
                region.start,
                "return first argument",
                original,
                text,
                "\n".join(new + lines[region.stop - 1 :]),
            )
        for function in functions:
            body = function.body[0]
            if (
                function.lineno in region
                and function.end_lineno in region
                and function.name != "__init__"
                and body.lineno > function.lineno
                and (first := _first_parameter(function))
            ):
                indent = lines[body.lineno - 1][: body.col_offset]
                text = f"return {first}"
                new = lines[: body.lineno - 1] + [indent + text] + lines[function.end_lineno :]
                original = f"(the body of {function.name})"
                yield Mutation(body.lineno, "return first argument", original, text, "\n".join(new))


def cell_mutations(source: str) -> list[Mutation]:
    """Every mutant of an answer cell's solution regions (see the module's docstring)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    lines, regions = source.split("\n"), _regions(source)
    found: dict[str, Mutation] = {}

    def keep(mutation: Mutation) -> None:
        try:
            compile(mutation.source, "<mutant>", "exec")
        except (SyntaxError, ValueError):
            return
        if mutation.source != source:
            found.setdefault(mutation.source, mutation)

    for statement in _statements(tree.body):
        header = _header(statement)
        parts = [statement] if header is None else header
        if not parts:
            continue
        end = (parts[-1].end_lineno, parts[-1].end_col_offset)
        if not any(statement.lineno in r and end[0] in r for r in regions):
            continue
        before = " ".join(line.strip() for line in lines[statement.lineno - 1 : end[0]])
        unchanged = _text(statement, lines[statement.lineno - 1])
        for node in (node for part in parts for node in ast.walk(part)):
            for operator, new in node_mutations(node):
                text = _text(_replace(statement, node, new), lines[statement.lineno - 1])
                spliced = None if text == unchanged else _splice(lines, statement, end, text)
                if spliced is not None:
                    keep(Mutation(statement.lineno, operator, before, text, spliced))
    for mutation in _first_argument_mutations(tree, lines, regions):
        keep(mutation)
    return list(found.values())
