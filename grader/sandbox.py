"""Grade inside a sandbox: the student's kernel runs walled off from the grader.

(Over 300 lines on purpose: the walls, the slot that claims a uid and the one bwrap command line
they build belong together; split, a reader would follow one command line across files. The
resource limits and cgroups are in `grader.limits`.)

Plain `nbgrader autograde` starts the student's kernel as the grader, in the grader's
environment, next to the course folder: a submission can read `../../source` (the hidden tests),
the gradebook and secrets, other processes' command lines, files left in /tmp by the previous
kernel; open sockets; fork without end; fill memory and disk.

The `course-sandbox` kernel spec's launcher (this module) starts the IPython kernel in bubblewrap
(`bwrap`, Debian package `bubblewrap`). The walls, and what each stops:

* **user** (root only): a uid of its own from 61000 up, claimed under a lock (no two kernels on
  the machine share one; the process limit is per uid); no capabilities, no setuid (bwrap sets
  no_new_privs): should another wall fail, the kernel is still nobody to the grader's files.
* **files**, an allow-list: an empty read-only root into which only /usr (and the /bin, /lib
  links), /etc/ld.so.cache, /etc/localtime, /etc/fonts, the Python install, the venv and the
  course's `helpers/` are bound read-only at their own paths, plus the scratch home and the
  runtime folder (ipc sockets) read-write and a copy of the connection file. Not the rest of the
  repository (solutions/ holds the hidden tests, grader/ the instructor's code), not the course
  folder, not the grader's home. As root the launcher first binds these under /run/course-sandbox
  in a mount namespace of its own, so the kernel's uid reaches them whatever the folders above
  (mktemp -d, /root 0700, homes 0750).
* **processes**: a PID namespace with its own /proc: no other process (command line, environ)
  is visible, and everything the kernel started dies with it (--die-with-parent).
* **network**: a network namespace with only its own loopback: no socket reaches anything; the
  kernel talks to nbgrader over Unix sockets (`--KernelManager.transport=ipc`).
* **ipc**: private /tmp and /dev/shm (tmpfs of 256 MiB each, gone with the kernel), SysV IPC,
  UTS and cgroup namespaces; no user namespaces inside (--disable-userns); a new session.
* **environment**: only PATH, HOME, locale, matplotlib's settings and the COURSE_* switches.
* **limits**: address space, file size (a disk filler gets SIGXFSZ), no core dumps, processes
  per uid (a fork loop stops); **cgroups** cap the kernel's total memory and tasks, where the
  machine lets us create them.

Without root, bwrap builds every wall but the uid (with unprivileged user namespaces); where it
cannot run at all, only the environment, the scratch folder and the limits remain.
`availability()` says which walls stand here. GPUs are not passed in: kernels use the CPU.

    python -m grader.sandbox check    # what this machine can isolate

Longer than 300 lines on purpose: the availability probe, the Slot and the launcher's stages
share one set of paths and flags that must change together. Limits and cgroups are in
`grader.limits`.
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
from pathlib import Path

from grader.limits import Limits, make_cgroups, own_cgroup, remove_cgroup
from grader.paths import REPO_ROOT

KERNEL_NAME = "course-sandbox"
BASE_UID = 61000
UID_COUNT = 1000
PROBE_UID = BASE_UID + UID_COUNT  # availability() tries bwrap as this uid, outside the pool
UID_LOCKS = Path(tempfile.gettempdir()) / "course-sandbox-uids"
BWRAP = shutil.which("bwrap") or "/usr/bin/bwrap"
STAGE = Path("/run/course-sandbox")  # where root's launcher stages the binds (own mount ns)
TMPFS_BYTES = 256 * 2**20  # each of the kernel's /tmp and /dev/shm
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/localtime", "/etc/fonts")  # fonts: matplotlib
PASSED_THROUGH = ("COURSE_FAST", "COURSE_OFFLINE", "TF_CPP_MIN_LOG_LEVEL", "LANG", "LC_ALL")
PR_SET_PDEATHSIG = 1
CLONE_NEWNS, MS_BIND, MS_REC, MS_PRIVATE = 0x20000, 4096, 16384, 1 << 18
WALLS = ("files", "processes", "network", "ipc")  # the ones bwrap builds
MPL_FOLDER = ".matplotlib"  # the kernel's MPLCONFIGDIR, in its home


# --- What this machine can do ---


def _bwrap_problem(root: bool) -> str | None:
    """Why bwrap cannot build the walls here (None: it can), tried as the kernel's uid would."""
    if not os.access(BWRAP, os.X_OK):
        return "no bwrap (install the Debian package bubblewrap)"
    command = [
        BWRAP,
        *_namespace_args(),
        *_system_args(),
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--",
        "/usr/bin/true",
    ]
    as_kernel = {"user": PROBE_UID, "group": PROBE_UID, "extra_groups": []} if root else {}
    probe = subprocess.run(command, capture_output=True, text=True, **as_kernel)
    if probe.returncode != 0:  # e.g. unprivileged user namespaces switched off
        return f"bwrap failed: {probe.stderr.strip()[:200]}"
    return None


