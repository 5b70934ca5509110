"""Find, read, identify and name the submissions: which lesson, which student, which to grade."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .cells import _CHECK_CALL_RE, _code_sources, _defined_names
from .common import INVALID, SUPERSEDED, _lessons, _one_line, _problems
from .roster import _roster_entry, read_roster

_IMPORT_RE = re.compile(r"^[ \t]*(?:from[ \t]+cancer_course\.exercises\.ex(\d\d)[ \t]+import\b"
                        r"|import[ \t]+cancer_course\.exercises\.ex(\d\d)\b"
                        r"|from[ \t]+cancer_course\.exercises[ \t]+import[ \t]+[^#\n]*?\bex(\d\d)\b)", re.M)
_GENERATED_RE = re.compile(r"(\d\d)_[^/\\]*_solutions\.ipynb$")
_COURSE_NAME_RE = re.compile(r"^\d\d_[a-z0-9_]+_(?:exercises|solutions)(?:[ _-]*(?:\(\d+\)|v?\d+|copy))?$", re.I)


@dataclass
class Submission:
    """One file handed in, and what the grader made of it."""

    path: Path
    student: str
    lesson: str | None = None
    status: str = ""  # "" while it is to be run; else INVALID / SUPERSEDED
    detail: str = ""
    notes: list[str] = field(default_factory=list)
    mtime: float = 0.0
    nb: dict | None = None
    roster: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.name


def find_submissions(paths) -> tuple[list[Path], list[str]]:
    """The notebooks named or found (recursively) in the folders named; and lines for paths that do not exist."""
    found, missing, seen = [], [], set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            candidates = sorted(p for p in path.rglob("*.ipynb")
                                if p.is_file() and ".ipynb_checkpoints" not in p.parts)
        elif path.is_file():
            candidates = [path]
        else:
            missing.append(f"{raw}: no such file or folder")
            continue
        for p in candidates:
            key = p.resolve()
            if key not in seen:
                seen.add(key)
                found.append(p)
    return found, missing


def read_notebook(path: Path) -> tuple[dict | None, str]:
    """(the notebook as a dict, "") or (None, why it cannot be graded)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or exc})"
    if not data.strip():
        return None, "empty file"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, "not UTF-8 text (is it a notebook? save it again from Jupyter as .ipynb)"
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); the file is damaged"
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return None, "not a Jupyter notebook (no list of cells)"
    if nb.get("nbformat", 4) < 4:
        return None, f"an old notebook format (nbformat {nb.get('nbformat')}); open and save it in Jupyter"
    try:
        import warnings

        import nbformat

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nbformat's notices about missing cell ids
            nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat's errors are of many types
        return None, f"not a valid notebook ({type(exc).__name__}: {_one_line(exc)})"
    return nb, ""


def identify_lesson(nb: dict) -> tuple[str | None, str]:
    """(lesson "03", how it was found) or (None, why not) - from the notebook's content, never its name.

    The notebook's ``from cancer_course.exercises.exNN import`` line is what its checks run, so it
    wins; the ``metadata.cancer_course.generated_from`` the builder writes is the fallback.
    """
    imported = sorted({next(g for g in m.groups() if g) for _, src in _code_sources(nb)
                       for m in _IMPORT_RE.finditer(src)})
    meta = (nb.get("metadata") or {}).get("cancer_course") or {}
    generated = _GENERATED_RE.search(str(meta.get("generated_from", "")))
    from_meta = generated.group(1) if generated else None
    if len(imported) > 1:
        return None, (f"imports the checks of lessons {' and '.join(imported)}; hand in one exercise notebook per "
                      "lesson")
    if imported:
        how = "its import line"
        if from_meta and from_meta != imported[0]:
            how += f" (its metadata says lesson {from_meta}; the import line is what runs)"
        return imported[0], how
    if from_meta:
        return from_meta, "its metadata (the cell that imports the checks is missing)"
    return None, ("no exercise cells: it is not one of the course's exercise notebooks (no "
                  "`from cancer_course.exercises.exNN import ...` line, no course metadata)")


