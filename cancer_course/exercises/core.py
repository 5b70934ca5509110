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

Interpretive exercises (:class:`Choice`) ask the learner to read evidence - a learning curve,
per-seed results, a cost table - and pick the options that follow from it. The answer is a set of
letters, so it is checked without parsing prose; every option carries why it does or does not
follow, and the check shows that explanation for each wrong pick or missed option. Research and
education only.
"""

from __future__ import annotations

import html
import importlib
import inspect
import os
import re
import textwrap
import types
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "____",
    "Placeholder",
    "Problem",
    "Choice",
    "Option",
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

CORRECT = "correct"
INCORRECT = "incorrect"
NOT_ATTEMPTED = "not_attempted"
MIME_TYPE = "application/vnd.cancer-course.check+json"
HISTORY: list = []  # every CheckResult shown in this Python process, in order (for tests)


# ---------------------------------------------------------------------------------------------
# The placeholder
# ---------------------------------------------------------------------------------------------
class Placeholder:
    """``____``: marks the places a learner fills in. A check seeing it says "not attempted"."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "____"

    __str__ = __repr__

    def _refuse(self, *args, **kwargs):
        raise TypeError("____ is a placeholder: replace it with your answer, then run the cell again.")

    for _name in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
                  "__rtruediv__", "__floordiv__", "__rfloordiv__", "__pow__", "__rpow__", "__neg__",
                  "__int__", "__float__", "__index__", "__iter__", "__len__", "__call__", "__getitem__",
                  "__lt__", "__le__", "__gt__", "__ge__", "__bool__"):
        locals()[_name] = _refuse
    del _name


____ = Placeholder()


def _mentions_placeholder(obj, seen=None) -> bool:
    """True when a function (or one it defines inside) still refers to the name ``____``."""
    code = getattr(obj, "__code__", None)
    if code is None:
        return False
    stack = [code]
    while stack:
        c = stack.pop()
        if "____" in c.co_names or "____" in c.co_freevars:
            return True
        stack.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    return False


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------
class Incorrect(Exception):
    """Raised inside a check: the message says what is wrong and what to look at."""


class NotAttempted(Exception):
    """Raised inside a check when an answer still holds the placeholder."""


@dataclass
class CheckResult:
    """What a check found: ``status`` is ``correct``, ``incorrect`` or ``not_attempted``."""

    problem: str
    status: str
    message: str = ""
    details: dict = field(default_factory=dict)

    @property
    def correct(self) -> bool:
        return self.status == CORRECT

    def __bool__(self) -> bool:
        return self.correct

    def line(self) -> str:
        label = {CORRECT: "Correct", INCORRECT: "Incorrect", NOT_ATTEMPTED: "Not attempted yet"}[self.status]
        return f"{label}: {self.message}" if self.message else label

    def as_dict(self) -> dict:
        return {"problem": self.problem, "status": self.status, "message": self.message}


_COLOURS = {CORRECT: "#1a7f37", INCORRECT: "#cf222e", NOT_ATTEMPTED: "#9a6700"}


def _in_ipython() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is always there in a notebook
        return False
    return get_ipython() is not None


def _show(text: str, html_text: str | None = None, payload: dict | None = None) -> None:
    """Print ``text``; in Jupyter also as HTML and with the machine-readable payload."""
    if _in_ipython():
        from IPython.display import display

        bundle = {"text/plain": text}
        if html_text:
            bundle["text/html"] = html_text
        if payload is not None:
            bundle[MIME_TYPE] = payload
        display(bundle, raw=True)
    else:
        print(text)


# ---------------------------------------------------------------------------------------------
# Problems
# ---------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------
# "Write it yourself": does an answer call the package's own function?
# ---------------------------------------------------------------------------------------------
def _resolve(dotted: str):
    module, _, attr = dotted.rpartition(".")
    return getattr(importlib.import_module(module), attr)


def _code_objects(code: types.CodeType):
    stack = [code]
    while stack:
        c = stack.pop()
        yield c
        stack.extend(k for k in c.co_consts if isinstance(k, types.CodeType))


