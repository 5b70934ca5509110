"""Lesson 08's exercise 5: the per-seed results of a remedy experiment and what follows from them."""

from __future__ import annotations

import numpy as np

from ._choice import Option

# Exercise 5: per-seed results of a remedy experiment (three seeds per row; scripted numbers).
SEED_RESULTS = {
    "baseline": {"val_auc": (0.861, 0.874, 0.852), "recall_at_0.5": (0.62, 0.66, 0.59)},
    "class weights": {"val_auc": (0.866, 0.870, 0.858), "recall_at_0.5": (0.81, 0.84, 0.79)},
    "augmentation": {"val_auc": (0.902, 0.911, 0.897), "recall_at_0.5": (0.70, 0.72, 0.68)},
    "label smoothing": {"val_auc": (0.872, 0.889, 0.866), "recall_at_0.5": (0.63, 0.67, 0.61)},
    "oversampling": {"val_auc": (0.858, 0.879, 0.861), "recall_at_0.5": (0.78, 0.83, 0.80)},
}


def seed_gain(row: str, metric: str = "val_auc") -> dict:
    """Mean gain of a row over the baseline and its standard error (unpaired, sample SDs over seeds)."""
    a = np.asarray(SEED_RESULTS[row][metric])
    b = np.asarray(SEED_RESULTS["baseline"][metric])
    gain = float(a.mean() - b.mean())
    se = float(np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)))
    return {"gain": gain, "se": se, "ratio": gain / se}


def _beyond_noise(row: str) -> bool | None:
    """True: gain above 2 standard errors; False: below 1 (or negative); None: in between (weak evidence)."""
    r = seed_gain(row)["ratio"]
    return True if r > 2 else (False if r < 1 else None)


def _g(row: str) -> str:
    g = seed_gain(row)
    return f"{g['gain']:+.4f} in mean AUC, {abs(g['ratio']):.1f} standard errors ({g['se']:.4f}) of the difference"


def _remedy_options() -> dict:
    base_recall = SEED_RESULTS["baseline"]["recall_at_0.5"]
    cw_recall = SEED_RESULTS["class weights"]["recall_at_0.5"]
    recall_up = all(c > b for c, b in zip(cw_recall, base_recall, strict=True))
    rows = list(SEED_RESULTS)
    by_mean = sorted(rows, key=lambda r: -np.mean(SEED_RESULTS[r]["val_auc"]))
    by_seed = [sorted(rows, key=lambda r, i=i: -SEED_RESULTS[r]["val_auc"][i]) for i in range(3)]
    differs = [i for i, order in enumerate(by_seed) if order != by_mean]
    ls = _beyond_noise("label smoothing")
    return {
        "A": Option("augmentation raises the validation AUC by more than the seed-to-seed noise",
                    _beyond_noise("augmentation"), f"augmentation: {_g('augmentation')}."),
        "B": Option("class weights raise the validation AUC", _beyond_noise("class weights"),
                    f"class weights: {_g('class weights')} - within the noise of three seeds."),
        "C": Option("class weights move the operating point: recall at 0.5 is higher on every seed",
                    recall_up and not _beyond_noise("class weights"),
                    "recall at 0.5: " + ", ".join(f"{b} -> {c}" for b, c in zip(base_recall, cw_recall, strict=True))
                    + " while the AUC hardly moves: reweighting shifts the outputs (where the threshold cuts), not "
                    "the ranking."),
        "D": Option("label smoothing raises the validation AUC by more than the seed-to-seed noise", ls,
                    f"label smoothing: {_g('label smoothing')}: "
                    + ("too weak to claim and too large to dismiss with three seeds - more seeds would decide"
                       if ls is None else "")),
        "E": Option("oversampling lowers the validation AUC", seed_gain("oversampling")["gain"] < 0
                    and _beyond_noise("oversampling") is not False,
                    f"oversampling: {_g('oversampling')}: no evidence of a change either way."),
        "F": Option("one seed per row would have ranked the five rows the same way", not differs,
                    "on its own, seed " + " or ".join(str(i) for i in differs) + " ranks the rows differently from the "
                    "means (" + " > ".join(by_mean) + ")." if differs else "every seed gives the same ranking."),
    }
