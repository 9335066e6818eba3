"""Ensembles of classifiers: the notes' model class, soft and hard voting, disagreement and TTA."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np

from helpers import metrics, progress

# The shifts (down, right) in pixels that test-time augmentation averages over by default:
# the image itself and one-pixel moves in the four directions.
TTA_SHIFTS = ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))


def as_member_probs(member_probs: Any) -> np.ndarray:
    """Check and return the members' probabilities as a float array (members, images, classes).

    Refuses arrays of the wrong rank, no members, fewer than two classes, NaN or infinite
    values and negative values (logits are not probabilities: apply a softmax first).
    """
    probs = np.asarray(member_probs, dtype=float)
    if probs.ndim != 3:
        raise ValueError(
            f"expected probabilities of shape (members, images, classes), got shape {probs.shape}"
        )
    if probs.shape[0] < 1:
        raise ValueError("expected at least one member, got none")
    if probs.shape[2] < 2:
        raise ValueError(f"expected at least 2 classes, got {probs.shape[2]}")
    if not np.isfinite(probs).all():
        raise ValueError("expected finite probabilities, got NaN or infinite values")
    if (probs < 0).any():
        raise ValueError(
            "expected probabilities >= 0, got negative values: are these logits? "
            "Apply a softmax first."
        )
    return probs


def _as_labels(labels: Any, num_images: int, num_classes: int | None = None) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.shape != (num_images,):
        raise ValueError(f"expected labels of shape ({num_images},), got {labels.shape}")
    if labels.size and labels.dtype.kind not in "iu":
        raise ValueError(f"expected integer labels, got {labels.dtype}")
    if (
        num_classes is not None
        and labels.size
        and (labels.min() < 0 or labels.max() >= num_classes)
    ):
        raise ValueError(
            f"expected labels in 0..{num_classes - 1}, got {labels.min()}..{labels.max()}"
        )
    return labels.astype(np.int64)


def member_votes(member_probs: Any) -> np.ndarray:
    """Each member's predicted class: integer array (members, images)."""
    return np.argmax(as_member_probs(member_probs), axis=-1)


def average_probs(member_probs: Any) -> np.ndarray:
    """The ensemble's probabilities: the mean over members, shape (images, classes)."""
    return as_member_probs(member_probs).mean(axis=0)


def soft_vote(member_probs: Any) -> np.ndarray:
    """Soft voting: the class with the highest mean probability, shape (images,).

    Summing the probabilities, as the source notes do, picks the same class as the mean.
    """
    return np.argmax(average_probs(member_probs), axis=-1)


def vote_counts(member_probs: Any) -> np.ndarray:
    """How many members vote for each class: integer array (images, classes)."""
    probs = as_member_probs(member_probs)
    votes = np.argmax(probs, axis=-1)
    return (votes[:, :, np.newaxis] == np.arange(probs.shape[2])).sum(axis=0)


def hard_vote(member_probs: Any) -> np.ndarray:
    """Hard (majority) voting: the class most members pick as their top class, shape (images,).

    Tie rule: when several classes share the most votes, the one among them with the highest
    mean probability wins (soft voting decides between the tied classes only); if their mean
    probabilities are equal too, the smallest class index wins.
    """
    probs = as_member_probs(member_probs)
    counts = vote_counts(probs)
    tied = counts == counts.max(axis=1, keepdims=True)
    return np.argmax(np.where(tied, probs.mean(axis=0), -np.inf), axis=1)


def member_accuracies(member_probs: Any, labels: Any) -> np.ndarray:
    """The accuracy of each member on its own, shape (members,)."""
    probs = as_member_probs(member_probs)
    labels = _as_labels(labels, probs.shape[1], probs.shape[2])
    return (np.argmax(probs, axis=-1) == labels).mean(axis=1)


def accuracy_by_size(member_probs: Any, labels: Any, method: str = "soft") -> np.ndarray:
    """Accuracy of the ensemble of the first k members for k = 1..K, shape (members,)."""
    votes = {"soft": soft_vote, "hard": hard_vote}
    if method not in votes:
        raise ValueError(f"expected method 'soft' or 'hard', got {method!r}")
    probs = as_member_probs(member_probs)
    labels = _as_labels(labels, probs.shape[1], probs.shape[2])
    return np.array(
        [metrics.accuracy(labels, votes[method](probs[:k])) for k in range(1, len(probs) + 1)]
    )


def disagreement_rate(member_probs: Any) -> float:
    """The fraction of images on which the members do not all pick the same class."""
    votes = member_votes(member_probs)
    if votes.shape[1] == 0:
        raise ValueError("expected at least one image, got none")
    return float(np.mean(votes.min(axis=0) != votes.max(axis=0)))


def pairwise_disagreement(member_probs: Any) -> np.ndarray:
    """For each pair of members, the fraction of images they classify differently: (K, K)."""
    votes = member_votes(member_probs)
    if votes.shape[1] == 0:
        raise ValueError("expected at least one image, got none")
    return (votes[:, np.newaxis, :] != votes[np.newaxis, :, :]).mean(axis=-1)


def shift_images(images: Any, down: int, right: int) -> np.ndarray:
    """Move images (batch, height, width, channels) by whole pixels, filling the gap with zeros."""
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(
            f"expected images of shape (batch, height, width, channels), got {images.shape}"
        )
    height, width = images.shape[1:3]
    if abs(down) >= height or abs(right) >= width:
        raise ValueError(f"a shift of ({down}, {right}) moves a {height}x{width} image out of view")
    shifted = np.zeros_like(images)
    src_rows = slice(max(-down, 0), height - max(down, 0))
    dst_rows = slice(max(down, 0), height - max(-down, 0))
    src_cols = slice(max(-right, 0), width - max(right, 0))
    dst_cols = slice(max(right, 0), width - max(-right, 0))
    shifted[:, dst_rows, dst_cols] = images[:, src_rows, src_cols]
    return shifted


