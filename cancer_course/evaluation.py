"""Evaluation a careful reviewer would ask for (lesson 10).

Predictions over one split, then, with Benign / Malignant as the class names:

- the confusion matrix (counts and rates) and the classification report at a threshold;
- ROC and precision-recall curves with their areas;
- bootstrap 95% intervals (percentile, seeded, stratified by class) for AUC, sensitivity and
  specificity - a test set of a few hundred images gives wide intervals, and the lesson says so;
- threshold choice: Youden's J, and the highest threshold that still reaches a target
  sensitivity (missing a cancer costs more than a second look at a benign tile);
- calibration: the reliability diagram, the expected calibration error and the Brier score;
- a gallery of the worst errors, false negatives first.

:func:`evaluate` does all of it, writes every figure, and returns one JSON-able dict of every
figure's numbers (``cancer-course evaluate`` prints the headline and writes the JSON).

Conventions: ``y_true`` is 0 (benign) or 1 (malignant); ``p_malignant`` is the model's
probability of malignant; an image is called Malignant when ``p_malignant >= threshold``
(the same rule as ``cancer-course predict``).

Research and education only: not a medical device, not for clinical use.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from . import DISCLAIMER, images
from .data import SPLITS, scan_folder
from .labels import CLASS_NAMES as FOLDERS  # ROOT/<split>/<folder>
from .labels import DISPLAY_NAMES as CLASS_NAMES  # label 0, label 1, as reports print them
from .labels import p_malignant as _p_malignant

__all__ = [
    "CLASS_NAMES",
    "check_course_model",
    "predict_split",
    "confusion_at",
    "classification_report",
    "roc_data",
    "precision_recall_data",
    "bootstrap_intervals",
    "youden_threshold",
    "threshold_for_sensitivity",
    "reliability_data",
    "expected_calibration_error",
    "brier_score",
    "worst_errors",
    "plot_confusion_matrix",
    "plot_roc",
    "plot_precision_recall",
    "plot_reliability",
    "plot_error_gallery",
    "evaluate",
    "headline",
    "compare_aucs",
    "ppv_npv_at",
    "threshold_is_a_result",
]

_PNG_DPI = 110


# ============================================================================= inputs
def _as_arrays(y_true, p_malignant) -> tuple[np.ndarray, np.ndarray]:
    """Check and convert labels (0/1) and probabilities ([0, 1]) to numpy arrays."""
    y = np.asarray(y_true).astype(int).ravel()
    p = np.asarray(p_malignant, dtype=np.float64).ravel()
    if y.shape != p.shape:
        raise ValueError(f"Found {y.size} labels but {p.size} probabilities: pass one probability per image.")
    if y.size == 0:
        raise ValueError("No predictions to evaluate (0 images).")
    if not np.isin(y, (0, 1)).all():
        raise ValueError(f"Labels must be 0 (benign) or 1 (malignant); found {sorted(set(y.tolist()))}.")
    if not np.isfinite(p).all() or p.min() < 0 or p.max() > 1:
        raise ValueError("Probabilities must be finite numbers between 0 and 1 (the model's p(malignant)).")
    return y, p


def _require_both_classes(y: np.ndarray, where: str = "The labels") -> None:
    """AUC, sensitivity and specificity need at least one image of each class."""
    n_benign, n_malignant = int((y == 0).sum()), int((y == 1).sum())
    if n_benign == 0 or n_malignant == 0:
        missing = "benign" if n_benign == 0 else "malignant"
        raise ValueError(
            f"{where} has {n_benign} benign and {n_malignant} malignant images: with one class the AUC "
            f"(and sensitivity or specificity) is undefined. Add {missing} images, or evaluate a split "
            "that has both classes."
        )


def _list_split(root: Path, split: str) -> tuple[list[Path], list[int]]:
    """Image files and 0/1 labels of ``ROOT/<split>/{benign,malignant}``, sorted by name."""
    split_dir = root / split
    if not split_dir.is_dir():
        found = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        raise FileNotFoundError(
            f"No split folder {split_dir}. A dataset folder holds train/, validation/ and test/, each with "
            f"benign/ and malignant/ (found: {found or 'nothing'}); check --dataset-path and --split."
        )
    paths, labels = [], []
    for label, folder in enumerate(FOLDERS):
        class_dir = split_dir / folder
        files = sorted(p for p in class_dir.glob("*") if images.is_image_name(p)) if class_dir.is_dir() else []
        paths += files
        labels += [label] * len(files)
    return paths, labels


def _split_files(root: Path, split: str) -> tuple[list[Path], list[int]]:
    """The split's files and labels, checked by :func:`cancer_course.data.scan_folder` when it can.

    ``scan_folder`` checks the whole layout and opens every image (so a corrupt file is named
    here, not deep inside TensorFlow); it refuses an empty class folder, so a one-class split is
    listed directly and left for :func:`evaluate` to explain.
    """
    paths, labels = _list_split(root, split)
    if split not in SPLITS or len(set(labels)) < 2:
        return paths, labels
    files = scan_folder(root, require_test=(split == "test")).files[split]
    return [Path(path) for path, _ in files], [int(label) for _, label in files]


def check_course_model(model_or_path):
    """A loaded course model, from a ``keras.Model`` or a ``.keras`` path; ValueError if it is not one."""
    if isinstance(model_or_path, str | Path):
        from .inference import load_course_model

        return load_course_model(model_or_path)
    shape = getattr(model_or_path, "input_shape", None)
    out = getattr(model_or_path, "output_shape", None)
    if shape is None or out is None or len(shape) != 4 or shape[-1] != 3 or out[-1] not in (1, 2):
        raise ValueError(
            f"{getattr(model_or_path, 'name', type(model_or_path).__name__)} is not a course model: it takes "
            f"{shape} and returns {out}, but course models take (None, H, W, 3) images and return "
            "1 (sigmoid) or 2 (softmax) outputs."
        )
    return model_or_path


def _model_size(model) -> int:
    return int(model.input_shape[1])


def _probabilities(model, images) -> np.ndarray:
    """p(malignant) for a batch, from a 2-way softmax (column 1) or a 1-unit sigmoid (:func:`labels.p_malignant`)."""
    return _p_malignant(model.predict(images, verbose=0))


def _labels_from_batch(y) -> np.ndarray:
    """0/1 labels from a batch of labels: one-hot pairs, a column, or plain integers."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[-1] == 2:
        return y.argmax(axis=-1).astype(int)
    return y.reshape(-1).round().astype(int)


