"""Hidden tests, run in the grader's process against the student's live kernel.

`ExecuteAndGrade` replaces nbgrader's `Execute` in the course's autograde preprocessors. It runs
the rebuilt notebook as nbgrader does (answers, then the visible tests, in the sandboxed kernel);
then, before the kernel stops, it runs each test cell's visible *and* hidden tests here, in the
grader's own process: the answers are stand-ins that call into the kernel (`grader.remote`) or
the judge (`grader.judge`), while `np`, `tf`, `checks` and every expected value are the
grader's own. The hidden tests never enter the kernel, and a test cell's score is this verdict
alone (`decide`): a failure goes first in its outputs, a pass keeps the kernel's outputs as text.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import sys
import threading
from pathlib import Path

import nbformat
import zmq
import zmq.asyncio
from jupyter_core.utils import ensure_async, run_sync
from nbclient.util import run_hook
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer

from grader import failure_text, message_caps, notebooks, remote
from grader.course_folder import CourseFolder
from grader.failure_text import failure_output
from grader.judge import Judge
from grader.remote import ForgedReply, KernelLink

VERDICTS = "course_grader"  # notebook metadata key with the grader's verdict per part
DETAILS = "course_grader_details"  # what the instructor reads about each failure (not shown)
FORGED_NOTE = "(not a reply the grader's code sends: flagged for review)"


def hidden_source(course_root: Path, assignment: str, notebook: str) -> nbformat.NotebookNode:
    path = CourseFolder(course_root).hidden(assignment).with_name(f"{notebook}.ipynb")
    return nbformat.read(path, 4)


def _preload_tensorflow(source: nbformat.NotebookNode) -> None:
    """Import TensorFlow in a thread while the kernel works, when the grader will need it and
    has not imported it yet (`course-grade autograde` forks graders that already have it)."""
    if "tensorflow" in sys.modules:
        return
    if any("tensorflow" in cell.source for cell in source.cells if cell.cell_type == "code"):
        threading.Thread(target=__import__, args=("tensorflow",), daemon=True).start()


class ExecuteAndGrade(Execute):
    """nbgrader's Execute, then every test cell's visible and hidden tests in this process.

    The grader owns the tests' namespace: its set-up cells' names (`np`, `checks`, `kernel`,
    ...) are bound first and can never be replaced; the kernel is asked only for the names the
    reference answer cells define, and a reply naming anything else is refused and flagged.
    The kernel client decodes no message frame over `remote.MAX_MESSAGE_BYTES`
    (`grader.message_caps`; the sockets' own cap is the last wall)
    and each part's tests share `part_timeout` seconds.
    """

    part_timeout = Integer(
        120, help="seconds for all the grader's tests of one part (the kernel is interrupted)"
    ).tag(config=True)
    judge_walls = Bool(
        True, help="interpret student models in the judge's sandbox (False: no walls, tests)"
    ).tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        info = resources.get("nbgrader", {}) if resources else {}
        root = CourseDirectory(config=self.config).root
        source = hidden_source(root, info["assignment"], info["notebook"])
        _preload_tensorflow(source)
        self._hidden_source = source
        early = any("keras" in c.source for c in source.cells if notebooks.is_test_cell(c))
        with judge_for(self.judge_walls, Path(root), early) as judge:
            self._judge = judge
            return super().preprocess(nb, resources, km)

    async def async_start_new_kernel_client(self):
        """nbclient's, with a session that decodes no frame over the caps and sockets that
        take none over the last wall (`grader.message_caps`)."""
        context = zmq.asyncio.Context()
        context.setsockopt(zmq.MAXMSGSIZE, message_caps.SOCKET_CAP_BYTES)
        try:
            self.kc = self.km.client(context=context)
            message_caps.cap_messages(self.kc.session)
            await ensure_async(self.kc.start_channels())
            await ensure_async(self.kc.wait_for_ready(timeout=self.startup_timeout))
        except Exception:
            await self._async_cleanup_kernel()
            raise
        self.kc.allow_stdin = False
        await run_hook(self.on_notebook_start, notebook=self.nb)
        return self.kc

    # nbclient binds the synchronous name to its own coroutine at class creation; rebound here,
    # or `setup_kernel` would start a client without the cap.
    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    # nbconvert's ExecutePreprocessor.preprocess runs every cell through preprocess_cell inside
    # `setup_kernel()`; after the last cell, while the kernel still runs, grade the tests here.
    def preprocess_cell(self, cell, resources, index):
        cell, resources = super().preprocess_cell(cell, resources, index)
        if index == len(self.nb.cells) - 1:
            self.grade_in_grader(self._judge)
        return cell, resources

    def grade_in_grader(self, judge=None) -> None:
        source = self._hidden_source
        by_id = {notebooks.grade_id(c): c for c in source.cells if notebooks.grade_id(c)}
        link = KernelLink(self, timeout=self.timeout or 300, judge=judge)
        namespace: dict = {"__name__": "__grader__"}
        setup_error = None
        try:
            _run_quietly(_grader_setup(source), namespace, "the course's set-up cells")
            namespace["kernel"] = link
            namespace["judge"] = judge  # course tasks on student models (grader.judge_tasks)
            namespace["answer_code"] = _answer_code(self.nb)  # read here, never from the kernel
            link.start()
            link.begin_part(self.part_timeout)
            namespace.update(_answers(link, answer_names(source, namespace)))
        except Exception as error:  # the kernel is gone or answers nonsense: every part fails
            note = f" {FORGED_NOTE}" if isinstance(error, ForgedReply) else ""
            setup_error = f"the grader could not reach your answers: {error}{note}"
        verdicts, details = {}, {}
        for cell in self.nb.cells:
            gid = notebooks.grade_id(cell)
            if not notebooks.is_test_cell(cell) or gid not in by_id:
                continue
            link.begin_part(self.part_timeout)
            problem, detail = (
                (setup_error, "") if setup_error else _run_test(by_id[gid], dict(namespace), gid)
            )
            verdicts[gid] = problem or "passed"
            if detail:
                details[gid] = detail
            decide(cell, problem)
        if judge is not None and judge.log:
            details["judge"] = "\n".join(judge.log)[-4000:]
        self.nb.metadata[VERDICTS] = verdicts
        self.nb.metadata[DETAILS] = details


def _answer_code(nb: nbformat.NotebookNode) -> dict[str, str]:
    """The student's answer cells as the grader rebuilt and ran them: grade id -> source, for
    rules about the code itself (`grader.code_rules`)."""
    return {
        notebooks.grade_id(cell): cell.source for cell in nb.cells if notebooks.is_answer_cell(cell)
    }


def _answers(link: KernelLink, names: list[str]) -> dict:
    """Each answer name's stand-in, asked one at a time: a value the grader cannot read (over a
    size limit, malformed) fails the parts that use it, not the whole notebook."""
    found: dict = {}
    for name in names:
        try:
            found.update(link.describe([name]))
        except (ForgedReply, remote.KernelUnavailable):
            raise
        except remote.StudentCodeError as error:
            found[name] = Unreadable(name, error)
    return found


class Unreadable:
    """An answer the kernel holds but could not send as data: any use of it fails, saying why."""

    def __init__(self, name: str, error: remote.StudentCodeError) -> None:
        self._why = remote.StudentCodeError(f"{name} could not be read ({error})", error.detail)

    def _fail(self, *args, **kwargs):
        raise self._why

    __call__ = __iter__ = __len__ = __bool__ = __array__ = __getitem__ = _fail

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        raise self._why


def answer_names(source: nbformat.NotebookNode, grader_names: dict) -> list[str]:
    """The names the tests may take from the kernel: those the reference answer cells define,
    less the grader's own (set-up names, builtins, dunders), which the kernel never provides."""
    names = [
        name
        for cell in source.cells
        if notebooks.is_answer_cell(cell)
        for name in notebooks.defined_names(cell.source)
    ]
    reserved = set(grader_names) | set(dir(builtins))
    return [n for n in dict.fromkeys(names) if n not in reserved and not n.startswith("__")]


