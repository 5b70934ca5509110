"""Is it overfitting? Measurements that tell the explanations of a learning curve apart (lesson 07).

A validation accuracy far below the training accuracy after a few epochs has more than one
possible cause, and each leaves its own trace:

- **memorisation** (overfitting): the model ranks training images much better than validation
  images, both measured the same way (inference mode, no augmentation, no weights) -
  :func:`ranking_gap`;
- **a prior shift**: validation has another class balance than the one the model was trained
  for, so the threshold 0.5 sits in the wrong place while the ranking (AUC) is fine -
  :func:`prior_corrected`, :func:`prevalence_matched_threshold`, :func:`balanced_accuracy`;
- **BatchNorm statistics**: after a few dozen steps the moving averages that inference uses
  (Keras momentum 0.99) have not settled, so predictions drift towards one class -
  :func:`recalibrate_batchnorm` re-estimates them and the model is scored again;
- **a mix of modalities** under one label, each with its own look, and probably its own class
  balance (the original does not report it): the model can learn the modality -
  :func:`group_metrics`, the AUC within each modality, and :func:`modality_only_auc`.

:func:`score_set` gives the AUCs (pooled and within each modality), accuracy minus the majority
rate and balanced accuracy a 95% bootstrap interval (:func:`paired_bootstrap`; tiles resampled
within each class, one trained model); :func:`diagnose` does the same for the training AUC. The
shares called malignant, :func:`modality_only_auc` and :func:`group_metrics`' rows are plain
values. The intervals resample tiles, not patients: tiles of one patient are alike, so they are
too narrow where a set holds several tiles per patient. The rules that read :func:`diagnose`'s
results and the sentences of the lesson's :func:`verdict` are :mod:`cancer_course.verdict`
(re-exported here). Research and education only: not for clinical use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .evaluation import _as_arrays, _auc_rows
from .verdict import (  # noqa: F401 - the verdict's rules, re-exported for lesson 07
    COLLAPSED,
    MARGIN,
    collapsed,
    has_symptom,
    is_fix,
    memorisation,
    verdict,
    within_modality,
)

__all__ = [
    "accuracy",
    "balanced_accuracy",
    "batchnorm_layers",
    "collapsed",
    "diagnose",
    "has_symptom",
    "is_fix",
    "memorisation",
    "within_modality",
    "group_metrics",
    "majority_rate",
    "modality_only_auc",
    "paired_bootstrap",
    "predict_probabilities",
    "prevalence_matched_threshold",
    "prior_corrected",
    "ranking_gap",
    "recalibrate_batchnorm",
    "score_set",
    "verdict",
]


# ---------------------------------------------------------------- simple scores
def auc(y, p) -> float:
    """ROC AUC (the Mann-Whitney statistic, ties count one half)."""
    y, p = _as_arrays(y, p)
    return float(_auc_rows(p[None], y[None])[0])


def accuracy(y, p, threshold: float = 0.5) -> float:
    """Share of images on the right side of `threshold` (malignant when p >= threshold)."""
    y, p = _as_arrays(y, p)
    return float(np.mean((p >= threshold) == (y == 1)))


def balanced_accuracy(y, p, threshold: float = 0.5) -> float:
    """Mean of sensitivity and specificity: what accuracy would be at a 50/50 class balance."""
    y, p = _as_arrays(y, p)
    hit = (p >= threshold) == (y == 1)
    return float((hit[y == 1].mean() + hit[y == 0].mean()) / 2)


def majority_rate(y) -> float:
    """Accuracy of always guessing the split's most common class: the score to beat."""
    y = np.asarray(y)
    return float(max(y.mean(), 1 - y.mean()))


# ---------------------------------------------------------------- prior shift
def prior_corrected(p, train_prevalence: float, target_prevalence: float) -> np.ndarray:
    """Move probabilities made for one class balance to another (Bayes' rule on the odds).

    A model trained where a share `train_prevalence` is malignant (0.5 with balanced class
    weights) outputs p; where the share is `target_prevalence`, the same image has
    odds' = odds * [target / (1 - target)] / [train / (1 - train)]. The ranking does not change.
    """
    for name, value in (("train_prevalence", train_prevalence), ("target_prevalence", target_prevalence)):
        if not 0 < value < 1:
            raise ValueError(f"{name} must lie strictly between 0 and 1, got {value}.")
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-7, 1 - 1e-7)
    shift = np.log(target_prevalence / (1 - target_prevalence)) - np.log(train_prevalence / (1 - train_prevalence))
    return 1 / (1 + np.exp(-(np.log(p / (1 - p)) + shift)))


def prevalence_matched_threshold(p, prevalence: float) -> float:
    """The threshold that calls at least a share `prevalence` of the images malignant (p >= threshold;
    more when values tie, as they do for a model that gives many images the same output).

    It needs only the class balance, not the labels of the images: the operating point a prior
    shift would have chosen if the model's ranking is right."""
    p = np.sort(np.asarray(p, dtype=np.float64))
    if not 0 <= prevalence <= 1 or p.size == 0:
        raise ValueError(f"prevalence must lie in [0, 1] and p must not be empty; got {prevalence} and {p.size} values.")
    k = int(round((1 - prevalence) * p.size))  # this many images fall below the threshold
    return float(np.inf) if k >= p.size else float(p[k])


