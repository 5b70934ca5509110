"""Run one course notebook with papermill in the smoke profile and check what its checks said.

Shared by the main lane (tests/test_notebooks.py: every notebook where it lies in the checkout)
and the stack lanes (tests/test_stack_lane.py: a copy of every notebook, run the way Colab or an
old stack would run it).
"""

from __future__ import annotations

import json
from pathlib import Path

from cancer_course.exercises.core import CORRECT, MIME_TYPE, NOT_ATTEMPTED

# Appended to the notebook before it runs: what the kernel itself saw, once every lesson cell ran.
PROBE_TAG = "smoke-profile-probe"
PROBE = """import json as _json, os as _os
print(_json.dumps({"env": _os.environ.get("CANCER_COURSE_PROFILE"), "PROFILE": globals().get("PROFILE"),
                   "profile": getattr(globals().get("profile"), "name", None)}))"""


def run_smoke(path: Path, out: Path, cwd: Path, kernel: str):
    """Execute `path` into `out` with ``PROFILE = "smoke"`` in `cwd`; return the executed notebook.

    Fails unless the notebook really ran in smoke: its kernel had ``$CANCER_COURSE_PROFILE=smoke``,
    its ``PROFILE`` was still "smoke" at the end and its ``profile`` (convention 5) is the smoke profile.
    """
    import nbformat
    import papermill as pm

    out.parent.mkdir(parents=True, exist_ok=True)
    source = nbformat.read(str(path), as_version=4)
    source.cells.append(nbformat.v4.new_code_cell(PROBE, metadata={"tags": [PROBE_TAG]}))
    nb = pm.execute_notebook(source, str(out), parameters={"PROFILE": "smoke"}, kernel_name=kernel,
                             cwd=str(cwd), progress_bar=False, log_output=False)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and 'PROFILE = "smoke"' in injected[0].source, f"{path}: papermill injected no PROFILE"
    probe = next(c for c in nb.cells if PROBE_TAG in c.metadata.get("tags", []))
    seen = json.loads("".join(o.get("text", "") for o in probe.outputs if o.get("name") == "stdout"))
    assert seen == {"env": "smoke", "PROFILE": "smoke", "profile": "smoke"}, (
        f"{path} did not run in the smoke profile (what its kernel saw at the end: {seen}); every lesson "
        "must read its sizes from `profile = get_profile(PROFILE)` and the kernel must inherit "
        "$CANCER_COURSE_PROFILE")
    return nb


def assert_checks(nb, kind: str) -> None:
    """Solutions: every exercise check passes. Exercises: none passes before the learner answers."""
    checks = [o["data"][MIME_TYPE]["status"] for c in nb.cells for o in c.get("outputs", [])
              if MIME_TYPE in o.get("data", {})]
    if kind == "solutions":
        assert checks and all(s == CORRECT for s in checks), checks
    elif kind == "exercises":
        assert checks and all(s == NOT_ATTEMPTED for s in checks), checks
