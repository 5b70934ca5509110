"""Two models on the same cases: is A's AUC better than B's, and by how much (:func:`compare_aucs`)?

A paired bootstrap (the same resampled cases for both models) gives the interval of the
difference; DeLong's test gives its p-value; with patient or slide ids, a cluster bootstrap
resamples whole groups instead.
"""

from __future__ import annotations

import math

import numpy as np

from .inputs import _as_arrays, _require_both_classes
from .metrics import _auc_rows


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
