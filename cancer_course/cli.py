"""The ``cancer-course`` command line.

Each subcommand lives in the module of its concept: a module that offers one defines
``register_cli(subparsers)``, which adds its parser and sets ``func`` to the function to call
with the parsed arguments. This file only collects them.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import DISCLAIMER, __version__
from ._tf import quiet_import, silenced_stderr

# Modules that add subcommands, in the order --help lists them.
COMMAND_MODULES = [
    "cancer_course.runner",  # lessons: run every lesson into build/
    "cancer_course.notebooks",  # notebooks: check conventions, restamp badges
    "cancer_course.synth",  # synth: generate the embedded tissue dataset
    "cancer_course.audit",  # audit: counts, balance, unreadable files, duplicates, leaks
    "cancer_course.training",  # train: the reference train.py
    "cancer_course.inference",  # predict: label and confidence per image
    "cancer_course.evaluation",  # evaluate: metrics with intervals, thresholds, calibration, figures
    "cancer_course.exercises",  # exercises: build exercises/ from solutions/, check they match
]


class CourseError(Exception):
    """An error whose message is written for the learner: printed without a traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cancer-course",
        description="Build, train, diagnose and evaluate a CNN for benign-vs-malignant images. "
        + DISCLAIMER,
    )
    parser.add_argument("--version", action="version", version=f"cancer-course {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    with silenced_stderr():  # modules that import TensorFlow would print its start-up notices
        modules = [importlib.import_module(name) for name in COMMAND_MODULES]
    for module in modules:
        module.register_cli(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    if getattr(args, "needs_tensorflow", True):
        quiet_import()  # once, before the command, without TensorFlow's start-up notices
    try:
        result = args.func(args)
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