def package_function_used(answer, targets, _depth: int = 0) -> str | None:
    """The dotted name of the first function of ``targets`` that ``answer`` is or calls, else None.

    ``answer`` counts as calling a target when it *is* the target (``f = evaluation.ece``), wraps
    it (``functools.partial``), refers to it by a name bound to it (``from ... import f as g``),
    names it as an attribute of a module it uses (``evaluation.youden_threshold(...)``, also with
    the import inside the function), or calls a function of the learner's that does (followed
    three levels deep). This reads the names in the compiled code, not its text.
    """
    if not targets or answer is None:
        return None
    resolved = {}
    for dotted in targets:
        try:
            resolved[dotted] = _resolve(dotted)
        except (ImportError, AttributeError):  # pragma: no cover - a typo in a problem's list
            continue
    func = getattr(answer, "func", answer)  # functools.partial
    for dotted, target in resolved.items():
        if func is target or getattr(func, "__wrapped__", None) is target:
            return dotted
    code = getattr(func, "__code__", None)
    if code is None:
        return None
    names = set()
    for c in _code_objects(code):
        names.update(c.co_names)
    namespace = dict(getattr(func, "__globals__", {}))
    for cell_name, cell in zip(code.co_freevars, getattr(func, "__closure__", None) or (), strict=False):
        try:
            namespace[cell_name] = cell.cell_contents
        except ValueError:  # an empty cell
            pass
        names.add(cell_name)
    for dotted, target in resolved.items():
        module = dotted.rpartition(".")[0]
        for name in names:
            value = namespace.get(name)
            if value is target or (value is not None and getattr(value, target.__name__, None) is target
                                   and target.__name__ in names):
                return dotted
        if target.__name__ in names and ({module, module.rpartition(".")[2]} & names):  # imported inside it
            return dotted
    if _depth < 3:
        for name in names:
            value = namespace.get(name)
            if (isinstance(value, types.FunctionType) and value is not func
                    and not (value.__module__ or "").startswith(("cancer_course", "keras", "tensorflow", "numpy"))):
                found = package_function_used(value, targets, _depth + 1)
                if found:
                    return found
    return None


# ---------------------------------------------------------------------------------------------
# Interpretive exercises: choose the options that follow from the evidence
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Option:
    """One option of a :class:`Choice`.

    ``follows``: True when the evidence supports it (a right answer includes it), False when it
    does not (a right answer leaves it out), None when it is defensible either way (both
    accepted). ``why``: the reason, shown when the learner's answer disagrees (and, for None, in
    the "Correct" line).
    """

    text: str
    follows: bool | None
    why: str


class Choice(Problem):
    """Read the evidence, answer with a set of letters (or one letter when ``single``).

    Subclasses set ``question``, ``options`` (``{"A": Option(...), ...}``) and may override
    :meth:`evidence` (a string computed from the exercise's data). ``show()`` prints all three.
    With ``single = True`` the answer is one letter; every letter whose option has ``follows``
    True or None is accepted.
    """

    interpretive = True
    question: str = ""
    options: dict[str, Option] = {}
    single: bool = False
    scripted: bool = False  # the evidence is made up for the exercise (show() says so)

    def evidence(self) -> str:
        return ""

    def show(self) -> None:
        """Print the question, the evidence and the options."""
        lines = [self.question]
        if self.evidence():
            lines += ["", self.evidence()]
            if self.scripted:
                lines += ["(Numbers made up for this exercise; no model was trained for it.)"]
        lines += [""] + [f"  {key}. {opt.text}" for key, opt in self.options.items()]
        how = ("Answer with one letter, e.g. \"A\"." if self.single
               else "Answer with the set of letters that follow, e.g. {\"A\", \"C\"} (or set() for none).")
        lines += ["", how]
        text = "\n".join(lines)
        _show(text, f"<pre>{html.escape(text)}</pre>")

    def letters(self, answer) -> set[str]:
        """The learner's answer as a set of upper-case letters (raises Incorrect when unreadable)."""
        if isinstance(answer, str):
            picked = {p for p in re.split(r"[\s,;/+&]+|(?<=[A-Za-z])(?=[A-Za-z])", answer.strip()) if p}
        elif isinstance(answer, set | frozenset | list | tuple):
            picked = set()
            for item in answer:
                if not isinstance(item, str):
                    raise Incorrect(f"{item!r} in your answer is not a letter: answer with letters such as "
                                    "{'A', 'C'}.")
                picked.add(item.strip())
        else:
            raise Incorrect(f"your answer is {type(answer).__name__} ({answer!r}); answer with "
                            + ("one letter, e.g. 'B'." if self.single else "a set of letters, e.g. {'A', 'C'}."))
        picked = {p.upper() for p in picked}
        unknown = sorted(picked - set(self.options))
        if unknown:
            raise Incorrect(f"{', '.join(unknown)} is not one of the options ({', '.join(self.options)}); "
                            f"q{self.number}.show() lists them.")
        return picked

    def _check(self, answer):
        picked = self.letters(answer)
        if self.single:
            if len(picked) != 1:
                raise Incorrect(f"choose exactly one option (you gave {len(picked)}: "
                                f"{', '.join(sorted(picked)) or 'none'}).")
            (key,) = picked
            option = self.options[key]
            if option.follows is False:
                raise Incorrect(f"{key} does not follow: {option.why}")
            return f"{key}: {option.why}"
        wrong = [k for k in sorted(picked) if self.options[k].follows is False]
        missing = [k for k in self.options if self.options[k].follows is True and k not in picked]
        if wrong or missing:
            parts = [f"{k} does not follow: {self.options[k].why}" for k in wrong]
            parts += [f"you left out {k}, which does: {self.options[k].why}" for k in missing]
            raise Incorrect(" | ".join(parts))
        either = [f"{k} is defensible either way ({self.options[k].why})" for k in self.options
                  if self.options[k].follows is None]
        chosen = ", ".join(k for k in self.options if k in picked) or "none"
        return f"{chosen}." + (" " + " ".join(either) if either else "")

    def right_answers(self) -> list[set[str]]:
        """Every accepted answer (for tests and the solution notebook)."""
        if self.single:
            return [{k} for k, o in self.options.items() if o.follows is not False]
        must = {k for k, o in self.options.items() if o.follows}
        free = [k for k, o in self.options.items() if o.follows is None]
        answers = []
        for mask in range(2 ** len(free)):
            answers.append(must | {k for i, k in enumerate(free) if mask >> i & 1})
        return answers


