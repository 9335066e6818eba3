"""An answer as `course-grade similarity` compares it: normalized, fingerprinted, mapped back.

Normalized (`normalize`): comments, whitespace, line breaks and string contents go; every name
the answer binds itself (variables, arguments, loop targets, its own functions) becomes `V`,
the names it uses from elsewhere stay. Fingerprinted: the hashes of its `NOISE`-character
k-grams, winnowed by copydetect (`WINDOW`), less the given code's. Mapped back: each character
of the normalized text knows the token of the answer it comes from, for the highlighting.
"""

from __future__ import annotations

import ast
import hashlib
import io
import itertools
import keyword
import tokenize
from dataclasses import dataclass

NOISE = 25  # k: characters of normalized code in a fingerprinted k-gram
WINDOW = 4  # winnowing window: every match of NOISE + WINDOW - 1 characters is found
DROPPED = {
    tokenize.COMMENT,
    tokenize.NL,
    tokenize.NEWLINE,
    tokenize.INDENT,
    tokenize.DEDENT,
    tokenize.ENDMARKER,
    tokenize.ENCODING,
}


def _bound_names(code: str) -> set[str] | None:
    """Names the code binds itself; None for code that does not parse (then every name)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
    return names


def normalize(code: str) -> tuple[str, list[tuple[int, int]]]:
    """The code as compared (module docstring), and for each of its characters the span of
    `code` (start, end) of the token it comes from: a span of the normalized text maps back to
    whole tokens of the answer.
    """
    bound = _bound_names(code)
    lines = code.splitlines(keepends=True)
    starts = list(itertools.accumulate((len(line) for line in lines), initial=0))
    text, where, word = [], [], False
    tokens = []
    try:
        tokens.extend(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, SyntaxError):
        pass  # not Python: compared up to where it stops being Python
    for tok in tokens:
        if tok.type in DROPPED or tok.start[0] > len(lines) or tok.end[0] > len(lines):
            continue
        start = starts[tok.start[0] - 1] + tok.start[1]
        end = starts[tok.end[0] - 1] + tok.end[1]
        piece = tok.string
        ours = bound is None or piece in bound
        if tok.type == tokenize.NAME and ours and not keyword.iskeyword(piece):
            piece = "V"
        elif tok.type in {tokenize.STRING, getattr(tokenize, "FSTRING_START", -1)}:
            piece = "S"
        if not piece:
            continue
        if word and (piece[0].isalnum() or piece[0] == "_"):
            text.append(" ")
            where.append((start, start))
        word = piece[-1].isalnum() or piece[-1] == "_"
        text.append(piece)
        where += [(start, end)] * len(piece)
    return "".join(text), where


@dataclass
class Print:
    """One answer's fingerprints, in the shape copydetect's `compare_files` reads.

    copydetect's own `CodeFingerprint` hashes k-grams with Python's `hash`, which changes from
    one process to the next (PYTHONHASHSEED), and so would the winnowed fingerprints and every
    score; here each k-gram's hash is its BLAKE2b digest, and copydetect's `winnow` chooses.
    """

    code: str  # the answer as written
    where: list[tuple[int, int]]  # normalize's spans of `code`, one per character compared
    filtered_code: str  # the normalized text
    hashes: set[int]
    hash_idx: dict[int, list[int]]
    k: int = NOISE
    offsets: tuple = ()
    token_coverage: float = 0.0


def _kgram_hashes(text: str, k: int):
    import numpy as np

    grams = (text[i : i + k].encode() for i in range(len(text) - k + 1))
    digests = [int.from_bytes(hashlib.blake2b(g, digest_size=7).digest(), "big") for g in grams]
    return np.array(digests, dtype=np.int64)


def fingerprint(code: str, boilerplate=(), window: int = WINDOW) -> Print:
    """The answer normalized, its k-grams hashed and winnowed, the given code's left out."""
    from copydetect.utils import get_token_coverage, winnow

    text, where = normalize(code)
    hashes, idx = winnow(_kgram_hashes(text, NOISE), window, remove_duplicates=False)
    hash_idx: dict[int, list[int]] = {}
    given = set(boilerplate)
    for value, at in zip(hashes.tolist(), idx.tolist(), strict=True):
        if value not in given:
            hash_idx.setdefault(value, []).append(at)
    coverage = get_token_coverage(hash_idx, NOISE, len(text))
    return Print(code, where, text, set(hash_idx), hash_idx, token_coverage=coverage)


def spans(print_: Print, slices) -> list[tuple[int, int]]:
    """copydetect's slices of the normalized text, as spans of the answer's own text."""
    if len(slices) == 0 or len(slices[0]) == 0:
        return []
    spans = []
    for start, end in zip(slices[0], slices[1], strict=True):
        start, end = int(start), min(int(end), len(print_.where))
        if end > start:
            spans.append((print_.where[start][0], print_.where[end - 1][1]))
    return spans
