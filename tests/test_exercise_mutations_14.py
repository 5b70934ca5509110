"""Lesson 14's checks: known-wrong answers each must reject (with a message that names the mistake)
and right alternatives each must accept. The checks look at outcomes - a folder the audit reads,
numbers, a model card - so the wrong answers are damaged outcomes as often as damaged code."""

from __future__ import annotations

import shutil
import textwrap
from collections import defaultdict
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold

from cancer_course import audit, evaluation, experiments, modelcard, synth
from cancer_course.exercises import core, problems
from cancer_course.exercises.ex14 import capstone_data
from cancer_course.pipeline import load_splits

P = {p.id: p for p in problems("14")}
NS = {"np": np, "shutil": shutil, "Path": Path, "audit": audit, "evaluation": evaluation, "modelcard": modelcard,
      "roc_auc_score": roc_auc_score, "StratifiedGroupKFold": StratifiedGroupKFold, "defaultdict": defaultdict}


def _define(code: str, name: str):
    ns = dict(NS)
    exec(textwrap.dedent(code), ns)
    return ns[name]


# ---------------------------------------------------------------- q1: damaged folders
@pytest.fixture(scope="module")
def capstone(tmp_path_factory):
    base = tmp_path_factory.mktemp("capstone")
    data = capstone_data(base / "data")
    split = _define(P["14.1"].solution_code, "leak_free_copy")(data, base / "right")
    return data, split, base


def _copy(split: Path, dest: Path) -> Path:
    shutil.copytree(split, dest)
    return dest


def _original(name: str) -> str:
    return name.replace("__", "/")


def _move(folder: Path, name_part: str, to: str) -> None:
    """Move the first file whose name contains `name_part` to split `to` (same class)."""
    path = next(p for p in sorted(folder.glob("*/*/*")) if name_part in p.name)
    target = folder / to / path.parent.name
    if path.parent.parent.name == to:
        target = folder / ("train" if to != "train" else "test") / path.parent.name
    shutil.move(str(path), target / path.name)


def _twin_apart(folder: Path, data: Path, planted: str) -> None:
    """Put the planted copy `planted` (e.g. scan_00) in another split than its twin."""
    report = audit.audit(data, workers=1)
    twins = [g["files"] for g in report.duplicate_groups] + [[p["a"], p["b"]] for p in report.near_duplicates]
    pair = next(t for t in twins if any(planted in f for f in t))
    other = next(f for f in pair if planted not in f)
    twin = next(p for p in folder.glob("*/*/*") if _original(p.name) == other)
    copy = next(p for p in folder.glob("*/*/*") if planted in p.name)
    if twin.parent.parent == copy.parent.parent:
        to = "validation" if twin.parent.parent.name != "validation" else "test"
        shutil.move(str(copy), folder / to / copy.parent.name / copy.name)


def _patient_apart(folder: Path, data: Path) -> None:
    patients, _ = audit.manifest_groups(data)
    files = {_original(p.name): p for p in folder.glob("*/*/*")}
    by_patient = defaultdict(list)
    for rel, who in patients.items():
        if rel in files and not who.startswith("record"):
            by_patient[who].append(files[rel])
    members = next(m for m in by_patient.values() if len(m) >= 2)
    path = members[0]
    to = "validation" if path.parent.parent.name != "validation" else "train"
    shutil.move(str(path), folder / to / path.parent.name / path.name)


def _reencode(folder: Path) -> None:
    for path in folder.glob("*/*/*"):
        Image.open(path).convert("RGB").save(path.with_suffix(".bmp"))
        path.unlink()


def _drop_half(folder: Path) -> None:
    for path in sorted(folder.glob("*/*/*"))[::2]:
        path.unlink()


def _one_class_test(folder: Path) -> None:
    for path in (folder / "test" / "malignant").glob("*"):
        shutil.move(str(path), folder / "train" / "malignant" / path.name)


def _tiny_validation(folder: Path) -> None:
    for cls in ("benign", "malignant"):
        for path in sorted((folder / "validation" / cls).glob("*"))[1:]:
            path.unlink()


def _relabel(folder: Path) -> None:
    path = next(iter(sorted((folder / "train" / "benign").glob("*"))))
    shutil.move(str(path), folder / "train" / "malignant" / path.name)


def _conflict_back(folder: Path, data: Path) -> None:
    shutil.copyfile(data / "validation" / "malignant" / "scan_99.png", folder / "validation" / "malignant" / "x.png")


