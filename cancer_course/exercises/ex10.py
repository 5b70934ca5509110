"""Exercises for lesson 10: evaluation.

q1 confusion-matrix rates by hand · q2 a threshold for a target sensitivity · q3 Youden's J · q4
expected calibration error · q5 a threshold from stated costs and prevalence (interpretive).
"""

from __future__ import annotations

import numbers

import numpy as np

from ._choice import format_table
from ._ex10_calibration import ECE_MISTAKES, _ece_cases, _ece_variant
from .core import Incorrect, Problem, register

LESSON = "lesson 10 (evaluation; cancer_course/evaluation/)"


def _scores(seed: int, n_benign: int = 40, n_malignant: int = 25):
    """Labels and well-separated-but-overlapping scores, shuffled, with a few exact ties."""
    rng = np.random.default_rng(seed)
    y = np.array([0] * n_benign + [1] * n_malignant)
    p = np.concatenate([rng.beta(2, 5, n_benign), rng.beta(5, 2, n_malignant)]).round(3)
    order = rng.permutation(y.size)
    return y[order], p[order]


def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real | np.floating | np.integer):
        raise Incorrect(f"{what} should be a number, but it is {type(value).__name__} ({value!r}).")
    return float(value)


def _rates(y, pred) -> dict:
    """Every ratio of two confusion counts a learner might compute, by the name of its formula."""
    tp, fn = int(np.sum(pred & (y == 1))), int(np.sum(~pred & (y == 1)))
    tn, fp = int(np.sum(~pred & (y == 0))), int(np.sum(pred & (y == 0)))
    counts = {"TP": tp, "FN": fn, "TN": tn, "FP": fp}
    out = {}
    for top in counts:
        for other in counts:
            if other != top:
                total = counts[top] + counts[other]
                out[f"{top} / ({top} + {other})"] = counts[top] / total if total else float("nan")
    return out


RATE_FORMULAS = {"sensitivity": "TP / (TP + FN)", "specificity": "TN / (TN + FP)", "ppv": "TP / (TP + FP)",
                 "npv": "TN / (TN + FN)"}
RATE_NAMES = {"TP / (TP + FN)": "the sensitivity", "TN / (TN + FP)": "the specificity", "TP / (TP + FP)": "the PPV",
              "TN / (TN + FN)": "the NPV", "FP / (FP + TN)": "the false-positive rate (1 - specificity)",
              "FN / (FN + TP)": "the false-negative rate (1 - sensitivity)",
              "FP / (FP + TP)": "the false-discovery rate (1 - PPV)", "FN / (FN + TN)": "1 - NPV"}


