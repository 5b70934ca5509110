"""Turn a run's summary and result file into a grade: every question's status, points and message."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .cells import _cell_name, _cell_number, _defined_names, _help_used, _source, stored_claims
from .common import (
    CORRECT,
    FAILED,
    GRADED,
    INCORRECT,
    NOT_ATTEMPTED,
    NOT_GRADED,
    TAMPERED,
    TIMED_OUT,
    _line,
    _problems,
)
from .submissions import Submission


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
