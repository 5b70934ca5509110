"""The exercises: every check on its right answer, known-wrong answers and the placeholder; the
exercise notebooks as a pure function of the solution notebooks; and, in the notebooks themselves,
every check correct in solutions/ and none in exercises/."""

from __future__ import annotations

import contextlib
import io
import json
import math
import shutil
import textwrap

import pytest

from cancer_course.config import repo_root
from cancer_course.exercises import ____, core, problems
from cancer_course.exercises import build as nbbuild

ROOT = repo_root()
LESSONS = ("02", "03", "04", "05", "06", "07")  # 01 and 08-12: tests/test_exercises_more.py
# the interpretive problems (reading evidence, answered with letters): tests/test_exercises_interpretive.py
PROBLEMS = [p for lesson in LESSONS for p in problems(lesson) if not p.interpretive]
SOLUTIONS = nbbuild.solution_notebooks(ROOT)


# ---------------------------------------------------------------- answers
def _scaffold() -> dict:
    import keras
    import tensorflow as tf
    from keras import layers

    from cancer_course.blocks import ChannelPool
    from cancer_course.model import build_model

    def conv_bn(x, filters, kernel_size, name, relu=True):
        x = layers.Conv2D(filters, kernel_size, padding="same", name=f"{name}_conv")(x)
        x = layers.BatchNormalization(name=f"{name}_bn")(x)
        if relu:
            x = layers.ReLU(name=f"{name}_relu")(x)
        return x

    return {"keras": keras, "layers": layers, "tf": tf, "math": math, "ChannelPool": ChannelPool,
            "build_model": build_model, "conv_bn": conv_bn, "____": ____}


def _namespace(problem) -> dict:
    """The scaffolding plus the right answers of this problem and the problems before it in its lesson."""
    ns = _scaffold()
    lesson = problem.id.split(".")[0]
    for p in problems(lesson):
        exec(textwrap.dedent(p.solution_code), ns)
        if p is problem:
            break
    return ns


@pytest.mark.parametrize("problem", PROBLEMS, ids=[p.id for p in PROBLEMS])
def test_right_answer_is_correct(problem):
    ns = _namespace(problem)
    result = problem.evaluate(*[ns[name] for name in problem.names])
    assert result.status == core.CORRECT, result.message
    assert result.line().startswith("Correct")


@pytest.mark.parametrize("problem", PROBLEMS, ids=[p.id for p in PROBLEMS])
def test_placeholder_is_not_attempted(problem):
    result = problem.evaluate(*[____] * len(problem.names))
    assert result.status == core.NOT_ATTEMPTED
    assert result.line().startswith("Not attempted yet")
    # a function that still returns the placeholder is not attempted either
    def stub(*args, **kwargs):
        return ____

    if len(problem.names) == 1:
        assert problem.evaluate(stub).status == core.NOT_ATTEMPTED


