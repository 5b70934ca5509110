"""A stack lane: every notebook, from a copy of its folder, on another stack of packages.

``bash course.sh test --stack colab|minimum`` builds a venv with the stack's versions
(``cancer_course/stacks/NAME.txt``) and runs this file in it, with ``CANCER_COURSE_STACK=NAME``;
in the main lane every test here skips, saying so.

- ``colab``: the notebooks run as they run on Google Colab. The kernel imports a stand-in
  ``google.colab`` module, so the unmodified setup cell takes its Colab branch and installs the
  course itself, ``--no-deps``, from the ``git+https://github.com/OWNER/REPO@BRANCH`` line in
  the notebook, plus what Colab lacks (keras-tuner). Nothing reaches the network: git rewrites
  that GitHub URL to a snapshot of this working tree (``url.<base>.insteadOf``), and pip reads
  keras-tuner and the build backend from the lane's local wheelhouse (``PIP_NO_INDEX``).
- ``minimum``: the oldest versions the course claims; the course is installed from a wheel,
  non-editable, as a learner's ``pip install`` would do, and the setup cell takes its local branch.

In both, the notebooks run from a copy of ``notebooks/``, ``solutions/`` and ``exercises/`` in
a working folder outside the checkout (Colab's ``/content``), so the lessons must find or
generate their data there: the package is not an editable checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from notebook_run import assert_checks, run_smoke

from cancer_course.commands.notebooks import (
    NOTEBOOK_DIRS,
    SETUP_MARKER,
    all_notebooks,
    install_spec,
    repo_root,
    repo_setting,
)

STACK = os.environ.get("CANCER_COURSE_STACK")
ROOT = repo_root(Path(__file__).parent)
NOTEBOOKS = all_notebooks(ROOT)
pytestmark = pytest.mark.skipif(not STACK, reason="runs only in a stack lane: bash course.sh test --stack colab")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A working folder holding copies of the notebook folders (on Colab: /content)."""
    work = Path(os.environ.get("CANCER_COURSE_STACK_WORK") or tmp_path_factory.mktemp("content"))
    for folder in NOTEBOOK_DIRS:
        shutil.rmtree(work / folder, ignore_errors=True)
        shutil.copytree(ROOT / folder, work / folder)
    return work


def snapshot_repo(dest: Path) -> Path:
    """A git repository holding this working tree (tracked and untracked files, not ignored ones)
    committed on the branch named in pyproject.toml: what Colab's pip clones from GitHub."""
    _, branch = repo_setting(ROOT)
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.split("\0")
    shutil.rmtree(dest, ignore_errors=True)
    for rel in filter(None, files):
        if (ROOT / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, dest / rel)
    git = ["git", "-c", "user.name=stack lane", "-c", "user.email=lane@localhost", "-C", str(dest)]
    subprocess.run([*git, "init", "-q", "-b", branch], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "snapshot for the colab lane"], check=True)
    return dest


@pytest.fixture(scope="module")
def colab_env(workdir, tmp_path_factory) -> dict[str, str]:
    """What makes a kernel here look like Colab's to the setup cell, with no network."""
    if STACK != "colab":
        return {}
    here = tmp_path_factory.mktemp("colab")
    stub = here / "stub" / "google" / "colab"  # a namespace portion: google.protobuf stays importable
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text('"""Stand-in for Colab\'s google.colab module (stack lane)."""\n')
    startup = here / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-colab.py").write_text("import google.colab  # noqa: F401  (Colab's kernel has it imported)\n")
    repo = snapshot_repo(here / "repo")
    github = install_spec(ROOT).removeprefix("git+").rsplit("@", 1)[0]
    gitconfig = here / "gitconfig"
    gitconfig.write_text(f'[url "file://{repo}"]\n\tinsteadOf = {github}\n')
    wheelhouse = os.environ.get("CANCER_COURSE_WHEELHOUSE")
    assert wheelhouse and Path(wheelhouse).is_dir(), "course.sh sets CANCER_COURSE_WHEELHOUSE for the colab lane"
    return {"PYTHONPATH": str(here / "stub"), "IPYTHONDIR": str(here / "ipython"),
            "GIT_CONFIG_GLOBAL": str(gitconfig), "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": wheelhouse}


def test_the_lane_starts_without_what_colab_lacks():
    """On Colab neither the course nor keras-tuner is there before the first setup cell runs."""
    if STACK != "colab":
        pytest.skip("the colab lane only")
    for dist in ("cancer-course", "keras-tuner"):
        found = subprocess.run([sys.executable, "-m", "pip", "show", "-q", dist], capture_output=True)
        assert found.returncode != 0, f"{dist} is installed before any notebook ran: the lane would not test the install"


@pytest.mark.parametrize("rel", [p.relative_to(ROOT).as_posix() for p in NOTEBOOKS])
def test_notebook_runs_on_the_stack(rel, workdir, colab_env, monkeypatch):
    monkeypatch.setenv("CANCER_COURSE_PROFILE", "smoke")
    monkeypatch.delenv("CANCER_COURSE_DATA", raising=False)  # the lessons find their data folder themselves
    for key, value in colab_env.items():
        monkeypatch.setenv(key, value)
    path = workdir / rel
    nb = run_smoke(path, workdir / "executed" / rel, cwd=path.parent, kernel=os.environ.get("CANCER_COURSE_KERNEL", "python3"))
    assert_checks(nb, path.parent.name)
    setup = next(c for c in nb.cells if c.cell_type == "code" and SETUP_MARKER in c.source)
    printed = "".join(o.get("text", "") for o in setup.get("outputs", []))
    assert "Setup complete" in printed, printed


def test_the_course_was_installed_as_a_learner_installs_it(workdir):
    """Non-editable, in the lane's site-packages: a lesson cannot lean on this checkout, and the
    lessons generated their data in the folder they ran in (on Colab: /content/data)."""
    assert (workdir / "notebooks" / "data" / "embedded-smoke").is_dir(), sorted(p.name for p in workdir.iterdir())
    shown = subprocess.run([sys.executable, "-m", "pip", "show", "cancer-course"], capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    assert "Editable project location" not in shown.stdout, shown.stdout
    location = next(line.split(":", 1)[1].strip() for line in shown.stdout.splitlines() if line.startswith("Location:"))
    assert Path(location).resolve() != ROOT.resolve() and "site-packages" in location, shown.stdout
