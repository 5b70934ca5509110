"""Exercises for lesson 07: training.

q1 class weights from counts · q2 a learning-rate schedule · q3 callbacks: early stopping that
restores the best weights, and the schedule.
"""

from __future__ import annotations

import numbers

import numpy as np

from .core import Incorrect, Problem, register

LESSON = "lesson 07 (training; cancer_course/training.py)"
VAL_AUC = [0.60, 0.70, 0.80, 0.78, 0.76, 0.75, 0.74, 0.73, 0.72, 0.71, 0.70, 0.69]
VAL_LOSS = [0.90, 0.70, 0.50, 0.55, 0.60, 0.62, 0.64, 0.66, 0.68, 0.70, 0.72, 0.74]
BEST_EPOCH = 2


class ClassWeights(Problem):
    title = "class weights from the class counts"
    names = ("class_weights",)
    lesson = LESSON + ": 'balanced_class_weights'"
    hints = (
        "A class with fewer images should count more, so that both classes weigh the same in the loss overall. "
        "Balanced classes should get weight 1.",
        "weight of class c = n_samples / (n_classes * n_c). Return a dict {class: weight}, as model.fit's "
        "class_weight wants.",
        "total = sum(counts.values()); return {c: total / (len(counts) * n) for c, n in counts.items()}",
    )
    solution_code = '''
    def class_weights(counts):
        total = sum(counts.values())
        return {c: total / (len(counts) * n) for c, n in counts.items()}
    '''

    def _check(self, class_weights):
        cases = [{0: 400, 1: 900}, {0: 250, 1: 250}, {0: 900, 1: 100}, {0: 30, 1: 10, 2: 60}]
        for counts in cases:
            got = class_weights(dict(counts))
            if not isinstance(got, dict):
                raise Incorrect(f"class_weights({counts}) returned {type(got).__name__}; model.fit's class_weight "
                                "wants a dict {class index: weight}.")
            if sorted(got) != sorted(counts):
                raise Incorrect(f"class_weights({counts}) has keys {sorted(got)}; it needs one weight per class, "
                                f"keyed like the counts: {sorted(counts)}.")
            if not all(isinstance(v, numbers.Real) for v in got.values()):
                raise Incorrect(f"class_weights({counts}) = {got}: the weights should be numbers.")
            total, k = sum(counts.values()), len(counts)
            want = {c: total / (k * n) for c, n in counts.items()}
            if all(abs(got[c] - want[c]) <= 1e-3 * max(1, want[c]) for c in counts):
                continue
            rare, common = min(counts, key=counts.get), max(counts, key=counts.get)
            if counts[rare] != counts[common] and got[rare] <= got[common]:
                raise Incorrect(f"class_weights({counts}) = {got}: the rarer class ({rare}) must get the *larger* "
                                "weight, so that its fewer images weigh as much in the loss as the common class.")
            ratio = {c: got[c] / want[c] for c in counts}
            if max(ratio.values()) - min(ratio.values()) < 1e-6 * max(ratio.values()):
                raise Incorrect(f"class_weights({counts}) = {got}: the proportions are right but the scale is off by "
                                f"a factor {ratio[rare]:.4g}: balanced classes must get weight 1.0 "
                                "(n_samples / (n_classes * n_class)), so the loss keeps its usual size.")
            raise Incorrect(f"class_weights({counts}) = {got}; expected "
                            f"{ {c: round(w, 3) for c, w in want.items()} } = n_samples / (n_classes * n_class).")
        return "{0: 1.625, 1: 0.722} for 400 benign and 900 malignant images."


class Schedule(Problem):
    title = "an exponentially decaying learning rate"
    names = ("lr_schedule",)
    reimplements = ("cancer_course.training.exponential_decay",)
    lesson = LESSON + ": 'exponential_decay'"
    hints = (
        "keras.callbacks.LearningRateScheduler calls schedule(epoch, lr) at the start of every epoch (epoch counts "
        "from 0; lr is the current rate) and uses what it returns. We want 1e-3 at epoch 0, times 0.9 every epoch.",
        "Either compute it from the epoch (1e-3 * 0.9 ** epoch) or from the current rate (lr * 0.9 after epoch 0), "
        "but not both: lr * 0.9 ** epoch would compound.",
        "def lr_schedule(epoch, lr): return 1e-3 * 0.9 ** epoch",
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
        "return [keras.callbacks.EarlyStopping(monitor='val_auc', mode='max', patience=patience, "
        "restore_best_weights=True), keras.callbacks.LearningRateScheduler(lr_schedule)]",
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
        callbacks = make_callbacks(patience=3)
        if not isinstance(callbacks, list | tuple):
            raise Incorrect(f"make_callbacks returned {type(callbacks).__name__}; model.fit wants a list of callbacks.")
        run, weight, rates = _simulate(list(callbacks))
        scripted = ("In a scripted run where the validation AUC rises to its best at epoch 3 (0.80) and then falls, "
                    "with patience 3,")
        if run == len(VAL_AUC):
            raise Incorrect(f"{scripted} training never stopped: add keras.callbacks.EarlyStopping "
                            "(monitor='val_auc', mode='max', patience=patience).")
        if run < BEST_EPOCH + 1 + 3:
            raise Incorrect(f"{scripted} training stopped after epoch {run}, while the AUC was still improving or "
                            "had just peaked: early stopping must treat a *higher* val_auc as better (mode='max') and "
                            "wait `patience` epochs without improvement.")
        if run > BEST_EPOCH + 1 + 3:
            raise Incorrect(f"{scripted} training ran {run} epochs; it should stop after epoch {BEST_EPOCH + 1 + 3} "
                            "(3 epochs without improvement): pass patience=patience.")
        if int(round(weight)) != BEST_EPOCH:
            raise Incorrect(f"{scripted} training stopped at the right time but kept the weights of the last epoch "
                            f"({run}) instead of the best one ({BEST_EPOCH + 1}): set restore_best_weights=True.")
        want = [1e-3 * 0.9**e for e in range(run)]
        if np.allclose(rates, rates[0]):
            raise Incorrect("the learning rate never changed: add keras.callbacks.LearningRateScheduler(lr_schedule).")
        if not np.allclose(rates, want, rtol=1e-4):
            raise Incorrect("the learning rates during the run were " + ", ".join(f"{r:.3g}" for r in rates[:4])
                            + ", ...; expected 0.001, 0.0009, 0.00081, ...: use your lr_schedule from q2.")
        return f"stopped after epoch {run}, back to the weights of epoch {BEST_EPOCH + 1}, learning rate decaying."


q1 = ClassWeights()
q2 = Schedule()
q3 = Callbacks()
PROBLEMS = register(globals(), "07")
