"""A made-up class of chapter 04 (pooling) for `course-grade similarity`, where who copied is known.

(Over 300 lines for a reason: each answer style and its disguises are written out, so that a
reader can see what the detector is measured on.)

`make_class(seed)` writes the answers of 40 students to the chapter's five answer cells:

- independent students: each part in one of several styles (loops over slices, list
  comprehensions, while loops, `sliding_window_view`, clipped windows instead of padding,
  `nanmean`, TensorFlow's own pooling, ...), and within a style the student's own small
  choices (how the image becomes floats, how the output size is computed, what is allocated,
  how a window is cut and reduced, the order of independent lines, helper functions or not),
  names, comments and layout; some answers are wrong (each style has its usual mistake) and
  some parts are left as released;
- six copies, disguised: renamed variables, reordered independent lines, other comments and
  whitespace, a copy split into helper functions, a copy of a copy (three students alike) and
  one with every disguise at once on two parts only.

A copy is the original's own choices rendered again with a disguise, so it is as close to the
original as a copy is and no closer. `Class.copy_pairs` are the pairs (and parts) that were
copied, transitively within a group; every other pair is independent. The answers are checked
against TensorFlow by tests/test_similarity.py: the right ones are right, the wrong ones wrong.
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader.notebooks import fill_answers, grade_id, is_answer_cell
from grader.paths import CHAPTERS_DIR, NOTEBOOK
from grader.selftest import submit

CHAPTER = "04-pooling"
CELLS = ("max_pool_valid", "max_pool_same", "avg_pool_same", "min_pool", "conv_relu_pool")
PART = {cell: f"test_{cell}" for cell in CELLS}  # the graded part each answer cell belongs to
STUDENTS = 40

NAMES = {
    "img": ["img", "a", "arr", "x", "data", "pic", "im", "src", "values", "grid"],
    "out": ["out", "res", "result", "pooled", "output", "y", "ans", "target", "acc"],
    "oh": ["oh", "out_h", "n_rows", "H", "rows_out", "height_out", "ny", "hh"],
    "ow": ["ow", "out_w", "n_cols", "W", "cols_out", "width_out", "nx", "ww"],
    "i": ["i", "r", "row", "y0", "u", "p", "ii", "k"],
    "j": ["j", "c", "col", "x0", "v", "q", "jj", "m"],
    "patch": ["patch", "win", "block", "cell", "part", "piece", "chunk", "view"],
    "pads": ["pads", "padding", "pad_width", "widths", "amounts", "borders"],
    "n": ["n", "size", "length", "dim", "extent", "d"],
    "total": ["total", "missing", "extra", "need", "t", "pad_total"],
    "padded": ["padded", "big", "framed", "ext", "with_pad", "bordered"],
    "x": ["x", "t", "imgs", "batch", "inp", "tensor", "xs"],
    "k": ["k", "w", "filt", "kern", "weights", "f"],
    "maps": ["maps", "features", "z", "conv", "fmap", "act", "h1"],
    "ones": ["ones", "real", "mask", "count", "valid", "weights_"],
    "helper": ["_window", "_cut", "_box", "_take", "_span", "_region", "_bounds", "_pad_of"],
}
COMMENTS = [
    "# work on a float copy so the input stays as it is",
    "# convert to floats",
    "# slide the window over the image",
    "# the output size",
    "# keep the largest value of each window",
    "# go over every output pixel",
    "# padding that never wins",
    "# count only the real cells",
    "# negate, pool, negate back",
    "# conv -> relu -> pool",
    "# TODO check the edges",
    "# same as tf",
    "# windows start every `stride` pixels",
]


class Picks:
    """A student's choices, recorded so that a copy can make the same ones again."""

    def __init__(self, rng: random.Random, preset: dict | None = None):
        self.rng, self.made = rng, dict(preset or {})

    def __call__(self, key: str, options: list):
        if key not in self.made:
            self.made[key] = self.rng.choice(options)
        return self.made[key]


class Names(Picks):
    """A student's name for each role (NAMES), never the same name for two roles."""

    def __call__(self, role: str) -> str:
        """`helper:CELL` names a helper function of one answer cell (one name per cell)."""
        taken = {name for key, name in self.made.items() if key != role}
        pool = NAMES[role.split(":")[0]]
        return super().__call__(role, [name for name in pool if name not in taken])


@dataclass
class Look:
    """Comments, spacing and blank lines: what a copier changes first."""

    rng: random.Random
    comment_rate: float = 0.3
    tight: bool = False
    blank_lines: bool = False
    keep_docstring: bool = True

    def comment(self, indent: str) -> list[str]:
        if self.rng.random() < self.comment_rate:
            return [indent + self.rng.choice(COMMENTS)]
        return [""] if self.blank_lines and self.rng.random() < 0.5 else []