def _predict_dataset(model, dataset) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Predictions over a ``tf.data.Dataset`` of batched ``(images, labels)``."""
    want = tuple(int(v) for v in model.input_shape[1:3])
    ys, ps = [], []
    for batch, labels in dataset:
        got = tuple(int(v) for v in batch.shape[1:3])
        if got != want:
            raise ValueError(
                f"The dataset's batch are {got[1]}x{got[0]} pixels but the model takes {want[1]}x{want[0]}: "
                f"build the dataset with image_size={want[0]} (pipeline.from_files(..., image_size={want[0]}))."
            )
        ps.append(_probabilities(model, batch))
        ys.append(_labels_from_batch(labels))
    if not ys:
        raise ValueError("The dataset is empty: nothing to evaluate.")
    y, p = np.concatenate(ys), np.concatenate(ps)
    return y, p, [f"dataset[{i}]" for i in range(len(y))]


def _predict_files(model, paths: Sequence[str], batch_size: int) -> tuple[np.ndarray, float]:
    """p(malignant) for every file, in order, and the seconds it took.

    The same streaming path as ``cancer-course predict`` (:func:`cancer_course.inference.iter_probabilities`):
    files decoded by the training decoder in parallel through ``tf.data``, one batch in memory at a
    time. A file that cannot be decoded raises ValueError naming it.
    """
    import time

    from .inference import iter_probabilities, why_unreadable

    p = np.full(len(paths), np.nan)
    start = time.perf_counter()
    for indices, probs in iter_probabilities(model, paths, batch_size):
        p[indices] = probs
    seconds = time.perf_counter() - start
    missing = np.flatnonzero(np.isnan(p))
    if missing.size:
        first = why_unreadable(paths[missing[0]]) or f"{paths[missing[0]]} could not be decoded"
        raise ValueError(f"{missing.size} image(s) could not be read, e.g. {first}: remove or replace them "
                         "(`cancer-course audit` lists them all).")
    return p, seconds


def _predict_split(model, root: Path, split: str, batch_size: int, resize: bool = True):
    """``(y_true, p_malignant, paths, seconds)`` for the images of ``ROOT/<split>``.

    Images of another size are resized to the model's input as training does (``resize`` is
    ignored, kept for old callers: every command has this one policy, :data:`images.SIZE_POLICY`).
    """
    paths, labels = _split_files(root, split)
    if not paths:
        raise ValueError(
            f"{root / split} holds no images: put PNG/JPEG files in {root / split}/benign and "
            f"{root / split}/malignant."
        )
    names = [str(path) for path in paths]
    p, seconds = _predict_files(model, names, batch_size)
    return np.asarray(labels, dtype=int), p, names, seconds


def predict_split(model, dataset_or_root, split: str = "test", batch_size: int = 32,
                  resize: bool = False) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Predict every image of a split: ``(y_true, p_malignant, paths)``.

    ``dataset_or_root`` is a dataset folder (``ROOT/<split>/{benign,malignant}/*``) or a batched
    ``tf.data.Dataset`` of ``(images, labels)`` (then ``split`` is ignored and the paths are
    ``dataset[i]``). ``model`` is a Keras model or a ``.keras`` path. A folder's images of another
    size are resized to the model's input, as training does (``resize`` is ignored). They are
    streamed as ``cancer-course predict`` streams them (one batch in memory at a time).
    """
    model = check_course_model(model)
    if not isinstance(dataset_or_root, str | Path):
        return _predict_dataset(model, dataset_or_root)
    return _predict_split(model, Path(dataset_or_root), split, batch_size, resize)[:3]


# ============================================================================= metrics
def _safe_ratio(num: float, den: float) -> float | None:
    return float(num / den) if den else None


