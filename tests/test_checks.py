"""helpers/checks.py: checks pass on right values and fail with messages that teach."""

import nbclient
import nbformat
import numpy as np
import pytest

from grader.paths import REPO_ROOT
from helpers import checks


def test_check_shape_accepts_arrays_tensors_and_tuples():
    import tensorflow as tf

    checks.check_shape(np.zeros((1, 14, 14, 5)), (1, 14, 14, 5))
    checks.check_shape(tf.zeros((2, 3)), (2, 3))
    checks.check_shape((7, 7), (7, 7))


def test_check_shape_failure_says_expected_got_and_hint():
    with pytest.raises(AssertionError) as info:
        checks.check_shape(np.zeros((1, 13, 13, 5)), (1, 14, 14, 5), hint="stride 2 halves 28")
    message = str(info.value)
    assert "Expected the shape (1, 14, 14, 5), got (1, 13, 13, 5)." in message
    assert "Hint: stride 2 halves 28" in message


def test_check_close_passes_within_tolerance_and_names_the_first_wrong_value():
    checks.check_close([[12, 16], [24, 28.0000001]], [[12, 16], [24, 28]])
    with pytest.raises(checks.CheckFailed, match=r"at index \(1, 0\): expected 24, got 25"):
        checks.check_close([[12, 16], [25, 28]], [[12, 16], [24, 28]])


def test_check_close_rejects_wrong_shapes_and_non_numbers():
    with pytest.raises(checks.CheckFailed, match=r"shape \(2, 2\), got shape \(4,\)"):
        checks.check_close([1, 2, 3, 4], np.zeros((2, 2)))
    with pytest.raises(checks.CheckFailed, match="is None: did the function forget to `return`"):
        checks.check_close(None, 1.0)
    with pytest.raises(checks.CheckFailed, match="should hold numbers"):
        checks.check_close("12", 12)


def test_objects_that_claim_equality_with_everything_do_not_pass():
    class AlwaysEqual:
        def __eq__(self, other):
            return True

    with pytest.raises(checks.CheckFailed):
        checks.check_close(AlwaysEqual(), [1.0, 2.0])
    with pytest.raises(checks.CheckFailed):
        checks.check_equal(AlwaysEqual(), 3)


def test_check_equal_is_exact_for_numbers_and_strings():
    checks.check_equal(np.array([1, 2]), [1, 2])
    checks.check_equal("float32", "float32")
    with pytest.raises(checks.CheckFailed, match="Expected your answer to be 'float32'"):
        checks.check_equal("float64", "float32")
    with pytest.raises(checks.CheckFailed, match=r"to be \[1, 2\], got \[1, 3\]"):
        checks.check_equal([1, 3], [1, 2])


def test_check_true_needs_a_real_boolean():
    checks.check_true(True, "never shown")
    checks.check_true(np.bool_(True), "never shown")
    with pytest.raises(checks.CheckFailed, match="must be positive"):
        checks.check_true(False, "must be positive")
    with pytest.raises(checks.CheckFailed):
        checks.check_true(np.array([1, 1]), "an array is not a boolean")  # type: ignore[arg-type]


def _run_cells(*sources: str) -> nbformat.NotebookNode:
    """Run `sources` as one notebook in a real kernel from the repository root."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3")
    with pytest.raises(nbclient.exceptions.CellExecutionError):  # the failing cell stops it
        client.execute(cwd=str(REPO_ROOT))
    return nb


def test_a_failed_check_shows_only_its_message_and_hint_in_a_kernel():
    """One error output with the message and hint and no frames through checks.py; the cell
    still fails, which is what nbgrader scores as zero."""
    nb = _run_cells("from helpers import checks", "checks.check_equal(3, 4, hint='count again')")
    [error] = nb.cells[1].outputs
    assert error.output_type == "error" and error.ename == "CheckFailed"
    assert "Hint: count again" in error.evalue
    assert len(error.traceback) == 1 and "checks.py" not in error.traceback[0]
    assert "Expected your answer to be 4, got 3." in error.traceback[0]


def test_other_errors_keep_their_traceback():
    nb = _run_cells("from helpers import checks\n\ndef f():\n    return 1 / 0\n\nf()")
    [error] = nb.cells[0].outputs
    assert error.ename == "ZeroDivisionError" and len(error.traceback) > 1