def format_table(header, rows) -> str:
    """Evidence as a plain-text table: ``header`` a list of column names, ``rows`` lists of values."""
    cells = [[str(h) for h in header]] + [[f"{v:g}" if isinstance(v, float) else str(v) for v in row]
                                          for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
             for r in cells]
    return "\n".join(lines)


def _first_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(clean_message(str(exc)).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
_PACKAGE_DIR = str(Path(__file__).resolve().parent.parent)  # cancer_course/: the checker's code


def clean_message(text: str) -> str:
    """A message fit for a learner: no terminal colour codes, no checker tracebacks or file paths.

    Drops Keras' "Arguments received by ..." trailer, TensorFlow's ``{{function_node ...}}`` and
    ``[Op:...]`` tags and "Detected at node" tracebacks, and any ``File "..."`` line; a path into the
    package becomes "(the course's code)".
    """
    text = _ANSI.sub("", str(text))
    text = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", text)
    for marker in ("Arguments received by", "Detected at node", "Traceback (most recent call last)",
                   "Call arguments received by"):
        if marker in text:
            text = text[: text.index(marker)]
    text = re.sub(r"Exception encountered when calling (?:layer )?['\"]?([\w.]+?)(?:\.call\(\))?['\"]?"
                  r"(?: \(type \w+\))?\.\s*", r"in \1: ", text)
    text = re.sub(r"\s*\[Op:\w+\](?:\s*name:\s*\S*)?", "", text)
    lines = [line for line in text.splitlines() if not re.match(r'\s*File "', line)]
    text = "\n".join(lines)
    text = re.sub(r"[^\s'\"(]*" + re.escape(_PACKAGE_DIR + os.sep) + r"[^\s'\")]*", "(the course's code)", text)
    return text.strip()


def raised_in_learner_code(exc: BaseException, ignore=()) -> bool:
    """True when the traceback of ``exc`` passes through code that is neither the course's nor a library's.

    ``ignore``: code objects that belong to the check wherever they are defined (a problem's ``_check``).
    """
    import sysconfig

    library = tuple({sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")})
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        filename = code.co_filename
        if not (code in ignore or filename.startswith(("<frozen", _PACKAGE_DIR + os.sep) + library)
                or "site-packages" in filename or "dist-packages" in filename):
            return True
        tb = tb.tb_next
    return False


def take_bounded(dataset, limit: int, what: str = "this dataset") -> list:
    """The elements of a learner's ``tf.data.Dataset``, as a list, never more than ``limit`` of them.

    For checks that iterate over a dataset the learner built: a dataset that never ends (``.repeat()``)
    would make the check run forever. ``take_bounded(ds, 50)`` returns every element when there are
    at most 50; it raises :class:`Incorrect` ("this dataset never ends: remove `.repeat()` ...") when
    the dataset's cardinality is infinite, and ("this dataset yields more than 50 elements ...") when
    it yields more than ``limit``. ``what`` names the dataset in the message ("one epoch of
    make_pipeline(...)"). Pick ``limit`` well above what a right answer yields (twice is plenty).
    """
    import tensorflow as tf

    cardinality = int(dataset.cardinality())
    if cardinality == int(tf.data.INFINITE_CARDINALITY):
        raise Incorrect(f"{what} never ends: remove `.repeat()` (Keras' fit repeats the dataset for each epoch; "
                        "an epoch must end for the check, and for fit without steps_per_epoch, to move on).")
    elements = list(dataset.take(limit + 1))
    if len(elements) > limit:
        raise Incorrect(f"{what} yields more than {limit} elements, far more than one pass over its source: "
                        "if it repeats, remove `.repeat()`; one epoch reads every element once.")
    return elements


def _contains_placeholder(answer) -> bool:
    if callable(answer) and _mentions_placeholder(answer):
        return True
    if isinstance(answer, list | tuple | set):
        return any(a is ____ for a in answer)
    if isinstance(answer, dict):
        return any(v is ____ for v in answer.values()) or any(k is ____ for k in answer)
    return False


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
