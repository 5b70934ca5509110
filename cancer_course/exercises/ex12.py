"""Exercises for lesson 12: inference, saving and a model card.

q1 save and reload with safe_mode, identical predictions · q2 a CSV of predictions for a folder · q3
a model card from the evaluation's numbers · q4 which statements a model card may claim from given
measurements (interpretive).
"""

from __future__ import annotations

import csv
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from ._choice import Choice, Option
from ._ex12_models import (
    STAMP_SCALE,
    _brightness_model,
    _lambda_model,
    _stamp_class,
    _stamped_model,
    _tiny_model,
    _write_images,
)
from .core import Incorrect, Problem, register

LESSON = "lesson 12 (inference, saving and a model card; cancer_course/inference.py, modelcard.py)"


class SaveAndReload(Problem):
    title = "save and reload a model, safely"
    names = ("save_and_reload",)
    lesson = LESSON + ": section 1, 'Saving and loading a .keras file'"
    hints = (
        "Keras 3 keeps a whole model in one .keras file (a zip: architecture, weights, metadata). Its loader has "
        "an argument that refuses to run code stored in the file. And the check compares what you *loaded*.",
        "model.save(path) writes the file; keras.models.load_model has a safe_mode argument. Return what you "
        "loaded from the file - not the model you were given.",
        "Fill the blanks: model.save(____); return keras.models.load_model(____, safe_mode=____)",
    )
    solution_code = '''
    def save_and_reload(model, path):
        model.save(path)
        return keras.models.load_model(path, safe_mode=True)
    '''

    def _check(self, save_and_reload):
        import keras

        model = _tiny_model()
        x = np.random.default_rng(1).uniform(size=(3, 8, 8, 3)).astype("float32")
        want = np.asarray(model.predict(x, verbose=0))
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.keras"
            loaded = save_and_reload(model, str(path))
            if not path.is_file():
                raise Incorrect(f"save_and_reload(model, {path.name!r}) wrote no file there: model.save(path).")
            if not zipfile.is_zipfile(path):
                raise Incorrect(f"{path.name} is not a .keras zip archive: save with model.save(path) and a path "
                                "ending in .keras.")
            if loaded is None:
                raise Incorrect("save_and_reload returned None: return the model loaded from the file.")
            if loaded is model:
                raise Incorrect("save_and_reload returned the model it was given: load the file "
                                "(keras.models.load_model(path, ...)) and return that, so you know the file works.")
            if not isinstance(loaded, keras.Model):
                raise Incorrect(f"save_and_reload returned {type(loaded).__name__}, not a keras.Model.")
            got = np.asarray(loaded.predict(x, verbose=0))
            if got.shape != want.shape or not np.allclose(got, want, atol=1e-6):
                raise Incorrect("the reloaded model predicts differently from the saved one: save the whole model "
                                "(model.save, not only the architecture) and load that same file.")
            stamped = _stamped_model()
            back = save_and_reload(stamped, str(Path(tmp) / "stamped.keras"))
            scales = [layer.scale for layer in getattr(back, "layers", []) if isinstance(layer, _stamp_class())]
            if back is not stamped and scales != [STAMP_SCALE]:
                raise Incorrect("the model you returned was not loaded from the file: it is a copy made in memory "
                                "(keras.models.clone_model, set_weights, ...), which proves nothing about the file. "
                                "Return what keras.models.load_model(path, safe_mode=True) gives.")
            risky = _lambda_model()
            try:
                save_and_reload(risky, str(Path(tmp) / "lambda.keras"))
            except ValueError:
                pass  # safe mode refused to run the stored lambda: what we want
            else:
                raise Incorrect("a model with a Lambda layer (Python code stored in the file) was loaded back: that "
                                "means safe_mode was off (or the model did not come from the file). Load with "
                                "keras.models.load_model(path, safe_mode=True), which refuses to run code from a file.")
        return "same predictions after the round trip; code stored in a file is refused."


