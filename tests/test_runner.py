"""The main job: run lessons into a build folder with progress, HTML and a summary."""

import json

from cancer_course.commands.lessons import run_lessons


def test_runs_a_lesson_into_html(tmp_path, root):
    lines = []
    summary = run_lessons("smoke", out=tmp_path, only=["00"], root=root, echo=lines.append)
    assert summary["failed"] == []
    assert lines[0].startswith("[lesson 1 of 1] 00_welcome_and_setup")
    assert f"Executed notebooks and HTML: {tmp_path}" in lines
    html = (tmp_path / "00_welcome_and_setup.html").read_text()
    assert "Setup complete" in html
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved["profile"] == "smoke" and saved["lessons"][0]["seconds"] > 0


def test_a_failing_lesson_is_reported_and_the_run_goes_on(tmp_path, root):
    import shutil

    fake = tmp_path / "repo"
    (fake / "notebooks").mkdir(parents=True)
    shutil.copy(root / "pyproject.toml", fake)
    shutil.copy(root / "notebooks" / "00_welcome_and_setup.ipynb", fake / "notebooks")
    nb = json.loads((fake / "notebooks" / "00_welcome_and_setup.ipynb").read_text())
    nb["cells"].insert(7, {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                           "source": "raise RuntimeError('broken on purpose')"})
    (fake / "notebooks" / "01_broken.ipynb").write_text(json.dumps(nb))
    lines = []
    summary = run_lessons("smoke", out=tmp_path / "out", root=fake, echo=lines.append)
    assert summary["failed"] == ["01_broken"]
    assert [x["error"] is None for x in summary["lessons"]] == [True, False]
    assert "broken on purpose" in summary["lessons"][1]["error"]
    assert (tmp_path / "out" / "01_broken.html").exists()
