"""``cancer-course exercises grade``: the command line (registered by :mod:`cancer_course.exercises`)."""

from __future__ import annotations

from .batch import grade_submissions


def cli(args) -> int:
    from ...cli import CourseError

    if not args.paths:
        raise CourseError("exercises grade: name the submissions (notebooks or folders of them), e.g. "
                          "`cancer-course exercises grade submitted/ --out graded/`")
    if not args.out:
        raise CourseError("exercises grade: --out DIR is needed (where grades.csv and the feedback go)")
    try:
        grade_submissions(args.paths, args.out, roster=args.roster, lesson=args.lesson, timeout=args.timeout,
                          check_timeout=args.check_timeout, jobs=args.jobs, kernel=args.kernel,
                          formats=("csv", args.format), assignment=args.assignment)
    except ValueError as exc:
        raise CourseError(str(exc)) from exc
    return 0
