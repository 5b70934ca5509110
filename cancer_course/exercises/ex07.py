"""Exercises for lesson 07: training.

q1 the class balance that class weights imply · q2 a learning-rate schedule · q3 callbacks: early
stopping that restores the best weights, and the schedule · q4 read the curves: which explanations
fit validation accuracy below the majority rate while the validation loss falls (interpretive).
"""

from __future__ import annotations

import numbers

import numpy as np

from ._choice import Choice, Option
from .core import Incorrect, Problem, register

LESSON = "lesson 07 (training; cancer_course/training.py)"
VAL_AUC = [0.60, 0.70, 0.80, 0.78, 0.76, 0.75, 0.74, 0.73, 0.72, 0.71, 0.70, 0.69]
VAL_LOSS = [0.90, 0.70, 0.58, 0.55, 0.53, 0.52, 0.54, 0.56, 0.58, 0.60, 0.62, 0.64]  # best later than the AUC
BEST_EPOCH = 2


class ClassBalanceFromWeights(Problem):
    title = "the class balance that class weights imply"
    names = ("class_shares",)
    lesson = LESSON + ": 'balanced_class_weights'"
    hints = (
        "Balanced class weights are made from the counts. Run that recipe backwards: what does a weight tell you "
        "about how many images its class had?",
        "weight_c = n_samples / (n_classes * n_c), so n_c / n_samples = 1 / (n_classes * weight_c). The shares of "
        "all classes add up to 1.",
        "Fill the blanks: k = ____ (the number of classes, from the dict itself); return {c: ____ for c, w in "
        "class_weight.items()}.",
    )
    solution_code = '''
    def class_shares(class_weight):
        k = len(class_weight)
        return {c: 1 / (k * w) for c, w in class_weight.items()}
    '''

    def _check(self, class_shares):
        from ..training import balanced_class_weights

        cases = [{0: 430, 1: 970}, {0: 250, 1: 250}, {0: 900, 1: 100}, {0: 30, 1: 10, 2: 60}]
        for counts in cases:
            weights = balanced_class_weights(counts)
            got = class_shares(dict(weights))
            total = sum(counts.values())
            want = {c: n / total for c, n in counts.items()}
            shown = {c: round(w, 3) for c, w in weights.items()}
            if not isinstance(got, dict) or sorted(got) != sorted(counts):
                raise Incorrect(f"class_shares({shown}) returned {got!r}; return a dict with one share per class, "
                                f"keyed like the weights: {sorted(counts)}.")
            if not all(isinstance(v, numbers.Real) for v in got.values()):
                raise Incorrect(f"class_shares({shown}) = {got}: the shares should be numbers.")
            if all(abs(got[c] - want[c]) <= 1e-3 for c in counts):
                continue
            if all(abs(got[c] - 1 / weights[c]) <= 1e-3 for c in counts):
                raise Incorrect(f"class_shares({shown}) = { {c: round(v, 3) for c, v in got.items()} }: the shares "
                                f"add up to {sum(got.values()):.3g}, not 1. The recipe divides by the number of "
                                f"classes too: share = 1 / (n_classes * weight).")
            if len(counts) != 2 and all(abs(got[c] - 1 / (2 * weights[c])) <= 1e-3 for c in counts):
                raise Incorrect(f"class_shares({shown}): you divided by 2, but these weights belong to "
                                f"{len(counts)} classes: n_classes = len(class_weight).")
            norm = sum(weights.values())
            if all(abs(got[c] - weights[c] / norm) <= 1e-3 for c in counts):
                raise Incorrect(f"class_shares({shown}): you normalised the weights, but a *larger* weight means a "
                                "*rarer* class: the share is proportional to 1 / weight.")
            raise Incorrect(f"class_shares({shown}) = { {c: round(v, 3) for c, v in got.items()} }; expected "
                            f"{ {c: round(v, 3) for c, v in want.items()} } (the counts were {counts}).")
        return ("a model that always predicts the majority class scores its share as accuracy on data with that "
                "balance: the yardstick for exercise 4.")


