"""Grade submitted exercise notebooks: ``cancer-course exercises grade SUBMISSION... --out DIR``.

For a teacher with a folder of handed-in exercise notebooks. For each submission:

1. **read and identify** it: the lesson comes from the notebook itself (its
   ``from cancer_course.exercises.exNN import ...`` line, else the ``cancer_course`` metadata the
   builder writes), the student from the file name (or the parent folder when the file keeps the
   course's own name, ``03_..._exercises.ipynb``) or from ``--roster``. Malformed input (an empty
   file, invalid JSON, another lesson than ``--lesson``, no exercise cells) gets a row saying why;
   of two submissions of one student for one lesson the newest (by modification time) is graded
   and both are listed.
2. **run a copy** in its own temporary working folder, in a fresh kernel, in the ``smoke``
   profile, with errors allowed (a cell that raises does not stop the later ones) and a time
   limit for the learner's cells (``--timeout``); a notebook that runs out of time is interrupted,
   its remaining cells are skipped and what it answered so far is still graded. Several
   notebooks run at once (``--jobs``). The submitted file is only ever read.
3. **grade in the same kernel, after the learner's cells**: an appended grader cell loads the
   checks afresh from the installed package's files (not from the learner's session, so a patched
   ``q1.check``, ``core.Problem`` or checker module does not count), calls ``Problem.evaluate`` on
   the answers it finds in the notebook's variables (``problem.names``) and writes the results to
   a file whose name and contents carry a secret made for this run (so nothing the notebook
   printed, stored or wrote counts). It also compares the session's checker objects with the fresh
   ones and looks for course functions replaced by code written in the notebook: a question whose
   check was tampered with, or for which the notebook showed a "Correct" that no real check
   produced, gets no credit, and the feedback says why.
4. **write** ``DIR/grades.csv`` (one row per student and lesson: points per question, total,
   maximum, status), ``DIR/questions.csv`` (every question's status and message),
   ``DIR/submissions.csv`` (every file handed in and what happened to it), per student
   ``DIR/feedback/STUDENT.md`` (each check's message in the words the learner would have seen,
   and the hints they did not open) and ``DIR/executed/`` (the executed copies, to read); with
   ``--format canvas`` also ``DIR/grades-canvas.csv`` for a Canvas gradebook import.

This runs the students' code on your machine, as nbgrader and otter-grader do: the grader guards
the grading against a learner's tricks with the course's own objects, it is not a sandbox against
code written to attack Python itself. Research and education only.
"""

from __future__ import annotations

import csv
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# Question statuses (the first three are core's CheckResult statuses).
CORRECT, INCORRECT, NOT_ATTEMPTED = "correct", "incorrect", "not_attempted"
TAMPERED, NOT_GRADED = "tampered", "not_graded"
QUESTION_LABELS = {CORRECT: "correct", INCORRECT: "incorrect", NOT_ATTEMPTED: "not attempted",
                   TAMPERED: "no credit (tampered)", NOT_GRADED: "not graded"}
# Submission statuses (the ``status`` column of grades.csv).
GRADED, TIMED_OUT, FAILED, INVALID, SUPERSEDED, MISSING = (
    "graded", "timed out", "failed to run", "not graded", "superseded", "no submission")

MIME_TYPE = "application/vnd.cancer-course.check+json"  # as core.MIME_TYPE (not imported: see grade_in_kernel)
GRADER_TAG = "cancer-course-grader"
DEFAULT_TIMEOUT = 300
DEFAULT_CHECK_TIMEOUT = 60
_IMPORT_RE = re.compile(r"^[ \t]*(?:from[ \t]+cancer_course\.exercises\.ex(\d\d)[ \t]+import\b"
                        r"|import[ \t]+cancer_course\.exercises\.ex(\d\d)\b"
                        r"|from[ \t]+cancer_course\.exercises[ \t]+import[ \t]+[^#\n]*?\bex(\d\d)\b)", re.M)
_GENERATED_RE = re.compile(r"(\d\d)_[^/\\]*_solutions\.ipynb$")
_COURSE_NAME_RE = re.compile(r"^\d\d_[a-z0-9_]+_(?:exercises|solutions)(?:[ _-]*(?:\(\d+\)|v?\d+|copy))?$", re.I)
_CLAIM_RE = re.compile(r"^[ \t]*Correct(?::[ \t]*(\d\d\.\d+)\b|[!.]?[ \t]*$)", re.M)
_QREF_RE = re.compile(r"\bq(\d+)\.(?:check|hint|solution|show)\b")
_HINT_RE = re.compile(r"^[^#\n]*\bq(\d+)\.hint\(\s*(\d*)\s*\)", re.M)
_SOLUTION_RE = re.compile(r"^[^#\n]*\bq(\d+)\.solution\(\s*\)", re.M)
_CHECK_CALL_RE = re.compile(r"\bq\d+\.(?:check|show)\(")


# =============================================================================================
# Submissions: finding, reading, identifying, naming
# =============================================================================================
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


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _code_sources(nb: dict) -> list[tuple[int, str]]:
    return [(i, _source(c)) for i, c in enumerate(nb.get("cells", [])) if c.get("cell_type") == "code"]


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


# =============================================================================================
# Running one submission (in a worker process, which runs the kernel)
# =============================================================================================
GRADER_CELL = '''\
# cancer-course grader {nonce}: added by `cancer-course exercises grade` after the notebook's own cells.
def _cancer_course_grader_{nonce}(namespace):
    import importlib.util
    import sys
    spec = importlib.util.spec_from_file_location("_cancer_course_grader_{nonce}", {grade_py!r})
    grader = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = grader
    try:
        spec.loader.exec_module(grader)
        grader.grade_in_kernel(namespace, {lesson!r}, {package_dir!r}, {result!r}, {nonce!r}, {check_timeout!r})
    finally:
        sys.modules.pop(spec.name, None)


_cancer_course_grader_{nonce}(globals())
'''


