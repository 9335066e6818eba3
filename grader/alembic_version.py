"""nbgrader's gradebook schema version, read in this process instead of a subprocess.

nbgrader runs `alembic heads` in a process of its own (about 2 s of CPU: the process imports
nbgrader, SQLAlchemy and alembic again) each time it makes a gradebook. The answer depends only
on the installed nbgrader's migrations, so the grader reads the same head from those migrations
with alembic's own `ScriptDirectory` (about 0.1 s, once per process) and nbgrader reuses it
(`grader.course.gradebook`, the fork server's `grader.warm_imports`).
"""

from __future__ import annotations


def head_revision() -> str:
    """The newest revision of nbgrader's gradebook migrations: what `alembic heads` prints."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    config = Config()
    config.set_main_option("script_location", ALEMBIC_DIR)
    return ScriptDirectory.from_config(config).get_current_head()


def cache_alembic_version() -> str:
    """Read the head once for this process; nbgrader's later gradebooks reuse the answer."""
    import nbgrader.api

    asked = getattr(nbgrader.api.get_alembic_version, "answer", None)
    if asked is None:
        asked = head_revision()

        def get_alembic_version() -> str:
            return asked

        get_alembic_version.answer = asked
        nbgrader.api.get_alembic_version = get_alembic_version
    return asked
