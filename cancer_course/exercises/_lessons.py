"""Which lessons have exercises, and their problems (``ex02``, ``ex03``, ...: one module per lesson)."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

PACKAGE = __name__.rpartition(".")[0]  # cancer_course.exercises


def lesson_modules() -> list[str]:
    """``["ex02", "ex03", ...]``: the lessons that have exercises."""
    folder = [str(Path(__file__).resolve().parent)]
    return sorted(m.name for m in pkgutil.iter_modules(folder) if re.fullmatch(r"ex\d\d", m.name))


def problems(lesson: str | None = None) -> list:
    """Every problem of one lesson (``"02"`` or ``"ex02"``), or of all lessons, in order."""
    names = lesson_modules() if lesson is None else [lesson if lesson.startswith("ex") else f"ex{lesson}"]
    found = []
    for name in names:
        module = importlib.import_module(f"{PACKAGE}.{name}")
        found.extend(module.PROBLEMS)
    return found
