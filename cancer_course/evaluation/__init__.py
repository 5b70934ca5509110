"""Evaluation a careful reviewer would ask for (lesson 10).

Predictions over one split, then, with Benign / Malignant as the class names:

- the confusion matrix (counts and rates) and the classification report at a threshold;
- ROC and precision-recall curves with their areas;
- bootstrap 95% intervals (percentile, seeded, stratified by class) for AUC, sensitivity and
  specificity - a test set of a few hundred images gives wide intervals, and the lesson says so;
- threshold choice: Youden's J, and the highest threshold that still reaches a target
  sensitivity (missing a cancer costs more than a second look at a benign tile);
- calibration: the reliability diagram, the expected calibration error and the Brier score;
- a gallery of the worst errors, false negatives first;
- two models compared on the same cases (a paired bootstrap and DeLong's test).

:func:`evaluate` does all of it, writes every figure, and returns one JSON-able dict of every
figure's numbers (``cancer-course evaluate`` prints the headline and writes the JSON).

One job per module, in the order lesson 10 meets them (every name is also importable from here,
``from cancer_course.evaluation import confusion_at``):

- ``predictions``: predict every image of a split (:func:`predict_split`);
- ``metrics``: the confusion matrix and its rates, PPV and NPV at a prevalence, the ROC and
  precision-recall curves, bootstrap intervals, the worst errors;
- ``thresholds``: choosing the operating point (Youden's J, a target sensitivity);
- ``calibration``: the reliability diagram's numbers, ECE and the Brier score;
- ``comparison``: two models on the same cases (:func:`compare_aucs`);
- ``figures``: the plots;
- ``report``: :func:`evaluate` (all of it at once) and :func:`headline`;
- ``inputs``: the checks of labels and probabilities every function starts with.

Conventions: ``y_true`` is 0 (benign) or 1 (malignant); ``p_malignant`` is the model's
probability of malignant; an image is called Malignant when ``p_malignant >= threshold``
(the same rule as ``cancer-course predict``).

Research and education only: not a medical device, not for clinical use.
"""

from __future__ import annotations

from ..labels import DISPLAY_NAMES as CLASS_NAMES  # label 0, label 1, as reports print them
from .calibration import brier_score, expected_calibration_error, reliability_data
from .comparison import compare_aucs
from .figures import (
    plot_confusion_matrix,
    plot_error_gallery,
    plot_precision_recall,
    plot_reliability,
    plot_roc,
)
from .inputs import _as_arrays  # noqa: F401  (a helper diagnosis and the threshold widget use too)
from .metrics import (
    _auc_rows,  # noqa: F401  (a helper diagnosis uses too)
    bootstrap_intervals,
    classification_report,
    confusion_at,
    ppv_npv_at,
    precision_recall_data,
    roc_data,
    worst_errors,
)
from .predictions import (
    _predict_dataset,  # noqa: F401  (a helper diagnosis uses too)
    _probabilities,  # noqa: F401  (a helper explain, experiments and matched use too)
    check_course_model,
    predict_split,
)
from .report import evaluate, headline, threshold_is_a_result
from .thresholds import threshold_for_sensitivity, youden_threshold

__all__ = [
    "CLASS_NAMES",
    "check_course_model",
    "predict_split",
    "confusion_at",
    "classification_report",
    "roc_data",
    "precision_recall_data",
    "bootstrap_intervals",
    "youden_threshold",
    "threshold_for_sensitivity",
    "reliability_data",
    "expected_calibration_error",
    "brier_score",
    "worst_errors",
    "plot_confusion_matrix",
    "plot_roc",
    "plot_precision_recall",
    "plot_reliability",
    "plot_error_gallery",
    "evaluate",
    "headline",
    "compare_aucs",
    "ppv_npv_at",
    "threshold_is_a_result",
]