def _no_test(folder: Path) -> None:
    shutil.rmtree(folder / "test")


FOLDERS = [  # (damage, fragment of the message)
    ("original", "both labels"),
    ("exact copy apart", "in two splits"),
    ("near copy apart", "in two splits"),
    ("patient apart", "patient"),
    ("conflict kept", "both labels"),
    ("re-encoded", "not images of the capstone dataset"),
    ("half dropped", "usable images"),
    ("one-class test", "empty class folder"),
    ("tiny validation", "less than a tenth"),
    ("relabelled", "another class"),
    ("no test split", "no test folder"),
]


def _damaged(capstone, damage: str, dest: Path) -> Path:
    data, split, _ = capstone
    if damage == "original":
        return data
    folder = _copy(split, dest)
    {"exact copy apart": lambda: _twin_apart(folder, data, "scan_00"),
     "near copy apart": lambda: _twin_apart(folder, data, "export_00"),
     "patient apart": lambda: _patient_apart(folder, data),
     "conflict kept": lambda: _conflict_back(folder, data),
     "re-encoded": lambda: _reencode(folder),
     "half dropped": lambda: _drop_half(folder),
     "one-class test": lambda: _one_class_test(folder),
     "tiny validation": lambda: _tiny_validation(folder),
     "relabelled": lambda: _relabel(folder),
     "no test split": lambda: _no_test(folder)}[damage]()
    return folder


@pytest.mark.parametrize("damage, fragment", FOLDERS, ids=[d for d, _ in FOLDERS])
def test_a_damaged_split_is_rejected_with_its_mistake_named(capstone, tmp_path, damage, fragment):
    result = P["14.1"].evaluate(_damaged(capstone, damage, tmp_path / "split"))
    assert result.status == core.INCORRECT, result.line()
    assert fragment in result.message, result.message


def test_q1_refuses_what_is_not_a_folder(tmp_path):
    for answer, fragment in (([1, 2], "give the folder"), (tmp_path / "nowhere", "is not a folder")):
        result = P["14.1"].evaluate(answer)
        assert result.status == core.INCORRECT and fragment in result.message, result.message


def test_the_right_split_passes_and_so_does_one_without_duplicate_copies(capstone, tmp_path):
    data, split, _ = capstone
    assert P["14.1"].evaluate(split).status == core.CORRECT
    deduplicated = _copy(split, tmp_path / "dedup")
    seen = set()
    for path in sorted(deduplicated.glob("*/*/*")):  # keep one file of every exact-copy group
        digest = path.read_bytes()
        if digest in seen:
            path.unlink()
        seen.add(digest)
    result = P["14.1"].evaluate(deduplicated)
    assert result.status == core.CORRECT, result.line()


# ---------------------------------------------------------------- q2
METRICS = '''
def metrics_with_intervals(y_val, p_val, y_test, p_test, n_boot=1000, seed=0):
    t = {threshold}
    y, p = np.asarray(y_test), np.asarray(p_test)
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    values = {{"auc": [], "sensitivity": [], "specificity": []}}
    for _ in range(n_boot):
        idx = {resample}
        yb, pb = y[idx], p[idx]
        values["auc"].append(roc_auc_score(yb, pb))
        values["sensitivity"].append(np.mean(pb[yb == 1] >= {at}))
        values["specificity"].append(np.mean(pb[yb == 0] < {at}))
    point = {{"auc": {auc}, "sensitivity": np.mean(p[y == 1] >= {at}), "specificity": np.mean(p[y == 0] < {at})}}
    {swap}
    return {{"threshold": t, **{{m: (point[m], *{interval}) for m in values}}}}
'''


def _metrics(threshold='evaluation.youden_threshold(y_val, p_val)["threshold"]',
             resample="np.r_[rng.choice(pos, pos.size), rng.choice(neg, neg.size)]", at="t",
             auc="roc_auc_score(y, p)", swap="", interval="np.percentile(values[m], [2.5, 97.5])"):
    return METRICS.format(threshold=threshold, resample=resample, at=at, auc=auc, swap=swap, interval=interval)


