"""Run one course notebook with papermill in the smoke profile and check what its checks said.

Shared by the main lane (tests/test_notebooks.py: every notebook where it lies in the checkout)
and the stack lanes (tests/test_stack_lane.py: a copy of every notebook, run the way Colab or an
old stack would run it).
"""

from __future__ import annotations

import os
from pathlib import Path

from cancer_course.exercises.core import CORRECT, MIME_TYPE, NOT_ATTEMPTED


def run_smoke(path: Path, out: Path, cwd: Path, kernel: str):
    """Execute `path` into `out` with ``PROFILE = "smoke"`` in `cwd`; return the executed notebook."""
    import papermill as pm

    out.parent.mkdir(parents=True, exist_ok=True)
    nb = pm.execute_notebook(str(path), str(out), parameters={"PROFILE": "smoke"}, kernel_name=kernel,
                             cwd=str(cwd), progress_bar=False, log_output=False)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and 'PROFILE = "smoke"' in injected[0].source
    assert os.environ["CANCER_COURSE_PROFILE"] == "smoke"
    return nb


def assert_checks(nb, kind: str) -> None:
    """Solutions: every exercise check passes. Exercises: none passes before the learner answers."""
    checks = [o["data"][MIME_TYPE]["status"] for c in nb.cells for o in c.get("outputs", [])
              if MIME_TYPE in o.get("data", {})]
    if kind == "solutions":
        assert checks and all(s == CORRECT for s in checks), checks
    elif kind == "exercises":
        assert checks and all(s == NOT_ATTEMPTED for s in checks), checks
