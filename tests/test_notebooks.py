"""Execute every notebook (lessons, solutions, exercises) with papermill in the smoke profile.

A failing cell fails its test, and papermill's message carries the cell's traceback. The
executed copies are kept under build/test-notebooks/ for inspection.
"""

import os

import pytest

from cancer_course.notebooks import all_notebooks, repo_root
from cancer_course.runner import kernel_name

ROOT = repo_root()
NOTEBOOKS = all_notebooks(ROOT)
OUT = ROOT / "build" / "test-notebooks"


def test_there_are_lessons():
    assert any(p.parent.name == "notebooks" for p in NOTEBOOKS), "no lesson notebooks found"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[f"{p.parent.name}/{p.name}" for p in NOTEBOOKS])
def test_notebook_runs_in_smoke_profile(path, monkeypatch):
    import papermill as pm

    monkeypatch.setenv("CANCER_COURSE_PROFILE", "smoke")
    out = OUT / path.parent.name / path.name
    out.parent.mkdir(parents=True, exist_ok=True)
    nb = pm.execute_notebook(str(path), str(out), parameters={"PROFILE": "smoke"},
                             kernel_name=kernel_name(), cwd=str(path.parent), progress_bar=False,
                             log_output=False)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and 'PROFILE = "smoke"' in injected[0].source
    assert os.environ["CANCER_COURSE_PROFILE"] == "smoke"
