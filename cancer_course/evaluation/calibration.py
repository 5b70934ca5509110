"""Calibration: does a predicted p(malignant) of 0.8 come true 8 times in 10?

:func:`reliability_data` is the reliability diagram's numbers (observed malignant rate per bin of
predictions), :func:`expected_calibration_error` its average gap from the diagonal, and
:func:`brier_score` the mean squared error of the probabilities.
"""

from __future__ import annotations

import numpy as np

from .inputs import _as_arrays


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
