"""Execute every notebook (lessons, solutions, exercises) with papermill in the smoke profile.

A failing cell fails its test, and papermill's message carries the cell's traceback. The
executed copies are kept under build/test-notebooks/ for inspection.
"""

import nbformat
import pytest
from notebook_run import assert_checks, run_smoke

from cancer_course.commands.lessons import kernel_name
from cancer_course.commands.notebooks import all_notebooks, repo_root

ROOT = repo_root()
NOTEBOOKS = all_notebooks(ROOT)
OUT = ROOT / "build" / "test-notebooks"


def _tiny_notebook(path, profile_line):
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}})
    nb.cells = [nbformat.v4.new_code_cell('PROFILE = "laptop"', metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(f"from cancer_course.config import PROFILES, get_profile\n{profile_line}")]
    nbformat.write(nb, str(path))
    return path


def test_a_notebook_that_does_not_run_in_smoke_is_caught(tmp_path, monkeypatch):
    """The check behind every notebook test: it reads what the kernel saw, not this process."""
    monkeypatch.setenv("CANCER_COURSE_PROFILE", "smoke")
    good = _tiny_notebook(tmp_path / "good.ipynb", "profile = get_profile(PROFILE)")
    run_smoke(good, tmp_path / "out" / "good.ipynb", cwd=tmp_path, kernel=kernel_name())
    bad = _tiny_notebook(tmp_path / "bad.ipynb", 'profile = PROFILES["laptop"]  # ignores PROFILE')
    with pytest.raises(AssertionError, match=r"bad.ipynb did not run in the smoke profile.*'profile': 'laptop'"):
        run_smoke(bad, tmp_path / "out" / "bad.ipynb", cwd=tmp_path, kernel=kernel_name())


def test_there_are_lessons():
    assert any(p.parent.name == "notebooks" for p in NOTEBOOKS), "no lesson notebooks found"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[f"{p.parent.name}/{p.name}" for p in NOTEBOOKS])
def test_notebook_runs_in_smoke_profile(path, monkeypatch):
    monkeypatch.setenv("CANCER_COURSE_PROFILE", "smoke")
    nb = run_smoke(path, OUT / path.parent.name / path.name, cwd=path.parent, kernel=kernel_name())
    assert_checks(nb, path.parent.name)
