"""Exercises for lesson 08: overfitting remedies and class imbalance.

q1 a fair remedy experiment (configurations) · q2 recall at a fixed specificity · q3 focal loss by
hand · q4 an oversampling pipeline that balances batches · q5 which remedies' gains exceed the
seed-to-seed noise, from per-seed results (interpretive).
"""

from __future__ import annotations

import numpy as np

from ._choice import Choice, format_table
from ._ex08_seeds import SEED_RESULTS, _remedy_options, seed_gain  # noqa: F401 (seed_gain: ex08.seed_gain)
from .core import Incorrect, Problem, register

LESSON = "lesson 08 (overfitting and class imbalance; cancer_course/experiments.py)"


class RemedyExperiment(Problem):
    title = "a fair remedy experiment"
    names = ("remedy_configs",)
    lesson = LESSON + ": section 1, 'Variant' and 'REMEDIES'"
    hints = (
        "A fair comparison changes one knob at a time against a baseline that changes none, then combines them. "
        "experiments.Variant(name, ...) takes only the knobs that differ from the baseline.",
        "Four configurations: Variant('baseline'); one with augmentation=1.0 only; one with label_smoothing=0.1 only; "
        "one with both. Every name different.",
        "Fill the blanks: [Variant('baseline'), Variant('augmentation', ____=1.0), Variant('label smoothing', "
        "____=0.1), Variant('both', ____, ____)] - four names, four rows of the table.",
    )
    solution_code = '''
    from cancer_course.experiments import Variant

    remedy_configs = [
        Variant("baseline"),
        Variant("augmentation", augmentation=1.0),
        Variant("label smoothing 0.1", label_smoothing=0.1),
        Variant("augmentation + label smoothing", augmentation=1.0, label_smoothing=0.1),
    ]
    '''

    def _check(self, remedy_configs):
        from dataclasses import fields

        from ..experiments import Variant

        if not isinstance(remedy_configs, list | tuple) or not remedy_configs:
            raise Incorrect(f"`remedy_configs` should be a list of experiments.Variant, not "
                            f"{type(remedy_configs).__name__}.")
        for c in remedy_configs:
            if not isinstance(c, Variant):
                raise Incorrect(f"{c!r} is not an experiments.Variant: write Variant('name', knob=value, ...).")
        base = Variant("_")
        knobs = [f.name for f in fields(Variant) if f.name != "name"]

        def changed(c):
            return {k: getattr(c, k) for k in knobs if getattr(c, k) != getattr(base, k)}

        names = [c.name for c in remedy_configs]
        if len(set(names)) != len(names):
            raise Incorrect(f"two configurations share a name ({names}): each row of the table needs its own name.")
        if changed(remedy_configs[0]):
            raise Incorrect(f"the first configuration, {names[0]!r}, changes {changed(remedy_configs[0])}: start "
                            "with the baseline, Variant('baseline'), which changes nothing - every remedy is "
                            "judged against it.")
        wanted = {"augmentation": 1.0, "label_smoothing": 0.1}
        rest = [changed(c) for c in remedy_configs[1:]]
        for c, diff in zip(remedy_configs[1:], rest):
            other = {k: v for k, v in diff.items() if k not in wanted}
            if other:
                raise Incorrect(f"{c.name!r} also changes {other}: this experiment compares only augmentation=1.0 and "
                                "label_smoothing=0.1; any other difference would muddle the comparison.")
            wrong = {k: v for k, v in diff.items() if v != wanted[k]}
            if wrong:
                raise Incorrect(f"{c.name!r} sets {wrong}; use augmentation=1.0 and label_smoothing=0.1.")
        for knob, value in wanted.items():
            if {knob: value} not in rest:
                both = [d for d in rest if knob in d]
                why = (" it only appears together with another knob, so its own effect cannot be told apart"
                       if both else "")
                raise Incorrect(f"no configuration changes {knob}={value} *alone*:{why} add "
                                f"Variant('...', {knob}={value}).")
        if wanted not in rest:
            raise Incorrect("no configuration combines both remedies: add one with augmentation=1.0 and "
                            "label_smoothing=0.1, to see whether they add up.")
        if len(remedy_configs) != 4:
            raise Incorrect(f"{len(remedy_configs)} configurations; this experiment needs exactly four: the baseline, "
                            "each remedy alone, and both (no duplicates).")
        return "baseline, each remedy alone, then both: same data, seed and budget for every row."