class Schedule(Problem):
    title = "an exponentially decaying learning rate"
    names = ("lr_schedule",)
    reimplements = ("cancer_course.training.exponential_decay",)
    lesson = LESSON + ": 'exponential_decay'"
    hints = (
        "keras.callbacks.LearningRateScheduler calls schedule(epoch, lr) at the start of every epoch (epoch counts"
        " from 0; lr is the current rate) and uses what it returns. We want 1e-3 at epoch 0, times 0.9 every "
        "epoch.",
        "Either compute it from the epoch (1e-3 * 0.9 ** epoch) or from the current rate (lr * 0.9 after epoch 0),"
        " but not both: lr * 0.9 ** epoch would compound.",
        "Fill the blanks: def lr_schedule(epoch, lr=None): return ____ * ____ ** epoch (the lr argument can be "
        "ignored).",
    )
    solution_code = '''
    def lr_schedule(epoch, lr=None):
        return 1e-3 * 0.9 ** epoch
    '''

    def _check(self, lr_schedule):
        want = [1e-3 * 0.9**e for e in range(8)]
        lr, got = 1e-3, []
        for epoch in range(8):  # exactly how LearningRateScheduler calls it
            lr = float(lr_schedule(epoch, lr))
            got.append(lr)
        if np.allclose(got, want, rtol=1e-5):
            return "1e-3, 9e-4, 8.1e-4, ... : the rate shrinks by 10% every epoch."
        if np.allclose(got, got[0], rtol=1e-9):
            raise Incorrect(f"your rate is {got[0]:.3g} at every epoch: it should shrink by 10% each epoch, "
                            "1e-3 * 0.9 ** epoch.")
        if not np.isclose(got[0], 1e-3, rtol=1e-5):
            raise Incorrect(f"at epoch 0 your schedule gives {got[0]:.3g}; training should start at the initial rate "
                            "1e-3 (epochs count from 0: 0.9 ** 0 = 1).")
        compounding = [1e-3 * 0.9 ** (e * (e + 1) / 2) for e in range(8)]
        if np.allclose(got, compounding, rtol=1e-5):
            raise Incorrect("your rates fall faster and faster (1e-3, 9e-4, 7.3e-4, 5.3e-4, ...): you multiply the "
                            "*current* rate by 0.9 ** epoch, so the decay compounds. Use 1e-3 * 0.9 ** epoch, or "
                            "lr * 0.9.")
        shown = ", ".join(f"{v:.3g}" for v in got[:5])
        raise Incorrect(f"your schedule gives {shown}, ... for epochs 0-4; expected 0.001, 0.0009, 0.00081, "
                        "0.000729, 0.000656: 1e-3 * 0.9 ** epoch.")


def _simulate(callbacks, epochs: int = len(VAL_AUC)):
    """Run the callbacks through a scripted training run; returns (epochs run, final kernel value, rates)."""
    import keras

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse",
                  metrics=[keras.metrics.AUC(name="auc"), keras.metrics.BinaryAccuracy(name="accuracy")])
    model.evaluate(np.array([[0.0], [1.0]]), np.array([[0.0], [1.0]]), verbose=0)  # builds the metrics ("auto" mode)
    writers = (keras.callbacks.ModelCheckpoint, keras.callbacks.CSVLogger, keras.callbacks.TensorBoard,
               keras.callbacks.BackupAndRestore)
    chosen = [cb for cb in callbacks if not isinstance(cb, writers)]
    cblist = keras.callbacks.CallbackList(chosen, model=model)
    rates = []
    model.stop_training = False
    cblist.on_train_begin()
    run = 0
    for epoch in range(epochs):
        cblist.on_epoch_begin(epoch)
        rates.append(float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)))
        model.layers[0].kernel.assign(np.full((1, 1), float(epoch), "float32"))  # "training" this epoch
        logs = {"loss": 1.0 / (epoch + 1), "auc": 0.6 + 0.03 * epoch, "val_loss": VAL_LOSS[epoch],
                "val_auc": VAL_AUC[epoch], "accuracy": 0.7, "val_accuracy": 0.7}
        cblist.on_epoch_end(epoch, logs)
        run = epoch + 1
        if model.stop_training:
            break
    cblist.on_train_end()
    return run, float(np.asarray(model.layers[0].kernel)[0, 0]), rates