@functools.cache
def availability() -> dict[str, str | None]:
    """Each wall mapped to None (up on this machine) or the reason it is not.

    Probed once per process (it starts bwrap): a machine's abilities do not change while a
    class is graded.
    """
    root = os.geteuid() == 0
    problem = _bwrap_problem(root)
    found: dict[str, str | None] = {"user": None}
    if not root or problem:  # without bwrap the kernel's uid may not even reach Python
        found["user"] = "needs root" if not root else "needs bwrap too"
    found.update(dict.fromkeys(WALLS, problem))
    found["limits"] = found["environment"] = None
    missing = [c for c in ("memory", "pids") if root and own_cgroup(c) is None]
    found["cgroups"] = (
        "needs root"
        if not root
        else f"no writable {' or '.join(missing)} cgroup: per-process limits only"
        if missing
        else None
    )
    return found


def full_isolation() -> bool:
    """Whether kernels get every wall: own uid and bwrap's namespaces (cgroups are a bonus)."""
    return all(reason is None for layer, reason in availability().items() if layer != "cgroups")


def format_availability() -> str:
    lines = ["What the grading sandbox can isolate on this machine:"]
    for layer, reason in availability().items():
        lines.append(f"  {layer:<12} {'yes' if reason is None else 'no: ' + reason}")
    return "\n".join([*lines, "(what each wall stops: python -m grader.sandbox --help)"])


# --- Set-up on the grader's side ---


def default_hidden(course: Path) -> list[Path]:
    """What a kernel must never see. The sandbox is an allow-list, so this is informational."""
    return [Path(course).resolve(), Path.home().resolve(), REPO_ROOT]


def install_kernel(folder: Path) -> Path:
    """Write the `course-sandbox` kernel spec under `folder` (put `folder` on JUPYTER_PATH)."""
    spec_dir = Path(folder) / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "grader.sandbox", "kernel", "-f", "{connection_file}"],
        "display_name": "Python 3 (grading sandbox)",
        "language": "python",
        "interrupt_mode": "message",  # a signal would not cross bwrap's new session
        "env": {"PYTHONPATH": str(REPO_ROOT)},  # for the launcher only: the kernel's is clean
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    return Path(folder)


def live_processes(uid: int) -> list[str]:
    """Processes of `uid` still running (a killed kernel may linger a moment as a zombie)."""
    found = subprocess.run(
        ["ps", "-o", "pid=,stat=,args=", "-u", str(uid)], capture_output=True, text=True
    ).stdout.splitlines()
    return [line for line in found if line.split()[1][0] != "Z"]