def _recall_cases() -> list:
    """(labels, scores, specificity): ties, whole and fractional ceil(specificity * n), shuffled classes."""
    y = np.array([0] * 10 + [1] * 5)
    p = np.array([0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.9,  # benign
                  0.95, 0.6, 0.45, 0.38, 0.1])  # malignant
    cases = [(y, p, 0.9)]
    rng = np.random.default_rng(8)
    for spec, n_neg, n_pos, decimals in ((0.75, 20, 12, 1), (0.9, 37, 11, 2), (0.8, 50, 30, 1), (0.95, 120, 9, None),
                                         (0.5, 16, 10, 1), (0.75, 40, 60, None)):
        y = np.array([0] * n_neg + [1] * n_pos)
        p = np.concatenate([rng.beta(2, 4, n_neg), rng.beta(4, 2, n_pos)])
        p = p.round(decimals) if decimals else p  # rounding makes ties, also across the classes
        order = rng.permutation(y.size)
        cases.append((y[order], p[order], spec))
    cases.append((np.array([1, 0, 0, 1, 0, 1, 0]), np.array([0.31, 0.4, 0.1, 0.9, 0.3, 0.2, 0.2]), 0.75))
    return cases


def _kth(values, index):
    return values[min(max(index, 0), len(values) - 1)]


def _recall_mistakes(y, p, spec) -> dict:
    """What the usual wrong versions of recall at a fixed specificity return (for the check's messages)."""
    from ..experiments import recall_at_specificity

    neg, pos, n = np.sort(p[y == 0]), p[y == 1], int((y == 0).sum())
    k = int(np.ceil(spec * n))
    first = np.sort(p[:n])  # the first n scores, as if the benign ones came first
    return {
        "ge": float(np.mean(pos >= _kth(neg, k - 1))),
        "floor": float(np.mean(pos > _kth(neg, int(spec * n) - 1))),
        "index": float(np.mean(pos > _kth(neg, int(spec * n)))),
        "quantile": float(np.mean(pos > np.quantile(neg, spec))),
        "quantile_all": float(np.mean(pos > np.quantile(p, spec))),
        "max": float(np.mean(pos > neg.max())),
        "fixed": recall_at_specificity(y, p, 0.9),
        "position": float(np.mean(p[n:] > _kth(first, k - 1))),
    }


RECALL_MISTAKES = {
    "ge": "a malignant score *equal* to the threshold counts as caught in yours. The threshold is a benign score, "
          "and the rule is 'Malignant when p > threshold' (strictly above), so the benign scores at the threshold "
          "stay benign and the specificity is kept: use >, not >=.",
    "floor": "int() rounds down: with 37 benign scores and specificity 0.9, int(33.3) = 33 leaves only 33 of 37 "
             "(89%) at or below the threshold. Round *up*: k = ceil(specificity * n), the threshold is the k-th "
             "smallest (index k - 1).",
    "index": "your threshold is one place too high whenever specificity * n is a whole number (0.8 * 50 = 40: the "
             "40th smallest benign score is at index 39, not 40). k = ceil(specificity * n); threshold = "
             "sorted_benign[k - 1].",
    "quantile": "np.quantile interpolates between two benign scores, so your threshold is usually no score at all "
                "and the count of benign scores at or below it is not the one the rule asks for. Take the "
                "k-th smallest benign score itself, k = ceil(specificity * n).",
    "quantile_all": "the quantile of *all* scores mixes the malignant ones in: choose the threshold from the benign "
                    "scores only (specificity is about benign images).",
    "max": "your threshold sits above *every* benign score (100% specificity). 90% specificity lets one benign score "
           "in ten above the threshold: take the ceil(specificity * n)-th smallest benign score.",
    "fixed": "yours gives the same answer whatever `specificity` is: use the argument, not 0.9.",
    "position": "yours takes the first scores as the benign ones: select benign and malignant scores by their label "
                "(p[y_true == 0]), the images come in any order.",
}


