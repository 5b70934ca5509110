"""Input pipeline and augmentation: ``tf.data`` plus Keras preprocessing layers (lesson 06).

Keras 3 has no ``ImageDataGenerator``. The same job is done by two pieces:

- a ``tf.data`` pipeline: read and decode the files in parallel, resize, scale to [0, 1], cache
  the decoded images, shuffle, batch, and prefetch so the next batch is ready while the model
  trains on this one;
- augmentation as Keras preprocessing layers, reproducing the reference recipe (rotation +-20
  degrees, width/height shift +-20%, shear, zoom +-20%, horizontal flip, nearest fill), with one
  ``strength`` knob for the overfitting lesson.

The course's training augments inside ``tf.data`` (in parallel with training, on whole batches).
:func:`with_augmentation` puts the layers inside the model instead, an option for a GPU that the
course has not measured. :func:`tissue_augmentation` is the augmentation that fits H&E tiles
(the 8 symmetries of the square and stain jitter), taught beside the reference recipe in lesson 06.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import keras
import tensorflow as tf

from .data import scan_folder
from .errors import DataError
from .images import decode_image
from .labels import CLASS_NAMES

AUTOTUNE = tf.data.AUTOTUNE

# The reference recipe, as ImageDataGenerator arguments -> their Keras 3 layer.
REFERENCE_AUGMENTATION = {
    "rotation_range=20": "RandomRotation(20/360)  # a fraction of a full turn",
    "width_shift_range=0.2, height_shift_range=0.2": "RandomTranslation(0.2, 0.2)",
    "shear_range=0.2": "RandomShear(0.2, 0.2)",
    "zoom_range=0.2": "RandomZoom(0.2)",
    "horizontal_flip=True": 'RandomFlip("horizontal")',
    "fill_mode='nearest'": 'fill_mode="nearest" on every geometric layer',
    "rescale=1./255": "done when decoding (images are scaled to [0, 1])",
}


def augmentation_layers(strength: float = 1.0, seed: int | None = None, name: str = "augmentation") -> keras.Sequential:
    """The reference augmentation as a ``keras.Sequential`` of preprocessing layers.

    ``strength`` scales every range (0 = off, 1 = the reference, 2 = twice as strong).
    """
    if strength < 0:
        raise ValueError(f"strength must be >= 0, got {strength}")
    s = float(strength)
    fill = "nearest"
    steps = []
    if s > 0:
        steps = [
            keras.layers.RandomFlip("horizontal", seed=seed, name="flip"),
            keras.layers.RandomRotation(20 / 360 * s, fill_mode=fill, seed=seed, name="rotation"),
            keras.layers.RandomTranslation(0.2 * s, 0.2 * s, fill_mode=fill, seed=seed, name="shift"),
            keras.layers.RandomShear(x_factor=min(0.2 * s, 1.0), y_factor=min(0.2 * s, 1.0), fill_mode=fill,
                                     seed=seed, name="shear"),
            keras.layers.RandomZoom(min(0.2 * s, 0.9), fill_mode=fill, seed=seed, name="zoom"),
        ]
    return keras.Sequential(steps, name=name)


class _RandomImageLayer(keras.layers.Layer):
    """What the course's random image layers share: a seed, one image or a batch, training only.

    A subclass writes ``transform(batch)`` for a batch ``(n, h, w, c)`` and, when it has a knob
    that can switch it off, ``active()``.
    """

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)

    def active(self) -> bool:
        return True

    def transform(self, images):
        raise NotImplementedError

    def call(self, images, training=True):
        if not training or not self.active():
            return images
        if len(images.shape) == 3:  # one image
            return self.transform(keras.ops.expand_dims(images, 0))[0]
        return self.transform(images)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="cancer_course")
class RandomAffine(_RandomImageLayer):
    """The whole reference augmentation as one image warp: the fast version of :func:`augmentation_layers`.

    The five layers of :func:`augmentation_layers` resample every image four times (rotation,
    shift, shear and zoom each call ``affine_transform``). This layer draws the same random
    parameters - a horizontal flip half of the time, an angle in +-20 degrees, a shift in +-20% of
    the width and height, a shear in +-0.2 on each axis, a zoom factor in 0.8-1.2 - multiplies them
    into one matrix per image and resamples once: about a quarter of the work on a CPU, and one
    bilinear blur instead of four. ``strength`` scales every range, as in
    :func:`augmentation_layers`. Active in training only; a no-op in ``predict``.

    Args:
        strength: 0 = off, 1 = the reference recipe, 2 = twice as strong.
        seed: makes the sequence of random transforms repeatable.
    """

    def __init__(self, strength: float = 1.0, seed: int | None = None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if strength < 0:
            raise ValueError(f"strength must be >= 0, got {strength}")
        self.strength = float(strength)

    def active(self) -> bool:
        return self.strength > 0

    def random_matrices(self, batch_size, height, width):
        """One sampling matrix per image, as the 8 numbers ``keras.ops.image.affine_transform`` takes.

        The matrix maps a pixel of the output to the point of the input it is read from:
        ``input = centre + R(angle) @ Shear @ zoom * Flip @ (output - centre) + shift``.
        """
        ops, s = keras.ops, self.strength

        def uniform(limit):
            return keras.random.uniform((batch_size,), -limit, limit, seed=self.generator)

        flip = ops.where(keras.random.uniform((batch_size,), seed=self.generator) < 0.5, -1.0, 1.0)
        angle = uniform(math.radians(20.0) * s)
        shift_x, shift_y = uniform(0.2 * s) * width, uniform(0.2 * s) * height
        shear_x, shear_y = uniform(min(0.2 * s, 1.0)), uniform(min(0.2 * s, 1.0))
        zoom = 1.0 + uniform(min(0.2 * s, 0.9))
        cos, sin = ops.cos(angle), ops.sin(angle)
        # R @ [[1, shear_x], [shear_y, 1]] @ diag(zoom * flip, zoom)
        m00 = (cos - sin * shear_y) * zoom * flip
        m01 = (cos * shear_x - sin) * zoom
        m10 = (sin + cos * shear_y) * zoom * flip
        m11 = (sin * shear_x + cos) * zoom
        cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
        zeros = ops.zeros_like(angle)
        return ops.stack([m00, m01, cx - m00 * cx - m01 * cy + shift_x,
                          m10, m11, cy - m10 * cx - m11 * cy + shift_y, zeros, zeros], axis=1)

    def transform(self, images):
        ops = keras.ops
        height, width = float(images.shape[1]), float(images.shape[2])
        matrices = self.random_matrices(ops.shape(images)[0], height, width)
        return ops.image.affine_transform(images, matrices, interpolation="bilinear", fill_mode="nearest")

    def get_config(self):
        return {**super().get_config(), "strength": self.strength}


def fast_augmentation(strength: float = 1.0, seed: int | None = None, name: str = "augmentation") -> keras.Sequential:
    """The reference augmentation as one :class:`RandomAffine` layer: what training uses.

    Same recipe and the same ``strength`` knob as :func:`augmentation_layers`; one resampling
    per image instead of four (see ``benchmarks/pipeline_efficiency.py`` for what it buys).
    """
    if strength < 0:
        raise ValueError(f"strength must be >= 0, got {strength}")
    return keras.Sequential([RandomAffine(strength, seed=seed, name="affine")] if strength > 0 else [], name=name)


@keras.saving.register_keras_serializable(package="cancer_course")
class RandomDihedral(_RandomImageLayer):
    """One of the 8 flips and 90-degree turns of a square tile, drawn per image.

    A section of tissue has no "up" and no "left": each of the 8 symmetries of the square keeps
    every pixel (no interpolation, no fill) and the label. A random transpose, then a random
    horizontal and a random vertical flip, reach all 8 with equal probability. Active in
    training only.
    """

    def transform(self, images):
        ops = keras.ops
        if images.shape[1] != images.shape[2]:
            raise ValueError(f"RandomDihedral needs square tiles, got {images.shape[1]}x{images.shape[2]}.")
        n = ops.shape(images)[0]

        def coin():
            return ops.reshape(keras.random.uniform((n,), seed=self.generator) < 0.5, (-1, 1, 1, 1))

        out = ops.where(coin(), ops.transpose(images, (0, 2, 1, 3)), images)
        out = ops.where(coin(), ops.flip(out, axis=2), out)
        return ops.where(coin(), ops.flip(out, axis=1), out)


# Optical densities of haematoxylin, eosin and DAB in R, G, B (Ruifrok and Johnston, 2001): the
# colour deconvolution behind "HED" stain augmentation (Tellez et al., 2019).
HED_FROM_RGB_STAINS = ((0.650, 0.704, 0.286), (0.072, 0.990, 0.105), (0.268, 0.570, 0.776))


@keras.saving.register_keras_serializable(package="cancer_course")
class RandomStain(_RandomImageLayer):
    """Stain variation between labs: jitter the amount of each stain, per image, in HED space.

    Each pixel's optical density (``-log`` of its light) is split into haematoxylin, eosin and DAB
    amounts by colour deconvolution; each amount is scaled by ``1 + a`` and shifted by ``b``, with
    ``a`` and ``b`` drawn per image and stain in ``+-strength`` (``b`` in OD units, times 0.2);
    then the colours are put back together. The tissue's shapes do not move: only how strongly
    each stain took. Pixels stay in [0, 1]. Active in training only.
    """

    def __init__(self, strength: float = 0.05, seed: int | None = None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if strength < 0:
            raise ValueError(f"strength must be >= 0, got {strength}")
        self.strength = float(strength)

    def active(self) -> bool:
        return self.strength > 0

    def transform(self, images):
        ops = keras.ops
        stains = ops.convert_to_tensor(HED_FROM_RGB_STAINS, dtype=images.dtype)
        stains = stains / ops.sqrt(ops.sum(stains * stains, axis=1, keepdims=True))
        to_hed = ops.linalg.inv(stains)
        eps = 1e-6
        od = -ops.log(ops.clip(images, eps, 1.0))  # (n, h, w, 3)
        hed = ops.einsum("nhwc,cs->nhws", od, to_hed)
        n = ops.shape(images)[0]
        scale = 1.0 + keras.random.uniform((n, 1, 1, 3), -self.strength, self.strength, seed=self.generator)
        shift = 0.2 * keras.random.uniform((n, 1, 1, 3), -self.strength, self.strength, seed=self.generator)
        od = ops.einsum("nhws,sc->nhwc", hed * scale + shift, stains)
        return ops.clip(ops.exp(-od), 0.0, 1.0)

    def get_config(self):
        return {**super().get_config(), "strength": self.strength}


def tissue_augmentation(stain: float = 0.05, seed: int | None = None, name: str = "tissue_augmentation") -> keras.Sequential:
    """Augmentation that fits H&E tiles: the 8 symmetries of the square and stain jitter.

    Unlike the reference recipe it neither zooms (nuclear size is itself a sign of malignancy)
    nor shifts or shears (no fill at the edges, no distorted nuclei). ``stain=0`` leaves only the
    symmetries.
    """
    if stain < 0:
        raise ValueError(f"stain must be >= 0, got {stain}")
    steps = [RandomDihedral(seed=seed, name="dihedral")]
    if stain > 0:
        steps.append(RandomStain(stain, seed=None if seed is None else seed + 1, name="stain"))
    return keras.Sequential(steps, name=name)


def encode_labels(labels: tf.Tensor, output: str) -> tf.Tensor:
    """0/1 labels as the model wants them: one-hot pairs for softmax, a float column for sigmoid."""
    if output == "softmax":
        return tf.one_hot(tf.cast(labels, tf.int32), 2)
    if output == "sigmoid":
        return tf.reshape(tf.cast(labels, tf.float32), (-1, 1) if labels.shape.rank else (1,))
    raise ValueError(f"output must be 'softmax' or 'sigmoid', got {output!r}")


def from_files(paths: Sequence[str], labels: Sequence[int], image_size: int, batch_size: int | None = 32, *,
               output: str | None = "softmax", shuffle: bool = False, augment: keras.Sequential | None = None,
               cache: bool | str = True, prefetch: bool | int = True, seed: int | None = None,
               skip_unreadable: bool = False) -> tf.data.Dataset:
    """Build a batched ``tf.data.Dataset`` of ``(images, labels)`` from image files.

    Order of the steps, and why: decode in parallel -> cache (decoded once, reused every epoch)
    -> shuffle (a new order every epoch) -> batch -> augment whole batches in parallel (after the
    cache, so every epoch sees new variations) -> prefetch (overlap input and training).

    The one builder of the course: training, validation, :func:`load_splits` and evaluation all
    build on it. Validation, test and prediction use it without ``shuffle`` and ``augment``, so
    every image goes through the same decode -> resize -> scale chain. ``batch_size=None`` gives
    single images; ``output=None`` keeps the 0/1 labels as they are (int32). Prediction
    (:func:`cancer_course.inference.iter_probabilities`) passes the files' indices as labels and
    ``skip_unreadable=True``: a file the decoder refuses is left out (its index is missing) instead
    of stopping the stream. ``prefetch``: True lets tf.data choose, a number fixes the batches
    decoded ahead.
    """
    if len(paths) != len(labels):
        raise ValueError(f"Found {len(paths)} image paths but {len(labels)} labels")
    if not len(paths):
        raise ValueError("No images to build a dataset from")
    if augment is not None and augment.layers and not batch_size:
        raise ValueError("augment works on whole batches: give a batch_size")
    ds = tf.data.Dataset.from_tensor_slices((list(map(str, paths)), list(map(int, labels))))
    if shuffle and not cache:  # nothing is cached: shuffle the file names, not a buffer of decoded images
        ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(lambda p, y: (decode_image(p, image_size), y), num_parallel_calls=AUTOTUNE, deterministic=True)
    if skip_unreadable:
        ds = ds.ignore_errors()
    if cache:
        ds = ds.cache() if cache is True else ds.cache(str(cache))
    if shuffle and cache:
        ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    if batch_size:
        ds = ds.batch(batch_size)
    if augment is not None and augment.layers:
        # One call per batch: vectorised and cheap. Sequential calls keep seeded runs repeatable.
        ds = ds.map(lambda x, y: (augment(x, training=True), y),
                    num_parallel_calls=None if seed is not None else AUTOTUNE)
    if output is not None:
        ds = ds.map(lambda x, y: (x, encode_labels(y, output)), num_parallel_calls=AUTOTUNE)
    if prefetch:
        ds = ds.prefetch(AUTOTUNE if prefetch is True else int(prefetch))
    return ds


@dataclass
class Splits:
    """The splits of a dataset folder (:func:`load_splits`), with the facts a lesson prints about them.

    ``train``, ``validation`` and ``test`` are ``tf.data`` datasets of ``(image, label)``, built by
    :func:`from_files` the first time they are used (a caller that only wants :meth:`files` builds
    none); ``test`` is None when the folder has no test split.
    """

    class_names: tuple[str, str]
    counts: dict[str, dict[str, int]]  # split -> class -> images
    file_lists: dict[str, list[tuple[Path, int]]]  # split -> [(path, label)]
    image_size: int
    notes: list[str] = field(default_factory=list)
    batch_size: int | None = None
    shuffle_train: bool = True
    seed: int = 0
    _datasets: dict = field(default_factory=dict, repr=False)

    def files(self, split: str) -> tuple[list[Path], list[int]]:
        """The split's image paths and their labels (for building another pipeline on them)."""
        if split not in self.file_lists:
            raise DataError(f"this dataset has no {split!r} split (it has {', '.join(self.file_lists)}).")
        pairs = self.file_lists[split]
        return [p for p, _ in pairs], [label for _, label in pairs]

    def dataset(self, split: str) -> tf.data.Dataset:
        """The split as ``(image, label)`` pairs, labels 0/1; only ``train`` is shuffled."""
        if split not in self._datasets:
            shuffle = split == "train" and self.shuffle_train
            self._datasets[split] = from_files(*self.files(split), self.image_size, self.batch_size, output=None,
                                               shuffle=shuffle, cache=False, seed=self.seed)
        return self._datasets[split]

    @property
    def train(self) -> tf.data.Dataset:
        return self.dataset("train")

    @property
    def validation(self) -> tf.data.Dataset:
        return self.dataset("validation")

    @property
    def test(self) -> tf.data.Dataset | None:
        return self.dataset("test") if "test" in self.file_lists else None

    def summary(self) -> str:
        lines = [f"{'split':<11}{'benign':>8}{'malignant':>11}{'total':>8}"]
        for split, per in self.counts.items():
            lines.append(f"{split:<11}{per['benign']:>8}{per['malignant']:>11}{sum(per.values()):>8}")
        return "\n".join(lines + [f"note: {n}" for n in self.notes])