# Known-wrong answers: (code that redefines the answer, a fragment of the expected message).
WRONG = {
    "02.1": [
        ('''def squeeze_excitation(x, ratio=16, name="se"):
                c = x.shape[-1]
                s = layers.GlobalMaxPooling2D(keepdims=True)(x)
                s = layers.Dense(max(1, c // ratio), activation="relu")(s)
                return layers.Multiply()([x, layers.Dense(c, activation="sigmoid")(s)])''',
         "maximum of each channel"),
        ('''def squeeze_excitation(x, ratio=16, name="se"):
                c = x.shape[-1]
                s = layers.GlobalAveragePooling2D(keepdims=True)(x)
                s = layers.Dense(max(1, c // ratio), activation="relu")(s)
                return layers.Dense(c, activation="sigmoid")(s)''',
         "returned shape (None, 1, 1, 64) but the input was (None, 8, 8, 64): the gates must have one value "
         "per input channel"),
        ('''def squeeze_excitation(x, ratio=16, name="se"):
                c = x.shape[-1]
                s = layers.GlobalAveragePooling2D(keepdims=True)(x)
                s = layers.Dense(c, activation="relu")(s)
                return layers.Multiply()([x, layers.Dense(c, activation="sigmoid")(s)])''',
         "should have 580"),
    ],
    "02.2": [
        ('''def shortcut(x, filters, name="block"):
                return conv_bn(x, filters, 1, f"{name}_proj", relu=False)''',
         "an identity shortcut has no layers"),
        ('''def shortcut(x, filters, name="block"):
                if x.shape[-1] == filters:
                    return x
                return conv_bn(x, filters, 1, f"{name}_proj", relu=True)''',
         "leave out the ReLU"),
        ('''def shortcut(x, filters, name="block"):
                if x.shape[-1] == filters:
                    return x
                return layers.Conv2D(filters, 1)(x)''',
         "followed by BatchNormalization"),
    ],
    "02.3": [
        ('''def residual_se_block(x, filters, ratio=16, name="block"):
                b = max(1, filters // 4)
                y = conv_bn(x, b, 1, f"{name}_a")
                y = conv_bn(y, b, 3, f"{name}_b")
                y = conv_bn(y, filters, 1, f"{name}_c", relu=False)
                y = squeeze_excitation(y, ratio, name=f"{name}_se")
                return layers.ReLU()(y)''',
         "must return ReLU(x)"),
        ('''def residual_se_block(x, filters, ratio=16, name="block"):
                b = max(1, filters // 4)
                y = conv_bn(x, b, 1, f"{name}_a")
                y = conv_bn(y, b, 3, f"{name}_b")
                y = conv_bn(y, filters, 1, f"{name}_c", relu=False)
                y = squeeze_excitation(y, ratio, name=f"{name}_se")
                return layers.ReLU()(layers.Add()([y, x]))''',
         "the shortcut is a 1x1 conv + BN projection"),
    ],
    "02.4": [
        ("block_params, block_non_trainable = 105872 - 33024 - 1024, 1280", "without its projection shortcut"),
        ("block_params, block_non_trainable = 104592, 1280", "trainable part only"),
        ("block_params, block_non_trainable = 105872, 2560", "not 4"),
    ],
    "03.1": [
        ('''def multiscale_block(x, branch_filters=64, name="ms"):
                f = branch_filters
                b1 = conv_bn(x, f, 1, f"{name}_1")
                b2 = conv_bn(conv_bn(x, f, 1, f"{name}_2a"), f, 3, f"{name}_2b")
                b3 = conv_bn(conv_bn(x, f, 1, f"{name}_3a"), f, 3, f"{name}_3b")
                b4 = conv_bn(layers.MaxPooling2D(3, strides=1, padding="same")(x), f, 1, f"{name}_4")
                return layers.Concatenate()([b1, b2, b3, b4])''',
         "should have 9,520"),
        ('''def multiscale_block(x, branch_filters=64, name="ms"):
                f = branch_filters
                b1 = conv_bn(x, f, 1, f"{name}_1")
                b2 = conv_bn(conv_bn(x, f, 1, f"{name}_2a"), f, 3, f"{name}_2b")
                b3 = conv_bn(conv_bn(conv_bn(x, f, 1, f"{name}_3a"), f, 3, f"{name}_3b"), f, 3, f"{name}_3c")
                b4 = conv_bn(layers.MaxPooling2D(3, strides=1, padding="same")(x), f, 1, f"{name}_4")
                return layers.Concatenate()([b2, b1, b3, b4])''',
         "should be branch 1 (1x1)"),
        ('''def multiscale_block(x, branch_filters=64, name="ms"):
                f = branch_filters
                b1 = conv_bn(x, f, 1, f"{name}_1")
                b2 = conv_bn(conv_bn(x, f, 1, f"{name}_2a"), f, 3, f"{name}_2b")
                b3 = conv_bn(conv_bn(conv_bn(x, f, 1, f"{name}_3a"), f, 3, f"{name}_3b"), f, 3, f"{name}_3c")
                b4 = conv_bn(layers.MaxPooling2D(3, strides=2, padding="same")(x), f, 1, f"{name}_4")
                return layers.Concatenate()([b1, b2, b3, b4])''',
         "raised ValueError"),
    ],
    "03.2": [
        ('''def multiscale_block_widths(x, widths=(64, 64, 64, 64), name="msw"):
                f2, f1, f3, f4 = widths
                b1 = conv_bn(x, f1, 1, f"{name}_1")
                b2 = conv_bn(conv_bn(x, f2, 1, f"{name}_2a"), f2, 3, f"{name}_2b")
                b3 = conv_bn(conv_bn(conv_bn(x, f3, 1, f"{name}_3a"), f3, 3, f"{name}_3b"), f3, 3, f"{name}_3c")
                b4 = conv_bn(layers.MaxPooling2D(3, strides=1, padding="same")(x), f4, 1, f"{name}_4")
                return layers.Concatenate()([b1, b2, b3, b4])''',
         "as if the widths were (12, 8, 4, 6)"),
    ],
    "03.3": [
        ("ms_out_channels, ms_params = 256, 145600", "(256 is the reference model's"),
        ("ms_out_channels, ms_params = 128, 145600", "the reference model's block"),
        ("ms_out_channels, ms_params = 128, 36960 - 7 * 4 * 32", "seven BNs"),
    ],
    "03.4": [("two_3x3_params, one_5x5_params = 36928, 102464", "that is one 3x3 convolution")],
    "04.1": [
        ('''def channel_attention(x, ratio=8, name="ca"):
                c = x.shape[-1]
                avg = layers.GlobalAveragePooling2D(keepdims=True)(x)
                mx = layers.GlobalMaxPooling2D(keepdims=True)(x)
                a = layers.Dense(c)(layers.Dense(c // ratio, activation="relu")(avg))
                m = layers.Dense(c)(layers.Dense(c // ratio, activation="relu")(mx))
                return layers.Multiply()([x, layers.Activation("sigmoid")(layers.Add()([a, m]))])''',
         "twice the shared MLP"),
        ('''def channel_attention(x, ratio=8, name="ca"):
                c = x.shape[-1]
                hidden, out = layers.Dense(c // ratio, activation="relu"), layers.Dense(c)
                avg = layers.GlobalAveragePooling2D(keepdims=True)(x)
                return layers.Multiply()([x, layers.Activation("sigmoid")(out(hidden(avg)))])''',
         "only the average-pooled descriptor"),
    ],
    "04.2": [
        ('''def spatial_attention(x, kernel_size=7, name="sa"):
                a = layers.Conv2D(1, kernel_size, padding="same", activation="sigmoid")(x)
                return layers.Multiply()([x, a])''',
         "over all 32 channels"),
    ],
    "04.3": [
        ('''def cbam(x, ratio=8, kernel_size=7, name="cbam"):
                return channel_attention(spatial_attention(x, kernel_size, name=name + "_s"), ratio, name=name + "_c")''',
         "applies spatial attention first"),
    ],
    "04.4": [("cbam_256_params = 2 * (256 * 32 + 32 + 32 * 256 + 256) + 99", "counted the MLP twice")],
    "05.1": [
        ('''def stem(x, filters=64, name="stem"):
                x = layers.Conv2D(filters, 7, strides=2, padding="same")(x)
                return layers.ReLU()(layers.BatchNormalization()(x))''',
         "shrinks 64 px to 16"),
        ('''def stem(x, filters=64, name="stem"):
                x = layers.Conv2D(filters, 3, strides=2, padding="same")(x)
                x = layers.ReLU()(layers.BatchNormalization()(x))
                return layers.MaxPooling2D(3, strides=2, padding="same")(x)''',
         "large 7x7 kernel"),
    ],
    "05.2": [
        ('''def head(x, units=(1024, 512, 256), rates=(0.5, 0.4, 0.3), name="head"):
                x = layers.GlobalAveragePooling2D()(x)
                for u, r in zip(units, rates):
                    x = layers.Dropout(r)(layers.Dense(u, activation="relu")(x))
                return layers.Dense(2, activation="softmax")(x)''',
         "has no BatchNormalization"),
        ('''def head(x, units=(1024, 512, 256), rates=(0.5, 0.4, 0.3), name="head"):
                x = layers.GlobalAveragePooling2D()(x)
                for u in units:
                    x = layers.Dropout(0.5)(layers.ReLU()(layers.BatchNormalization()(layers.Dense(u)(x))))
                return layers.Dense(2, activation="softmax")(x)''',
         "dropout rates [0.5, 0.5, 0.5]"),
    ],
    "05.3": [
        ("small_head_params = 512 * 256 + 256 + 256 * 64 + 64 + 64 + 1", "two BNs"),
        ("small_head_params = 512 * 256 + 256 + 4 * 256 + 256 * 64 + 64 + 4 * 64 + 64 * 2 + 2", "one sigmoid unit"),
        ("small_head_params = 256 * 256 + 256 + 4 * 256 + 256 * 64 + 64 + 4 * 64 + 64 + 1", "reads 512 numbers"),
    ],
    "05.4": [
        ("my_model = build_model(input_shape=(64, 64, 3), width=0.5, blocks_per_stage=(1, 1, 1), "
         "head_units=(128, 64, 32))", "a sigmoid output is one unit"),
        ("my_model = build_model(input_shape=(64, 64, 3), width=0.5, blocks_per_stage=(1, 1, 1), "
         "head_units=(256, 128, 64), output='sigmoid')", "check head_units"),
    ],
    "06.1": [
        ('''augmentation = keras.Sequential([layers.RandomFlip("horizontal"),
                layers.RandomRotation(0.2, fill_mode="nearest"), layers.RandomTranslation(0.2, 0.2, fill_mode="nearest"),
                layers.RandomZoom(0.2, fill_mode="nearest")])''',
         "rotates by ±72 degrees"),
        ('''augmentation = keras.Sequential([layers.RandomFlip("horizontal"), layers.RandomRotation(20 / 360),
                layers.RandomTranslation(0.2, 0.2), layers.RandomZoom(0.2)])''',
         "fill_mode='nearest'"),
    ],
    "06.2": [
        ('''def make_pipeline(ds, batch_size, shuffle_buffer, seed=None):
                return ds.shuffle(shuffle_buffer).cache().batch(batch_size).prefetch(tf.data.AUTOTUNE)''',
         "Cache *before* shuffling"),
        ('''def make_pipeline(ds, batch_size, shuffle_buffer, seed=None):
                return ds.cache().batch(batch_size).shuffle(shuffle_buffer).prefetch(tf.data.AUTOTUNE)''',
         "shuffled whole batches"),
        ('''def make_pipeline(ds, batch_size, shuffle_buffer, seed=None):
                return ds.shuffle(shuffle_buffer).batch(batch_size).prefetch(tf.data.AUTOTUNE)''',
         "read the source 40 times"),
        ('''def make_pipeline(ds, batch_size, shuffle_buffer, seed=None):
                return ds.cache().shuffle(shuffle_buffer).batch(batch_size)''',
         ".prefetch(tf.data.AUTOTUNE)"),
    ],
    "06.3": [
        ('''def make_training_pipeline(ds, augment, batch_size, seed=None):
                ds = ds.map(lambda x, y: (augment(x, training=True), y)).cache().shuffle(100).batch(batch_size)
                return ds.prefetch(tf.data.AUTOTUNE)''',
         "runs before the cache"),
    ],
    "06.4": [("steps = 1000 // 32", "drops the last 8 images"), ("steps = 1000 / 32", "round up")],
    "07.1": [
        ('''def class_shares(class_weight):
                return {c: 1 / w for c, w in class_weight.items()}''',
         "divides by the number of classes"),
        ('''def class_shares(class_weight):
                total = sum(class_weight.values())
                return {c: w / total for c, w in class_weight.items()}''',
         "*rarer* class"),
    ],
    "07.2": [
        ('''def lr_schedule(epoch, lr):
                return lr * 0.9 ** epoch''', "compounds"),
        ('''def lr_schedule(epoch, lr):
                return 1e-3 * 0.9 ** (epoch + 1)''', "at epoch 0"),
    ],
    "07.3": [
        ('''def make_callbacks(patience=3):
                return [keras.callbacks.EarlyStopping(monitor="val_auc", mode="max", patience=patience),
                        keras.callbacks.LearningRateScheduler(lr_schedule)]''',
         "restore_best_weights=True"),
        ('''def make_callbacks(patience=3):
                return [keras.callbacks.EarlyStopping(monitor="val_auc", mode="max", patience=patience,
                                                      restore_best_weights=True)]''',
         "learning rate never changed"),
        ('''def make_callbacks(patience=3):
                return [keras.callbacks.LearningRateScheduler(lr_schedule)]''',
         "never stopped"),
    ],
}
WRONG_CASES = [(pid, i) for pid, cases in WRONG.items() for i in range(len(cases))]


