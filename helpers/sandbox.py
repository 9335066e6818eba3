"""Grade inside a sandbox: the student's kernel runs walled off from the grader.

What plain nbgrader isolates: nothing. `nbgrader autograde` starts the student's kernel as the
grader's own user, in the grader's environment, next to the course folder, so a submission can
read `../../source` (the hidden tests), the gradebook and environment secrets, write files the
grader reads, open network sockets, fork without end and fill memory and disk.

The sandbox is a Jupyter kernel spec, `course-sandbox`, whose launcher (this module) starts
the ordinary IPython kernel like this:

* **its own unprivileged user**: a numeric uid from 61000 up, no account needed, claimed with
  a lock so that no two kernels on the machine share one, even from two grading runs; files of
  the grader's (mode 0700 course folder, the gradebook, `~/.ssh`) are out of reach;
* **no network**: a new network namespace with only a down loopback, so every socket fails;
  the kernel talks to nbgrader over Unix sockets (`--KernelManager.transport=ipc`) instead;
* **only the submission visible**: a mount namespace in which the course folder and the
  grader's home are covered by empty tmpfs (the Python install and the course's `helpers`
  are mounted back, read-only); the working directory is an empty scratch folder;
* **a clean environment**: only PATH, HOME, locale and the course's COURSE_* switches;
* **limits**: address space (memory), processes per user (a fork loop stops at the limit),
  file size (a disk filler gets SIGXFSZ), no core dumps; and a new PID namespace, so that
  every process the kernel started dies with it.

All of that needs root (or the rights to make namespaces and change uid). `availability()`
says what works on this machine; without root the kernel still gets the clean environment,
the scratch folder and the limits, but runs as the grader, with network. Where a container
engine runs, grading inside a container (`docker run --network none --user ... --read-only`)
gives the same walls; this machine has none, so that way is documented, not tested.

    python -m helpers.sandbox check    # what this machine can isolate
"""

from __future__ import annotations

import argparse
import ctypes
import fcntl
import functools
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

KERNEL_NAME = "course-sandbox"
BASE_UID = 61000
UID_COUNT = 1000
UID_LOCKS = Path(tempfile.gettempdir()) / "course-sandbox-uids"
CGROUP_ROOT = Path("/sys/fs/cgroup")
REPO_ROOT = Path(__file__).resolve().parent.parent
PASSED_THROUGH = ("COURSE_FAST", "COURSE_OFFLINE", "TF_CPP_MIN_LOG_LEVEL", "LANG", "LC_ALL")
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Limits:
    """What one sandboxed kernel may use."""

    memory_bytes: int = 6 * 2**30  # address space; TensorFlow alone maps about 2 GiB
    processes: int = 256  # tasks (processes and threads) of the slot's user
    file_bytes: int = 256 * 2**20  # the largest file it may write

    def as_env(self) -> dict[str, str]:
        return {
            "COURSE_SANDBOX_MEMORY": str(self.memory_bytes),
            "COURSE_SANDBOX_PROCESSES": str(self.processes),
            "COURSE_SANDBOX_FILE": str(self.file_bytes),
        }

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Limits:
        default = cls()
        return cls(
            int(env.get("COURSE_SANDBOX_MEMORY", default.memory_bytes)),
            int(env.get("COURSE_SANDBOX_PROCESSES", default.processes)),
            int(env.get("COURSE_SANDBOX_FILE", default.file_bytes)),
        )

    def describe(self) -> str:
        return (
            f"memory {self.memory_bytes / 2**30:g} GiB, {self.processes} processes, "
            f"files up to {self.file_bytes / 2**20:g} MiB"
        )


# --------------------------------------------------------------------------------------------
# What this machine can do
# --------------------------------------------------------------------------------------------


