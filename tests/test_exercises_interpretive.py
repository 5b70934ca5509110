"""Interpretive exercises (reading evidence, answered with letters or numbers), the check that refuses
an answer calling the package's own function, and the hints' order (nudge first, never the
solution's code)."""

from __future__ import annotations

import re
import textwrap

import numpy as np
import pytest

from cancer_course.config import repo_root
from cancer_course.exercises import ____, core, problems
from cancer_course.exercises import build as nbbuild
from cancer_course.exercises._checking import _resolve
from cancer_course.exercises._choice import Choice

ROOT = repo_root()
ALL = problems()
INTERPRETIVE = [p for p in ALL if p.interpretive]
CHOICES = [p for p in INTERPRETIVE if isinstance(p, Choice)]


def _problem(pid: str) -> core.Problem:
    return next(p for p in ALL if p.id == pid)


def _solution_answers(problem) -> tuple:
    from cancer_course.exercises import ex01, ex10

    ns = {"mystery_tiles": ex01.mystery_tiles, "COST_TABLE": ex10.COST_TABLE, "____": ____}
    exec(textwrap.dedent(problem.solution_code), ns)
    return tuple(ns[name] for name in problem.names)


def test_every_lesson_has_an_interpretive_exercise():
    from cancer_course.exercises import lesson_modules

    lessons = {p.id.split(".")[0] for p in INTERPRETIVE}
    assert lessons == {name[2:] for name in lesson_modules()} >= {f"{n:02d}" for n in range(1, 14)}


@pytest.mark.parametrize("problem", INTERPRETIVE, ids=[p.id for p in INTERPRETIVE])
def test_the_solution_is_correct_and_the_placeholder_not_attempted(problem):
    result = problem.evaluate(*_solution_answers(problem))
    assert result.status == core.CORRECT, result.message
    assert problem.evaluate(*[____] * len(problem.names)).status == core.NOT_ATTEMPTED


# ---------------------------------------------------------------- choices: every defensible answer, every wrong one
def _answer(problem, letters):
    """The check's arguments for a set of letters (02.5 also asks for a count)."""
    if problem.id == "02.5":
        return (letters, _solution_answers(problem)[1])
    return (letters,)


@pytest.mark.parametrize("problem", CHOICES, ids=[p.id for p in CHOICES])
def test_every_defensible_answer_is_accepted(problem):
    answers = problem.right_answers()
    assert answers
    for letters in answers:
        result = problem.evaluate(*_answer(problem, letters))
        assert result.status == core.CORRECT, (letters, result.message)
    # the other spellings of an answer: a list, a string of letters, lower case
    first = sorted(answers[0])
    for spelling in (first, ", ".join(first), "".join(first).lower()):
        assert problem.evaluate(*_answer(problem, spelling)).correct, spelling


@pytest.mark.parametrize("problem", CHOICES, ids=[p.id for p in CHOICES])
def test_each_wrong_option_is_explained(problem):
    base = problem.right_answers()[0]
    whys = [o.why for o in problem.options.values()]
    assert all(len(w) > 30 for w in whys) and len(set(whys)) == len(whys), "each option explains itself"
    assert any(o.follows is False for o in problem.options.values()), "a problem needs a wrong option"
    for key, option in problem.options.items():
        if option.follows is None:
            continue
        if problem.single:
            if option.follows is False:
                result = problem.evaluate(*_answer(problem, {key}))
                assert result.status == core.INCORRECT and option.why in result.message, result.message
            continue
        wrong = base - {key} if option.follows else base | {key}
        result = problem.evaluate(*_answer(problem, wrong))
        assert result.status == core.INCORRECT, (key, result.message)
        assert option.why in result.message, (key, result.message)
        assert ("you left out " + key if option.follows else key + " does not follow") in result.message


@pytest.mark.parametrize("problem", CHOICES, ids=[p.id for p in CHOICES])
def test_unreadable_answers_say_what_to_give(problem):
    assert "is not one of the options" in problem.evaluate(*_answer(problem, {"Z"})).message
    assert problem.evaluate(*_answer(problem, 3)).status == core.INCORRECT
    if problem.single:
        assert "exactly one" in problem.evaluate(*_answer(problem, set(problem.options))).message


def test_show_prints_question_evidence_and_options(capsys):
    for problem in CHOICES:
        problem.show()
        out = capsys.readouterr().out
        assert problem.question.split(".")[0] in out
        assert all(f"{k}. {o.text}" in out for k, o in problem.options.items())


