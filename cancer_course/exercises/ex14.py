"""Exercises for lesson 14: the capstone on real data.

q1 a leak-free split of a dataset with planted defects (checked by auditing the folder you wrote)
· q2 test metrics with intervals, at a threshold chosen on validation · q3 a paired comparison of
two models on the same cases · q4 a model card that names the data, the preprocessing, the
metrics with intervals and the limits · q5 what a capstone run on BreastMNIST shows (interpretive). Every check looks at what the answer produces (a folder,
numbers, a card), never at the code's text. Research and education only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._ex14_reading import ReadingTheCapstone
from ._ex14_split import LESSON, LeakFreeSplit, capstone_data  # noqa: F401 (capstone_data: the notebook imports it from ex14)
from .core import Incorrect, Problem, register


# ---------------------------------------------------------------- q2
def _scores(seed: int, n_benign: int, n_malignant: int, shift: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.r_[np.zeros(n_benign, int), np.ones(n_malignant, int)]
    logit = np.r_[rng.normal(-1.0, 1.0, n_benign), rng.normal(0.6, 1.0, n_malignant)] + shift
    return y, 1 / (1 + np.exp(-logit))


def _triple(value, name: str) -> tuple[float, float, float]:
    try:
        point, low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise Incorrect(f"result[{name!r}] is {value!r}; give (point, low, high): the test-split value and its 95% "
                        "interval.") from None
    return point, low, high


class MetricsWithIntervals(Problem):
    title = "test metrics with intervals, at a threshold chosen on validation"
    names = ("metrics_with_intervals",)
    reimplements = ("cancer_course.evaluation.bootstrap_intervals",)
    lesson = LESSON + ": section 6 (and lesson 10: thresholds and bootstrap intervals)"
    hints = (
        "Two splits, two jobs: validation chooses the threshold (Youden's J); test chooses nothing and is scored "
        "at that threshold. "
        "Every test figure gets an interval from resampling the test cases.",
        "threshold = evaluation.youden_threshold(y_val, p_val)['threshold']; then n_boot times draw, with replacement, "
        "as many malignant test cases as there are from the malignant ones and likewise the benign ones; compute AUC, "
        "sensitivity (p >= t among malignant) and specificity (p < t among benign) on each resample; the interval is "
        "the 2.5th and 97.5th percentile.",
        "Last hint. Fill the blanks: idx = np.r_[rng.choice(pos, ____), rng.choice(neg, ____)]; "
        "values['auc'].append(roc_auc_score(y[idx], p[idx])); ... return {'threshold': t, 'auc': (point, "
        "*np.percentile(values['auc'], [____, ____])), ...}",
    )
    solution_code = '''
    def metrics_with_intervals(y_val, p_val, y_test, p_test, n_boot=1000, seed=0):
        t = evaluation.youden_threshold(y_val, p_val)["threshold"]
        y, p = np.asarray(y_test), np.asarray(p_test)
        rng = np.random.default_rng(seed)
        pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
        values = {"auc": [], "sensitivity": [], "specificity": []}
        for _ in range(n_boot):
            idx = np.r_[rng.choice(pos, pos.size), rng.choice(neg, neg.size)]
            yb, pb = y[idx], p[idx]
            values["auc"].append(roc_auc_score(yb, pb))
            values["sensitivity"].append(np.mean(pb[yb == 1] >= t))
            values["specificity"].append(np.mean(pb[yb == 0] < t))
        point = {"auc": roc_auc_score(y, p), "sensitivity": np.mean(p[y == 1] >= t),
                 "specificity": np.mean(p[y == 0] < t)}
        return {"threshold": t, **{m: (point[m], *np.percentile(values[m], [2.5, 97.5])) for m in values}}
    '''

    def _check(self, metrics_with_intervals):
        from .. import evaluation

        y_val, p_val = _scores(1, 90, 60, shift=0.0)
        y_test, p_test = _scores(2, 110, 70, shift=0.9)  # another calibration: Youden's J moves
        result = metrics_with_intervals(y_val, p_val, y_test, p_test, n_boot=1000, seed=0)
        if not isinstance(result, dict):
            raise Incorrect(f"metrics_with_intervals returned {type(result).__name__}; return a dict with 'threshold', "
                            "'auc', 'sensitivity' and 'specificity'.")
        missing = [k for k in ("threshold", "auc", "sensitivity", "specificity") if k not in result]
        if missing:
            raise Incorrect(f"the result has no {', '.join(map(repr, missing))}: return the threshold and each metric "
                            "as (point, low, high).")
        t = float(result["threshold"])
        youden = evaluation.youden_threshold(y_val, p_val)
        on_val = evaluation.confusion_at(y_val, p_val, t)
        if (on_val["sensitivity"], on_val["specificity"]) != (youden["sensitivity"], youden["specificity"]):
            on_test = evaluation.youden_threshold(y_test, p_test)["threshold"]
            if abs(t - on_test) < 1e-9:
                raise Incorrect(f"threshold {t:.3f} is Youden's J on the test split: a threshold chosen on the split it "
                                "is scored on makes its sensitivity and specificity optimistic; choose it on "
                                "validation (y_val, p_val).")
            if abs(t - 0.5) < 1e-9:
                raise Incorrect("the threshold is 0.5, chosen on no split: choose it on validation with Youden's J "
                                "(evaluation.youden_threshold(y_val, p_val)).")
            raise Incorrect(f"threshold {t:.3f} is not where Youden's J (sensitivity + specificity - 1) peaks on "
                            f"validation ({youden['threshold']:.3f}).")
        reference = evaluation.bootstrap_intervals(y_test, p_test, t, n_boot=10000, seed=1)
        val_auc = evaluation.roc_data(y_val, p_val)["auc"]
        for metric in ("auc", "sensitivity", "specificity"):
            point, low, high = _triple(result[metric], metric)
            want = reference["point"][metric]
            if abs(point - want) > 1e-6:
                hint = ""
                if metric == "auc" and abs(point - val_auc) < 1e-6:
                    hint = " That is the validation AUC: score the test split."
                elif metric != "auc":
                    other = "specificity" if metric == "sensitivity" else "sensitivity"
                    at_half = evaluation.confusion_at(y_test, p_test, 0.5)[metric]
                    if abs(point - reference["point"][other]) < 1e-6:
                        hint = f" That is the {other}: sensitivity is among malignant cases, specificity among benign."
                    elif abs(point - at_half) < 1e-6:
                        hint = " That is its value at 0.5: use the threshold chosen on validation."
                raise Incorrect(f"{metric} is {point:.4f} but on the test split at threshold {t:.3f} it is {want:.4f}."
                                + hint)
            if not low <= point <= high or not low < high:
                raise Incorrect(f"{metric}'s interval ({low:.3f}, {high:.3f}) does not surround its value {point:.3f} "
                                "or has no width: give the 2.5th and 97.5th percentile of the resampled values.")
            width, ref_width = high - low, reference[metric][1] - reference[metric][0]
            # AUC's resamples are continuous: a 90% interval (0.84 as wide) shows; sensitivity's are steps of 1/n
            if width < (0.88 if metric == "auc" else 0.6) * ref_width:
                raise Incorrect(f"{metric}'s 95% interval is {width:.3f} wide, a bootstrap of these {len(y_test)} test "
                                f"cases gives about {ref_width:.3f}: resample as many cases as there are, with "
                                "replacement, n_boot times, and take the 2.5th and 97.5th percentiles (not the "
                                "standard error; a 90% interval is about 0.84 times as wide as a 95% one).")
            if width > 1.6 * ref_width:
                raise Incorrect(f"{metric}'s 95% interval is {width:.3f} wide, a bootstrap of these {len(y_test)} test "
                                f"cases gives about {ref_width:.3f}: resample the test cases themselves (not fewer of "
                                "them, not the validation cases).")
        return (f"threshold {t:.3f} from validation; test AUC {reference['point']['auc']:.3f} with its interval, and "
                "sensitivity and specificity with theirs.")


# ---------------------------------------------------------------- q3
def _paired_scores() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    y = np.r_[np.zeros(120, int), np.ones(80, int)]
    signal = np.where(y == 1, 1.0, 0.0) + rng.normal(0, 1.0, y.size)  # what both models see
    p_a = 1 / (1 + np.exp(-(signal + rng.normal(0, 0.25, y.size))))
    p_b = 1 / (1 + np.exp(-(signal + rng.normal(0, 0.55, y.size))))
    return y, p_a, p_b


class PairedComparison(Problem):
    title = "a paired comparison on the same cases"
    names = ("paired_difference",)
    reimplements = ("cancer_course.evaluation.compare_aucs", "cancer_course.matched.compare")
    lesson = LESSON + ": section 6 (and lesson 10: comparing two models on the same cases)"
    hints = (
        "Both models scored the same cases, so their errors move together: resample the cases once and compute both "
        "AUCs on that one resample; the spread of the differences is the interval.",
        "difference = AUC(labels, p_a) - AUC(labels, p_b). n_boot times: one set of indices drawn with replacement "
        "(stratified by class), the difference of the two AUCs on it; the interval is the 2.5th and 97.5th percentile. "
        "Scores of different lengths are not the same cases: refuse them with ValueError.",
        "Last hint. Fill the blanks: if len(p_a) != len(labels) or len(p_b) != ____: raise ValueError(...); idx = "
        "np.r_[rng.choice(pos, pos.size), rng.choice(neg, neg.size)]; diffs.append(roc_auc_score(y[idx], pa[____]) - "
        "roc_auc_score(y[idx], pb[____]))",
    )
    solution_code = '''
    def paired_difference(labels, p_a, p_b, n_boot=1000, seed=0):
        y, pa, pb = np.asarray(labels), np.asarray(p_a), np.asarray(p_b)
        if not len(y) == len(pa) == len(pb):
            raise ValueError(f"{len(pa)} and {len(pb)} scores for {len(y)} cases: not the same cases")
        rng = np.random.default_rng(seed)
        pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
        diffs = []
        for _ in range(n_boot):
            idx = np.r_[rng.choice(pos, pos.size), rng.choice(neg, neg.size)]
            diffs.append(roc_auc_score(y[idx], pa[idx]) - roc_auc_score(y[idx], pb[idx]))
        low, high = np.percentile(diffs, [2.5, 97.5])
        return {"difference": roc_auc_score(y, pa) - roc_auc_score(y, pb), "ci_low": low, "ci_high": high}
    '''

    def _check(self, paired_difference):
        from .. import evaluation

        y, p_a, p_b = _paired_scores()
        try:
            refused = paired_difference(y, p_a, p_b[:-20], n_boot=50, seed=0)
        except ValueError:
            refused = None
        if refused is not None:
            raise Incorrect("paired_difference compared 200 scores of model A with 180 of model B and returned a result: "
                            "scores of different cases cannot be paired; raise ValueError when the lengths differ.")
        result = paired_difference(y, p_a, p_b, n_boot=1000, seed=0)
        if not isinstance(result, dict) or not {"difference", "ci_low", "ci_high"} <= set(result):
            raise Incorrect(f"paired_difference returned {result!r}; return a dict with 'difference', 'ci_low' and "
                            "'ci_high'.")
        diff, low, high = (float(result[k]) for k in ("difference", "ci_low", "ci_high"))
        ref = evaluation.compare_aucs(y, p_a, p_b, n_boot=10000, seed=1)
        if abs(diff + ref["difference"]) < 1e-6 and abs(diff) > 1e-6:
            raise Incorrect(f"the difference is {diff:+.4f}, B minus A; the question is A minus B "
                            f"({ref['difference']:+.4f}).")
        if abs(diff - ref["difference"]) > 1e-6:
            raise Incorrect(f"the difference is {diff:+.4f}, but AUC(A) - AUC(B) on these cases is "
                            f"{ref['difference']:+.4f}: compute both AUCs on all the cases.")
        if not low <= diff <= high or not low < high:
            raise Incorrect(f"the interval ({low:+.4f}, {high:+.4f}) does not surround the difference {diff:+.4f} or "
                            "has no width: give the 2.5th and 97.5th percentile of the resampled differences.")
        width, ref_width = high - low, ref["ci_high"] - ref["ci_low"]
        rng = np.random.default_rng(2)
        pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)

        def resampled_aucs(p):  # 2000 stratified resamples, each drawn independently of the other model's
            idx = np.concatenate([pos[rng.integers(0, pos.size, (2000, pos.size))],
                                  neg[rng.integers(0, neg.size, (2000, neg.size))]], axis=1)
            return evaluation._auc_rows(p[idx], y[idx])

        unpaired = resampled_aucs(p_a) - resampled_aucs(p_b)
        unpaired_width = float(np.subtract(*np.percentile(unpaired, [97.5, 2.5])))
        if width > 1.6 * ref_width:
            why = (f" A bootstrap that resamples the two models' cases separately gives about {unpaired_width:.3f}:"
                   if width > 0.7 * unpaired_width else "")
            raise Incorrect(f"the interval is {width:.3f} wide, resampling the same cases for both models gives about "
                            f"{ref_width:.3f}.{why} draw one set of indices per resample and score both models on it "
                            "(paired), so the correlation of their errors cancels.")
        if width < 0.88 * ref_width:  # a 90% interval is 0.84 times as wide as a 95% one
            raise Incorrect(f"the interval is {width:.3f} wide, a paired bootstrap of these {len(y)} cases gives about "
                            f"{ref_width:.3f}: resample all the cases with replacement, n_boot times, and take the 2.5th and 97.5th "
                            "percentiles of the differences (a 95% interval: a 90% one is about 0.84 times as "
                            "wide).")
        return (f"A - B = {diff:+.3f}, interval {low:+.3f} to {high:+.3f}: paired, {unpaired_width / width:.1f} times "
                "narrower than resampling the two models separately would claim.")


# ---------------------------------------------------------------- q4
def _paragraphs(text: str) -> list[str]:
    return [p for p in text.split("\n\n") if p.strip()]


def _section(text: str, heading: str) -> str | None:
    """The body of the Markdown section whose `## ` heading starts with `heading` (None without one)."""
    parts = text.split("\n## ")
    for part in parts[1:]:
        title, _, body = part.partition("\n")
        if title.strip().lower().startswith(heading.lower()):
            return body
    return None


class CapstoneCard(Problem):
    title = "a model card with data, preprocessing, intervals and limits"
    names = ("card_path", "result")
    lesson = LESSON + ": section 8 (and lesson 12: a model card from the evaluation)"
    hints = (
        "modelcard.write_model_card writes the metrics with intervals from `result`; what only you know goes in "
        "through its arguments: data_description=, training= (preprocessing and training), extra_limits=.",
        "data_description: which data (its folder), how it was split, what the audit found; training: a sentence that "
        "starts 'Preprocessing:' and gives the image size (e.g. '16x16 px') and the resizing; extra_limits: at least "
        "one limit you found in this run (the standard ones are added anyway).",
        "Last hint. Fill the blanks: return modelcard.write_model_card(path, result, model, data_description=f'... "
        "{____} ...', training=f'Preprocessing: ... resized to {size}x{size} px ...', extra_limits=[____])",
    )
    solution_code = '''
    def write_card(path, result, model, data_root, size):
        found = audit.audit(data_root, workers=1)
        data_text = (f"Synthetic tiles generated by the course in {data_root}, its own train, validation and test "
                     f"splits; the audit found {len(found.duplicate_groups)} duplicate group(s) and "
                     f"{len(found.group_leaks)} patient(s) in two splits. " + modelcard.describe_data(result))
        preprocessing = (f"Preprocessing: RGB, resized to {size}x{size} px (bilinear), scaled to [0, 1]; no augmentation. "
                         "A small CNN trained for 4 epochs; threshold by Youden's J on validation.")
        limits = [f"**Tiny test split.** {result['dataset']['n']} test images: the AUC interval "
                  f"({result['auc_ci'][0]:.3f} to {result['auc_ci'][1]:.3f}) is wide."]
        return modelcard.write_model_card(path, result, model, data_description=data_text, training=preprocessing,
                                          extra_limits=limits)
    '''

    def _check(self, card_path, result):
        from ..evaluation import threshold_is_a_result
        from ..modelcard import default_limits

        if not isinstance(result, dict) or not {"auc", "auc_ci", "bootstrap", "dataset", "model"} <= set(result):
            raise Incorrect("`result` is not what evaluation.evaluate returns: pass the evaluation the card was written "
                            "from.")
        if not isinstance(card_path, str | Path) or not Path(card_path).is_file():
            raise Incorrect(f"{card_path!r} is not a file: return the path write_model_card wrote (it returns it).")
        card = Path(card_path).read_text(encoding="utf-8")
        if "not for clinical use" not in card.lower():
            raise Incorrect("the card never says 'Not for clinical use': every card of this course says so first "
                            "(write_model_card does).")
        data = _section(card, "Data")
        folder = Path(result["dataset"]["root"]).name
        if data is None:
            raise Incorrect("the card has no '## Data' section: say which data the model was trained and tested on.")
        if folder not in data:
            raise Incorrect(f"the Data section never names the data ({folder!r}, the folder evaluated): name the "
                            "dataset so a reader knows what the numbers are about.")
        if str(result["dataset"]["n"]) not in data:
            raise Incorrect(f"the Data section does not say how many test images there were ({result['dataset']['n']}): "
                            "modelcard.describe_data(result) writes that sentence.")
        size = result["model"]["input_shape"][1]
        preprocessing = [p for p in _paragraphs(card) if "preprocess" in p.lower()]
        if not preprocessing:
            raise Incorrect("no paragraph of the card describes the preprocessing: add one that starts 'Preprocessing:' "
                            "(for example through training=...).")
        if not any(f"{size}x{size}" in p or f"{size} px" in p for p in preprocessing):
            raise Incorrect(f"the preprocessing paragraph does not give the image size the model reads ({size}x{size} "
                            "px): a reader needs it to feed the model the same images.")
        table = _section(card, "Metrics") or ""
        wanted = [("AUC", result["auc"], result["auc_ci"])]
        boot = result["bootstrap"]["chosen" if threshold_is_a_result(result) else "0.5"]
        conf = result["confusion_matrix_chosen" if threshold_is_a_result(result) else "confusion_matrix"]
        wanted += [("sensitivity", conf["sensitivity"], boot["sensitivity"]),
                   ("specificity", conf["specificity"], boot["specificity"])]
        for name, value, (low, high) in wanted:
            numbers = (f"{value:.3f}", f"{low:.3f}", f"{high:.3f}")
            if not any(all(n in line for n in numbers) for line in table.splitlines()):
                raise Incorrect(f"the Metrics section has no line with the {name} {numbers[0]} and its interval "
                                f"{numbers[1]} to {numbers[2]}: write the card from the evaluation (write_model_card "
                                "does), so every figure carries its interval.")
        limits = _section(card, "Known limits")
        if limits is None:
            raise Incorrect("the card has no '## Known limits' section: say where the model fails or is uncertain.")
        standard = [limit[:40] for limit in default_limits(result)]
        items = [line for line in limits.splitlines() if line.startswith("- ")]
        own = [line for line in items if not any(s in line for s in standard)]
        if not own:
            raise Incorrect("the Known limits are only the standard ones: add at least one limit this run found "
                            "(extra_limits=[...]), e.g. how few test images there were, what the audit found.")
        return f"data, preprocessing at {size}x{size} px, metrics with intervals and {len(own)} limit(s) of your own."


q1 = LeakFreeSplit()
q2 = MetricsWithIntervals()
q3 = PairedComparison()
q4 = CapstoneCard()
q5 = ReadingTheCapstone()
PROBLEMS = register(globals(), "14")