@functools.cache
def availability() -> dict[str, str | None]:
    """Each isolation layer mapped to None (works here) or the reason it does not.

    Probed once per process (it starts `unshare`): a machine's abilities do not change while
    a class is graded.
    """
    root = os.geteuid() == 0
    found = {}
    for layer in ("user", "network", "files", "processes"):
        found[layer] = None if root else "needs root (or CAP_SYS_ADMIN and CAP_SETUID)"
    if root and not shutil.which("unshare"):
        found["network"] = found["files"] = found["processes"] = "no `unshare` (util-linux)"
    elif root:
        probe = subprocess.run(
            ["unshare", "--net", "--pid", "--fork", "--mount", "--", "true"],
            capture_output=True, text=True,
        )  # fmt: skip
        if probe.returncode != 0:
            reason = f"unshare failed: {probe.stderr.strip()[:200]}"
            found["network"] = found["files"] = found["processes"] = reason
    found["limits"] = None
    found["environment"] = None
    missing = [c for c in ("memory", "pids") if root and _own_cgroup(c) is None]
    found["cgroups"] = (
        "needs root" if not root else
        f"no writable {' or '.join(missing)} cgroup: per-process limits only" if missing else None
    )  # fmt: skip
    return found


def full_isolation() -> bool:
    """Whether kernels can run as another uid in their own namespaces (cgroups are a bonus)."""
    return all(reason is None for layer, reason in availability().items() if layer != "cgroups")


def format_availability() -> str:
    lines = ["What the grading sandbox can isolate on this machine:"]
    for layer, reason in availability().items():
        lines.append(f"  {layer:<12} {'yes' if reason is None else 'no: ' + reason}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Set-up on the grader's side
# --------------------------------------------------------------------------------------------


def default_hidden(course: Path) -> list[Path]:
    """Folders a sandboxed kernel must not see: the course, the grader's home, the repository."""
    return [Path(course).resolve(), Path.home().resolve(), REPO_ROOT]


def install_kernel(folder: Path) -> Path:
    """Write the `course-sandbox` kernel spec under `folder` (put `folder` on JUPYTER_PATH)."""
    spec_dir = Path(folder) / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "helpers.sandbox", "kernel", "-f", "{connection_file}"],
        "display_name": "Python 3 (grading sandbox)",
        "language": "python",
        "interrupt_mode": "signal",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    return Path(folder)