def _header(cell: str, keep_docstring: bool) -> list[str]:
    """The released def line and docstring, as most students leave them."""
    lines = STARTERS[cell].splitlines()
    body = lines[: lines.index("    # YOUR CODE HERE")]
    return body if keep_docstring else body[:1]


def _finish(lines: list[str], look: Look) -> str:
    code = "\n".join(lines) + "\n"
    if look.tight:  # `a * b` -> `a*b`, outside the docstring (no operators there)
        code = re.sub(r"(?<=[\w)\]]) ([*/+-]|//) (?=[\w(\[-])", r"\1", code)
    return code


LOOPS = ["nested", "nested", "product", "ndindex"]


class Habits:
    """A student's way with the small things, the same in every part (and in a copy)."""

    def __init__(self, picks: Picks):
        self.p = picks

    def ceil(self, a: str, b: str) -> str:
        return {
            "math": f"math.ceil(({a}) / {b})",
            "negfloor": f"-(-({a}) // {b})",
            "addsub": f"(({a}) + {b} - 1) // {b}",
            "np": f"int(np.ceil(({a}) / {b}))",
        }[self.p("ceil", ["math", "negfloor", "addsub", "np"])]

    def minof(self, a: str, b: str) -> str:
        return f"min({a}, {b})" if self.p("min", [True, False]) else f"min({b}, {a})"

    def guard(self, img: str | None) -> list[str]:
        """The checks a careful student puts first, if any."""
        how = self.p("guard", [None, None, None, "assert", "raise", "ndim"])
        if how == "assert":
            return ["assert window > 0 and stride > 0"]
        if how == "raise":
            return [
                "if window < 1 or stride < 1:",
                '    raise ValueError("window and stride must be positive")',
            ]
        if how == "ndim" and img:
            return [f"if np.ndim({img}) != 2:", '    raise ValueError("expected a 2-D image")']
        return []

    def clamp0(self, x: str) -> str:
        return f"max({x}, 0)" if self.p("clamp", [True, False]) else f"max(0, {x})"

    def at(self, arr: str, i: str, j: str) -> str:
        return f"{arr}[{i}, {j}]" if self.p("at", [True, True, False]) else f"{arr}[{i}][{j}]"

    def halves(self, t: str) -> tuple[str, str]:
        """(before, after) of a total padding `t`."""
        return {
            "floor": (f"{t} // 2", f"{t} - {t} // 2"),
            "int": (f"int({t} / 2)", f"{t} - int({t} / 2)"),
            "plus": (f"{t} // 2", f"({t} + 1) // 2"),
        }[self.p("halves", ["floor", "int", "plus"])]

    def numpy(self, t: str) -> str:
        how = self.p("numpy", ["method", "method", "asarray", "array"])
        return {"method": f"{t}.numpy()", "asarray": f"np.asarray({t})", "array": f"np.array({t})"}[
            how
        ]

    def f32(self) -> str:
        return self.p("f32", ["tf.float32", '"float32"', "np.float32"])

    def np32(self) -> str:
        """The same habit where NumPy reads it (NumPy has no tf.float32)."""
        return "np.float32" if self.f32() == "tf.float32" else self.f32()

    def maximum(self, x: str) -> str:
        how = self.p("max", ["method", "np.max", "np.amax", "builtin"])
        return {
            "method": f"{x}.max()",
            "np.max": f"np.max({x})",
            "np.amax": f"np.amax({x})",
            "builtin": f"max({x}.ravel())",
        }[how]

    def mean(self, x: str) -> str:
        how = self.p("mean", ["method", "np", "sum"])
        return {"method": f"{x}.mean()", "np": f"np.mean({x})", "sum": f"{x}.sum() / {x}.size"}[how]

    def alloc(self, shape: str) -> str:
        how = self.p("alloc", ["zeros", "empty", "float"])
        return {
            "zeros": f"np.zeros({shape})",
            "empty": f"np.empty({shape})",
            "float": f"np.zeros({shape}, dtype=float)",
        }[how]

    def dims(self, img: str) -> tuple[list[str], str, str]:
        """Lines that name the image's height and width, and the two expressions."""
        how = self.p("dims", ["unpack", "inline", "two_lines"])
        if how == "unpack":
            return [f"h, w = {img}.shape"], "h", "w"
        if how == "two_lines":
            return [f"height = {img}.shape[0]", f"width = {img}.shape[1]"], "height", "width"
        return [], f"{img}.shape[0]", f"{img}.shape[1]"

    def loops(self, i: str, j: str, ni: str, nj: str) -> tuple[list[str], str]:
        """The header lines of a loop over every output pixel, and the body's indent."""
        how = self.p("loops", LOOPS)
        if how == "product":
            return [f"for {i}, {j} in itertools.product(range({ni}), range({nj})):"], "    "
        if how == "ndindex":
            return [f"for {i}, {j} in np.ndindex({ni}, {nj}):"], "    "
        return [f"for {i} in range({ni}):", f"    for {j} in range({nj}):"], "        "

    def imports(self) -> list[str]:
        """The imports a student puts at the top of an answer, if any."""
        return ["import itertools", ""] if self.p("loops", LOOPS) == "product" else []