class RecallAtSpecificity(Problem):
    title = "recall at a fixed specificity"
    names = ("recall_at_specificity",)
    reimplements = ("cancer_course.experiments.recall_at_specificity",)
    lesson = LESSON + ": section 2, 'recall_at_specificity'"
    hints = (
        "Specificity is the share of *benign* images called benign. Choose the threshold from the benign scores "
        "only: at least `specificity` of them must lie at or below it. Then measure recall on the malignant scores.",
        "Sort the benign scores; with n of them, the threshold is the k-th smallest, k = ceil(specificity * n) "
        "(index k - 1; round up, never down, and do not interpolate). Recall = share of malignant scores strictly "
        "above the threshold.",
        "Fill the blanks: neg = np.sort(p[____]); k = int(np.ceil(____ * len(neg))); threshold = neg[____]; "
        "recall = np.mean(p[y_true == 1] ____ threshold).",
    )
    solution_code = '''
    import numpy as np

    def recall_at_specificity(y_true, p, specificity=0.9):
        y_true, p = np.asarray(y_true), np.asarray(p)
        negatives = np.sort(p[y_true == 0])
        threshold = negatives[int(np.ceil(specificity * len(negatives))) - 1]
        return float(np.mean(p[y_true == 1] > threshold))
    '''

    def _check(self, recall_at_specificity):
        from ..experiments import recall_at_specificity as reference

        cases = _recall_cases()
        got = []
        for y, p, spec in cases:
            value = recall_at_specificity(y.copy(), p.copy(), spec)
            if np.ndim(value) != 0:
                raise Incorrect(f"recall_at_specificity returned an array of shape {np.shape(value)}: return one "
                                "number, the share of malignant scores above the threshold.")
            got.append(float(value))
        want = [reference(y, p, spec) for y, p, spec in cases]
        if np.allclose(got, want, atol=1e-9):
            return "at 90% specificity, 2 of 5 malignant tiles are caught in the example."
        i = next(i for i, (g, w) in enumerate(zip(got, want, strict=True)) if abs(g - w) > 1e-9)
        y, p, spec = cases[i]
        ties = "with ties, " if len(np.unique(p)) < p.size else ""
        where = (f"with {int((y == 0).sum())} benign and {int(y.sum())} malignant scores ({ties}specificity {spec}) "
                 f"yours gives {got[i]:.4g}, expected {want[i]:.4g}")
        mistakes = [_recall_mistakes(y, p, spec) for y, p, spec in cases]
        for name, message in RECALL_MISTAKES.items():
            if np.allclose(got, [m[name] for m in mistakes], atol=1e-9):
                raise Incorrect(f"{where}: {message}")
        if i == 0:
            raise Incorrect(f"on a known example (10 benign scores, the 9th smallest 0.5; malignant 0.95, 0.6, 0.45, "
                            f"0.38, 0.1) recall at 90% specificity should be 2/5 = 0.4, yours is {got[0]:.3g}. Pick "
                            "the threshold from the benign scores only, then measure recall on the malignant ones.")
        raise Incorrect(f"{where}. Threshold = the ceil(specificity * n)-th smallest benign score; recall = share "
                        "of malignant scores > it.")


