"""Controlled experiments: overfitting remedies and class-imbalance methods, side by side (lesson 08).

Every configuration trains the same model preset on the same files with the same epoch budget,
once per seed; only the knobs it names change. After training, the model is scored the same way
on the training images and on validation images: in inference mode (no dropout, BatchNorm's
moving averages), without augmentation and without class weights. The rows are summarised as the
mean and the standard deviation over the seeds, and a difference from the baseline counts as
larger than the seed-to-seed noise only when it is more than twice its standard error (paired
by seed: every configuration starts from the same weights for the same seed).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from . import pipeline, training


@dataclass(frozen=True)
class Variant:
    """One variant of an experiment: the knobs in which it differs from the baseline, ``Variant("baseline")``.

    Everything else (model preset, image size, batch, epochs) comes from the run's ``config.Profile``.
    """

    name: str
    augmentation: float = 0.0  # strength of the reference augmentation (0 = off)
    dropout: float | None = None  # one rate for every head layer (None = the model's own)
    l2: float = 0.0  # L2 penalty on every kernel, added to the loss (not AdamW's decoupled decay)
    head_units: tuple[int, ...] | None = None  # the dense head's hidden layers (None = the profile's)
    label_smoothing: float = 0.0
    reduce_on_plateau: bool = False  # instead of the fixed exponential decay
    early_stopping: bool = False  # patience 3, restore the best epoch's weights (False = last epoch)
    imbalance: str = "none"  # "none" | "class_weights" | "oversample" | "focal"


REMEDIES = [
    Variant("baseline"),
    Variant("augmentation", augmentation=1.0),
    Variant("dropout 0.6", dropout=0.6),
    Variant("L2 1e-4", l2=1e-4),
    Variant("smaller head", head_units=(32,)),
    Variant("early stopping + plateau", early_stopping=True, reduce_on_plateau=True),
]

IMBALANCE_METHODS = [
    Variant("no correction"),  # the baseline: lesson 08 reuses its runs
    Variant("class weights", imbalance="class_weights"),
    Variant("oversampling", imbalance="oversample"),
    Variant("focal loss", imbalance="focal"),
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


def scores(y, p, prefix: str = "") -> dict:
    """Prevalence-free ranking and the operating point at 0.5 of p(malignant), one split.

    ``auc`` ranks (it ignores the threshold and the class balance); ``balanced_accuracy``,
    ``accuracy``, ``sensitivity`` and ``specificity`` are read at p >= 0.5; ``mean_p`` is the average predicted
    p(malignant), to compare with ``prevalence``; ``ece`` measures calibration (0 = calibrated).
    """
    from .diagnosis import auc, balanced_accuracy
    from .evaluation import confusion_at, expected_calibration_error

    y, p = np.asarray(y), np.asarray(p, dtype=np.float64)
    at_half = confusion_at(y, p, 0.5)
    out = {"auc": auc(y, p), "balanced_accuracy": balanced_accuracy(y, p), "accuracy": at_half["accuracy"],
           "sensitivity": at_half["sensitivity"],
           "specificity": at_half["specificity"], "mean_p": float(p.mean()), "prevalence": float(y.mean()),
           "ece": expected_calibration_error(y, p), "recall_at_90_specificity": recall_at_specificity(y, p, 0.9)}
    return {prefix + k: v for k, v in out.items()}


def inference_scores(model, images, labels, prefix: str = "") -> dict:
    """:func:`scores` of a model on an array of images, predicted in inference mode.

    Give it the *unaugmented* images (:func:`images_of`): then dropout is off, BatchNorm uses its
    moving averages and nothing is weighted - the same for every split.
    """
    from .evaluation import _probabilities

    return scores(labels, _probabilities(model, images), prefix)


def images_of(paths, image_size: int) -> np.ndarray:
    """The decoded images of `paths` as one array (N, size, size, 3) in [0, 1], in order, unaugmented."""
    ds = pipeline.from_files(paths, [0] * len(paths), image_size, 64, cache=False)
    return np.concatenate([x.numpy() for x, _ in ds])


# ---------------------------------------------------------------- running
def _build(config: Variant, profile, seed: int):
    """The profile's model with the configuration's head, dropout and L2 (initial weights from `seed`)."""
    from .model import from_profile

    head = tuple(config.head_units or profile.head_units)
    overrides = {"l2": config.l2, "head_units": head}
    if config.dropout is not None or config.head_units is not None:
        default = (0.5, 0.4, 0.3, 0.3, 0.3, 0.3)[: len(head)]
        overrides["dropout_rates"] = (config.dropout,) * len(head) if config.dropout is not None else default
    return from_profile(profile, seed=seed, **overrides)


def _restart(model, fresh, learning_rate: float) -> None:
    """Give a compiled model `fresh`'s initial state (weights, BatchNorm averages, dropout seeds) and a
    new optimizer state, keeping its traced training step: tracing it costs ~10 s per run on 2 cores."""
    for target, source in zip(model.variables, fresh.variables, strict=True):
        target.assign(source.value)
    for target, source in zip(model.layers, fresh.layers, strict=True):
        if hasattr(source, "seed"):  # dropout: its config (used by clones) names the new seed too
            target.seed = source.seed
    for variable in model.optimizer.variables:  # step count, Adam's moments
        variable.assign(np.zeros(variable.shape, variable.dtype))
    model.optimizer.learning_rate = learning_rate


def run_config(config: Variant, train_files, val_files, profile, *, epochs: int, seeds=(0,),
               out_dir=None, verbose: int = 0, echo=None) -> list[dict]:
    """Train one configuration once per seed; return one row per seed: train and validation scores.

    The seed sets the initial weights, the batch order, dropout and augmentation; the images are
    the same for every seed. Only the rows that watch validation during training (early
    stopping, ReduceLROnPlateau) see it before the end. Afterwards every run is scored the same
    way: BatchNorm's moving averages re-estimated on the training images (after a few hundred
    steps they still remember their starting values; lesson 07), then inference mode on
    unaugmented, unweighted training and validation images.
    """
    import tempfile

    from .diagnosis import recalibrate_batchnorm

    if config.imbalance not in IMBALANCES:
        raise ValueError(f"imbalance must be one of {IMBALANCES}, got {config.imbalance!r}")
    size, batch = profile.image_size, profile.batch_size
    paths, labels = train_files
    learning_rate = 1e-3
    x_train, x_val = images_of(paths, size), images_of(val_files[0], size)  # unaugmented, in order
    val_ds = pipeline.from_files(*val_files, size, batch)  # for the callbacks that watch validation
    class_weight = training.balanced_class_weights(labels) if config.imbalance == "class_weights" else None
    watches_validation = config.early_stopping or config.reduce_on_plateau
    folder = Path(out_dir) / config.name.replace(" ", "_") if out_dir else Path(tempfile.mkdtemp())
    model, rows = None, []
    for seed in seeds:
        training.set_seed(seed)
        augment = pipeline.fast_augmentation(config.augmentation, seed=seed) if config.augmentation else None
        if config.imbalance == "oversample":
            train_ds = oversampled(paths, labels, size, batch, augment=augment, seed=seed)
        else:
            train_ds = pipeline.from_files(paths, labels, size, batch, shuffle=True, augment=augment, seed=seed)
        fresh = _build(config, profile, seed)
        if model is None:  # the first seed: compile, and create Adam's moments outside the traced step
            model = fresh
            training.compile_model(model, learning_rate, label_smoothing=config.label_smoothing,
                                   focal=config.imbalance == "focal", run_eagerly=profile.run_eagerly)
            model.optimizer.build(model.trainable_variables)
        else:
            _restart(model, fresh, learning_rate)
        start = time.perf_counter()
        model, history = training.fit(model, train_ds, val_ds if watches_validation else None, epochs=epochs,
                                      class_weight=class_weight, save_path=None,
                                      log_path=folder / f"log_seed{seed}.csv", learning_rate=learning_rate,
                                      patience=3, early_stopping=config.early_stopping,
                                      reduce_on_plateau=config.reduce_on_plateau, verbose=verbose)
        seconds = time.perf_counter() - start
        h = history.history
        kept = int(np.argmax(h["val_auc"])) + 1 if config.early_stopping else len(h["loss"])  # the weights scored
        as_trained = inference_scores(model, x_val, val_files[1])["auc"]
        model.set_weights(recalibrate_batchnorm(model, x_train, batch_size=256).get_weights())
        row = {"config": config.name, "seed": int(seed), **inference_scores(model, x_train, labels, "train_"),
               **inference_scores(model, x_val, val_files[1], "val_"), "val_auc_moving_bn": as_trained,
               "keras_train_accuracy": float(h["accuracy"][kept - 1]), "epoch_kept": kept,
               "epochs_run": len(h["loss"]), "seconds": round(time.perf_counter() - start, 1),
               "fit_seconds": round(seconds, 1)}
        row["auc_gap"] = row["train_auc"] - row["val_auc"]
        row["knobs"] = {k: v for k, v in asdict(config).items() if k != "name" and v != getattr(
            Variant("_"), k)}
        if echo:
            echo(f"    {config.name:<26} seed {seed}: val AUC {row['val_auc']:.3f}  train AUC {row['train_auc']:.3f}"
                 f"  ({row['seconds']:.0f} s)")
        rows.append(row)
    return rows


def run_experiments(configs, train_files, val_files, profile, *, epochs: int, seeds=(0,), out_dir=None,
                    echo=print) -> list[dict]:
    """Train every configuration once per seed with the same data and budget; one row per run."""
    rows = []
    for i, config in enumerate(configs, 1):
        echo(f"[{i}/{len(configs)}] {config.name} ...")
        rows += run_config(config, train_files, val_files, profile, epochs=epochs, seeds=seeds, out_dir=out_dir,
                           echo=echo)
    return rows


# ---------------------------------------------------------------- over seeds
def seed_summary(rows, metric: str) -> dict[str, dict]:
    """Per configuration (in the rows' order): the values over seeds, their mean, SD (n - 1) and n."""
    out: dict[str, dict] = {}
    for row in rows:
        out.setdefault(row["config"], {"values": []})["values"].append(float(row[metric]))
    for entry in out.values():
        v = np.asarray(entry["values"])
        entry.update(mean=float(v.mean()), sd=float(v.std(ddof=1)) if len(v) > 1 else float("nan"), n=len(v))
    return out


def noise_verdict(values, baseline_values, paired: bool = False) -> dict:
    """Is the difference of two rows' means larger than the seed-to-seed noise?

    Unpaired: ``se = sqrt(sd_a^2 / n_a + sd_b^2 / n_b)`` (sample SDs over seeds). Paired (the
    i-th value of each row comes from the same seed, so the same starting weights and batch
    order): ``se = sd(a_i - b_i) / sqrt(n)`` - a lucky seed that lifts both rows then cancels.
    More than 2 standard errors: "larger than seed noise"; 1 to 2: "weak: more seeds needed";
    under 1: "not distinguishable from seed noise". With one seed there is no estimate of the noise.
    """
    a, b = np.asarray(values, dtype=float), np.asarray(baseline_values, dtype=float)
    if paired and a.shape != b.shape:
        raise ValueError(f"A paired comparison needs one value per seed on both sides; got {a.size} and {b.size}")
    diff = float(a.mean() - b.mean())
    if len(a) < 2 or len(b) < 2:
        return {"difference": diff, "se": float("nan"), "ratio": float("nan"),
                "verdict": "one seed: no estimate of the noise"}
    if paired:
        se = float((a - b).std(ddof=1) / np.sqrt(len(a)))
    else:
        se = float(np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)))
    ratio = abs(diff) / se if se > 0 else (float("inf") if diff else 0.0)
    verdict = ("larger than seed noise" if ratio > 2 else "weak: more seeds needed" if ratio >= 1
               else "not distinguishable from seed noise")
    return {"difference": diff, "se": se, "ratio": ratio, "verdict": verdict}