def claim_uid() -> tuple[int, int]:
    """A uid no other grading run on this machine holds: (uid, lock file descriptor).

    An exclusive `flock` per uid, released when the descriptor closes (or the grader dies); two
    `autograde` runs at once never share one. A uid that still has processes is skipped.
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
    """A fresh scratch folder (home, runtime) and a uid for one kernel; `env()` is for nbgrader.

    In a `with` block: the uid is claimed on entry; on exit it is released and the scratch folder
    (all the kernel wrote) and the cgroups removed. The tree is an allow-list; `hide` (the course
    folder, the grader's home, the repository) matters only where one lies under /usr, which is
    then bound piece by piece around it (`_usr_args`).
    The scratch folder lies in TMPDIR, which must be short: ipc socket paths stop at 107 bytes.
    """

    def __init__(self, hide: list[Path], limits: Limits, isolate: bool) -> None:
        self.uid: int | None = None  # claimed on entry when isolating
        self.hide, self.limits, self.isolate = [Path(p) for p in hide], limits, isolate
        self.walls = availability()["files"] is None  # bwrap works here
        self.scratch = Path(tempfile.mkdtemp(prefix="course-sandbox-"))
        self.home, self.runtime = self.scratch / "home", self.scratch / "runtime"
        self._lock: int | None = None

    def __enter__(self) -> Slot:
        if self.isolate:
            self.uid, self._lock = claim_uid()
        os.chmod(self.scratch, 0o700 if self.walls else 0o711)  # bwrap needs no way in
        for folder in (self.home, self.runtime):
            folder.mkdir(mode=0o700)
            if self.isolate:
                os.chown(folder, self.uid, self.uid)
        _seed_font_list(self.home, self.uid if self.isolate else None)
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
            "COURSE_SANDBOX_WALLS": "1" if self.walls else "",
            "COURSE_SANDBOX_CGROUPS": os.pathsep.join(str(p) for p in self.cgroups),
            "COURSE_SANDBOX_HIDE": os.pathsep.join(str(p) for p in self.hide),
            **self.limits.as_env(),
        }

    def nbgrader_args(self) -> list[str]:
        """Pick the sandbox kernel, and Unix sockets at an absolute path both sides can reach."""
        return [
            f"--Execute.kernel_name={KERNEL_NAME}",
            "--KernelManager.transport=ipc",
            f"--KernelManager.ip={self.runtime / 'kernel'}",
        ]


@functools.cache
def _font_list() -> Path | None:
    """The grader's own Matplotlib font list (built once if it has none), or None."""
    try:
        import matplotlib
        from matplotlib import font_manager
    except ImportError:
        return None
    path = (
        Path(matplotlib.get_cachedir()) / f"fontlist-v{font_manager.FontManager.__version__}.json"
    )
    return path if path.is_file() else None


def _seed_font_list(home: Path, uid: int | None) -> None:
    """Copy the font list into a fresh kernel home's MPLCONFIGDIR: every kernel imports
    Matplotlib (Keras does), which would otherwise scan the fonts again (about 0.2 s of CPU).
    It is the grader's list of the same files the sandbox shows read-only; a kernel that
    rewrites its copy changes only its own."""
    source = _font_list()
    if source is None:
        return
    folder = home / MPL_FOLDER
    folder.mkdir(mode=0o700)
    shutil.copy(source, folder / source.name)
    if uid is not None:
        for path in (folder, folder / source.name):
            os.chown(path, uid, uid)


# --- The kernel launcher (runs as the grader, drops to the slot's uid, execs bwrap) ---


def _kernel_env(home: str) -> dict[str, str]:
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": home,
        "USER": "sandbox",
        "LOGNAME": "sandbox",
        "MPLCONFIGDIR": f"{home}/{MPL_FOLDER}",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "PYTHONDONTWRITEBYTECODE": "1",
        "LANG": "C.UTF-8",
    }
    env.update({k: os.environ[k] for k in PASSED_THROUGH if k in os.environ})
    return env


def _set_limits(limits: Limits, per_user: bool) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if per_user:  # counts every process of the uid: meaningless for the grader's own
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))


def _namespace_args() -> list[str]:
    return [
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--cap-drop",
        "ALL",
        "--die-with-parent",
        "--new-session",
        "--hostname",
        "sandbox",
    ]


def _system_args(hidden: list[Path] | tuple = ()) -> list[str]:
    """The system part of the kernel's tree: /usr, the merged-/usr links, a few /etc paths."""
    args = _usr_args([Path(p).resolve() for p in hidden])
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/", name)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for file in SYSTEM_FILES:
        if Path(file).exists():
            args += ["--ro-bind", file, file]
    return args


