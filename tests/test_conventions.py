"""Notebook conventions: every notebook follows them, and breaking one names the notebook and rule."""

import json
import shutil
import subprocess
import sys

import pytest

from cancer_course.commands.notebooks import all_notebooks, check_notebook, colab_url, repo_root, restamp

ROOT = repo_root()
NOTEBOOKS = all_notebooks(ROOT)
LESSON = ROOT / "notebooks" / "00_welcome_and_setup.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[f"{p.parent.name}/{p.name}" for p in NOTEBOOKS])
def test_notebook_follows_conventions(path):
    assert check_notebook(path, ROOT) == []


def test_outputs_are_stripped_per_nbstripout():
    """nbstripout --verify: nothing to strip (cells marked keep_output keep theirs).

    Counts and ids are left to our own [outputs] rule: nbval needs an execution count on the
    cells it checks, and ids are stable once Jupyter has written them.
    """
    exe = shutil.which("nbstripout") or str(ROOT / ".venv" / "bin" / "nbstripout")
    result = subprocess.run([exe, "--verify", "--keep-count", "--keep-id", *map(str, NOTEBOOKS)], capture_output=True, text=True)
    assert result.returncode == 0, f"nbstripout would change: {result.stdout}{result.stderr}"


@pytest.fixture
def fake_repo(tmp_path):
    """A tiny copy of the repository holding lesson 00, to break on purpose."""
    (tmp_path / "notebooks").mkdir()
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    path = tmp_path / "notebooks" / LESSON.name
    shutil.copy(LESSON, path)
    return tmp_path, path


def _edit(path, fn):
    nb = json.loads(path.read_text())
    fn(nb)
    path.write_text(json.dumps(nb))


def _src(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def test_copy_of_a_good_notebook_passes(fake_repo):
    root, path = fake_repo
    assert check_notebook(path, root) == []


def test_wrong_badge_path_is_named(fake_repo):
    root, path = fake_repo
    moved = root / "notebooks" / "99_renamed.ipynb"
    path.rename(moved)
    problems = check_notebook(moved, root)
    assert len(problems) == 1
    assert problems[0].startswith("notebooks/99_renamed.ipynb: [badge]")
    assert colab_url(root, moved) in problems[0]
    assert restamp(root, [moved]) == [moved]
    assert check_notebook(moved, root) == []


def test_missing_parameters_cell_is_named(fake_repo):
    root, path = fake_repo

    def untag(nb):
        for cell in nb["cells"]:
            cell.get("metadata", {}).pop("tags", None)

    _edit(path, untag)
    problems = check_notebook(path, root)
    assert problems == [f"notebooks/{LESSON.name}: [parameters] needs exactly one cell tagged 'parameters', found 0"]


def test_committed_outputs_are_named(fake_repo):
    root, path = fake_repo

    def add_output(nb):
        cell = next(c for c in nb["cells"] if c["cell_type"] == "code" and not c["metadata"].get("keep_output"))
        cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "hi\n"}]
        cell["execution_count"] = 3

    _edit(path, add_output)
    problems = check_notebook(path, root)
    assert len(problems) == 1 and "[outputs]" in problems[0] and LESSON.name in problems[0]


def test_missing_notice_title_and_setup_are_named(fake_repo):
    root, path = fake_repo

    def damage(nb):
        first = nb["cells"][0]
        first["source"] = _src(first).replace("Research and education only", "Fun").replace("# 00", "## 00")
        for cell in nb["cells"]:
            if cell["cell_type"] == "code" and "google.colab" in _src(cell):
                cell["source"] = "print('no setup')"

    _edit(path, damage)
    rules = {p.split("[")[1].split("]")[0] for p in check_notebook(path, root)}
    assert {"title", "notice", "setup"} <= rules


def test_cli_check_fails_with_the_rule(fake_repo):
    root, path = fake_repo
    _edit(path, lambda nb: nb["cells"][0].update(source="# Title only\n\nno badge"))
    result = subprocess.run([sys.executable, "-m", "cancer_course", "notebooks", "check", str(path)],
                            cwd=root, capture_output=True, text=True)
    assert result.returncode == 2
    assert f"notebooks/{LESSON.name}: [badge]" in result.stderr


def test_cli_check_takes_a_folder(fake_repo):
    root, path = fake_repo
    ok = subprocess.run([sys.executable, "-m", "cancer_course", "notebooks", "check", str(path.parent)],
                        cwd=root, capture_output=True, text=True)
    assert ok.returncode == 0 and "1 notebooks follow the conventions" in ok.stdout, ok.stderr
    _edit(path, lambda nb: nb["cells"][0].update(source="# Title only\n\nno badge"))
    bad = subprocess.run([sys.executable, "-m", "cancer_course", "notebooks", "check", str(path.parent)],
                         cwd=root, capture_output=True, text=True)
    assert bad.returncode == 2 and f"notebooks/{LESSON.name}: [badge]" in bad.stderr