def _as_float(p, n, src: str = "image") -> str:
    how = p("asfloat", ["asarray", "array", "astype", "array_float"])
    return (
        f"{n('img')} = "
        + {
            "asarray": f"np.asarray({src}, dtype=float)",
            "array": f"np.array({src}, dtype=float)",
            "astype": f"np.asarray({src}).astype(np.float64)",
            "array_float": f"np.array({src}, float)",
        }[how]
    )


def _indent(prefix: str, lines: list[str]) -> list[str]:
    return [prefix + line if line else line for line in lines]


# Each part's styles: f(w, bug) -> lines, `w` a Writer: p (choices), n (names), h (habits),
# look, and the answer cell.
def _valid_loops(w, bug):
    p, n, h = w.p, w.n, w.h
    img, out, oh, ow, i, j = (n(k) for k in ("img", "out", "oh", "ow", "i", "j"))
    dims, height, width = h.dims(img)
    plus = "" if bug else " + 1"
    if p("size", ["ceil", "floor"]) == "ceil":
        sizes = [
            f"{oh} = {h.ceil(f'{height} - window{plus}', 'stride')}",
            f"{ow} = {h.ceil(f'{width} - window{plus}', 'stride')}",
        ]
    else:
        sizes = [
            f"{oh} = ({height} - window) // stride{plus}",
            f"{ow} = ({width} - window) // stride{plus}",
        ]
    if p("swap_sizes", [False, True]):
        sizes.reverse()
    cut_how = p("cut", ["inline", "starts", "slices"])
    if cut_how == "inline":
        cut = [
            f"{n('patch')} = {img}[{i} * stride:{i} * stride + window, "
            f"{j} * stride:{j} * stride + window]"
        ]
    else:
        cut = [f"top = {i} * stride", f"left = {j} * stride"]
        if cut_how == "slices":
            cut = [
                f"rows = slice({i} * stride, {i} * stride + window)",
                f"cols = slice({j} * stride, {j} * stride + window)",
            ]
        if p("swap_starts", [False, True]):
            cut.reverse()
        window = "rows, cols" if cut_how == "slices" else "top:top + window, left:left + window"
        cut.append(f"{n('patch')} = {img}[{window}]")
    value = h.maximum(n("patch"))
    helper = n("helper:max_pool_valid") if p("helper", [False, False, True]) else None
    args = w.sig(img, i, j, "window", "stride")
    lines = h.imports()
    if helper:
        lines += [f"def {helper}({args}):"] + _indent("    ", cut) + [f"    return {value}", ""]
    loop, inner = w.h.loops(i, j, oh, ow)
    body = (
        [f"{h.at(out, i, j)} = {helper}({args})"]
        if helper
        else [*cut, f"{h.at(out, i, j)} = {value}"]
    )
    lines += w.header() + _indent("    ", h.guard(None)) + w.comment()
    lines += _indent("    ", [_as_float(p, n), *dims]) + w.comment()
    lines += _indent("    ", [*sizes, f"{out} = {h.alloc(f'({oh}, {ow})')}"]) + w.comment()
    lines += _indent("    ", loop) + _indent("    " + inner, body)
    return lines + [f"    return {out}"]


def _valid_comprehension(w, bug):
    p, n, h = w.p, w.n, w.h
    img = n("img")
    dims, height, width = h.dims(img)
    stop = "- window" if bug else "- window + 1"
    lines = w.header() + _indent("    ", [_as_float(p, n), *dims])
    rows, cols = f"range(0, {height} {stop}, stride)", f"range(0, {width} {stop}, stride)"
    if p("named_ranges", [False, True]):
        lines += [f"    {n('oh')} = {rows}", f"    {n('ow')} = {cols}"]
        rows, cols = n("oh"), n("ow")
    cell = h.maximum(f"{img}[{n('i')}:{n('i')} + window, {n('j')}:{n('j')} + window]")
    return (
        lines
        + w.comment()
        + [
            f"    return np.array([[{cell} for {n('j')} in {cols}]",
            f"                     for {n('i')} in {rows}])",
        ]
    )