def _worker_main(spec_file: str) -> int:
    """``python -m cancer_course.exercises.grade --worker SPEC.json``: run one copy, grade it, write a summary."""
    spec = json.loads(Path(spec_file).read_text(encoding="utf-8"))
    summary = {"status": "ok", "detail": "", "errors": {}, "skipped": [], "timed_out_cell": None,
               "died_cell": None, "learner_seconds": None, "claims": {}, "unattributed_claims": []}
    try:
        _execute(spec, summary)
    except Exception as exc:  # the kernel would not start, the notebook would not load...
        summary["status"] = "failed"
        summary["detail"] = f"{type(exc).__name__}: {_one_line(exc)}"
    Path(spec["summary"]).write_text(json.dumps(summary), encoding="utf-8")
    return 0


def _execute(spec: dict, summary: dict) -> None:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    nb = nbformat.reads(Path(spec["copy"]).read_text(encoding="utf-8-sig"), as_version=4)
    injected = None
    for index, cell in enumerate(nb.cells):  # papermill's way: PROFILE = "smoke" after the parameters cell
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            injected = index + 1
            nb.cells.insert(injected, nbformat.v4.new_code_cell(
                'PROFILE = "smoke"  # injected by cancer-course exercises grade',
                metadata={"tags": ["injected-parameters"]}))
            break

    def submitted(i: int) -> int:  # a cell's index in the submitted notebook (without the injected cell)
        return i - 1 if injected is not None and i >= injected else i

    n_cells = len(nb.cells)
    client = NotebookClient(nb, kernel_name=spec["kernel"], allow_errors=True, interrupt_on_timeout=True,
                            error_on_timeout={"ename": "TimeoutError", "evalue": "time limit", "traceback": []},
                            shutdown_kernel="immediate", startup_timeout=120, iopub_timeout=5,
                            record_timing=False, resources={"metadata": {"path": spec["workdir"]}})
    t0 = time.monotonic()
    deadline = t0 + spec["timeout"]
    with client.setup_kernel(cwd=spec["workdir"]):
        pid = getattr(getattr(client.km, "provisioner", None), "pid", None)
        if pid:
            Path(spec["kernel_pid"]).write_text(str(pid), encoding="utf-8")
        died = False
        for index in range(n_cells):
            cell = nb.cells[index]
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                summary["skipped"].append(submitted(index))
                continue
            client.timeout = max(1, int(remaining + 0.999))
            try:
                client.execute_cell(cell, index)
            except DeadKernelError:
                summary["died_cell"], died = submitted(index), True
                break
            if time.monotonic() >= deadline:
                summary["timed_out_cell"] = submitted(index)
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    summary["errors"][str(submitted(index))] = [out.get("ename", ""), _one_line(out.get("evalue", ""))]
        summary["learner_seconds"] = round(time.monotonic() - t0, 1)
        if not died:
            grader = nbformat.v4.new_code_cell(GRADER_CELL.format(**spec), metadata={"tags": [GRADER_TAG]})
            nb.cells.append(grader)
            client.timeout = int(spec["check_timeout"] * max(1, spec["n_questions"]) + 30)
            try:
                client.execute_cell(grader, len(nb.cells) - 1)
            except DeadKernelError:
                summary["died_cell"] = "grader"
            errors = [o for o in grader.get("outputs", []) if o.get("output_type") == "error"]
            if errors:
                summary["grader_error"] = f"{errors[0].get('ename')}: {_one_line(errors[0].get('evalue', ''))}"
            nb.cells.pop()
    cells = [c for i, c in enumerate(nb.cells[:n_cells]) if i != injected]
    summary["claims"], summary["unattributed_claims"] = _claims(cells, spec["lesson"])
    nbformat.write(nb, spec["executed"])


def _claims(cells, lesson: str) -> tuple[dict, list]:
    """What the notebook's outputs say was "Correct": {question: {"text": [cells], "display": count}}.

    ``display``: the check's own display (with its machine-readable payload); ``text``: a printed or
    displayed line that looks like a check's "Correct" line but carries no payload (a real check in
    Jupyter always sends the payload, so such a line was written by the notebook itself).
    """
    claims: dict[str, dict] = {}
    loose = []
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        refs = sorted({f"{lesson}.{n}" for n in _QREF_RE.findall(_source(cell))})
        for out in cell.get("outputs", []):
            data = out.get("data") or {}
            payload = data.get(MIME_TYPE)
            if isinstance(payload, dict):
                if payload.get("status") == CORRECT and payload.get("problem"):
                    claims.setdefault(str(payload["problem"]), {"text": [], "display": 0})["display"] += 1
                continue
            text = out.get("text") if out.get("output_type") == "stream" else data.get("text/plain", "")
            text = "".join(text) if isinstance(text, list) else str(text or "")
            for match in _CLAIM_RE.finditer(text):
                ids = [match.group(1)] if match.group(1) else refs
                if not ids:
                    loose.append(index)
                for qid in ids:
                    claims.setdefault(qid, {"text": [], "display": 0})["text"].append(index)
    return claims, loose


def stored_claims(nb: dict) -> set[str]:
    """The questions the submitted file's saved outputs show as "Correct" (a check's payload or its line)."""
    found = set()
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) or []:
            data = out.get("data") or {}
            payload = data.get(MIME_TYPE)
            if isinstance(payload, dict) and payload.get("status") == CORRECT:
                found.add(str(payload.get("problem")))
            text = out.get("text") if out.get("output_type") == "stream" else data.get("text/plain", "")
            text = "".join(text) if isinstance(text, list) else str(text or "")
            found.update(m.group(1) for m in _CLAIM_RE.finditer(text) if m.group(1))
    return found


# =============================================================================================
# In the kernel, after the learner's cells: fresh checks, tampering, results
# =============================================================================================
class _CheckTimeout(BaseException):
    """Raised by the alarm when one check runs past --check-timeout (BaseException: the check's
    own ``except Exception`` does not swallow it)."""


