"""What the grading forkserver imports once (`grader.warm_start`): nbgrader, the grader and
TensorFlow, with TensorFlow's start-up messages kept off the instructor's terminal.

nbgrader would ask `alembic heads`, in a process of its own, each time it makes a gradebook;
the server reads the answer once from nbgrader's migrations and its children reuse it
(`grader.alembic_version`).
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
_saved = os.dup(2)
try:
    with open(os.devnull, "w") as _null:
        os.dup2(_null.fileno(), 2)
        import nbgrader.apps.nbgraderapp  # noqa: F401
        import nbgrader.preprocessors  # noqa: F401

        import grader.hidden  # noqa: F401
        import grader.preprocessors  # noqa: F401
        from grader.alembic_version import cache_alembic_version

        try:
            import tensorflow  # noqa: F401  (the grader's reference code uses it)
        except ImportError:
            pass
    cache_alembic_version()
finally:
    sys.stderr.flush()
    os.dup2(_saved, 2)
    os.close(_saved)
