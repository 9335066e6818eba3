"""`course-grade`: the instructor's grading round on real nbgrader (`grader/cli.py`).

The round, in the order an instructor runs it (docs/architecture.md has a row per module):

1. release: `release.py`, `student_notebooks.py`, `publish.py` (the student versions)
2. collect: `collect.py`, `names.py` (an LMS export or a tree into `submitted/`)
3. autograde: `autograde.py` plans, `grade_pool.py` runs tasks (threads or Dask, `cluster.py`),
   `grade_task.py` grades one submission as a pure function: `rebuild.py` and `scan.py`
   prepare it, `nbgrader_run.py` runs nbgrader (forked by `warm_start.py`) with the kernel in
   `sandbox.py`, `pipelines.py` names the preprocessors, `hidden.py` runs the tests in the
   grader against the kernel (`remote.py`, `message_caps.py`, `failure_text.py`,
   `code_rules.py`) and `judge*.py` interprets models; `grade_result.py` is the one
   result type, and `grade_store.py` commits each result
4. decide: `late_policy.py` (due dates, extensions, slip days), `regrade.py` (requests)
5. feedback: `feedback.py`, `feedback_decisions.py` (the decisions shown on the page)
6. export: `export.py` (scores.csv, summary.csv, the decisions applied), `lms.py` (Canvas,
   Moodle), `class_report.py` (`report`), `similarity*.py` (`similarity`)

Used by every step: `paths.py`, `course.py` (the course folder, the gradebook URL),
`course_folder.py` (its layout), `notebooks.py`, `warm_start.py`, `alembic_version.py`.
Beside the round: `cli.py` (the console script), `selftest.py` (`selftest`), `benchmark.py`.
"""

# The round's steps in order and the modules of each; tests/test_layout.py holds it true: every
# module of grader/ is listed once, and none imports a module of a later step.
ROUND = {
    "release": ("release", "student_notebooks", "publish"),
    "collect": ("collect", "names"),
    "autograde": (
        "autograde",
        "grade_pool",
        "cluster",
        "grade_task",
        "rebuild",
        "scan",
        "nbgrader_run",
        "sandbox",
        "limits",
        "kernel_side",
        "warm_imports",
        "hidden",
        "remote",
        "message_caps",
        "failure_text",
        "code_rules",
        "task_data",
        "grade_result",
        "judge",
        "judge_launch",
        "judge_protocol",
        "judge_rules",
        "judge_shapes",
        "judge_stand_in",
        "judge_tasks",
        "judge_worker",
        "preprocessors",
        "pipelines",
        "gradebook_notes",
        "grade_store",
        "progress_line",
    ),
    "decide": ("late_policy", "regrade"),
    "feedback": ("feedback", "feedback_decisions"),
    "export": (
        "export",
        "lms",
        "class_report",
        "similarity",
        "similarity_report",
        "similarity_prints",
    ),
}
# Used by every step: the repository's and the course folder's paths, notebooks, nbgrader's start.
SHARED = ("paths", "course", "course_folder", "notebooks", "warm_start", "alembic_version")
# Beside the round, using all of it: the console script, the self-test and the benchmark.
TOOLS = ("cli", "selftest", "benchmark")
