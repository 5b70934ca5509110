"""Execute every notebook (lessons, solutions, exercises) with papermill in the smoke profile.

A failing cell fails its test, and papermill's message carries the cell's traceback. The
executed copies are kept under build/test-notebooks/ for inspection.
"""

import os

import pytest

from cancer_course.exercises.core import CORRECT, MIME_TYPE, NOT_ATTEMPTED
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
    checks = [o["data"][MIME_TYPE]["status"] for c in nb.cells for o in c.get("outputs", [])
              if MIME_TYPE in o.get("data", {})]
    if path.parent.name == "solutions":  # every exercise check passes on the worked answers
        assert checks and all(s == CORRECT for s in checks), checks
    elif path.parent.name == "exercises":  # and none passes before the learner has answered
        assert checks and all(s == NOT_ATTEMPTED for s in checks), checks