@contextlib.contextmanager
def judge_for(walls: bool, course: Path, early: bool):
    """The submission's judge (`grader.judge`): a jailed process that interprets the models the
    kernel sends back, closed after the tests. `early`: start it now, in a thread of its own,
    so that its TensorFlow import overlaps the kernel's run (chapters whose tests need it)."""
    judge = Judge(walls=None if walls else False, hide=[course])
    if early:
        threading.Thread(target=_start_quietly, args=(judge,), daemon=True).start()
    try:
        yield judge
    finally:
        judge.close()


def _start_quietly(judge: Judge) -> None:
    try:
        judge.start()
    except Exception as error:  # the first request starts it again and reports the failure
        judge.log.append(f"the judge did not start early: {error}")


def decide(cell: nbformat.NotebookNode, problem: str | None) -> None:
    """Make nbgrader's score of a test cell the grader's verdict, and only that.

    A failure goes first (nbgrader scores the cell zero); on a pass, what would make nbgrader
    score zero although the grader's own run passed (a warning on stderr, an error the
    student's code caused in the kernel's copy of the visible checks) is kept as plain output.
    """
    if problem:
        if not scores_zero(cell):
            cell.outputs.insert(0, failure_output(problem))
        return
    kept = []
    for output in cell.outputs:
        if output.output_type == "stream" and output.get("name") == "stderr":
            output = nbformat.v4.new_output("stream", name="stdout", text=output.get("text", ""))
        elif output.output_type == "error":
            text = f"In your kernel: {output.get('ename', '')}: {output.get('evalue', '')}\n"
            text += "(the grader's own run of this cell's checks passed)\n"
            output = nbformat.v4.new_output("stream", name="stdout", text=text)
        kept.append(output)
    cell.outputs = kept