class FocalLoss(Problem):
    title = "focal loss by hand"
    names = ("focal_loss",)
    reimplements = ("cancer_course.training.loss_for",)
    lesson = LESSON + ": section 2, focal loss (training.compile_model(focal=True))"
    hints = (
        "Focal loss is cross-entropy multiplied by (1 - p_t) ** gamma, where p_t is the probability the model "
        "gave the *true* class: easy, confident-and-right examples (p_t near 1) count almost nothing.",
        "p_t = y * p + (1 - y) * (1 - p); cross-entropy = -log(p_t). Clip p to [1e-7, 1 - 1e-7] first; return the "
        "mean over the batch. With gamma = 0 it is ordinary binary cross-entropy.",
        "Fill the blanks: p = np.clip(p, 1e-7, 1 - 1e-7); p_t = y * ____ + (1 - y) * ____; "
        "loss per image = -(____) ** gamma * np.log(____); return the ____ over the batch as a float.",
    )
    solution_code = '''
    import numpy as np

    def focal_loss(y_true, p, gamma=2.0):
        y = np.asarray(y_true, dtype="float64")
        p = np.clip(np.asarray(p, dtype="float64"), 1e-7, 1 - 1e-7)
        p_t = y * p + (1 - y) * (1 - p)
        return float(np.mean(-((1 - p_t) ** gamma) * np.log(p_t)))
    '''

    def _check(self, focal_loss):
        import keras

        y = np.array([1, 1, 0, 0, 1, 0], dtype="float32")
        p = np.array([0.95, 0.3, 0.1, 0.8, 0.6, 0.45], dtype="float32")
        for gamma in (2.0, 0.0, 1.0):
            want = float(keras.losses.BinaryFocalCrossentropy(gamma=gamma)(y[:, None], p[:, None]))
            got = focal_loss(y.copy(), p.copy(), gamma=gamma)
            if np.ndim(got) != 0:
                raise Incorrect(f"focal_loss returned an array of shape {np.shape(got)}: return one number, the mean "
                                "over the batch.")
            got = float(got)
            if abs(got - want) <= 1e-4 * max(1.0, want):
                continue
            p_t = y * p + (1 - y) * (1 - p)
            bce = float(np.mean(-np.log(p_t)))
            if abs(got + want) <= 1e-4 * max(1.0, want):
                raise Incorrect(f"with gamma={gamma} yours is {got:.4f}, the negative of the loss ({want:.4f}): "
                                "cross-entropy is -log(p_t), a positive number that training makes smaller.")
            if gamma != 2.0 and abs(got - float(np.mean(-((1 - p_t) ** 2) * np.log(p_t)))) < 1e-4:
                raise Incorrect(f"with gamma={gamma} yours gives the loss for gamma=2: use the `gamma` argument in "
                                "(1 - p_t) ** gamma instead of a fixed 2.")
            if gamma != 0 and abs(got - bce) < 1e-4:
                raise Incorrect(f"with gamma={gamma} yours is plain cross-entropy ({got:.4f}): multiply each term by "
                                "(1 - p_t) ** gamma, so that easy examples count less.")
            if abs(got - float(np.mean(-(p ** gamma) * np.log(p_t)))) < 1e-4 or abs(
                    got - float(np.mean(-((1 - p) ** gamma) * np.log(p_t)))) < 1e-4:
                raise Incorrect(f"with gamma={gamma} yours is {got:.4f}, expected {want:.4f}: the modulating factor "
                                "uses p_t, the probability of the *true* class (p for malignant, 1 - p for benign), "
                                "not p itself.")
            if abs(got - float(np.sum(-((1 - p_t) ** gamma) * np.log(p_t)))) < 1e-4:
                raise Incorrect("yours is the *sum* over the batch: return the mean, as Keras' losses do.")
            raise Incorrect(f"with gamma={gamma} yours gives {got:.4f} on a batch of 6; Keras' BinaryFocalCrossentropy "
                            f"gives {want:.4f}. Loss per image: -(1 - p_t) ** gamma * log(p_t); then the mean.")
        easy = focal_loss(np.array([1.0]), np.array([0.95]), gamma=2.0)
        hard = focal_loss(np.array([1.0]), np.array([0.3]), gamma=2.0)
        ratio = float(hard) / float(easy)
        return f"a hard example (p_t = 0.3) now weighs {ratio:,.0f} times an easy one (p_t = 0.95)."


