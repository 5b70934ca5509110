"""Choosing the operating point: the threshold at which an image is called Malignant.

Youden's J (:func:`youden_threshold`) weighs a missed cancer and a false alarm alike; the highest
threshold that still reaches a target sensitivity (:func:`threshold_for_sensitivity`) does not:
missing a cancer costs more than a second look at a benign tile. A threshold is chosen on one
split (validation) and reported on another (test); chosen and reported on the same split, its
figures are optimistic.
"""

from __future__ import annotations

import numpy as np

from .inputs import _as_arrays, _require_both_classes


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
