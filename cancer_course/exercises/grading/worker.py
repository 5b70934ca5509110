"""The worker process that runs one copy of a submission: ``python -m cancer_course.exercises.grading.worker --worker SPEC.json``.

It runs the learner's cells in a fresh kernel (with a time limit, errors allowed), then appends the
grader cell, which loads :mod:`.kernel` by its path and grades in the same kernel, and writes a
summary for :mod:`.run`. Not imported by the package: it runs as ``__main__``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from .cells import _claims
from .common import GRADER_TAG, _one_line

GRADER_CELL = '''\
# cancer-course grader {nonce}: added by `cancer-course exercises grade` after the notebook's own cells.
def _cancer_course_grader_{nonce}(namespace):
    import importlib.util
    import sys
    spec = importlib.util.spec_from_file_location("_cancer_course_grader_{nonce}", {kernel_py!r})
    grader = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = grader
    try:
        spec.loader.exec_module(grader)
        grader.grade_in_kernel(namespace, {lesson!r}, {package_dir!r}, {result!r}, {nonce!r}, {check_timeout!r})
    finally:
        sys.modules.pop(spec.name, None)


_cancer_course_grader_{nonce}(globals())
'''


def _worker_main(spec_file: str) -> int:
    """``python -m cancer_course.exercises.grading.worker --worker SPEC.json``: run one copy, grade it, write a summary."""
    spec = json.loads(Path(spec_file).read_text(encoding="utf-8"))
    summary = {"status": "ok", "detail": "", "errors": {}, "skipped": [], "timed_out_cell": None,
               "died_cell": None, "learner_seconds": None, "claims": {}, "unattributed_claims": []}
    try:
        _execute(spec, summary)
    except Exception as exc:  # the kernel would not start, the notebook would not load...
        summary["status"] = "failed"
        summary["detail"] = f"{type(exc).__name__}: {_one_line(exc)}"
    Path(spec["summary"]).write_text(json.dumps(summary), encoding="utf-8")
    return 0


def _execute(spec: dict, summary: dict) -> None:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    nb = nbformat.reads(Path(spec["copy"]).read_text(encoding="utf-8-sig"), as_version=4)
    injected = None
    for index, cell in enumerate(nb.cells):  # papermill's way: PROFILE = "smoke" after the parameters cell
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            injected = index + 1
            nb.cells.insert(injected, nbformat.v4.new_code_cell(
                'PROFILE = "smoke"  # injected by cancer-course exercises grade',
                metadata={"tags": ["injected-parameters"]}))
            break

    def submitted(i: int) -> int:  # a cell's index in the submitted notebook (without the injected cell)
        return i - 1 if injected is not None and i >= injected else i

    n_cells = len(nb.cells)
    client = NotebookClient(nb, kernel_name=spec["kernel"], allow_errors=True, interrupt_on_timeout=True,
                            error_on_timeout={"ename": "TimeoutError", "evalue": "time limit", "traceback": []},
                            shutdown_kernel="immediate", startup_timeout=120, iopub_timeout=5,
                            record_timing=False, resources={"metadata": {"path": spec["workdir"]}})
    t0 = time.monotonic()
    deadline = t0 + spec["timeout"]
    with client.setup_kernel(cwd=spec["workdir"]):
        pid = getattr(getattr(client.km, "provisioner", None), "pid", None)
        if pid:
            Path(spec["kernel_pid"]).write_text(str(pid), encoding="utf-8")
        died = False
        for index in range(n_cells):
            cell = nb.cells[index]
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                summary["skipped"].append(submitted(index))
                continue
            client.timeout = max(1, int(remaining + 0.999))
            try:
                client.execute_cell(cell, index)
            except DeadKernelError:
                summary["died_cell"], died = submitted(index), True
                break
            if time.monotonic() >= deadline:
                summary["timed_out_cell"] = submitted(index)
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    summary["errors"][str(submitted(index))] = [out.get("ename", ""), _one_line(out.get("evalue", ""))]
        summary["learner_seconds"] = round(time.monotonic() - t0, 1)
        if not died:
            grader = nbformat.v4.new_code_cell(GRADER_CELL.format(**spec), metadata={"tags": [GRADER_TAG]})
            nb.cells.append(grader)
            client.timeout = int(spec["check_timeout"] * max(1, spec["n_questions"]) + 30)
            try:
                client.execute_cell(grader, len(nb.cells) - 1)
            except DeadKernelError:
                summary["died_cell"] = "grader"
            errors = [o for o in grader.get("outputs", []) if o.get("output_type") == "error"]
            if errors:
                summary["grader_error"] = f"{errors[0].get('ename')}: {_one_line(errors[0].get('evalue', ''))}"
            nb.cells.pop()
    cells = [c for i, c in enumerate(nb.cells[:n_cells]) if i != injected]
    summary["claims"], summary["unattributed_claims"] = _claims(cells, spec["lesson"])
    nbformat.write(nb, spec["executed"])


if __name__ == "__main__":  # python -m cancer_course.exercises.grading.worker --worker SPEC.json
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        sys.exit(_worker_main(sys.argv[2]))
    print("usage: cancer-course exercises grade SUBMISSION... --out DIR (this module is the grader's worker)",
          file=sys.stderr)
    sys.exit(2)