class BalancedBatches(Problem):
    title = "an oversampling pipeline that balances batches"
    names = ("balanced_batches",)
    reimplements = ("cancer_course.experiments.oversampled",)
    lesson = LESSON + ": section 2, 'oversampled'"
    hints = (
        "Balanced batches need as many draws from the rare class as from the common one, however many images "
        "each has. tf.data can draw each element from one of several datasets, at random with given weights.",
        "tf.data.Dataset.sample_from_datasets(datasets, weights=[0.5, 0.5]) draws single images. The rare class runs "
        "out first: make each class's dataset endless with .repeat() (after shuffling), sample, and only then "
        ".batch(batch_size) (batching each class first would give one-class batches) and .take(steps) so that an "
        "'epoch' has an end.",
        "Fill the blanks: per_class = [benign.shuffle(1000, seed=seed).____, malignant.____]; ds = "
        "tf.data.Dataset.sample_from_datasets(per_class, weights=____, seed=seed); return ds.____.____",
    )
    solution_code = '''
    import tensorflow as tf

    def balanced_batches(benign, malignant, batch_size, steps, seed=0):
        per_class = [benign.shuffle(1000, seed=seed).repeat(), malignant.shuffle(1000, seed=seed).repeat()]
        ds = tf.data.Dataset.sample_from_datasets(per_class, weights=[0.5, 0.5], seed=seed)
        return ds.batch(batch_size).take(steps)
    '''

    def _check(self, balanced_batches):
        share, ids = self._one_run(balanced_batches, 16, 25, 0, first=True)
        self._one_run(balanced_batches, 8, 7, 1, first=False)  # other arguments: nothing hard-coded
        _, again = self._one_run(balanced_batches, 16, 25, 0, first=False)
        if not np.array_equal(ids, again):
            raise Incorrect("two calls with seed=0 gave different batches: pass the seed on (shuffle(..., seed=seed), "
                            "sample_from_datasets(..., seed=seed)), so that a run can be repeated exactly.")
        return f"{share:.0%} malignant over 25 batches from a split with 10%: rare tiles re-drawn, not copied."

    def _one_run(self, balanced_batches, batch_size, steps, seed, first):
        import tensorflow as tf

        from .core import take_bounded

        benign = tf.data.Dataset.range(90).map(lambda i: (tf.cast(i, tf.float32), tf.constant(0, tf.int64)))
        malignant = tf.data.Dataset.range(100, 110).map(lambda i: (tf.cast(i, tf.float32), tf.constant(1, tf.int64)))
        call = f"balanced_batches(benign, malignant, batch_size={batch_size}, steps={steps}, seed={seed})"
        ds = balanced_batches(benign, malignant, batch_size=batch_size, steps=steps, seed=seed)
        if not isinstance(ds, tf.data.Dataset):
            raise Incorrect(f"{call} returned {type(ds).__name__}, not a tf.data.Dataset.")
        if int(ds.cardinality()) == int(tf.data.INFINITE_CARDINALITY):
            raise Incorrect(f"{call} never ends: end the epoch with .take(steps), as the last step (the per-class "
                            "datasets repeat forever, so the sampled one does too; no .repeat() after the .take).")
        try:
            elements = take_bounded(ds, 2 * steps, what=call)
        except Incorrect:
            raise Incorrect(f"{call} gives more than {2 * steps} batches: end the epoch with .take(steps), "
                            f"steps={steps}, after batching.") from None
        batches = [(np.asarray(x).reshape(-1), np.asarray(y).reshape(-1)) for x, y in elements]
        if len(batches) > steps:
            raise Incorrect(f"{call} gave {len(batches)} batches: end the epoch with .take(steps), steps={steps}.")
        if not batches:
            raise Incorrect(f"{call} is empty.")
        mixed = [len(set(b[1].tolist())) > 1 for b in batches]
        if len(batches) > 2 and not any(mixed):
            raise Incorrect(f"every batch of {call} holds one class only: you batched each class before sampling, "
                            "so sample_from_datasets draws whole batches. Sample single images, then "
                            ".batch(batch_size), so that every batch mixes both classes.")
        sizes = sorted({b[1].size for b in batches})
        if batches[0][1].size != batch_size:
            raise Incorrect(f"the first batch of {call} holds {batches[0][1].size} elements: batch the sampled "
                            "elements with .batch(batch_size), using the argument.")
        ids = np.concatenate([b[0] for b in batches])
        labels = np.concatenate([b[1] for b in batches])
        share = float(labels.mean())
        if len(batches) < steps:
            raise Incorrect(f"only {len(batches)} batches of the {steps} asked for ({call}; batch sizes {sizes}): "
                            "the malignant dataset (10 images) ran out. Make each class endless with .repeat() "
                            "before sampling.")
        if first and share < 0.35:
            raise Incorrect(f"only {share:.0%} of the sampled images are malignant (the source has 10%): draw each "
                            "class with probability 1/2, tf.data.Dataset.sample_from_datasets(..., weights=[0.5, "
                            "0.5]), and .repeat() the rare class so it never runs out.")
        if first and share > 0.65:
            raise Incorrect(f"{share:.0%} of the sampled images are malignant: the weights should be [0.5, 0.5], in "
                            "the order of the datasets.")
        if first and not set(range(100, 110)) <= set(ids.astype(int).tolist()):
            raise Incorrect(f"some malignant images never appear in {steps} batches: sample from the whole malignant "
                            "dataset.")
        return share, ids


