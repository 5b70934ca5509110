"""What the exercise framework shows a learner: hints that climb to a skeleton and say which is the
last, messages without colour codes or the checker's internals that say whose code raised, and
datasets that a check never iterates forever (issue 20)."""

from __future__ import annotations

import re
import textwrap

import pytest

from cancer_course.exercises import ____, core, problems

ALL = problems()
MINE = [p for lesson in ("01", "02", "03", "04", "05", "06") for p in problems(lesson)]


class _Toy(core.Problem):
    id, title, names = "99.1", "a toy problem", ("f",)
    hints = ("a nudge", "more", "a skeleton: return ____")
    solution_code = "def f(x):\n    return x"
    known_errors = ((r"shapes \(4, 4, 32\) and \(1, 1, 64\)", "Did you hard-code the channel count?"),)

    def _check(self, f):
        return f(1)


class _BrokenCheck(_Toy):
    def _check(self, f):
        f(1)
        raise RuntimeError("\x1b[1mboom\x1b[0m in " + core._PACKAGE_DIR + "/exercises/ex06.py, line 3")


# ---------------------------------------------------------------- hints
@pytest.mark.parametrize("problem", ALL, ids=[p.id for p in ALL])
def test_each_hint_says_where_it_stands_and_the_last_says_so(problem):
    n, q = len(problem.hints), f"q{problem.number}"
    for level in range(1, n):
        text, label = problem.hint_text(level)
        assert text == problem.hints[level - 1] and f"hint {level} of {n}; {q}.hint({level + 1}) says more" in label
    text, label = problem.hint_text(n)
    assert text == problem.hints[-1] and f"last hint; {q}.solution() shows an answer" in label
    text, label = problem.hint_text(n + 1)
    assert "no more hints" in text and f"{q}.solution()" in text and problem.hints[-1] not in text


def test_hint_prints_the_label(capsys):
    toy = _Toy()
    toy.hint(3)
    toy.hint(4)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Hint (hint 3 of 3, last hint; q1.solution() shows an answer): a skeleton: return ____"
    assert out[1].startswith("Hint: there are no more hints: 99.1 has 3 (q1.hint(3) is the last)")


def _code_lines(problem) -> list[str]:
    lines = []
    for line in textwrap.dedent(problem.solution_code).splitlines():
        text = re.sub(r"[\s'\"]", "", line.split("#")[0])
        if len(text) >= 12 and not text.startswith(("def", "import", "from")):
            lines.append(text)
    return lines


@pytest.mark.parametrize("problem", MINE, ids=[p.id for p in MINE])
def test_no_hint_is_the_solution_code_and_function_answers_end_in_a_skeleton(problem):
    lines = _code_lines(problem)
    for hint in problem.hints:
        flat = re.sub(r"[\s'\"]", "", hint)
        given = [line for line in lines if line in flat]  # a skeleton may keep one line (channels = x.shape[-1])
        assert len(given) <= 1 and not (len(lines) > 1 and len(given) == len(lines)), hint
    if "def " in problem.solution_code or "keras.Sequential" in problem.solution_code:
        assert "____" in problem.hints[-1], "the last hint should be a skeleton with blanks"


# ---------------------------------------------------------------- messages
def test_clean_message_drops_colour_codes_tracebacks_and_the_checkers_paths():
    raw = ("Exception encountered when calling Multiply.call().\n\n\x1b[1m{{function_node __wrapped__Mul_device_/job:"
           "localhost/replica:0/task:0/device:CPU:0}} Incompatible shapes: [2,8,8,64] vs. [2,64] [Op:Mul] name: "
           "\x1b[0m\n\nArguments received by Multiply.call():\n  • x1=tf.Tensor(shape=(2, 8, 8, 64))\n"
           f'  File "{core._PACKAGE_DIR}/exercises/_keras.py", line 80, in run')
    assert core.clean_message(raw) == "in Multiply: Incompatible shapes: [2,8,8,64] vs. [2,64]"
    path = f"read {core._PACKAGE_DIR}/exercises/ex06.py failed"
    assert core.clean_message(path) == "read (the course's code) failed"


def test_an_error_in_the_learners_code_says_so_with_the_known_mistake():
    def f(x):
        raise ValueError("\x1b[1mInputs have incompatible shapes. Received shapes (4, 4, 32) and (1, 1, 64)\x1b[0m")

    result = _Toy().evaluate(f)
    assert result.status == core.INCORRECT
    assert result.message.startswith("your code raised ValueError: Inputs have incompatible shapes")
    assert "Did you hard-code the channel count?" in result.message and "\x1b" not in result.message


def test_an_error_in_the_check_says_it_came_from_the_check_without_its_internals():
    result = _BrokenCheck().evaluate(lambda x: x)
    assert result.status == core.INCORRECT
    assert result.message.startswith("the check could not use what `f` returned: running it raised RuntimeError: boom")
    assert "\x1b" not in result.message and "exercises/ex06.py" not in result.message, result.message


def test_every_message_is_cleaned_even_from_incorrect():
    class Colourful(_Toy):
        def _check(self, f):
            raise core.Incorrect("\x1b[31mred\x1b[0m")

    assert Colourful().evaluate(lambda x: x).message == "red"


def test_too_few_values_say_how_many_are_expected():
    from cancer_course.exercises import ex02

    result = ex02.q4.evaluate(105872)
    assert result.status == core.INCORRECT and result.message.startswith("two values expected"), result.message
    assert "q4.check(block_params, block_non_trainable)" in result.message
    assert ex02.q4.evaluate(105872, 1280).correct
    assert ex02.q4.evaluate(____, 1280).status == core.NOT_ATTEMPTED
    assert ex02.q4.evaluate(105872, 1280, 3).status == core.INCORRECT


# ---------------------------------------------------------------- datasets that never end
def test_take_bounded_refuses_a_dataset_that_never_ends():
    import tensorflow as tf

    ds = tf.data.Dataset.range(5)
    assert [int(x) for x in core.take_bounded(ds, 10)] == list(range(5))
    with pytest.raises(core.Incorrect, match=r"this dataset never ends: remove `\.repeat\(\)`"):
        core.take_bounded(ds.repeat(), 10)
    with pytest.raises(core.Incorrect, match="make_pipeline\\(\\.\\.\\.\\) never ends"):
        core.take_bounded(ds.repeat().batch(2), 10, what="make_pipeline(...)")
    unknown = ds.repeat().filter(lambda x: x % 2 == 0)  # cardinality unknown: bounded by counting
    with pytest.raises(core.Incorrect, match="yields more than 10 elements"):
        core.take_bounded(unknown, 10)
    with pytest.raises(core.Incorrect, match="yields more than 3 elements"):
        core.take_bounded(ds, 3)
