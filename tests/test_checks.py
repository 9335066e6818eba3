"""helpers/checks.py: checks pass on right values and fail with messages that teach."""

import numpy as np
import pytest

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
