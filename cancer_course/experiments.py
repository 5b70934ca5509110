"""Controlled experiments: overfitting remedies and class-imbalance methods, side by side (lesson 08).

Every configuration trains the same model preset on the same files with the same seed and the
same epoch budget; only the knobs it names change. The result is a tidy table - validation AUC,
PR-AUC, recall at a fixed specificity, train-validation gap, best epoch, time - and a plot of the
gaps. Whatever the numbers are, they are reported as measured.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import pipeline, training


@dataclass(frozen=True)
class Config:
    """One experiment: the knobs that differ from the baseline."""

    name: str
    augmentation: float = 0.0  # strength of the reference augmentation (0 = off)
    dropout: float | None = None  # one rate for every head layer (None = the model's own)
    l2: float = 0.0  # L2 weight decay on every kernel
    label_smoothing: float = 0.0
    reduce_on_plateau: bool = False  # instead of the fixed exponential decay
    early_stopping: bool = False  # with patience 3 (False = run the whole budget)
    imbalance: str = "none"  # "none" | "class_weights" | "oversample" | "focal"
    extra: dict = field(default_factory=dict)


REMEDIES = [
    Config("baseline"),
    Config("augmentation", augmentation=1.0),
    Config("dropout 0.6", dropout=0.6),
    Config("L2 1e-4", l2=1e-4),
    Config("label smoothing 0.1", label_smoothing=0.1),
    Config("early stopping + plateau", early_stopping=True, reduce_on_plateau=True),
    Config("all together", augmentation=1.0, dropout=0.6, l2=1e-4, label_smoothing=0.1, early_stopping=True,
           reduce_on_plateau=True),
]

IMBALANCE_METHODS = [
    Config("no correction"),
    Config("class weights", imbalance="class_weights"),
    Config("oversampling", imbalance="oversample"),
    Config("focal loss", imbalance="focal"),
]

IMBALANCES = ("none", "class_weights", "oversample", "focal")


# ---------------------------------------------------------------- data helpers
def subsample(paths, labels, n: int, malignant_fraction: float | None = None, seed: int = 0):
    """A smaller (and optionally imbalanced) training split: the symptom, made on purpose."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    if malignant_fraction is None:
        chosen = rng.choice(len(labels), size=min(n, len(labels)), replace=False)
    else:
        n_mal = max(1, round(n * malignant_fraction))
        mal, ben = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
        if n_mal > len(mal) or n - n_mal > len(ben):
            raise ValueError(f"Cannot take {n_mal} malignant and {n - n_mal} benign images from "
                             f"{len(mal)} malignant and {len(ben)} benign")
        chosen = np.concatenate([rng.choice(mal, n_mal, replace=False), rng.choice(ben, n - n_mal, replace=False)])
    chosen = np.sort(chosen)
    return [paths[i] for i in chosen], [int(labels[i]) for i in chosen]


def oversampled(paths, labels, image_size: int, batch_size: int, *, output: str = "softmax",
                augment=None, seed: int | None = 0):
    """Balanced batches from an imbalanced split: draw each class with probability 1/2.

    ``tf.data.Dataset.sample_from_datasets`` over one endless dataset per class; an "epoch" is
    as many batches as the original split has. Rare images are seen more often - re-drawn, not
    copied on disk.
    """
    import tensorflow as tf

    from .data import decode_image

    labels = np.asarray(labels)
    per_class = []
    for label in (0, 1):
        idx = np.flatnonzero(labels == label)
        if len(idx) == 0:
            raise ValueError(f"Cannot oversample: no images of class {label}")
        files = tf.data.Dataset.from_tensor_slices(([str(paths[i]) for i in idx], labels[idx].astype("int32")))
        files = files.map(lambda p, y: (decode_image(p, image_size), y)).cache()
        per_class.append(files.shuffle(len(idx), seed=seed).repeat())
    ds = tf.data.Dataset.sample_from_datasets(per_class, weights=[0.5, 0.5], seed=seed)
    ds = ds.batch(batch_size).take(pipeline.steps_per_epoch(len(labels), batch_size))
    if augment is not None and augment.layers:
        ds = ds.map(lambda x, y: (augment(x, training=True), y))
    ds = ds.map(lambda x, y: (x, pipeline.encode_labels(y, output)))
    return ds.prefetch(tf.data.AUTOTUNE)


# ---------------------------------------------------------------- metrics
def recall_at_specificity(y_true, p, specificity: float = 0.9) -> float:
    """Recall (sensitivity) at the lowest threshold whose specificity is still >= `specificity`.

    The course's one rule: malignant when p >= threshold. The threshold is the smallest number
    above the k-th lowest benign score (k = ceil(specificity * n_benign)), so those k benign
    images fall below it."""
    y_true, p = np.asarray(y_true), np.asarray(p)
    negatives = np.sort(p[y_true == 0])
    if len(negatives) == 0 or not (y_true == 1).any():
        raise ValueError("recall at a fixed specificity needs both classes in the split")
    k = int(np.ceil(specificity * len(negatives))) - 1  # this many negatives must lie below the threshold
    threshold = negatives[min(max(k, 0), len(negatives) - 1)]
    threshold = np.nextafter(threshold, np.inf)  # just above the k-th benign score: p >= threshold
    return float(np.mean(p[y_true == 1] >= threshold))