# ---------------------------------------------------------------- the evidence, checked independently
def test_mystery_shortcut_is_the_corner_and_the_solution_finds_it():
    from sklearn.metrics import roc_auc_score

    from cancer_course.exercises import ex01

    images, labels = ex01.mystery_tiles()
    assert images.shape == (160, 16, 16, 3) and labels.mean() == 0.5
    x = images / 255.0
    corner = roc_auc_score(labels, x[:, :4, :4].mean(axis=(1, 2, 3)))
    others = [roc_auc_score(labels, x[:, -4:, -4:].mean(axis=(1, 2, 3))),
              roc_auc_score(labels, x[:, 4:12, 4:12].std(axis=(1, 2)).mean(axis=1))]
    assert corner > 0.85 and max(others) < 0.75
    assert _solution_answers(_problem("01.4")) == ("C",)
    assert "weak signal" in _problem("01.4").evaluate("B").message


def test_redundant_bias_count_matches_a_built_block():
    import keras

    from cancer_course.blocks import residual_se_block
    from cancer_course.exercises import ex02

    c_in, filters, ratio = ex02.BN_BLOCK
    x = keras.Input((8, 8, c_in))
    model = keras.Model(x, residual_se_block(x, filters, ratio))
    feeds_bn = set()
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            feeds_bn.add(layer.input.name)
    count = sum(layer.bias.shape[0] for layer in model.layers
                if isinstance(layer, keras.layers.Conv2D) and layer.output.name in feeds_bn)
    assert count == ex02.redundant_bias_count()
    result = _problem("02.5").evaluate({"A", "B", "C", "F"}, count - filters)
    assert result.status == core.INCORRECT and "projection" in result.message


def test_receptive_field_matches_the_package_on_a_built_stack():
    import keras
    from keras import layers

    from cancer_course.blocks import multiscale_block
    from cancer_course.exercises import ex03
    from cancer_course.model import receptive_fields

    x = keras.Input((64, 64, 3))
    y = layers.Conv2D(8, 7, strides=2, padding="same", name="stem_conv")(x)
    y = layers.MaxPooling2D(3, strides=2, padding="same", name="stem_pool")(y)
    y = multiscale_block(y, 4, name="stage1_ms")
    rows = {r["stage"]: r for r in receptive_fields(keras.Model(x, y))}
    assert (rows["stage1"]["jump"], rows["stage1"]["receptive_field"]) == ex03.stack_rf() == (4, 27)


@pytest.mark.parametrize("answer, fragment", [((4, 19), "one 3x3 window"), ((4, 19), "two 3x3"), ((4, 15), "not 2"),
                                              ((4, 13), "scaled by the jump"), ((2, 27), "2 * 2"),
                                              ((8, 27), "stride 1")])
def test_receptive_field_wrong_answers(answer, fragment):
    result = _problem("03.5").evaluate(*answer)
    assert result.status == core.INCORRECT and fragment in result.message, result.message


def test_remedy_noise_uses_welchs_standard_error():
    from scipy import stats

    from cancer_course.exercises import ex08

    base = ex08.SEED_RESULTS["baseline"]["val_auc"]
    for row in ex08.SEED_RESULTS:
        if row == "baseline":
            continue
        t = stats.ttest_ind(ex08.SEED_RESULTS[row]["val_auc"], base, equal_var=False).statistic
        assert ex08.seed_gain(row)["ratio"] == pytest.approx(t)
    options = _problem("08.5").options
    assert options["A"].follows is True and options["B"].follows is False and options["D"].follows is None


@pytest.mark.parametrize("threshold", [0.3, 0.4])
def test_cost_threshold_accepts_every_tie(threshold):
    assert _problem("10.5").evaluate(threshold).correct


def test_cost_threshold_is_the_lowest_expected_cost():
    from cancer_course.exercises import ex10

    costs = {t: 0.1 * (1 - s) * 20 + 0.9 * (1 - c) for t, (s, c) in ex10.COST_TABLE.items()}
    best = min(costs, key=costs.get)
    assert best in _problem("10.5").accepted()
    assert all(costs[t] <= costs[best] * 1.05 for t in _problem("10.5").accepted())


@pytest.mark.parametrize("threshold, fragment", [(0.5, "Youden"), (0.7, "maximises accuracy"),
                                                 (0.2, "false alarms"), (0.35, "not in the table"),
                                                 ("0.3", "a number")])
def test_cost_threshold_wrong_answers(threshold, fragment):
    result = _problem("10.5").evaluate(threshold)
    assert result.status == core.INCORRECT and fragment in result.message, result.message


def test_the_seed_epochs_statements_follow_from_the_published_numbers():
    from cancer_course.plots import REFERENCE_EPOCHS

    (_, _, val_acc1, _, auc1, _, loss1), (_, _, _, _, auc2, _, loss2) = REFERENCE_EPOCHS
    options = _problem("05.5").options
    assert options["A"].follows is (loss2 > loss1) is False
    assert options["B"].follows is (auc2 > auc1) is True
    assert val_acc1 < 50 and options["D"].follows is (auc1 < 0.5)


