"""`cancer-course --help` and every subcommand's `--help` build their parsers without TensorFlow, NumPy or Pillow.

A parser reads its default values from :mod:`cancer_course.defaults` (which imports nothing), and a
command imports its learner module inside ``run``: so every ``--help`` answers at once.
"""

from __future__ import annotations

import subprocess
import sys

COMMANDS = ["", "train", "evaluate", "predict", "synth", "audit", "lessons", "notebooks", "exercises"]

# In a fresh interpreter, so that what earlier tests imported cannot hide an import.
PROBE = """
import contextlib, io, sys
from cancer_course.cli import main

for command in sys.argv[1:]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(([command] if command else []) + ["--help"])
    assert code == 0, (command, code)
    assert "usage: cancer-course" in out.getvalue(), (command, out.getvalue()[:200])
heavy = sorted(name for name in ("tensorflow", "keras", "keras_tuner", "numpy", "PIL") if name in sys.modules)
print("imported:", ",".join(heavy) or "none")
"""


def test_every_help_answers_without_importing_tensorflow_numpy_or_pillow():
    run = subprocess.run([sys.executable, "-c", PROBE, *COMMANDS], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "imported: none"


def test_the_probe_sees_tensorflow_when_it_is_imported():
    run = subprocess.run([sys.executable, "-c", "import keras\n" + PROBE, "synth"], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    assert "keras" in run.stdout.strip().splitlines()[-1]


def test_the_probe_sees_numpy_and_pillow_when_they_are_imported():
    run = subprocess.run([sys.executable, "-c", "import numpy, PIL\n" + PROBE, "audit"], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "imported: PIL,numpy"


def test_python_m_of_a_subpackage_runs_its_subcommand():
    for command in ("synth", "audit"):
        run = subprocess.run([sys.executable, "-m", f"cancer_course.{command}", "--help"], capture_output=True,
                             text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        assert f"usage: cancer-course {command}" in run.stdout, run.stdout[:200]


def test_the_commands_that_read_images_say_how_in_their_help(capsys):
    from cancer_course.cli import main
    from cancer_course.images import EXTENSIONS, SIZE_POLICY

    def help_of(command: str) -> str:
        assert main([command, "--help"]) == 0
        return " ".join(capsys.readouterr().out.split())  # argparse wraps lines at the terminal's width

    for command in ("train", "evaluate", "predict"):
        assert SIZE_POLICY in help_of(command), command
    assert "--resize ignored: kept for old scripts" in help_of("evaluate")
    assert f"image files ({' '.join(EXTENSIONS)})" in help_of("predict")


def test_python_m_of_every_subpackage_answers():
    """``python -m cancer_course.X`` works for the subpackages too (a package needs a ``__main__``)."""
    for name, args, expect in (("evaluation", ["--help"], "usage: cancer-course evaluate"),
                               ("commands", ["--help"], "usage: cancer-course"),
                               ("explain", [], "grad_cam"), ("widgets", [], "Explorer")):
        run = subprocess.run([sys.executable, "-m", f"cancer_course.{name}", *args], capture_output=True, text=True,
                             timeout=300)
        assert run.returncode == 0, (name, run.stderr[-1000:])
        assert expect in run.stdout, (name, run.stdout[:300])