def test_every_problem_has_a_known_wrong_answer():
    assert {p.id for p in PROBLEMS} <= set(WRONG)


@pytest.mark.parametrize("pid, index", WRONG_CASES, ids=[f"{p}-{i}" for p, i in WRONG_CASES])
def test_wrong_answer_says_what_is_wrong(pid, index):
    problem = next(p for p in PROBLEMS if p.id == pid)
    code, fragment = WRONG[pid][index]
    ns = _namespace(problem)
    exec(textwrap.dedent(code).replace("\n            ", "\n    ") if code.startswith("def") else code, ns)
    result = problem.evaluate(*[ns[name] for name in problem.names])
    assert result.status == core.INCORRECT, result.line()
    assert fragment in result.message, result.message


def test_check_prints_one_line_and_keeps_the_result(capsys):
    from cancer_course.exercises import ex06

    ex06.q4.check(32)
    assert capsys.readouterr().out.startswith("Correct: 06.4")
    assert ex06.q4.last_result.correct and core.HISTORY[-1] is ex06.q4.last_result
    ex06.q4.check(31)
    assert capsys.readouterr().out.startswith("Incorrect: ")
    ex06.q4.check()  # no argument: looked up by name in the caller's globals, absent here
    assert ex06.q4.last_result.status == core.NOT_ATTEMPTED
    ex06.q4.hint()
    ex06.q4.hint(99)
    ex06.q4.solution()
    out = capsys.readouterr().out
    assert "Hint (hint 1 of 3; q4.hint(2) says more)" in out and "math.ceil(1000 / 32)" in out


