"""The figures of an evaluation, each drawn from the dict a metric function returns.

Confusion matrix (counts and rates), ROC and precision-recall curves, the reliability diagram
and the gallery of the worst errors. Each function returns a Matplotlib figure; :func:`_save`
writes one and closes it (what :func:`cancer_course.evaluation.evaluate` does for all of them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from .. import images
from ..labels import DISPLAY_NAMES as CLASS_NAMES

_PNG_DPI = 110


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
