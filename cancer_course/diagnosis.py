"""Is it overfitting? Measurements that tell the explanations of a learning curve apart (lesson 07).

A validation accuracy far below the training accuracy after a few epochs has more than one
possible cause, and each leaves its own trace:

- **memorisation** (overfitting): the model ranks training images much better than validation
  images, both measured the same way (inference mode, no augmentation, no weights) -
  :func:`ranking_gap`;
- **a prior shift**: validation has another class balance than the one the model was trained
  for, so the threshold 0.5 sits in the wrong place while the ranking (AUC) is fine -
  :func:`prior_corrected`, :func:`prevalence_matched_threshold`, :func:`balanced_accuracy`;
- **BatchNorm statistics**: after a few hundred steps the moving averages that inference uses
  (Keras momentum 0.99) have not settled, so predictions drift towards one class -
  :func:`recalibrate_batchnorm` re-estimates them and the model is scored again;
- **a mix of modalities** under one label, each with its own look and class balance: the model
  can learn the modality - :func:`group_metrics` and :func:`modality_only_auc`.

Every number comes with a paired bootstrap interval (:func:`paired_bootstrap`). Research and
education only: not for clinical use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .evaluation import _as_arrays, _auc_rows

__all__ = [
    "accuracy",
    "balanced_accuracy",
    "batchnorm_layers",
    "diagnose",
    "group_metrics",
    "majority_rate",
    "modality_only_auc",
    "paired_bootstrap",
    "predict_probabilities",
    "prevalence_matched_threshold",
    "prior_corrected",
    "ranking_gap",
    "recalibrate_batchnorm",
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
    """The threshold that calls a share `prevalence` of the images malignant (p >= threshold).

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
    1/(k+1)). The weights are not changed; `model` itself is left as it was.
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
    from .evaluation import _labels_from_batch, _probabilities

    ys, ps = [], []
    for images, labels in dataset:
        ps.append(_probabilities(model, images))
        ys.append(_labels_from_batch(labels))
    return np.concatenate(ys), np.concatenate(ps)


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
def _difference(statistic_a, statistic_b):
    return lambda *arrays: statistic_a(*arrays) - statistic_b(*arrays)


def diagnose(model, train_ds, val_ds, train_groups, val_groups, recalibrate_on, *,
             weighted_prevalence: float = 0.5, n_boot: int = 500, seed: int = 0) -> dict:
    """Every measurement of lesson 07's experiment for one trained model, with 95% intervals.

    `train_ds` and `val_ds` are unshuffled, unaugmented batches of (images, labels); the groups
    are the modality of each image, in the same order; `recalibrate_on` are training batches for
    :func:`recalibrate_batchnorm`. `weighted_prevalence` is the class balance the loss saw (0.5
    with balanced class weights). Intervals resample the validation images (paired: before and
    after a correction are scored on the same resampled images).
    """
    ty, tp = predict_probabilities(model, train_ds)
    vy, vp = predict_probabilities(model, val_ds)
    _, vp_bn = predict_probabilities(recalibrate_batchnorm(model, recalibrate_on), val_ds)
    prevalence = float(vy.mean())
    corrected = prior_corrected(vp, weighted_prevalence, prevalence)
    boot = dict(n_boot=n_boot, seed=seed, strata=vy)

    def matched(y, p):
        return accuracy(y, p, prevalence_matched_threshold(p, prevalence))

    def modality_auc(y, g):
        return modality_only_auc(train_groups, ty, g, y)

    vg = np.asarray(val_groups)
    return {
        "n_val": int(vy.size), "val_prevalence": prevalence, "train_prevalence": float(ty.mean()),
        "majority": majority_rate(vy),
        "called_malignant": float(np.mean(vp >= 0.5)),
        "accuracy": paired_bootstrap(accuracy, [vy, vp], **boot),
        "below_majority": paired_bootstrap(lambda y, p: accuracy(y, p) - majority_rate(y), [vy, vp], **boot),
        "val_auc": paired_bootstrap(auc, [vy, vp], **boot),
        "train_auc": auc(ty, tp),
        "balanced_accuracy": paired_bootstrap(balanced_accuracy, [vy, vp], **boot),
        # each correction: the accuracy it gains on the same images
        "prior_gain": paired_bootstrap(lambda y, a, b: accuracy(y, b) - accuracy(y, a), [vy, vp, corrected], **boot),
        "threshold_gain": paired_bootstrap(lambda y, p: matched(y, p) - accuracy(y, p), [vy, vp], **boot),
        "batchnorm_gain": paired_bootstrap(lambda y, a, b: accuracy(y, b) - accuracy(y, a), [vy, vp, vp_bn], **boot),
        "called_malignant_after_prior": float(np.mean(corrected >= 0.5)),
        "called_malignant_after_batchnorm": float(np.mean(vp_bn >= 0.5)),
        "groups": group_metrics(vy, vp, vg),
        "modality_only_auc": paired_bootstrap(modality_auc, [vy, vg], **boot),
        "auc_over_modality": paired_bootstrap(lambda y, p, g: auc(y, p) - modality_auc(y, g), [vy, vp, vg], **boot),
    }


