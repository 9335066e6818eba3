"""nbgrader preprocessors of the course: safe feedback without hidden tests, capped outputs."""

from __future__ import annotations

import html
import json
import re

import nbformat
from nbconvert.preprocessors import Preprocessor
from nbgrader.preprocessors import LimitOutput
from traitlets import Integer

from grader.course import SECRET_MARKERS
from grader.failure_text import FAILED
from grader.notebooks import HIDDEN_REGION

MARKER_REMOVED = "[text like the grader's markers, removed]"


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
    """Autograde preprocessor: nbgrader's line limit, plus caps on outputs, cells and notebook.

    nbgrader keeps 1000 lines, but one 100 MB line (`print("x" * 10**8)`) would pass whole into
    the autograded notebook, the feedback and the gradebook's copy, and so would 10,000
    `display()` calls (a 28 MB notebook). Every text or data field of an output is cut to
    `max_chars` characters; a cell keeps `max_outputs` outputs and `max_cell_bytes`, the
    notebook `max_notebook_bytes`; a line in the cell says what was cut. The grade is never
    changed: the output nbgrader's verdict reads (the first error, stderr stream or result)
    and every error are always kept, and the note goes last, on stdout.
    """

    max_chars = Integer(100_000, help="characters kept of each output field").tag(config=True)
    max_outputs = Integer(100, help="outputs kept per cell").tag(config=True)
    max_cell_bytes = Integer(1_000_000, help="bytes of outputs kept per cell").tag(config=True)
    max_notebook_bytes = Integer(5_000_000, help="bytes of outputs per notebook").tag(config=True)

    def preprocess(self, nb, resources):
        self._used = 0
        return super().preprocess(nb, resources)

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
                        self._cut(value)
                        if mime.startswith("text/")
                        else f"... {mime} output of {len(value):,} characters removed ..."
                    )
            if output.get("output_type") == "error":
                output["evalue"] = self._cut(str(output.get("evalue", "")))
                output["traceback"] = [self._cut(line) for line in output.get("traceback", [])]
        if cell.get("cell_type") == "code":
            cell.outputs = self._budget(cell.get("outputs", []))
        return cell, resources

    def _budget(self, outputs: list) -> list:
        verdict = next((i for i, o in enumerate(outputs) if _bears_verdict(o)), None)
        kept, used, cut, cut_bytes = [], 0, 0, 0
        self._used = getattr(self, "_used", 0)
        for index, output in enumerate(outputs):
            size = _size(output)
            room = min(self.max_cell_bytes - used, self.max_notebook_bytes - self._used)
            needed = index == verdict or output.get("output_type") == "error"
            if not needed and (len(kept) >= self.max_outputs or size > room):
                cut, cut_bytes = cut + 1, cut_bytes + size
                continue
            kept.append(output)
            used, self._used = used + size, self._used + size
        if cut:
            note = (
                f"[autograde: {cut:,} outputs ({cut_bytes:,} bytes) cut: the graded notebook "
                f"keeps {self.max_outputs} outputs and {self.max_cell_bytes:,} bytes a cell, "
                f"{self.max_notebook_bytes:,} bytes a notebook]\n"
            )
            kept.append(nbformat.v4.new_output("stream", name="stdout", text=note))
        return kept


def _bears_verdict(output) -> bool:
    """Whether nbgrader's `determine_grade` decides on this output (error, stderr, result)."""
    kind = output.get("output_type")
    return kind in {"error", "execute_result"} or (
        kind == "stream" and output.get("name") == "stderr"
    )


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
        if not trusted:  # the student's own text: what looks like the grader's markers goes
            cell.source = scrub_markers(cell.source)
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


def scrub_markers(text: str) -> str:
    """`text` without the grader's secret markers (`CANARY`, `BEGIN HIDDEN TESTS`, ...).

    Applied to what the student wrote or the kernel printed, never to the instructor's cells
    or the grader's own failure messages: a marker left there is a real leak, and the page
    check (`grader.feedback.check_pages`) still refuses that page.
    """
    for marker in SECRET_MARKERS:
        text = text.replace(marker, MARKER_REMOVED)
    return text


def _clean_output(output, dropped: set[str]) -> dict | None:
    """The output as plain text or a checked image; None when nothing safe is left.

    Text the kernel produced loses anything that looks like the grader's markers; the
    grader's own failure (an error named `grader.failure_text.FAILED`) is kept as it is.
    """
    if not isinstance(output, dict):
        return None
    kind = output.get("output_type")
    if kind == "stream":
        name = "stderr" if output.get("name") == "stderr" else "stdout"
        text = scrub_markers(_text(output.get("text")))
        return nbformat.v4.new_output("stream", name=name, text=text)
    if kind == "error":
        traceback = output.get("traceback")
        lines = [_text(line) for line in traceback] if isinstance(traceback, list) else []
        ename, evalue = _text(output.get("ename")), _text(output.get("evalue"))
        if ename != FAILED:
            ename, evalue = scrub_markers(ename), scrub_markers(evalue)
            lines = [scrub_markers(line) for line in lines]
        return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=lines)
    if kind not in {"display_data", "execute_result"}:
        dropped.add(str(kind)[:40])
        return None
    data = output.get("data") if isinstance(output.get("data"), dict) else {}
    kept, metadata = {}, {}
    for mime, value in data.items():
        text = re.sub(r"\s+", "", _text(value)) if mime != "text/plain" else _text(value)
        text = scrub_markers(text) if mime == "text/plain" else text
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