def _scores(model, val_ds, y_val) -> dict:
    from sklearn.metrics import average_precision_score, roc_auc_score

    out = np.asarray(model.predict(val_ds, verbose=0))
    p = out[:, 1] if out.shape[-1] == 2 else out[:, 0]
    return {"val_auc": float(roc_auc_score(y_val, p)), "val_pr_auc": float(average_precision_score(y_val, p)),
            "recall_at_90_specificity": recall_at_specificity(y_val, p, 0.9)}


# ---------------------------------------------------------------- running
def run_config(config: Config, train_files, val_files, profile, *, epochs: int, seed: int = 0,
               out_dir=None, verbose: int = 0) -> dict:
    """Train one configuration and return its row of the table."""
    import tempfile

    from .model import from_profile

    if config.imbalance not in IMBALANCES:
        raise ValueError(f"imbalance must be one of {IMBALANCES}, got {config.imbalance!r}")
    size, batch = profile.image_size, profile.batch_size
    paths, labels = train_files
    training.set_seed(seed)
    augment = pipeline.fast_augmentation(config.augmentation, seed=seed) if config.augmentation else None
    if config.imbalance == "oversample":
        train_ds = oversampled(paths, labels, size, batch, augment=augment, seed=seed)
    else:
        train_ds = pipeline.from_files(paths, labels, size, batch, shuffle=True, augment=augment, seed=seed)
    val_ds = pipeline.from_files(*val_files, size, batch)
    overrides = {"l2": config.l2}
    if config.dropout is not None:
        overrides["dropout_rates"] = (config.dropout,) * len(profile.head_units)
    model = from_profile(profile, seed=seed, **overrides)
    training.compile_model(model, label_smoothing=config.label_smoothing, focal=config.imbalance == "focal")
    class_weight = training.balanced_class_weights(labels) if config.imbalance == "class_weights" else None
    folder = Path(out_dir) / config.name.replace(" ", "_") if out_dir else Path(tempfile.mkdtemp())
    start = time.perf_counter()
    model, history = training.fit(model, train_ds, val_ds, epochs=epochs, class_weight=class_weight,
                                  save_path=folder / "best.keras", log_path=folder / "log.csv",
                                  patience=3 if config.early_stopping else epochs + 1,
                                  reduce_on_plateau=config.reduce_on_plateau, verbose=verbose)
    seconds = time.perf_counter() - start
    h = history.history
    best = int(np.argmax(h["val_auc"]))
    row = {"config": config.name, **_scores(model, val_ds, val_files[1]),
           "train_accuracy": h["accuracy"][best], "val_accuracy": h["val_accuracy"][best],
           "gap": h["accuracy"][best] - h["val_accuracy"][best], "best_epoch": best + 1,
           "epochs_run": len(h["loss"]), "seconds": round(seconds, 1)}
    row["knobs"] = {k: v for k, v in asdict(config).items() if k not in ("name", "extra") and v != getattr(
        Config("_"), k)}
    return row


def run_experiments(configs, train_files, val_files, profile, *, epochs: int, seed: int = 0, out_dir=None,
                    echo=print) -> list[dict]:
    """Train every configuration with the same data, seed and budget; return the rows."""
    rows = []
    for i, config in enumerate(configs, 1):
        echo(f"[{i}/{len(configs)}] {config.name} ...")
        row = run_config(config, train_files, val_files, profile, epochs=epochs, seed=seed, out_dir=out_dir)
        echo(f"    val AUC {row['val_auc']:.3f}  PR-AUC {row['val_pr_auc']:.3f}  gap {row['gap']:+.3f}  "
             f"({row['seconds']:.0f} s)")
        rows.append(row)
    return rows


def results_table(rows):
    """The rows as a pandas DataFrame, one line per configuration."""
    import pandas as pd

    cols = ["config", "val_auc", "val_pr_auc", "recall_at_90_specificity", "train_accuracy", "val_accuracy",
            "gap", "best_epoch", "epochs_run", "seconds"]
    return pd.DataFrame(rows)[cols].set_index("config").round(3)


def plot_gaps(rows, ax=None):
    """Bars of the train-validation accuracy gap (at the best epoch) per configuration."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 0.45 * len(rows) + 1.2))
    names = [r["config"] for r in rows]
    gaps = [r["gap"] for r in rows]
    ax.barh(names, gaps, color=["tab:red" if g > 0.05 else "tab:green" for g in gaps])
    ax.axvline(0, color="black", linewidth=0.8)
    ax.invert_yaxis()
    ax.set_xlabel("train accuracy - validation accuracy (at the best epoch)")
    ax.set_title("overfitting gap per configuration (smaller is better)")
    return ax.figure
