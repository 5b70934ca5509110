"""Check what every evaluation function is given: 0/1 labels and probabilities in [0, 1].

Every metric starts with :func:`_as_arrays`, so a wrong input gets a message that says what is
wrong, never a confusing number. The measures that compare the two classes (AUC, sensitivity,
specificity, thresholds) also call :func:`_require_both_classes`: with one class they are
undefined, and the message says which class is missing.
"""

from __future__ import annotations

import numpy as np


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
