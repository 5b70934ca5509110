"""The exercise framework: problems that check themselves (after Kaggle's learntools).

How a learner uses it, in an exercise notebook::

    from cancer_course.exercises import ____
    from cancer_course.exercises.ex02 import q1, q2

    def squeeze_excitation(x, ratio=16, name="se"):
        ...                          # the learner's code replaces the ____ placeholders
        return ____

    q1.check(squeeze_excitation)     # prints "Correct: ..." / "Incorrect: ..." / "Not attempted yet: ..."
    q1.hint()                        # a first hint; q1.hint(2), q1.hint(3) say more (the last says so)
    q1.solution()                    # shows one solution (the only place that shows code)

``check`` takes the learner's answer as its argument (the clearest way: the cell shows what is
checked). Called with no argument, it looks the answer up by name in the notebook's globals
(``q1.names``), as learntools does.

``check`` never raises: it prints one line that starts with ``Correct``, ``Incorrect`` or
``Not attempted yet``, so an exercise notebook runs to the end before the learner has answered.
When the learner's code raises while the check runs it, the line says so ("your code raised
ValueError: ...") and names the likely mistake when the problem knows it
(``Problem.known_errors``); when the error comes from the check's own use of what the code
returned, it says that instead. Either way the message is cleaned: no terminal colour codes, no
file paths or tracebacks from the checker. A check that iterates over a dataset the learner built
reads it with :func:`take_bounded`, which refuses one that never ends (``.repeat()``) instead of
running forever.
The result is kept as ``q1.last_result`` (a :class:`CheckResult`); ``q1.evaluate(answer)``
returns it without printing. In Jupyter the printed line also carries the result as
machine-readable display data (:data:`MIME_TYPE`), which the test suite reads from executed
notebooks.

Checks test behaviour - shapes, parameter counts, outputs on known inputs, the effect on a
small training run - never the text of the code, with one exception: an exercise that asks for a
function the package already has (``Problem.reimplements``) is not passed by calling the
package's function; the check looks at the names the answer's code uses to tell (see
:func:`package_function_used`).

Interpretive exercises (``Choice``, in :mod:`._choice`) ask the learner to read evidence - a
learning curve, per-seed results, a cost table - and pick the options that follow from it. The
answer is a set of letters, so it is checked without parsing prose; every option carries why it
does or does not follow, and the check shows that explanation for each wrong pick or missed option. Research and
education only.

The framework's parts, one job each: :mod:`._results` (what a check found, and how it is shown),
:mod:`._placeholder` (``____``), :mod:`._messages` (a raised error's message, cleaned),
:mod:`._checking` (helpers a check uses on an answer) and :mod:`._choice` (interpretive
exercises); this module holds :class:`Problem` and re-exports the names the lesson modules use.
"""

from __future__ import annotations

import html
import inspect
import re
import textwrap

from ._checking import package_function_used, take_bounded
from ._messages import _PACKAGE_DIR, _first_line, clean_message, raised_in_learner_code  # noqa: F401
from ._placeholder import Placeholder, ____, _contains_placeholder
from ._results import (  # noqa: F401 - the framework's names, for the lesson modules and the tests
    _COLOURS,
    CORRECT,
    HISTORY,
    INCORRECT,
    MIME_TYPE,
    NOT_ATTEMPTED,
    CheckResult,
    Incorrect,
    NotAttempted,
    _in_ipython,
    _show,
)

__all__ = [
    "____",
    "Placeholder",
    "Problem",
    "CheckResult",
    "package_function_used",
    "take_bounded",
    "clean_message",
    "Incorrect",
    "NotAttempted",
    "CORRECT",
    "INCORRECT",
    "NOT_ATTEMPTED",
    "MIME_TYPE",
    "HISTORY",
]


