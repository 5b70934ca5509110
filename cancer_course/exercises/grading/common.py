"""What the grader's modules share: the statuses of a question and of a submission, a few names and formats."""

from __future__ import annotations

import re

from ..core import CORRECT, INCORRECT, MIME_TYPE, NOT_ATTEMPTED  # noqa: F401 - the grader's statuses too
from .kernel import _one_line  # noqa: F401 - kernel.py imports nothing of the package (see there)

# Question statuses (the first three are core's CheckResult statuses).
TAMPERED, NOT_GRADED = "tampered", "not_graded"
QUESTION_LABELS = {CORRECT: "correct", INCORRECT: "incorrect", NOT_ATTEMPTED: "not attempted",
                   TAMPERED: "no credit (tampered)", NOT_GRADED: "not graded"}
# Submission statuses (the ``status`` column of grades.csv).
GRADED, TIMED_OUT, FAILED, INVALID, SUPERSEDED, MISSING = (
    "graded", "timed out", "failed to run", "not graded", "superseded", "no submission")

GRADER_TAG = "cancer-course-grader"
DEFAULT_TIMEOUT = 300
DEFAULT_CHECK_TIMEOUT = 60


def _problems(lesson: str):
    from .._lessons import problems

    return problems(lesson)


def _lessons() -> list[str]:
    from .._lessons import lesson_modules

    return [m[2:] for m in lesson_modules()]


def _maximum(lesson) -> float:
    return float(sum(p.points for p in _problems(lesson))) if lesson else 0.0


def _num(x) -> str:
    if x is None:
        return ""
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _safe(text: str) -> str:
    return re.sub(r"[^\w.@-]+", "_", text).strip("._") or "student"


def _line(status: str, message: str) -> str:
    label = {CORRECT: "Correct", INCORRECT: "Incorrect", NOT_ATTEMPTED: "Not attempted yet",
             TAMPERED: "No credit", NOT_GRADED: "Not graded"}.get(status, status)
    return f"{label}: {message}" if message else label
