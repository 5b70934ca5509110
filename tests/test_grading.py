"""Grading submitted exercise notebooks (``cancer-course exercises grade``).

One grading run (module fixture, lesson 03: the quickest lesson in smoke, ~5 s a notebook) grades a
folder of made-up submissions built from the real solution and exercise notebooks: fully correct,
untouched, partly right, an endless loop, a cell that raises, a tampered checker, faked output,
and malformed files; the tests read its grades.csv, questions.csv and feedback files. The unit
tests below it (roster, lesson identification, duplicates, Canvas CSV, tampering checks) run
without a kernel.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import io
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cancer_course.config import repo_root
from cancer_course.exercises import build as nbbuild
from cancer_course.exercises import grading
from cancer_course.exercises.grading import kernel, results

ROOT = repo_root()
LESSON = "03"
SOLUTION = next((ROOT / "solutions").glob(f"{LESSON}_*_solutions.ipynb"))
EXERCISE = nbbuild.exercise_path(ROOT, SOLUTION)
TIMEOUT = 30  # the endless notebook's cells get this long; every other notebook needs ~5-15 s


# ---------------------------------------------------------------- made-up submissions
def _load(path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _cell_index(nb, fragment) -> int:
    return next(i for i, c in enumerate(nb["cells"]) if fragment in "".join(c["source"]))


def _set(nb, fragment, source) -> None:
    nb["cells"][_cell_index(nb, fragment)]["source"] = source


def _code(source) -> dict:
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}


def _insert_after(nb, fragment, source) -> None:
    nb["cells"].insert(_cell_index(nb, fragment) + 1, _code(source))


def _save(nb, path) -> Path:
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _submissions(folder: Path) -> dict[str, Path]:
    solution, exercise = _load(SOLUTION), _load(EXERCISE)
    made = {}
    made["alice"] = _save(copy.deepcopy(solution), folder / "alice.ipynb")  # fully correct
    made["bob"] = _save(copy.deepcopy(exercise), folder / "bob.ipynb")  # untouched
    carol = copy.deepcopy(solution)  # q2 left as the placeholder, q4 wrong (one 3x3 conv counted)
    _set(carol, "def multiscale_block_widths", "def multiscale_block_widths(x, widths=(64, 64, 64, 64), "
         "name='msw'):\n    return ____\n\n\nq2.check(multiscale_block_widths)")
    _set(carol, "two_3x3_params =", "two_3x3_params = 36928\none_5x5_params = 102464\n\n"
         "q4.check(two_3x3_params, one_5x5_params)")
    made["carol"] = _save(carol, folder / "carol.ipynb")
    dan = copy.deepcopy(solution)  # an endless loop after exercise 2
    _insert_after(dan, "q2.check(multiscale_block_widths)", "while True:\n    pass")
    made["dan"] = _save(dan, folder / "dan.ipynb")
    erin = copy.deepcopy(solution)  # exercise 3's cell raises before it defines ms_params
    _set(erin, "ms_out_channels =", "ms_out_channels = 4 * 32\nraise RuntimeError('my mistake')\n"
         "ms_params = 1\n\nq3.check(ms_out_channels, ms_params)")
    made["erin"] = _save(erin, folder / "erin.ipynb")
    frank = copy.deepcopy(exercise)  # patches q1.check and the class of q2; answers q3 for real
    _insert_after(frank, "from cancer_course.exercises.ex03 import", (
        "q1.check = lambda *answers: print('Correct: 03.1 the multi-scale block.')\n"
        "type(q2)._check = lambda self, *answers: None"))
    _set(frank, "ms_out_channels =", "ms_out_channels = 4 * 32\n"
         "ms_params = 4 * (64 * 32 + 32) + 3 * (9 * 32 * 32 + 32) + 7 * 4 * 32\n\n"
         "q3.check(ms_out_channels, ms_params)")
    made["frank"] = _save(frank, folder / "frank.ipynb")
    gina = copy.deepcopy(exercise)  # prints q1's "Correct" line itself; q2's saved output edited to Correct
    _insert_after(gina, "q1.check(multiscale_block)", "print('Correct: 03.1 The multi-scale block.')")
    q2_cell = gina["cells"][_cell_index(gina, "q2.check(")]
    q2_cell["outputs"] = [{"output_type": "display_data", "metadata": {}, "data": {
        "text/plain": "Correct: 03.2 a multi-scale block with branches of different widths.",
        grading.MIME_TYPE: {"problem": "03.2", "status": "correct", "message": "."}}}]
    made["gina"] = _save(gina, folder / "gina.ipynb")
    hank = copy.deepcopy(exercise)  # patches the framework every check goes through; swaps the lesson's module
    _insert_after(hank, "from cancer_course.exercises.ex03 import", (
        "import sys, types\n"
        "import cancer_course.exercises.core as core_module\n"
        "core_module.Problem.evaluate = lambda self, *answers: core_module.CheckResult(self.id, 'correct', 'yes')\n"
        "sys.modules['cancer_course.exercises.ex03'] = types.ModuleType('cancer_course.exercises.ex03')"))
    made["hank"] = _save(hank, folder / "hank.ipynb")
    (folder / "broken.ipynb").write_text('{"cells": [', encoding="utf-8")
    (folder / "empty.ipynb").write_bytes(b"")
    other = next((ROOT / "exercises").glob("04_*_exercises.ipynb"))
    _save(_load(other), folder / "hugo.ipynb")  # another lesson
    lesson = next((ROOT / "notebooks").glob(f"{LESSON}_*.ipynb"))
    _save(_load(lesson), folder / "ivy.ipynb")  # the lesson itself: no exercise cells
    return made


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from cancer_course.cli import main

    base = tmp_path_factory.mktemp("grading")
    folder = base / "submitted"
    folder.mkdir()
    _submissions(folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    out = base / "graded"
    stdout = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(stdout):
        code = main(["exercises", "grade", str(folder), "--out", str(out), "--lesson", LESSON, "--timeout",
                     str(TIMEOUT), "--jobs", "3", "--format", "canvas"])
    rows = {r["student"]: r for r in csv.DictReader((out / "grades.csv").open(encoding="utf-8"))}
    questions = {(r["student"], r["question"]): r for r in
                 csv.DictReader((out / "questions.csv").open(encoding="utf-8"))}
    return {"code": code, "out": out, "folder": folder, "before": before, "rows": rows, "questions": questions,
            "stdout": stdout.getvalue(), "seconds": time.perf_counter() - start}


def _points(row) -> list[str]:
    return [row[f"{LESSON}.{n}"] for n in range(1, 6)]


def _status(graded, student) -> list[str]:
    return [graded["questions"][(student, f"{LESSON}.{n}")]["status"] for n in range(1, 6)]


def _feedback(graded, student) -> str:
    return (graded["out"] / "feedback" / f"{student}.md").read_text(encoding="utf-8")


# ---------------------------------------------------------------- the grading run
def test_run_finishes_with_a_summary_and_leaves_the_submissions_untouched(graded):
    assert graded["code"] == 0
    last = graded["stdout"].strip().splitlines()[-1]
    assert last.startswith("12 submission(s): 7 graded, 1 timed out, 0 failed to run, 4 not graded (malformed)"), last
    assert {p.name: p.read_bytes() for p in graded["folder"].iterdir()} == graded["before"]
    assert sorted(graded["rows"]) == ["alice", "bob", "broken", "carol", "dan", "empty", "erin", "frank", "gina",
                                      "hank", "hugo", "ivy"]


def test_fully_correct(graded):
    row = graded["rows"]["alice"]
    assert (_points(row), row["total"], row["maximum"], row["status"]) == (["1"] * 5, "5", "5", "graded")
    text = _feedback(graded, "alice")
    assert "**5 of 5 points** (graded)" in text and "Correct: 03.1" in text and "Hints you did not open" not in text


def test_untouched_is_not_attempted(graded):
    row = graded["rows"]["bob"]
    assert (_points(row), row["total"], row["status"]) == (["0"] * 5, "0", "graded")
    assert _status(graded, "bob") == ["not attempted"] * 5
    text = _feedback(graded, "bob")
    assert "Not attempted yet: replace the ____ in `multiscale_block`" in text
    assert text.count("Hints you did not open") == 5  # all three hints of every question, in the checks' words
    from cancer_course.exercises import problems

    assert all(h in text for p in problems(LESSON) for h in p.hints)


def test_partly_right(graded):
    row = graded["rows"]["carol"]
    assert (_points(row), row["total"]) == (["1", "0", "1", "0", "1"], "3")
    assert _status(graded, "carol") == ["correct", "not attempted", "correct", "incorrect", "correct"]
    assert "that is one 3x3 convolution" in graded["questions"][("carol", "03.4")]["message"]
    text = _feedback(graded, "carol")
    assert "**3 of 5 points**" in text and "Incorrect: " in text


def test_endless_loop_times_out_and_keeps_what_it_answered(graded):
    row = graded["rows"]["dan"]
    assert row["status"] == "timed out" and f"--timeout {TIMEOUT} s) in cell 15 (`while True:`)" in row["note"]
    assert (_points(row), row["total"]) == (["1", "1", "0", "0", "0"], "2")
    assert _status(graded, "dan") == ["correct", "correct", "not graded", "not graded", "not graded"]
    assert "did not run before the time limit" in graded["questions"][("dan", "03.3")]["message"]
    assert "ran out of time" in _feedback(graded, "dan")


def test_a_cell_that_raises_costs_only_its_question(graded):
    row = graded["rows"]["erin"]
    assert (_points(row), row["total"], row["status"]) == (["1", "1", "0", "1", "1"], "4", "graded")
    message = graded["questions"][("erin", "03.3")]["message"]
    assert graded["questions"][("erin", "03.3")]["status"] == "incorrect"
    assert "`ms_params` was never defined: its cell 17 (`ms_out_channels = 4 * 32`) raised RuntimeError: my " \
        "mistake" in message


def test_tampering_with_the_checker_gets_no_credit_and_says_why(graded):
    row = graded["rows"]["frank"]
    assert (_points(row), row["total"]) == (["0", "0", "1", "0", "0"], "1")
    assert _status(graded, "frank") == ["no credit (tampered)", "no credit (tampered)", "correct",
                                        "not attempted", "not attempted"]
    q1, q2 = graded["questions"][("frank", "03.1")]["message"], graded["questions"][("frank", "03.2")]["message"]
    assert "`q1.check` was redefined in the notebook" in q1 and 'printed a "Correct" line for 03.1' in q1
    assert "The grader's own check of your answer said: Not attempted yet" in q1
    assert "`exercises.ex03.BranchWidths` was changed in the notebook (_check)" in q2
    assert "No credit: " in _feedback(graded, "frank")


def test_patching_the_framework_or_sys_modules_costs_every_question(graded):
    row = graded["rows"]["hank"]
    assert (_points(row), row["total"], row["status"]) == (["0"] * 5, "0", "graded")
    assert _status(graded, "hank") == ["no credit (tampered)"] * 5
    message = graded["questions"][("hank", "03.3")]["message"]
    assert "the checker class `exercises.core.Problem` was changed in the notebook (evaluate)" in message
    assert "`q3` in the notebook is not the course's problem object" in message
    assert "The grader's own check of your answer said: Not attempted yet" in message


def test_faked_output_gets_no_credit(graded):
    row = graded["rows"]["gina"]
    assert (_points(row), row["total"]) == (["0"] * 5, "0")
    assert _status(graded, "gina")[:2] == ["no credit (tampered)", "not attempted"]
    assert 'printed a "Correct" line for 03.1 itself' in graded["questions"][("gina", "03.1")]["message"]
    assert "saved outputs are not graded" in graded["questions"][("gina", "03.2")]["message"]


def test_malformed_submissions_get_a_row_and_feedback(graded):
    rows = graded["rows"]
    expected = {"broken": "not valid JSON (line 1, column 12", "empty": "empty file",
                "hugo": "lesson 04's exercise notebook, not lesson 03's (--lesson 03)",
                "ivy": "no exercise cells"}
    for student, fragment in expected.items():
        assert rows[student]["status"] == "not graded" and rows[student]["total"] == "", rows[student]
        assert fragment in rows[student]["note"], rows[student]["note"]
        assert fragment in _feedback(graded, student)
        assert f"{student}.ipynb: not graded: {fragment}" in graded["stdout"]


def test_canvas_csv_and_the_other_outputs(graded):
    out = graded["out"]
    lines = list(csv.reader((out / "grades-canvas.csv").open(encoding="utf-8")))
    assert lines[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Lesson 03 exercises"]
    assert lines[1] == ["Points Possible", "", "", "", "", "5"]
    scores = {r[2]: r[5] for r in lines[2:]}
    assert scores["alice"] == "5" and scores["carol"] == "3" and scores["broken"] == ""
    listed = list(csv.DictReader((out / "submissions.csv").open(encoding="utf-8")))
    assert len(listed) == 12
    executed = _load(out / "executed" / "alice_03.ipynb")
    assert not any(grading.GRADER_TAG in c.get("metadata", {}).get("tags", []) for c in executed["cells"])


# ---------------------------------------------------------------- unit tests (no kernel)
def test_lesson_comes_from_the_notebook_not_its_name():
    assert grading.identify_lesson(_load(SOLUTION))[0] == LESSON
    exercise = _load(EXERCISE)
    assert grading.identify_lesson(exercise) == (LESSON, "its import line")
    for cell in exercise["cells"]:  # without the import line: the builder's metadata
        cell["source"] = "".join(cell["source"]).replace("from cancer_course.exercises.ex03 import", "from x import")
    lesson, how = grading.identify_lesson(exercise)
    assert lesson == LESSON and "metadata" in how
    two = {"cells": [_code("from cancer_course.exercises.ex03 import q1"),
                     _code("from cancer_course.exercises import ex05")], "metadata": {}}
    assert grading.identify_lesson(two)[0] is None and "lessons 03 and 05" in grading.identify_lesson(two)[1]
    assert grading.identify_lesson({"cells": [_code("print(1)")], "metadata": {}})[1].startswith("no exercise cells")


@pytest.mark.parametrize("solution", nbbuild.solution_notebooks(ROOT), ids=lambda p: p.name[:2])
def test_every_lessons_notebooks_are_identified(solution):
    exercise = nbbuild.exercise_path(ROOT, solution)
    assert grading.identify_lesson(_load(solution))[0] == solution.name[:2]
    if exercise.exists():
        assert grading.identify_lesson(_load(exercise)) == (solution.name[:2], "its import line")


def test_malformed_files_are_named_not_raised(tmp_path):
    (tmp_path / "a.ipynb").write_text("[1, 2]", encoding="utf-8")
    (tmp_path / "b.ipynb").write_bytes(b"\xff\xfe\x00garbage")
    (tmp_path / "c.ipynb").write_text("   \n", encoding="utf-8")
    assert "no list of cells" in grading.read_notebook(tmp_path / "a.ipynb")[1]
    assert "not UTF-8" in grading.read_notebook(tmp_path / "b.ipynb")[1]
    assert grading.read_notebook(tmp_path / "c.ipynb")[1] == "empty file"
    assert grading.read_notebook(SOLUTION)[1] == ""


def test_student_ids_from_file_names_and_folders():
    assert grading.student_from_path(Path("in/alice_smith.ipynb")) == "alice_smith"
    assert grading.student_from_path(Path("in/s1234/03_multiscale_inception_block_exercises.ipynb")) == "s1234"
    assert grading.student_from_path(Path("in/s1234/03_multiscale_inception_block_exercises (1).ipynb")) == "s1234"


def test_roster(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("File,Student,Name,Section\nalice.ipynb,s1,Alice Martin,A\nbob.ipynb,s2,,B\n\n",
                      encoding="utf-8")
    read = grading.read_roster(roster)
    assert read["alice.ipynb"] == {"student": "s1", "file": "alice.ipynb", "name": "Alice Martin", "section": "A"}
    assert read["bob.ipynb"]["student"] == "s2"
    roster.write_text("name,grade\nx,1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="needs a header row with a 'file' and a 'student' column"):
        grading.read_roster(roster)
    roster.write_text("file,student\na.ipynb,s1\na.ipynb,s2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 3: a.ipynb is listed twice"):
        grading.read_roster(roster)
    with pytest.raises(ValueError, match="cannot be read"):
        grading.read_roster(tmp_path / "nope.csv")


def test_roster_names_students_and_lists_those_who_handed_nothing_in(tmp_path):
    (tmp_path / "in").mkdir()
    _save(_load(EXERCISE), tmp_path / "in" / "alice.ipynb")
    _save(_load(EXERCISE), tmp_path / "in" / "stranger.ipynb")
    roster = tmp_path / "roster.csv"
    roster.write_text("file,student\nalice.ipynb,s1\ncarl.ipynb,s3\n", encoding="utf-8")
    subs, missing = grading.prepare([tmp_path / "in", tmp_path / "gone"], roster)
    by_name = {s.name: s for s in subs}
    assert by_name["alice.ipynb"].student == "s1" and by_name["stranger.ipynb"].student == "stranger"
    assert "not in the roster" in by_name["stranger.ipynb"].notes[0]
    assert missing == [f"{tmp_path / 'gone'}: no such file or folder"]


def test_duplicates_the_newest_wins_and_both_are_listed(tmp_path):
    folder = tmp_path / "dave"
    folder.mkdir()
    old = _save(_load(EXERCISE), folder / EXERCISE.name)
    new = _save(_load(SOLUTION), folder / EXERCISE.name.replace(".ipynb", " (1).ipynb"))
    os.utime(old, (1_000_000, 1_000_000))
    other = _save(_load(EXERCISE), tmp_path / "erin.ipynb")
    subs, _ = grading.prepare([tmp_path])
    by_path = {s.path: s for s in subs}
    assert by_path[old].student == by_path[new].student == "dave"
    assert by_path[old].status == grading.SUPERSEDED and new.name in by_path[old].detail
    assert by_path[new].status == "" and "graded the newest" in by_path[new].notes[0]
    assert old.name in by_path[new].notes[0] and by_path[other].status == ""


def test_canvas_csv_layout(tmp_path):
    def made(student, total, status=grading.GRADED, **roster):
        sub = grading.Submission(path=Path(f"{student}.ipynb"), student=student, lesson=LESSON, roster=roster)
        questions = [grading.QuestionGrade(f"{LESSON}.{n}", "t", float(n <= total), 1.0, grading.CORRECT, "")
                     for n in range(1, 6)]
        return grading.Grade(sub, status, questions=questions, maximum=5.0)

    grades = [made("s1", 4, name="Alice Martin", canvas_id="901", section="A"), made("s2", 0, status=grading.FAILED)]
    path = tmp_path / "canvas.csv"
    grading.write_canvas_csv(path, grades, assignment="Exercises 03")
    assert path.read_text(encoding="utf-8").splitlines() == [
        "Student,ID,SIS User ID,SIS Login ID,Section,Exercises 03",
        "Points Possible,,,,,5",
        "Alice Martin,901,s1,,A,4",
        "s2,,s2,,,",
    ]


def test_tampering_checks_tell_notebook_code_from_the_package():
    roots = kernel._trusted_roots(str(Path(grading.__file__).resolve().parents[2]))
    assert not kernel._from_notebook(grading.read_roster, roots) and not kernel._from_notebook(json.dumps, roots)
    namespace = {}
    exec(compile("def fake(*a):\n    return None\n", "/tmp/ipykernel_123/456.py", "exec"), namespace)
    assert kernel._from_notebook(namespace["fake"], roots)
    assert not kernel._replaced(grading.read_roster, grading.read_roster, roots)
    assert kernel._replaced(namespace["fake"], grading.read_roster, roots)  # code from a notebook cell
    assert kernel._replaced(grading.write_outputs, grading.read_roster, roots)  # another function in its place
    assert kernel._replaced(print, grading.read_roster, roots)  # not a function at all


def test_the_command_and_the_grader_module_do_not_import_tensorflow():
    code = ("import sys, argparse\nfrom cancer_course.exercises import register_cli, grading\n"
            "p = argparse.ArgumentParser(); register_cli(p.add_subparsers())\n"
            "p.parse_args(['exercises', 'grade', 'x', '--out', 'y'])\n"
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["False", "False"]


def test_errors_name_what_to_do(tmp_path, capsys):
    from cancer_course.cli import main

    assert main(["exercises", "grade", str(tmp_path / "none"), "--out", str(tmp_path / "o")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert main(["exercises", "grade", str(tmp_path)]) == 2
    assert "--out DIR is needed" in capsys.readouterr().err
    assert main(["exercises", "grade", str(tmp_path), "--out", str(tmp_path / "o"), "--lesson", "99"]) == 2
    assert "--lesson 99: no such lesson" in capsys.readouterr().err
    _save(_load(EXERCISE), tmp_path / "alice.ipynb")
    assert main(["exercises", "grade", str(tmp_path), "--out", str(tmp_path / "o"), "--kernel", "nope"]) == 2
    assert "--kernel nope: no such Jupyter kernel (installed: " in capsys.readouterr().err


def _run(**changes) -> dict:
    run = {"seconds": 1.0, "killed": False, "backstop": 99, "executed": None,
           "summary": {"status": "ok", "errors": {}, "skipped": [], "timed_out_cell": None, "died_cell": None,
                       "claims": {}},
           "result": {"nonce": "n", "questions": [{"id": f"{LESSON}.{n}", "status": "correct", "message": "ok",
                                                   "missing": []} for n in range(1, 6)],
                      "tampering": {}, "genuine": {}, "complete": True, "error": None}}
    run.update(changes)
    return run


def test_only_the_graders_own_result_counts():
    sub = grading.Submission(path=SOLUTION, student="s", lesson=LESSON, nb=_load(SOLUTION))
    assert results._assemble(sub, _run(), 60).total == 5
    forged = results._assemble(sub, _run(result=None, bad_result=True), 60)  # a file without this run's secret
    assert forged.status == grading.FAILED and forged.total is None and "not the one it wrote" in forged.detail
    silent = results._assemble(sub, _run(result=None), 60)
    assert silent.status == grading.FAILED and "the checks did not run" in silent.detail
    stuck = results._assemble(sub, _run(killed=True, result=None), 60)  # ignored the interrupt: kernel killed
    assert stuck.status == grading.TIMED_OUT and "did not stop when interrupted" in stuck.detail
    assert stuck.total == 0 and {q.status for q in stuck.questions} == {grading.NOT_GRADED}


def test_a_lessons_own_parts_load_fresh_with_it_and_their_classes_belong_to_its_questions():
    """ex14 imports its first exercise from _ex14_split: the grader loads that part afresh (other lessons' parts
    not at all), and a changed class there costs its own question, not every one."""
    script = textwrap.dedent("""
        import os, sys
        import cancer_course
        from cancer_course.exercises import _ex14_split, ex14  # the session's copies
        from cancer_course.exercises.grading import kernel
        package_dir = os.path.dirname(cancer_course.__file__)
        session = {n: m for n, m in sys.modules.items() if n.startswith("cancer_course.exercises")}
        namespace = {}
        exec(compile("def _check(self, *a):\\n    return 'right'\\n", "/tmp/ipykernel_1/2.py", "exec"), namespace)
        _ex14_split.LeakFreeSplit._check = namespace["_check"]
        fresh = kernel._load_fresh_checks(package_dir, "14")
        part, lesson = fresh["cancer_course.exercises._ex14_split"], fresh["cancer_course.exercises.ex14"]
        assert part is not _ex14_split and sys.modules["cancer_course.exercises._ex14_split"] is part
        assert type(lesson.q1) is part.LeakFreeSplit and lesson.capstone_data is part.capstone_data
        assert not [n for n in fresh if n.rpartition(".")[2].startswith("_ex") and "_ex14_" not in n], sorted(fresh)
        found = kernel._find_tampering(session, fresh, {}, lesson.PROBLEMS, package_dir, "14")
        assert list(found) == ["14.1"] and "_ex14_split.LeakFreeSplit" in found["14.1"][0], found
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