def grade_in_kernel(namespace: dict, lesson: str, package_dir: str, result_path: str, nonce: str,
                    check_timeout: float) -> None:
    """Grade the learner's answers in ``namespace`` with checks loaded afresh from ``package_dir``.

    Runs inside the learner's kernel (the grader cell loads this file by its path and calls it).
    Writes ``result_path`` (JSON with ``nonce``) after every question, so a check that never
    returns still leaves the others' results.
    """
    record = {"nonce": nonce, "lesson": lesson, "questions": [], "tampering": {}, "genuine": {},
              "complete": False, "error": None}

    def save():
        tmp = result_path + ".part"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(record, fh)
        os.replace(tmp, result_path)

    session = {n: m for n, m in list(sys.modules.items())
               if m is not None and (n == "cancer_course.exercises" or n.startswith("cancer_course.exercises."))}
    try:
        fresh = _load_fresh_checks(package_dir, lesson)
    except BaseException as exc:  # noqa: BLE001 - whatever the learner's session did, report it
        record["error"] = f"the grader could not load the checks: {type(exc).__name__}: {_one_line(exc)}"
        save()
        return
    core = fresh["cancer_course.exercises.core"]
    problems = list(fresh[f"cancer_course.exercises.ex{lesson}"].PROBLEMS)
    try:
        record["tampering"] = _find_tampering(session, fresh, namespace, problems, package_dir, lesson)
    except Exception as exc:  # the comparison itself failed: say so rather than trust the session
        record["tampering"] = {"*": [f"the grader could not inspect the session ({type(exc).__name__}: "
                                     f"{_one_line(exc)})"]}
    old_core = session.get("cancer_course.exercises.core")
    history = getattr(old_core, "HISTORY", []) if old_core is not None else []
    try:
        record["genuine"] = dict(Counter(str(getattr(r, "problem", "")) for r in list(history)
                                         if getattr(r, "status", None) == CORRECT))
    except Exception:
        record["genuine"] = {}
    save()
    for problem in problems:
        entry = {"id": problem.id, "missing": [n for n in problem.names if n not in namespace]}
        answers = tuple(_fresh_placeholders(namespace.get(n, core.____), core) for n in problem.names)
        try:
            with _alarm(check_timeout):
                result = problem.evaluate(*answers)
            entry.update(status=result.status, message=result.message)
        except _CheckTimeout:
            entry.update(status=INCORRECT, message=f"the check of your answer did not finish within "
                         f"{check_timeout:g} s: does your code loop forever, or do far more work than asked?")
        except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt from the answer's code
            entry.update(status=INCORRECT, message=f"running your answer stopped the check: {type(exc).__name__}: "
                         f"{_one_line(exc)}")
        record["questions"].append(entry)
        save()
    record["complete"] = True
    save()


class _alarm:
    """``with _alarm(seconds):`` raises _CheckTimeout in the main thread after `seconds` (POSIX; else no limit)."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.previous = None

    def __enter__(self):
        if hasattr(signal, "setitimer") and self.seconds and self.seconds > 0:
            try:
                self.previous = signal.signal(signal.SIGALRM, self._fire)
                signal.setitimer(signal.ITIMER_REAL, float(self.seconds))
            except ValueError:  # not the main thread
                self.previous = None
        return self

    @staticmethod
    def _fire(signum, frame):
        raise _CheckTimeout()

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)
        return False


def _load_fresh_checks(package_dir: str, lesson: str) -> dict:
    """Load cancer_course.exercises (core, helpers, exNN) again from the files in `package_dir`.

    Every module is loaded from its own path (no import hook or finder of the session's is asked);
    the session's copies are taken out of sys.modules first. The other cancer_course modules stay
    (reloading them would register Keras objects twice); _find_tampering inspects them instead.
    """
    import importlib.util

    folder = os.path.join(package_dir, "exercises")
    for name in [n for n in sys.modules if n == "cancer_course.exercises" or n.startswith("cancer_course.exercises.")]:
        del sys.modules[name]
    fresh = {}

    def load(name, path, package=False):
        spec = importlib.util.spec_from_file_location(
            name, path, submodule_search_locations=[folder] if package else None)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        fresh[name] = module
        return spec, module

    pkg_spec, pkg = load("cancer_course.exercises", os.path.join(folder, "__init__.py"), package=True)
    helpers = ["core"] + sorted(f[:-3] for f in os.listdir(folder) if f.startswith("_") and f.endswith(".py")
                                and f != "__init__.py") + [f"ex{lesson}"]
    for name in helpers:
        spec, module = load(f"cancer_course.exercises.{name}", os.path.join(folder, f"{name}.py"))
        spec.loader.exec_module(module)
        setattr(pkg, name, module)
    pkg_spec.loader.exec_module(pkg)
    parent = sys.modules.get("cancer_course")
    if parent is not None:
        parent.exercises = pkg
    return fresh


def _fresh_placeholders(value, core):
    """The session's ``____`` (an object of the session's Placeholder class) as the fresh one."""
    def swap(v):
        t = type(v)
        if t.__name__ == "Placeholder" and t.__module__ == "cancer_course.exercises.core":
            return core.____
        return v
    if isinstance(value, list):
        return [swap(v) for v in value]
    if isinstance(value, tuple) and type(value) is tuple:
        return tuple(swap(v) for v in value)
    if isinstance(value, set):
        return {swap(v) for v in value}
    if isinstance(value, dict):
        return {swap(k): swap(v) for k, v in value.items()}
    return swap(value)


_IGNORED_CLASS_KEYS = {"__dict__", "__weakref__", "__doc__", "__module__", "_abc_impl", "__annotations__",
                       "__parameters__", "__orig_bases__"}


def _unwrap(value):
    if isinstance(value, staticmethod | classmethod):
        return value.__func__
    if isinstance(value, property):
        return value.fget
    return value


def _replaced(old, new, roots) -> bool:
    """True when the session's `old` is not the package's own code where the package has the function `new`.

    Judged by where the code comes from, not by equality with the file now on disk (a package
    updated between the session's import and the grader's is not tampering): a function written in
    the notebook, another function put in its place, or something that is no function at all.
    """
    import types

    old, new = _unwrap(old), _unwrap(new)
    if not isinstance(new, types.FunctionType):
        return False
    if not isinstance(old, types.FunctionType):
        return True
    return _from_notebook(old, roots) or old.__qualname__ != new.__qualname__


def _class_changes(old, new, roots) -> list[str]:
    """The members of the session's class `old` that are not the package's own code."""
    if not isinstance(old, type):
        return ["replaced by something that is not a class"]
    changed = []
    for key, value in vars(old).items():
        if key in _IGNORED_CLASS_KEYS:
            continue
        if key in vars(new):
            if _replaced(value, vars(new)[key], roots):
                changed.append(key)
        elif callable(_unwrap(value)) and _from_notebook(value, roots):
            changed.append(key)
    return sorted(changed)


def _trusted_roots(package_dir: str) -> list[str]:
    import sysconfig

    roots = {os.path.realpath(package_dir)}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        try:
            roots.add(os.path.realpath(sysconfig.get_paths()[key]))
        except KeyError:
            pass
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix}:
        roots.add(os.path.realpath(os.path.join(prefix, "lib")))
    roots.update(os.path.realpath(p) for p in sys.path if p and "site-packages" in p)
    return sorted(roots)


def _from_notebook(func, roots) -> bool:
    """True when a function's code was written outside the installed packages (in a notebook cell)."""
    code = getattr(_unwrap(func), "__code__", None)
    if code is None or code.co_filename.startswith("<"):
        return False
    path = os.path.realpath(code.co_filename)
    return not any(path == r or path.startswith(r + os.sep) for r in roots)


