"""Shared pieces of the real-data benchmarks (``pcam.py``, ``breastmnist.py``).

- :func:`load_arrays`: decode a split once, with the course's own decoder
  (:func:`cancer_course.data.decode_image`: RGB, resized, scaled to [0, 1]) into a NumPy array
  kept in RAM - the training loop then never touches a file again;
- :func:`array_dataset`: a shuffled, batched, augmented ``tf.data`` pipeline over those arrays;
- :class:`TimeBudget`: stops training when the time budget is spent, follows a cosine learning
  rate over the budget (or over the epochs), keeps the weights of the best validation AUC and
  saves them atomically as ``.keras``;
- :func:`auc_report`: AUC with a stratified bootstrap 95% interval (:func:`cancer_course.evaluation.bootstrap_intervals`).

Research and education only: not for clinical use.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def load_arrays(files, image_size: int, dtype: str = "uint8", batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """``(images, labels)`` of a ``[(path, label)]`` list, decoded exactly as ``cancer-course predict`` does.

    ``dtype="uint8"`` stores ``round(255 * x)`` (4x less RAM: 20,000 patches of 96x96x3 = 553 MB);
    exact when no resizing happens. ``"float32"`` keeps the resized values as they are.
    """
    import tensorflow as tf

    from cancer_course.data import decode_image

    paths = [str(p) for p, _ in files]
    labels = np.array([int(y) for _, y in files], dtype=np.int32)
    ds = tf.data.Dataset.from_tensor_slices(paths).map(lambda p: decode_image(p, image_size),
                                                       num_parallel_calls=tf.data.AUTOTUNE).batch(batch)
    out = np.empty((len(paths), image_size, image_size, 3), dtype=dtype)
    i = 0
    for images in ds:
        x = images.numpy()
        out[i:i + len(x)] = np.round(x * 255.0).astype(np.uint8) if dtype == "uint8" else x
        i += len(x)
    return out, labels


def to_float(x):
    """uint8 [0, 255] -> float32 [0, 1]; float input is passed through."""
    import tensorflow as tf

    return tf.cast(x, tf.float32) / 255.0 if x.dtype == tf.uint8 else tf.cast(x, tf.float32)


def array_dataset(images: np.ndarray, labels: np.ndarray, batch_size: int, *, augment=None, batch_augment=None,
                  shuffle: bool = False, seed: int = 0, output: str = "softmax"):  # fmt: skip
    """Batches of ``(float32 images in [0, 1], encoded labels)`` from in-memory arrays.

    ``augment`` maps one image (float, [0, 1]) to one image; ``batch_augment`` (e.g. the course's
    Keras augmentation layers) maps a whole batch.
    """
    import tensorflow as tf

    from cancer_course.pipeline import encode_labels

    ds = tf.data.Dataset.from_tensor_slices((images, labels))
    if shuffle:
        ds = ds.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(lambda x, y: (to_float(x), y), num_parallel_calls=tf.data.AUTOTUNE)
    if augment is not None:
        ds = ds.map(lambda x, y: (augment(x), y), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.batch(batch_size)
    if batch_augment is not None:
        ds = ds.map(lambda x, y: (batch_augment(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.map(lambda x, y: (x, encode_labels(y, output)), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def pathology_augment(x):
    """H&E patch augmentation: the 8 flips/rotations (a patch has no up or left) and mild stain jitter.

    No shifts or zooms: PCam's label is about the centre 32x32 pixels, which must stay the centre.
    """
    import tensorflow as tf

    x = tf.image.random_flip_left_right(x)
    x = tf.image.random_flip_up_down(x)
    x = tf.image.rot90(x, k=tf.random.uniform((), 0, 4, dtype=tf.int32))
    x = tf.image.random_brightness(x, 0.08)
    x = tf.image.random_contrast(x, 0.85, 1.15)
    x = tf.image.random_saturation(x, 0.85, 1.15)
    x = tf.image.random_hue(x, 0.03)
    return tf.clip_by_value(x, 0.0, 1.0)


def _make_time_budget():
    import keras

    class TimeBudget(keras.callbacks.Callback):
        """Stop after ``minutes`` of training, cosine learning rate, keep (and save) the best weights.

        The learning rate goes from ``learning_rate`` to ``learning_rate * final_fraction`` along a
        cosine over the time budget (``schedule="time"``) or over ``epochs`` (``"epoch"``),
        after a linear warm-up over the first ``warmup`` fraction. After every epoch the
        validation ``monitor`` is compared with the best so far; the best weights are kept in
        memory, saved to ``save_path`` (write a temporary file, then rename) and put back in the
        model when training ends - unless ``average_last`` > 0 (epoch schedule): then the model ends
        with the mean of its weights after each of the last ``average_last`` epochs (stochastic
        weight averaging along the cosine's tail; BatchNorm's moving statistics are averaged too),
        a rule fixed before training that needs no validation score, and ``best_weights`` stays
        available for comparison. ``average_fraction`` > 0 (time schedule) keeps the mean of the
        weights after each epoch that ends in the last ``average_fraction`` of the budget in
        ``averaged_weights`` without putting it in the model: the caller chooses between it and the
        best epoch on its own held-out data. The budget counts everything inside ``fit``: training
        steps and the validation passes.
        """

        def __init__(self, minutes: float | None, learning_rate: float, *, epochs: int | None = None,
                     schedule: str = "time", warmup: float = 0.03, final_fraction: float = 0.02,
                     monitor: str = "val_auc", save_path=None, verbose: bool = True,
                     average_last: int = 0, average_fraction: float = 0.0):  # fmt: skip
            super().__init__()
            if schedule not in ("time", "epoch"):
                raise ValueError("schedule must be 'time' or 'epoch'")
            if schedule == "time" and not minutes:
                raise ValueError("a time schedule needs minutes")
            if average_last and average_fraction:
                raise ValueError("average_last (a rule fixed before training) or average_fraction (a candidate), "
                                 "not both")
            self.seconds = None if minutes is None else 60.0 * float(minutes)
            self.learning_rate, self.epochs, self.schedule = learning_rate, epochs, schedule
            self.warmup, self.final_fraction = warmup, final_fraction
            self.monitor, self.save_path, self.verbose = monitor, save_path, verbose
            self.best, self.best_epoch, self.best_weights = -math.inf, None, None
            self.average_last = int(average_last)  # > 0: end with the mean weights of the last epochs
            self.average_fraction = float(average_fraction)  # > 0: also average the budget's last part
            self.averaged_weights, self.averaged_epochs = None, 0
            self.history: list[dict] = []
            self.stopped_by_budget = False
            self._epoch = 0
            self._steps = None
            self.steps_done = 0  # training steps, all epochs
            self.train_step_seconds = 0.0  # time in training steps (validation passes excluded)

        def _fraction(self, batch: int) -> float:
            if self.schedule == "time":
                return min(1.0, (time.perf_counter() - self.start) / self.seconds)
            steps = self._steps or 1
            return min(1.0, (self._epoch + batch / steps) / max(1, self.epochs))

        def _lr(self, fraction: float) -> float:
            if fraction < self.warmup:
                return self.learning_rate * max(0.05, fraction / self.warmup)
            t = (fraction - self.warmup) / max(1e-9, 1 - self.warmup)
            low = self.learning_rate * self.final_fraction
            return low + 0.5 * (self.learning_rate - low) * (1 + math.cos(math.pi * t))

        def on_train_begin(self, logs=None):
            self.start = time.perf_counter()

        def on_epoch_begin(self, epoch, logs=None):
            self._epoch = epoch
            self._epoch_start = self._last_batch_end = time.perf_counter()
            self._epoch_steps = 0

        def on_train_batch_begin(self, batch, logs=None):
            if batch % 10 == 0:
                self.model.optimizer.learning_rate.assign(self._lr(self._fraction(batch)))

        def on_train_batch_end(self, batch, logs=None):
            self._last_batch_end = time.perf_counter()
            self.steps_done += 1
            self._epoch_steps += 1
            if self._epoch == 0:
                self._steps = max(self._steps or 0, batch + 1)
            if self.seconds is not None and time.perf_counter() - self.start >= self.seconds:
                self.stopped_by_budget = True
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            logs = dict(logs or {})
            value = logs.get(self.monitor)
            train_s = self._last_batch_end - self._epoch_start
            self.train_step_seconds += train_s
            row = {"epoch": epoch + 1, "seconds": round(time.perf_counter() - self.start, 1),
                   "epoch_seconds": round(time.perf_counter() - self._epoch_start, 1),
                   "train_seconds": round(train_s, 1), "steps": self._epoch_steps,
                   "learning_rate": float(np.asarray(self.model.optimizer.learning_rate)),
                   **{k: round(float(v), 4) for k, v in logs.items() if k != "learning_rate"}}
            self.history.append(row)
            in_tail = ((self.average_last and self.epochs and epoch + 1 > self.epochs - self.average_last)
                       or (self.average_fraction and self.seconds
                           and time.perf_counter() - self.start >= (1 - self.average_fraction) * self.seconds))
            if in_tail:
                weights = self.model.get_weights()
                n = self.averaged_epochs
                self.averaged_weights = ([w.astype(np.float64) for w in weights] if n == 0 else
                                         [a + (w - a) / (n + 1) for a, w in zip(self.averaged_weights, weights)])
                self.averaged_epochs = n + 1
            improved = value is not None and float(value) > self.best
            if improved:
                self.best, self.best_epoch = float(value), epoch + 1
                self.best_weights = self.model.get_weights()
                if self.save_path:
                    from cancer_course.training import _atomic_save

                    _atomic_save(self.model, Path(self.save_path))
            if self.verbose:
                metrics = "  ".join(f"{k} {v:.4f}" for k, v in logs.items() if k in
                                    ("loss", "auc", "val_loss", "val_auc", "val_accuracy"))
                print(f"epoch {epoch + 1:>3}  {row['seconds']:>7.0f} s  lr {row['learning_rate']:.2e}  {metrics}"
                      f"{'  *best' if improved else ''}", flush=True)

        def on_train_end(self, logs=None):
            self.seconds_used = time.perf_counter() - self.start
            if self.averaged_weights is not None and self.average_last:  # fixed before training
                dtypes = [w.dtype for w in self.model.get_weights()]
                self.model.set_weights([a.astype(d) for a, d in zip(self.averaged_weights, dtypes)])
            elif self.best_weights is not None:
                self.model.set_weights(self.best_weights)

    return TimeBudget


def __getattr__(name):  # TimeBudget is built lazily so that importing this module does not import Keras
    if name == "TimeBudget":
        return _make_time_budget()
    raise AttributeError(name)


def predict_arrays(model, images: np.ndarray, batch_size: int = 256, tta: str = "none") -> np.ndarray:
    """p(malignant) for in-memory images (uint8 or float).

    ``tta="hflip"``: the mean of p over each image and its left-right mirror; ``"dihedral"``: over
    the 8 flips and quarter turns (for tissue patches, which have no up or left).
    """
    from cancer_course.inference import probability_malignant

    views = {"none": [lambda x: x], "hflip": [lambda x: x, lambda x: x[:, :, ::-1]],
             "dihedral": [lambda x, k=k, f=f: np.rot90(x[:, :, ::-1] if f else x, k, axes=(1, 2))
                          for k in range(4) for f in (False, True)]}
    if tta not in views:
        raise ValueError(f"tta must be one of {sorted(views)}, not {tta!r}")
    ps = []
    for start in range(0, len(images), batch_size):
        x = images[start:start + batch_size]
        x = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x
        ps.append(np.mean([probability_malignant(model, np.ascontiguousarray(view(x))) for view in views[tta]],
                          axis=0))
    return np.concatenate(ps)


def auc_report(y, p, n_boot: int = 2000, seed: int = 0) -> dict:
    """AUC, its stratified bootstrap 95% interval, and accuracy/sensitivity/specificity at 0.5."""
    from cancer_course.evaluation import bootstrap_intervals, confusion_at

    boot = bootstrap_intervals(y, p, threshold=0.5, n_boot=n_boot, seed=seed)
    conf = confusion_at(y, p, 0.5)
    return {"auc": round(boot["point"]["auc"], 4), "auc_ci95": [round(v, 4) for v in boot["auc"]],
            "accuracy": round(float(conf["accuracy"]), 4), "sensitivity": round(float(conf["sensitivity"]), 4),
            "specificity": round(float(conf["specificity"]), 4), "n": int(len(y)),
            "n_malignant": int(np.sum(y)), "bootstrap": f"stratified percentile, {n_boot} resamples, seed {seed}"}


def command_line(script: str, argv) -> str:
    return f"python benchmarks/{script} " + " ".join(argv if argv is not None else sys.argv[1:])


def print_machine(command: str) -> dict:
    from cancer_course.environment import machine_description

    m = machine_description()
    print(f"command : {command.strip()}\nmachine : {m['cpu']}, {m['cores']} cores, GPU: {m['gpu']}, "
          f"TensorFlow {m['tensorflow']}, Keras {m['keras']}, Python {m['python']}", flush=True)
    return m