def confusion_at(y_true, p_malignant, threshold: float = 0.5) -> dict:
    """Confusion matrix and the rates that come from it, calling Malignant when ``p >= threshold``.

    Returns ``matrix`` ([[TN, FP], [FN, TP]], rows = true class), ``rates`` (each row divided by
    its total), ``tn/fp/fn/tp`` and ``sensitivity`` (recall of malignant), ``specificity``,
    ``ppv`` (precision), ``npv``, ``accuracy`` (None where a denominator is 0).
    """
    y, p = _as_arrays(y_true, p_malignant)
    pred = (p >= threshold).astype(int)
    tp = int(((pred == 1) & (y == 1)).sum())
    tn = int(((pred == 0) & (y == 0)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    matrix = [[tn, fp], [fn, tp]]
    rates = [[_safe_ratio(v, sum(row)) for v in row] for row in matrix]
    return {
        "threshold": float(threshold),
        "labels": list(CLASS_NAMES),
        "matrix": matrix,
        "rates": rates,
        "tn": tn, "fp": fp, "fn": fn, "tp": tp,
        "sensitivity": _safe_ratio(tp, tp + fn),
        "specificity": _safe_ratio(tn, tn + fp),
        "ppv": _safe_ratio(tp, tp + fp),
        "npv": _safe_ratio(tn, tn + fn),
        "accuracy": _safe_ratio(tp + tn, y.size),
    }  # fmt: skip


def ppv_npv_at(sensitivity: float | None, specificity: float | None, prevalence: float) -> dict:
    """PPV and NPV a test with this sensitivity and specificity would have at `prevalence`.

    Bayes' rule: PPV = sens * prev / (sens * prev + (1 - spec) * (1 - prev)), NPV likewise. The
    test split's own PPV and NPV hold only at the test split's prevalence; a screening population
    (prevalence near 1%) gets far lower PPV from the same sensitivity and specificity.
    """
    if not 0 < prevalence < 1:
        raise ValueError(f"prevalence must be between 0 and 1 (0.01 for 1 in 100), got {prevalence}.")
    if sensitivity is None or specificity is None:
        return {"prevalence": float(prevalence), "ppv": None, "npv": None}
    tp, fp = sensitivity * prevalence, (1 - specificity) * (1 - prevalence)
    tn, fn = specificity * (1 - prevalence), (1 - sensitivity) * prevalence
    return {"prevalence": float(prevalence), "ppv": _safe_ratio(tp, tp + fp), "npv": _safe_ratio(tn, tn + fn)}


def classification_report(y_true, p_malignant, threshold: float = 0.5, as_text: bool = False):
    """scikit-learn's classification report with the names Benign and Malignant (a dict, or text)."""
    from sklearn.metrics import classification_report as sk_report

    y, p = _as_arrays(y_true, p_malignant)
    pred = (p >= threshold).astype(int)
    return sk_report(y, pred, labels=[0, 1], target_names=list(CLASS_NAMES), output_dict=not as_text,
                     zero_division=0)


def _json_thresholds(thresholds: np.ndarray) -> list[float | None]:
    """scikit-learn starts its thresholds at +inf ("call nothing malignant"); JSON has no inf: None."""
    return [float(t) if np.isfinite(t) else None for t in thresholds]


def roc_data(y_true, p_malignant) -> dict:
    """The ROC curve (``fpr``, ``tpr``, ``thresholds``) and its area ``auc``."""
    from sklearn.metrics import roc_auc_score, roc_curve

    y, p = _as_arrays(y_true, p_malignant)
    _require_both_classes(y)
    fpr, tpr, thresholds = roc_curve(y, p)
    return {"auc": float(roc_auc_score(y, p)), "fpr": fpr.tolist(), "tpr": tpr.tolist(),
            "thresholds": _json_thresholds(thresholds)}


def precision_recall_data(y_true, p_malignant) -> dict:
    """The precision-recall curve of the malignant class and its area (average precision).

    ``prevalence`` (the fraction of malignant images) is where a model that guesses would sit.
    """
    from sklearn.metrics import average_precision_score, precision_recall_curve

    y, p = _as_arrays(y_true, p_malignant)
    _require_both_classes(y)
    precision, recall, thresholds = precision_recall_curve(y, p)
    return {"average_precision": float(average_precision_score(y, p)), "precision": precision.tolist(),
            "recall": recall.tolist(), "thresholds": _json_thresholds(thresholds),
            "prevalence": float(y.mean())}


def _auc_rows(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """AUC of every row of ``scores`` (B, n) against labels ``y`` (B, n): the Mann-Whitney U statistic."""
    from scipy.stats import rankdata

    ranks = rankdata(scores, axis=1)  # ties get their average rank, as in roc_auc_score
    n_pos = y.sum(axis=1)
    n_neg = y.shape[1] - n_pos
    rank_sum = (ranks * y).sum(axis=1)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def bootstrap_intervals(y_true, p_malignant, threshold: float = 0.5, n_boot: int = 1000,
                        level: float = 0.95, seed: int = 0) -> dict:
    """Percentile bootstrap intervals for AUC, sensitivity and specificity.

    Each of ``n_boot`` resamples draws, with replacement, as many benign images from the benign
    ones and as many malignant images from the malignant ones as the split has (a stratified
    bootstrap, as pROC does by default): every resample has both classes, so its AUC is always
    defined. The interval is the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of the
    resampled values. Same ``seed``, same intervals.

    Returns ``{"auc": [low, high], "sensitivity": [...], "specificity": [...], "point": {...},
    "n_boot", "level", "seed", "threshold", "method"}``.
    """
    y, p = _as_arrays(y_true, p_malignant)
    _require_both_classes(y)
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (0.95 for a 95% interval), got {level}.")
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, got {n_boot}.")
    rng = np.random.default_rng(seed)
    pos, neg = p[y == 1], p[y == 0]
    boot_pos = pos[rng.integers(0, pos.size, size=(n_boot, pos.size))]
    boot_neg = neg[rng.integers(0, neg.size, size=(n_boot, neg.size))]
    labels = np.concatenate([np.ones_like(boot_pos), np.zeros_like(boot_neg)], axis=1)
    values = {
        "auc": _auc_rows(np.concatenate([boot_pos, boot_neg], axis=1), labels),
        "sensitivity": (boot_pos >= threshold).mean(axis=1),
        "specificity": (boot_neg < threshold).mean(axis=1),
    }
    lo, hi = 100 * (1 - level) / 2, 100 * (1 + level) / 2
    point = confusion_at(y, p, threshold)
    out = {name: [float(np.percentile(v, lo)), float(np.percentile(v, hi))] for name, v in values.items()}
    out["point"] = {"auc": float(_auc_rows(p[None], y[None])[0]), "sensitivity": point["sensitivity"],
                    "specificity": point["specificity"]}
    out.update(n_boot=int(n_boot), level=float(level), seed=int(seed), threshold=float(threshold),
               method="stratified percentile bootstrap")
    return out


# ============================================================================= two models, same cases
def _delong_components(y: np.ndarray, p: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """AUC and DeLong's structural components: for each malignant case the share of benign cases
    it outranks (V10), for each benign case the share of malignant cases that outrank it (V01);
    ties count one half. Computed from midranks, O(n log n)."""
    from scipy.stats import rankdata

    pos, neg = p[y == 1], p[y == 0]
    m, n = pos.size, neg.size
    all_ranks = rankdata(np.concatenate([pos, neg]))
    v10 = (all_ranks[:m] - rankdata(pos)) / n  # benign cases below each malignant one
    v01 = 1.0 - (all_ranks[m:] - rankdata(neg)) / m  # malignant cases above each benign one
    return float(v10.mean()), v10, v01


def compare_aucs(labels, p_a, p_b, groups=None, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> dict:
    """Compare two models' AUCs on the same cases: is A better than B, and by how much?

    Both models scored the same images, so their errors are correlated; comparing their two
    separate intervals ignores that (and is much too conservative). Here both are resampled
    together, on the same cases:

    - ``difference`` = ``auc_a - auc_b`` and its interval ``ci_low``..``ci_high``: a paired
      percentile bootstrap (the same resampled cases for A and B; stratified by class). With
      ``groups`` (one patient or slide id per case) whole groups are resampled instead (a cluster
      bootstrap): cases of one patient are not independent, and resampling them one by one gives
      an interval that is too narrow.
    - ``p_value``: two-sided. Without ``groups``, DeLong's test (DeLong, DeLong and Clarke-Pearson,
      1988: the covariance of the two correlated AUCs from their structural components). With
      ``groups``, the cluster bootstrap's: twice the share of resampled differences on the other
      side of zero (at least 1/n_boot), which assumes nothing about independence within a group.

    Returns ``{"auc_a", "auc_b", "difference", "ci_low", "ci_high", "p_value", "method",
    "n_boot", "level", "seed", "n_cases", "n_groups", "skipped_resamples"}``.
    """
    import math

    y, pa = _as_arrays(labels, p_a)
    _, pb = _as_arrays(labels, p_b)
    _require_both_classes(y)
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, got {n_boot}.")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (0.95 for a 95% interval), got {level}.")
    auc_a, v10_a, v01_a = _delong_components(y, pa)
    auc_b, v10_b, v01_b = _delong_components(y, pb)
    rng = np.random.default_rng(seed)
    skipped = 0
    if groups is None:
        n_groups = None
        pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
        idx = np.concatenate([pos[rng.integers(0, pos.size, size=(n_boot, pos.size))],
                              neg[rng.integers(0, neg.size, size=(n_boot, neg.size))]], axis=1)
        yb = y[idx]
        diffs = _auc_rows(pa[idx], yb) - _auc_rows(pb[idx], yb)
        m, n = pos.size, neg.size
        var = (np.var(v10_a - v10_b, ddof=1) / m if m > 1 else 0.0) + (np.var(v01_a - v01_b, ddof=1) / n if n > 1 else 0.0)
        diff = auc_a - auc_b
        if var > 0:
            p_value = math.erfc(abs(diff) / math.sqrt(2 * var))
        else:
            p_value = 1.0 if diff == 0 else 0.0
        method = "paired stratified bootstrap; DeLong's test"
    else:
        g = np.asarray(groups).ravel()
        if g.shape != y.shape:
            raise ValueError(f"Found {g.size} groups for {y.size} cases: pass one group id per case.")
        names, inverse = np.unique(g, return_inverse=True)
        n_groups = int(names.size)
        if n_groups < 2:
            raise ValueError("groups has a single group: a cluster bootstrap needs at least two.")
        members = [np.flatnonzero(inverse == k) for k in range(n_groups)]
        diffs_list = []
        for _ in range(n_boot):
            idx = np.concatenate([members[k] for k in rng.integers(0, n_groups, size=n_groups)])
            yb = y[idx]
            if yb.min() == yb.max():  # a resample with one class has no AUC
                skipped += 1
                continue
            diffs_list.append(float(_auc_rows(pa[idx][None], yb[None])[0] - _auc_rows(pb[idx][None], yb[None])[0]))
        if not diffs_list:
            raise ValueError("No cluster-bootstrap resample had both classes: each group holds one class "
                             "and there are too few groups; add groups or compare without them.")
        diffs = np.array(diffs_list)
        side = min(np.mean(diffs <= 0), np.mean(diffs >= 0))
        p_value = float(min(1.0, max(2 * side, 1 / diffs.size)))
        if np.all(diffs == 0):
            p_value = 1.0
        method = "paired cluster bootstrap over groups"
    lo, hi = 100 * (1 - level) / 2, 100 * (1 + level) / 2
    return {"auc_a": auc_a, "auc_b": auc_b, "difference": auc_a - auc_b,
            "ci_low": float(np.percentile(diffs, lo)), "ci_high": float(np.percentile(diffs, hi)),
            "p_value": float(p_value), "method": method, "n_boot": int(n_boot), "level": float(level),
            "seed": int(seed), "n_cases": int(y.size), "n_groups": n_groups, "skipped_resamples": skipped}


# ============================================================================= thresholds
def _candidates(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every distinct score as a threshold, highest first, with its sensitivity and specificity."""
    thresholds = np.unique(p)[::-1]
    pos, neg = np.sort(p[y == 1]), np.sort(p[y == 0])
    # sensitivity(t) = share of malignant scores >= t; specificity(t) = share of benign scores < t
    sens = (pos.size - np.searchsorted(pos, thresholds, side="left")) / pos.size
    spec = np.searchsorted(neg, thresholds, side="left") / neg.size
    return thresholds, sens, spec


def youden_threshold(y_true, p_malignant) -> dict:
    """The threshold that maximises Youden's J = sensitivity + specificity - 1.

    Candidates are the distinct scores (calling Malignant when ``p >= t``); on a tie the higher
    threshold wins. Returns ``threshold``, ``j``, ``sensitivity``, ``specificity``.
    """
    y, p = _as_arrays(y_true, p_malignant)
    _require_both_classes(y)
    thresholds, sens, spec = _candidates(y, p)
    best = int(np.argmax(sens + spec - 1))  # argmax returns the first = highest threshold on ties
    return {"method": "youden", "threshold": float(thresholds[best]), "j": float(sens[best] + spec[best] - 1),
            "sensitivity": float(sens[best]), "specificity": float(spec[best])}


def threshold_for_sensitivity(y_true, p_malignant, target: float = 0.95) -> dict:
    """The highest threshold whose sensitivity is at least ``target`` (so the best specificity).

    Returns ``threshold``, ``target``, ``sensitivity`` (>= target), ``specificity``. Lowering the
    threshold can only raise sensitivity, so the lowest score always reaches sensitivity 1.
    """
    if not 0 < target <= 1:
        raise ValueError(f"target sensitivity must be in (0, 1], got {target}.")
    y, p = _as_arrays(y_true, p_malignant)
    _require_both_classes(y)
    thresholds, sens, spec = _candidates(y, p)
    first = int(np.argmax(sens >= target - 1e-12))  # sens rises as the threshold falls; last one is 1.0
    return {"method": "sensitivity", "threshold": float(thresholds[first]), "target": float(target),
            "sensitivity": float(sens[first]), "specificity": float(spec[first])}


# ============================================================================= calibration
def _bin_index(p: np.ndarray, n_bins: int) -> np.ndarray:
    """Equal-width bins on [0, 1]: [0, 1/n), [1/n, 2/n), ..., [(n-1)/n, 1] (the last one closed)."""
    return np.minimum((p * n_bins).astype(int), n_bins - 1)


def reliability_data(y_true, p_malignant, n_bins: int = 10) -> dict:
    """Per bin of predicted p(malignant): its edges, count, mean prediction and observed malignant rate.

    A calibrated model has ``observed`` close to ``predicted`` in every bin (the diagonal).
    Empty bins have None for both.
    """
    y, p = _as_arrays(y_true, p_malignant)
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}.")
    index = _bin_index(p, n_bins)
    edges = np.linspace(0, 1, n_bins + 1)
    counts, predicted, observed = [], [], []
    for b in range(n_bins):
        inside = index == b
        n = int(inside.sum())
        counts.append(n)
        predicted.append(float(p[inside].mean()) if n else None)
        observed.append(float(y[inside].mean()) if n else None)
    return {"n_bins": int(n_bins), "edges": edges.tolist(), "count": counts, "predicted": predicted,
            "observed": observed}


def expected_calibration_error(y_true, p_malignant, n_bins: int = 10) -> float:
    """ECE of p(malignant) over ``n_bins`` equal-width bins on [0, 1].

    ``ECE = sum over bins of (n_bin / n) * |observed malignant rate - mean predicted p(malignant)|``:
    the average gap between the reliability diagram and its diagonal, weighted by how many images
    fall in each bin. 0 is perfectly calibrated. (This is the binary, positive-class form; the
    "top-label" ECE of Guo et al. 2017 uses the confidence of the predicted class instead.)
    """
    data = reliability_data(y_true, p_malignant, n_bins)
    n = sum(data["count"])
    return float(sum(c / n * abs(o - q) for c, o, q in zip(data["count"], data["observed"], data["predicted"]) if c))


def brier_score(y_true, p_malignant) -> float:
    """Mean squared difference between p(malignant) and the 0/1 label (0 is perfect; 0.25 is a coin)."""
    y, p = _as_arrays(y_true, p_malignant)
    return float(np.mean((p - y) ** 2))


# ============================================================================= errors
def worst_errors(y_true, p_malignant, paths: Sequence[str], threshold: float = 0.5, k: int | None = 8) -> list[dict]:
    """The misclassified images, false negatives first, each group most confidently wrong first.

    False negatives (a malignant image called Benign) are the dangerous error, so they lead,
    lowest p(malignant) first; then false positives, highest p(malignant) first. ``k`` caps the
    list (None = all). Each entry: ``path``, ``true``, ``predicted``, ``p_malignant``, ``kind``.
    """
    y, p = _as_arrays(y_true, p_malignant)
    if len(paths) != y.size:
        raise ValueError(f"Found {len(paths)} paths for {y.size} predictions.")
    fn = [i for i in np.argsort(p, kind="stable") if y[i] == 1 and p[i] < threshold]
    fp = [i for i in np.argsort(-p, kind="stable") if y[i] == 0 and p[i] >= threshold]
    entries = [
        {"path": str(paths[i]), "true": CLASS_NAMES[y[i]], "predicted": CLASS_NAMES[1 - y[i]],
         "p_malignant": float(p[i]), "kind": kind}
        for kind, group in (("false negative", fn), ("false positive", fp)) for i in group
    ]  # fmt: skip
    return entries if k is None else entries[:k]


# ============================================================================= figures
def _new_axes(ax, figsize=(4.5, 4.2)):
    if ax is not None:
        return ax.figure, ax
    fig, ax = plt.subplots(figsize=figsize)
    return fig, ax


def plot_confusion_matrix(confusion: dict, title: str | None = None) -> Figure:
    """Two heatmaps side by side: counts, and rates (each row divided by its true-class total)."""
    import seaborn as sns

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
    rates = [[np.nan if v is None else v for v in row] for row in confusion["rates"]]
    for ax, values, fmt, name in ((axes[0], confusion["matrix"], "d", "counts"),
                                  (axes[1], rates, ".2f", "rates (per true class)")):
        sns.heatmap(np.asarray(values), annot=True, fmt=fmt, cmap="Blues", cbar=False, ax=ax,
                    xticklabels=CLASS_NAMES, yticklabels=CLASS_NAMES, vmin=0,
                    vmax=None if fmt == "d" else 1, annot_kws={"size": 12})
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(name)
    fig.suptitle(title or f"Confusion matrix at threshold {confusion['threshold']:.3g}")
    fig.tight_layout()
    return fig


def plot_roc(roc: dict, interval: Sequence[float] | None = None, points: Sequence[dict] = (), ax=None) -> Figure:
    """The ROC curve with its AUC (and interval), the chance diagonal and optional marked thresholds."""
    fig, ax = _new_axes(ax)
    label = f"AUC {roc['auc']:.3f}" + (f" (95% CI {interval[0]:.3f}-{interval[1]:.3f})" if interval else "")
    ax.plot(roc["fpr"], roc["tpr"], lw=2, label=label)
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="chance")
    for point in points:
        ax.scatter(1 - point["specificity"], point["sensitivity"], zorder=3,
                   label=f"{point.get('name', 'threshold')} t={point['threshold']:.3g}")
    ax.set(xlabel="1 - specificity (false positive rate)", ylabel="sensitivity (true positive rate)",
           title="ROC curve", xlim=(-0.01, 1.01), ylim=(-0.01, 1.01))
    ax.legend(loc="lower right", fontsize=8)
    return fig


def plot_precision_recall(pr: dict, ax=None) -> Figure:
    """The precision-recall curve of Malignant with its average precision and the prevalence line."""
    fig, ax = _new_axes(ax)
    ax.step(pr["recall"], pr["precision"], where="post", lw=2, label=f"AP {pr['average_precision']:.3f}")
    ax.axhline(pr["prevalence"], ls="--", color="grey", lw=1, label=f"prevalence {pr['prevalence']:.2f}")
    ax.set(xlabel="recall (sensitivity)", ylabel="precision (PPV)", title="Precision-recall (Malignant)",
           xlim=(-0.01, 1.01), ylim=(-0.01, 1.01))
    ax.legend(loc="lower left", fontsize=8)
    return fig


def plot_reliability(reliability: dict, ece: float | None = None, brier: float | None = None) -> Figure:
    """Reliability diagram (observed malignant rate per bin against the diagonal) over a count histogram."""
    fig, (ax, hist) = plt.subplots(2, 1, figsize=(4.5, 5.5), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    edges = np.asarray(reliability["edges"])
    centres, width = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
    observed = np.array([np.nan if v is None else v for v in reliability["observed"]])
    predicted = np.array([np.nan if v is None else v for v in reliability["predicted"]])
    ax.bar(centres, np.nan_to_num(observed), width=width, edgecolor="black", alpha=0.7, label="observed rate")
    ax.plot(predicted, observed, "o-", color="C1", label="observed at mean prediction")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfect calibration")
    extra = [f"ECE {ece:.3f}" if ece is not None else "", f"Brier {brier:.3f}" if brier is not None else ""]
    ax.set(ylabel="fraction malignant", title="Reliability diagram " + " ".join(e for e in extra if e),
           xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="upper left", fontsize=8)
    hist.bar(centres, reliability["count"], width=width, edgecolor="black", color="grey")
    hist.set(xlabel="predicted p(malignant)", ylabel="images")
    fig.tight_layout()
    return fig


def plot_error_gallery(errors: Sequence[dict], columns: int = 4, image_size: int | None = None) -> Figure:
    """The images of :func:`worst_errors` in order, titled with the kind of error and p(malignant)."""
    from PIL import Image

    n = max(1, len(errors))
    rows = math.ceil(n / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(2.2 * columns, 2.8 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    if not errors:
        axes[0, 0].text(0, 0.5, "no errors at this threshold", fontsize=10)
    for ax, entry in zip(axes.ravel(), errors):
        try:
            image = Image.fromarray(images.read_rgb(entry["path"]))  # the pixels every command reads
            if image_size:
                image = image.resize((image_size, image_size))
            ax.imshow(np.asarray(image))
        except (OSError, ValueError):
            ax.text(0.5, 0.5, "(no image)", ha="center", va="center")
        short = "FN" if entry["kind"] == "false negative" else "FP"
        ax.set_title(f"{short}: true {entry['true']}\np(malignant) {entry['p_malignant']:.2f}", fontsize=8,
                     color="darkred" if short == "FN" else "darkorange")
    fig.suptitle("Worst errors (false negatives first)")
    fig.tight_layout()
    return fig


def _save(fig: Figure, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=_PNG_DPI, bbox_inches="tight")
    plt.close(fig)
    return str(path)


# ============================================================================= everything at once
def _model_info(model) -> dict:
    from .model import count_parameters

    return {"name": model.name, "input_shape": [None if v is None else int(v) for v in model.input_shape],
            "output": "softmax" if model.output_shape[-1] == 2 else "sigmoid", "parameters": count_parameters(model)}


def _dataset_info(root: Path, split: str, y: np.ndarray) -> dict:
    from .synth import read_manifest

    counts = {"Benign": int((y == 0).sum()), "Malignant": int((y == 1).sum())}
    return {"root": str(root), "split": split, "n": int(y.size), "class_counts": counts,
            "manifest": read_manifest(root)}


def _choose_threshold(rule, y: np.ndarray, p: np.ndarray, target_sensitivity: float) -> dict:
    """The chosen threshold: a number, ``"youden"`` or ``"sensitivity"`` (reach ``target_sensitivity``)."""
    if isinstance(rule, str) and rule.strip().lower() == "youden":
        return youden_threshold(y, p)
    if isinstance(rule, str) and rule.strip().lower() in ("sensitivity", "target", "target-sensitivity"):
        return threshold_for_sensitivity(y, p, target_sensitivity)
    try:
        value = float(rule)
    except (TypeError, ValueError):
        raise ValueError(
            f"threshold must be a number in [0, 1], 'youden' or 'sensitivity', got {rule!r}."
        ) from None
    if not 0 <= value <= 1:
        raise ValueError(f"threshold must be between 0 and 1, got {value}.")
    return {"method": "fixed", "threshold": value}


def _write_predictions(path: Path, paths, y, p) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "p_malignant"])
        writer.writerows((name, CLASS_NAMES[t], f"{q:.6f}") for name, t, q in zip(paths, y, p))
    return str(path)


def evaluate(model, root, split: str = "test", out_dir="results/evaluation", *, threshold="youden",
             target_sensitivity: float = 0.95, threshold_split: str | None = None, n_boot: int = 1000,
             seed: int = 0, n_bins: int = 10, batch_size: int = 32, resize: bool = False,
             gallery_size: int = 8, json_path=None, prevalence: float | None = None) -> dict:
    """Evaluate a model on ``ROOT/<split>``: write every figure and return every number as a dict.

    ``threshold`` picks the operating point reported beside 0.5: ``"youden"``, ``"sensitivity"``
    (the highest threshold reaching ``target_sensitivity``) or a number. Thresholds are chosen on
    ``threshold_split``; by default the dataset's ``validation`` split when it has one and it is
    not the split evaluated (the honest way), else ``split`` itself - then the chosen threshold's
    figures are optimistic, ``thresholds["chosen"]["honest"]`` is False, and :func:`headline`
    does not report them as a result. A fixed number is chosen on no split.
    ``prevalence`` (default: the evaluated split's) is where PPV and NPV are also reported
    (``result["at_prevalence"]``), from the split's sensitivity and specificity. Writes to ``out_dir``: ``confusion_matrix.png``
    (0.5), ``confusion_matrix_chosen.png``, ``roc.png``, ``precision_recall.png``,
    ``reliability.png``, ``error_gallery.png``, ``predictions.csv`` and ``evaluation.json``
    (or ``json_path``). Images of another size are resized to the model's input, as training
    does (``resize`` is ignored, kept for old callers). Raises ValueError for a one-class split,
    or a file that is not a course model.
    """
    model = check_course_model(model)
    root, out = Path(root), Path(out_dir)
    y, p, paths, seconds = _predict_split(model, root, split, batch_size, resize)
    _require_both_classes(y, where=f"The {split!r} split of {root}")
    if threshold_split is None and split != "validation" and (root / "validation").is_dir():
        threshold_split = "validation"
    if threshold_split and threshold_split != split:
        y_t, p_t, _ = predict_split(model, root, threshold_split, batch_size=batch_size, resize=resize)
        _require_both_classes(y_t, where=f"The {threshold_split!r} split of {root}")
    else:
        y_t, p_t, threshold_split = y, p, split

    youden = youden_threshold(y_t, p_t)
    target = threshold_for_sensitivity(y_t, p_t, target_sensitivity)
    chosen = _choose_threshold(threshold, y_t, p_t, target_sensitivity)
    t = chosen["threshold"]
    at_half, at_chosen = confusion_at(y, p, 0.5), confusion_at(y, p, t)
    youden["on_split"] = {k: confusion_at(y, p, youden["threshold"])[k] for k in ("sensitivity", "specificity")}
    target["on_split"] = {k: confusion_at(y, p, target["threshold"])[k] for k in ("sensitivity", "specificity")}
    roc, pr = roc_data(y, p), precision_recall_data(y, p)
    boot = {"0.5": bootstrap_intervals(y, p, 0.5, n_boot=n_boot, seed=seed),
            "chosen": bootstrap_intervals(y, p, t, n_boot=n_boot, seed=seed)}
    reliability = reliability_data(y, p, n_bins)
    ece, brier = expected_calibration_error(y, p, n_bins), brier_score(y, p)
    errors = worst_errors(y, p, paths, threshold=t, k=gallery_size)

    split_prevalence = float(y.mean())
    prevalence = split_prevalence if prevalence is None else float(prevalence)
    at_prevalence = {"prevalence": prevalence,
                     "source": "the evaluated split" if prevalence == split_prevalence else "stated (--prevalence)",
                     "0.5": ppv_npv_at(at_half["sensitivity"], at_half["specificity"], prevalence),
                     "chosen": ppv_npv_at(at_chosen["sensitivity"], at_chosen["specificity"], prevalence)}
    honest = chosen["method"] == "fixed" or threshold_split != split
    points = [{"name": "0.5", **at_half}, {"name": chosen["method"], **at_chosen}]
    figures = {
        "confusion_matrix": _save(plot_confusion_matrix(at_half), out / "confusion_matrix.png"),
        "confusion_matrix_chosen": _save(
            plot_confusion_matrix(at_chosen, f"Confusion matrix at the chosen threshold {t:.3g} ({chosen['method']})"),
            out / "confusion_matrix_chosen.png"),
        "roc": _save(plot_roc(roc, boot["0.5"]["auc"], points), out / "roc.png"),
        "precision_recall": _save(plot_precision_recall(pr), out / "precision_recall.png"),
        "reliability": _save(plot_reliability(reliability, ece, brier), out / "reliability.png"),
        "error_gallery": _save(plot_error_gallery(errors), out / "error_gallery.png"),
    }
    result = {
        "disclaimer": DISCLAIMER,
        "model": _model_info(model),
        "dataset": _dataset_info(root, split, y),
        "auc": roc["auc"],
        "auc_ci": boot["0.5"]["auc"],
        "average_precision": pr["average_precision"],
        "confusion_matrix": at_half,
        "confusion_matrix_chosen": at_chosen,
        "classification_report": classification_report(y, p, 0.5),
        "classification_report_chosen": classification_report(y, p, t),
        "roc": roc,
        "precision_recall": pr,
        "bootstrap": boot,
        "at_prevalence": at_prevalence,
        "thresholds": {"chosen": {**chosen, "chosen_on": None if chosen["method"] == "fixed" else threshold_split,
                                  "honest": honest}, "youden": youden,
                       "target_sensitivity": target, "chosen_on": threshold_split,
                       "rule": "Malignant when p_malignant >= threshold"},
        "calibration": {"ece": ece, "brier": brier, "n_bins": int(n_bins), "binning": "equal-width on [0, 1]",
                        "reliability": reliability},
        "error_gallery": errors,
        "figures": figures,
        "throughput": {"images": int(y.size), "seconds": round(seconds, 3), "batch_size": int(batch_size),
                       "images_per_second": round(y.size / max(seconds, 1e-9), 1),
                       "what": "decoding and predicting the evaluated split, streamed in batches"},
    }
    result["figures"]["predictions"] = _write_predictions(out / "predictions.csv", paths, y, p)
    json_file = Path(json_path) if json_path else out / "evaluation.json"
    json_file.parent.mkdir(parents=True, exist_ok=True)
    json_file.write_text(json.dumps(result, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    result["json"] = str(json_file)
    return result


def _fmt(value, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def threshold_is_a_result(result: dict) -> bool:
    """Whether the chosen threshold's figures in `result` (from :func:`evaluate`) may be reported:
    not when a rule chose the threshold on the very split it is reported on (optimistic).
    Older results without the ``honest`` key are judged from ``chosen_on`` and the split."""
    chosen = result["thresholds"]["chosen"]
    if "honest" in chosen:
        return bool(chosen["honest"])
    return chosen.get("method") == "fixed" or chosen.get("chosen_on") != result["dataset"]["split"]


def _prevalence_line(result: dict) -> str:
    at = result.get("at_prevalence")
    if not at:
        return ""
    half, chosen = at["0.5"], at["chosen"]
    line = (f"at prevalence {at['prevalence']:.3g} ({at['source']}): PPV {_fmt(half['ppv'])}, "
            f"NPV {_fmt(half['npv'])} at 0.5")
    if threshold_is_a_result(result):
        line += f"; PPV {_fmt(chosen['ppv'])}, NPV {_fmt(chosen['npv'])} at the chosen threshold"
    return line


def _throughput_line(result: dict) -> str:
    speed = result.get("throughput")
    if not speed:  # results from before throughput was measured
        return ""
    return (f"throughput: {speed['images']} images decoded and predicted in {speed['seconds']:.2f} s "
            f"({speed['images_per_second']:.0f} images/s, batches of {speed['batch_size']})")


def headline(result: dict) -> str:
    """The few lines a reviewer reads first, from the dict :func:`evaluate` returns."""
    ds, boot = result["dataset"], result["bootstrap"]
    chosen = result["thresholds"]["chosen"]
    lo, hi = result["auc_ci"]
    level = int(round(100 * boot["0.5"]["level"]))

    def rates(conf, ci):
        return (f"sensitivity {_fmt(conf['sensitivity'])} ({_fmt(ci['sensitivity'][0])}-{_fmt(ci['sensitivity'][1])}), "
                f"specificity {_fmt(conf['specificity'])} ({_fmt(ci['specificity'][0])}-{_fmt(ci['specificity'][1])})")

    lines = [
        f"{ds['split']} split of {ds['root']}: {ds['n']} images "
        f"({ds['class_counts']['Benign']} benign, {ds['class_counts']['Malignant']} malignant)",
        f"AUC {_fmt(result['auc'])} ({level}% CI {_fmt(lo)}-{_fmt(hi)}), average precision {_fmt(result['average_precision'])}",
        f"at threshold 0.5: {rates(result['confusion_matrix'], boot['0.5'])}",
        (f"at threshold {chosen['threshold']:.3g} ({chosen['method']}"
         + (f", chosen on {chosen['chosen_on']}" if chosen.get("chosen_on") else "") + "): "
         + rates(result["confusion_matrix_chosen"], boot["chosen"]))
        if threshold_is_a_result(result) else
        (f"no result at a chosen threshold: the {chosen['method']} threshold {chosen['threshold']:.3g} was chosen on "
         f"the {ds['split']} split itself, so its figures would be optimistic; choose it on a validation split "
         "(--threshold-split validation) or give a fixed --threshold"),
        _prevalence_line(result),
        f"calibration: ECE {_fmt(result['calibration']['ece'])} ({result['calibration']['n_bins']} equal-width bins), "
        f"Brier {_fmt(result['calibration']['brier'])}",
        _throughput_line(result),
    ]
    return "\n".join(line for line in lines if line)  # results from before the prevalence line have none
