"""Exercises that check themselves, one module per lesson (``ex02``, ``ex03``, ...).

In an exercise notebook::

    from cancer_course.exercises import ____
    from cancer_course.exercises.ex02 import q1, q2, q3, q4

    q1.check(squeeze_excitation)   # Correct / Incorrect (what is wrong, what to look at) / Not attempted yet
    q1.hint()                      # q1.hint(2), q1.hint(3): more explicit hints
    q1.solution()                  # one right answer

See :mod:`cancer_course.exercises.core` for the framework and
:mod:`cancer_course.exercises.build` for how ``exercises/`` is generated from ``solutions/``
(``cancer-course exercises build|check|list``). Research and education only.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import sys

from .core import CheckResult, Placeholder, Problem, ____  # noqa: F401

__all__ = ["____", "CheckResult", "Problem", "Placeholder", "lesson_modules", "problems"]


def lesson_modules() -> list[str]:
    """``["ex02", "ex03", ...]``: the lessons that have exercises."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if re.fullmatch(r"ex\d\d", m.name))


def problems(lesson: str | None = None) -> list[Problem]:
    """Every problem of one lesson (``"02"`` or ``"ex02"``), or of all lessons, in order."""
    names = lesson_modules() if lesson is None else [lesson if lesson.startswith("ex") else f"ex{lesson}"]
    found = []
    for name in names:
        module = importlib.import_module(f"{__name__}.{name}")
        found.extend(module.PROBLEMS)
    return found


# ---------------------------------------------------------------- command line
def _cmd(args) -> int:
    from pathlib import Path

    from ..cli import CourseError
    from ..notebooks import repo_root
    from . import build as nbbuild

    root = repo_root()
    if args.action == "build":
        paths = [Path(p) for p in args.paths] or None
        try:
            report = nbbuild.build(root, paths, force=args.force)
        except nbbuild.BuildError as exc:
            raise CourseError(str(exc)) from exc
        for path in report.written:
            print(f"wrote {nbbuild._rel(root, path)}")
        for path in report.kept:
            print(f"kept {nbbuild._rel(root, path)}: edited since it was generated "
                  "(`cancer-course exercises build --force` overwrites it)")
        print(f"{len(report.written)} written, {len(report.unchanged)} unchanged, {len(report.kept)} kept")
    elif args.action == "check":
        found = nbbuild.check(root)
        for line in found:
            print(line, file=sys.stderr)
        count = len(nbbuild.solution_notebooks(root))
        if found:
            raise CourseError(f"{len(found)} exercise notebook(s) differ from a fresh build of solutions/; see above")
        print(f"{count} exercise notebooks match a fresh build of their solutions")
    elif args.action == "list":
        for p in problems():
            print(f"{p.id:<6} {p.title}  (check: {', '.join(p.names) or '-'})")
        print(f"{len(problems())} problems in {len(lesson_modules())} lessons")
    return 0


def register_cli(sub) -> None:
    p = sub.add_parser("exercises", help="build exercise notebooks from solutions/, check they match, list problems")
    p.add_argument("action", choices=["build", "check", "list"],
                   help="build: write exercises/ from solutions/ (keeps notebooks a learner edited); "
                   "check: fail if exercises/ differs from a fresh build; list: every problem")
    p.add_argument("paths", nargs="*", help="solution notebooks to build (default: all in solutions/)")
    p.add_argument("--force", action="store_true", help="overwrite exercise notebooks even if edited")
    p.set_defaults(func=_cmd)
