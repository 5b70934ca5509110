"""What a learner reads when their code raises: the error's message cleaned of colour codes, checker
tracebacks and file paths, and whether the error came from the learner's code or the check's."""

from __future__ import annotations

import os
import re
from pathlib import Path


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