def _valid_while(w, bug):
    p, n, h = w.p, w.n, w.h
    img, out = n("img"), n("out")
    dims, height, width = h.dims(img)
    test = "<" if bug else "<="
    lines = w.header() + _indent("    ", [_as_float(p, n), *dims])
    lines += [f"    {out} = []", "    top = 0"] + w.comment()
    return lines + [
        f"    while top + window {test} {height}:",
        "        row = []",
        "        left = 0",
        f"        while left + window {test} {width}:",
        f"            row.append({h.maximum(f'{img}[top:top + window, left:left + window]')})",
        "            left += stride",
        f"        {out}.append(row)",
        "        top += stride",
        f"    return np.array({out})",
    ]


def _valid_views(w, bug):
    p, n = w.p, w.n
    lines = w.header() + ["    from numpy.lib.stride_tricks import sliding_window_view", ""]
    lines += ["    " + _as_float(p, n)] + w.comment()
    step = "stride + 1" if bug else "stride"
    axes = p("axes", ["(2, 3)", "(-2, -1)"])
    return lines + [
        f"    {n('patch')} = sliding_window_view({n('img')}, (window, window))",
        f"    return {n('patch')}[::{step}, ::{step}].max(axis={axes})",
    ]


def _valid_tf(w, bug):
    n, h = w.n, w.h
    x = n("x")
    pad = "SAME" if bug else "VALID"
    lines = w.header() + w.comment()
    return lines + [
        f"    {x} = np.asarray(image, dtype={h.np32()})[np.newaxis, :, :, np.newaxis]",
        f"    {n('out')} = tf.nn.max_pool2d({x}, window, stride, {pad!r})",
        f"    return {h.numpy(n('out'))}[0, :, :, 0]",
    ]


def _pads(w, img: str, bug: bool) -> list[str]:
    """The SAME padding of each axis: total // 2 before, the rest after (swapped by the bug)."""
    p, n, h = w.p, w.n, w.h
    pads, size, total = n("pads"), n("n"), n("total")
    style = p("pads_style", ["loop", "comprehension", "per_axis"])
    if style == "loop":
        before, after = h.halves(total)
        pair = f"({after}, {before})" if bug else f"({before}, {after})"
        need = f"({h.ceil(size, 'stride')} - 1) * stride + window - {size}"
        return [
            f"{pads} = []",
            f"for {size} in {img}.shape:",
            f"    {total} = {h.clamp0(need)}",
            f"    {pads}.append({pair})",
        ]
    if style == "per_axis":
        lines = []
        for axis, name in ((0, "pad_h"), (1, "pad_w")):
            extent = f"{img}.shape[{axis}]"
            need = f"({h.ceil(extent, 'stride')} - 1) * stride + window - {extent}"
            lines.append(f"{name} = {h.clamp0(need)}")
        pairs = []
        for name in ("pad_h", "pad_w"):
            before, after = h.halves(name)
            pairs.append(f"({after}, {before})" if bug else f"({before}, {after})")
        return lines + [f"{pads} = [{pairs[0]}, {pairs[1]}]"]
    before, after = h.halves("t")
    pair = f"({after}, {before})" if bug else f"({before}, {after})"
    need = f"({h.ceil(size, 'stride')} - 1) * stride + window - {size}"
    return [
        f"{total}s = [{h.clamp0(need)} for {size} in {img}.shape]",
        f"{pads} = [{pair} for t in {total}s]",
    ]


def _pads_lines(w, img: str, bug: bool) -> tuple[list[str], list[str]]:
    """(lines before the answer's def, lines in its body) that compute the padding."""
    lines = _pads(w, img, bug)
    if not w.p("helper", [False, False, True]):
        return [], _indent("    ", lines)
    helper, args = w.n(f"helper:{w.cell}"), w.sig(img, "window", "stride")
    before = [f"def {helper}({args}):", *_indent("    ", lines)]
    return before + [f"    return {w.n('pads')}", ""], [f"    {w.n('pads')} = {helper}({args})"]


def _pad_with(w, img: str, fill: str, padded: str) -> list[str]:
    """`padded`: the image inside a frame of `fill`, with np.pad or by hand."""
    pads = w.n("pads")
    if w.p("pad_how", ["np.pad", "np.pad", "frame"]) == "np.pad":
        value = "" if fill == "0.0" else f", constant_values={fill}"
        return [f"{padded} = np.pad({img}, {pads}{value})"]
    return [
        f"(top, bottom), (left, right) = {pads}",
        f"{padded} = np.full(({img}.shape[0] + top + bottom, {img}.shape[1] + left + right), "
        f"{fill})",
        f"{padded}[top:top + {img}.shape[0], left:left + {img}.shape[1]] = {img}",
    ]