class RemedyNoise(Choice):
    title = "which gains exceed the seed noise"
    scripted = True
    names = ("beyond_noise",)
    lesson = LESSON + ": the section that runs every remedy over several seeds"
    question = ("A remedy experiment ran every row with three seeds (0, 1, 2). Which statements follow? Count a "
                "gain as larger than the seed noise when the difference of the means is more than twice its "
                "standard error, sqrt(sd_a^2/3 + sd_b^2/3); less than one standard error is noise; in between, "
                "the evidence is weak.")
    options = _remedy_options()
    hints = (
        "For each row, compare its gain over the baseline with how much the rows vary from seed to seed.",
        "Compute mean and sample standard deviation (ddof=1) of each row's AUCs, then gain = mean - baseline mean "
        "and se = sqrt(sd_row**2 / 3 + sd_base**2 / 3). The recall column answers a different question than "
        "the AUC column.",
        "Gains in standard errors: augmentation about 5, label smoothing about 1.4, class weights and "
        "oversampling below 0.6. Then look at the recall of class weights seed by seed, and rank the rows "
        "by each seed alone.",
    )
    solution_code = '''
    beyond_noise = {"A", "C"}   # D may be added or left out: 1.4 standard errors is weak evidence
    '''

    def evidence(self) -> str:
        rows = [[name] + list(r["val_auc"]) + list(r["recall_at_0.5"]) for name, r in SEED_RESULTS.items()]
        header = ["row"] + [f"auc s{i}" for i in range(3)] + [f"recall s{i}" for i in range(3)]
        return format_table(header, rows)


q1 = RemedyExperiment()
q2 = RecallAtSpecificity()
q3 = FocalLoss()
q4 = BalancedBatches()
q5 = RemedyNoise()
PROBLEMS = register(globals(), "08")