def test_placeholder_refuses_arithmetic():
    with pytest.raises(TypeError, match="placeholder"):
        ____ + 1  # noqa: B018
    assert repr(____) == "____"


# ---------------------------------------------------------------- building notebooks
def test_transform_stubs_regions_and_comments_hints():
    source = textwrap.dedent('''
        def f(x):
            y = x + 1
            ### BEGIN SOLUTION
            z = y * 2
            return z
            ### END SOLUTION

        ### BEGIN SOLUTION
        a, b = 1, 2
        c = d = 3
        print(a)
        ### END SOLUTION
        q1.check(f)
        q1.hint()
        q1.solution()''')
    out = nbbuild.transform_code(source)
    assert "    # Your code here\n    return ____" in out
    assert "a, b = ____, ____\nc = d = ____\nq1.check(f)" in out
    assert "# q1.hint()\n# q1.solution()" in out
    assert "z = y * 2" not in out and "print(a)" not in out and "y = x + 1" in out
    with pytest.raises(nbbuild.BuildError, match="no '### END SOLUTION'"):
        nbbuild.transform_code("### BEGIN SOLUTION\nx = 1")
    assert nbbuild.transform_markdown("Why?\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION") == \
        "Why?\n" + nbbuild.MARKDOWN_PROMPT


