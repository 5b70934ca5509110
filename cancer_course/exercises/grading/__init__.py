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

The grader's modules, one job each: :mod:`.submissions` (find, read, identify and name the
submissions; :mod:`.roster` reads ``--roster``), :mod:`.run` (run one copy in a worker process,
:mod:`.worker`, whose kernel runs the learner's cells and then :mod:`.kernel`'s grading),
:mod:`.results` (turn a run into a grade), :mod:`.reports` (the CSV files and the feedback),
:mod:`.batch` (grade a whole class) and :mod:`.command` (the command line). :mod:`.cells` reads
what a notebook's cells say; :mod:`.common` holds the statuses and names they share.
"""

from __future__ import annotations

from .batch import default_jobs, grade_submissions, summary_line
from .cells import stored_claims
from .command import cli
from .common import (
    CORRECT,
    DEFAULT_CHECK_TIMEOUT,
    DEFAULT_TIMEOUT,
    FAILED,
    GRADED,
    GRADER_TAG,
    INCORRECT,
    INVALID,
    MIME_TYPE,
    MISSING,
    NOT_ATTEMPTED,
    NOT_GRADED,
    QUESTION_LABELS,
    SUPERSEDED,
    TAMPERED,
    TIMED_OUT,
)
from .kernel import grade_in_kernel
from .reports import feedback_markdown, write_canvas_csv, write_outputs
from .results import Grade, GradeReport, QuestionGrade
from .roster import read_roster
from .run import run_one
from .submissions import (
    Submission,
    find_submissions,
    identify_lesson,
    prepare,
    read_notebook,
    resolve_duplicates,
    student_from_path,
)

__all__ = [
    "CORRECT", "DEFAULT_CHECK_TIMEOUT", "DEFAULT_TIMEOUT", "FAILED", "GRADED", "GRADER_TAG", "INCORRECT", "INVALID",
    "MIME_TYPE", "MISSING", "NOT_ATTEMPTED", "NOT_GRADED", "QUESTION_LABELS", "SUPERSEDED", "TAMPERED", "TIMED_OUT",
    "Grade", "GradeReport", "QuestionGrade", "Submission", "cli", "default_jobs", "feedback_markdown",
    "find_submissions", "grade_in_kernel", "grade_submissions", "identify_lesson", "prepare", "read_notebook",
    "read_roster", "resolve_duplicates", "run_one", "stored_claims", "student_from_path", "summary_line",
    "write_canvas_csv", "write_outputs",
]
