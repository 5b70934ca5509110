"""Interpretive exercises: read the evidence (a learning curve, per-seed results, a cost table) and
choose the options that follow from it (:class:`Choice`, :class:`Option`, :func:`format_table`)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from ._results import Incorrect, _show
from .core import Problem


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