def _usr_args(hidden: list[Path]) -> list[str]:
    """/usr read-only, whole; where a hidden path lies under it (a course kept in /usr/local/),
    every entry of /usr but the branches that lead to a hidden path, which are walked down."""
    usr = Path("/usr")
    inside = [p for p in hidden if p == usr or usr in p.parents]
    if not inside:
        return ["--ro-bind", "/usr", "/usr"]
    args: list[str] = []

    def walk(folder: Path) -> None:
        args.extend(["--dir", str(folder)])
        for child in sorted(folder.iterdir()):
            if child in inside:
                continue  # the hidden path itself: absent from the tree
            if any(child in p.parents for p in inside) and not child.is_symlink():
                walk(child)
            elif child.is_symlink():
                args.extend(["--symlink", os.readlink(child), str(child)])
            else:
                args.extend(["--ro-bind", str(child), str(child)])

    walk(usr)
    return args


def _course_paths(hidden: list[Path] | tuple = ()) -> list[Path]:
    """What the kernel reads besides the system: Python, the venv, `helpers/` (outermost only).

    Not the rest of the repository: its solutions/ hold every hidden test. A path the /usr bind
    already shows is left out, unless it lies in a branch that `_usr_args` walks around.
    """
    paths = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), REPO_ROOT / "helpers"}
    paths.add(Path(os.path.realpath(sys.executable)).parent.parent)
    hidden = [Path(p).resolve() for p in hidden]

    def shown_by_usr(path: Path) -> bool:
        under_usr = path == Path("/usr") or Path("/usr") in path.parents
        near_hidden = any(h in path.parents or h == path or path in h.parents for h in hidden)
        return under_usr and not near_hidden

    paths = {p for p in paths if not shown_by_usr(p)}
    return sorted(p for p in paths if not any(q in p.parents for q in paths))


def _stage(paths: list[Path]) -> dict[Path, Path]:
    """Root only: bind `paths` under STAGE in a private mount namespace; the staged copies.

    bwrap resolves its sources as the kernel's uid, which cannot cross a private folder above
    (mktemp -d, /root); the staged copies sit under /run, which every uid can cross.
    """
    libc = ctypes.CDLL(None, use_errno=True)

    def mount(source: str, target: Path, fstype: str | None, flags: int, data: str = "") -> None:
        encoded = [None if s is None else s.encode() for s in (source, str(target), fstype, data)]
        if libc.mount(*encoded[:3], ctypes.c_ulong(flags), encoded[3]) != 0:
            raise OSError(ctypes.get_errno(), f"mount {source} on {target}")

    STAGE.mkdir(mode=0o755, parents=True, exist_ok=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS)")
    mount("none", Path("/"), None, MS_REC | MS_PRIVATE)
    mount("tmpfs", STAGE, "tmpfs", 0, "mode=0755,size=64k")
    staged = {}
    for number, path in enumerate(paths):
        staged[path] = STAGE / str(number)
        staged[path].mkdir()
        mount(str(path), staged[path], None, MS_BIND | MS_REC)
    return staged


def _bwrap_argv(home: Path, runtime: Path, connection: int, path: str) -> list[str]:
    """bwrap's command line: the allow-list tree, private /proc /dev /tmp, the namespaces.

    The connection file is copied in (`connection`, an open descriptor) at its own `path`,
    wherever jupyter_client wrote it (often the host's /tmp, which the kernel must not see).
    """
    hidden = [Path(p) for p in os.environ.get("COURSE_SANDBOX_HIDE", "").split(os.pathsep) if p]
    readable, writable = _course_paths(hidden), [home, runtime]
    source = _stage(readable + writable) if os.geteuid() == 0 else {}
    args = [BWRAP, *_namespace_args(), *_system_args(hidden)]
    # The private /proc, /dev, /tmp and /dev/shm first: the course's own paths may lie in /tmp
    # (a clone in `mktemp -d`, the scratch folder), and are bound on top of them.
    args += ["--proc", "/proc", "--dev", "/dev"]
    for tmp in ("/tmp", "/dev/shm"):
        args += ["--perms", "1777", "--size", str(TMPFS_BYTES), "--tmpfs", tmp]
    for folder in readable:
        args += ["--ro-bind", str(source.get(folder, folder)), str(folder)]
    for folder in writable:
        args += ["--bind", str(source.get(folder, folder)), str(folder)]
    args += ["--perms", "0400", "--ro-bind-data", str(connection), path]
    args += ["--remount-ro", "/", "--chdir", str(home), "--clearenv"]
    for key, value in _kernel_env(str(home)).items():
        args += ["--setenv", key, value]
    return [*args, "--", sys.executable, "-m", "ipykernel_launcher", "-f", path]


