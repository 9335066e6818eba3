"""The grading fork server: each request gets its own nbgrader process, status and output."""

import os

import nbgrader

from grader import warm_start
from grader.course import grading_env


def test_a_forked_nbgrader_reports_its_output_and_exit_status(tmp_path):
    code, output = warm_start.run(["--version"], dict(os.environ), tmp_path, timeout=60)
    assert code == 0
    assert nbgrader.__version__ in output


def test_a_failing_command_returns_its_nonzero_status_and_message(tmp_path):
    command = ["autograde", "no-chapter", "--student", "nobody"]
    code, output = warm_start.run(command, grading_env(), tmp_path, timeout=60)
    assert code == 1
    assert "No notebooks were matched" in output and "nobody/no-chapter" in output


def test_each_child_gets_the_environment_and_folder_it_was_given(tmp_path):
    # nbgrader loads nbgrader_config.py from its working folder: one that writes what it sees.
    (tmp_path / "nbgrader_config.py").write_text(
        "import os\nopen('seen.txt', 'w').write(os.environ['MARK'] + ' ' + os.getcwd())\n"
    )
    env = grading_env(MARK="first")
    assert warm_start.run(["db", "student", "list"], env, tmp_path, 120)[0] == 0
    assert (tmp_path / "seen.txt").read_text() == f"first {tmp_path}"
    assert "MARK" not in os.environ  # the server's children never touch the caller


def test_a_child_past_its_time_limit_is_killed_and_reported(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("import time\ntime.sleep(60)\n")
    code, _ = warm_start.run(["db", "student", "list"], grading_env(), tmp_path, timeout=2)
    assert code is None
