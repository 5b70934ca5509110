"""Run one submission: a copy in its own working folder, in a worker process (:mod:`.worker`) with a backstop."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import _problems, _safe
from .submissions import Submission


def run_one(sub: Submission, index: int, work_root: Path, timeout: float, check_timeout: float,
            kernel: str) -> dict:
    """Run a copy of one submission in a worker process; returns the worker's summary and result."""
    from ... import __file__ as package_init

    package_dir = str(Path(package_init).resolve().parent)
    safe = _safe(sub.student)
    base = work_root / f"{index:03d}-{safe}"
    workdir, private = base / "work", Path(tempfile.mkdtemp(prefix="grader-", dir=work_root))
    workdir.mkdir(parents=True)
    copy = workdir / sub.name
    shutil.copyfile(sub.path, copy)  # the submission itself is only read
    nonce = secrets.token_hex(16)
    n_questions = len(_problems(sub.lesson))
    spec = {"copy": str(copy), "workdir": str(workdir), "lesson": sub.lesson, "timeout": timeout,
            "check_timeout": check_timeout, "kernel": kernel, "nonce": nonce, "n_questions": n_questions,
            "result": str(private / f"result-{nonce}.json"), "summary": str(private / "summary.json"),
            "executed": str(private / "executed.ipynb"), "kernel_pid": str(private / "kernel.pid"),
            "kernel_py": str(Path(__file__).resolve().with_name("kernel.py")), "package_dir": package_dir}
    spec_file = private / "spec.json"
    spec_file.write_text(json.dumps(spec), encoding="utf-8")
    env = dict(os.environ, CANCER_COURSE_PROFILE="smoke", MPLBACKEND="Agg", PYTHONHASHSEED="0",
               TF_CPP_MIN_LOG_LEVEL="3")
    backstop = timeout + check_timeout * n_questions + 150
    t0 = time.monotonic()
    with open(private / "worker.log", "wb") as log:
        worker = [sys.executable, "-m", "cancer_course.exercises.grading.worker", "--worker", str(spec_file)]
        proc = subprocess.Popen(worker, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, cwd=str(workdir),
                                start_new_session=True)
        _RUNNING[proc] = private / "kernel.pid"
        try:
            proc.wait(timeout=backstop)
            killed = False
        except subprocess.TimeoutExpired:
            killed = True
        finally:
            _kill(proc, private / "kernel.pid")
            _RUNNING.pop(proc, None)
    run = {"seconds": round(time.monotonic() - t0, 1), "killed": killed, "backstop": backstop, "summary": None,
           "result": None, "executed": None}
    try:
        run["summary"] = json.loads((private / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        tail = (private / "worker.log").read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
        run["log_tail"] = " | ".join(tail)
    try:
        result = json.loads(Path(spec["result"]).read_text(encoding="utf-8"))
        run["result"] = result if isinstance(result, dict) and result.get("nonce") == nonce else None
        if run["result"] is None:
            run["bad_result"] = True
    except (OSError, ValueError):
        pass
    if Path(spec["executed"]).is_file():
        run["executed"] = spec["executed"]
    return run


_RUNNING: dict[subprocess.Popen, Path] = {}  # workers now running -> their kernel's pid file (for Ctrl-C)


def _kill(proc: subprocess.Popen, pid_file: Path) -> None:
    """End the worker's process group and the kernel's (the kernel runs in a session of its own)."""
    pids = [proc.pid]
    try:
        pids.append(int(pid_file.read_text(encoding="utf-8").strip()))
    except (OSError, ValueError):
        pass
    for pid in pids:
        try:
            if hasattr(os, "killpg"):
                os.killpg(pid, signal.SIGKILL)
            else:  # pragma: no cover - Windows
                os.kill(pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError, OSError):
            pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover
        pass
