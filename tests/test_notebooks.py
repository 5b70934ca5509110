"""Execute every notebook (lessons, solutions, exercises) with papermill in the smoke profile.

A failing cell fails its test, and papermill's message carries the cell's traceback. The
executed copies are kept under build/test-notebooks/ for inspection.
"""

import pytest
from notebook_run import assert_checks, run_smoke

from cancer_course.notebooks import all_notebooks, repo_root
from cancer_course.runner import kernel_name

ROOT = repo_root()
NOTEBOOKS = all_notebooks(ROOT)
OUT = ROOT / "build" / "test-notebooks"


def test_there_are_lessons():
    assert any(p.parent.name == "notebooks" for p in NOTEBOOKS), "no lesson notebooks found"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[f"{p.parent.name}/{p.name}" for p in NOTEBOOKS])
def test_notebook_runs_in_smoke_profile(path, monkeypatch):
    monkeypatch.setenv("CANCER_COURSE_PROFILE", "smoke")
    nb = run_smoke(path, OUT / path.parent.name / path.name, cwd=path.parent, kernel=kernel_name())
    assert_checks(nb, path.parent.name)
