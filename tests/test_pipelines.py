"""grader/pipelines.py: the autograde and feedback pipelines are what nbgrader runs."""

from __future__ import annotations

import importlib

from traitlets.config.loader import PyFileConfigLoader

from grader.course import make_course
from grader.pipelines import AUTOGRADE_PREPROCESSORS, FEEDBACK_PREPROCESSORS


def test_a_course_folder_gives_nbgrader_both_pipelines_in_order(tmp_path):
    course = make_course(tmp_path / "course")
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    assert list(config.Autograde.autograde_preprocessors) == AUTOGRADE_PREPROCESSORS
    assert list(config.GenerateFeedback.preprocessors) == FEEDBACK_PREPROCESSORS
    # The verdict is the grader's: its executor runs first, the course's cap before nbgrader saves.
    assert AUTOGRADE_PREPROCESSORS[0] == "grader.hidden.ExecuteAndGrade"
    order = AUTOGRADE_PREPROCESSORS.index
    assert order("grader.preprocessors.CapOutput") < order("nbgrader.preprocessors.SaveAutoGrades")
    assert "nbgrader.preprocessors.LimitOutput" not in AUTOGRADE_PREPROCESSORS


def test_every_name_in_both_pipelines_is_a_class_that_imports():
    for name in [*AUTOGRADE_PREPROCESSORS, *FEEDBACK_PREPROCESSORS]:
        module, _, attribute = name.rpartition(".")
        assert isinstance(getattr(importlib.import_module(module), attribute), type), name
