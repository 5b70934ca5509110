"""Lesson 10's exercise 4: the cases the ECE is checked on, and what the usual wrong versions return."""

from __future__ import annotations

import numpy as np


def _ece_cases() -> list:
    """(labels, scores, n_bins): p = 1.0 in several images, scores exactly on bin edges, other bin counts."""
    y = np.array([0, 0, 1, 0, 1, 1, 1, 0, 1, 1])
    p = np.array([0.05, 0.12, 0.18, 0.35, 0.38, 0.72, 0.75, 0.78, 0.95, 1.0])
    edges = (np.array([0, 1, 0, 1, 1, 1, 0, 0, 1, 0, 1, 0]),  # dyadic edges: exact in floating point
             np.array([0.0, 0.25, 0.25, 0.5, 0.5, 0.75, 0.75, 0.125, 0.6, 1.0, 1.0, 1.0]))
    rng = np.random.default_rng(21)
    noisy = [(rng.integers(0, 2, n), rng.uniform(0, 1, n)) for n in (40, 57)]
    noisy[1][1][:5] = 1.0
    return [(y, p, 10), (y, p, 5), (*edges, 4), (*edges, 8), (*noisy[0], 10), (*noisy[1], 15)]


def _ece_variant(name, y, p, n_bins) -> float:
    """What a usual wrong version of the ECE returns."""
    y, p = y.astype(float), p.astype(float)
    if name == "per_image":
        return float(np.mean(np.abs(y - p)))
    if name == "ten_bins":
        n_bins = 10
    index = {"digitize": np.digitize(p, np.linspace(0, 1, n_bins + 1)) - 1,  # p = 1.0 lands in bin n_bins: dropped
             "upper_closed": np.maximum(np.ceil(p * n_bins).astype(int) - 1, 0)}.get(
        name, np.minimum((p * n_bins).astype(int), n_bins - 1))
    gaps = [((index == b).mean(), abs(y[index == b].mean() - p[index == b].mean()))
            for b in range(n_bins) if (index == b).any()]
    if name == "unweighted":
        return float(np.mean([g for _, g in gaps]))
    if name == "max_gap":
        return float(max(g for _, g in gaps))
    if name == "signed":
        return float(sum((index == b).mean() * (y[index == b].mean() - p[index == b].mean())
                         for b in range(n_bins) if (index == b).any()))
    return float(sum(w * g for w, g in gaps))


ECE_MISTAKES = {
    "unweighted": "yours is the plain average of the bins' gaps; weight each bin by its share of the images, "
                  "n_bin / n.",
    "per_image": "yours is the mean |y - p| over single images, not over bins: group the images into n_bins "
                 "equal-width bins of p first, then compare each bin's observed malignant share with its mean "
                 "prediction.",
    "digitize": "the images with p = 1.0 are left out of yours: np.digitize puts 1.0 in a bin of its own (number "
                "n_bins), past the last one. The last bin is closed, [(n-1)/n, 1]: "
                "np.minimum((p * n_bins).astype(int), n_bins - 1).",
    "upper_closed": "a score exactly on a bin edge (p = 0.25 with 4 bins) goes in the bin above it: the bins are "
                    "[0, 1/n), [1/n, 2/n), ..., [(n-1)/n, 1]; yours puts it in the bin below.",
    "ten_bins": "yours uses 10 bins whatever n_bins is: use the argument.",
    "signed": "yours adds the bins' gaps with their signs, so over- and under-confident bins cancel out: take the "
              "absolute gap of each bin, |observed - predicted|.",
    "max_gap": "yours is the largest gap of any bin (the maximum calibration error); the ECE is their average, "
               "weighted by n_bin / n.",
}