def _own_cgroup(controller: str) -> Path | None:
    """This process's cgroup folder for `controller` (v1) or its unified folder (v2)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, names, path = line.split(":", 2)
        if controller in names.split(","):
            folder = CGROUP_ROOT / controller / path.lstrip("/")
            return folder if os.access(folder, os.W_OK) else None
    unified = CGROUP_ROOT / "cgroup.controllers"
    for line in lines:
        if line.startswith("0::") and unified.exists():
            folder = CGROUP_ROOT / line[3:].lstrip("/")
            return folder if os.access(folder, os.W_OK) else None
    return None


def make_cgroups(name: str, limits: Limits) -> list[Path]:
    """Control groups that cap the total memory and process count of one kernel and its children.

    Where this process may create them (root on cgroup v1, or a delegated v2 tree); otherwise
    an empty list, and only the per-process limits apply.
    """
    made = []
    settings = {
        "memory": {"memory.limit_in_bytes": limits.memory_bytes, "memory.max": limits.memory_bytes},
        "pids": {"pids.max": limits.processes},
    }
    for controller, files in settings.items():
        parent = _own_cgroup(controller)
        if parent is None:
            continue
        folder = parent / name
        try:
            folder.mkdir(exist_ok=True)
            written = 0
            for file, value in files.items():
                if (folder / file).exists():
                    (folder / file).write_text(str(value))
                    written += 1
            if written:
                made.append(folder)
            else:
                folder.rmdir()
        except OSError:
            continue
    return made


def remove_cgroup(folder: Path) -> dict[str, int]:
    """Kill whatever still runs in a cgroup, read its peaks, remove it."""
    peaks = {}
    for file in ("memory.max_usage_in_bytes", "memory.peak", "pids.peak"):
        try:
            peaks[file.split(".")[0]] = int((folder / file).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    for _ in range(50):
        try:
            pids = [int(p) for p in (folder / "cgroup.procs").read_text().split()]
        except OSError:
            break
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)
    try:
        folder.rmdir()
    except OSError:
        pass
    return peaks


def live_processes(uid: int) -> list[str]:
    """Processes of `uid` still running (a killed kernel may linger a moment as a zombie)."""
    found = subprocess.run(["ps", "-o", "pid=,stat=,args=", "-u", str(uid)],
                           capture_output=True, text=True).stdout.splitlines()  # fmt: skip
    return [line for line in found if line.split()[1][0] != "Z"]


def claim_uid() -> tuple[int, int]:
    """A sandbox uid no other grading run on this machine holds: (uid, lock file descriptor).

    Two `autograde` commands at once (two chapters in two terminals) must not share a uid: the
    process limit is per uid, and one kernel could read the other's scratch folder. The claim is
    an exclusive `flock` on a file per uid, released when the descriptor is closed (or the
    grader dies); a uid that still has processes is skipped.
    """
    UID_LOCKS.mkdir(mode=0o700, exist_ok=True)
    for uid in range(BASE_UID, BASE_UID + UID_COUNT):
        descriptor = os.open(UID_LOCKS / f"{uid}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            continue
        if live_processes(uid):  # strays of a grader that was killed: leave that uid alone
            os.close(descriptor)
            continue
        return uid, descriptor
    raise RuntimeError(f"all {UID_COUNT} sandbox uids from {BASE_UID} are in use")


class Slot:
    """A scratch folder and a uid for one kernel run; `env()` is what nbgrader needs to use it.

    Use it in a `with` block: the uid is claimed on entry, and released, with the scratch folder
    (and all the kernel wrote) and its cgroups removed, on exit.
    """

    def __init__(self, hide: list[Path], limits: Limits, isolate: bool) -> None:
        self.uid: int | None = None  # claimed on entry when isolating
        self.hide, self.limits, self.isolate = [Path(p) for p in hide], limits, isolate
        self.scratch = Path(tempfile.mkdtemp(prefix="course-sandbox-"))
        self.home, self.runtime = self.scratch / "home", self.scratch / "runtime"
        self._lock: int | None = None

    def __enter__(self) -> Slot:
        if self.isolate:
            self.uid, self._lock = claim_uid()
        os.chmod(self.scratch, 0o711)
        for folder in (self.home, self.runtime):
            folder.mkdir(mode=0o700)
            if self.isolate:
                os.chown(folder, self.uid, self.uid)
        self.cgroups = make_cgroups(self.scratch.name, self.limits) if self.isolate else []
        self.peaks: dict[str, int] = {}
        return self

    def __exit__(self, *exc) -> None:
        for folder in self.cgroups:
            self.peaks.update(remove_cgroup(folder))
        shutil.rmtree(self.scratch, ignore_errors=True)
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def env(self) -> dict[str, str]:
        return {
            "JUPYTER_RUNTIME_DIR": str(self.runtime),
            "COURSE_SANDBOX_UID": str(self.uid) if self.isolate else "",
            "COURSE_SANDBOX_HOME": str(self.home),
            "COURSE_SANDBOX_HIDE": os.pathsep.join(str(p) for p in self.hide),
            "COURSE_SANDBOX_CGROUPS": os.pathsep.join(str(p) for p in self.cgroups),
            **self.limits.as_env(),
        }

    def nbgrader_args(self) -> list[str]:
        """Pick the sandbox kernel, and Unix sockets at an absolute path both sides can reach."""
        return [
            f"--Execute.kernel_name={KERNEL_NAME}",
            "--KernelManager.transport=ipc",
            f"--KernelManager.ip={self.runtime / 'kernel'}",
        ]


# --------------------------------------------------------------------------------------------
# The kernel launcher (runs as the grader, then inside the namespaces, then as the kernel)
# --------------------------------------------------------------------------------------------


def _kernel_env(home: str) -> dict[str, str]:
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": home,
        "USER": "sandbox",
        "LOGNAME": "sandbox",
        "MPLCONFIGDIR": f"{home}/.matplotlib",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "PYTHONDONTWRITEBYTECODE": "1",
        "LANG": "C.UTF-8",
    }
    env.update({k: os.environ[k] for k in PASSED_THROUGH if k in os.environ})
    return env


def _set_limits(limits: Limits) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if os.environ.get("COURSE_SANDBOX_UID"):  # per user: meaningless for the grader's own uid
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))


def _needed_paths() -> list[Path]:
    """What the kernel must still see under a hidden folder: Python, the venv, `helpers/`.

    Not the rest of the repository: its solutions/ hold every hidden test.
    """
    paths = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), REPO_ROOT / "helpers"}
    paths.add(Path(os.path.realpath(sys.executable)).parent.parent)
    return sorted(paths)


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


def _hide(hidden: list[Path], keep_in: Path) -> None:
    """Cover each hidden folder with an empty tmpfs, mounting back (read-only) what is needed."""
    _mount("--make-rprivate", "/")
    for number, folder in enumerate(p for p in hidden if p.is_dir()):
        inside = [p for p in _needed_paths() if folder == p or folder in p.parents]
        inside = [p for p in inside if not any(q in p.parents for q in inside)]
        held = []
        for index, path in enumerate(inside):
            hold = keep_in / f".held-{number}-{index}"
            hold.mkdir()
            _mount("--rbind", str(path), str(hold))
            held.append((path, hold))
        _mount("-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", str(folder))
        for path, hold in held:
            target = folder / path.relative_to(folder)
            target.mkdir(parents=True, exist_ok=True)
            _mount("--move", str(hold), str(target))
            _mount("-o", "remount,bind,ro", str(target))
            hold.rmdir()


def launch(connection_file: str) -> None:
    """Stage 1, as the grader: hand the connection file to the slot's uid, enter namespaces."""
    uid = os.environ.get("COURSE_SANDBOX_UID")
    if not uid:  # no root here: limits, scratch folder and clean environment only
        _enter_kernel(connection_file)
    os.chown(connection_file, int(uid), int(uid))
    for folder in filter(None, os.environ.get("COURSE_SANDBOX_CGROUPS", "").split(os.pathsep)):
        (Path(folder) / "cgroup.procs").write_text(str(os.getpid()))
    os.execvp(
        "unshare",
        ["unshare", "--net", "--pid", "--fork", "--kill-child", "--mount", "--",
         sys.executable, "-m", "helpers.sandbox", "inside", "-f", connection_file],
    )  # fmt: skip


