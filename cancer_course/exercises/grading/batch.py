"""Grade a class: every submission found, several run at once, the grades collected and written."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from .common import (
    DEFAULT_CHECK_TIMEOUT,
    DEFAULT_TIMEOUT,
    FAILED,
    GRADED,
    INVALID,
    MISSING,
    SUPERSEDED,
    TIMED_OUT,
    _num,
    _safe,
)
from .reports import write_outputs
from .results import Grade, GradeReport, _assemble
from .roster import read_roster
from .run import _RUNNING, _kill, run_one
from .submissions import Submission, prepare


def default_jobs() -> int:
    """Notebooks graded at once: the usable cores, at most 4 (each kernel holds TensorFlow)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


def grade_submissions(paths, out, roster=None, lesson=None, timeout: float = DEFAULT_TIMEOUT,
                      check_timeout: float = DEFAULT_CHECK_TIMEOUT, jobs: int | None = None,
                      kernel: str | None = None, formats=("csv",), assignment: str | None = None,
                      echo=print) -> GradeReport:
    """Grade every submission under `paths` into `out`; see :mod:`cancer_course.exercises.grading`."""
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
