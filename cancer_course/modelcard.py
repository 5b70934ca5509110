"""A model card from the evaluation results (lesson 12).

A model card (Mitchell et al., 2019) says what a model is for, what it was trained and tested
on, how well it did - with uncertainty - and where it fails. :func:`model_card` writes one in
Markdown from the dict :func:`cancer_course.evaluation.evaluate` returns, so every number in the
card is a number the evaluation measured.

Research and education only: every card says so first.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from . import DISCLAIMER
from .evaluation import threshold_is_a_result

__all__ = ["INTENDED_USE", "KNOWN_LIMITS", "REAL_DATA_LIMIT", "default_limits", "describe_data", "model_card",
           "write_model_card"]

INTENDED_USE = (
    "Research and education only: learning how to build, train, evaluate and question a "
    "convolutional network for benign-vs-malignant image classification. **Not for clinical use.** "
    "Out of scope: diagnosis, screening, triage, treatment decisions, or any use on real patients' "
    "images to inform their care. This model is not a medical device and has not been validated "
    "clinically."
)

KNOWN_LIMITS = (
    "**Synthetic data.** The embedded dataset is procedurally generated H&E-like tiles; performance "
    "on it says nothing about performance on real tissue, scanners, stains or hospitals.",
    "**Small model, small test set.** The course profiles shrink the reference network and the data; "
    "the bootstrap intervals above show how uncertain the figures are.",
    "**Shortcut risk.** A CNN can learn an artefact that happens to correlate with the label (a "
    "marker, a stain shift, an imaging modality) instead of the pathology; the reference system mixed "
    "five imaging modalities under one label, a textbook case. Check explanations (Grad-CAM, lesson 11) "
    "and test on data without the artefact.",
    "**Threshold and calibration.** A threshold chosen on the test split is optimistic; probabilities "
    "are only as trustworthy as the calibration figures above.",
    "**No subgroup or external validation.** Nothing here measures performance across patient groups, "
    "sites or devices.",
)


REAL_DATA_LIMIT = (
    "**Your data, your limits.** This model was evaluated on a folder that is not the embedded "
    "dataset as the course generates it (the data section names the folder; tiles of the embedded "
    "set copied and re-split are still synthetic): its figures hold only for images like these (same "
    "source, scanner, stain, magnification, population). Record where the data came from and how it was split (by patient?), "
    "and audit it for duplicates and leaks (`cancer-course audit`)."
)


def default_limits(evaluation: dict) -> tuple[str, ...]:
    """:data:`KNOWN_LIMITS` for the embedded dataset; for other data its first item says so instead."""
    manifest = evaluation.get("dataset", {}).get("manifest")
    return KNOWN_LIMITS if manifest else (REAL_DATA_LIMIT, *KNOWN_LIMITS[1:])


def _f(value, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _ci(interval) -> str:
    return "n/a" if not interval else f"{_f(interval[0])}-{_f(interval[1])}"


def describe_data(evaluation: dict) -> str:
    """A sentence about the evaluated data, from the embedded dataset's manifest when there is one."""
    ds = evaluation.get("dataset", {})
    counts = ds.get("class_counts", {})
    text = (f"Evaluated on the `{ds.get('split', '?')}` split of `{ds.get('root', '?')}`: {ds.get('n', '?')} images "
            f"({counts.get('Benign', '?')} benign, {counts.get('Malignant', '?')} malignant).")
    params = (ds.get("manifest") or {}).get("parameters")
    if params:
        text += (f" The data are the course's synthetic H&E-like tiles (generator "
                 f"`{ds['manifest'].get('generator', '?')}`, {params.get('image_size')} px, difficulty "
                 f"{params.get('difficulty')}, malignant fraction {params.get('malignant_fraction')}, "
                 f"confounder {params.get('confounder') or 'none'}, seed {params.get('seed')}).")
    return text


def _metrics_table(ev: dict) -> list[str]:
    boot = ev["bootstrap"]
    chosen = ev["thresholds"]["chosen"]
    level = int(round(100 * boot["0.5"]["level"]))
    rows = [
        ("AUC (ROC)", _f(ev["auc"]), _ci(ev["auc_ci"])),
        ("Average precision", _f(ev["average_precision"]), ""),
    ]
    points = [("0.5", "confusion_matrix", boot["0.5"])]
    if threshold_is_a_result(ev):  # a threshold chosen on the evaluated split is not a result
        points.append((f"{chosen['threshold']:.3g}", "confusion_matrix_chosen", boot["chosen"]))
    for label, key, ci in points:
        conf = ev[key]
        rows += [
            (f"Sensitivity at {label}", _f(conf["sensitivity"]), _ci(ci["sensitivity"])),
            (f"Specificity at {label}", _f(conf["specificity"]), _ci(ci["specificity"])),
            (f"PPV / NPV at {label}", f"{_f(conf['ppv'])} / {_f(conf['npv'])}", ""),
            (f"Accuracy at {label}", _f(conf["accuracy"]), ""),
        ]
    rows += [
        (f"Expected calibration error ({ev['calibration']['n_bins']} bins)", _f(ev["calibration"]["ece"]), ""),
        ("Brier score", _f(ev["calibration"]["brier"]), ""),
    ]
    lines = [f"| metric | value | {level}% CI |", "|---|---|---|"]
    lines += [f"| {name} | {value} | {ci} |" for name, value, ci in rows]
    lines.append("")
    lines.append(f"Intervals: {boot['0.5']['method']}, {boot['0.5']['n_boot']} resamples, seed {boot['0.5']['seed']}.")
    return lines