def shift_each(images: Any, moves: Any) -> np.ndarray:
    """Move each image by its own (down, right) pixels: `moves` has shape (batch, 2).

    A test set moved this way is off-centre the way a careless crop leaves digits, which
    test-time augmentation with shifts can undo.
    """
    images, moves = np.asarray(images), np.asarray(moves)
    if moves.shape != (len(images), 2):
        raise ValueError(f"expected moves of shape ({len(images)}, 2), got {moves.shape}")
    if len(images) == 0:
        return images.copy()
    return np.concatenate(
        [
            shift_images(images[i : i + 1], int(down), int(right))
            for i, (down, right) in enumerate(moves)
        ]
    )


def _predict(
    model: keras.Model | Callable[[np.ndarray], Any], images: np.ndarray, batch_size: int = 500
) -> np.ndarray:
    """Probabilities of a Keras model (called eagerly in batches) or of any function."""
    if not isinstance(model, keras.Model):
        return np.asarray(model(images))
    images = np.asarray(images, dtype=np.float32)
    # Calling the model directly, rather than model.predict, traces no tf.function per model:
    # an ensemble of fresh models would otherwise fill the output with retracing warnings.
    batches = [
        keras.ops.convert_to_numpy(model(images[i : i + batch_size], training=False))
        for i in range(0, len(images), batch_size)
    ]
    return np.concatenate(batches) if batches else np.zeros((0, *model.output.shape[1:]))


def tta_predict(
    model: keras.Model | Callable[[np.ndarray], Any],
    images: Any,
    shifts: Sequence[tuple[int, int]] = TTA_SHIFTS,
) -> np.ndarray:
    """Test-time augmentation: the mean of one model's probabilities over shifted copies.

    `model` is a Keras model or any function from images to probabilities (batch, classes).
    One model, several views of each image: an ensemble that costs no extra training.
    """
    images = np.asarray(images, dtype=np.float32)
    shifts = list(shifts)
    if not shifts:
        raise ValueError("expected at least one shift, got none")
    views = [_predict(model, shift_images(images, down, right)) for down, right in shifts]
    return np.mean(views, axis=0)


class Member:
    """One member of an ensemble: the seed course's model class, the Keras 3 way.

    The seed course wrapped a TensorFlow 1 graph and session in a class with build / train /
    evaluate / predict methods. Here the class holds a Keras model and its training history;
    `build_fn` is any function returning an uncompiled classifier with a softmax output, and
    `seed` makes the member's starting weights (and its augmentation) its own.
    """

    def __init__(
        self,
        build_fn: Callable[[], keras.Model],
        name: str = "member",
        seed: int = 0,
        learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = 1e-3,
    ) -> None:
        if not callable(build_fn):
            raise TypeError(f"expected a function that builds a Keras model, got {build_fn!r}")
        self.build_fn = build_fn
        self.name = name
        self.seed = int(seed)
        self.learning_rate = learning_rate
        self.model: keras.Model | None = None
        self.history: dict[str, list[float]] = {}

    def __repr__(self) -> str:
        state = "trained" if self.history else "built" if self.model is not None else "new"
        return f"Member({self.name!r}, seed={self.seed}, {state})"

    def build(self) -> keras.Model:
        """Create and compile the model from `build_fn`, seeded by `seed`."""
        keras.utils.set_random_seed(self.seed)
        model = self.build_fn()
        if not isinstance(model, keras.Model):
            raise TypeError(f"build_fn must return a keras.Model, got {type(model).__name__}")
        model.compile(
            optimizer=keras.optimizers.Adam(self.learning_rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        self.model, self.history = model, {}
        return model

    def train(
        self,
        x_train: np.ndarray,
        y_train: np.ndarray,
        epochs: int = 1,
        batch_size: int = 64,
        validation_data: tuple[np.ndarray, np.ndarray] | None = None,
        verbose: int = 0,
    ) -> dict[str, list[float]]:
        """Fit the model (building it first if needed); return and keep the history per epoch.

        verbose: 0 silent, 1 one progress bar for the run (`helpers.progress`), 2 a line per epoch.
        """
        if len(x_train) != len(y_train):
            raise ValueError(f"got {len(x_train)} images but {len(y_train)} labels")
        if epochs < 1:
            raise ValueError(f"expected epochs >= 1, got {epochs}")
        if self.model is None:
            self.build()
        keras.utils.set_random_seed(self.seed)
        history = self.model.fit(
            x_train,
            y_train,
            epochs=epochs,
            batch_size=batch_size,
            validation_data=validation_data,
            **progress.fit_arguments(verbose),
        )
        for key, values in history.history.items():
            self.history.setdefault(key, []).extend(float(v) for v in values)
        return self.history

    def predict(self, x: np.ndarray, batch_size: int = 500) -> np.ndarray:
        """Class probabilities, shape (images, classes)."""
        if self.model is None:
            raise RuntimeError(f"{self.name}: call build() or train() before predict()")
        return _predict(self.model, x, batch_size)

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> float:
        """Accuracy on (x, y)."""
        return metrics.accuracy(y, np.argmax(self.predict(x), axis=-1))


def predict_members(members: Sequence[Member | keras.Model], x: np.ndarray) -> np.ndarray:
    """Stack every member's probabilities on x: shape (members, images, classes)."""
    members = list(members)
    if not members:
        raise ValueError("expected at least one member, got none")
    probs = [m.predict(x) if isinstance(m, Member) else _predict(m, x) for m in members]
    return as_member_probs(np.stack(probs))