# ---------------------------------------------------------------- batch normalisation
def batchnorm_layers(model) -> list:
    """Every BatchNormalization layer of a (flat, functional) Keras model."""
    import keras

    return [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]


def _batches(images_or_dataset, batch_size: int):
    if isinstance(images_or_dataset, np.ndarray):
        for start in range(0, len(images_or_dataset), batch_size):
            yield images_or_dataset[start:start + batch_size]
    else:  # a tf.data.Dataset of (images, labels) batches
        for batch in images_or_dataset:
            yield batch[0] if isinstance(batch, tuple | list) else batch


def recalibrate_batchnorm(model, images_or_dataset, batch_size: int = 64):
    """A copy of `model` whose BatchNorm moving averages are re-estimated on the given images.

    During training each BN layer keeps ``moving = 0.99 * moving + 0.01 * batch``: after n steps
    its starting value (mean 0, variance 1) still weighs 0.99^n (37% after 100 steps), and
    inference uses those averages. Here every batch is passed once in training mode with the
    momentum set so that the average is the plain mean over the batches (batch k gets weight
    1/(k+1)). The weights are not changed; `model` itself is left as it was. Dropout is on during
    these passes, as it was when the averages were first made in training (PyTorch's ``update_bn``
    does the same). Pass training images without augmentation, and the re-estimate also removes the
    gap between the statistics of augmented and clean images: two causes at once.
    """
    import keras

    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    layers = batchnorm_layers(copy)
    if not layers:
        raise ValueError(f"Model {model.name!r} has no BatchNormalization layer: nothing to recalibrate.")
    seen = 0
    for images in _batches(images_or_dataset, batch_size):
        for layer in layers:
            layer.momentum = seen / (seen + 1)  # 0 for the first batch: forget the old average
        copy(images, training=True)
        seen += 1
    for layer, original in zip(layers, batchnorm_layers(model)):
        layer.momentum = original.momentum
    if seen == 0:
        raise ValueError("No images were given to recalibrate on: pass training images or batches.")
    return copy


def predict_probabilities(model, dataset) -> tuple[np.ndarray, np.ndarray]:
    """``(y, p_malignant)`` over a batched dataset of (images, labels), in inference mode."""
    from .evaluation import _predict_dataset

    y, p, _ = _predict_dataset(model, dataset)
    return y, p


# ---------------------------------------------------------------- memorisation
def ranking_gap(train_y, train_p, val_y, val_p) -> dict:
    """Training AUC minus validation AUC, both in inference mode: how much the model memorised."""
    a, b = auc(train_y, train_p), auc(val_y, val_p)
    return {"train_auc": a, "val_auc": b, "gap": a - b}


# ---------------------------------------------------------------- modalities
def group_metrics(y, p, groups, threshold: float = 0.5) -> list[dict]:
    """Per group (e.g. modality): images, prevalence, share called malignant, accuracy, AUC."""
    y, p = _as_arrays(y, p)
    groups = np.asarray(groups)
    if groups.shape != y.shape:
        raise ValueError(f"Found {groups.size} group names for {y.size} images: pass one per image.")
    rows = []
    for name in sorted(set(groups.tolist())):
        pick = groups == name
        yg, pg = y[pick], p[pick]
        rows.append({"group": name, "n": int(pick.sum()), "prevalence": float(yg.mean()),
                     "called_malignant": float(np.mean(pg >= threshold)), "accuracy": accuracy(yg, pg, threshold),
                     "auc": auc(yg, pg) if 0 < yg.sum() < yg.size else None})
    return rows


def modality_only_auc(train_groups, train_y, val_groups, val_y) -> float:
    """AUC of a 'model' that knows only the modality: it scores each image with the share of
    malignant images its modality had in training. Above 0.5, the modality alone predicts the label."""
    train_groups, train_y = np.asarray(train_groups), np.asarray(train_y)
    share = {g: float(train_y[train_groups == g].mean()) for g in set(train_groups.tolist())}
    fallback = float(train_y.mean())
    return auc(val_y, np.array([share.get(g, fallback) for g in np.asarray(val_groups).tolist()]))


# ---------------------------------------------------------------- uncertainty
def paired_bootstrap(statistic: Callable[..., float], arrays: Sequence, n_boot: int = 1000, seed: int = 0,
                     level: float = 0.95, strata=None) -> dict:
    """Point value and percentile interval of ``statistic(*arrays)``, resampling images together.

    All `arrays` (one value per image: labels, two models' probabilities, groups, ...) are
    resampled with the same indices, so a difference between two scores of the same images keeps
    its pairing. With `strata` (e.g. the labels) each stratum is resampled within itself.
    """
    arrays = [np.asarray(a) for a in arrays]
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError(f"paired_bootstrap needs one value per image in every array, got {[len(a) for a in arrays]}.")
    rng = np.random.default_rng(seed)
    parts = [np.arange(n)] if strata is None else [np.flatnonzero(np.asarray(strata) == s) for s in np.unique(strata)]
    values = []
    for _ in range(n_boot):
        idx = np.concatenate([part[rng.integers(0, part.size, part.size)] for part in parts])
        values.append(statistic(*[a[idx] for a in arrays]))
    lo, hi = np.percentile(values, [100 * (1 - level) / 2, 100 * (1 + level) / 2])
    return {"value": float(statistic(*arrays)), "low": float(lo), "high": float(hi)}


