"""The ``cancer-course`` command line.

The learner-facing subcommands live in :mod:`cancer_course.commands` (one module each); the
course tooling (``lessons``, ``notebooks``, ``exercises``) keeps its parser beside its code. Each
module defines ``register_cli(subparsers)``, which adds its parser and sets ``func`` to the
function to call with the parsed arguments. This file only collects them. None of them imports
TensorFlow to build its parser, so ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import DISCLAIMER, __version__
from ._tf import quiet_import
from .errors import CourseError  # noqa: F401  (re-exported: `from cancer_course.cli import CourseError`)

# Modules that add subcommands, in the order --help lists them.
COMMAND_MODULES = [
    "cancer_course.commands.lessons",  # lessons: run every lesson into build/
    "cancer_course.commands.notebooks",  # notebooks: check conventions, restamp badges
    "cancer_course.commands.synth",  # synth: generate the embedded tissue dataset
    "cancer_course.commands.audit",  # audit: counts, balance, unreadable files, duplicates, leaks
    "cancer_course.commands.train",  # train: the reference train.py
    "cancer_course.commands.predict",  # predict: label and confidence per image
    "cancer_course.commands.evaluate",  # evaluate: metrics with intervals, thresholds, calibration, figures
    "cancer_course.exercises",  # exercises: build exercises/ from solutions/, check they match
]


class Parser(argparse.ArgumentParser):
    """argparse, with a bad argument reported in one line (and where to find the options) instead of
    the whole usage text."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n(`{self.prog} --help` lists the options)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="cancer-course",
        description="Build, train, diagnose and evaluate a CNN for benign-vs-malignant images. "
        + DISCLAIMER,
    )
    parser.add_argument("--version", action="version", version=f"cancer-course {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register_cli(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a bad argument (already reported, exit status 2)
        return 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 2
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
