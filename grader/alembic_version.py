"""nbgrader's gradebook schema version, asked once per process.

nbgrader runs `alembic heads` in a process of its own (about 2 s of CPU) each time it makes a
gradebook; the answer depends only on the installed nbgrader's migrations, so the grader asks
once (`grader.course.gradebook`, the fork server's `grader.warm_imports`) and nbgrader reuses it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def cache_alembic_version() -> str:
    """Ask `alembic heads` once for this process; nbgrader's later gradebooks reuse the answer.

    nbgrader runs it in a subprocess for every new gradebook; the answer depends only on the
    installed nbgrader's migrations."""
    import nbgrader.api

    asked = getattr(nbgrader.api.get_alembic_version, "answer", None)
    if asked is None:
        path = os.environ.get("PATH", "")
        bin_dir = str(Path(sys.executable).parent)  # nbgrader runs `alembic` by name
        os.environ["PATH"] = f"{bin_dir}{os.pathsep}{path}"
        try:
            asked = nbgrader.api.get_alembic_version()
        finally:
            os.environ["PATH"] = path

        def get_alembic_version() -> str:
            return asked

        get_alembic_version.answer = asked
        nbgrader.api.get_alembic_version = get_alembic_version
    return asked
