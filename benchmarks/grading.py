"""How long does grading a class take? ``cancer-course exercises grade`` on N submissions of one lesson.

    python benchmarks/grading.py                      # 30 submissions of lesson 03, default --jobs
    python benchmarks/grading.py --students 30 --jobs 2 --lesson 03 --json results/grading.json

Makes a class of ``--students`` made-up submissions from the lesson's real notebooks (every third
one the solution notebook, the others the exercise notebook with the first half of its answers
filled in from the solutions or left untouched), grades them once with ``grade_submissions`` (each
in a fresh kernel, in the smoke profile, ``--jobs`` at a time) and prints the wall-clock time, the
time per submission, the CPU time of the workers and kernels (the fairer figure when other
programs share the CPU), the grades it gave, the command and the machine. Research and education only.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cancer_course.config import repo_root  # noqa: E402
from cancer_course.exercises import build as nbbuild  # noqa: E402
from cancer_course.exercises import grading  # noqa: E402


def make_class(folder: Path, lesson: str, students: int) -> None:
    """`students` notebooks: solutions, exercises half answered (solution cells swapped in), untouched."""
    root = repo_root()
    solution_path = next((root / "solutions").glob(f"{lesson}_*_solutions.ipynb"))
    solution = json.loads(solution_path.read_text(encoding="utf-8"))
    exercise = json.loads(nbbuild.exercise_path(root, solution_path).read_text(encoding="utf-8"))
    half = copy.deepcopy(exercise)
    def check_call(cell):  # "q3.check(" names the exercise a cell answers
        found = re.search(r"^q\d+\.check\(", "".join(cell["source"]), re.M)
        return found.group(0) if found and cell["cell_type"] == "code" else None

    answers = {check_call(c): c for c in solution["cells"] if check_call(c)}
    for cell in half["cells"]:
        key = check_call(cell)
        if key in answers and int(key[1:].split(".")[0]) <= len(answers) // 2:
            cell["source"] = answers[key]["source"]
    kinds = [solution, half, exercise]
    for n in range(students):
        nb = kinds[n % 3]
        (folder / f"student{n + 1:02d}.ipynb").write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n",
                                                          encoding="utf-8")


def _children_cpu() -> float:
    """CPU seconds of the finished child processes (the workers, and the kernels they waited for)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return float("nan")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--lesson", default="03")
    parser.add_argument("--jobs", type=int, default=None, help=f"default: {grading.default_jobs()} on this machine")
    parser.add_argument("--timeout", type=float, default=grading.DEFAULT_TIMEOUT)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    jobs = args.jobs or grading.default_jobs()
    with tempfile.TemporaryDirectory() as tmp:
        folder, out = Path(tmp) / "submitted", Path(tmp) / "graded"
        folder.mkdir()
        make_class(folder, args.lesson, args.students)
        load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        cpu_before = _children_cpu()
        start = time.perf_counter()
        report = grading.grade_submissions([folder], out, lesson=args.lesson, timeout=args.timeout, jobs=jobs,
                                         echo=lambda line: None)
        seconds = time.perf_counter() - start
        cpu = _children_cpu() - cpu_before
        load_after = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        totals = sorted(g.total for g in report.grades if g.total is not None)
    from cancer_course.environment import machine_description

    machine = machine_description()
    result = {"students": args.students, "lesson": args.lesson, "jobs": jobs, "seconds": round(seconds, 1),
              "seconds_per_submission": round(seconds / args.students, 2), "cpu_seconds": round(cpu, 1),
              "graded": report.count(grading.GRADED),
              "timed_out": report.count(grading.TIMED_OUT), "failed": report.count(grading.FAILED),
              "totals": totals, "load_average": [round(load_before, 2), round(load_after, 2)], "machine": machine}
    print(f"grading: {args.students} submissions of lesson {args.lesson} in {seconds:.0f} s wall-clock "
          f"({seconds / args.students:.1f} s per submission, {jobs} at a time; {cpu:.0f} CPU-seconds in the workers and "
          f"kernels, {cpu / args.students:.1f} per submission); {result['graded']} graded, "
          f"{result['timed_out']} timed out, {result['failed']} failed; totals {min(totals):g}-{max(totals):g}; "
          f"load average {load_before:.2f} before, {load_after:.2f} after")
    print(f"command: python benchmarks/grading.py --students {args.students} --lesson {args.lesson} --jobs {jobs}")
    print(f"machine: {machine['cpu']}, {machine['cores']} cores, GPU {machine['gpu']}, TensorFlow "
          f"{machine['tensorflow']}, Keras {machine['keras']}, Python {machine['python']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0 if result["failed"] == 0 and result["graded"] == args.students else 1


if __name__ == "__main__":
    sys.exit(main())