def _find_tampering(session, fresh, namespace, problems, package_dir, lesson) -> dict[str, list[str]]:
    """{question id or "*" (every question): [what was changed]} - the session's checks against fresh ones."""
    import builtins
    import types

    found: dict[str, list[str]] = {}

    def add(key, message):
        if message not in found.setdefault(key, []):
            found[key].append(message)

    lesson_name = f"cancer_course.exercises.ex{lesson}"
    by_number = {f"q{p.number}": p for p in problems}
    owners: dict[str, list[str]] = {}
    for p in problems:
        for klass in type(p).__mro__:
            if klass.__module__ == lesson_name:
                owners.setdefault(klass.__qualname__, []).append(p.id)
    roots = _trusted_roots(package_dir)
    for name, new_mod in fresh.items():
        old_mod = session.get(name)
        if old_mod is None:
            continue
        short = name.replace("cancer_course.exercises", "exercises")
        old_vars = vars(old_mod)
        for attr, new in vars(new_mod).items():
            if attr.startswith("__") or attr not in old_vars:
                continue
            old = old_vars[attr]
            if name == lesson_name and attr in by_number:
                _compare_problem(old, new, attr, by_number[attr].id, roots, add)
            elif isinstance(new, type) and new.__module__ == name:
                changed = _class_changes(old, new, roots)
                if changed:
                    for key in owners.get(new.__qualname__, ["*"]):
                        add(key, f"the checker class `{short}.{attr}` was changed in the notebook "
                                 f"({', '.join(changed)})")
            elif _replaced(old, new, roots):
                add("*", f"`{short}.{attr}` was replaced in the notebook")
    old_lesson = session.get(lesson_name)
    for qname, problem in by_number.items():
        if qname in namespace and (old_lesson is None or namespace[qname] is not getattr(old_lesson, qname, None)):
            add(problem.id, f"`{qname}` in the notebook is not the course's problem object (it was redefined), so "
                            "its check is not the course's")
    for name, module in list(sys.modules.items()):
        inspect_it = (name == "cancer_course" or name.startswith("cancer_course.")) and not name.startswith(
            "cancer_course.exercises")
        if not inspect_it and name not in ("json", "os", "os.path", "importlib", "importlib.util", "signal"):
            continue
        for attr, value in list(vars(module).items()):
            if isinstance(value, types.FunctionType) and _from_notebook(value, roots):
                add("*", f"`{name}.{attr}` was replaced by code written in the notebook")
            elif isinstance(value, type) and value.__module__ == name:
                for key, member in list(vars(value).items()):
                    if _from_notebook(member, roots):
                        add("*", f"`{name}.{attr}.{key}` was replaced by code written in the notebook")
    for attr in ("open", "print", "isinstance", "issubclass", "getattr", "setattr", "hasattr", "len", "repr",
                 "compile", "exec", "eval", "sorted", "any", "all", "iter", "next", "vars", "callable"):
        if type(getattr(builtins, attr, None)) is not types.BuiltinFunctionType:
            add("*", f"the built-in `{attr}` was replaced in the notebook")
    return found


def _compare_problem(old, new, attr, qid, roots, add) -> None:
    if type(old).__qualname__ != type(new).__qualname__ or type(old).__module__ != type(new).__module__:
        add(qid, f"`{attr}` in the checker module was replaced by another object ({type(old).__name__})")
        return
    new_vars = vars(new)
    for key, value in vars(old).items():
        if key == "last_result":
            continue
        if key not in new_vars:
            what = "redefined" if callable(value) else "added"
            add(qid, f"`{attr}.{key}` was {what} in the notebook (a check of your own does not count)")
        elif _replaced(value, new_vars[key], roots) or (not callable(value) and value != new_vars[key]):
            add(qid, f"`{attr}.{key}` was changed in the notebook")


# =============================================================================================
# Grading a class
# =============================================================================================
@dataclass
class QuestionGrade:
    id: str
    title: str
    points: float
    maximum: float
    status: str
    message: str
    notes: list[str] = field(default_factory=list)
    hints_unused: list[tuple[int, str]] = field(default_factory=list)
    solution_seen: bool = False

    @property
    def number(self) -> str:
        return self.id.split(".")[-1]