@pytest.mark.parametrize("solution", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_build_is_a_pure_function(solution):
    from cancer_course.commands import notebooks as nbconv

    original = nbconv.load(solution)
    before = json.dumps(original, sort_keys=True)
    target = nbbuild.exercise_path(ROOT, solution)
    first = nbbuild.build_notebook(original, ROOT, target, "x")
    second = nbbuild.build_notebook(original, ROOT, target, "x")
    assert first == second and json.dumps(original, sort_keys=True) == before
    text = json.dumps(first)
    assert "BEGIN SOLUTION" not in text and "solutions-only" not in text
    assert nbconv.check_notebook(target, ROOT) == []
    sources = ["".join(c["source"]) for c in first["cells"]]
    assert "Exercises" in sources[0].splitlines()[0]
    assert any("../notebooks/" in s for s in sources) and any(f"../solutions/{solution.name}" in s for s in sources)


def test_committed_exercises_match_a_fresh_build():
    assert nbbuild.check(ROOT) == []


@pytest.fixture
def course(tmp_path):
    """A copy of the files the build reads and writes."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    for folder in ("solutions", "exercises", "notebooks"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path


def _edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_changed_solution_fails_the_check_naming_the_notebook(course, monkeypatch, capsys):
    from cancer_course.cli import main

    solution = course / "solutions" / SOLUTIONS[0].name
    _edit(solution, "## Exercise 1:", "## Exercise 1 (changed):")
    problems_found = nbbuild.check(course)
    exercise = nbbuild.exercise_path(course, solution).name
    assert len(problems_found) == 1 and exercise in problems_found[0] and solution.name in problems_found[0]
    monkeypatch.chdir(course)
    assert main(["exercises", "check"]) == 2
    assert exercise in capsys.readouterr().err
    assert main(["exercises", "build"]) == 0
    assert main(["exercises", "check"]) == 0


def test_an_edited_exercise_notebook_is_kept_unless_forced(course):
    solution = course / "solutions" / SOLUTIONS[0].name
    exercise = nbbuild.exercise_path(course, solution)
    _edit(exercise, "return ____", "return x  # my attempt")
    _edit(solution, "## Exercise 1:", "## Exercise 1 (changed):")
    report = nbbuild.build(course)
    assert report.kept == [exercise] and "my attempt" in exercise.read_text(encoding="utf-8")
    assert any("edited by hand" in p for p in nbbuild.check(course))
    report = nbbuild.build(course, force=True)
    assert report.written == [exercise] and "my attempt" not in exercise.read_text(encoding="utf-8")
    assert nbbuild.check(course) == []


def test_an_untouched_exercise_is_rebuilt_and_an_orphan_is_reported(course):
    solution = course / "solutions" / SOLUTIONS[0].name
    _edit(solution, "## Exercise 1:", "## Exercise 1 (changed):")
    assert nbbuild.build(course).written == [nbbuild.exercise_path(course, solution)]
    (course / "exercises" / "99_orphan_exercises.ipynb").write_text("{}", encoding="utf-8")
    assert any("99_orphan_exercises.ipynb" in p for p in nbbuild.check(course))


# ---------------------------------------------------------------- the notebooks' checks
def _run_in_process(path) -> list[core.CheckResult]:
    """Execute a notebook's code cells here (fast: TensorFlow is already imported), smoke profile."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    ns = {"__name__": "__main__"}
    start = len(core.HISTORY)
    with contextlib.redirect_stdout(io.StringIO()):
        for cell in nb["cells"]:
            if cell["cell_type"] != "code":
                continue
            exec(compile("".join(cell["source"]), f"{path.name}", "exec"), ns)
            if "parameters" in cell.get("metadata", {}).get("tags", []):
                ns["PROFILE"] = "smoke"
    return core.HISTORY[start:]


def _lesson(path) -> str:
    return path.name[:2]


@pytest.mark.parametrize("solution", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_every_check_is_correct_in_the_solution_notebook(solution):
    results = _run_in_process(solution)
    assert [r.problem for r in results] == [p.id for p in problems(_lesson(solution))]
    assert all(r.correct for r in results), [r.line() for r in results if not r.correct]


@pytest.mark.parametrize("solution", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_no_check_is_correct_in_the_exercise_notebook(solution):
    results = _run_in_process(nbbuild.exercise_path(ROOT, solution))
    assert [r.problem for r in results] == [p.id for p in problems(_lesson(solution))]
    assert all(r.status == core.NOT_ATTEMPTED for r in results), [r.line() for r in results]

