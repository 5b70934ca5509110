"""Lesson 12's checks' fixtures: small models (one with a layer whose state only a saved file keeps, one
with a Lambda, one that scores brightness) and a folder of images of known brightness."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _tiny_model(seed: int = 0):
    import keras
    from keras import layers

    inputs = keras.Input((8, 8, 3))
    x = layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(inputs)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    model = keras.Model(inputs, layers.Dense(2, activation="softmax", name="output")(x), name="tiny_course_model")
    rng = np.random.default_rng(seed)
    for w in model.weights:
        value = rng.normal(0, 0.5, size=tuple(w.shape)).astype("float32")
        w.assign(np.abs(value) + 0.5 if "variance" in w.path else value)
    return model


def _stamp_class():
    """A layer whose scale travels in the .keras file but not in its config: only a model loaded from the file
    has it (an in-memory clone, even with the weights copied, has the default 1.0)."""
    import keras

    global _STAMP
    if _STAMP is None:
        @keras.saving.register_keras_serializable(package="cancer_course_checks")
        class CheckStamp(keras.layers.Layer):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.scale = 1.0

            def call(self, x):
                return x * self.scale

            def save_own_variables(self, store):
                store["scale"] = np.array(self.scale, "float32")

            def load_own_variables(self, store):
                self.scale = float(np.asarray(store["scale"]))

        _STAMP = CheckStamp
    return _STAMP


_STAMP = None
STAMP_SCALE = 1.375


def _stamped_model():
    import keras
    from keras import layers

    inputs = keras.Input((8, 8, 3))
    stamp = _stamp_class()(name="stamp")
    stamp.scale = STAMP_SCALE
    x = layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(stamp(inputs))
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(inputs, layers.Dense(2, activation="softmax", name="output")(x), name="stamped")


def _lambda_model():
    import keras
    from keras import layers

    inputs = keras.Input((8, 8, 3))
    x = layers.Lambda(lambda t: t * 2.0, name="double")(inputs)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(2, activation="softmax")(x), name="with_lambda")
def _write_images(folder: Path) -> dict[str, float]:
    """Images of known brightness (and a broken file, and a non-image); returns the grey level of each image."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    levels = {"a_dark.png": 0.15, "b_bright.jpg": 0.85, "d_middle.png": 0.58, "e_light.png": 0.65,
              "f_scanner.PNG": 0.72}  # scanners often write upper-case extensions
    for name, level in levels.items():
        Image.fromarray(np.full((8, 8, 3), round(level * 255), np.uint8)).save(folder / name, quality=100)
    (folder / "c_broken.png").write_bytes(b"this is not a PNG")
    (folder / "notes.txt").write_text("not an image", encoding="utf-8")
    return levels


def _brightness_model():
    """p(malignant) = sigmoid(6 * mean grey - 3.4): brighter tiles score higher."""
    import keras
    from keras import layers

    inputs = keras.Input((8, 8, 3))
    x = layers.GlobalAveragePooling2D()(inputs)
    out = layers.Dense(1, activation="sigmoid", name="output")(x)
    model = keras.Model(inputs, out, name="brightness")
    model.get_layer("output").set_weights([np.full((3, 1), 2.0, "float32"), np.array([-3.4], "float32")])
    return model
