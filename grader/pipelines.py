"""The two nbgrader pipelines of the course, in order: what `autograde` and `feedback` run.

`nbgrader_config.py` sets nbgrader's lists from here, and the feedback check
(`grader.feedback.render_page`) runs the same list; the classes are in `grader.hidden` and
`grader.preprocessors`.
"""

# Autograding as nbgrader does it, with two changes. `grader.hidden.ExecuteAndGrade` runs the
# notebook like nbgrader's Execute, then runs every test cell's visible and hidden tests in the
# grader's own process against the live kernel: the verdict is never the kernel's. The course's
# output cap replaces LimitOutput: a million printed lines or one 100 MB line leaves a small
# autograded notebook.
AUTOGRADE_PREPROCESSORS = [
    "grader.hidden.ExecuteAndGrade",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "grader.preprocessors.CapOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# Feedback never shows hidden tests (plain nbgrader prints them, jupyter/nbgrader#917): the
# course's preprocessor removes the hidden-test regions and the tracebacks that quote them, and
# the page is sanitised.
FEEDBACK_PREPROCESSORS = [
    "nbgrader.preprocessors.GetGrades",
    "grader.preprocessors.HideHiddenTests",
    "grader.preprocessors.SanitizeFeedback",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