class ConfusionRates(Problem):
    title = "confusion-matrix rates by hand"
    names = ("confusion_rates",)
    reimplements = ("cancer_course.evaluation.confusion_at", "cancer_course.evaluation.classification_report")
    lesson = LESSON + ": section 2, 'confusion_at'"
    hints = (
        "Call Malignant when p >= threshold. Count TP (malignant called malignant), FN (malignant called benign), "
        "TN and FP. Each rate divides one count by the images of a row or a column of the confusion matrix.",
        "sensitivity = TP / (TP + FN) (all malignant images), specificity = TN / (TN + FP) (all benign images), "
        "PPV = TP / (TP + FP) (all called malignant), NPV = TN / (TN + FN) (all called benign).",
        "Fill the blanks: pred = p ____ threshold; tp = np.sum(pred & (y == 1)); fn = np.sum(____ & (y == 1)); "
        "tn = ____; fp = ____; return {'sensitivity': ____, 'specificity': ____, 'ppv': ____, 'npv': ____}",
    )
    solution_code = '''
    import numpy as np

    def confusion_rates(y_true, p, threshold=0.5):
        y, p = np.asarray(y_true), np.asarray(p)
        pred = p >= threshold
        tp = np.sum(pred & (y == 1))
        fn = np.sum(~pred & (y == 1))
        tn = np.sum(~pred & (y == 0))
        fp = np.sum(pred & (y == 0))
        return {"sensitivity": tp / (tp + fn), "specificity": tn / (tn + fp),
                "ppv": tp / (tp + fp), "npv": tn / (tn + fn)}
    '''

    def _check(self, confusion_rates):
        from ..evaluation import confusion_at

        keys = tuple(RATE_FORMULAS)
        y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
        p = np.array([0.9, 0.5, 0.4, 0.2, 0.1, 0.3, 0.5, 0.7, 0.2, 0.05])
        cases = [(y, p, 0.5)] + [(*_scores(s), t) for s, t in ((0, 0.5), (1, 0.3), (2, 0.62))]
        cases[-1][1][:3] = 0.62  # scores exactly at the threshold
        got = []
        for y, p, threshold in cases:
            answer = confusion_rates(y.copy(), p.copy(), threshold)
            if not isinstance(answer, dict):
                raise Incorrect(f"confusion_rates returned {type(answer).__name__}; return a dict with the keys "
                                f"{keys}.")
            missing = [k for k in keys if k not in answer]
            if missing:
                raise Incorrect(f"the dict has no {missing[0]!r} key; it needs {', '.join(keys)}.")
            got.append({k: _number(answer[k], f"got[{k!r}]") for k in keys})
        want = [confusion_at(y, p, t) for y, p, t in cases]
        if all(abs(g[k] - w[k]) < 1e-9 for g, w in zip(got, want, strict=True) for k in keys):
            return "sensitivity and specificity describe the model; PPV and NPV also depend on prevalence."

        def matches(rule):  # the formula each key follows on every case, under a calling rule
            found = {}
            tables = [_rates(y, rule(p, t)) for y, p, t in cases]
            for k in keys:
                found[k] = next((f for f in tables[0] if all(abs(g[k] - tab[f]) < 1e-9
                                                             for g, tab in zip(got, tables, strict=True))), None)
            return found

        rules = {">=": lambda p, t: p >= t, ">": lambda p, t: p > t, "0.5": lambda p, t: p >= 0.5}
        found = {name: matches(rule) for name, rule in rules.items()}
        right = {name: [k for k in keys if f[k] == RATE_FORMULAS[k]] for name, f in found.items()}
        if len(right[">"]) == 4:
            raise Incorrect("an image with p exactly at the threshold should be called Malignant: the rule is "
                            "p >= threshold (the same as cancer-course predict), not p > threshold.")
        if len(right["0.5"]) == 4:
            raise Incorrect("yours gives the rates at 0.5 whatever the threshold: call Malignant when "
                            "p >= threshold, using the `threshold` argument.")
        formulas = found[">="]
        if (formulas["sensitivity"], formulas["specificity"]) == (RATE_FORMULAS["specificity"],
                                                                 RATE_FORMULAS["sensitivity"]):
            raise Incorrect("sensitivity and specificity are swapped: sensitivity is the share of *malignant* "
                            "images called malignant, TP / (TP + FN).")
        if (formulas["sensitivity"], formulas["ppv"]) == (RATE_FORMULAS["ppv"], RATE_FORMULAS["sensitivity"]):
            raise Incorrect("sensitivity and PPV are swapped: sensitivity divides by all malignant images "
                            "(TP + FN), PPV by all images *called* malignant (TP + FP).")
        for k in keys:
            f = formulas[k]
            if f is not None and f != RATE_FORMULAS[k]:
                raise Incorrect(f"your {k} is {f}, {RATE_NAMES.get(f, 'another ratio')}; {k} = {RATE_FORMULAS[k]} "
                                "(Malignant when p >= threshold).")
        i, k = next((i, k) for i, (g, w) in enumerate(zip(got, want, strict=True)) for k in keys
                    if abs(g[k] - w[k]) >= 1e-9)
        y, p, threshold = cases[i]
        raise Incorrect(f"at threshold {threshold} on {y.size} images {k} is {got[i][k]:.4g}, expected "
                        f"{want[i][k]:.4g} = {RATE_FORMULAS[k]} (Malignant when p >= threshold).")