def _ci(m: dict, digits: int = 2) -> str:
    return f"{m['value']:+.{digits}f} [{m['low']:+.{digits}f}, {m['high']:+.{digits}f}]"


def verdict(results: list[dict], min_val: int = 150) -> list[str]:
    """Sentences computed from :func:`diagnose` results (one per training seed).

    An effect counts when its 95% interval excludes zero in every seed; "weak" when it does in
    some seeds only. With fewer than `min_val` validation images nothing is concluded.
    """
    if not results:
        raise ValueError("verdict needs the diagnose() result of at least one trained model.")
    n = len(results)
    lines = [f"{n} training run(s), {results[0]['n_val']} validation images each."]
    if min(r["n_val"] for r in results) < min_val:
        return lines + [f"Too few validation images to tell (fewer than {min_val}): every interval is wide. "
                        "Run the lesson in the laptop profile."]

    def reproduces(r) -> bool:
        return r["below_majority"]["high"] < 0 and r["val_auc"]["low"] > 0.5

    symptom = [r for r in results if reproduces(r)]
    k = len(symptom)
    lines.append(f"Symptom (accuracy at 0.5 below the majority rate, AUC above 0.5, both by their intervals): "
                 f"reproduced in {k} of {n} runs{' (weak evidence)' if 0 < k < n else ''}.")
    if not symptom:
        return lines + ["Without the symptom there is nothing to explain: no explanation is tested."]

    def strength(test) -> str:
        hits = sum(bool(test(r)) for r in symptom)
        if hits == k:
            return f"in all {k} run(s) with the symptom"
        return f"in {hits} of the {k} run(s) with the symptom" + (" (weak evidence)" if hits else "")

    lines.append("(a) memorisation - training AUC above validation AUC by more than 0.05: "
                 f"{strength(lambda r: r['train_auc'] - r['val_auc']['high'] > 0.05)}.")
    for key, name, called in (
            ("prior_gain", "(b) prior shift - probabilities corrected for the validation balance", "called_malignant_after_prior"),
            ("threshold_gain", "    the threshold matched to the validation balance", None),
            ("batchnorm_gain", "(c) BatchNorm - moving averages re-estimated on training images", "called_malignant_after_batchnorm")):
        fixed = strength(lambda r, key=key: r[key]["low"] > 0 and r["accuracy"]["value"] + r[key]["value"] >= r["majority"])
        helped = strength(lambda r, key=key: r[key]["low"] > 0)
        share = "" if called is None else (f"; it then calls {np.mean([r[called] for r in symptom]):.0%} of the images "
                                           "malignant on average")
        lines.append(f"{name}: accuracy up to the majority rate or above {fixed}; up at all {helped}{share}.")
    lines.append("(d) modality mix - the modality alone ranks as well as the model (AUC within 0.05): "
                 f"{strength(lambda r: r['modality_only_auc']['low'] > 0.5 and r['auc_over_modality']['high'] < 0.05)}.")
    lines.append("This is what the course's controlled experiment can produce; it is not the cause of the original "
                 "system's curves: its two published epochs hold none of these measurements and cannot tell the "
                 "explanations apart.")
    return lines
