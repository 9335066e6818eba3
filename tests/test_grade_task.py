"""grader.grade_task without nbgrader: which machines may grade in the sandbox."""

from __future__ import annotations

import pytest

from grader import grade_task, sandbox

WALLS = ["user", "files", "processes", "network", "ipc", "limits", "environment", "cgroups"]
ALL_UP = dict.fromkeys(WALLS)


def _walls(monkeypatch, **down: str) -> None:
    monkeypatch.setattr(sandbox, "availability", lambda: {**ALL_UP, **down})


def test_a_machine_without_root_or_cgroups_still_grades(monkeypatch):
    """A non-root instructor or SLURM job: bwrap's namespaces stand, the own uid does not."""
    _walls(monkeypatch, user="needs root", cgroups="needs root")
    grade_task.check_walls(grade_task.Settings())


@pytest.mark.parametrize("wall", ["files", "processes", "network", "ipc"])
def test_a_machine_without_bwraps_walls_refuses_to_grade(monkeypatch, wall):
    _walls(monkeypatch, **{wall: "no bwrap (install the Debian package bubblewrap)"})
    with pytest.raises(grade_task.SandboxMissing, match=f"refuses to grade.*{wall}: no bwrap"):
        grade_task.check_walls(grade_task.Settings())
    grade_task.check_walls(grade_task.Settings(use_sandbox=False))  # said, not hidden