class Callbacks(Problem):
    title = "callbacks: early stopping that restores the best weights, and the schedule"
    names = ("make_callbacks",)
    lesson = LESSON + ": 'make_callbacks'"
    hints = (
        "Two callbacks: keras.callbacks.EarlyStopping (stop when the validation AUC has not improved for "
        "`patience` epochs, and go back to the best epoch's weights) and keras.callbacks.LearningRateScheduler.",
        "EarlyStopping(monitor='val_auc', mode='max', patience=patience, restore_best_weights=True); "
        "LearningRateScheduler(lr_schedule) with your schedule from q2.",
        "Fill the blanks: return [keras.callbacks.EarlyStopping(monitor=____, mode=____, patience=____, "
        "restore_best_weights=____), keras.callbacks.LearningRateScheduler(____)]",
    )
    solution_code = '''
    def make_callbacks(patience=3):
        return [
            keras.callbacks.EarlyStopping(monitor="val_auc", mode="max", patience=patience,
                                          restore_best_weights=True),
            keras.callbacks.LearningRateScheduler(lr_schedule),
        ]
    '''

    def _check(self, make_callbacks):
        import keras

        for patience in (3, 2):  # the default and another value: nothing hard-coded
            callbacks = make_callbacks(patience=patience)
            if not isinstance(callbacks, list | tuple):
                raise Incorrect(f"make_callbacks returned {type(callbacks).__name__}; model.fit wants a list of "
                                "callbacks.")
            stoppers = [cb for cb in callbacks if isinstance(cb, keras.callbacks.EarlyStopping)]
            monitored = {cb.monitor for cb in stoppers}
            if monitored and "val_auc" not in monitored:
                watched = sorted(monitored)[0]
                why = ("the *training* AUC, which keeps rising while the model memorises" if watched == "auc" else
                       "the validation loss, which the class weights and the operating point move; the lesson "
                       "keeps the epoch with the best ranking" if watched == "val_loss" else "another metric")
                raise Incorrect(f"your EarlyStopping monitors {watched!r}, {why}: monitor='val_auc', mode='max'.")
            run, weight, rates = _simulate(list(callbacks))
            stop = BEST_EPOCH + 1 + patience
            scripted = ("In a scripted run where the validation AUC rises to its best at epoch 3 (0.80) and then "
                        f"falls, with patience {patience},")
            if run == len(VAL_AUC):
                raise Incorrect(f"{scripted} training never stopped: add keras.callbacks.EarlyStopping "
                                "(monitor='val_auc', mode='max', patience=patience).")
            if run < stop and any(getattr(cb, "mode", "") == "min" for cb in stoppers):
                raise Incorrect(f"{scripted} training stopped after epoch {run}, while the AUC was still improving: "
                                "early stopping must treat a *higher* val_auc as better (mode='max').")
            if run != stop:
                raise Incorrect(f"{scripted} training ran {run} epochs; it should stop after epoch {stop} ({patience} "
                                "epochs without improvement): pass patience=patience, the argument, not a number.")
            if int(round(weight)) != BEST_EPOCH:
                raise Incorrect(f"{scripted} training stopped at the right time but kept the weights of the last "
                                f"epoch ({run}) instead of the best one ({BEST_EPOCH + 1}): set "
                                "restore_best_weights=True.")
            want = [1e-3 * 0.9**e for e in range(run)]
            if np.allclose(rates, rates[0]):
                raise Incorrect("the learning rate never changed: add "
                                "keras.callbacks.LearningRateScheduler(lr_schedule).")
            if not np.allclose(rates, want, rtol=1e-4):
                raise Incorrect("the learning rates during the run were " + ", ".join(f"{r:.3g}" for r in rates[:4])
                                + ", ...; expected 0.001, 0.0009, 0.00081, ...: use your lr_schedule from q2.")
        return (f"stopped `patience` epochs after the best one, back to the weights of epoch {BEST_EPOCH + 1}, "
                "learning rate decaying.")

# Exercise 4: curves like the seed's, over more epochs (scripted: no training in the exercise).
CURVES = {
    "train_loss": (0.62, 0.50, 0.43, 0.38, 0.34, 0.31, 0.29, 0.27),
    "val_loss": (1.58, 1.31, 1.12, 0.98, 0.90, 0.85, 0.82, 0.80),
    "val_auc": (0.55, 0.63, 0.70, 0.75, 0.78, 0.80, 0.81, 0.82),
    "val_accuracy": (0.41, 0.44, 0.47, 0.50, 0.52, 0.54, 0.55, 0.56),
}
CURVE_WEIGHTS = {0: 1.6, 1: 0.727}  # the class weights the run trained with


