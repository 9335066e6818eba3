"""The judge: a student's Keras model, or any object a library must interpret, read in a jail.

(Over 300 lines for a reason: the worker's lifetime (start, kill on a time limit, restart)
and the requests that depend on it read as one piece; the launcher, the protocol, the rules and
the stand-in are modules of their own.)

A hidden test that receives a model from the student's kernel receives its `.keras` bytes.
Loading them is running Keras's rebuild of whatever the config names (a `Lambda` layer may name
any exported Keras function, with arguments from the file), so the grader never loads them
itself. `Judge.model(data)` checks the bytes with plain Python (`grader.judge_rules`: three
members, sizes, an allow-list of classes and activations, layer and parameter counts from the
config) and hands them to one worker process (`grader.judge_worker`) that runs in bubblewrap:
no network, no view of the course, the grader's home, the repository (only the judge's own
files and `helpers/` are bound) or the kernel's scratch, nothing writable but a size-capped
tmpfs, a uid of its own where the grader is root, rlimits on memory, CPU, file size and
processes, and a wall-time limit per request (the grader kills the worker and starts another
for the next request). Its answers are plain data: facts (`helpers.model_facts.describe`),
predictions, a fit's history. `JudgedModel` stands in for the model in the hidden tests.

    with Judge() as judge:
        model = judge.model(data)                  # JudgeRefused: a sentence for the student
        model.predict(x), model.count_params(), model.layers[0].activation, model.blocks()
        judge.run("fit", model=model, x=x, y=y, epochs=2, compile={...})

Errors are `JudgeError` (a `grader.remote.StudentCodeError`): `str(error)` is a plain sentence
for the student's feedback; `error.detail` holds the library's text, for the instructor's log
only (Keras's messages tell whether a path exists on the grading machine).
"""

from __future__ import annotations

import json
import os
import queue
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from grader import judge_protocol, judge_rules, sandbox
from grader.judge_stand_in import JudgedModel
from grader.paths import REPO_ROOT
from grader.remote import StudentCodeError

SENTENCES = {  # the worker's failure codes as the student reads them
    "refused": "the model could not be loaded: it uses something the course does not accept",
    "weights": "the model could not be loaded: its weights file is not one Keras writes",
    "load": "the model could not be loaded by Keras (is it a model saved with model.save?)",
    "predict": "the model could not make predictions on the grader's inputs",
    "fit": "the grader could not train the model",
    "inputs": "the grader could not use the values your code gave",
    "image": "the image could not be read",
    "too_large": "the answer is larger than the grader accepts",
}


class JudgeError(StudentCodeError):
    """The judge could not do what a test asked with the student's object: `str()` is for the
    student, `detail` for the instructor's log, `code` names the kind."""

    def __init__(self, message: str, detail: str = "", code: str = "failed") -> None:
        super().__init__(message)
        self.detail, self.code = detail, code


class JudgeRefused(JudgeError):
    """The object was refused before any library read it."""


class JudgeTimeout(JudgeError):
    """A request took longer than its limit: the worker was killed (a new one takes the next)."""


class JudgeUnavailable(RuntimeError):
    """The judge cannot start here (no bwrap, no user namespaces): not the student's fault."""


@dataclass(frozen=True)
class JudgeLimits:
    """What the worker may use. 4 GiB of address space (TensorFlow maps about 2), 10 CPU minutes
    in all (a submission's loads and fits; the worker is replaced when spent), files of 64 MiB,
    a scratch of 192 MiB (a model and Keras's copy of its weights), and wall times per request."""

    memory_bytes: int = 4 * 2**30
    cpu_seconds: int = 600
    file_bytes: int = 64 * 2**20
    processes: int = 512  # threads count: TensorFlow starts two pools per core
    scratch_bytes: int = 192 * 2**20
    start_seconds: float = 90.0  # importing TensorFlow on a busy machine
    load_seconds: float = 60.0
    predict_seconds: float = 60.0
    task_seconds: float = 300.0
    stderr_bytes: int = 64 * 1024


@dataclass
class _Worker:
    process: subprocess.Popen
    stderr: bytearray = field(default_factory=bytearray)


