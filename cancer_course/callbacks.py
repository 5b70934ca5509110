"""What happens around each epoch of training: the learning-rate schedule, checkpoints, stopping.

- :func:`exponential_decay`: the learning rate shrinks by ``decay_rate`` every epoch;
- :class:`AtomicCheckpoint`: the best and the last model written atomically (a temporary file,
  then a rename), with a small state file that ``--resume`` reads (:func:`read_state`);
- :class:`StopOnNonFiniteLoss`: a NaN or infinite loss stops training before it is saved;
- :func:`make_callbacks`: the list :func:`cancer_course.training.fit` uses.

Lesson 07 builds them one by one; :mod:`cancer_course.training` re-exports every name.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path

import keras


def exponential_decay(initial_learning_rate: float = 1e-3, decay_rate: float = 0.9):
    """Learning rate of epoch ``e`` (0-based): ``initial * decay_rate ** e``."""

    def schedule(epoch: int, lr: float | None = None) -> float:
        return float(initial_learning_rate * decay_rate**epoch)

    return schedule


def _atomic_save(model: keras.Model, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.stem + ".partial.keras")
    model.save(partial)
    os.replace(partial, path)  # atomic on one filesystem: the old file or the new, never half of one


def state_path(save_path: Path) -> Path:
    return Path(save_path).with_name(Path(save_path).stem + ".state.json")


def last_path(save_path: Path) -> Path:
    return Path(save_path).with_name(Path(save_path).stem + ".last.keras")


def non_finite(logs: Mapping | None, keys: tuple[str, ...] = ("loss", "val_loss")) -> str | None:
    """The first of ``keys`` whose value in ``logs`` is NaN or infinite (None when all are finite)."""
    for key in keys:
        value = (logs or {}).get(key)
        if value is not None and not math.isfinite(float(keras.ops.convert_to_numpy(value))):
            return key
    return None


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Stop training at the first batch whose loss is NaN or infinite, and remember where.

    Keras' own ``TerminateOnNaN`` stops too, but says only "Batch N: Invalid loss"; this one keeps
    the epoch, batch and value for :func:`fit`'s message. :class:`AtomicCheckpoint` saves nothing
    for that epoch, so the files of the last good epoch stay.
    """

    def __init__(self):
        super().__init__()
        self.epoch, self.where = 0, None  # where: (epoch, batch, value), 0-based

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.where is None and non_finite(logs, ("loss",)):
            self.where = (self.epoch, batch, float(keras.ops.convert_to_numpy(logs["loss"])))
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        key = non_finite(logs)
        if self.where is None and key:  # e.g. a finite training loss but a NaN validation loss
            self.where = (epoch, None, float(keras.ops.convert_to_numpy(logs[key])))
            self.model.stop_training = True


class AtomicCheckpoint(keras.callbacks.Callback):
    """Save the best model (by ``monitor``) to ``save_path`` and the latest epoch for ``--resume``.

    Both files are written to a temporary name and renamed, so an interrupted run leaves the
    previous good file in place. A small JSON beside them records the epoch and the best value.
    """

    def __init__(self, save_path, monitor: str = "val_auc", mode: str = "max", best: float | None = None,
                 learning_rate: float | None = None):
        super().__init__()
        self.learning_rate = learning_rate
        self.save_path = Path(save_path)
        self.monitor = monitor
        self.mode = mode
        self.best = best

    def _better(self, value: float) -> bool:
        if self.best is None:
            return True
        return value > self.best if self.mode == "max" else value < self.best

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            raise KeyError(f"AtomicCheckpoint monitors {self.monitor!r} but the logs only have {sorted(logs)}")
        if non_finite(logs):  # the weights are broken: keep the files of the last good epoch
            return
        if self._better(float(value)):
            self.best = float(value)
            _atomic_save(self.model, self.save_path)
        _atomic_save(self.model, last_path(self.save_path))
        state = {"epoch": epoch + 1, "monitor": self.monitor, "mode": self.mode, "best": self.best,
                 "learning_rate": self.learning_rate}
        tmp = state_path(self.save_path).with_suffix(".partial")
        tmp.write_text(json.dumps(state), encoding="utf-8")
        os.replace(tmp, state_path(self.save_path))


def make_callbacks(save_path, log_path, *, learning_rate: float = 1e-3, decay_rate: float = 0.9,
                   patience: int = 10, monitor: str = "val_auc", mode: str = "max",
                   reduce_on_plateau: bool = False, early_stopping: bool = True, tensorboard_dir=None,
                   append: bool = False, best: float | None = None) -> list:
    """The reference recipe's callbacks, in the order that makes the CSV log complete.

    ``early_stopping=True`` (the recipe) stops after ``patience`` epochs without a better
    ``monitor`` and restores the best epoch's weights; ``False`` runs every epoch and keeps the
    last weights - what an experiment's baseline needs. ``save_path=None`` writes no checkpoint
    (nothing to resume; an experiment that scores the model in memory saves that time).
    """
    callbacks = [StopOnNonFiniteLoss()]  # first: it sees a NaN before any other callback acts on it
    if reduce_on_plateau:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5,
                                                           patience=max(1, patience // 3), min_lr=1e-6))
    else:
        callbacks.append(keras.callbacks.LearningRateScheduler(exponential_decay(learning_rate, decay_rate)))
    if early_stopping:
        callbacks.append(keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, patience=patience,
                                                       restore_best_weights=True))
    if save_path is not None:
        callbacks.append(AtomicCheckpoint(save_path, monitor=monitor, mode=mode, best=best,
                                          learning_rate=learning_rate))
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    callbacks.append(keras.callbacks.CSVLogger(str(log_path), append=append))
    if tensorboard_dir:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(tensorboard_dir)))
    return callbacks


def read_state(save_path) -> dict | None:
    path = state_path(save_path)
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not a valid training state ({exc}); delete it to start afresh") from exc
