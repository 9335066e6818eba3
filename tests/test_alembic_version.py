"""grader.alembic_version: the gradebook's schema head, read without a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbgrader.api
from nbgrader.dbutil import _temp_alembic_ini

from grader.alembic_version import cache_alembic_version, head_revision


def test_the_head_read_in_process_is_what_alembic_heads_prints(tmp_path):
    with _temp_alembic_ini(f"sqlite:///{tmp_path / 'gradebook.db'}") as ini:
        printed = subprocess.run(
            [str(Path(sys.executable).parent / "alembic"), "-c", ini, "heads"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    assert printed.split()[:2] == [head_revision(), "(head)"]


def test_nbgrader_reuses_the_cached_head_and_a_gradebook_records_it(tmp_path):
    head = cache_alembic_version()
    assert nbgrader.api.get_alembic_version() == head == head_revision()
    with nbgrader.api.Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        (recorded,) = gb.db.execute(nbgrader.api.text("SELECT version_num FROM alembic_version"))
    assert recorded[0] == head