def load_splits(root: str | Path, image_size: int, batch_size: int | None = None, shuffle_train: bool = True,
                seed: int = 0, require_test: bool = False, verify: bool = True, verbose: bool = True) -> Splits:  # fmt: skip
    """Check `root` (:func:`cancer_course.data.scan_folder`) and give its splits as ``tf.data`` datasets.

    Images are RGB float32 in [0, 1] of shape (image_size, image_size, 3); labels are benign = 0,
    malignant = 1. Only the training set is shuffled (with `seed`). With `batch_size` the
    datasets are batched. Conversions and skipped clutter are printed when `verbose`, and kept in
    ``Splits.notes``.
    """
    scan = scan_folder(root, require_test=require_test, verify=verify)
    if verbose:
        for note in scan.notes:
            print(f"note: {note}")
    return Splits(class_names=CLASS_NAMES, counts=scan.counts, file_lists=scan.files, image_size=image_size,
                  notes=scan.notes, batch_size=batch_size, shuffle_train=shuffle_train, seed=seed)


def steps_per_epoch(n_images: int, batch_size: int) -> int:
    return math.ceil(n_images / batch_size)


def with_augmentation(model: keras.Model, augment: keras.Sequential) -> keras.Model:
    """Put augmentation inside the model (the GPU way): active in ``fit``, a no-op in ``predict``."""
    inputs = keras.Input(model.input_shape[1:], name="image")
    return keras.Model(inputs, model(augment(inputs)), name=f"{model.name}_augmented")
