"""Exercises for lesson 09: hyperparameter tuning.

q1 a tuner search space · q2 which split each step scores on (the test split never tunes) · q3 the
tuner's objective · q4 a fresh results directory for every search · q5 does the best trial beat the
runner-up, given the seed noise (interpretive).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ._choice import Choice, Option, format_table
from .core import Incorrect, Problem, register

LESSON = "lesson 09 (hyperparameter tuning; cancer_course/tuning.py)"
STEPS = ("fit the weights", "score a trial", "early stopping", "choose the threshold", "report the final model")
SPLIT_OF = {"fit the weights": "train", "score a trial": "validation", "early stopping": "validation",
            "choose the threshold": "validation", "report the final model": "test"}


class SearchSpace(Problem):
    title = "a tuner search space"
    names = ("search_space",)
    lesson = LESSON + ": section 1, 'A search space'"
    hints = (
        "Ask hp for each value: hp.Float(name, min, max, ...) for a range, hp.Choice(name, [values]) for a list. "
        "The learning rate spans a factor of 30, so sample it on a log scale.",
        "learning_rate: hp.Float 1e-4 to 3e-3, sampling='log'; dropout: hp.Float 0.2 to 0.6, step 0.1; l2: hp.Choice "
        "[0.0, 1e-5, 1e-4]; augmentation: hp.Float 0.0 to 1.5, step 0.5. Return them in a dict.",
        "Fill the blanks: return {'learning_rate': hp.Float('learning_rate', ____, ____, sampling=____), "
        "'dropout': hp.Float('dropout', 0.2, 0.6, step=____), 'l2': hp.Choice('l2', ____), 'augmentation': "
        "hp.Float(____)}",
    )
    solution_code = '''
    def search_space(hp):
        return {
            "learning_rate": hp.Float("learning_rate", 1e-4, 3e-3, sampling="log"),
            "dropout": hp.Float("dropout", 0.2, 0.6, step=0.1),
            "l2": hp.Choice("l2", [0.0, 1e-5, 1e-4]),
            "augmentation": hp.Float("augmentation", 0.0, 1.5, step=0.5),
        }
    '''

    def _check(self, search_space):
        import keras_tuner as kt

        hp = kt.HyperParameters()
        values = search_space(hp)
        space = {p.name: p for p in hp.space}
        want = ("learning_rate", "dropout", "l2", "augmentation")
        missing = [n for n in want if n not in space]
        if missing:
            raise Incorrect(f"no hyperparameter named {missing[0]!r} was registered on hp (found "
                            f"{sorted(space) or 'none'}): ask hp for it, e.g. hp.Float({missing[0]!r}, ...).")
        extra = sorted(set(space) - set(want))
        if extra:
            raise Incorrect(f"extra hyperparameters {extra}: this space has exactly learning_rate, dropout, l2 and "
                            "augmentation.")
        lr, dropout, l2, aug = (space[n] for n in want)
        if not isinstance(lr, kt.engine.hyperparameters.Float):
            raise Incorrect(f"learning_rate is a {type(lr).__name__}; make it a continuous range: hp.Float.")
        if (lr.min_value, lr.max_value) != (1e-4, 3e-3):
            raise Incorrect(f"learning_rate spans {lr.min_value:g} to {lr.max_value:g}; the lesson's range is 1e-4 "
                            "to 3e-3.")
        if lr.sampling != "log":
            raise Incorrect(f"learning_rate is sampled with sampling={lr.sampling!r}: on a linear scale almost every "
                            "draw lands above 1e-3 and 1e-4..3e-4 is hardly ever tried. Use sampling='log'.")
        if not isinstance(dropout, kt.engine.hyperparameters.Float) or (
                dropout.min_value, dropout.max_value, dropout.step) != (0.2, 0.6, 0.1):
            raise Incorrect(f"dropout should be hp.Float('dropout', 0.2, 0.6, step=0.1); yours is {dropout!r}.")
        if not isinstance(l2, kt.engine.hyperparameters.Choice) or [float(v) for v in l2.values] != [0.0, 1e-5, 1e-4]:
            raise Incorrect(f"l2 should be hp.Choice('l2', [0.0, 1e-5, 1e-4]) (no decay, weak, stronger); yours is "
                            f"{l2!r}.")
        if not isinstance(aug, kt.engine.hyperparameters.Float) or (
                aug.min_value, aug.max_value, aug.step) != (0.0, 1.5, 0.5):
            raise Incorrect(f"augmentation should be hp.Float('augmentation', 0.0, 1.5, step=0.5); yours is {aug!r}.")
        if not isinstance(values, dict) or set(values) != set(want):
            raise Incorrect("return a dict of the four values, keyed by name: {'learning_rate': hp.Float(...), ...}.")
        for name in want:
            if values[name] != hp.get(name):
                raise Incorrect(f"the returned {name} is {values[name]!r} but hp holds {hp.get(name)!r}: return what "
                                "hp.Float / hp.Choice returned.")
        return "four knobs; the learning rate on a log scale."


class WhichSplit(Problem):
    title = "which split each step scores on"
    names = ("split_for",)
    lesson = LESSON + ": 'Three splits, three jobs'"
    hints = (
        "Three splits, three jobs: train fits the weights, validation chooses (anything we pick by comparing "
        "scores), test reports the final choice once.",
        "Scoring a trial, early stopping and choosing a threshold are all *choices*. Only the final report looks at "
        "the test split.",
        "Fill the blanks: if step == 'fit the weights': return ____; if step == ____: return 'test'; every other "
        "step returns ____.",
    )
    solution_code = '''
    def split_for(step):
        if step == "fit the weights":
            return "train"
        if step == "report the final model":
            return "test"
        return "validation"
    '''

    def _check(self, split_for):
        for step in STEPS:
            got = split_for(step)
            want = SPLIT_OF[step]
            if got == want:
                continue
            if not isinstance(got, str) or got not in ("train", "validation", "test"):
                raise Incorrect(f"split_for({step!r}) returned {got!r}; answer 'train', 'validation' or 'test'.")
            if got == "test":
                raise Incorrect(f"split_for({step!r}) = 'test': {step} is a choice, and anything chosen by looking at "
                                "the test split makes the test score optimistic - one more thing tuned. Choices use "
                                "the validation split.")
            if got == "train" and step != "fit the weights":
                raise Incorrect(f"split_for({step!r}) = 'train': the model has fitted those images, so every setting "
                                "looks good on them. Choose on images the weights never saw: validation.")
            if step == "report the final model":
                raise Incorrect("split_for('report the final model') = 'validation': the validation split chose the "
                                "configuration, so its score is biased upwards. Report on the test split, once.")
            raise Incorrect(f"split_for({step!r}) = {got!r}, expected {want!r}: train fits, validation chooses, test "
                            "reports once.")
        return "train fits, validation chooses, test reports - once."


class Objective(Problem):
    title = "the tuner's objective"
    names = ("objective",)
    lesson = LESSON + ": section 2, 'make_tuner'"
    hints = (
        "keras_tuner.Objective(name, direction): the name is a metric in the training logs; validation metrics "
        "start with 'val_'.",
        "Score trials by the validation AUC, and a higher AUC is better.",
        "kt.Objective takes the metric's name as it appears in the logs ('val_' + the metric's name, here auc) and"
        " the direction in which it improves.",
    )
    solution_code = '''
    import keras_tuner as kt

    objective = kt.Objective("val_auc", direction="max")
    '''

    def _check(self, objective):
        import keras_tuner as kt

        if isinstance(objective, str):
            raise Incorrect(f"`objective` is the string {objective!r}: keras-tuner cannot tell whether a higher AUC "
                            "is better. Write kt.Objective('val_auc', direction='max').")
        if not isinstance(objective, kt.Objective):
            raise Incorrect(f"`objective` should be a keras_tuner.Objective, not {type(objective).__name__}.")
        if objective.name in ("auc", "accuracy", "loss"):
            raise Incorrect(f"the objective {objective.name!r} is measured on the training split, which the weights "
                            "fitted: every trial would look good. Score on the validation split: 'val_auc'.")
        if objective.name == "val_loss" or objective.name == "val_accuracy":
            raise Incorrect(f"{objective.name!r} is a validation metric, but the lesson scores trials by AUC, which "
                            "does not depend on a threshold: 'val_auc'.")
        if objective.name != "val_auc":
            raise Incorrect(f"the objective is {objective.name!r}; use the validation AUC, 'val_auc'.")
        if objective.direction != "max":
            raise Incorrect(f"direction={objective.direction!r} would pick the trial with the *lowest* AUC: "
                            "direction='max'.")
        return "the search keeps the trial with the highest validation AUC."


class FreshDirectory(Problem):
    title = "a fresh results directory for every search"
    names = ("fresh_directory",)
    lesson = LESSON + ": section 2, 'fresh_directory'"
    hints = (
        "keras-tuner resumes from whatever trials it finds in its folder. Give every search a new, empty folder "
        "under results_root/'tuning', and never touch the folders of earlier searches.",
        "Name it from the time (time.strftime('run-%Y%m%d-%H%M%S')); if that folder already exists (two searches "
        "in the same second), add -2, -3, ... until the name is free. Create it (mkdir(parents=True)) and return "
        "it.",
        "Fill the blanks: base = Path(results_root) / ____; stamp = time.strftime(____); folder, n = base / "
        "stamp, 1; while folder.____(): n += 1; folder = base / ____; folder.mkdir(____); return ____",
    )
    solution_code = '''
    import time
    from pathlib import Path

    def fresh_directory(results_root):
        base = Path(results_root) / "tuning"
        stamp = time.strftime("run-%Y%m%d-%H%M%S")
        folder, n = base / stamp, 1
        while folder.exists():
            n += 1
            folder = base / f"{stamp}-{n}"
        folder.mkdir(parents=True)
        return folder
    '''

    def _check(self, fresh_directory):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "results"
            first = fresh_directory(root)
            if first is None:
                raise Incorrect("fresh_directory returned None: return the folder it created.")
            first = Path(first)
            if not first.is_dir():
                raise Incorrect(f"fresh_directory returned {first}, which does not exist: create it "
                                "(folder.mkdir(parents=True)).")
            if (root / "tuning").resolve() not in first.resolve().parents:
                raise Incorrect(f"fresh_directory({root}) returned {first}: put the search folders under "
                                "results_root / 'tuning'.")
            (first / "trial_0").mkdir()
            (first / "trial_0" / "trial.json").write_text("{}", encoding="utf-8")
            folders = [first]
            for _ in range(3):  # quickly, usually within one second
                folders.append(Path(fresh_directory(root)))
            if len({f.resolve() for f in folders}) < len(folders):
                raise Incorrect("two searches started within a second got the same folder: when the name is taken, "
                                "add a counter (-2, -3, ...) so that every search gets its own folder.")
            if not (first / "trial_0" / "trial.json").exists():
                raise Incorrect("starting a new search deleted an earlier search's results: never remove old folders, "
                                "make a new one.")
            for folder in folders[1:]:
                if not folder.is_dir():
                    raise Incorrect(f"{folder} was returned but not created.")
                if any(folder.iterdir()):
                    raise Incorrect(f"{folder} is not empty: a new search must start in an empty folder, or "
                                    "keras-tuner resumes old trials.")
        return "every search starts in its own empty folder; earlier ones are kept."


# Exercise 5: a finished search (validation AUC of each trial), and the same configuration re-run with
# three seeds (scripted numbers).
TRIALS = {"trial_07": 0.874, "trial_03": 0.869, "trial_11": 0.866, "trial_01": 0.861, "trial_05": 0.858,
          "trial_09": 0.852, "trial_02": 0.849, "trial_12": 0.845, "trial_04": 0.839, "trial_06": 0.832,
          "trial_10": 0.828, "trial_08": 0.815}
REPEATS = (0.861, 0.874, 0.855)  # trial_03's configuration, seeds 0, 1, 2


def _trial_options() -> dict:
    import numpy as np

    ranked = sorted(TRIALS, key=TRIALS.get, reverse=True)
    best, second, third = ranked[:3]
    gap = TRIALS[best] - TRIALS[second]
    sd = float(np.std(REPEATS, ddof=1))
    # the expected best of n equal configurations lies about this many SDs above their mean
    rng = np.random.default_rng(0)
    lift = float(rng.standard_normal((20000, len(TRIALS))).max(axis=1).mean())
    return {
        "A": Option(f"{best} is a better configuration than {second}", gap > 2 * sd,
                    f"the gap ({gap:.3f}) is smaller than the spread of one configuration over seeds "
                    f"(SD {sd:.3f}, from {REPEATS}): another seed could swap them."),
        "B": Option(f"this search cannot tell {best} from {second}: re-run both with several seeds before "
                    "choosing (or take the cheaper one)", gap < 2 * sd,
                    f"a gap of {gap:.3f} against a seed SD of {sd:.3f} is within the noise."),
        "C": Option(f"{best}'s validation AUC ({TRIALS[best]}) is a fair estimate of its test AUC", False,
                    f"it was picked *because* it scored highest of {len(TRIALS)}: the best of {len(TRIALS)} equally "
                    f"good configurations lands about {lift:.1f} SDs ({lift * sd:.3f}) above their true mean by luck "
                    "alone. The test split, used once, gives the estimate."),
        "D": Option(f"picking the best of {len(TRIALS)} trials on validation makes its score optimistic, even if "
                    "all configurations were equally good", True,
                    f"the maximum of {len(TRIALS)} noisy scores is on average {lift:.1f} SDs above their mean "
                    "(the winner's curse)."),
        "E": Option(f"another run of the search would rank {best}, {second} and {third} the same way",
                    TRIALS[second] - TRIALS[third] > 2 * sd and gap > 2 * sd,
                    f"the gaps between them ({gap:.3f}, {TRIALS[second] - TRIALS[third]:.3f}) are smaller than the "
                    f"seed SD ({sd:.3f})."),
    }


class TunerNoise(Choice):
    title = "does the best trial beat the runner-up"
    scripted = True
    names = ("follows",)
    lesson = LESSON + ": the sections on the search's results and on choosing a trial"
    question = ("A search of 12 trials finished with these validation AUCs. To see the noise, the configuration "
                "of the runner-up was trained again with three seeds. Which statements follow?")
    options = _trial_options()
    hints = (
        "Before comparing two trials, ask how much one trial's score moves when only the seed changes.",
        "Compare the gap between the two best trials with the standard deviation of the three repeats. And ask "
        "what happens to the *maximum* of many noisy scores.",
        "The gap is about half a seed SD. Two statements are about the gap, one about the best score as an "
        "estimate, one about selection itself, one about the ranking of the top three.",
    )
    solution_code = '''
    follows = {"B", "D"}
    '''

    def evidence(self) -> str:
        rows = [[name, auc] for name, auc in sorted(TRIALS.items(), key=lambda kv: -kv[1])]
        return (format_table(["trial", "val_auc"], rows)
                + f"\n\nrunner-up's configuration, seeds 0, 1, 2: {', '.join(str(v) for v in REPEATS)}")


q1 = SearchSpace()
q2 = WhichSplit()
q3 = Objective()
q4 = FreshDirectory()
q5 = TunerNoise()
PROBLEMS = register(globals(), "09")
