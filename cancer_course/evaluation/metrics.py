"""The numbers at a threshold, the curves over all thresholds, and how sure we are of them.

- :func:`confusion_at`: the confusion matrix and its rates (sensitivity, specificity, PPV, NPV);
- :func:`ppv_npv_at`: PPV and NPV at another prevalence (Bayes' rule);
- :func:`classification_report`: scikit-learn's report with the names Benign and Malignant;
- :func:`roc_data` and :func:`precision_recall_data`: the two curves and their areas;
- :func:`bootstrap_intervals`: 95% intervals for AUC, sensitivity and specificity;
- :func:`worst_errors`: the misclassified images, the dangerous ones (false negatives) first.

An image is called Malignant when ``p_malignant >= threshold``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..labels import DISPLAY_NAMES as CLASS_NAMES  # label 0, label 1, as reports print them
from .inputs import _as_arrays, _require_both_classes


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
