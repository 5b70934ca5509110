"""The course's two classes and three splits, and the numbers made from them: one definition each.

No TensorFlow here (numpy only), so the audit, the widgets and the command line can use it.

- :data:`CLASS_NAMES`: the class folders, in label order (benign = 0, malignant = 1);
  :data:`DISPLAY_NAMES`: the same classes as reports and predictions print them;
- :data:`SPLITS`: the split folders (``train`` and ``validation`` required, ``test`` optional);
- :func:`balanced_class_weights`: ``n_samples / (n_classes * n_class)`` per label;
- :func:`p_malignant`: the probability of malignant from a model's output (a 2-way softmax's
  column 1, or a sigmoid's one column).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

CLASS_NAMES = ("benign", "malignant")  # ROOT/<split>/<class>; index = label
DISPLAY_NAMES = ("Benign", "Malignant")  # label 0, label 1, as printed
SPLITS = ("train", "validation", "test")
REQUIRED_SPLITS = ("train", "validation")


def label_of(name_or_label) -> int:
    """0 or 1 from a label or a class name (``"benign"``/``"Benign"`` -> 0); ValueError otherwise."""
    if isinstance(name_or_label, str):
        if name_or_label.lower() in CLASS_NAMES:
            return CLASS_NAMES.index(name_or_label.lower())
    elif int(name_or_label) in (0, 1) and int(name_or_label) == name_or_label:
        return int(name_or_label)
    raise ValueError(f"{name_or_label!r} is not a class of the course: use 0/1 or {' / '.join(CLASS_NAMES)}")


def _class_key(key) -> int:
    """A class's label from a count's key: a class name, or any integer label (the course's are 0 and 1)."""
    if isinstance(key, str):
        return label_of(key)
    if int(key) != key or int(key) < 0:
        raise ValueError(f"{key!r} is not a class label: use 0, 1, ... or {' / '.join(CLASS_NAMES)}")
    return int(key)


def class_counts(counts_or_labels: Mapping | Iterable) -> dict[int, int]:
    """``{0: n_benign, 1: n_malignant}`` from counts (keyed by label or class name) or from a list of labels.

    Both course classes are always present (with 0 when absent); any other integer label is kept.
    """
    counts = dict.fromkeys(range(len(CLASS_NAMES)), 0)
    if isinstance(counts_or_labels, Mapping):
        for key, n in counts_or_labels.items():
            label = _class_key(key)
            counts[label] = counts.get(label, 0) + int(n)
    else:
        for key in counts_or_labels:
            label = _class_key(key)
            counts[label] = counts.get(label, 0) + 1
    return dict(sorted(counts.items()))


def _class_name(label: int) -> str:
    return CLASS_NAMES[label] if label < len(CLASS_NAMES) else f"class {label}"


def balanced_class_weights(counts_or_labels: Mapping | Iterable) -> dict[int, float]:
    """``n_samples / (n_classes * n_class)`` for each class, as Keras' ``class_weight`` wants.

    Takes counts keyed by label or class name, or the list of labels. A class without images has
    no weight: ValueError saying which class is empty.

    >>> balanced_class_weights({0: 400, 1: 900})
    {0: 1.625, 1: 0.722}
    >>> balanced_class_weights({"benign": 430, "malignant": 970})
    {0: 1.628, 1: 0.722}
    """
    counts = class_counts(counts_or_labels)
    empty = [_class_name(label) for label, n in counts.items() if n <= 0]
    if empty:
        raise ValueError(
            f"Class weights need at least one image of each class, but there are no {' and no '.join(empty)} "
            f"images (counts: { {_class_name(c): n for c, n in counts.items()} }): add images of that class, or "
            "train without class weights."
        )
    total = sum(counts.values())
    return {label: round(total / (len(counts) * n), 3) for label, n in counts.items()}


def p_malignant(outputs) -> np.ndarray:
    """p(malignant) per image from a model's outputs: column 1 of a 2-way softmax, or a sigmoid's one column."""
    out = np.asarray(outputs, dtype=np.float64)
    if out.ndim != 2 or out.shape[-1] not in (1, 2):
        raise ValueError(f"A course model returns (N, 1) or (N, 2) outputs; got shape {out.shape}.")
    return out[:, 1] if out.shape[-1] == 2 else out[:, 0]
