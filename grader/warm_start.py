"""Start each submission's `nbgrader autograde` from a process that has already imported it.

Every submission is graded by a process of its own (its own gradebook session, its own time
limit, its whole process group killed on a time-out), but importing nbgrader takes about 2 s
and the grader's TensorFlow about 3 s more, on every submission. A small fork server
(`python -m grader.warm_start`, started once per `autograde`) imports them once
(`grader.warm_imports`) and forks a fresh copy for each submission, which runs `nbgrader` with
the arguments, environment and folder it is given, as its own process group. The server never
grades anything itself, so nothing of one submission reaches the next.

Protocol: one JSON request per line on the server's stdin, answered with the child's pid on
its stdout. The server ignores SIGCHLD, so its children are reaped by the kernel; the caller
waits on a pidfd and reads the exit status the child leaves in a file.
"""

from __future__ import annotations

import json
import os
import resource
import select
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

# The grading process's address space (soft limit: the kernel launcher, its child, sets its own).
# TensorFlow and nbgrader map about 4 GiB of address space, most of it never touched.
GRADER_MEMORY_BYTES = 12 * 2**30
_lock = threading.Lock()
_server: subprocess.Popen | None = None


def _start_server() -> subprocess.Popen:
    global _server
    if _server is None or _server.poll() is not None:
        _server = subprocess.Popen(
            [sys.executable, "-m", "grader.warm_start"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        if _server.stdout.readline().strip() != "ready":
            raise RuntimeError("the grading fork server did not start")
    return _server


def run(
    argv: list[str], env: dict[str, str], cwd: Path, timeout: float | None
) -> tuple[int | None, str]:
    """`nbgrader *argv` in `cwd` with `env`: (exit status, or None after `timeout` s; output)."""
    code, output, _ = run_measured(argv, env, cwd, timeout)
    return code, output


def run_measured(
    argv: list[str], env: dict[str, str], cwd: Path, timeout: float | None
) -> tuple[int | None, str, int]:
    """`run`, and the grading process's peak resident memory in bytes (0 when unknown).

    The process runs under a soft address-space limit (`GRADER_MEMORY_BYTES`): what the grader
    decodes from a kernel can never take the machine's memory."""
    with tempfile.TemporaryDirectory(prefix="nbgrader-run-") as tmp:
        log, status = Path(tmp) / "output.log", Path(tmp) / "status"
        request = {
            "argv": argv,
            "env": env,
            "cwd": str(cwd),
            "log": str(log),
            "status": str(status),
        }
        with _lock:
            server = _start_server()
            server.stdin.write(json.dumps(request) + "\n")
            pid = int(server.stdout.readline())
        timed_out = not _wait(pid, timeout)
        if timed_out:
            try:
                os.killpg(pid, signal.SIGKILL)  # the kernel and its sandbox with it
            except ProcessLookupError:
                pass
            _wait(pid, None)
        output = log.read_text(errors="replace") if log.exists() else ""
        ended = json.loads(status.read_text()) if status.exists() else {}
        peak = int(ended.get("peak_kb", 0)) * 1024
        if timed_out:
            return None, output, peak
        code = int(ended["code"]) if "code" in ended else -signal.SIGKILL
    return code, output, peak


def nbgrader(args: list[str], course: Path, timeout: float | None = None) -> str:
    """Run an nbgrader command in `course`; raise with its output when it fails.

    Like every nbgrader run of the grader, it is forked by this module's server, which has
    imported nbgrader once for the whole process."""
    from grader.course import grading_env, protect_gradebook

    code, output = run(args, grading_env(), Path(course), timeout)
    protect_gradebook(course)
    if code != 0:
        status = "timed out" if code is None else code
        raise RuntimeError(f"`nbgrader {' '.join(args)}` failed ({status}):\n{output}")
    return output


def _wait(pid: int, timeout: float | None) -> bool:
    """Whether process `pid` (not our child) ended within `timeout` seconds."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
        return bool(ready)
    finally:
        os.close(fd)


def _child(request: dict) -> None:
    """In the forked copy: a process group of its own, output to the log, then nbgrader."""
    code = 1
    try:
        os.setsid()
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (GRADER_MEMORY_BYTES, hard))
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # nbgrader waits for its kernel
        null = os.open(os.devnull, os.O_RDONLY)
        out = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(null, 0), os.dup2(out, 1), os.dup2(out, 2)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        sys.argv = ["nbgrader", *request["argv"]]
        from nbgrader.apps.nbgraderapp import main

        try:
            result = main()
            code = result if isinstance(result, int) else 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush(), sys.stderr.flush()
            peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            Path(request["status"]).write_text(json.dumps({"code": code, "peak_kb": peak_kb}))
        finally:
            os._exit(code)


def serve() -> None:
    """The fork server's loop: import once, then fork one child per request line."""
    import grader.warm_imports  # noqa: F401

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    print("ready", flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request)
        print(pid, flush=True)


if __name__ == "__main__":
    serve()