# ---------------------------------------------------------------- all of it, for one trained model


def _operating_point(y, p, threshold, boot: dict) -> dict:
    """At one threshold: the share called malignant, accuracy minus the majority rate, balanced accuracy."""
    return {"called_malignant": float(np.mean(p >= threshold)),
            "deficit": paired_bootstrap(lambda a, b: accuracy(a, b, threshold) - majority_rate(a), [y, p], **boot),
            "balanced_accuracy": paired_bootstrap(lambda a, b: balanced_accuracy(a, b, threshold), [y, p], **boot)}


def _modalities(y, p, groups, boot: dict) -> list[dict]:
    """Per modality: its benign and malignant tiles and the model's AUC within it, with an interval
    (None where the modality holds one class only)."""
    rows = []
    for name in sorted(set(groups.tolist())):
        pick = groups == name
        yg, pg = y[pick], p[pick]
        both = 0 < yg.sum() < yg.size
        rows.append({"group": name, "benign": int((yg == 0).sum()), "malignant": int(yg.sum()),
                     "auc": paired_bootstrap(auc, [yg, pg], **{**boot, "strata": yg}) if both else None})
    return rows


def score_set(y, p, p_batchnorm, groups, train_y, train_groups, *, weighted_prevalence: float = 0.5,
              n_boot: int = 300, seed: int = 0) -> dict:
    """Every measurement of lesson 07's experiment on one validation set, with 95% intervals.

    `p` are the model's probabilities, `p_batchnorm` those after :func:`recalibrate_batchnorm`;
    `groups` the modality of each image; `train_y`/`train_groups` the training labels and
    modalities (for the modality-only predictor). `weighted_prevalence` is the class balance the
    loss saw (0.5 with balanced class weights). The intervals resample the set's images within each
    class. Four operating points are scored the same way: the model at 0.5 ("model"), the prior
    correction to the set's balance ("prior"), the threshold that calls the set's share malignant
    ("threshold"), and the re-estimated BatchNorm at 0.5 ("batchnorm", with its AUC). "modalities"
    holds the model's AUC within each modality, with intervals.
    """
    y, p = _as_arrays(y, p)
    p_batchnorm, groups = np.asarray(p_batchnorm, dtype=np.float64), np.asarray(groups)
    prevalence = float(y.mean())
    boot = dict(n_boot=n_boot, seed=seed, strata=y)
    corrected = prior_corrected(p, weighted_prevalence, prevalence)
    batchnorm = _operating_point(y, p_batchnorm, 0.5, boot)
    batchnorm["auc"] = paired_bootstrap(auc, [y, p_batchnorm], **boot)
    return {
        "n": int(y.size), "prevalence": prevalence, "majority": majority_rate(y),
        "auc": paired_bootstrap(auc, [y, p], **boot),
        "model": _operating_point(y, p, 0.5, boot),
        "prior": _operating_point(y, corrected, 0.5, boot),
        "threshold": _operating_point(y, p, prevalence_matched_threshold(p, prevalence), boot),
        "batchnorm": batchnorm,
        "groups": group_metrics(y, p, groups),
        "modalities": _modalities(y, p, groups, boot),
        "modality_only_auc": modality_only_auc(train_groups, train_y, groups, y),
    }


def diagnose(model, train_ds, train_groups, sets: dict, recalibrate_on, **options) -> dict:
    """:func:`score_set` for every validation set of one trained model, and its training AUC
    (as trained and after re-estimating BatchNorm, each with an interval).

    `train_ds` and each set's dataset are unshuffled, unaugmented batches of (images, labels);
    ``sets`` maps a name to ``(dataset, modalities)``; `recalibrate_on` are training batches for
    :func:`recalibrate_batchnorm`. `options` go to :func:`score_set`.
    """
    train_y, train_p = predict_probabilities(model, train_ds)
    fixed = recalibrate_batchnorm(model, recalibrate_on)
    _, train_p_fixed = predict_probabilities(fixed, train_ds)
    scores = {}
    for name, (dataset, groups) in sets.items():
        y, p = predict_probabilities(model, dataset)
        _, p_batchnorm = predict_probabilities(fixed, dataset)
        scores[name] = score_set(y, p, p_batchnorm, groups, train_y, train_groups, **options)
    boot = {k: options[k] for k in ("n_boot", "seed") if k in options}
    return {"train_auc": paired_bootstrap(auc, [train_y, train_p], strata=train_y, **boot),
            "train_auc_batchnorm": paired_bootstrap(auc, [train_y, train_p_fixed], strata=train_y, **boot),
            "sets": scores}