def inside(connection_file: str) -> None:
    """Stage 2, root inside the new namespaces: hide folders, then become the kernel."""
    hidden = [Path(p) for p in os.environ.get("COURSE_SANDBOX_HIDE", "").split(os.pathsep) if p]
    home = Path(os.environ["COURSE_SANDBOX_HOME"])
    _hide(hidden, keep_in=home.parent)
    _enter_kernel(connection_file)


def _enter_kernel(connection_file: str) -> None:
    """Last stage: limits, drop to the slot's uid (if any), clean environment, exec the kernel."""
    limits = Limits.from_env(dict(os.environ))
    home = os.environ.get("COURSE_SANDBOX_HOME") or tempfile.mkdtemp(prefix="course-kernel-")
    uid = os.environ.get("COURSE_SANDBOX_UID")
    _set_limits(limits)
    if uid:
        os.setgroups([])
        os.setgid(int(uid))
        os.setuid(int(uid))
        # Changing uid clears the parent-death signal that `unshare --kill-child` set.
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)
    os.chdir(home)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", connection_file]
    os.execve(sys.executable, argv, _kernel_env(home))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.sandbox",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="print what this machine can isolate")
    for name in ("kernel", "inside"):
        p = sub.add_parser(name, help="(used by the kernel spec)")
        p.add_argument("-f", dest="connection_file", required=True)
    args = parser.parse_args(argv)
    if args.command == "check":
        print(format_availability())
        print(f"Default limits: {Limits().describe()}")
        return 0
    if args.command == "kernel":
        launch(args.connection_file)
    else:
        inside(args.connection_file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