def _same_pad_loops(w, bug, fill: str, reduce: str) -> list[str]:
    p, n, h = w.p, w.n, w.h
    img, out, i, j, padded = n("img"), n("out"), n("i"), n("j"), n("padded")
    shape = n("oh")
    helper, pad_lines = _pads_lines(w, img, bug)
    lines = h.imports() + helper + w.header() + _indent("    ", h.guard("image"))
    lines += ["    " + _as_float(p, n)] + w.comment()
    sizes = [f"    {shape} = [{h.ceil('d', 'stride')} for d in {img}.shape]"]
    lines += sizes + pad_lines if p("sizes_first", [True, False]) else pad_lines + sizes
    lines += w.comment() + _indent("    ", _pad_with(w, img, fill, padded))
    if reduce == "count" and p("pad_how", []) == "frame":
        ones = n("ones")
        inside = f"top:top + {img}.shape[0], left:left + {img}.shape[1]"
        lines += [f"    {ones} = np.zeros_like({padded})", f"    {ones}[{inside}] = 1"]
    elif reduce == "count":
        lines += [f"    {n('ones')} = np.pad(np.ones_like({img}), {n('pads')})"]
    lines += [f"    {out} = {h.alloc(f'({shape}[0], {shape}[1])')}"] + w.comment()
    if p("cut", ["slices", "starts"]) == "slices":
        cut = [
            f"rows = slice({i} * stride, {i} * stride + window)",
            f"cols = slice({j} * stride, {j} * stride + window)",
        ]
        where = "rows, cols"
    else:
        cut = [f"row0 = {i} * stride", f"col0 = {j} * stride"]
        where = "row0:row0 + window, col0:col0 + window"
    if p("swap_slices", [False, True]):
        cut.reverse()
    value = {
        "max": h.maximum(f"{padded}[{where}]"),
        "count": f"{padded}[{where}].sum() / {n('ones')}[{where}].sum()",
        "nanmean": f"np.nanmean({padded}[{where}])",
    }[reduce]
    loop, inner = h.loops(i, j, f"{shape}[0]", f"{shape}[1]")
    lines += _indent("    ", loop) + _indent("    " + inner, [*cut, f"{h.at(out, i, j)} = {value}"])
    return lines + [f"    return {out}"]


def _same_clip(w, bug, reduce: str) -> list[str]:
    """No padding: each window cut to the image (pads are left out, as TensorFlow does)."""
    p, n, h = w.p, w.n, w.h
    img, out, i, j = n("img"), n("out"), n("i"), n("j")
    dims, height, width = h.dims(img)
    sizes = [f"oh = {h.ceil(height, 'stride')}", f"ow = {h.ceil(width, 'stride')}"]
    tops = [
        f"top = {h.halves(h.clamp0(f'(oh - 1) * stride + window - {height}'))[0]}",
        f"left = {h.halves(h.clamp0(f'(ow - 1) * stride + window - {width}'))[0]}",
    ]
    if bug:
        tops = ["top = 0", "left = 0"]
    if p("swap_tops", [False, True]):
        tops.reverse()
    cut = f"{img}[r0:r1, c0:c1]"
    value = h.maximum(cut) if reduce == "max" else h.mean(cut)
    helper = n(f"helper:{w.cell}") if p("helper", [False, False, True]) else None
    lines = h.imports()
    if helper and p("clip_helper", ["value", "bounds"]) == "bounds":
        # one axis at a time: where a window starting at `start` lies inside `size` cells
        order = w.sig("start", "size", "window").split(", ")
        both = f"{h.clamp0('start')}, {h.minof('start + window', 'size')}"
        lines += [f"def {helper}({', '.join(order)}):", f"    return {both}", ""]

        def call(start: str, size: str) -> str:
            given = {"start": start, "size": size, "window": "window"}
            return f"{helper}({', '.join(given[name] for name in order)})"

        body = [
            f"r0, r1 = {call(f'{i} * stride - top', height)}",
            f"c0, c1 = {call(f'{j} * stride - left', width)}",
        ]
        if p("swap_bounds", [False, True]):
            body.reverse()
        inside = [*body, f"{h.at(out, i, j)} = {value}"]
    else:
        body = [
            f"r0 = {h.clamp0(f'{i} * stride - top')}",
            f"r1 = {h.minof(f'{i} * stride - top + window', height)}",
            f"c0 = {h.clamp0(f'{j} * stride - left')}",
            f"c1 = {h.minof(f'{j} * stride - left + window', width)}",
        ]
        if p("swap_bounds", [False, True]):
            body = body[2:] + body[:2]
        inside = [*body, f"{h.at(out, i, j)} = {value}"]
        if helper:
            args = w.sig(img, i, j, "top", "left", "window", "stride")
            lines += [f"def {helper}({args}):"]
            lines += _indent("    ", [*dims, *body, f"return {value}"]) + [""]
            inside = [f"{h.at(out, i, j)} = {helper}({args})"]
    lines += w.header() + _indent("    ", h.guard("image"))
    lines += _indent("    ", [_as_float(p, n), *dims]) + w.comment()
    lines += _indent("    ", [*sizes, *tops, f"{out} = {h.alloc('(oh, ow)')}"]) + w.comment()
    loop, inner = h.loops(i, j, "oh", "ow")
    return lines + _indent("    ", loop) + _indent("    " + inner, inside) + [f"    return {out}"]


