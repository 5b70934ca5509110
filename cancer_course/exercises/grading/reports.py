"""Write the grades: grades.csv, questions.csv, submissions.csv, the Canvas CSV and each student's feedback."""

from __future__ import annotations

import csv
from pathlib import Path

from .common import GRADED, INVALID, MISSING, QUESTION_LABELS, SUPERSEDED, _line, _maximum, _num, _safe
from .results import Grade
from .submissions import Submission


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
    from ... import DISCLAIMER

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