class PredictionsCsv(Problem):
    title = "a CSV of predictions for a folder"
    names = ("predict_folder",)
    lesson = LESSON + ": section 3, 'Predicting a folder into a CSV'"
    hints = (
        "Three steps: list the folder's image files (.png, .jpg, .jpeg) in name order, predict them all with the "
        "course's inference module (one bad file must not stop the others), write one CSV row per image.",
        "inference.predict_images(model, paths, threshold=threshold) never stops at a bad file: it gives that file "
        "an `error` instead. Write the columns path, "
        "label, probability_malignant, error (csv.DictWriter; dataclasses.asdict(prediction) gives all four).",
        "Fill the blanks: paths = sorted(p for p in Path(folder).iterdir() if p.suffix.____() in ____); results = "
        "inference.predict_images(model, paths, threshold=____); write them with csv.DictWriter(f, fieldnames=____) "
        "and writer.writerows(asdict(r) for r in ____).",
    )
    solution_code = '''
    import csv
    from dataclasses import asdict
    from pathlib import Path

    from cancer_course import inference

    def predict_folder(model, folder, csv_path, threshold=0.5):
        paths = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
        results = inference.predict_images(model, paths, threshold=threshold)
        with open(csv_path, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=["path", "label", "probability_malignant", "error"])
            writer.writeheader()
            writer.writerows(asdict(r) for r in results)
        return csv_path
    '''

    def _check(self, predict_folder):
        model = _brightness_model()
        threshold = 0.6
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "to_predict"
            levels = _write_images(folder)
            out = Path(tmp) / "predictions.csv"
            try:
                predict_folder(model, folder, out, threshold=threshold)
            except Exception as exc:  # noqa: BLE001 - the learner's code
                clean = Path(tmp) / "without_the_broken_file"
                _write_images(clean)
                (clean / "c_broken.png").unlink()
                try:
                    predict_folder(model, clean, Path(tmp) / "clean.csv", threshold=threshold)
                except Exception:  # noqa: BLE001 - not the broken file's fault: report the learner's own error
                    raise exc from None
                raise Incorrect(f"predict_folder raised {type(exc).__name__} on a folder with one broken file "
                                "(c_broken.png): one bad file must not stop the others. inference.predict_images "
                                "gives it an error entry instead.") from None
            if not out.is_file():
                raise Incorrect("predict_folder wrote no CSV at csv_path.")
            with out.open(newline="", encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
        if not rows:
            raise Incorrect("the CSV has no rows (is there a header line, then one row per image?).")
        columns = set(rows[0])
        need = {"path", "label", "probability_malignant", "error"}
        if not need <= columns:
            raise Incorrect(f"the CSV's columns are {sorted(columns)}; it needs {sorted(need)}.")
        names = [Path(r["path"]).name for r in rows]
        if "notes.txt" in names:
            raise Incorrect("notes.txt is in the CSV: predict image files only (.png, .jpg, .jpeg).")
        want_names = sorted([*levels, "c_broken.png"])
        if sorted(names) != want_names:
            missing = sorted(set(want_names) - set(names))
            if "f_scanner.PNG" in missing:
                raise Incorrect(f"the CSV lists {names}: f_scanner.PNG is missing, an image whose extension is in "
                                "upper case (as many scanners write it). Compare the suffix case-insensitively: "
                                "p.suffix.lower() in ('.png', '.jpg', '.jpeg').")
            if "c_broken.png" in missing:
                raise Incorrect(f"the CSV lists {names}: c_broken.png is missing. It is a broken image file, and a "
                                "broken file still gets a row, with its error and no label, so nobody thinks it "
                                "was never looked at.")
            why = (f" ({', '.join(missing)} missing)" if missing else
                   " (some file is listed twice)" if len(set(names)) < len(names) else "")
            raise Incorrect(f"the CSV lists {names}; expected one row per image file, {want_names}{why}.")
        if names != want_names:
            raise Incorrect(f"the rows are in the order {names}: sort the files by name, so the CSV is the same on "
                            "every machine.")
        for row in rows:
            name = Path(row["path"]).name
            if name == "c_broken.png":
                if not row["error"] or row["label"] or row["probability_malignant"]:
                    raise Incorrect("the row of c_broken.png should have an error message and no label or "
                                    f"probability; it has {dict(row)}.")
                continue
            grey = round(levels[name] * 255) / 255
            p = 1 / (1 + np.exp(-(6.0 * grey - 3.4)))
            try:
                got = float(row["probability_malignant"])
            except ValueError:
                raise Incorrect(f"the probability of {name} is {row['probability_malignant']!r}, not a number.") from None
            if abs(got - p) > 0.01:
                raise Incorrect(f"{name} has probability_malignant {got:.4f}, expected {p:.4f}: use the model's "
                                "p(malignant) for the image, read as training read it (inference.read_image).")
            label = "Malignant" if p >= threshold else "Benign"
            if row["label"] != label:
                raise Incorrect(f"{name} (p = {p:.3f}) is labelled {row['label']!r} with threshold={threshold}: call "
                                "Malignant when p >= threshold, and pass the threshold on to predict_images.")
        return "five predictions and one named error, in a CSV anyone can open."


def example_evaluation(seed: int = 0, chosen_on: str = "validation") -> dict:
    """A small dict with the keys of :func:`cancer_course.evaluation.evaluate`'s result that a card needs.

    Its numbers come from the evaluation functions applied to made-up scores (no model is trained).
    """
    from ..evaluation import bootstrap_intervals, confusion_at, roc_data, threshold_for_sensitivity

    rng = np.random.default_rng(seed)
    n_benign, n_malignant = 60 + 7 * seed, 40 + 3 * seed
    y = np.array([0] * n_benign + [1] * n_malignant)
    p = np.concatenate([rng.beta(2, 4 + seed, n_benign), rng.beta(4 + seed, 2, n_malignant)])
    y_val = np.array([0] * 45 + [1] * 35)
    p_val = np.concatenate([rng.beta(2, 4 + seed, 45), rng.beta(4 + seed, 2, 35)])
    # the threshold and its sensitivity/specificity come from the split it was chosen on; the confusion matrix
    # at that threshold is measured on the evaluated (test) split: the figures a card reports
    chosen = threshold_for_sensitivity(*((y_val, p_val) if chosen_on == "validation" else (y, p)), 0.9)
    return {
        "model": {"name": f"course_model_{seed}"},
        "dataset": {"split": "test", "n": int(y.size),
                    "class_counts": {"Benign": n_benign, "Malignant": n_malignant}},
        "auc": roc_data(y, p)["auc"],
        "auc_ci": bootstrap_intervals(y, p, n_boot=200, seed=seed)["auc"],
        "thresholds": {"chosen": {**chosen, "chosen_on": chosen_on}},
        "confusion_matrix_chosen": confusion_at(y, p, chosen["threshold"]),
    }


class ModelCard(Problem):
    title = "a model card from the evaluation's numbers"
    names = ("write_card",)
    reimplements = ("cancer_course.modelcard.model_card", "cancer_course.modelcard.write_model_card")
    lesson = LESSON + ": section 5, 'A model card'"
    hints = (
        "Every number in the card comes from the evaluation dict, formatted with 3 decimals: the AUC and its 95% "
        "interval, the chosen threshold with the split it was chosen on, sensitivity and specificity there, and the "
        "number of test images. Typing a number by hand makes the card wrong the day the model changes.",
        "Start with '# Model card: ' + ev['model']['name'] and the 'Research and education only - not for clinical "
        "use' notice. When ev['thresholds']['chosen']['chosen_on'] equals ev['dataset']['split'], add a sentence "
        "saying the figures are optimistic.",
        "Fill the blanks: f\"AUC {ev['auc']:.3f} (95% CI {____:.3f}-{____:.3f})\"; f\"threshold "
        "{chosen['threshold']:.3f}, chosen on the {____} split: sensitivity {____:.3f}, specificity {____:.3f}\" - "
        "the sensitivity and specificity measured on the evaluated split are in ev['confusion_matrix_chosen'].",
    )
    solution_code = '''
    def write_card(ev):
        chosen, conf, data = ev["thresholds"]["chosen"], ev["confusion_matrix_chosen"], ev["dataset"]
        low, high = ev["auc_ci"]
        lines = [
            f"# Model card: {ev['model']['name']}",
            "",
            "> **Research and education only - not for clinical use.**",
            "",
            "## Data",
            f"Evaluated on the {data['split']} split: {data['n']} images.",
            "",
            "## Metrics",
            f"- AUC {ev['auc']:.3f} (95% CI {low:.3f}-{high:.3f})",
            f"- Threshold {chosen['threshold']:.3f} ({chosen['method']}), chosen on the {chosen['chosen_on']} split: "
            f"sensitivity {conf['sensitivity']:.3f}, specificity {conf['specificity']:.3f}",
        ]
        if chosen["chosen_on"] == data["split"]:
            lines.append("The threshold was chosen on the split it is evaluated on, so these figures are optimistic.")
        return "\\n".join(lines)
    '''

    def _check(self, write_card):
        honest, cheating = example_evaluation(0, "validation"), example_evaluation(1, "test")
        cards = []
        for ev in (honest, cheating):
            card = write_card(ev)
            if not isinstance(card, str):
                raise Incorrect(f"write_card returned {type(card).__name__}; return the card as one Markdown string.")
            cards.append(card)
        for ev, card, other in ((honest, cards[0], cheating), (cheating, cards[1], honest)):
            first = card.strip().splitlines()[0] if card.strip() else ""
            if first != f"# Model card: {ev['model']['name']}":
                raise Incorrect(f"the card starts with {first!r}; start with the title '# Model card: "
                                f"{ev['model']['name']}' (the model's name from ev['model']['name']).")
            if "not for clinical use" not in card.lower():
                raise Incorrect("the card does not say 'not for clinical use': every card states its intended use "
                                "(research and education only) first.")
            chosen, conf = ev["thresholds"]["chosen"], ev["confusion_matrix_chosen"]
            figures = {"the AUC": ev["auc"], "the lower end of the AUC's 95% CI": ev["auc_ci"][0],
                       "the upper end of the AUC's 95% CI": ev["auc_ci"][1], "the chosen threshold": chosen["threshold"],
                       "the sensitivity at the chosen threshold": conf["sensitivity"],
                       "the specificity at the chosen threshold": conf["specificity"]}
            for what, value in figures.items():
                rate = what.split()[1]
                if (f"{value:.3f}" not in card and rate in ("sensitivity", "specificity")
                        and chosen["chosen_on"] != ev["dataset"]["split"] and f"{chosen[rate]:.3f}" in card):
                    raise Incorrect(f"the card for {ev['model']['name']} shows the {rate} of the {chosen['chosen_on']} "
                                    f"split ({chosen[rate]:.3f}, ev['thresholds']['chosen'][{rate!r}]), where the "
                                    "threshold was chosen; the card reports the evaluated split's: "
                                    f"ev['confusion_matrix_chosen'][{rate!r}] = {value:.3f}.")
                if f"{value:.3f}" not in card:
                    stale = [w for w, v in {"the AUC": other["auc"]}.items() if f"{v:.3f}" in card]
                    if stale:
                        raise Incorrect(f"the card for {ev['model']['name']} shows the AUC of another evaluation: "
                                        "take every number from the dict you are given, never type it in.")
                    raise Incorrect(f"the card for {ev['model']['name']} does not show {what}, {value:.3f} (3 "
                                    "decimals, taken from the evaluation dict).")
            if str(ev["dataset"]["n"]) not in card:
                raise Incorrect(f"the card does not say how many images were evaluated ({ev['dataset']['n']}, "
                                "ev['dataset']['n']).")
            if chosen["chosen_on"] not in card:
                raise Incorrect(f"the card does not say on which split the threshold was chosen "
                                f"({chosen['chosen_on']!r}, ev['thresholds']['chosen']['chosen_on']).")
        if "optimistic" not in cards[1].lower():
            raise Incorrect("when the threshold was chosen on the split it is evaluated on (chosen_on == the dataset's "
                            "split), the card must warn that its figures are optimistic.")
        if "optimistic" in cards[0].lower():
            raise Incorrect("the card calls the figures optimistic although the threshold was chosen on the validation "
                            "split and evaluated on test: warn only when chosen_on equals the evaluated split.")
        return "every number from the evaluation, with its interval, and an honest warning when one is needed."


# Exercise 4: what an evaluation measured (scripted numbers, in the shape the course's tools report).
MEASURED = {
    "data": "400 synthetic test tiles from the course's generator (one source), 50% malignant",
    "auc": 0.912, "auc_ci": (0.884, 0.937),
    "threshold": 0.41, "threshold_chosen_on": "validation",
    "sensitivity": 0.88, "sensitivity_ci": (0.83, 0.92), "specificity": 0.84, "specificity_ci": (0.79, 0.88),
    "ece": 0.071,
    "versus_model_b": {"difference": 0.011, "ci_low": -0.009, "ci_high": 0.031, "p_value": 0.27},
    "external_data": None,
}


def _card_options() -> dict:
    m, b = MEASURED, MEASURED["versus_model_b"]
    lo, hi = m["auc_ci"]
    b_includes_zero = b["ci_low"] <= 0 <= b["ci_high"]
    return {
        "A": Option(f"test AUC {m['auc']} (95% CI {lo}-{hi}) on the course's 400 synthetic test tiles", True,
                    "a measured figure with its interval and the data it was measured on: exactly what a card "
                    "reports."),
        "B": Option("the model is better than model B", not b_includes_zero,
                    f"the paired difference is {b['difference']:+} with a 95% CI from {b['ci_low']} to "
                    f"{b['ci_high']} (p = {b['p_value']}): the interval includes 0."),
        "C": Option("this test set could not tell the model from model B", b_includes_zero,
                    f"the paired 95% CI of the AUC difference ({b['ci_low']} to {b['ci_high']}) includes 0 - which "
                    "is not evidence that the two are equal, only that this test set cannot separate them."),
        "D": Option(f"at the threshold {m['threshold']}, chosen on validation, test sensitivity was "
                    f"{m['sensitivity']} and specificity {m['specificity']}", m["threshold_chosen_on"] != "test",
                    "the threshold came from another split than the one reported, so the figures are honest "
                    "(their intervals belong next to them)."),
        "E": Option("the model is suitable for screening patients", False,
                    "nothing here was measured on patients: synthetic tiles, one source, no clinical study; and the "
                    "course is research and education only."),
        "F": Option("the model generalises to other scanners and laboratories", m["external_data"] is not None,
                    "only one source was measured (no external test set): the card must list this as a limit, "
                    "not claim it."),
        "G": Option("a predicted 0.8 means an 80% chance that the patient has cancer", False,
                    f"the calibration error ({m['ece']}) was measured on tiles with 50% prevalence; where cancer is "
                    "rarer, the same output means a lower chance, and a tile is not a patient."),
    }


class CardClaims(Choice):
    title = "what a model card may claim"
    scripted = True
    names = ("claims",)
    lesson = LESSON + ": the model-card section (what a card claims, and its limits)"
    question = "An evaluation measured the following. Which statements may the model card make?"
    options = _card_options()
    hints = (
        "A card may state what was measured, on which data, with its uncertainty. Anything about data, people or "
        "comparisons that were not measured is a limit, not a claim.",
        "Check the comparison with model B against its paired interval; check where the threshold was chosen; "
        "ask on which data (and at which prevalence) the probabilities were measured.",
        "Three statements report measurements as measured (one of them is about the comparison, read correctly); "
        "four claim more than the numbers show.",
    )
    solution_code = '''
    claims = {"A", "C", "D"}
    '''

    def evidence(self) -> str:
        return "\n".join(f"{k}: {v}" for k, v in MEASURED.items())


q1 = SaveAndReload()
q2 = PredictionsCsv()
q3 = ModelCard()
q4 = CardClaims()
PROBLEMS = register(globals(), "12")