class Judge:
    """One jailed worker for one submission, started on first use; `close()` ends it."""

    def __init__(
        self,
        walls: bool | None = None,
        limits: JudgeLimits | None = None,
        rules: judge_rules.RuleLimits | None = None,
        hide: list[Path] | tuple = (),
    ) -> None:
        """`walls=None` requires the jail and raises JudgeUnavailable where bwrap cannot build
        it; `walls=False` runs the worker bare (tests, `--no-sandbox`). `hide`: folders that must
        stay out of the jail where they lie under /usr (the course folder), see grader.sandbox."""
        problem = sandbox.availability()["files"]
        if walls is None and problem is not None:
            raise JudgeUnavailable(
                f"the judge needs bubblewrap's walls, which this machine cannot build ({problem});"
                " grade in the sandbox, or without walls with Judge(walls=False) (--no-sandbox)"
            )
        self.walls = walls is not False
        self.limits, self.rules = limits or JudgeLimits(), rules or judge_rules.RuleLimits()
        self.hide = [Path(p) for p in (*hide, Path.home(), REPO_ROOT)]
        self.generation = 0  # counts workers started: a model loaded in an older one is reloaded
        self.log: list[str] = []  # for the instructor: library errors, kills, the worker's stderr
        self._worker: _Worker | None = None
        self._uid: int | None = None
        self._uid_lock: int | None = None
        self._scratch: str | None = None  # walls=False only: a private folder on the host
        self._lock = threading.Lock()

    # --- lifetime ---

    def __enter__(self) -> Judge:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        """Start the worker now (it starts on the first request otherwise); safe to call from a
        thread of its own while requests wait for it."""
        with self._lock:
            if self._worker is None:
                self._start()

    def close(self) -> None:
        self._stop()
        if self._uid_lock is not None:
            os.close(self._uid_lock)
            self._uid_lock = self._uid = None

    def _start(self) -> None:
        if self.walls and os.geteuid() == 0 and self._uid is None:
            self._uid, self._uid_lock = sandbox.claim_uid()
        if not self.walls:
            self._scratch = tempfile.mkdtemp(prefix="course-judge-")
        spec = self.launch_spec(["-m", "grader.judge_worker"])
        started: queue.Queue = queue.Queue()

        def keeper() -> None:
            # The worker dies with the thread that started it (PR_SET_PDEATHSIG counts threads),
            # so a thread of its own starts it and waits for it: any thread may use the judge.
            try:
                process = subprocess.Popen(
                    [sys.executable, "-m", "grader.judge_launch", "launch", json.dumps(spec)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    env={
                        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                        "PYTHONPATH": str(REPO_ROOT),
                    },
                )
            except OSError as error:
                started.put(error)
                return
            started.put(process)
            worker = _Worker(process)
            started.put(worker)
            self._drain(worker)
            process.wait()

        threading.Thread(target=keeper, daemon=True, name="course-judge").start()
        process = started.get()
        if isinstance(process, OSError):
            raise JudgeUnavailable(f"the judge did not start: {process}")
        self._worker = started.get()
        self.generation += 1
        reply = self._exchange(None, self.limits.start_seconds, "starting")
        if not (isinstance(reply, dict) and reply.get("ok")):
            self._stop()
            raise JudgeUnavailable(f"the judge did not start: {self.stderr_tail()[-2000:]}")

    def launch_spec(self, program: list[str]) -> dict:
        """What `grader.judge_launch` builds: the jail, the limits, the program (run with the
        course's Python). Tests launch probes with the worker's own walls."""
        return {
            "walls": self.walls,
            "uid": self._uid,
            "limits": asdict(self.limits),
            "hide": [str(p) for p in self.hide],
            "program": program,
            "scratch": self._scratch,
        }

    def _stop(self) -> None:
        worker, self._worker = self._worker, None
        if worker is None:
            return
        if worker.process.poll() is None:
            worker.process.kill()
        try:
            worker.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.log.append("the judge's process did not end within 10 s of SIGKILL")
        for stream in (worker.process.stdin, worker.process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        if worker.stderr:
            self.log.append(worker.stderr.decode(errors="replace"))
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def _drain(self, worker: _Worker) -> None:
        """The worker's stderr, kept to its last `stderr_bytes` for the instructor's log."""
        for chunk in iter(lambda: worker.process.stderr.read1(1 << 16), b""):
            worker.stderr += chunk
            del worker.stderr[: max(0, len(worker.stderr) - self.limits.stderr_bytes)]

    def usage(self) -> dict:
        """The worker's peak memory (max_rss_bytes) and CPU seconds so far."""
        return self.request("usage", {}, 30.0, "reporting its usage")

    def stderr_tail(self) -> str:
        """The worker's recent stderr (the instructor's log, never the student's feedback)."""
        return "" if self._worker is None else self._worker.stderr.decode(errors="replace")

    # --- requests ---

    def request(self, op: str, args: dict, seconds: float, doing: str) -> Any:
        """Send one request; its value, or JudgeError / JudgeTimeout with a sentence."""
        with self._lock:
            if self._worker is None or self._worker.process.poll() is not None:
                self._stop()
                self._start()
            reply = self._exchange({"op": op, "args": args}, seconds, doing)
            if reply.get("restart"):
                self.log.append(f"the judge changed Keras's settings while {doing}: replaced")
                self._stop()
        if reply.get("ok"):
            return reply.get("value")
        code, detail = str(reply.get("code")), str(reply.get("detail", ""))[:4000]
        self.log.append(f"judge {code} while {doing}: {detail}")
        sentence = SENTENCES.get(code, f"the grader's judge failed while {doing}")
        raise (JudgeRefused if code in ("refused", "weights") else JudgeError)(
            sentence, detail, code
        )

    def _exchange(self, message: Any, seconds: float, doing: str) -> dict:
        worker = self._worker
        deadline = time.monotonic() + seconds
        try:
            if message is not None:
                _write_all(worker.process.stdin.fileno(), judge_protocol.pack(message), deadline)
            reply = judge_protocol.read_frame(
                lambda n: _read_exact(worker.process.stdout.fileno(), n, deadline),
                judge_protocol.MAX_REPLY_BYTES,
            )
        except TimeoutError:
            self._stop()
            self.log.append(f"the judge took more than {seconds:g} s while {doing}: killed")
            raise JudgeTimeout(
                f"the model took too long while {doing} (over {seconds:g} s)", code="timeout"
            ) from None
        except (OSError, judge_protocol.FrameError) as error:
            status = worker.process.poll()
            self._stop()
            raise JudgeError(
                f"the grader's judge stopped while {doing} (the model may need "
                "more memory or time than the grader allows)",
                f"{error}; exit status {status}",
                "crashed",
            ) from None
        if reply is EOFError or not isinstance(reply, dict):
            status = worker.process.wait(timeout=10)
            self._stop()
            raise JudgeError(
                f"the grader's judge stopped while {doing} (the model may need "
                "more memory or time than the grader allows)",
                f"exit status {status}",
                "crashed",
            )
        return reply

    # --- what tests use ---

    def check(self, data: Any, compile: bool = False) -> judge_rules.Archive:
        """The plain-Python checks alone (JudgeRefused with the reason)."""
        try:
            return judge_rules.check_archive(bytes(data), self.rules, compile)
        except judge_rules.Refused as error:
            self.log.append(f"refused: {error.message} ({error.detail})")
            raise JudgeRefused(error.message, error.detail, "refused") from None
        except TypeError:
            raise JudgeRefused(
                "the model could not be loaded: it did not come as a file", code="refused"
            ) from None

    def plan(self, data: bytes, input_shape: Any) -> judge_rules.Archive:
        """The layer and parameter counts of the model in `data` built for `input_shape`."""
        try:
            return judge_rules.plan(
                judge_rules.read_archive(data, self.rules).config, self.rules, input_shape
            )
        except judge_rules.Refused as error:
            raise JudgeRefused(error.message, error.detail, "refused") from None

    def model(self, data: bytes, compile: bool = False) -> JudgedModel:
        """The student's model from its `.keras` bytes: checked here, loaded in the worker.

        `compile=True` only where a test needs the optimizer (its iteration count)."""
        self.check(data, compile)
        model = JudgedModel(self, bytes(data), compile)
        model.reload()
        return model

    def run(self, task: str, timeout: float | None = None, **inputs: Any) -> Any:
        """A course task of `grader.judge_tasks.TASKS` on plain inputs (JudgedModel as bytes)."""
        plain = {k: v.data if isinstance(v, JudgedModel) else v for k, v in inputs.items()}
        if isinstance(plain.get("model"), bytes | bytearray):
            self.check(plain["model"], plain.get("compile") is None)
        plain["limits"] = asdict(self.rules)
        seconds = self.limits.task_seconds if timeout is None else timeout
        return self.request("task", {"name": task, "inputs": plain}, seconds, f"running {task}")


def _write_all(descriptor: int, data: bytes, deadline: float) -> None:
    view = memoryview(data)
    while view:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([], [descriptor], [], left)[1]:
            raise TimeoutError
        view = view[os.write(descriptor, view[: 1 << 16]) :]


def _read_exact(descriptor: int, size: int, deadline: float) -> bytes:
    chunks, left = [], size
    while left:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([descriptor], [], [], remaining)[0]:
            raise TimeoutError
        chunk = os.read(descriptor, min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


__all__ = [
    "Judge",
    "JudgeError",
    "JudgeLimits",
    "JudgeRefused",
    "JudgeTimeout",
    "JudgeUnavailable",
    "JudgedModel",
]