def _model_section(ev: dict, model) -> list[str]:
    info = dict(ev.get("model", {}))
    if model is not None:
        from .model import count_parameters

        info.update(name=model.name, input_shape=list(model.input_shape),
                    output="softmax" if model.output_shape[-1] == 2 else "sigmoid",
                    parameters=count_parameters(model))
    params = info.get("parameters", {})
    shape = info.get("input_shape") or []
    size = "x".join(str(v) for v in shape[1:]) if shape else "?"
    total = params.get("total")
    return [
        f"- Name: `{info.get('name', '?')}`",
        "- Architecture: the course's custom CNN (residual squeeze-and-excitation blocks, an "
        "inception-style multi-scale block, CBAM attention, a dense head).",
        f"- Input: {size} RGB images scaled to [0, 1]; output: p(malignant) from a "
        f"{info.get('output', '?')} layer.",
        f"- Parameters: {total:,}" if isinstance(total, int) else "- Parameters: ?",
    ]


def model_card(evaluation: dict, model=None, data_description: str | None = None, *,
               title: str | None = None, training: str | None = None,
               extra_limits: Sequence[str] = (), limits: Sequence[str] | None = None) -> str:
    """A Markdown model card: intended use, model, data, metrics with intervals, threshold,
    calibration, known limits.

    ``evaluation`` is the dict :func:`~cancer_course.evaluation.evaluate` returns (or its JSON,
    loaded); ``model`` (optional) adds the architecture's details; ``data_description`` replaces
    the sentence made from the dataset manifest; ``training`` describes how the model was trained;
    ``limits`` replaces the standard ones (:func:`default_limits`: :data:`KNOWN_LIMITS` for the
    embedded dataset, with a real-data item instead of the synthetic-data one for other folders)
    and ``extra_limits`` adds to them.
    """
    ev = evaluation
    name = ev.get("model", {}).get("name") if model is None else model.name
    chosen, thresholds = ev["thresholds"]["chosen"], ev["thresholds"]
    target = thresholds["target_sensitivity"]
    on_test = not threshold_is_a_result(ev)
    where = (f"chosen on the `{chosen['chosen_on']}` split" if chosen.get("chosen_on")
             else "a fixed threshold, chosen on no split")
    lines = [
        f"# Model card: {title or name or 'course model'}",
        "",
        f"> **{DISCLAIMER}**",
        "",
        "## Intended use",
        "",
        INTENDED_USE,
        "",
        "## Model",
        "",
        *_model_section(ev, model),
        "",
        "## Data",
        "",
        data_description or describe_data(ev),
    ]
    if training:
        lines += ["", "## Training", "", training]
    lines += ["", "## Metrics", "", *_metrics_table(ev), ""]
    lines += [
        "## Threshold",
        "",
        f"An image is called Malignant when p(malignant) >= threshold. Besides 0.5, the card reports "
        f"threshold {chosen['threshold']:.3g} ({chosen['method']}), {where}. "
        f"On the `{thresholds.get('chosen_on')}` split, Youden's J picks {thresholds['youden']['threshold']:.3g}; reaching "
        f"sensitivity {target['target']:.2f} needs {target['threshold']:.3g} (specificity {_f(target['specificity'])} "
        f"there, on that split; the metrics table gives the `{ev['dataset']['split']}` figures).",
    ]
    if on_test:
        lines += ["", "The threshold was chosen on the split it is evaluated on, so its figures would be optimistic "
                      "and the metrics table leaves them out: choose it on the validation split "
                      "(`--threshold-split validation`)."]
    cal = ev["calibration"]
    lines += [
        "",
        "## Calibration",
        "",
        f"Expected calibration error {_f(cal['ece'])} ({cal['n_bins']} bins, {cal.get('binning', 'equal-width')}); "
        f"Brier score {_f(cal['brier'])} (0 is perfect, 0.25 is a constant 0.5). The reliability diagram "
        "shows where predicted probabilities and observed malignant rates part.",
        "",
        "## Known limits",
        "",
        *[f"- {limit}" for limit in (*(default_limits(ev) if limits is None else limits), *extra_limits)],
        "",
        "## Figures",
        "",
        *[f"- {key}: `{path}`" for key, path in ev.get("figures", {}).items()],
        "",
    ]
    return "\n".join(lines)


def write_model_card(path, evaluation: dict, model=None, data_description: str | None = None, **kwargs) -> Path:
    """Write :func:`model_card` to ``path`` (Markdown) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(model_card(evaluation, model, data_description, **kwargs), encoding="utf-8")
    return path
