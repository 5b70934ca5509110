"""The threshold explorer (lesson 10): a threshold slider -> the confusion matrix, sensitivity,
specificity and the point on the ROC curve."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from .explorer import Explorer, _fmt, _slider, _table


def threshold_view(y_true, p_malignant, threshold: float = 0.5, roc: dict | None = None) -> dict:
    """Everything the threshold explorer shows at one threshold.

    Returns ``confusion`` (:func:`cancer_course.evaluation.confusion_at`: ``matrix`` [[TN, FP],
    [FN, TP]], sensitivity, specificity, ...), ``point`` (``fpr`` = 1 - specificity, ``tpr`` =
    sensitivity: where this threshold sits on the ROC curve), ``roc``
    (:func:`cancer_course.evaluation.roc_data`, pass it to skip recomputing), and the arrays
    ``y`` and ``p``.
    """
    from ..evaluation import _as_arrays, confusion_at, roc_data

    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be between 0 and 1, got {threshold}.")
    y, p = _as_arrays(y_true, p_malignant)
    roc = roc if roc is not None else roc_data(y, p)
    confusion = confusion_at(y, p, threshold)
    point = {"fpr": 1.0 - confusion["specificity"], "tpr": confusion["sensitivity"]}
    return {"threshold": float(threshold), "confusion": confusion, "point": point, "roc": roc, "y": y, "p": p}


def threshold_figure(view: dict) -> Figure:
    """Three panels: the scores of each class with the threshold, the confusion matrix, the ROC point."""
    from ..labels import CLASS_NAMES, DISPLAY_NAMES

    y, p, t, conf = view["y"], view["p"], view["threshold"], view["confusion"]
    fig = Figure(figsize=(11.5, 3.3))
    ax_hist, ax_cm, ax_roc = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.3, 1, 1]})
    bins = np.linspace(0, 1, 21)
    ax_hist.hist(p[y == 0], bins=bins, alpha=0.6, label=CLASS_NAMES[0])
    ax_hist.hist(p[y == 1], bins=bins, alpha=0.6, label=CLASS_NAMES[1])
    ax_hist.axvline(t, color="black", ls="--", lw=1.2, label=f"threshold {t:.2f}")
    ax_hist.set(xlabel="p(malignant)", ylabel="images", title="scores; Malignant when p >= threshold")
    ax_hist.legend(fontsize=7)
    matrix = np.asarray(conf["matrix"])
    ax_cm.imshow(matrix, cmap="Blues", vmin=0, vmax=max(int(matrix.max()), 1))
    names = [["TN", "FP"], ["FN", "TP"]]
    for r in range(2):
        for c in range(2):
            rate = conf["rates"][r][c]
            ax_cm.text(c, r, f"{names[r][c]} {matrix[r, c]}\n{_fmt(rate, 2)} of row", ha="center", va="center",
                       fontsize=9, color="white" if matrix[r, c] > matrix.max() / 2 else "black")
    ax_cm.set(xticks=[0, 1], yticks=[0, 1], xticklabels=DISPLAY_NAMES, yticklabels=DISPLAY_NAMES,
              xlabel="predicted", ylabel="true", title="confusion matrix")
    roc = view["roc"]
    ax_roc.plot(roc["fpr"], roc["tpr"], lw=2, label=f"AUC {roc['auc']:.3f}")
    ax_roc.plot([0, 1], [0, 1], ls="--", color="grey", lw=1)
    ax_roc.scatter([view["point"]["fpr"]], [view["point"]["tpr"]], color="C3", zorder=3, s=40,
                   label=f"t={t:.2f}: sens {_fmt(conf['sensitivity'], 2)}, spec {_fmt(conf['specificity'], 2)}")
    ax_roc.set(xlabel="1 - specificity", ylabel="sensitivity", title="ROC curve", xlim=(-0.02, 1.02), ylim=(-0.02, 1.02))
    ax_roc.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    return fig


def _threshold_info(view: dict) -> str:
    c = view["confusion"]
    return _table([
        ("threshold", f"{view['threshold']:.3f}"),
        ("TP / FN", f"{c['tp']} / {c['fn']}  (missed cancers: {c['fn']})"),
        ("TN / FP", f"{c['tn']} / {c['fp']}  (false alarms: {c['fp']})"),
        ("sensitivity", _fmt(c["sensitivity"])),
        ("specificity", _fmt(c["specificity"])),
        ("PPV / NPV", f"{_fmt(c['ppv'])} / {_fmt(c['npv'])}"),
        ("accuracy", _fmt(c["accuracy"])),
        ("ROC point", f"({view['point']['fpr']:.3f}, {view['point']['tpr']:.3f})"),
    ])  # fmt: skip


def threshold_explorer(y_true, p_malignant, threshold: float = 0.5, step: float = 0.01) -> Explorer:
    """A threshold slider -> confusion matrix, sensitivity, specificity and the point on the ROC curve.

    ``y_true``: 0 benign / 1 malignant; ``p_malignant``: the model's probabilities (both classes
    needed). Use the **validation** split's predictions to choose a threshold.
    """
    from ..evaluation import roc_data

    roc = roc_data(y_true, p_malignant)  # checks the inputs once, and is reused by every render
    controls = {"threshold": _slider(widgets.FloatSlider, "threshold", float(threshold), 0.0, 1.0, step, ".2f")}

    def render(values):
        view = threshold_view(y_true, p_malignant, values["threshold"], roc=roc)
        return view, threshold_figure(view), _threshold_info(view)

    return Explorer("Threshold explorer", controls, render)
