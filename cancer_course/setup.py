"""The notebooks' setup check: minimum versions, a version table, GPU advice."""

from __future__ import annotations

import importlib
import platform
import sys

from . import DISCLAIMER, __version__
from ._tf import quiet_import

# (import name, distribution name, minimum version)
MINIMUM_VERSIONS = [
    ("tensorflow", "tensorflow", "2.16"),
    ("keras", "keras", "3.0"),
    ("keras_tuner", "keras-tuner", "1.4"),
    ("numpy", "numpy", "1.24"),
    ("sklearn", "scikit-learn", "1.3"),
    ("matplotlib", "matplotlib", "3.7"),
    ("seaborn", "seaborn", "0.12"),
    ("PIL", "Pillow", "10.0"),
    ("ipywidgets", "ipywidgets", "8.0"),
]


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def in_colab() -> bool:
    return "google.colab" in sys.modules


def check_environment(verbose: bool = True) -> dict[str, str]:
    """Assert minimum versions, print a version table and GPU advice; return the versions."""
    versions = {"python": platform.python_version(), "cancer_course": __version__}
    problems = []
    quiet_import()
    for module, dist, minimum in MINIMUM_VERSIONS:
        try:
            mod = importlib.import_module(module)
        except ImportError:
            problems.append(f"{dist} is not installed: run  pip install '{dist}>={minimum}'")
            continue
        version = getattr(mod, "__version__", "0")
        versions[dist] = version
        if _version_tuple(version) < _version_tuple(minimum):
            problems.append(f"{dist} {version} is older than {minimum}: run  pip install -U '{dist}>={minimum}'")
    if problems:
        raise RuntimeError("The course needs newer packages:\n  " + "\n  ".join(problems))

    import tensorflow as tf

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