# ---------------------------------------------------------------- no duplicates, nothing the lesson printed
def test_no_two_problems_ask_the_same():
    titles = [p.title.lower() for p in ALL]
    assert len(set(titles)) == len(titles)
    assert "balance" in _problem("07.1").title  # 01.1 computes class weights; 07.1 runs the recipe backwards


def test_the_head_count_is_not_the_one_the_lesson_prints():
    from cancer_course.exercises.ex05 import head_params

    result = _problem("05.3").evaluate(head_params(512, (1024, 512, 256)))
    assert result.status == core.INCORRECT


# ---------------------------------------------------------------- "write it yourself"
REIMPLEMENTED = [p for p in ALL if p.reimplements]


def test_problems_that_name_a_package_function_exist():
    assert {p.id for p in REIMPLEMENTED} >= {"01.1", "02.1", "07.2", "08.2", "10.3", "10.4", "11.4"}
    for p in REIMPLEMENTED:
        for dotted in p.reimplements:
            assert callable(_resolve(dotted)), dotted


@pytest.mark.parametrize("problem", REIMPLEMENTED, ids=[p.id for p in REIMPLEMENTED])
def test_the_package_function_itself_is_refused(problem):
    target = _resolve(problem.reimplements[0])
    result = problem.evaluate(*([target] + [____] * (len(problem.names) - 1)))
    assert result.status == core.INCORRECT, result.line()
    assert problem.reimplements[0] in result.message and "write it yourself" in result.message


WRAPPERS = {
    "10.3": '''
        from cancer_course import evaluation

        def youden_threshold(y_true, p):
            return evaluation.youden_threshold(y_true, p)["threshold"]
        ''',
    "10.4": '''
        def ece(y_true, p, n_bins=10):
            from cancer_course.evaluation import expected_calibration_error as e
            return e(y_true, p, n_bins)
        ''',
    "01.1": '''
        import cancer_course.audit as a

        def helper(counts):
            return a.balanced_class_weights(counts)

        def weights_from_counts(counts):
            return helper(counts)
        ''',
    "11.4": '''
        from functools import partial

        from cancer_course.explain import map_similarity as ms

        map_similarity = partial(ms)
        ''',
}


@pytest.mark.parametrize("pid", sorted(WRAPPERS))
def test_a_wrapper_around_the_package_function_is_refused(pid):
    problem = _problem(pid)
    ns: dict = {}
    exec(textwrap.dedent(WRAPPERS[pid]), ns)
    result = problem.evaluate(ns[problem.names[0]])
    assert result.status == core.INCORRECT and "the package's own function" in result.message, result.line()


def test_package_function_used_ignores_other_code():
    targets = ("cancer_course.evaluation.youden_threshold",)

    def own(y, p):
        from sklearn.metrics import roc_curve

        fpr, tpr, thresholds = roc_curve(y, p)
        return float(thresholds[np.argmax(tpr - fpr)])

    assert core.package_function_used(own, targets) is None
    assert core.package_function_used(own, ()) is None
    assert core.package_function_used(3, targets) is None


# ---------------------------------------------------------------- hints: a nudge first, the code only in solution()
def _code_lines(problem) -> list[str]:
    out = []
    for line in textwrap.dedent(problem.solution_code).splitlines():
        text = line.strip()
        if len(text) >= 12 and not text.startswith(("def ", "import ", "from ", "#", '"""')):
            out.append(re.sub(r"[\s'\"]", "", text))
    return [line for line in out if len(line) >= 12]


@pytest.mark.parametrize("problem", ALL, ids=[p.id for p in ALL])
def test_hints_go_from_a_nudge_to_a_near_answer(problem):
    assert len(problem.hints) >= 2 and problem.hints[0] != problem.hints[-1]
    first, last = (re.sub(r"[\s'\"]", "", h) for h in (problem.hints[0], problem.hints[-1]))
    lines = _code_lines(problem)
    assert not [line for line in lines if line in first], "hint 1 gives a line of the solution away"
    assert not (lines and all(line in last for line in lines)), "the last hint is the solution's code"


# ---------------------------------------------------------------- the notebooks
@pytest.mark.parametrize("problem", INTERPRETIVE, ids=[p.id for p in INTERPRETIVE])
def test_each_interpretive_problem_is_in_both_notebooks(problem):
    lesson, n = problem.id.split(".")
    solution = next((ROOT / "solutions").glob(f"{lesson}_*_solutions.ipynb"))
    exercise = nbbuild.exercise_path(ROOT, solution)
    for path, hint in ((solution, f"q{n}.hint()"), (exercise, f"# q{n}.hint()")):
        text = "\n".join("".join(c["source"]) for c in nbbuild.nbconv.load(path)["cells"])
        assert f"q{n}.check(" in text and hint in text, path.name
    stubbed = "\n".join("".join(c["source"]) for c in nbbuild.nbconv.load(exercise)["cells"])
    assert all(f"{name} = ____" in stubbed or f"{name}, " in stubbed for name in problem.names)
