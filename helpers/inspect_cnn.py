"""Looking inside a trained CNN (chapter 05): saliency, Grad-CAM and occlusion maps.

Each takes a classifier that maps float32 images (batch, height, width, channels) to class
probabilities (a softmax), and explains one class per image:

- `saliency`: how much the class's log-probability changes per pixel (its gradient);
- `grad_cam`: which places of a conv layer's feature maps the class relies on (Grad-CAM,
  Selvaraju et al. 2017), scaled up to the image;
- `occlusion`: how much the class's probability drops when a patch of the image is blanked.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

_TINY = 1e-12  # keeps log() finite for a probability that underflowed to 0


def _batch(images) -> tf.Tensor:
    images = tf.convert_to_tensor(np.asarray(images, dtype=np.float32))
    if images.shape.rank != 4:
        raise ValueError(f"expected images (batch, height, width, channels), got {images.shape}")
    return images


def _classes(classes, n: int) -> np.ndarray:
    classes = np.asarray(classes, dtype=np.int64).reshape(-1)
    if classes.shape != (n,):
        raise ValueError(f"expected one class per image ({n}), got {classes.shape[0]}")
    return classes


def _log_prob(probs: tf.Tensor, classes: np.ndarray) -> tf.Tensor:
    """log p[class] of each image: unlike p itself, it does not flatten out near 0 or 1."""
    picked = tf.gather(probs, classes, axis=1, batch_dims=1)
    return tf.math.log(picked + _TINY)


def saliency(model, images, classes) -> np.ndarray:
    """|d log p[class] / d pixel|, the largest over channels: (batch, height, width).

    A large value marks a pixel whose small change would move the class's score most.
    """
    images = _batch(images)
    classes = _classes(classes, images.shape[0])
    with tf.GradientTape() as tape:
        tape.watch(images)
        score = _log_prob(model(images, training=False), classes)
    gradient = tape.gradient(score, images)
    return tf.reduce_max(tf.abs(gradient), axis=-1).numpy()


def grad_cam(model, images, classes, layer_name: str) -> np.ndarray:
    """Grad-CAM of layer `layer_name` for each image's class: (batch, height, width) in [0, 1].

    The gradient of log p[class] with respect to the layer's feature maps, averaged over the
    map, weighs each channel; the weighted sum of the maps, negative parts cut (ReLU), is
    resized to the image (bilinear) and divided by its largest value (all zeros stay zeros).
    """
    images = _batch(images)
    classes = _classes(classes, images.shape[0])
    layer = model.get_layer(layer_name)
    if len(layer.output.shape) != 4:
        raise ValueError(f"layer {layer_name!r} does not give feature maps: {layer.output.shape}")
    import keras

    both = keras.Model(model.inputs, [layer.output, model.outputs[0]])
    with tf.GradientTape() as tape:
        feature_maps, probs = both(images, training=False)
        score = _log_prob(probs, classes)
    gradient = tape.gradient(score, feature_maps)
    weights = tf.reduce_mean(gradient, axis=(1, 2), keepdims=True)  # one per channel
    cam = tf.nn.relu(tf.reduce_sum(weights * feature_maps, axis=-1, keepdims=True))
    cam = tf.image.resize(cam, images.shape[1:3], method="bilinear")[..., 0].numpy()
    peak = cam.max(axis=(1, 2), keepdims=True)
    return np.divide(cam, peak, out=np.zeros_like(cam), where=peak > 0)


def occlusion(
    model, image, label: int, patch: int = 6, stride: int = 2, fill: float = 0.0
) -> np.ndarray:
    """Drop of p[label] when a `patch` x `patch` square is set to `fill`: (height, width).

    The square slides over the image by `stride`; each pixel gets the mean drop of the squares
    that covered it (positive: the pixel helped the class; negative: it argued against it).
    """
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 3:
        raise ValueError(f"expected one image (height, width, channels), got {image.shape}")
    height, width = image.shape[:2]
    if not 1 <= patch <= min(height, width) or stride < 1:
        raise ValueError(f"expected 1 <= patch <= {min(height, width)} and stride >= 1")
    corners = [
        (top, left)
        for top in range(0, height - patch + 1, stride)
        for left in range(0, width - patch + 1, stride)
    ]
    covered = np.repeat(image[np.newaxis], len(corners), axis=0)
    for copy, (top, left) in zip(covered, corners, strict=True):
        copy[top : top + patch, left : left + patch] = fill
    probs = model.predict(np.concatenate([image[np.newaxis], covered]), verbose=0)
    drops = probs[0, label] - probs[1:, label]
    total, count = np.zeros((height, width)), np.zeros((height, width))
    for drop, (top, left) in zip(drops, corners, strict=True):
        total[top : top + patch, left : left + patch] += drop
        count[top : top + patch, left : left + patch] += 1
    return np.divide(total, count, out=np.zeros_like(total), where=count > 0)