def _same_views(w, bug, reduce: str) -> list[str]:
    p, n, h = w.p, w.n, w.h
    img, padded = n("img"), n("padded")
    helper, pad_lines = _pads_lines(w, img, bug)
    lines = helper + w.header()
    lines += ["    from numpy.lib.stride_tricks import sliding_window_view", ""]
    lines += ["    " + _as_float(p, n)] + pad_lines + w.comment()
    fill = "-np.inf" if reduce == "max" else "np.nan"
    lines += _indent("    ", _pad_with(w, img, fill, padded))
    patch = n("patch")
    crop = f"[:{h.ceil(f'{img}.shape[0]', 'stride')}, :{h.ceil(f'{img}.shape[1]', 'stride')}]"
    lines += [
        f"    {patch} = sliding_window_view({padded}, (window, window))[::stride, ::stride]",
        f"    {patch} = {patch}{crop}",
    ]
    call = "np.max" if reduce == "max" else "np.nanmean"
    return lines + [f"    return {call}({patch}, axis={p('axes', ['(2, 3)', '(-2, -1)'])})"]


def _same_tf(w, bug, op: str) -> list[str]:
    n, h = w.n, w.h
    x = n("x")
    pad = "VALID" if bug else "SAME"
    nhwc = f"np.asarray(image, dtype={h.np32()})[None, ..., None]"
    helper = n(f"helper:{w.cell}") if w.p("helper", [False, False, True]) else None
    lines = [f"def {helper}(image):", f"    return {nhwc}", ""] if helper else []
    lines += w.header() + w.comment()
    return lines + [
        f"    {x} = {helper}(image)" if helper else f"    {x} = {nhwc}",
        f"    {n('out')} = tf.nn.{op}({x}, ksize=window, strides=stride, padding={pad!r})",
        f"    return {h.numpy(n('out'))}[0, ..., 0]",
    ]


def _min_pool(w, bug):
    p, n, h = w.p, w.n, w.h
    x, out = n("x"), n("out")
    lines = w.header() + w.comment()
    style = p("min_style", ["one_line", "three_lines", "numpy_first", "negative"])
    sign = "" if bug else "-"
    if style == "one_line":
        pooled = f"tf.nn.max_pool2d(-tf.constant(images, {h.f32()}), window, stride, padding)"
        return lines + [f"    return {sign}{h.numpy(pooled)}"]
    if style == "three_lines":
        return lines + [
            f"    {x} = tf.convert_to_tensor(images, dtype={h.f32()})",
            f"    {out} = tf.nn.max_pool2d(-{x}, ksize=window, strides=stride, padding=padding)",
            f"    return {h.numpy(f'{sign}{out}' if sign else out)}",
        ]
    if style == "numpy_first":
        return lines + [
            f"    {x} = -np.asarray(images, dtype={h.np32()})",
            f"    {out} = tf.nn.max_pool2d({x}, window, stride, padding)",
            f"    return {sign}{h.numpy(out)}",
        ]
    neg = "" if bug else "np.negative"
    return lines + [
        f"    {x} = tf.negative(tf.cast(images, {h.f32()}))",
        f"    return {neg}({h.numpy(f'tf.nn.max_pool2d({x}, window, stride, padding)')})",
    ]