class Problem:
    """One exercise. Subclasses set the class attributes and write :meth:`_check`.

    - ``id``: ``"02.1"`` (lesson . number), set by the lesson module;
    - ``title``: what the learner builds, in a few words;
    - ``names``: the notebook variables ``check()`` reads when called without arguments;
    - ``hints``: from a nudge to a skeleton with blanks (``hint(1)``, ``hint(2)``, ...); no hint is the
      solution's code (only ``solution()`` shows that), and the last one says it is the last;
    - ``solution_code``: one right answer, as code (``solution()`` shows it; the tests run it);
    - ``lesson``: where the learner can read about it;
    - ``points``: what the question is worth when a teacher grades it (``cancer-course exercises grade``);
    - ``reimplements``: the package functions (``"cancer_course.evaluation.youden_threshold"``) that
      do the job the learner is asked to write; an answer that calls one of them is refused;
    - ``known_errors``: ``(regular expression, advice)`` pairs: when the learner's code (or the check
      running what it returned) raises an error whose cleaned message matches, the advice is added
      ("did you hard-code the number of channels? ...").

    ``_check(*answers)`` raises :class:`Incorrect` with a message for the learner, or returns
    (optionally) a short sentence to add to the "Correct" line.
    """

    id: str = ""
    title: str = ""
    names: tuple[str, ...] = ()
    hints: tuple[str, ...] = ()
    solution_code: str = ""
    lesson: str = ""
    reimplements: tuple[str, ...] = ()
    known_errors: tuple[tuple[str, str], ...] = ()
    points: int = 1  # credit for a correct answer when a teacher grades a submission
    interpretive: bool = False  # reads evidence and draws a conclusion (tests/test_exercises_interpretive.py)

    def __init__(self):
        self.last_result: CheckResult | None = None

    def __repr__(self) -> str:
        return f"<problem {self.id}: {self.title}>"

    # -- the learner's three calls -------------------------------------------------------------
    def check(self, *answers) -> None:
        """Check the answer(s) and print one line: Correct / Incorrect / Not attempted yet."""
        result = self.evaluate(*answers) if answers else self.evaluate(*self._from_globals())
        self.last_result = result
        HISTORY.append(result)
        colour = _COLOURS[result.status]
        html_text = (f'<div style="color:{colour}"><b>{html.escape(result.line().split(":")[0])}</b>'
                     f"{html.escape(result.line()[len(result.line().split(':')[0]):])}</div>")
        _show(result.line(), html_text, payload=result.as_dict())

    def hint(self, level: int = 1) -> None:
        """Show hint number ``level`` (1 = a nudge; higher levels say more; the last says it is the last)."""
        text, more = self.hint_text(level)
        _show(f"Hint{more}: {text}", f"<div><b>Hint</b>{html.escape(more)}: {html.escape(text)}</div>")

    def hint_text(self, level: int = 1) -> tuple[str, str]:
        """(the hint, the label after "Hint") for ``hint(level)``: what :meth:`hint` shows."""
        n, q = len(self.hints), f"q{self.number}"
        if not self.hints:
            return f"no hints for {self.id}; see {self.lesson or 'the lesson'}.", ""
        level = max(1, int(level))
        if level > n:
            return (f"there are no more hints: {self.id} has {n} ({q}.hint({n}) is the last); "
                    f"{q}.solution() shows an answer."), ""
        if level < n:
            return self.hints[level - 1], f" (hint {level} of {n}; {q}.hint({level + 1}) says more)"
        return self.hints[-1], f" (hint {n} of {n}, last hint; {q}.solution() shows an answer)"

    def solution(self) -> None:
        """Show one right answer."""
        code = textwrap.dedent(self.solution_code).strip()
        where = f"\n(Explained in {self.lesson}.)" if self.lesson else ""
        _show(f"Solution:\n{code}{where}",
              f"<div><b>Solution:</b><pre>{html.escape(code)}</pre>{html.escape(where)}</div>")

    @property
    def number(self) -> str:
        return self.id.split(".")[-1] if self.id else "N"

    # -- machinery -----------------------------------------------------------------------------
    def evaluate(self, *answers) -> CheckResult:
        """The check's result, without printing it (what the tests call)."""
        result = self._evaluate(*answers)
        result.message = clean_message(result.message)
        return result

    def _evaluate(self, *answers) -> CheckResult:
        label = f"{self.id} {self.title}".strip()
        names = ", ".join(f"`{n}`" for n in self.names) or "your answer"
        given = len(answers)
        if given < max(1, len(self.names)) and self.names:
            answers = answers + (____,) * (len(self.names) - len(answers))
        for answer in answers[:max(given, 1)]:
            if answer is ____ or _contains_placeholder(answer):
                return CheckResult(self.id, NOT_ATTEMPTED,
                                   f"replace the ____ in {names} with your code, run that cell, then this one. "
                                   f"Stuck? q{self.number}.hint()")
        if len(self.names) > 1 and given != len(self.names):
            words = {1: "one value", 2: "two values", 3: "three values", 4: "four values"}
            want = words.get(len(self.names), f"{len(self.names)} values")
            got = words.get(given, f"{given} values")
            return CheckResult(self.id, INCORRECT,
                               f"{want} expected, {names}, but q{self.number}.check got {got}: call "
                               f"q{self.number}.check({', '.join(self.names)}).")
        for name, answer in zip(self.names or ("your answer",), answers, strict=False):
            used = package_function_used(answer, self.reimplements)
            if used:
                return CheckResult(self.id, INCORRECT,
                                   f"`{name}` uses {used}, the package's own function for this job: the exercise is "
                                   "to write it yourself (the check compares yours with the package's). "
                                   f"Stuck? q{self.number}.hint()")
        try:
            extra = self._check(*answers)
        except NotAttempted as exc:
            return CheckResult(self.id, NOT_ATTEMPTED, str(exc))
        except Incorrect as exc:
            return CheckResult(self.id, INCORRECT, str(exc))
        except Exception as exc:  # the learner's code failed, or the check could not use what it returned
            return CheckResult(self.id, INCORRECT, self.error_message(exc, names))
        message = f"{label}." + (f" {extra}" if extra else "")
        return CheckResult(self.id, CORRECT, message)

    def error_message(self, exc: BaseException, names: str = "your answer") -> str:
        """What the learner reads when running their answer raised ``exc`` (cleaned, with advice)."""
        text = clean_message(_first_line(exc)).rstrip(".")
        advice = self.explain(text)
        advice = f" {advice}" if advice else ""
        if raised_in_learner_code(exc, ignore=(getattr(type(self)._check, "__code__", None),)):
            return (f"your code raised {type(exc).__name__}: {text}.{advice} (The error is in {names}: call it "
                    "yourself on a small input to see the whole traceback.)")
        return (f"the check could not use what {names} returned: running it raised {type(exc).__name__}: "
                f"{text}.{advice or ' Compare what your code returns with what the exercise asks for.'}")

    def explain(self, text: str) -> str:
        """The advice of the first of ``known_errors`` whose pattern matches an error's text, else ''."""
        for pattern, advice in self.known_errors:
            if re.search(pattern, text, flags=re.IGNORECASE):
                return advice
        return ""

    def _check(self, *answers):  # pragma: no cover - every problem overrides it
        raise NotImplementedError

    def _from_globals(self) -> tuple:
        namespace = _user_namespace()
        missing = [n for n in self.names if n not in namespace]
        if missing:
            return (____,) * len(self.names)
        return tuple(namespace[n] for n in self.names)


def _user_namespace() -> dict:
    if _in_ipython():
        from IPython import get_ipython

        return get_ipython().user_ns
    frame = inspect.currentframe()
    # the caller of check(): skip frames that belong to this module
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        frame = frame.f_back
    return frame.f_globals if frame is not None else {}


def register(module_globals: dict, lesson: str) -> list[Problem]:
    """Number the problems ``q1``, ``q2``... of a lesson module; returns them in order."""
    problems = []
    for name, value in list(module_globals.items()):
        if name.startswith("q") and name[1:].isdigit() and isinstance(value, Problem):
            value.id = f"{lesson}.{name[1:]}"
            problems.append(value)
    return sorted(problems, key=lambda p: int(p.number))