@dataclass
class Grade:
    """One row of grades.csv (a graded, failed or malformed submission)."""

    submission: Submission
    status: str
    detail: str = ""
    questions: list[QuestionGrade] = field(default_factory=list)
    maximum: float = 0.0
    seconds: float = 0.0
    executed: Path | None = None

    @property
    def total(self) -> float | None:
        if self.status not in (GRADED, TIMED_OUT):
            return None
        return sum(q.points for q in self.questions)


@dataclass
class GradeReport:
    out: Path
    grades: list[Grade]
    submissions: list[Submission]
    lines: list[str]
    files: dict[str, Path]
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for g in self.grades if g.status == status)


def default_jobs() -> int:
    """Notebooks graded at once: the usable cores, at most 4 (each kernel holds TensorFlow)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


def _problems(lesson: str):
    from . import problems

    return problems(lesson)


def _lessons() -> list[str]:
    from . import lesson_modules

    return [m[2:] for m in lesson_modules()]


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


def _defined_names(source: str) -> set[str]:
    """Names a cell binds at top level (def, class, assignment), read with ast; magics are skipped."""
    import ast

    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n"))
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def run_one(sub: Submission, index: int, work_root: Path, timeout: float, check_timeout: float,
            kernel: str) -> dict:
    """Run a copy of one submission in a worker process; returns the worker's summary and result."""
    from .. import __file__ as package_init

    package_dir = str(Path(package_init).resolve().parent)
    safe = _safe(sub.student)
    base = work_root / f"{index:03d}-{safe}"
    workdir, private = base / "work", Path(tempfile.mkdtemp(prefix="grader-", dir=work_root))
    workdir.mkdir(parents=True)
    copy = workdir / sub.name
    shutil.copyfile(sub.path, copy)  # the submission itself is only read
    nonce = secrets.token_hex(16)
    n_questions = len(_problems(sub.lesson))
    spec = {"copy": str(copy), "workdir": str(workdir), "lesson": sub.lesson, "timeout": timeout,
            "check_timeout": check_timeout, "kernel": kernel, "nonce": nonce, "n_questions": n_questions,
            "result": str(private / f"result-{nonce}.json"), "summary": str(private / "summary.json"),
            "executed": str(private / "executed.ipynb"), "kernel_pid": str(private / "kernel.pid"),
            "grade_py": str(Path(__file__).resolve()), "package_dir": package_dir}
    spec_file = private / "spec.json"
    spec_file.write_text(json.dumps(spec), encoding="utf-8")
    env = dict(os.environ, CANCER_COURSE_PROFILE="smoke", MPLBACKEND="Agg", PYTHONHASHSEED="0",
               TF_CPP_MIN_LOG_LEVEL="3")
    backstop = timeout + check_timeout * n_questions + 150
    t0 = time.monotonic()
    with open(private / "worker.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "cancer_course.exercises.grade", "--worker", str(spec_file)],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, cwd=str(workdir),
                                start_new_session=True)
        _RUNNING[proc] = private / "kernel.pid"
        try:
            proc.wait(timeout=backstop)
            killed = False
        except subprocess.TimeoutExpired:
            killed = True
        finally:
            _kill(proc, private / "kernel.pid")
            _RUNNING.pop(proc, None)
    run = {"seconds": round(time.monotonic() - t0, 1), "killed": killed, "backstop": backstop, "summary": None,
           "result": None, "executed": None}
    try:
        run["summary"] = json.loads((private / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        tail = (private / "worker.log").read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
        run["log_tail"] = " | ".join(tail)
    try:
        result = json.loads(Path(spec["result"]).read_text(encoding="utf-8"))
        run["result"] = result if isinstance(result, dict) and result.get("nonce") == nonce else None
        if run["result"] is None:
            run["bad_result"] = True
    except (OSError, ValueError):
        pass
    if Path(spec["executed"]).is_file():
        run["executed"] = spec["executed"]
    return run


_RUNNING: dict[subprocess.Popen, Path] = {}  # workers now running -> their kernel's pid file (for Ctrl-C)


def _kill(proc: subprocess.Popen, pid_file: Path) -> None:
    """End the worker's process group and the kernel's (the kernel runs in a session of its own)."""
    pids = [proc.pid]
    try:
        pids.append(int(pid_file.read_text(encoding="utf-8").strip()))
    except (OSError, ValueError):
        pass
    for pid in pids:
        try:
            if hasattr(os, "killpg"):
                os.killpg(pid, signal.SIGKILL)
            else:  # pragma: no cover - Windows
                os.kill(pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError, OSError):
            pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover
        pass


def _assemble(sub: Submission, run: dict, timeout: float) -> Grade:
    """Turn a run's summary and result file into a Grade (with every question's status and message)."""
    problems = _problems(sub.lesson)
    maximum = float(sum(p.points for p in problems))
    grade = Grade(sub, GRADED, questions=[], maximum=maximum, seconds=run["seconds"])
    summary = run.get("summary") or {}
    result = run.get("result") or {}
    by_id = {q["id"]: q for q in result.get("questions", [])}
    tampering = result.get("tampering", {})
    genuine = result.get("genuine", {})
    claims = summary.get("claims", {})
    stored = stored_claims(sub.nb or {})
    nb_cells = (sub.nb or {}).get("cells", [])
    errors = {int(k): v for k, v in summary.get("errors", {}).items()}
    skipped = set(summary.get("skipped", []))
    if run.get("killed"):
        grade.status = TIMED_OUT
        grade.detail = (f"stopped after {run['backstop']:g} s: the notebook did not stop when interrupted "
                        "(its kernel was killed)")
    elif summary.get("status") == "failed":
        grade.status, grade.detail = FAILED, f"could not run: {summary.get('detail')}"
    elif not summary:
        grade.status, grade.detail = FAILED, f"the grader's worker failed ({run.get('log_tail', 'no log')})"
    elif summary.get("died_cell") is not None:
        where = "while the checks ran" if summary["died_cell"] == "grader" else \
            f"in {_cell_name(nb_cells, summary['died_cell'])}"
        grade.status = FAILED
        grade.detail = f"the kernel died {where} (out of memory, or the code ended Python itself)"
    elif summary.get("timed_out_cell") is not None or summary.get("skipped"):
        grade.status = TIMED_OUT
        cell = summary.get("timed_out_cell")
        grade.detail = (f"ran out of time (--timeout {timeout:g} s)"
                        + (f" in {_cell_name(nb_cells, cell)}" if cell is not None else "")
                        + f"; {len(skipped)} later cell(s) not run; what was answered before is graded")
    if run.get("bad_result"):
        grade.status, grade.detail = FAILED, "the grader's result file was not the one it wrote (overwritten?)"
    elif result.get("error"):
        grade.status, grade.detail = FAILED, result["error"]
    elif not result and grade.status == GRADED:
        grade.status = FAILED
        grade.detail = "the checks did not run" + (f" ({summary['grader_error']})" if summary.get("grader_error")
                                                   else "")
    sources = [(i, _source(c)) for i, c in enumerate(nb_cells) if c.get("cell_type") == "code"]
    hints_used, solutions_seen = _help_used(sub.nb or {})
    for p in problems:
        q = QuestionGrade(p.id, p.title, 0.0, float(p.points), NOT_GRADED, "", hints_unused=[])
        entry = by_id.get(p.id)
        if entry is None:
            q.message = {TIMED_OUT: "not checked: the time limit ended the run before this check",
                         FAILED: f"not checked: {grade.detail}"}.get(grade.status, "not checked")
        else:
            q.status, q.message = entry["status"], entry.get("message", "")
            _explain_missing(q, entry.get("missing", []), sources, errors, skipped, nb_cells)
            reasons = list(tampering.get(p.id, [])) + list(tampering.get("*", []))
            claim = claims.get(p.id, {})
            if claim.get("text"):
                cells = ", ".join(str(_cell_number(c)) for c in sorted(set(claim["text"])))
                reasons.append(f"the notebook printed a \"Correct\" line for {p.id} itself (cell {cells}); only the "
                               "grader's own check counts")
            if claim.get("display", 0) > genuine.get(p.id, 0):
                reasons.append(f"the notebook displayed a \"Correct\" result for {p.id} that no real check produced")
            if reasons:
                q.notes.append("The grader's own check of your answer said: " + _line(q.status, q.message))
                q.status, q.message = TAMPERED, "; ".join(reasons) + "."
            elif p.id in stored and q.status != CORRECT:
                q.notes.append("The file you handed in shows \"Correct\" for this question, but run again from the "
                               "top it is not: saved outputs are not graded (restart the kernel and run all cells "
                               "before you hand in).")
        if q.status == CORRECT:
            q.points = float(p.points)
        used = hints_used.get(q.number, 0)
        q.hints_unused = [(k, h) for k, h in enumerate(p.hints, start=1) if k > used] if q.status != CORRECT else []
        q.solution_seen = q.number in solutions_seen
        grade.questions.append(q)
    if run.get("executed"):
        grade.executed = Path(run["executed"])
    return grade


def _cell_number(index) -> int:
    """A 0-based cell index of the submitted notebook -> the 1-based cell number (markdown cells count)."""
    return int(index) + 1


def _cell_name(cells, index) -> str:
    """``cell 17 (`ms_out_channels = 4 * 32`)``: its number, counting every cell from 1, and its first line."""
    lines = [line.strip() for line in _source(cells[int(index)]).split("\n")] if int(index) < len(cells) else []
    first = next((line for line in lines if line and not line.startswith("#")), "")
    first = first if len(first) <= 50 else first[:47] + "..."
    return f"cell {_cell_number(index)}" + (f" (`{first}`)" if first else "")


def _explain_missing(q: QuestionGrade, missing, sources, errors, skipped, cells) -> None:
    """Say why an answer's variable was missing: its cell raised, did not run, or is not there."""
    if not missing:
        return
    name = missing[0]
    defining = [i for i, src in sources if name in _defined_names(src)]
    if not defining:
        q.message = f"`{name}` is not defined anywhere in the notebook (was its cell deleted?). " + q.message
        return
    index = defining[-1]
    if index in skipped:
        q.status = NOT_GRADED
        q.message = f"`{name}` was never defined: its {_cell_name(cells, index)} did not run before the time limit"
    elif index in errors:
        ename, evalue = errors[index]
        q.status = NOT_ATTEMPTED if "____" in dict(sources)[index] else INCORRECT
        q.message = (f"`{name}` was never defined: its {_cell_name(cells, index)} raised {ename}: {evalue}. "
                     "Run that cell on its own to see the whole traceback.")


def _help_used(nb: dict) -> tuple[dict[str, int], set[str]]:
    """The highest hint level each question's hint() was called with, and the questions whose solution() ran."""
    hints: dict[str, int] = {}
    seen = set()
    for _, src in _code_sources(nb):
        for number, level in _HINT_RE.findall(src):
            hints[number] = max(hints.get(number, 0), int(level or 1))
        seen.update(_SOLUTION_RE.findall(src))
    return hints, seen


def grade_submissions(paths, out, roster=None, lesson=None, timeout: float = DEFAULT_TIMEOUT,
                      check_timeout: float = DEFAULT_CHECK_TIMEOUT, jobs: int | None = None,
                      kernel: str | None = None, formats=("csv",), assignment: str | None = None,
                      echo=print) -> GradeReport:
    """Grade every submission under `paths` into `out`; see the module docstring."""
    from concurrent.futures import ThreadPoolExecutor

    t0 = time.monotonic()
    out = Path(out)
    if timeout <= 0 or check_timeout <= 0:
        raise ValueError(f"--timeout and --check-timeout must be positive (got {timeout:g}, {check_timeout:g})")
    subs, missing = prepare(paths, roster, lesson)
    if not subs and missing:
        raise ValueError("no submissions: " + "; ".join(missing))
    if not subs:
        raise ValueError(f"no .ipynb files in {', '.join(map(str, paths))}")
    out.mkdir(parents=True, exist_ok=True)
    for sub_dir in ("feedback", "executed"):
        (out / sub_dir).mkdir(exist_ok=True)
    kernel = kernel or "python3"
    _check_kernel(kernel)
    lines = list(missing)
    to_run = [s for s in subs if not s.status]
    jobs = max(1, int(jobs or default_jobs()))
    echo(f"Grading {len(to_run)} of {len(subs)} submission(s) ({jobs} at a time, up to {timeout:g} s each, "
         f"kernel {kernel}, smoke profile)...")
    grades: dict[int, Grade] = {}
    work_root = Path(tempfile.mkdtemp(prefix="cancer-course-grade-"))
    try:
        def job(item):
            index, sub = item
            run = run_one(sub, index, work_root, timeout, check_timeout, kernel)
            grade = _assemble(sub, run, timeout)
            if grade.executed:
                target = out / "executed" / f"{_safe(sub.student)}_{sub.lesson}.ipynb"
                shutil.copyfile(grade.executed, target)
                grade.executed = target
            echo("  " + _progress_line(grade))
            return index, grade

        pool = ThreadPoolExecutor(max_workers=jobs)
        try:
            for index, grade in pool.map(job, [(i, s) for i, s in enumerate(subs) if not s.status]):
                grades[index] = grade
        except BaseException:  # Ctrl-C: the workers run in sessions of their own, so end them here
            pool.shutdown(wait=False, cancel_futures=True)
            for proc, pid_file in list(_RUNNING.items()):
                _kill(proc, pid_file)
            raise
        pool.shutdown(wait=True)
    finally:
        shutil.rmtree(work_root, ignore_errors=True)
    for index, sub in enumerate(subs):
        if sub.status == INVALID:
            grades[index] = Grade(sub, INVALID, sub.detail)
            echo(f"  {sub.path}: not graded: {sub.detail}")
        elif sub.status == SUPERSEDED:
            echo(f"  {sub.path}: not graded: {sub.detail}")
    ordered = [grades[i] for i in sorted(grades)]
    ordered.sort(key=lambda g: (g.submission.student, g.submission.lesson or ""))
    rostered = {e["student"]: e for e in (read_roster(roster).values() if roster else [])}
    handed_in = {g.submission.student for g in ordered} | {s.student for s in subs}
    for student, entry in sorted(rostered.items()):
        if student not in handed_in:
            ghost = Submission(path=Path(entry["file"]), student=student, roster=entry)
            ordered.append(Grade(ghost, MISSING, f"{entry['file']} (in the roster) was not handed in"))
    files = write_outputs(out, ordered, subs, formats, assignment)
    report = GradeReport(out, ordered, subs, lines, files, seconds=round(time.monotonic() - t0, 1))
    for line in lines:
        echo(f"  {line}")
    echo(summary_line(report))
    return report


def _check_kernel(kernel: str) -> None:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(kernel)
    except NoSuchKernel:
        known = ", ".join(sorted(KernelSpecManager().find_kernel_specs())) or "none"
        raise ValueError(f"--kernel {kernel}: no such Jupyter kernel (installed: {known}); "
                         "`jupyter kernelspec list` shows them") from None


def _maximum(lesson) -> float:
    return float(sum(p.points for p in _problems(lesson))) if lesson else 0.0


def _progress_line(grade: Grade) -> str:
    sub = grade.submission
    score = f"{_num(grade.total)} / {_num(grade.maximum)}" if grade.total is not None else "-"
    detail = f": {grade.detail}" if grade.detail else ""
    return f"{sub.path} -> {sub.student}, lesson {sub.lesson}: {score} ({grade.status}{detail}, {grade.seconds:.0f} s)"


def summary_line(report: GradeReport) -> str:
    superseded = sum(1 for s in report.submissions if s.status == SUPERSEDED)
    parts = [f"{report.count(GRADED)} graded", f"{report.count(TIMED_OUT)} timed out",
             f"{report.count(FAILED)} failed to run", f"{report.count(INVALID)} not graded (malformed)"]
    if superseded:
        parts.append(f"{superseded} superseded by a newer submission")
    if report.count(MISSING):
        parts.append(f"{report.count(MISSING)} in the roster with no submission")
    return (f"{len(report.submissions)} submission(s): " + ", ".join(parts)
            + f" in {report.seconds:.0f} s. Grades: {report.files['grades']}; feedback: {report.out / 'feedback'}")


# =============================================================================================
# Outputs
# =============================================================================================
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


def write_outputs(out: Path, grades: list[Grade], subs: list[Submission], formats, assignment) -> dict[str, Path]:
    ids = []
    for g in grades:
        for q in g.questions:
            if q.id not in ids:
                ids.append(q.id)
    ids.sort(key=lambda i: (i.split(".")[0], int(i.split(".")[1])))
    files = {"grades": out / "grades.csv", "questions": out / "questions.csv", "submissions": out / "submissions.csv"}
    with open(files["grades"], "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["student", "lesson", *ids, "total", "maximum", "status", "file", "note"])
        for g in grades:
            points = {q.id: _num(q.points) for q in g.questions}
            notes = "; ".join([g.detail] * bool(g.detail and g.status != GRADED) + g.submission.notes)
            w.writerow([g.submission.student, g.submission.lesson or "", *[points.get(i, "") for i in ids],
                        _num(g.total), _num(g.maximum) if g.maximum else "", g.status, g.submission.name, notes])
    with open(files["questions"], "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["student", "lesson", "question", "title", "status", "points", "maximum", "message"])
        for g in grades:
            for q in g.questions:
                w.writerow([g.submission.student, g.submission.lesson, q.id, q.title, QUESTION_LABELS[q.status],
                            _num(q.points), _num(q.maximum), " ".join([q.message, *q.notes]).strip()])
    with open(files["submissions"], "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "student", "lesson", "status", "detail"])
        status_of = {id(g.submission): g for g in grades}
        for s in subs:
            g = status_of.get(id(s))
            w.writerow([str(s.path), s.student, s.lesson or "", g.status if g else s.status,
                        (g.detail if g else s.detail) or "; ".join(s.notes)])
    if "canvas" in formats:
        files["canvas"] = out / "grades-canvas.csv"
        write_canvas_csv(files["canvas"], grades, assignment)
    by_student: dict[str, list[Grade]] = {}
    for g in grades:
        if g.status != MISSING:
            by_student.setdefault(g.submission.student, []).append(g)
    superseded = [s for s in subs if s.status == SUPERSEDED]
    for student, own in by_student.items():
        older = [s for s in superseded if s.student == student]
        path = out / "feedback" / f"{_safe(student)}.md"
        path.write_text(feedback_markdown(student, own, older), encoding="utf-8")
    return files


def write_canvas_csv(path: Path, grades: list[Grade], assignment: str | None = None) -> None:
    """A CSV a Canvas gradebook imports (Grades > Import): one column per lesson, the total score.

    Columns: ``Student`` (the roster's name, else the student id), ``ID`` (the roster's
    ``canvas_id``), ``SIS User ID`` (the student id), ``SIS Login ID``, ``Section``, then one
    column per lesson named ``--assignment`` (default "Lesson NN exercises"); the second row is
    ``Points Possible`` with each lesson's maximum, as in a Canvas export. Canvas matches a row to a
    student by ID, SIS User ID or SIS Login ID, so give the roster one of them. Submissions without
    a score (not graded, failed to run, no submission) are left blank: Canvas leaves those grades
    as they were.
    """
    lessons = sorted({g.submission.lesson for g in grades if g.submission.lesson and g.total is not None})
    names = {lesson: (assignment if assignment and len(lessons) == 1 else f"Lesson {lesson} exercises")
             for lesson in lessons}
    maxima = {lesson: _maximum(lesson) for lesson in lessons}
    rows: dict[str, dict] = {}
    for g in grades:
        s = g.submission
        row = rows.setdefault(s.student, {"Student": s.roster.get("name") or s.student,
                                          "ID": s.roster.get("canvas_id", ""), "SIS User ID": s.student,
                                          "SIS Login ID": s.roster.get("sis_login_id", ""),
                                          "Section": s.roster.get("section", "")})
        if s.lesson in names and g.total is not None:
            row[names[s.lesson]] = _num(g.total)
    header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *names.values()]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, header, restval="")
        w.writeheader()
        w.writerow({"Student": "Points Possible", **{names[lesson]: _num(maxima[lesson]) for lesson in lessons}})
        for student in sorted(rows):
            w.writerow(rows[student])


def feedback_markdown(student: str, grades: list[Grade], superseded: list[Submission]) -> str:
    """The feedback file returned to one student: every check's message and the hints not used."""
    from .. import DISCLAIMER

    lines = [f"# Exercise feedback for {student}", "", f"_{DISCLAIMER}_", ""]
    for g in grades:
        s = g.submission
        title = f"Lesson {s.lesson} exercises" if s.lesson else "Exercises"
        lines += [f"## {title}: `{s.name}`", ""]
        if g.total is None:
            why = "" if g.status == INVALID else f" ({g.status})"
            lines += [f"**Not graded**{why}: {g.detail}.", ""]
            if g.status == INVALID:
                lines += ["Hand in the exercise notebook again: open it in Jupyter, run all cells, save it, and "
                          "hand in the .ipynb file.", ""]
        else:
            lines += [f"**{_num(g.total)} of {_num(g.maximum)} points** ({g.status}"
                      + (f": {g.detail}" if g.detail else "") + ").", ""]
        for note in s.notes:
            lines += [f"- {note}"]
        if s.notes:
            lines += [""]
        if g.questions:
            lines += ["| question | points | result |", "|---|---|---|"]
            for q in g.questions:
                lines += [f"| q{q.number} · {q.title} | {_num(q.points)} / {_num(q.maximum)} | "
                          f"{QUESTION_LABELS[q.status]} |"]
            lines += [""]
        for q in g.questions:
            lines += [f"### q{q.number} · {q.title} ({_num(q.points)} of {_num(q.maximum)})", "",
                      _line(q.status, q.message), ""]
            lines += [f"{note}" for note in q.notes] + ([""] if q.notes else [])
            if q.hints_unused:
                lines += [f"Hints you did not open (`q{q.number}.hint()`, `q{q.number}.hint(2)`, ...):", ""]
                lines += [f"{k}. {text}" for k, text in q.hints_unused] + [""]
            if q.solution_seen:
                lines += [f"(You looked at the solution, `q{q.number}.solution()`.)", ""]
    for s in superseded:
        lines += [f"Also handed in: `{s.name}`, not graded ({s.detail}).", ""]
    lines += ["_Graded by `cancer-course exercises grade`: your notebook was run again from the top, then the "
              "course's checks were run on your answers._", ""]
    return "\n".join(lines)


def _one_line(value, limit: int = 300) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# =============================================================================================
# Command line (registered by cancer_course.exercises: ``cancer-course exercises grade``)
# =============================================================================================
def cli(args) -> int:
    from ..cli import CourseError

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


if __name__ == "__main__":  # the worker: python -m cancer_course.exercises.grade --worker SPEC.json
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        sys.exit(_worker_main(sys.argv[2]))
    print("usage: cancer-course exercises grade SUBMISSION... --out DIR (this module's own entry point "
          "is the grader's worker)", file=sys.stderr)
    sys.exit(2)
