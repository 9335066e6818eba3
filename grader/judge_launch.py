"""The judge's launcher: builds the jail, sets the limits, drops to the judge's uid, execs.

`grader.judge.Judge` runs `python -m grader.judge_launch SPEC` as the grader (root on a grading
machine). As root it binds what the worker reads under /run in a mount namespace of its own
(`grader.sandbox.stage`: the judge's uid cannot cross /root or a `mktemp -d` folder), sets the
rlimits (address space, CPU seconds, file size, no core, processes of the uid), switches to the
judge's uid and execs bubblewrap with the worker: the walls of `grader.sandbox` (namespaces,
read-only system, no network), a tmpfs scratch as /tmp and /dev/shm, the Python and venv,
`helpers/` and the judge's own files under grader/ (not the rest of it, not solutions/), a
cleared environment. With `walls` false it execs the worker bare, with the limits.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import sys
from pathlib import Path

from grader import sandbox
from grader.paths import REPO_ROOT

JUDGE_FILES = (
    "__init__.py",  # the package (an editable install finds grader by it)
    "judge_worker.py",
    "judge_tasks.py",
    "judge_rules.py",
    "judge_shapes.py",
    "judge_protocol.py",
)


def _worker_env() -> dict[str, str]:
    return {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": "/tmp",
        "KERAS_HOME": "/tmp/.keras",
        "KERAS_BACKEND": "tensorflow",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "CUDA_VISIBLE_DEVICES": "",
        "MPLBACKEND": "Agg",
    }


def jail_argv(spec: dict) -> list[str]:
    """bwrap's command line for `spec` (stages the binds first when root)."""
    limits, hide = spec["limits"], [Path(p) for p in spec["hide"]]
    readable = sandbox.jail_python_paths(hide)
    grader_dir = REPO_ROOT / "grader"
    staged = sandbox.stage([*readable, grader_dir]) if os.geteuid() == 0 else {}
    args = [*sandbox.jail_base_args(hide), "--proc", "/proc", "--dev", "/dev"]
    for tmp, size in (("/tmp", limits["scratch_bytes"]), ("/dev/shm", 16 * 2**20)):
        args += ["--perms", "1777", "--size", str(size), "--tmpfs", tmp]
    for folder in readable:
        args += ["--ro-bind", str(staged.get(folder, folder)), str(folder)]
    for name in JUDGE_FILES:  # the judge's own files, not the rest of grader/
        args += [
            "--ro-bind",
            str(staged.get(grader_dir, grader_dir) / name),
            str(grader_dir / name),
        ]
    args += ["--remount-ro", "/", "--chdir", "/tmp", "--clearenv"]
    for key, value in _worker_env().items():
        args += ["--setenv", key, value]
    return [*args, "--", sys.executable, *spec["program"]]


def launch(spec: dict) -> None:
    """As the grader: the jail's command line, rlimits, the judge's uid, then exec."""
    limits, uid = spec["limits"], spec.get("uid")
    if spec["walls"]:
        command = jail_argv(spec)
    else:
        command = [sys.executable, *spec["program"]]
    for kind, value in (
        (resource.RLIMIT_AS, limits["memory_bytes"]),
        (resource.RLIMIT_CPU, limits["cpu_seconds"]),
        (resource.RLIMIT_FSIZE, limits["file_bytes"]),
        (resource.RLIMIT_CORE, 0),
    ):
        resource.setrlimit(kind, (value, value))
    if uid is not None:
        resource.setrlimit(resource.RLIMIT_NPROC, (limits["processes"], limits["processes"]))
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    # After the uid change (which clears it), kept through exec: the worker dies with the grader.
    ctypes.CDLL(None, use_errno=True).prctl(sandbox.PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    scratch = spec.get("scratch")
    env = (
        {}
        if spec["walls"]
        else {
            **_worker_env(),
            "HOME": scratch,
            "TMPDIR": scratch,
            "KERAS_HOME": f"{scratch}/.keras",
            "COURSE_JUDGE_SCRATCH": scratch,
            "PYTHONPATH": str(REPO_ROOT),
        }
    )
    os.execve(command[0], command, env)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2 or argv[0] != "launch":
        print("usage: python -m grader.judge_launch launch SPEC  (started by grader.judge.Judge)")
        return 2
    launch(json.loads(argv[1]))
    return 1  # not reached: launch execs


if __name__ == "__main__":
    sys.exit(main())
