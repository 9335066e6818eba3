"""nbgrader settings shared by every course folder of this course.

`grader.course.make_course` writes a course folder whose own nbgrader_config.py loads this file
and sets the folder's root and gradebook; the repository itself is never a course folder (nbgrader
would delete `chapters/` contents when it releases into it).
"""

c = get_config()  # noqa: F821

# The stub that replaces every solution region in the student version.
c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\n"
    'raise NotImplementedError("Write your answer here, then run the test cell below")'
}

# Per-cell time limit while autograding or validating. nbgrader reads Execute.timeout;
# ExecutePreprocessor.timeout is ignored (jupyter/nbgrader#1004). Training cells in fast mode
# take well under a minute on two cores.
c.Execute.timeout = 300
c.Execute.interrupt_on_timeout = True
# nbgrader makes a late output after a cell's reply an error (raise_on_iopub_timeout); nbclient
# waits 4 s for it by default, too short for a kernel that printed a flood on a loaded machine.
c.Execute.iopub_timeout = 30

# A deleted test cell is put back from the gradebook instead of leaving the part ungraded.
c.OverwriteCells.add_missing_cells = True

# Feedback never shows hidden tests (plain nbgrader prints them, jupyter/nbgrader#917): the
# course's preprocessor removes the hidden-test regions and the tracebacks that quote them.
from grader.feedback import FEEDBACK_PREPROCESSORS  # noqa: E402  (their one definition)

c.GenerateFeedback.preprocessors = FEEDBACK_PREPROCESSORS
# Feedback pages are safe to open: no script, event handler or active content from a student.
c.HTMLExporter.sanitize_html = True

# Autograding as nbgrader does it, with two changes. `grader.hidden.ExecuteAndGrade` runs the
# notebook like nbgrader's Execute, then runs every test cell's visible and hidden tests in the
# grader's own process against the live kernel: the verdict is never the kernel's. The course's
# output cap replaces LimitOutput: a million printed lines or one 100 MB line leaves a small
# autograded notebook.
c.Autograde.autograde_preprocessors = [
    "grader.hidden.ExecuteAndGrade",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "grader.preprocessors.CapOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# The grader's verdicts are in once the last cell ran: stop the kernel at once instead of
# waiting for its atexit hooks (TensorFlow's take about a second and a half per submission).
c.ExecuteAndGrade.shutdown_kernel = "immediate"
