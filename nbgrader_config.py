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

# Both pipelines, in order, are written once in grader/pipelines.py.
from grader.pipelines import AUTOGRADE_PREPROCESSORS, FEEDBACK_PREPROCESSORS  # noqa: E402

c.GenerateFeedback.preprocessors = FEEDBACK_PREPROCESSORS
# Feedback pages are safe to open: no script, event handler or active content from a student.
c.HTMLExporter.sanitize_html = True

c.Autograde.autograde_preprocessors = AUTOGRADE_PREPROCESSORS
# The grader's verdicts are in once the last cell ran: stop the kernel at once instead of
# waiting for its atexit hooks (TensorFlow's take about a second and a half per submission).
c.ExecuteAndGrade.shutdown_kernel = "immediate"