class ThresholdForSensitivity(Problem):
    title = "a threshold for a target sensitivity"
    names = ("threshold_for_sensitivity",)
    reimplements = ("cancer_course.evaluation.threshold_for_sensitivity",)
    lesson = LESSON + ": section 5, 'threshold_for_sensitivity'"
    hints = (
        "Lowering the threshold can only raise sensitivity (and lower specificity). Among the thresholds that reach "
        "the target sensitivity, the best is the *highest* one: it keeps the most specificity.",
        "Try the distinct scores as thresholds, from the highest down, and stop at the first whose sensitivity "
        "(share of malignant scores >= t) reaches the target. Equivalently: sort the malignant scores from high to "
        "low; you need k = ceil(target * n_malignant) of them at or above t, so t is the k-th highest.",
        "Fill the blanks: malignant = np.sort(p[____])[::-1] (highest first); k = int(np.ceil(____ * "
        "len(malignant))); return float(malignant[____]).",
    )
    solution_code = '''
    import numpy as np

    def threshold_for_sensitivity(y_true, p, target=0.95):
        y, p = np.asarray(y_true), np.asarray(p)
        malignant = np.sort(p[y == 1])[::-1]
        k = int(np.ceil(target * len(malignant) - 1e-9))
        return float(malignant[k - 1])
    '''

    def _check(self, threshold_for_sensitivity):
        from ..evaluation import confusion_at
        from ..evaluation import threshold_for_sensitivity as reference

        y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0])
        p = np.array([0.9, 0.8, 0.6, 0.3, 0.1, 0.2, 0.4, 0.7, 0.5])
        cases = [(y, p, 0.75)] + [(*_scores(s), t) for s, t in ((3, 0.95), (4, 0.8), (5, 0.9))]
        answers = [_number(threshold_for_sensitivity(y.copy(), p.copy(), target), "the threshold")
                   for y, p, target in cases]
        fixed = [reference(y, p, 0.95)["threshold"] for y, p, _ in cases]
        if any(abs(a - w) > 1e-9 for a, w in zip(answers, [reference(*c)["threshold"] for c in cases], strict=True)):
            if np.allclose(answers, fixed, atol=1e-9):
                raise Incorrect("yours gives the threshold for sensitivity 0.95 whatever the target: use the `target` "
                                "argument.")
            every = [float(np.sort(p)[::-1][int(np.ceil(t * p.size)) - 1]) for _, p, t in cases]
            if np.allclose(answers, every, atol=1e-9):
                raise Incorrect("yours counts the benign scores too: sensitivity is about the malignant images, so "
                                "take the threshold from the malignant scores only (p[y_true == 1]).")
        for (y, p, target), got in zip(cases, answers, strict=True):
            want = reference(y, p, target)["threshold"]
            if abs(got - want) < 1e-9:
                continue
            sens = confusion_at(y, p, got)["sensitivity"]
            if sens < target - 1e-9:
                raise Incorrect(f"with target sensitivity {target} your threshold {got:.4g} reaches only sensitivity "
                                f"{sens:.3f} on {int(y.sum())} malignant images (Malignant when p >= threshold): "
                                f"lower it. The right one is {want:.4g}.")
            if got < want:
                raise Incorrect(f"with target sensitivity {target} your threshold {got:.4g} reaches it, but so does the "
                                f"higher {want:.4g}, which flags fewer benign images: take the *highest* threshold "
                                "that reaches the target.")
            raise Incorrect(f"with target {target} your threshold is {got:.4g}; expected {want:.4g}.")
        return "the highest threshold that still catches the target share of malignant images."


class Youden(Problem):
    title = "Youden's J"
    names = ("youden_threshold",)
    reimplements = ("cancer_course.evaluation.youden_threshold",)
    lesson = LESSON + ": section 5, 'youden_threshold'"
    hints = (
        "Youden's J = sensitivity + specificity - 1 = TPR - FPR: the threshold farthest above the ROC diagonal.",
        "sklearn.metrics.roc_curve(y, p) returns fpr, tpr and thresholds; take the threshold where tpr - fpr is "
        "largest. (Its first threshold is +inf, 'call nothing malignant', with J = 0.)",
        "Fill the blanks: fpr, tpr, thresholds = roc_curve(____, ____); return float(thresholds[np.argmax(____)]) "
        "- the three arrays come in the same order.",
    )
    solution_code = '''
    import numpy as np
    from sklearn.metrics import roc_curve

    def youden_threshold(y_true, p):
        fpr, tpr, thresholds = roc_curve(y_true, p)
        return float(thresholds[np.argmax(tpr - fpr)])
    '''

    def _check(self, youden_threshold):
        from ..evaluation import confusion_at
        from ..evaluation import youden_threshold as reference

        y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
        p = np.array([0.9, 0.7, 0.55, 0.2, 0.1, 0.3, 0.6, 0.4, 0.15, 0.05])
        cases = [(y, p)] + [_scores(s) for s in (6, 7, 8)]
        for y, p in cases:
            got = _number(youden_threshold(y.copy(), p.copy()), "the threshold")
            best = reference(y, p)
            conf = confusion_at(y, p, got) if np.isfinite(got) and 0 <= got <= 1 else None
            j = conf["sensitivity"] + conf["specificity"] - 1 if conf else 0.0
            if abs(j - best["j"]) < 1e-9:
                continue
            if j <= 1e-12 and got <= p.min():
                raise Incorrect(f"your threshold {got:.4g} is at or below every score, so every image is called "
                                f"malignant: sensitivity 1, specificity 0, J = 0. Maximise tpr - fpr (= J) over "
                                f"roc_curve's thresholds; the best here is {best['threshold']:.4g}.")
            if j <= 1e-12:
                raise Incorrect(f"your threshold {got:.4g} gives J = {j:.3f}: no better than chance (on or below the "
                                "ROC diagonal). Maximise tpr - fpr, not fpr - tpr; roc_curve's first threshold (inf, "
                                f"'call nothing malignant') has J = 0. The best here is {best['threshold']:.4g}.")
            if conf and abs(conf["sensitivity"] - conf["specificity"]) < 1e-9 and j < best["j"]:
                raise Incorrect(f"your threshold {got:.4g} makes sensitivity equal specificity; Youden's J maximises "
                                f"their *sum* (J = {j:.3f} there, but {best['j']:.3f} at {best['threshold']:.4g}).")
            raise Incorrect(f"your threshold {got:.4g} gives J = sensitivity + specificity - 1 = {j:.3f}; threshold "
                            f"{best['threshold']:.4g} gives {best['j']:.3f}. Maximise tpr - fpr over roc_curve's "
                            "thresholds.")
        return "the operating point farthest above the ROC diagonal."