WRONG_METRICS = [
    (_metrics(threshold='evaluation.youden_threshold(y_test, p_test)["threshold"]'), "on the test split"),
    (_metrics(threshold="0.5"), "chosen on no split"),
    (_metrics(auc="roc_auc_score(y_val, p_val)"), "validation AUC"),
    (_metrics(swap='point["sensitivity"], point["specificity"] = point["specificity"], point["sensitivity"]'),
     "That is the specificity"),
    (_metrics(at="0.5").replace("t = evaluation", "t = evaluation"), "at 0.5"),
    (_metrics(interval="(point[m], point[m])"), "no width"),
    (_metrics(interval="(point[m] - np.std(values[m]) / 10, point[m] + np.std(values[m]) / 10)"),
     "resample as many cases"),
    (_metrics(resample="np.r_[rng.choice(pos, pos.size // 5), rng.choice(neg, neg.size // 5)]"), "not fewer"),
    (_metrics(interval="np.percentile(values[m], [5, 95])"), "0.84 times as wide"),  # a 90% interval
    (_metrics(interval="np.percentile(values[m], [10, 90])"), "0.84 times as wide"),  # an 80% interval
    ('''
def metrics_with_intervals(y_val, p_val, y_test, p_test, n_boot=1000, seed=0):
    return {"auc": (roc_auc_score(y_test, p_test), 0.0, 1.0)}
''', "has no 'threshold'"),
    ('''
def metrics_with_intervals(y_val, p_val, y_test, p_test, n_boot=1000, seed=0):
    t = evaluation.youden_threshold(y_val, p_val)["threshold"]
    ci = evaluation.bootstrap_intervals(y_test, p_test, t, n_boot=n_boot, seed=seed)
    return {"threshold": t, **{m: (ci["point"][m], *ci[m]) for m in ("auc", "sensitivity", "specificity")}}
''', "package's own function"),
]

RIGHT_METRICS = '''
def metrics_with_intervals(y_val, p_val, y_test, p_test, n_boot=1000, seed=0):
    from sklearn.metrics import roc_curve
    fpr, tpr, thresholds = roc_curve(y_val, p_val)
    t = float(thresholds[np.argmax(tpr - fpr)])  # Youden's J on validation, found another way
    y, p = np.asarray(y_test), np.asarray(p_test)
    rng = np.random.default_rng(seed + 7)
    out = {"threshold": t}
    boot = {"auc": [], "sensitivity": [], "specificity": []}
    for _ in range(n_boot):
        pos = rng.choice(p[y == 1], (y == 1).sum())
        neg = rng.choice(p[y == 0], (y == 0).sum())
        boot["auc"].append(roc_auc_score(np.r_[np.ones(pos.size), np.zeros(neg.size)], np.r_[pos, neg]))
        boot["sensitivity"].append((pos >= t).mean())
        boot["specificity"].append((neg < t).mean())
    point = {"auc": roc_auc_score(y, p), "sensitivity": (p[y == 1] >= t).mean(), "specificity": (p[y == 0] < t).mean()}
    for m, values in boot.items():
        out[m] = [point[m], np.quantile(values, 0.025), np.quantile(values, 0.975)]
    return out
'''


# ---------------------------------------------------------------- q3
PAIRED = '''
def paired_difference(labels, p_a, p_b, n_boot=1000, seed=0):
    y, pa, pb = np.asarray(labels), np.asarray(p_a), np.asarray(p_b)
    {guard}
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    diffs = []
    for _ in range(n_boot):
        ia = np.r_[rng.choice(pos, pos.size), rng.choice(neg, neg.size)]
        ib = {ib}
        diffs.append(roc_auc_score(y[ia], pa[ia]) - roc_auc_score(y[ib], pb[ib]))
    low, high = {interval}
    return {{"difference": {difference}, "ci_low": low, "ci_high": high}}
'''


def _paired(guard="if not len(y) == len(pa) == len(pb): raise ValueError('not the same cases')", ib="ia",
            interval="np.percentile(diffs, [2.5, 97.5])", difference="roc_auc_score(y, pa) - roc_auc_score(y, pb)"):
    return PAIRED.format(guard=guard, ib=ib, interval=interval, difference=difference)


