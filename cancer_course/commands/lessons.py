"""Run every lesson, in order, into a build folder: executed notebooks plus HTML.

``cancer-course lessons`` is the course's main job (``bash course.sh run`` calls it). It shows
progress (lesson n of N, elapsed time), keeps going after a failing lesson so that one broken
lesson does not hide the others, and prints where the results are.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from ..config import ENV_DATASET, ENV_PROFILE, PROFILES, repo_root
from ..errors import CourseError

KERNEL_NAME = "cancer-course"


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m{secs:02d}s"


def kernel_name() -> str:
    """The course's kernel if registered (``bash course.sh`` registers it), else python3."""
    from jupyter_client.kernelspec import KernelSpecManager

    return KERNEL_NAME if KERNEL_NAME in KernelSpecManager().find_kernel_specs() else "python3"


def lesson_paths(root: Path, only: list[str] | None = None) -> list[Path]:
    paths = sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if only:
        paths = [p for p in paths if any(p.name.startswith(o.zfill(2)) for o in only)]
    return paths


def to_html(executed: Path) -> Path:
    import nbformat
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(executed, as_version=4))
    html = executed.with_suffix(".html")
    html.write_text(body, encoding="utf-8")
    return html


def run_lessons(profile: str = "laptop", out: Path | None = None, only: list[str] | None = None,
                root: Path | None = None, echo=print, dataset_path: str | Path | None = None) -> dict:
    """Execute the lessons with papermill; return a summary (also written as summary.json).

    `dataset_path` puts every lesson that reads data on that folder instead of the embedded
    dataset (through ``$CANCER_COURSE_DATASET``, which the lessons' ``DATASET_PATH`` defers to);
    its results go to ``build/PROFILE-FOLDERNAME`` unless `out` is given.
    """
    import papermill as pm


    root = root or repo_root()
    dataset = None
    if dataset_path is not None:
        dataset = Path(dataset_path).expanduser().resolve()
        if not dataset.is_dir():
            raise CourseError(f"--dataset-path {dataset_path}: no such folder. Give the folder that holds "
                              "train/, validation/ and test/, each with benign/ and malignant/ inside.")
    out = Path(out or root / "build" / (f"{profile}-{dataset.name}" if dataset else profile))
    out.mkdir(parents=True, exist_ok=True)
    paths = lesson_paths(root, only)
    kernel = kernel_name()
    summary = {"profile": profile, "dataset": str(dataset) if dataset else "embedded", "kernel": kernel,
               "lessons": [], "out": str(out)}
    start = time.perf_counter()
    env_before = {key: os.environ.get(key) for key in (ENV_PROFILE, ENV_DATASET)}
    os.environ[ENV_PROFILE] = profile  # the kernel inherits it; lessons read it via get_profile()
    if dataset:
        os.environ[ENV_DATASET] = str(dataset)  # and this one via synth.dataset_root()
    else:
        os.environ.pop(ENV_DATASET, None)
    try:
        for n, path in enumerate(paths, 1):
            echo(f"[lesson {n} of {len(paths)}] {path.stem} ... (elapsed {_clock(time.perf_counter() - start)})")
            t0 = time.perf_counter()
            executed = out / path.name
            error = None
            try:
                pm.execute_notebook(str(path), str(executed), parameters={"PROFILE": profile},
                                    kernel_name=kernel, cwd=str(root / "notebooks"), progress_bar=False)
            except Exception as exc:  # a failing lesson is reported, the others still run
                error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"
            html = to_html(executed) if executed.exists() else None
            seconds = time.perf_counter() - t0
            summary["lessons"].append({"lesson": path.stem, "seconds": round(seconds, 1), "error": error,
                                       "notebook": str(executed), "html": str(html) if html else None})
            echo(f"    {'FAILED: ' + error if error else 'ok'} in {_clock(seconds)}")
    finally:
        for key, value in env_before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    summary["total_seconds"] = round(time.perf_counter() - start, 1)
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    failed = [x["lesson"] for x in summary["lessons"] if x["error"]]
    echo(f"{len(paths) - len(failed)} of {len(paths)} lessons ran in the '{profile}' profile "
         f"on {'the embedded dataset' if not dataset else dataset} in {_clock(summary['total_seconds'])}.")
    echo(f"Executed notebooks and HTML: {out}")
    if failed:
        echo("Failed: " + ", ".join(failed) + " (open the executed notebook to see the traceback)")
    summary["failed"] = failed
    return summary


def _cmd(args) -> int:
    summary = run_lessons(args.profile, Path(args.out) if args.out else None, args.only,
                          dataset_path=args.dataset_path)
    return 1 if summary["failed"] else 0


def register_cli(sub) -> None:
    p = sub.add_parser("lessons", help="run every lesson into build/PROFILE (executed notebooks + HTML)")
    p.add_argument("--profile", default="laptop", choices=list(PROFILES),
                   help="smoke = a quick look in seconds per lesson; laptop (default); full = GPU")
    p.add_argument("--out", help="output folder (default: build/PROFILE)")
    p.add_argument("--only", nargs="*", help="lesson numbers to run, e.g. --only 00 05")
    p.add_argument("--dataset-path", help="run the lessons that read data on this folder (course layout) "
                                          "instead of the embedded dataset")
    p.set_defaults(func=_cmd, needs_tensorflow=False)
