"""Lesson 11's checks' small models: the ones the last-conv-layer check looks into, and the Grad-CAM
case (a model and an image whose map has both signs)."""

from __future__ import annotations

import numpy as np

from ._keras import randomise


def _plain_model():
    import keras
    from keras import layers

    inputs = keras.Input((16, 16, 3))
    x = layers.Conv2D(4, 3, padding="same", activation="relu", name="conv_a")(inputs)
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_b")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(inputs, layers.Dense(2, activation="softmax", name="output")(x), name="plain")


def _attention_model():
    import keras
    from keras import layers

    inputs = keras.Input((16, 16, 3))
    x = layers.Conv2D(8, 3, padding="same", name="conv")(inputs)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.ReLU(name="relu")(x)
    gate = layers.Conv2D(1, 7, padding="same", activation="sigmoid", name="spatial_map")(x)
    x = layers.Multiply(name="attended")([x, gate])
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.Dense(4, activation="relu", name="hidden")(x)
    return keras.Model(inputs, layers.Dense(1, activation="sigmoid", name="output")(x), name="attention")


def _saliency_model():
    """A model whose last 4-D layer is a 1-channel map: the feature map Grad-CAM wants comes before it."""
    import keras
    from keras import layers

    inputs = keras.Input((16, 16, 3))
    x = layers.Conv2D(6, 3, padding="same", activation="relu", name="features")(inputs)
    x = layers.Conv2D(1, 1, activation="sigmoid", name="saliency")(x)
    x = layers.Flatten(name="flat")(x)
    return keras.Model(inputs, layers.Dense(2, activation="softmax", name="output")(x), name="saliency_head")
def _gradcam_case():
    """A small model with a linear malignant score, and an image whose map has both signs."""
    import keras
    from keras import layers

    from ..explain import grad_cam

    inputs = keras.Input((12, 12, 3))
    x = layers.Conv2D(4, 3, padding="same", activation="relu", name="early")(inputs)
    x = layers.Conv2D(6, 3, strides=2, padding="same", name="features")(x)
    x = layers.ReLU(name="relu")(x)  # makes the gradient differ from position to position
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    model = keras.Model(inputs, layers.Dense(1, name="score")(x), name="tiny")
    rng = np.random.default_rng(0)
    for seed in range(50):
        randomise(model, seed, scale=0.4)
        image = rng.uniform(size=(12, 12, 3)).astype("float32")
        raw = _raw_cam(model, image)
        alt = np.maximum(_raw_cam(model, image, average=False), 0)
        if raw.max() > 0 and raw.min() < -0.2 * raw.max() and alt.max() > 0:
            want = grad_cam(model, image, "features", resize=False)
            if not np.allclose(alt / alt.max(), want, atol=1e-3):
                return model, image, want
    raise RuntimeError("no suitable Grad-CAM case")  # pragma: no cover


def _raw_cam(model, image, average: bool = True):
    import keras
    import tensorflow as tf

    tap = keras.Model(model.input, [model.get_layer("features").output, model.output])
    with tf.GradientTape() as tape:
        features, score = tap(image[None], training=False)
        tape.watch(features)
        score = score[:, 0]
    grads = tape.gradient(score, features)
    if average:
        return tf.reduce_sum(features * tf.reduce_mean(grads, axis=(1, 2), keepdims=True), axis=-1)[0].numpy()
    return tf.reduce_sum(features * grads, axis=-1)[0].numpy()