def forged_parts(nb: nbformat.NotebookNode) -> list[str]:
    """The test cells of an autograded notebook whose answers came in replies the grader's code
    never sends (something in the kernel printed the grader's reply type itself)."""
    return sorted(
        gid for gid, verdict in nb.metadata.get(VERDICTS, {}).items() if FORGED_NOTE in verdict
    )


def scores_zero(cell: nbformat.NotebookNode) -> bool:
    """Whether nbgrader already gives this test cell zero: its first verdict-bearing output is
    an error or stderr (nbgrader stops at the first error, stderr stream or result)."""
    for output in cell.outputs:
        if output.output_type == "error" or (
            output.output_type == "stream" and output.get("name") == "stderr"
        ):
            return True
        if output.output_type == "execute_result":
            return False
    return False


def _grader_setup(source: nbformat.NotebookNode) -> str:
    """The locked code cells that are neither answers nor tests: imports, parameters, data."""
    return "\n\n".join(
        cell.source
        for cell in source.cells
        if cell.cell_type == "code"
        and notebooks.nbgrader_meta(cell).get("locked")
        and not notebooks.is_test_cell(cell)
        and not notebooks.is_answer_cell(cell)
    )


def _run_quietly(code: str, namespace: dict, name: str, compiled_as: str | None = None) -> None:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        exec(compile(code, compiled_as or f"<{name}>", "exec"), namespace)


def _run_test(cell: nbformat.NotebookNode, namespace: dict, gid: str) -> tuple[str | None, str]:
    """(None, "") when the test cell's visible and hidden tests pass here, else what the student
    reads and what the instructor reads. A hidden test's failure is told in its own words
    (`grader.failure_text`): never the inputs, the expected values or the kernel's text."""
    for number, (code, hidden) in enumerate(notebooks.grader_test_segments(cell)):
        filename = f"<{'hidden' if hidden else 'visible'} tests of {gid}, part {number}>"
        try:
            _run_quietly(code, namespace, filename, compiled_as=filename)
        except Exception as error:
            text = (
                failure_text.hidden_failure(code, filename, error)
                if hidden
                else failure_text.visible_failure(error)
            )
            if isinstance(error, ForgedReply):
                text = f"{text} {FORGED_NOTE}"
            return text, failure_text.instructor_detail(error)
    return None, ""
