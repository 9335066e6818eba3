"""Tests of helpers/ensemble.py: voting rules, tie rule, accuracies, disagreement, TTA, Member."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from helpers import ensemble

# Three members, four images, three classes.
PROBS = np.array(
    [
        [[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4], [0.5, 0.4, 0.1]],
        [[0.6, 0.3, 0.1], [0.2, 0.2, 0.6], [0.1, 0.8, 0.1], [0.0, 0.9, 0.1]],
        [[0.6, 0.3, 0.1], [0.1, 0.7, 0.2], [0.4, 0.1, 0.5], [0.1, 0.4, 0.5]],
    ]
)
LABELS = np.array([0, 1, 2, 1])


def _reference_hard_vote(probs: np.ndarray) -> np.ndarray:
    """The stated tie rule, one image at a time."""
    winners = []
    for i in range(probs.shape[1]):
        counts = np.bincount(probs[:, i].argmax(axis=1), minlength=probs.shape[2])
        tied = np.flatnonzero(counts == counts.max())
        winners.append(tied[np.argmax(probs[:, i].mean(axis=0)[tied])])
    return np.array(winners)


def test_soft_vote_takes_the_argmax_of_the_mean_probability():
    np.testing.assert_array_equal(ensemble.soft_vote(PROBS), [0, 1, 1, 1])
    np.testing.assert_allclose(ensemble.average_probs(PROBS)[2], [0.8 / 3, 0.4, 1 / 3])


def test_soft_vote_can_overrule_the_majority():
    # Two members lean weakly to class 0, one is sure of class 1: the mean picks class 1.
    probs = np.array([[[0.51, 0.49]], [[0.51, 0.49]], [[0.0, 1.0]]])
    assert ensemble.hard_vote(probs).tolist() == [0]
    assert ensemble.soft_vote(probs).tolist() == [1]


def test_hard_vote_counts_each_members_top_class():
    np.testing.assert_array_equal(
        ensemble.vote_counts(PROBS), [[3, 0, 0], [0, 2, 1], [0, 1, 2], [1, 1, 1]]
    )
    # Image 3 is a three-way tie: class 1 has the highest mean probability (0.567).
    np.testing.assert_array_equal(ensemble.hard_vote(PROBS), [0, 1, 2, 1])


def test_hard_vote_tie_goes_to_the_tied_class_with_the_highest_mean_probability():
    # Votes 0 and 1 tie; class 2 has the highest mean but no votes, so it cannot win.
    probs = np.array([[[0.46, 0.0, 0.44]], [[0.0, 0.52, 0.48]]])
    assert ensemble.soft_vote(probs).tolist() == [2]
    assert ensemble.hard_vote(probs).tolist() == [1]


def test_hard_vote_tie_with_equal_means_goes_to_the_smallest_class():
    probs = np.array([[[0.6, 0.4]], [[0.4, 0.6]]])
    assert ensemble.hard_vote(probs).tolist() == [0]


def test_hard_vote_matches_the_tie_rule_on_random_arrays_with_many_ties():
    rng = np.random.default_rng(7)
    probs = rng.dirichlet(np.ones(3), size=(4, 300))
    counts = ensemble.vote_counts(probs)
    assert ((counts == 2).sum(axis=1) == 2).sum() > 30  # many 2-2 ties
    np.testing.assert_array_equal(ensemble.hard_vote(probs), _reference_hard_vote(probs))


def test_one_member_votes_are_its_own_predictions():
    probs = PROBS[:1]
    np.testing.assert_array_equal(ensemble.soft_vote(probs), PROBS[0].argmax(axis=1))
    np.testing.assert_array_equal(ensemble.hard_vote(probs), PROBS[0].argmax(axis=1))


def test_accuracies_of_members_and_of_growing_ensembles():
    np.testing.assert_allclose(ensemble.member_accuracies(PROBS, LABELS), [0.75, 0.5, 0.75])
    np.testing.assert_allclose(ensemble.accuracy_by_size(PROBS, LABELS), [0.75, 0.75, 0.75])
    np.testing.assert_allclose(ensemble.accuracy_by_size(PROBS, LABELS, "hard"), [0.75, 0.75, 1.0])


def test_disagreement_rate_counts_images_without_a_unanimous_vote():
    assert ensemble.disagreement_rate(PROBS) == pytest.approx(0.75)
    assert ensemble.disagreement_rate(np.stack([PROBS[0]] * 4)) == 0.0


def test_pairwise_disagreement_is_symmetric_with_a_zero_diagonal():
    matrix = ensemble.pairwise_disagreement(PROBS)
    assert matrix.shape == (3, 3)
    np.testing.assert_allclose(matrix, matrix.T)
    np.testing.assert_allclose(np.diag(matrix), 0.0)
    np.testing.assert_allclose(matrix[0], [0.0, 0.75, 0.25])  # 0 and 1 agree on image 0 only


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.ones((4, 3)), "members, images, classes"),
        (np.ones((0, 4, 3)), "at least one member"),
        (np.ones((2, 4, 1)), "at least 2 classes"),
        (np.full((2, 1, 3), np.nan), "finite"),
        (np.array([[[2.0, -1.0]]]), "logits"),
    ],
)
def test_bad_probability_arrays_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        ensemble.soft_vote(bad)
    with pytest.raises(ValueError, match=message):
        ensemble.hard_vote(bad)


def test_bad_labels_are_refused():
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        ensemble.member_accuracies(PROBS, [0, 1])
    with pytest.raises(ValueError, match="integer labels"):
        ensemble.member_accuracies(PROBS, [0.0, 1.0, 2.0, 1.0])
    with pytest.raises(ValueError, match="labels in 0..2"):
        ensemble.accuracy_by_size(PROBS, [0, 1, 3, 1])
    with pytest.raises(ValueError, match="'soft' or 'hard'"):
        ensemble.accuracy_by_size(PROBS, LABELS, method="mean")


def test_shift_images_moves_pixels_and_fills_with_zeros():
    images = np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3, 1)
    down = ensemble.shift_images(images, 1, 0)[0, :, :, 0]
    np.testing.assert_array_equal(down, [[0, 0, 0], [1, 2, 3], [4, 5, 6]])
    left = ensemble.shift_images(images, 0, -1)[0, :, :, 0]
    np.testing.assert_array_equal(left, [[2, 3, 0], [5, 6, 0], [8, 9, 0]])
    np.testing.assert_array_equal(ensemble.shift_images(images, 0, 0), images)
    with pytest.raises(ValueError, match="out of view"):
        ensemble.shift_images(images, 3, 0)
    with pytest.raises(ValueError, match="batch, height, width, channels"):
        ensemble.shift_images(images[0], 1, 0)


def test_tta_predict_averages_over_the_shifted_views():
    images = np.zeros((2, 5, 5, 1), np.float32)
    images[:, 2, 2] = 1.0

    def centre_detector(batch):
        # Probability of class 1 is the brightness of the centre pixel.
        centre = batch[:, 2, 2, 0]
        return np.stack([1 - centre, centre], axis=1)

    # Only the unshifted view keeps the bright pixel in the centre: 1 of 5 views.
    probs = ensemble.tta_predict(centre_detector, images)
    np.testing.assert_allclose(probs, [[0.8, 0.2], [0.8, 0.2]])
    np.testing.assert_allclose(
        ensemble.tta_predict(centre_detector, images, [(0, 0)]), [[0, 1]] * 2
    )
    with pytest.raises(ValueError, match="at least one shift"):
        ensemble.tta_predict(centre_detector, images, [])


def _tiny_classifier() -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((6, 6, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )


def test_member_builds_trains_evaluates_and_predicts_reproducibly():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(64, 6, 6, 1)).astype(np.float32)
    y = (x[:, :3].mean(axis=(1, 2, 3)) > x[:, 3:].mean(axis=(1, 2, 3))).astype(np.int64)
    first, again = (
        ensemble.Member(_tiny_classifier, "a", seed=3),
        ensemble.Member(_tiny_classifier, "b", seed=3),
    )
    history = first.train(x, y, epochs=2, batch_size=16)
    again.train(x, y, epochs=2, batch_size=16)
    assert len(history["loss"]) == 2 and "accuracy" in history
    probs = first.predict(x)
    assert probs.shape == (64, 2)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(probs, again.predict(x), atol=1e-6)
    assert first.evaluate(x, y) == pytest.approx(np.mean(probs.argmax(axis=1) == y))
    stacked = ensemble.predict_members([first, again.model], x)
    assert stacked.shape == (2, 64, 2)


def test_member_refuses_misuse():
    with pytest.raises(TypeError, match="function that builds"):
        ensemble.Member("not a function")
    member = ensemble.Member(_tiny_classifier)
    with pytest.raises(RuntimeError, match="before predict"):
        member.predict(np.zeros((1, 6, 6, 1), np.float32))
    with pytest.raises(ValueError, match="2 images but 3 labels"):
        member.train(np.zeros((2, 6, 6, 1), np.float32), np.zeros(3, np.int64))
    with pytest.raises(TypeError, match="keras.Model"):
        ensemble.Member(lambda: "model").build()
    with pytest.raises(ValueError, match="at least one member"):
        ensemble.predict_members([], np.zeros((1, 6, 6, 1)))


def test_shift_each_moves_every_image_by_its_own_move():
    images = np.zeros((3, 5, 5, 1))
    images[:, 2, 2, 0] = 1.0  # one bright pixel in the middle of each image
    moves = np.array([[0, 0], [1, -2], [-2, 2]])
    moved = ensemble.shift_each(images, moves)
    for image, (down, right) in zip(moved, moves, strict=True):
        assert image[2 + down, 2 + right, 0] == 1.0 and image.sum() == 1.0
    np.testing.assert_array_equal(moved[1], ensemble.shift_images(images[1:2], 1, -2)[0])
    with pytest.raises(ValueError, match="moves of shape"):
        ensemble.shift_each(images, moves[:2])