def _no_inherited_output() -> None:
    """The kernel's stdin, stdout and stderr on /dev/null: it inherits nbgrader's, which are the
    grader's log, and a kernel must never write a line there (the log is the instructor's)."""
    null = os.open(os.devnull, os.O_RDWR)
    for descriptor in (0, 1, 2):
        os.dup2(null, descriptor)
    os.close(null)


def launch(connection_file: str) -> None:
    """As the grader: limits, cgroups, the slot's uid, then exec bwrap (or the bare kernel)."""
    env = os.environ
    uid = int(env["COURSE_SANDBOX_UID"]) if env.get("COURSE_SANDBOX_UID") else None
    home = Path(env.get("COURSE_SANDBOX_HOME") or tempfile.mkdtemp(prefix="course-kernel-"))
    for folder in filter(None, env.get("COURSE_SANDBOX_CGROUPS", "").split(os.pathsep)):
        (Path(folder) / "cgroup.procs").write_text(str(os.getpid()))
    walls = env.get("COURSE_SANDBOX_WALLS") == "1"
    if walls:
        runtime = Path(env["JUPYTER_RUNTIME_DIR"]).resolve()
        info = json.loads(Path(connection_file).read_text())
        if info.get("transport") != "ipc" or runtime not in Path(info["ip"]).resolve().parents:
            sys.exit(f"course-sandbox: no network inside; use ipc sockets under {runtime}")
        connection = os.open(connection_file, os.O_RDONLY)  # read by bwrap, as the kernel
        os.set_inheritable(connection, True)
        command = _bwrap_argv(home, runtime, connection, connection_file)
    else:
        command = [sys.executable, "-m", "ipykernel_launcher", "-f", connection_file]
        if uid is not None:
            os.chown(connection_file, uid, uid)
    _set_limits(Limits.from_env(dict(env)), per_user=uid is not None)
    _no_inherited_output()
    if uid is not None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    # After the uid change (which clears it), kept through exec: the kernel dies with nbgrader.
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if walls:
        os.execve(BWRAP, command, {})
    os.chdir(home)
    os.execve(sys.executable, command, _kernel_env(str(home)))


# --- For other jails (grader.judge): the same walls, built from the same parts ---


def jail_base_args(hidden: list[Path] | tuple = ()) -> list[str]:
    """bwrap, its namespaces and the read-only system tree that every jail of the course shares."""
    return [BWRAP, *_namespace_args(), *_system_args(hidden)]


def jail_python_paths(hidden: list[Path] | tuple = ()) -> list[Path]:
    """What a jailed Python reads besides the system: the interpreter, the venv, `helpers/`."""
    return _course_paths(hidden)


def stage(paths: list[Path]) -> dict[Path, Path]:
    """Root only, in a launcher about to exec bwrap as another uid: `paths` staged under /run."""
    return _stage(paths)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader.sandbox",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=["check", "kernel"], help="kernel: for the kernel spec")
    parser.add_argument("-f", dest="connection_file", help="the kernel's connection file")
    args = parser.parse_args(argv)
    if args.command == "kernel":
        launch(args.connection_file or parser.error("kernel needs -f CONNECTION_FILE"))
    print(format_availability())
    print(f"Default limits: {Limits().describe()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
