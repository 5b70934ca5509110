"""The whole evaluation at once: :func:`evaluate` writes every figure and a JSON of every number;
:func:`headline` prints the few lines a reviewer reads first.

``cancer-course evaluate`` calls both. The threshold is chosen on the validation split when the
dataset has one (the honest way); :func:`threshold_is_a_result` says whether a result's chosen
threshold may be reported (not when it was chosen on the very split it is reported on).

Research and education only: not a medical device, not for clinical use.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from .. import DISCLAIMER
from ..labels import DISPLAY_NAMES as CLASS_NAMES
from .calibration import brier_score, expected_calibration_error, reliability_data
from .figures import (
    _save,
    plot_confusion_matrix,
    plot_error_gallery,
    plot_precision_recall,
    plot_reliability,
    plot_roc,
)
from .metrics import (
    bootstrap_intervals,
    classification_report,
    confusion_at,
    ppv_npv_at,
    precision_recall_data,
    roc_data,
    worst_errors,
)
from .predictions import _predict_split, check_course_model, predict_split
from .thresholds import _choose_threshold, threshold_for_sensitivity, youden_threshold


def _model_info(model) -> dict:
    from ..model import count_parameters

    return {"name": model.name, "input_shape": [None if v is None else int(v) for v in model.input_shape],
            "output": "softmax" if model.output_shape[-1] == 2 else "sigmoid", "parameters": count_parameters(model)}


def _dataset_info(root: Path, split: str, y: np.ndarray) -> dict:
    from ..synth import read_manifest

    counts = {"Benign": int((y == 0).sum()), "Malignant": int((y == 1).sum())}
    return {"root": str(root), "split": split, "n": int(y.size), "class_counts": counts,
            "manifest": read_manifest(root)}


def _write_predictions(path: Path, paths, y, p) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "p_malignant"])
        writer.writerows((name, CLASS_NAMES[t], f"{q:.6f}") for name, t, q in zip(paths, y, p))
    return str(path)


def evaluate(model, root, split: str = "test", out_dir="results/evaluation", *, threshold="youden",
             target_sensitivity: float = 0.95, threshold_split: str | None = None, n_boot: int = 1000,
             seed: int = 0, n_bins: int = 10, batch_size: int = 32, resize: bool = False,
             gallery_size: int = 8, json_path=None, prevalence: float | None = None) -> dict:
    """Evaluate a model on ``ROOT/<split>``: write every figure and return every number as a dict.

    ``threshold`` picks the operating point reported beside 0.5: ``"youden"``, ``"sensitivity"``
    (the highest threshold reaching ``target_sensitivity``) or a number. Thresholds are chosen on
    ``threshold_split``; by default the dataset's ``validation`` split when it has one and it is
    not the split evaluated (the honest way), else ``split`` itself - then the chosen threshold's
    figures are optimistic, ``thresholds["chosen"]["honest"]`` is False, and :func:`headline`
    does not report them as a result. A fixed number is chosen on no split.
    ``prevalence`` (default: the evaluated split's) is where PPV and NPV are also reported
    (``result["at_prevalence"]``), from the split's sensitivity and specificity. Writes to ``out_dir``: ``confusion_matrix.png``
    (0.5), ``confusion_matrix_chosen.png``, ``roc.png``, ``precision_recall.png``,
    ``reliability.png``, ``error_gallery.png``, ``predictions.csv`` and ``evaluation.json``
    (or ``json_path``). Images of another size are resized to the model's input, as training
    does (``resize`` is ignored, kept for old callers). Raises ValueError for a one-class split
    (AUC, sensitivity and specificity are undefined), or a file that is not a course model.
    """
    model = check_course_model(model)
    root, out = Path(root), Path(out_dir)
    # a split with one class is refused (and explained) when it is read: AUC and the rates need both
    y, p, paths, seconds = _predict_split(model, root, split, batch_size)
    if threshold_split is None and split != "validation" and (root / "validation").is_dir():
        threshold_split = "validation"
    if threshold_split and threshold_split != split:
        y_t, p_t, _ = predict_split(model, root, threshold_split, batch_size=batch_size)
    else:
        y_t, p_t, threshold_split = y, p, split

    youden = youden_threshold(y_t, p_t)
    target = threshold_for_sensitivity(y_t, p_t, target_sensitivity)
    chosen = _choose_threshold(threshold, y_t, p_t, target_sensitivity)
    t = chosen["threshold"]
    at_half, at_chosen = confusion_at(y, p, 0.5), confusion_at(y, p, t)
    youden["on_split"] = {k: confusion_at(y, p, youden["threshold"])[k] for k in ("sensitivity", "specificity")}
    target["on_split"] = {k: confusion_at(y, p, target["threshold"])[k] for k in ("sensitivity", "specificity")}
    roc, pr = roc_data(y, p), precision_recall_data(y, p)
    boot = {"0.5": bootstrap_intervals(y, p, 0.5, n_boot=n_boot, seed=seed),
            "chosen": bootstrap_intervals(y, p, t, n_boot=n_boot, seed=seed)}
    reliability = reliability_data(y, p, n_bins)
    ece, brier = expected_calibration_error(y, p, n_bins), brier_score(y, p)
    errors = worst_errors(y, p, paths, threshold=t, k=gallery_size)

    split_prevalence = float(y.mean())
    prevalence = split_prevalence if prevalence is None else float(prevalence)
    at_prevalence = {"prevalence": prevalence,
                     "source": "the evaluated split" if prevalence == split_prevalence else "stated (--prevalence)",
                     "0.5": ppv_npv_at(at_half["sensitivity"], at_half["specificity"], prevalence),
                     "chosen": ppv_npv_at(at_chosen["sensitivity"], at_chosen["specificity"], prevalence)}
    honest = chosen["method"] == "fixed" or threshold_split != split
    points = [{"name": "0.5", **at_half}, {"name": chosen["method"], **at_chosen}]
    figures = {
        "confusion_matrix": _save(plot_confusion_matrix(at_half), out / "confusion_matrix.png"),
        "confusion_matrix_chosen": _save(
            plot_confusion_matrix(at_chosen, f"Confusion matrix at the chosen threshold {t:.3g} ({chosen['method']})"),
            out / "confusion_matrix_chosen.png"),
        "roc": _save(plot_roc(roc, boot["0.5"]["auc"], points), out / "roc.png"),
        "precision_recall": _save(plot_precision_recall(pr), out / "precision_recall.png"),
        "reliability": _save(plot_reliability(reliability, ece, brier), out / "reliability.png"),
        "error_gallery": _save(plot_error_gallery(errors), out / "error_gallery.png"),
    }
    result = {
        "disclaimer": DISCLAIMER,
        "model": _model_info(model),
        "dataset": _dataset_info(root, split, y),
        "auc": roc["auc"],
        "auc_ci": boot["0.5"]["auc"],
        "average_precision": pr["average_precision"],
        "confusion_matrix": at_half,
        "confusion_matrix_chosen": at_chosen,
        "classification_report": classification_report(y, p, 0.5),
        "classification_report_chosen": classification_report(y, p, t),
        "roc": roc,
        "precision_recall": pr,
        "bootstrap": boot,
        "at_prevalence": at_prevalence,
        "thresholds": {"chosen": {**chosen, "chosen_on": None if chosen["method"] == "fixed" else threshold_split,
                                  "honest": honest}, "youden": youden,
                       "target_sensitivity": target, "chosen_on": threshold_split,
                       "rule": "Malignant when p_malignant >= threshold"},
        "calibration": {"ece": ece, "brier": brier, "n_bins": int(n_bins), "binning": "equal-width on [0, 1]",
                        "reliability": reliability},
        "error_gallery": errors,
        "figures": figures,
        "throughput": {"images": int(y.size), "seconds": round(seconds, 3), "batch_size": int(batch_size),
                       "images_per_second": round(y.size / max(seconds, 1e-9), 1),
                       "what": "decoding and predicting the evaluated split, streamed in batches"},
    }
    result["figures"]["predictions"] = _write_predictions(out / "predictions.csv", paths, y, p)
    json_file = Path(json_path) if json_path else out / "evaluation.json"
    json_file.parent.mkdir(parents=True, exist_ok=True)
    json_file.write_text(json.dumps(result, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    result["json"] = str(json_file)
    return result


def _fmt(value, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def threshold_is_a_result(result: dict) -> bool:
    """Whether the chosen threshold's figures in `result` (from :func:`evaluate`) may be reported:
    not when a rule chose the threshold on the very split it is reported on (optimistic).
    Older results without the ``honest`` key are judged from ``chosen_on`` and the split."""
    chosen = result["thresholds"]["chosen"]
    if "honest" in chosen:
        return bool(chosen["honest"])
    return chosen.get("method") == "fixed" or chosen.get("chosen_on") != result["dataset"]["split"]


def _prevalence_line(result: dict) -> str:
    at = result.get("at_prevalence")
    if not at:
        return ""
    half, chosen = at["0.5"], at["chosen"]
    line = (f"at prevalence {at['prevalence']:.3g} ({at['source']}): PPV {_fmt(half['ppv'])}, "
            f"NPV {_fmt(half['npv'])} at 0.5")
    if threshold_is_a_result(result):
        line += f"; PPV {_fmt(chosen['ppv'])}, NPV {_fmt(chosen['npv'])} at the chosen threshold"
    return line


def _throughput_line(result: dict) -> str:
    speed = result.get("throughput")
    if not speed:  # results from before throughput was measured
        return ""
    return (f"throughput: {speed['images']} images decoded and predicted in {speed['seconds']:.2f} s "
            f"({speed['images_per_second']:.0f} images/s, batches of {speed['batch_size']})")


def headline(result: dict) -> str:
    """The few lines a reviewer reads first, from the dict :func:`evaluate` returns."""
    ds, boot = result["dataset"], result["bootstrap"]
    chosen = result["thresholds"]["chosen"]
    lo, hi = result["auc_ci"]
    level = int(round(100 * boot["0.5"]["level"]))

    def rates(conf, ci):
        return (f"sensitivity {_fmt(conf['sensitivity'])} ({_fmt(ci['sensitivity'][0])}-{_fmt(ci['sensitivity'][1])}), "
                f"specificity {_fmt(conf['specificity'])} ({_fmt(ci['specificity'][0])}-{_fmt(ci['specificity'][1])})")

    lines = [
        f"{ds['split']} split of {ds['root']}: {ds['n']} images "
        f"({ds['class_counts']['Benign']} benign, {ds['class_counts']['Malignant']} malignant)",
        f"AUC {_fmt(result['auc'])} ({level}% CI {_fmt(lo)}-{_fmt(hi)}), average precision {_fmt(result['average_precision'])}",
        f"at threshold 0.5: {rates(result['confusion_matrix'], boot['0.5'])}",
        (f"at threshold {chosen['threshold']:.3g} ({chosen['method']}"
         + (f", chosen on {chosen['chosen_on']}" if chosen.get("chosen_on") else "") + "): "
         + rates(result["confusion_matrix_chosen"], boot["chosen"]))
        if threshold_is_a_result(result) else
        (f"no result at a chosen threshold: the {chosen['method']} threshold {chosen['threshold']:.3g} was chosen on "
         f"the {ds['split']} split itself, so its figures would be optimistic; choose it on a validation split "
         "(--threshold-split validation) or give a fixed --threshold"),
        _prevalence_line(result),
        f"calibration: ECE {_fmt(result['calibration']['ece'])} ({result['calibration']['n_bins']} equal-width bins), "
        f"Brier {_fmt(result['calibration']['brier'])}",
        _throughput_line(result),
    ]
    return "\n".join(line for line in lines if line)  # results from before the prevalence line have none