def _conv_relu_pool(w, bug):
    p, n, h = w.p, w.n, w.h
    x, k, maps = n("x"), n("k"), n("maps")
    lines = w.header() + w.comment()
    cast = [f"{x} = tf.constant(images, {h.f32()})", f"{k} = tf.constant(kernels, {h.f32()})"]
    if p("swap_cast", [False, True]):
        cast.reverse()
    lines += _indent("    ", cast)
    conv = f'tf.nn.conv2d({x}, {k}, strides=stride, padding="SAME")'
    relu = p("relu", ["tf.nn.relu({})", "tf.maximum({}, 0.0)", "tf.keras.activations.relu({})"])
    pool = p(
        "pool",
        [
            'tf.nn.max_pool2d({}, ksize=2, strides=2, padding="SAME")',
            'tf.nn.max_pool({}, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")',
            'tf.nn.pool({}, window_shape=(2, 2), pooling_type="MAX", strides=(2, 2), '
            'padding="SAME")',
        ],
    )
    if bug:
        relu = "{}"
    helper = n("helper:conv_relu_pool") if p("helper", [False, False, True]) else None
    if helper:
        lines[:0] = [f"def {helper}({x}, {k}, stride):", f"    return {relu.format(conv)}", ""]
        relu, conv = "{}", f"{helper}({x}, {k}, stride)"
    if p("one_expression", [False, True]):
        return lines + [f"    return {h.numpy(pool.format(relu.format(conv)))}"]
    lines += [f"    {maps} = {relu.format(conv)}"] + w.comment()
    return lines + [f"    return {h.numpy(pool.format(maps))}"]


STYLES = {
    "max_pool_valid": {
        "loops": _valid_loops,
        "comprehension": _valid_comprehension,
        "while": _valid_while,
        "views": _valid_views,
        "tf": _valid_tf,
    },
    "max_pool_same": {
        "pad_loops": lambda w, bug: _same_pad_loops(w, bug, "-np.inf", "max"),
        "clip": lambda w, bug: _same_clip(w, bug, "max"),
        "views": lambda w, bug: _same_views(w, bug, "max"),
        "tf": lambda w, bug: _same_tf(w, bug, "max_pool2d"),
    },
    "avg_pool_same": {
        "count": lambda w, bug: _same_pad_loops(w, bug, "0.0", "count"),
        "nanmean": lambda w, bug: _same_pad_loops(w, bug, "np.nan", "nanmean"),
        "clip": lambda w, bug: _same_clip(w, bug, "mean"),
        "views": lambda w, bug: _same_views(w, bug, "mean"),
        "tf": lambda w, bug: _same_tf(w, bug, "avg_pool2d"),
    },
    "min_pool": {"tf": _min_pool},
    "conv_relu_pool": {"tf": _conv_relu_pool},
}


@dataclass
class Writer:
    """What a style function writes with: choices, names, habits, look, the answer cell."""

    p: Picks
    n: Picks
    h: Habits
    look: Look
    cell: str

    def header(self) -> list[str]:
        return _header(self.cell, self.look.keep_docstring)

    def comment(self) -> list[str]:
        return self.look.comment("    ")

    def sig(self, *args: str) -> str:
        """A helper's arguments in the order this student put them (the same at every call)."""
        order = list(args)
        random.Random(self.p("argorder", list(range(6)))).shuffle(order)
        return ", ".join(order)


@dataclass
class Author:
    """How one student writes: choices per part, names, look; what a copy replays."""

    seed: int
    styles: dict[str, str]
    picks: dict[str, dict] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    habits: dict[str, object] = field(default_factory=dict)
    bugs: frozenset[str] = frozenset()
    blank: frozenset[str] = frozenset()
    look_seed: int = 0
    tight: bool = False
    keep_docstring: bool = True

    def write(self, cell: str, helper: bool | None = None, reorder: bool = False) -> str:
        if cell in self.blank:
            return STARTERS[cell]
        rng = random.Random(f"{self.seed}-{cell}")
        preset = dict(self.picks.get(cell, {}))
        if helper is not None:
            preset["helper"] = helper
        if reorder:  # flip every order of independent lines the original chose
            for key in [k for k in self.picks.get(cell, {}) if k.startswith(("swap_", "sizes_"))]:
                preset[key] = not preset[key]
        picks = Picks(rng, preset)
        names = Names(random.Random(f"{self.seed}-names"), self.names)
        look = Look(
            random.Random(f"{self.look_seed}-{cell}-look"),
            tight=self.tight,
            keep_docstring=self.keep_docstring,
        )
        habits = Picks(random.Random(f"{self.seed}-habits"), self.habits)
        writer = Writer(picks, names, Habits(habits), look, cell)
        code = _finish(STYLES[cell][self.styles[cell]](writer, cell in self.bugs), look)
        self.picks.setdefault(cell, picks.made)
        self.names.update(names.made)
        self.habits.update(habits.made)
        return code


@dataclass
class Class:
    """Everyone's answers, and who copied whom."""

    answers: dict[str, dict[str, str]]  # student -> answer cell -> source
    groups: list[tuple[set[str], tuple[str, ...], str]]  # copied together: students, cells, how
    wrong: dict[str, set[str]]  # student -> answer cells written wrong on purpose

    @property
    def copy_pairs(self) -> set[tuple[str, str, str]]:
        """(student, student, graded part) for every two students of a group, on its parts."""
        found = set()
        for students, cells, _ in self.groups:
            for a, b in itertools.combinations(sorted(students), 2):
                found |= {(a, b, PART[cell]) for cell in cells}
        return found


