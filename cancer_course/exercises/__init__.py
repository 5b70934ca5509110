"""Exercises that check themselves, one module per lesson (``ex02``, ``ex03``, ...).

A long lesson module keeps some of its checks' parts in ``_exNN_*.py`` (``_ex14_split``): exNN imports
them (learners still import from exNN only), they are not lessons of their own, and the grader loads
them afresh right before exNN.

In an exercise notebook::

    from cancer_course.exercises import ____
    from cancer_course.exercises.ex02 import q1, q2, q3, q4

    q1.check(squeeze_excitation)   # Correct / Incorrect (what is wrong, what to look at) / Not attempted yet
    q1.hint()                      # q1.hint(2), q1.hint(3): more explicit hints
    q1.solution()                  # one right answer

See :mod:`cancer_course.exercises.core` for the framework,
:mod:`cancer_course.exercises.build` for how ``exercises/`` is generated from ``solutions/``
(``cancer-course exercises build|check|list``) and :mod:`cancer_course.exercises.grading` for
``cancer-course exercises grade``. Research and education only.
"""

from __future__ import annotations

import sys

from ..errors import CourseError
from ._lessons import lesson_modules, problems
from .core import CheckResult, Placeholder, Problem, ____  # noqa: F401

__all__ = ["____", "CheckResult", "Problem", "Placeholder", "lesson_modules", "problems"]


# ---------------------------------------------------------------- command line
def _cmd(args) -> int:
    from pathlib import Path


    if args.action == "grade":  # runs the notebooks in kernels of their own: TensorFlow is not needed here
        from .grading import command

        return command.cli(args)
    from .._tf import quiet_import
    from ..config import repo_root
    from . import build as nbbuild

    quiet_import()
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
    p = sub.add_parser("exercises", help="build exercise notebooks from solutions/, check they match, list problems, "
                                         "grade submitted notebooks")
    p.add_argument("action", choices=["build", "check", "list", "grade"],
                   help="build: write exercises/ from solutions/ (keeps notebooks a learner edited); "
                   "check: fail if exercises/ differs from a fresh build; list: every problem; "
                   "grade: run and grade submitted exercise notebooks (see exercises/README.md, 'For teachers')")
    p.add_argument("paths", nargs="*", help="build: solution notebooks (default: all in solutions/); "
                                            "grade: submitted notebooks or folders of them")
    p.add_argument("--force", action="store_true", help="build: overwrite exercise notebooks even if edited")
    g = p.add_argument_group("grade")
    g.add_argument("--out", help="grade: folder for grades.csv, questions.csv, submissions.csv, feedback/, executed/")
    g.add_argument("--roster", help="grade: CSV with columns file,student (optional: name, section, canvas_id, "
                                    "sis_login_id) mapping each file to a student id")
    g.add_argument("--lesson", help="grade: the lesson expected (e.g. 03); a notebook of another lesson is not graded")
    g.add_argument("--timeout", type=float, default=300,
                   help="grade: seconds for one notebook's own cells (default 300); then it is interrupted and "
                        "what it answered so far is graded")
    g.add_argument("--check-timeout", type=float, default=60,
                   help="grade: seconds for one question's check of the answer (default 60)")
    g.add_argument("--jobs", type=int, help="grade: notebooks run at once (default: the cores, at most 4)")
    g.add_argument("--kernel", help="grade: Jupyter kernel to run them in (default python3: this Python)")
    g.add_argument("--format", choices=["csv", "canvas"], default="csv",
                   help="grade: canvas also writes grades-canvas.csv for a Canvas gradebook import")
    g.add_argument("--assignment", help="grade: the Canvas assignment column's name (default 'Lesson NN exercises')")
    p.set_defaults(func=_cmd, needs_tensorflow=False)
