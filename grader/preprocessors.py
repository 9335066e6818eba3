"""nbgrader preprocessors of the course: safe feedback without hidden tests, capped outputs."""

from __future__ import annotations

import html
import json
import re

import nbformat
from nbconvert.preprocessors import Preprocessor
from nbgrader.preprocessors import LimitOutput
from traitlets import Integer

from grader.notebooks import HIDDEN_REGION


class HideHiddenTests(Preprocessor):
    """Feedback preprocessor: drop hidden-test regions and the tracebacks that quote them.

    A failing test keeps its error name and message (the hint); the traceback, which would show
    the hidden test's source lines, goes.
    """

    enabled = True  # nbconvert preprocessors are off unless enabled

    def preprocess_cell(self, cell, resources, index):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade"):
            cell.source = HIDDEN_REGION.sub("", cell.source)
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', '')}: {output.get('evalue', '')}"]
        return cell, resources


class CapOutput(LimitOutput):
    """Autograde preprocessor: nbgrader's line limit, plus a cap on the characters of any output.

    nbgrader keeps 1000 lines, but one 100 MB line (`print("x" * 10**8)`) would pass whole into
    the autograded notebook, the feedback and the gradebook's copy. Every text or data field of
    an output is cut to `max_chars` characters, so the autograded notebook stays small.
    """

    max_chars = Integer(100_000, help="characters kept of each output field").tag(config=True)

    def _cut(self, text: str) -> str:
        if len(text) <= self.max_chars:
            return text
        return text[: self.max_chars] + f"\n... output cut: {len(text):,} characters in all ...\n"

    def preprocess_cell(self, cell, resources, index):
        cell, resources = super().preprocess_cell(cell, resources, index)
        for output in cell.get("outputs", []):
            if isinstance(output.get("text"), str):
                output["text"] = self._cut(output["text"])
            for mime, value in list(output.get("data", {}).items()):
                if isinstance(value, str) and len(value) > self.max_chars:
                    output["data"][mime] = (
                        self._cut(value) if mime.startswith("text/") else
                        f"... {mime} output of {len(value):,} characters removed ..."
                    )  # fmt: skip
            if output.get("output_type") == "error":
                output["evalue"] = self._cut(str(output.get("evalue", "")))
                output["traceback"] = [self._cut(line) for line in output.get("traceback", [])]
        return cell, resources


SAFE_MIMES = ("text/plain", "image/png", "image/jpeg")
BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
SAFE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")  # grade ids and cell ids that may reach the page
NBGRADER_FLAGS = ("grade", "solution", "locked", "task")


def _text(value) -> str:
    if isinstance(value, list):
        return "".join(str(part) for part in value)
    return value if isinstance(value, str) else ""


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def as_plain_text(text: str) -> str:
    """Markdown source that shows `text` as it is: escaped, in a <pre> block (no markup)."""
    return f"<pre>{html.escape(text, quote=True)}</pre>"


def _size(output: dict) -> int:
    return len(json.dumps(output, ensure_ascii=False).encode())