def compare_to_baseline(rows, metric: str = "val_auc", baseline: str = "baseline", paired: bool = True) -> list[dict]:
    """:func:`noise_verdict` of every other configuration against the baseline, on one metric.

    ``paired=True`` matches the runs by seed (each configuration must have run the baseline's seeds).
    """
    by_config: dict[str, dict[int, float]] = {}
    for row in rows:
        by_config.setdefault(row["config"], {})[row["seed"]] = float(row[metric])
    if baseline not in by_config:
        raise ValueError(f"No rows named {baseline!r}; the configurations are {list(by_config)}")
    seeds = sorted(by_config[baseline])
    out = []
    for name, values in by_config.items():
        if name == baseline:
            continue
        if paired and sorted(values) != seeds:
            raise ValueError(f"{name!r} ran seeds {sorted(values)} but {baseline!r} ran {seeds}: a paired "
                             "comparison needs the same seeds (or pass paired=False)")
        mine = [values[s] for s in seeds] if paired else list(values.values())
        out.append({"config": name, "metric": metric, **noise_verdict(mine, [by_config[baseline][s] for s in seeds],
                                                                     paired=paired)})
    return out


TABLE_COLUMNS = ("val_auc", "train_auc", "auc_gap", "val_balanced_accuracy", "keras_train_accuracy",
                 "train_accuracy")


