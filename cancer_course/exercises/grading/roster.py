"""``--roster CSV``: which student each submitted file belongs to (and their Canvas ids)."""

from __future__ import annotations

import csv
from pathlib import Path

_ROSTER_FILE = ("file", "filename", "file name", "submission", "path", "notebook")
_ROSTER_STUDENT = ("student", "student id", "student_id", "id", "sis user id", "sis_user_id", "login", "email")


def read_roster(path) -> dict[str, dict]:
    """``--roster CSV``: file name -> {student, name, section, canvas_id, sis_login_id}.

    Columns (header names are case-insensitive): ``file`` (the submission's file name, or its path
    as given on the command line) and ``student`` (the id the grades use) are required; ``name``,
    ``section``, ``canvas_id`` (Canvas's numeric user ID) and ``sis_login_id`` are optional and go
    into the Canvas CSV.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ValueError(f"--roster {path}: cannot be read ({exc.strerror or exc})") from None
    table = list(csv.reader(text.splitlines()))
    columns = table[0] if table else []
    rows = [dict(zip(columns, r, strict=False)) for r in table[1:] if any(c.strip() for c in r)]
    header = {(h or "").strip().lower(): h for h in columns}
    file_col = next((header[h] for h in _ROSTER_FILE if h in header), None)
    student_col = next((header[h] for h in _ROSTER_STUDENT if h in header and header[h] != file_col), None)
    if not rows or file_col is None or student_col is None:
        raise ValueError(f"--roster {path}: needs a header row with a 'file' and a 'student' column "
                         f"(found: {', '.join(header.values()) or 'no columns'}), e.g.\n"
                         "file,student,name\nalice_03.ipynb,s1001,Alice Martin")
    optional = {key: next((header[h] for h in names if h in header), None) for key, names in
                {"name": ("name", "student name", "full name"), "section": ("section",),
                 "canvas_id": ("canvas_id", "canvas id", "canvas user id"),
                 "sis_login_id": ("sis_login_id", "sis login id")}.items()}
    roster: dict[str, dict] = {}
    for line, row in enumerate(rows, start=2):
        file, student = (row.get(file_col) or "").strip(), (row.get(student_col) or "").strip()
        if not file and not student:
            continue
        if not file or not student:
            raise ValueError(f"--roster {path}, line {line}: both '{file_col}' and '{student_col}' are needed "
                             f"(got {file!r}, {student!r})")
        if file in roster:
            raise ValueError(f"--roster {path}, line {line}: {file} is listed twice")
        entry = {"student": student, "file": file}
        entry.update({key: (row.get(col) or "").strip() for key, col in optional.items() if col})
        roster[file] = entry
    return roster


def _roster_entry(path: Path, given: str, roster: dict) -> dict:
    for key in (given, Path(given).as_posix(), path.name, path.name[: -len(".ipynb")]):
        if key in roster:
            return roster[key]
    return {}