WRONG_PAIRED = [
    (_paired(ib="np.r_[rng.choice(pos, pos.size), rng.choice(neg, neg.size)]"), "one set of indices"),
    (_paired(difference="roc_auc_score(y, pb) - roc_auc_score(y, pa)",
             interval="sorted(-np.percentile(diffs, [2.5, 97.5]))"), "B minus A"),
    (_paired(guard="n = min(len(pa), len(pb)); y, pa, pb = y[:n], pa[:n], pb[:n]"), "raise ValueError"),
    (_paired(interval="(np.mean(diffs) - np.std(diffs) / 10, np.mean(diffs) + np.std(diffs) / 10)"),
     "resample all the cases"),
    (_paired(interval="(0.5, 0.9)"), "does not surround"),
    (_paired(interval="np.percentile(diffs, [5, 95])"), "0.84 times"),  # a 90% interval
    (_paired(interval="np.percentile(diffs, [10, 90])"), "0.84 times"),  # an 80% interval
    (_paired(difference="roc_auc_score(y, pa)", interval="(0.0, 1.0)"), "compute both AUCs"),
    ('''
def paired_difference(labels, p_a, p_b, n_boot=1000, seed=0):
    c = evaluation.compare_aucs(labels, p_a, p_b, n_boot=n_boot, seed=seed)
    return {"difference": c["difference"], "ci_low": c["ci_low"], "ci_high": c["ci_high"]}
''', "package's own function"),
    ('''
def paired_difference(labels, p_a, p_b, n_boot=1000, seed=0):
    if len(p_a) != len(p_b):
        raise ValueError("not the same cases")
    return roc_auc_score(labels, p_a) - roc_auc_score(labels, p_b)
''', "return a dict"),
]

RIGHT_PAIRED = '''
def paired_difference(labels, p_a, p_b, n_boot=1000, seed=0):
    y = np.asarray(labels)
    scores = np.stack([np.asarray(p_a, float), np.asarray(p_b, float)])  # raises for different lengths
    if scores.shape[1] != y.size:
        raise ValueError("scores and labels are not the same cases")
    rng = np.random.default_rng(seed + 3)
    diffs = []
    for _ in range(n_boot):
        idx = rng.integers(0, y.size, y.size)  # unstratified, still paired
        if y[idx].min() == y[idx].max():
            continue
        diffs.append(roc_auc_score(y[idx], scores[0, idx]) - roc_auc_score(y[idx], scores[1, idx]))
    d = roc_auc_score(y, scores[0]) - roc_auc_score(y, scores[1])
    return {"difference": d, "ci_low": np.quantile(diffs, 0.025), "ci_high": np.quantile(diffs, 0.975)}
'''


FUNCTIONS = {"14.2": ("metrics_with_intervals", WRONG_METRICS, RIGHT_METRICS),
             "14.3": ("paired_difference", WRONG_PAIRED, RIGHT_PAIRED)}
WRONG_FUNCTIONS = [(pid, i) for pid, (_, wrong, _) in FUNCTIONS.items() for i in range(len(wrong))]


@pytest.mark.parametrize("pid, index", WRONG_FUNCTIONS, ids=[f"{p}-{i}" for p, i in WRONG_FUNCTIONS])
def test_a_wrong_function_is_rejected_with_its_mistake_named(pid, index):
    name, wrong, _ = FUNCTIONS[pid]
    code, fragment = wrong[index]
    result = P[pid].evaluate(_define(code, name))
    assert result.status == core.INCORRECT, result.line()
    assert fragment in result.message, result.message


@pytest.mark.parametrize("pid", sorted(FUNCTIONS))
def test_the_solution_and_a_right_alternative_pass(pid):
    name, _, right = FUNCTIONS[pid]
    for code in (P[pid].solution_code, right):
        result = P[pid].evaluate(_define(code, name))
        assert result.status == core.CORRECT, result.line()


@pytest.mark.parametrize("pid", sorted(FUNCTIONS))
def test_a_right_95_interval_passes_whatever_its_random_draws(pid):
    """The width check tells a 90% interval from a 95% one without failing a right answer's own resamples."""
    name, _, _ = FUNCTIONS[pid]
    for offset in (11, 23, 37, 41, 59):
        code = P[pid].solution_code.replace("default_rng(seed)", f"default_rng(seed + {offset})")
        assert f"seed + {offset}" in code
        result = P[pid].evaluate(_define(code, name))
        assert result.status == core.CORRECT, (offset, result.line())


# ---------------------------------------------------------------- q4
@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    base = tmp_path_factory.mktemp("card")
    root = synth.generate_dataset(base / "card-data", image_size=16, n_train=48, n_validation=24, n_test=24, seed=2,
                                  progress=False)
    splits = load_splits(root, image_size=16, verbose=False)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(8, 3, activation="relu"),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2, activation="softmax")],
                             name="tiny_cnn")
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    x, y = experiments.images_of(splits.files("train")[0], 16), np.eye(2)[splits.files("train")[1]]
    model.fit(x, y, epochs=4, verbose=0)
    result = evaluation.evaluate(model, root, "test", out_dir=base / "evaluation", threshold="youden",
                                 threshold_split="validation", n_boot=200, seed=0, resize=True)
    return result, model, root, base