class CalibrationError(Problem):
    title = "expected calibration error"
    names = ("ece",)
    reimplements = ("cancer_course.evaluation.expected_calibration_error", "cancer_course.evaluation.reliability_data")
    lesson = LESSON + ": section 6, 'expected_calibration_error'"
    hints = (
        "Cut [0, 1] into n_bins equal-width bins of predicted p(malignant). In each bin, compare the mean "
        "prediction with the observed share of malignant images; ECE is the average gap, weighted by how many "
        "images fall in the bin.",
        "The bin of a score is int(p * n_bins), except p = 1.0, which belongs in the last bin (n_bins - 1), not in "
        "one of its own; a score on an edge goes in the bin above it. ECE = sum over the non-empty bins of "
        "(n_bin / n) * |mean(y in bin) - mean(p in bin)|.",
        "Fill the blanks: idx = np.minimum((p * n_bins).astype(int), ____); then, over the bins b that hold "
        "images, add up ____ * abs(y[idx == b].mean() - ____).",
    )
    solution_code = '''
    import numpy as np

    def ece(y_true, p, n_bins=10):
        y, p = np.asarray(y_true, dtype=float), np.asarray(p, dtype=float)
        idx = np.minimum((p * n_bins).astype(int), n_bins - 1)
        total = 0.0
        for b in range(n_bins):
            inside = idx == b
            if inside.any():
                total += inside.mean() * abs(y[inside].mean() - p[inside].mean())
        return float(total)
    '''

    def _check(self, ece):
        from ..evaluation import expected_calibration_error

        cases = _ece_cases()
        got = [_number(ece(y.copy(), p.copy(), n_bins), "the ECE") for y, p, n_bins in cases]
        want = [expected_calibration_error(y, p, n_bins) for y, p, n_bins in cases]
        if np.allclose(got, want, atol=1e-9):
            return "0 would be perfectly calibrated; the reliability diagram shows where the gap is."
        if any(np.isnan(got)):
            raise Incorrect("yours is nan on some inputs: skip the empty bins (a mean over no images is nan).")
        for name, message in ECE_MISTAKES.items():
            if np.allclose(got, [_ece_variant(name, y, p, n_bins) for y, p, n_bins in cases], atol=1e-9):
                raise Incorrect(message)
        i = next(i for i, (g, w) in enumerate(zip(got, want, strict=True)) if abs(g - w) > 1e-9)
        y, p, n_bins = cases[i]
        raise Incorrect(f"on {y.size} images with {n_bins} bins yours gives {got[i]:.4f}, expected {want[i]:.4f}. Are "
                        "the bins equal-width on [0, 1] (p = 1.0 in the last one) and is every bin weighted by "
                        "n_bin / n?")


# Exercise 5: candidate thresholds with their sensitivity and specificity, measured on validation.
COST_TABLE = {  # threshold: (sensitivity, specificity)
    0.2: (0.98, 0.55), 0.3: (0.95, 0.70), 0.4: (0.90, 0.80), 0.5: (0.84, 0.87), 0.6: (0.75, 0.92), 0.7: (0.62, 0.96),
}
COST_PREVALENCE = 0.10  # share of malignant cases where the model would be used
COST_MISS = 20.0  # a missed cancer (false negative) costs 20 false alarms (false positives)
COST_TIE = 0.05  # expected costs within 5% of the lowest count as ties: the validation figures are not more precise


def expected_cost(threshold: float, prevalence: float = COST_PREVALENCE, miss: float = COST_MISS) -> float:
    """Expected cost per case, in units of one false alarm: prev*(1-sens)*miss + (1-prev)*(1-spec)."""
    sens, spec = COST_TABLE[threshold]
    return prevalence * (1 - sens) * miss + (1 - prevalence) * (1 - spec)