def results_table(rows, columns=TABLE_COLUMNS, digits: int = 3):
    """One line per configuration: each column as "mean ± SD" over the seeds, and the seeds' count."""
    import pandas as pd

    table = {}
    for column in columns:
        summary = seed_summary(rows, column)
        table[column] = {name: (f"{e['mean']:.{digits}f}" if e["n"] == 1 else
                                f"{e['mean']:.{digits}f} ± {e['sd']:.{digits}f}") for name, e in summary.items()}
    frame = pd.DataFrame(table)
    frame.insert(0, "seeds", [e["n"] for e in seed_summary(rows, columns[0]).values()])
    frame.index.name = "config"
    return frame


def plot_comparison(rows, metrics=("val_auc", "auc_gap"), baseline: str = "baseline"):
    """One panel per metric: every seed as a dot, the mean as a bar, the baseline's mean as a line."""
    import matplotlib.pyplot as plt

    labels = {"val_auc": "validation AUC", "auc_gap": "train AUC - validation AUC",
              "val_balanced_accuracy": "validation balanced accuracy", "val_mean_p": "mean p(malignant), validation",
              "val_ece": "calibration error (ECE), validation", "val_sensitivity": "sensitivity at p >= 0.5, validation",
              "val_specificity": "specificity at p >= 0.5, validation"}
    first = seed_summary(rows, metrics[0])
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 0.45 * len(first) + 1.6), sharey=True)
    for ax, metric in zip(np.atleast_1d(axes), metrics):
        summary = seed_summary(rows, metric)
        names = list(summary)
        y = np.arange(len(names))
        ax.barh(y, [summary[n]["mean"] for n in names], color="tab:blue", alpha=0.35, label="mean over seeds")
        for i, name in enumerate(names):
            ax.plot(summary[name]["values"], [i] * summary[name]["n"], "o", color="tab:blue", markersize=4,
                    label="one seed" if i == 0 else None)
        if baseline in summary:
            ax.axvline(summary[baseline]["mean"], color="black", linestyle="--", linewidth=1, label="baseline mean")
        ax.set_yticks(y, names)
        ax.set_xlabel(labels.get(metric, metric))
        ax.set_title(labels.get(metric, metric))
    axes = np.atleast_1d(axes)
    axes[0].invert_yaxis()
    axes[0].set_ylabel("configuration")
    axes[-1].legend(loc="lower right", fontsize=8)
    fig.suptitle("every configuration, every seed (inference mode, unaugmented images)")
    fig.tight_layout()
    return fig