def _author(rng: random.Random, seed: int) -> Author:
    styles = {cell: rng.choice(sorted(STYLES[cell])) for cell in CELLS}
    bugs = frozenset(cell for cell in CELLS if rng.random() < 0.12)
    blank = frozenset(cell for cell in CELLS if rng.random() < 0.06)
    return Author(
        seed,
        styles,
        bugs=bugs,
        blank=blank,
        look_seed=seed,
        tight=rng.random() < 0.25,
        keep_docstring=rng.random() < 0.8,
    )


def make_class(seed: int = 0) -> Class:
    """40 students of chapter 04: 34 who worked alone and six who copied (module docstring)."""
    rng = random.Random(seed)
    authors = {f"s{number:02d}": _author(rng, seed * 1000 + number) for number in range(1, 35)}
    answers = {s: {cell: a.write(cell) for cell in CELLS} for s, a in authors.items()}
    # Copied from students who answered every part right, in at least one part in code of
    # their own (a copy of a three-line call to TensorFlow cannot be told from a classmate's
    # three lines), and for the two-part copy in that kind of code on both parts.
    two = ("max_pool_same", "avg_pool_same")
    originals = [
        s
        for s, a in authors.items()
        if not a.bugs and not a.blank and any(a.styles[cell] != "tf" for cell in CELLS)
    ]
    src = rng.sample(originals, 4)
    src.append(
        rng.choice(
            [
                s
                for s in originals
                if s not in src and all(authors[s].styles[c] != "tf" for c in two)
            ]
        )
    )
    groups = []
    wrong = {s: set(a.bugs) for s, a in authors.items() if a.bugs}

    def copy(copier: str, of: str, cells, how: str, **disguise):
        original = authors[of]
        mine = _author(rng, seed * 1000 + 100 + len(groups))
        twin = Author(
            original.seed,
            dict(original.styles),
            original.picks,
            dict(original.names),
            dict(original.habits),
            look_seed=original.look_seed,
            tight=original.tight,
            keep_docstring=original.keep_docstring,
        )
        if disguise.get("rename"):
            twin.names = {}
            twin.seed = mine.seed  # other names; the same choices (kept in picks)
        if disguise.get("look"):
            twin.look_seed, twin.tight = mine.look_seed + 7, not original.tight
            twin.keep_docstring = not original.keep_docstring
        own = {cell: mine.write(cell) for cell in CELLS}
        for cell in cells:
            own[cell] = twin.write(
                cell, helper=disguise.get("helper"), reorder=disguise.get("reorder", False)
            )
        answers[copier] = own
        authors[copier] = twin
        if mine.bugs - set(cells):
            wrong[copier] = set(mine.bugs - set(cells))
        return copier

    groups.append(({src[0], copy("c1", src[0], CELLS, "renamed", rename=True)}, CELLS, "renamed"))
    groups.append(
        (
            {src[1], copy("c2", src[1], CELLS, "reordered", reorder=True)},
            CELLS,
            "reordered independent lines",
        )
    )
    groups.append(
        (
            {src[2], copy("c3", src[2], CELLS, "look", look=True)},
            CELLS,
            "other comments, spacing, docstring",
        )
    )
    groups.append(
        (
            {src[3], copy("c4", src[3], CELLS, "helper", helper=True)},
            CELLS,
            "split into helper functions",
        )
    )
    copy("c5", "c1", CELLS, "copy of a copy", look=True)
    groups[0] = ({src[0], "c1", "c5"}, CELLS, "renamed; then copied again with other comments")
    copy("c6", src[4], two, "all", rename=True, reorder=True, look=True, helper=True)
    groups.append(({src[4], "c6"}, two, "every disguise at once, two parts only"))
    return Class(answers, groups, wrong)


def _starters() -> dict[str, str]:
    nb = nbformat.read(CHAPTERS_DIR / CHAPTER / NOTEBOOK, as_version=4)
    return {grade_id(c): c.source + "\n" for c in nb.cells if is_answer_cell(c)}


STARTERS = _starters()


def write_class(course: Path, made: Class, release: nbformat.NotebookNode | None = None) -> None:
    """Each student's notebook into <course>/submitted/<student>/04-pooling/, as collected."""
    release = release or nbformat.read(CHAPTERS_DIR / CHAPTER / NOTEBOOK, as_version=4)
    for student, answers in made.answers.items():
        submit(course, CHAPTER, student, fill_answers(release, answers))