class CostThreshold(Problem):
    title = "a threshold from stated costs and prevalence"
    names = ("cost_threshold",)
    lesson = LESSON + ": the sections on choosing a threshold and on PPV and NPV at a stated prevalence"
    interpretive = True
    hints = (
        "Neither 0.5 nor Youden's J knows that a missed cancer is worse than a false alarm, or how rare cancer "
        "is where the model is used. Put both into one number per threshold.",
        "Per case, a miss happens with probability prevalence * (1 - sensitivity) and a false alarm with "
        "(1 - prevalence) * (1 - specificity). Weigh a miss 20 times a false alarm and add them up.",
        "Fill the blanks: cost(t) = 0.10 * (1 - ____) * 20 + 0.90 * (1 - ____) for each row of the table; "
        "answer the threshold with the ____ cost (costs within 5% of the smallest tie with it).",
    )
    solution_code = '''
    from cancer_course.exercises.ex10 import COST_TABLE

    def cost(t):
        sens, spec = COST_TABLE[t]
        return 0.10 * (1 - sens) * 20 + 0.90 * (1 - spec)

    cost_threshold = min(COST_TABLE, key=cost)
    '''

    def accepted(self) -> list[float]:
        best = min(expected_cost(t) for t in COST_TABLE)
        return [t for t in COST_TABLE if expected_cost(t) <= best * (1 + COST_TIE)]

    def _check(self, cost_threshold):
        if isinstance(cost_threshold, bool) or not isinstance(cost_threshold, numbers.Real):
            raise Incorrect(f"`cost_threshold` should be one of the table's thresholds (a number), not "
                            f"{type(cost_threshold).__name__}.")
        t = next((k for k in COST_TABLE if abs(k - float(cost_threshold)) < 1e-9), None)
        if t is None:
            raise Incorrect(f"{cost_threshold} is not in the table: choose one of {sorted(COST_TABLE)} (a threshold "
                            "is only known to give these rates where it was measured).")
        ok = self.accepted()
        best = min(COST_TABLE, key=expected_cost)
        cost = {k: expected_cost(k) for k in COST_TABLE}
        if t in ok:
            others = [k for k in ok if k != t]
            if t == best:
                tie = f"; {', '.join(map(str, others))} ties with it (within {COST_TIE:.0%})" if others else ""
                return f"expected cost {cost[t]:.3f} per case (in false alarms), the lowest{tie}."
            return (f"expected cost {cost[t]:.3f} per case (in false alarms), within {COST_TIE:.0%} of the lowest "
                    f"({cost[best]:.3f} at {best}): a tie, given how precise the validation figures are.")
        youden = max(COST_TABLE, key=lambda k: sum(COST_TABLE[k]) - 1)
        accuracy = max(COST_TABLE, key=lambda k: COST_PREVALENCE * COST_TABLE[k][0]
                       + (1 - COST_PREVALENCE) * COST_TABLE[k][1])
        why = {0.5: "0.5 is Keras' default, not a choice from costs",
               accuracy: f"that maximises accuracy at {COST_PREVALENCE:.0%} prevalence, which counts a missed cancer "
                         "like a false alarm",
               youden: "that is Youden's J" + (" (and the default 0.5)" if youden == 0.5 else "")
                       + ", which weighs sensitivity and specificity equally whatever the costs and the prevalence"}
        reason = why.get(t, "")
        raise Incorrect(f"at {t} the expected cost is {cost[t]:.3f} per case (in false alarms), but at {best} it is "
                        f"{cost[best]:.3f}" + (f": {reason}." if reason else ".")
                        + (" Lower thresholds catch more cancers, and a miss costs 20 false alarms."
                           if t > best else " Lower still, the false alarms of the 90% benign cases outweigh the "
                           "few extra cancers caught."))

    def evidence(self) -> str:
        return format_table(["threshold", "sensitivity", "specificity"], [[t, *v] for t, v in COST_TABLE.items()])

    def show(self) -> None:
        from .core import _show

        _show(f"Prevalence {COST_PREVALENCE:.0%}; a missed cancer costs {COST_MISS:g} false alarms.\n"
              + self.evidence() + "\n(Numbers made up for this exercise.)\nAnswer with one threshold from the table.")


q1 = ConfusionRates()
q2 = ThresholdForSensitivity()
q3 = Youden()
q4 = CalibrationError()
q5 = CostThreshold()
PROBLEMS = register(globals(), "10")
