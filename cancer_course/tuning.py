"""Hyperparameter search with keras-tuner, without fooling yourself (lesson 09).

The search space: learning rate, dropout, L2, width and augmentation strength. Every trial
trains on the training split and is scored on the **validation** split; the test split is never
seen until the one best configuration has been retrained - otherwise the test score would be
one more thing we tuned, and no longer an estimate of performance on new images.

Each search writes into a fresh folder under ``results/tuning/`` so a later run never silently
reuses the trials of an earlier one.
"""

from __future__ import annotations

import time
from pathlib import Path

import keras_tuner as kt

from . import pipeline, training


def width_choices(profile) -> list[float]:
    """Half and full of the profile's width: the search never makes the model bigger than the preset."""
    return sorted({round(profile.width / 2, 4), float(profile.width)})


class CourseHyperModel(kt.HyperModel):
    """Builds the profile's model with tuned hyperparameters and trains it on its own pipeline."""

    def __init__(self, profile, train_files, val_files, seed: int = 0, class_weight=None):
        super().__init__(name="cancer_course")
        self.profile = profile
        self.train_files = train_files
        self.val_files = val_files
        self.seed = seed
        self.class_weight = class_weight

    def build(self, hp):
        from .model import from_profile

        learning_rate = hp.Float("learning_rate", 1e-4, 3e-3, sampling="log")
        dropout = hp.Float("dropout", 0.2, 0.6, step=0.1)
        l2 = hp.Choice("l2", [0.0, 1e-5, 1e-4])
        width = hp.Choice("width", width_choices(self.profile))
        hp.Float("augmentation", 0.0, 1.5, step=0.5)  # used by fit(), recorded with the trial
        model = from_profile(self.profile, seed=self.seed, width=width, l2=l2,
                             dropout_rates=(dropout,) * len(self.profile.head_units))
        return training.compile_model(model, learning_rate=learning_rate, run_eagerly=self.profile.run_eagerly)

    def datasets(self, hp):
        size, batch = self.profile.image_size, self.profile.batch_size
        augment = pipeline.fast_augmentation(hp.get("augmentation"), seed=self.seed)
        train_ds = pipeline.from_files(*self.train_files, size, batch, shuffle=True, augment=augment, seed=self.seed)
        val_ds = pipeline.from_files(*self.val_files, size, batch)
        return train_ds, val_ds

    def fit(self, hp, model, *args, **kwargs):
        train_ds, val_ds = self.datasets(hp)
        kwargs.setdefault("verbose", 0)
        return model.fit(train_ds, validation_data=val_ds, class_weight=self.class_weight, shuffle=False, **kwargs)


def fresh_directory(results_root) -> Path:
    """A new, empty folder for one search: ``results_root/tuning/run-YYYYmmdd-HHMMSS[-n]``."""
    base = Path(results_root) / "tuning"
    stamp = time.strftime("run-%Y%m%d-%H%M%S")
    folder, n = base / stamp, 1
    while folder.exists():
        n += 1
        folder = base / f"{stamp}-{n}"
    folder.mkdir(parents=True)
    return folder


def make_tuner(hypermodel: CourseHyperModel, results_root, max_trials: int, seed: int = 0) -> kt.RandomSearch:
    """Random search over the space, scored by validation AUC, in a fresh folder."""
    folder = fresh_directory(results_root)
    return kt.RandomSearch(hypermodel, objective=kt.Objective("val_auc", direction="max"), max_trials=max_trials,
                           seed=seed, directory=str(folder), project_name="search", overwrite=True)


def trials_table(tuner):
    """One row per trial: its hyperparameters and its best validation AUC, best first."""
    import pandas as pd

    rows = []
    for trial in tuner.oracle.trials.values():
        rows.append({"trial": trial.trial_id, **trial.hyperparameters.values, "val_auc": trial.score,
                     "status": trial.status})
    table = pd.DataFrame(rows).sort_values("val_auc", ascending=False, na_position="last")
    return table.set_index("trial")
