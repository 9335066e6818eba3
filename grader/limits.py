"""What one sandboxed kernel may use: rlimits, and memory and pids cgroups where allowed."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
LIMIT_ENV = {
    "memory_bytes": "COURSE_SANDBOX_MEMORY",
    "processes": "COURSE_SANDBOX_PROCESSES",
    "file_bytes": "COURSE_SANDBOX_FILE",
}


@dataclass(frozen=True)
class Limits:
    """What one sandboxed kernel may use."""

    memory_bytes: int = 6 * 2**30  # address space; TensorFlow alone maps about 2 GiB
    processes: int = 256  # tasks (processes and threads) of the slot's user
    file_bytes: int = 256 * 2**20  # the largest file it may write

    def as_env(self) -> dict[str, str]:
        return {name: str(getattr(self, field)) for field, name in LIMIT_ENV.items()}

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Limits:
        return cls(**{field: int(env[name]) for field, name in LIMIT_ENV.items() if name in env})

    def describe(self) -> str:
        return (
            f"memory {self.memory_bytes / 2**30:g} GiB, {self.processes} processes, "
            f"files up to {self.file_bytes / 2**20:g} MiB"
        )


def own_cgroup(controller: str) -> Path | None:
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
        parent = own_cgroup(controller)
        if parent is None:
            continue
        folder = parent / name
        try:
            folder.mkdir(exist_ok=True)
            present = [file for file in files if (folder / file).exists()]
            for file in present:
                (folder / file).write_text(str(files[file]))
        except OSError:
            continue
        if present:
            made.append(folder)
        else:
            folder.rmdir()
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