def _majority(weights) -> float:
    return max(1 / (len(weights) * w) for w in weights.values())


def _falls(values) -> bool:
    return all(b < a for a, b in zip(values, values[1:], strict=False))


def _curve_options() -> dict:
    c, majority = CURVES, _majority(CURVE_WEIGHTS)
    tl, vl, auc, acc = c["train_loss"], c["val_loss"], c["val_auc"], c["val_accuracy"]
    val_falls = _falls(vl)
    symptom = max(acc) < majority and auc[-1] > auc[0]  # accuracy below the majority rate, ranking improving
    return {
        "A": Option("the model memorises the training images (overfitting)", not val_falls,
                    f"memorisation shows as a validation loss that turns up (or stops falling) while the training "
                    f"loss keeps falling; here the validation loss {'falls every epoch' if val_falls else 'turns'} "
                    f"({vl[0]} -> {vl[-1]}) and the validation AUC rises ({auc[0]} -> {auc[-1]})."),
        "B": Option("validation has another class balance than training (a prior shift)", symptom,
                    "accuracy at the threshold 0.5 depends on the class balance, the AUC does not: a model tuned "
                    "to training's balance sits at the wrong operating point on validation, so accuracy stays "
                    f"below the majority rate ({majority:.0%}; at most {max(acc):.0%} here) while the ranking (AUC) improves."),
        "C": Option("BatchNorm's moving statistics do not match the validation images", symptom,
                    "in inference mode BatchNorm uses moving averages; while they lag behind training, or when "
                    "validation images look different, they shift every output - moving the operating point "
                    "(accuracy, loss) much more than the ranking (AUC)."),
        "D": Option("the images mix several modalities (scanners, stains) under one label", symptom,
                    "if one modality is more common in one class, part of what the model learns is the modality; "
                    "a validation split with other proportions then ranks partly right (AUC up) at the wrong "
                    "threshold (accuracy low)."),
        "E": Option("the learning rate is too high, training diverges", not _falls(tl),
                    f"a diverging run has a training loss that jumps or rises; here it falls smoothly "
                    f"({tl[0]} -> {tl[-1]})."),
        "F": Option("the validation AUC shows that the model ranks no better than chance", auc[-1] <= 0.5,
                    f"the AUC reaches {auc[-1]}, well above 0.5: the model ranks malignant above benign more "
                    "often than not; it is the threshold, not the ranking, that fails."),
    }


class ReadTheCurves(Choice):
    title = "read the curves: which explanations fit"
    scripted = True
    names = ("consistent",)
    lesson = LESSON + ": the section on whether the seed overfits; lesson 05's reading of the seed's epochs"
    question = ("A run trained with class weights " + str(CURVE_WEIGHTS) + " gives these validation curves. "
                "Which explanations are consistent with them? (Consistent: the curves would look like this if it "
                "were true - you need not decide which one it is.)")
    options = _curve_options()
    hints = (
        "First compute the majority rate those class weights imply (your q1). Then ask of each explanation: "
        "what would the validation loss and AUC do if it were the cause?",
        "Overfitting and divergence leave marks on the loss curves (validation loss rising, training loss "
        "jumping). Accuracy at 0.5 can be low while the AUC rises when the *operating point* is off - think of "
        "what shifts the outputs without spoiling their order.",
        "Three explanations move the operating point but not the ranking; two need a loss curve that is not "
        "there; one contradicts the AUC.",
    )
    solution_code = '''
    consistent = {"B", "C", "D"}
    '''

    def evidence(self) -> str:
        rows = [f"{'epoch':<13}" + "".join(f"{e:>7}" for e in range(1, len(CURVES["val_loss"]) + 1))]
        for key, values in CURVES.items():
            rows.append(f"{key:<13}" + "".join(f"{v:>7.2f}" for v in values))
        return "\n".join(rows)


q1 = ClassBalanceFromWeights()
q2 = Schedule()
q3 = Callbacks()
q4 = ReadTheCurves()
PROBLEMS = register(globals(), "07")