def student_from_path(path: Path) -> str:
    """The file name without .ipynb; the parent folder's name when the file keeps the course's own name."""
    path = Path(path)
    stem = path.name[: -len(".ipynb")] if path.name.lower().endswith(".ipynb") else path.name
    if _COURSE_NAME_RE.match(stem) and path.parent.name:
        return path.parent.name
    return stem


def resolve_duplicates(subs: list[Submission]) -> None:
    """Of one student's submissions for one lesson, keep the newest (by mtime); mark the others superseded.

    A file whose lesson is unknown (malformed) competes with the student's other files when the
    student has files of only one lesson.
    """
    by_student: dict[str, list[Submission]] = {}
    for sub in subs:
        by_student.setdefault(sub.student, []).append(sub)
    for group in by_student.values():
        if len(group) < 2:
            continue
        lessons = {s.lesson for s in group if s.lesson}
        for lesson in lessons or {None}:
            same = [s for s in group if s.lesson == lesson or (s.lesson is None and len(lessons) <= 1)]
            if len(same) < 2:
                continue
            same.sort(key=lambda s: (s.mtime, s.name))
            newest = same[-1]
            for old in same[:-1]:
                old.status, old.detail = SUPERSEDED, f"an older submission than {newest.name} (the newest is graded)"
            others = ", ".join(s.name for s in same[:-1])
            newest.notes.append(f"{len(same)} submissions for this lesson: graded the newest ({newest.name}); "
                                f"not graded: {others}")


def prepare(paths, roster_path=None, lesson: str | None = None) -> tuple[list[Submission], list[str]]:
    """Find, read, identify and name every submission; mark malformed ones and duplicates."""
    roster = read_roster(roster_path) if roster_path else {}
    files, missing = find_submissions(paths)
    known = _lessons()
    wanted = lesson.zfill(2) if lesson else None
    if wanted and wanted not in known:
        raise ValueError(f"--lesson {lesson}: no such lesson with exercises (lessons: {', '.join(known)})")
    given = {p: str(p) for p in files}
    subs = []
    for path in files:
        entry = _roster_entry(path, given[path], roster)
        sub = Submission(path=path, student=entry.get("student") or student_from_path(path), roster=entry,
                         mtime=path.stat().st_mtime)
        if roster and not entry:
            sub.notes.append(f"{path.name} is not in the roster: the student id comes from the file name")
        nb, why = read_notebook(path)
        if nb is None:
            sub.status, sub.detail = INVALID, why
        else:
            sub.nb = nb
            found, how = identify_lesson(nb)
            if found is None:
                sub.status, sub.detail = INVALID, how
            elif found not in known:
                sub.status, sub.detail = INVALID, (f"imports the checks of lesson {found}, which has no exercises "
                                                   f"(lessons with exercises: {', '.join(known)})")
            elif wanted and found != wanted:
                sub.lesson = found
                sub.status, sub.detail = INVALID, (f"lesson {found}'s exercise notebook, not lesson {wanted}'s "
                                                   f"(--lesson {wanted})")
            else:
                sub.lesson = found
                if how != "its import line":
                    sub.notes.append(f"lesson {found} identified from {how}")
                if not _has_exercise_cells(nb, found):
                    sub.status, sub.detail = INVALID, (f"no exercise cells: none of lesson {found}'s exercises "
                                                       "(a `qN.check(...)` cell or an answer it checks) is in the "
                                                       "notebook")
        subs.append(sub)
    resolve_duplicates(subs)
    return subs, missing


def _has_exercise_cells(nb: dict, lesson: str) -> bool:
    names = {n for p in _problems(lesson) for n in p.names}
    for _, src in _code_sources(nb):
        if _CHECK_CALL_RE.search(src) or names & _defined_names(src):
            return True
    return False