class SanitizeFeedback(Preprocessor):
    """Feedback preprocessor: only what the student cannot turn into script, and not too much.

    Outputs keep text/plain, image/png and image/jpeg (valid base64) only; streams and errors
    stay plain text. Markdown written by the student (answer cells, and any markdown or raw
    cell that is not a locked cell of the release) is shown escaped, as plain text. Metadata
    that reaches the page is reduced to checked nbgrader fields. Each cell keeps at most
    `max_outputs` outputs and `max_cell_bytes`, the notebook `max_notebook_bytes`; what is cut
    is replaced by a line saying so.
    """

    enabled = True
    max_outputs = Integer(20, help="outputs kept per cell").tag(config=True)
    max_cell_bytes = Integer(200_000, help="bytes of outputs kept per cell").tag(config=True)
    max_notebook_bytes = Integer(2_000_000, help="bytes of outputs per notebook").tag(config=True)

    def preprocess(self, nb, resources):
        self._used = 0
        nb.metadata = {"language_info": {"name": "python", "pygments_lexer": "ipython3"}}
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        meta = self._nbgrader(cell)
        trusted = meta.get("locked") and meta.get("grade_id") and not meta.get("solution")
        count = _count(cell.get("execution_count"))
        for key in [k for k in cell if k not in {"cell_type", "source", "outputs", "id"}]:
            del cell[key]
        cell.metadata = {"nbgrader": meta} if meta else {}
        if not SAFE_NAME.fullmatch(str(cell.get("id", ""))):
            cell.id = f"cell-{index}"
        cell.source = _text(cell.get("source"))
        if cell.cell_type == "code":
            cell.execution_count = count
            cell.outputs = self._outputs(cell.get("outputs", []))
        else:
            if cell.cell_type != "markdown" or not trusted:
                cell.source = as_plain_text(cell.source)
            cell.cell_type = "markdown"
            cell.pop("outputs", None)
        return cell, resources

    def _nbgrader(self, cell) -> dict:
        given = cell.get("metadata")
        given = given.get("nbgrader") if isinstance(given, dict) else None
        if not isinstance(given, dict):
            return {}
        meta = {flag: given[flag] is True for flag in NBGRADER_FLAGS if flag in given}
        if isinstance(given.get("grade_id"), str) and SAFE_NAME.fullmatch(given["grade_id"]):
            meta["grade_id"] = given["grade_id"]
        for key in ("points", "score"):  # the template prints both for graded and task cells
            if key in given or meta.get("grade") or meta.get("task"):
                meta[key] = _number(given.get(key))
        if isinstance(given.get("comment"), str):  # the grader's comment, from the gradebook
            meta["comment"] = given["comment"]
        return meta

    def _outputs(self, outputs) -> list:
        kept, used, cut, cut_bytes, dropped = [], 0, 0, 0, set()
        for output in outputs if isinstance(outputs, list) else []:
            clean = _clean_output(output, dropped)
            if clean is None:
                continue
            size = _size(clean)
            room = min(self.max_cell_bytes - used, self.max_notebook_bytes - self._used)
            if len(kept) >= self.max_outputs or size > room:
                cut, cut_bytes = cut + 1, cut_bytes + size
                continue
            kept.append(clean)
            used, self._used = used + size, self._used + size
        notes = []
        if dropped:
            notes.append(f"outputs of type {', '.join(sorted(dropped))} are not shown here")
        if cut:
            notes.append(
                f"{cut} outputs ({cut_bytes:,} bytes) cut: feedback keeps {self.max_outputs} "
                f"outputs and {self.max_cell_bytes:,} bytes a cell, "
                f"{self.max_notebook_bytes:,} bytes a notebook"
            )
        if notes:
            kept.append(nbformat.v4.new_output("stream", name="stdout", text=_note(notes)))
        return kept


def _count(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _note(notes: list[str]) -> str:
    return "".join(f"[feedback: {note}]\n" for note in notes)


def _clean_output(output, dropped: set[str]) -> dict | None:
    """The output as plain text or a checked image; None when nothing safe is left."""
    if not isinstance(output, dict):
        return None
    kind = output.get("output_type")
    if kind == "stream":
        name = "stderr" if output.get("name") == "stderr" else "stdout"
        return nbformat.v4.new_output("stream", name=name, text=_text(output.get("text")))
    if kind == "error":
        traceback = output.get("traceback")
        return nbformat.v4.new_output(
            "error",
            ename=_text(output.get("ename")),
            evalue=_text(output.get("evalue")),
            traceback=[_text(line) for line in traceback] if isinstance(traceback, list) else [],
        )
    if kind not in {"display_data", "execute_result"}:
        dropped.add(str(kind)[:40])
        return None
    data = output.get("data") if isinstance(output.get("data"), dict) else {}
    kept, metadata = {}, {}
    for mime, value in data.items():
        text = re.sub(r"\s+", "", _text(value)) if mime != "text/plain" else _text(value)
        if mime not in SAFE_MIMES or (mime != "text/plain" and not BASE64.fullmatch(text)):
            dropped.add(str(mime)[:40])
            continue
        kept[mime] = text
        given = output.get("metadata")
        given = given.get(mime) if isinstance(given, dict) else None
        if isinstance(given, dict) and mime != "text/plain":
            size = {k: given[k] for k in ("width", "height") if _count(given.get(k)) is not None}
            if size:
                metadata[mime] = size
    if not kept:
        return None
    if kind == "execute_result":
        count = _count(output.get("execution_count"))
        return nbformat.v4.new_output(kind, data=kept, metadata=metadata, execution_count=count)
    return nbformat.v4.new_output(kind, data=kept, metadata=metadata)
