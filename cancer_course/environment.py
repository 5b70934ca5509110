"""The notebooks' environment check (the setup cell of every lesson): minimum versions, a version table, GPU advice."""

from __future__ import annotations

import platform
import sys

from . import DISCLAIMER, __version__
from ._tf import quiet_import

# The stacks the course is tested on (``bash course.sh test --stack NAME`` runs each): the files
# in cancer_course/stacks/ are their one definition. ``minimum`` holds the oldest versions, which
# are the floors below and in pyproject.toml; ``colab`` is Google Colab's published runtime.
TESTED_STACKS = ("minimum", "colab")
COLAB_LATEST = "Runtime > Change runtime type > Runtime version: Latest"

def read_stack(name: str) -> dict:
    """A stack file as ``{"name", "python", "source", "date", "pins": {distribution: version}}``."""
    from importlib import resources

    try:
        text = resources.files("cancer_course").joinpath("stacks", f"{name}.txt").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"No stack named {name!r}: choose one of {', '.join(TESTED_STACKS)}.") from None
    stack: dict = {"name": name, "python": None, "source": "", "date": "", "pins": {}}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#"):
            key, _, value = line.lstrip("# ").partition(":")
            if key in ("python", "source", "date") and value and not stack[key]:
                stack[key] = value.strip()
        elif "==" in line:
            dist, _, version = line.partition("==")
            stack["pins"][dist.strip().lower()] = version.strip()
    return stack


def stack_versions(name: str) -> dict[str, str]:
    """``{"python": ..., distribution: version, ...}`` of one tested stack."""
    stack = read_stack(name)
    return {"python": stack["python"], **stack["pins"]}


def minimum_versions() -> dict[str, str]:
    """The oldest tested version of Python and of each package (the ``minimum`` stack). Its
    packages are the ones the course checks: ``pyproject.toml``'s dependencies."""
    return stack_versions("minimum")


def installed_versions(dists) -> dict[str, str]:
    """Python's version and that of each installed distribution of `dists` (missing ones left out)."""
    return {"python": platform.python_version(), **{d: v for d in dists if (v := installed_version(d))}}


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
        if not piece.isdigit():  # "0rc1", "1+cu121": stop after the leading number
            break
    return tuple(parts)


def installed_version(dist: str) -> str | None:
    """The installed version of a distribution, or None."""
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def in_colab() -> bool:
    return "google.colab" in sys.modules


def too_old(dist: str, version: str | None, minimum: str) -> str | None:
    """One line that says what to do when `dist` is missing or older than `minimum`, else None."""
    if version is not None and _version_tuple(version) >= _version_tuple(minimum):
        return None
    colab = read_stack("colab")
    on_colab = f"on Colab choose {COLAB_LATEST} (the course was last tested on Colab's runtime of {colab['date']})"
    if dist == "python":
        local = f"locally install Python {minimum} or newer and run `bash course.sh setup`"
        return f"Python {version} is older than {minimum}, the oldest the course is tested on: {on_colab}; {local}."
    local = f"locally run  pip install -U '{dist}>={minimum}'  (or `bash course.sh setup`)"
    if version is None:
        return f"{dist} is not installed: {local}; on Colab the setup cell installs what Colab lacks."
    return f"{dist} {version} is older than {minimum}, the oldest version the course is tested on: {on_colab}; {local}."


def check_environment(verbose: bool = True) -> dict[str, str]:
    """Assert minimum versions, print a version table and GPU advice; return the versions."""
    minimums = minimum_versions()
    found = installed_versions(minimums)
    problems = [p for dist, minimum in minimums.items() if (p := too_old(dist, found.get(dist), minimum))]
    versions = {"python": found.pop("python"), "cancer_course": __version__, **found}
    if problems:
        raise RuntimeError("The course needs newer packages:\n  " + "\n  ".join(problems))

    tf = quiet_import()
    gpus = tf.config.list_physical_devices("GPU")
    versions["gpu"] = ", ".join(g.name for g in gpus) if gpus else "none"
    if verbose:
        width = max(len(k) for k in versions)
        print(f"{'package':<{width}}  version")
        for key, value in versions.items():
            print(f"{key:<{width}}  {value}")
        if not gpus:
            where = (
                "Runtime > Change runtime type > Hardware accelerator: GPU"
                if in_colab()
                else "a machine with an NVIDIA GPU (or Colab: Runtime > Change runtime type > GPU)"
            )
            print(f"No GPU found: the smoke and laptop profiles run fine on a CPU. For `full`, use {where}.")
        print(DISCLAIMER)
        print("Setup complete")
    return versions


def stack_table(versions: dict[str, str] | None = None) -> list[dict[str, str]]:
    """Your versions beside those of every tested stack, one row per package (lesson 00).

    ``status`` is "ok" when yours is at least the minimum, else what to do.
    """
    stacks = {name: stack_versions(name) for name in TESTED_STACKS}
    minimums = stacks["minimum"]
    versions = versions or installed_versions(minimums)
    rows = []
    for dist, minimum in minimums.items():
        row = {"package": dist, "yours": versions.get(dist) or "missing"}
        for name, pins in stacks.items():
            row[name] = pins.get(dist, "installed by the setup cell")
        problem = too_old(dist, versions.get(dist), minimum)
        row["status"] = "ok" if problem is None else problem
        rows.append(row)
    return rows


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    from pathlib import Path

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine_description() -> dict:
    """What a measurement ran on: CPU, usable cores, GPU, TensorFlow/Keras/Python versions."""
    import os

    from ._tf import quiet_import

    tf = quiet_import()
    import keras

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count()
    gpus = tf.config.list_physical_devices("GPU")
    return {"cpu": cpu_model(), "cores": cores, "gpu": ", ".join(g.name for g in gpus) if gpus else "none",
            "tensorflow": tf.__version__, "keras": keras.__version__, "python": platform.python_version(),
            "platform": platform.platform()}