CARD = '''
def write_card(path, result, model, data_root, size):
    return modelcard.write_model_card(path, result, model, data_description={data}, training={training},
                                      extra_limits={limits})
'''
GOOD = {"data": 'f"Synthetic tiles in {data_root}. " + modelcard.describe_data(result)',
        "training": 'f"Preprocessing: RGB, resized to {size}x{size} px, scaled to [0, 1]."',
        "limits": '[f"**Few test images.** {result[\'dataset\'][\'n\']} of them."]'}


def _card(**changes):
    return CARD.format(**{**GOOD, **changes})


WRONG_CARDS = [
    (CARD.format(data="None", training="None", limits="()"), "describes the preprocessing"),
    (_card(training='"Preprocessing: the images were resized."'), "image size"),
    (_card(data='"Synthetic tiles."'), "never names the data"),
    (_card(data='f"Tiles in {data_root}."'), "how many test images"),
    (_card(limits="()"), "only the standard ones"),
    ('''
def write_card(path, result, model, data_root, size):
    path.write_text(f"# Card\\n\\nNot for clinical use.\\n\\n## Data\\n\\n{data_root}, {result['dataset']['n']} test "
                    f"images.\\n\\nPreprocessing: resized to {size}x{size} px.\\n\\n## Metrics\\n\\nAUC "
                    f"{result['auc']:.3f}\\n\\n## Known limits\\n\\n- small\\n")
    return path
''', "Metrics section has no line"),
    ('''
def write_card(path, result, model, data_root, size):
    path.write_text(f"# Card\\n\\n## Data\\n\\n{data_root}\\n")
    return path
''', "Not for clinical use"),
    ('''
def write_card(path, result, model, data_root, size):
    modelcard.write_model_card(path, result, model)
''', "is not a file"),
]


@pytest.mark.parametrize("index", range(len(WRONG_CARDS)))
def test_wrong_cards_are_rejected_with_the_mistake_named(evaluated, tmp_path, index):
    result, model, root, _ = evaluated
    code, fragment = WRONG_CARDS[index]
    path = _define(code, "write_card")(tmp_path / "MODEL_CARD.md", result, model, root, 16)
    verdict = P["14.4"].evaluate(path, result)
    assert verdict.status == core.INCORRECT, verdict.line()
    assert fragment in verdict.message, verdict.message


def test_right_cards_pass_and_a_wrong_result_is_named(evaluated, tmp_path):
    result, model, root, _ = evaluated
    for i, code in enumerate((P["14.4"].solution_code, _card())):
        path = _define(code, "write_card")(tmp_path / f"card{i}.md", result, model, root, 16)
        verdict = P["14.4"].evaluate(path, result)
        assert verdict.status == core.CORRECT, verdict.line()
    verdict = P["14.4"].evaluate(path, {"auc": 0.9})
    assert verdict.status == core.INCORRECT and "not what evaluation.evaluate returns" in verdict.message


WRONG_READINGS = [{"A"}, {"D"}, {"A", "B"}, {"A", "C", "D"}, {"A", "D", "E"}, {"D", "F"}, set()]


@pytest.mark.parametrize("answer", WRONG_READINGS, ids=lambda a: "".join(sorted(a)) or "none")
def test_a_wrong_reading_of_the_capstone_run_is_refused_and_says_why(answer):
    verdict = P["14.5"].evaluate(answer)
    assert verdict.status == core.INCORRECT, verdict.line()
    assert "does not follow" in verdict.message or "you left out" in verdict.message  # says which, and why


def test_the_right_reading_of_the_capstone_run_passes():
    assert P["14.5"].interpretive and P["14.5"].evaluate({"A", "D"}).status == core.CORRECT


def test_at_least_five_wrong_answers_per_question():
    assert sorted(P) == ["14.1", "14.2", "14.3", "14.4", "14.5"]
    assert all(len(w) >= 5 for w in (FOLDERS, WRONG_METRICS, WRONG_PAIRED, WRONG_CARDS, WRONG_READINGS))


def test_placeholders_are_not_attempted():
    for problem in P.values():
        result = problem.evaluate(*[core.____] * len(problem.names))
        assert result.status == core.NOT_ATTEMPTED, result.line()
