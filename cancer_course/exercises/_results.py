"""What a check found (:class:`CheckResult`), the exceptions a check raises, and how a result is shown."""

from __future__ import annotations

from dataclasses import dataclass, field

CORRECT = "correct"
INCORRECT = "incorrect"
NOT_ATTEMPTED = "not_attempted"
MIME_TYPE = "application/vnd.cancer-course.check+json"
HISTORY: list = []  # every CheckResult shown in this Python process, in order (for tests)


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
