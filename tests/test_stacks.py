"""The tested stacks: one definition (cancer_course/stacks/*.txt) behind pyproject.toml's lower
bounds, check_environment()'s floors, lesson 00's table and the stack lanes of course.sh."""

import re
import subprocess
import tomllib

import pytest

from cancer_course import environment


def pyproject(root):
    return tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def lower_bounds(root) -> dict[str, str]:
    bounds = {}
    for spec in pyproject(root)["dependencies"]:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+)", spec.split(";")[0].strip())
        assert match, f"pyproject.toml: {spec!r} is not of the form name>=version"
        bounds[match.group(1).lower()] = match.group(2)
    return bounds


def test_pyproject_lower_bounds_are_the_minimum_stack(root):
    minimum = environment.read_stack("minimum")
    assert lower_bounds(root) == minimum["pins"], "pyproject.toml's >= bounds must equal cancer_course/stacks/minimum.txt"
    assert pyproject(root)["requires-python"] == f">={minimum['python']}"


def test_the_environment_check_covers_every_dependency(root):
    assert set(environment.minimum_versions()) - {"python"} == set(lower_bounds(root))
    assert environment.minimum_versions() == {"python": "3.11", **lower_bounds(root)}


def test_stack_files_parse():
    colab = environment.read_stack("colab")
    assert colab["python"] == "3.13" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", colab["date"])
    assert colab["pins"]["ipywidgets"].startswith("7.7") and "keras-tuner" not in colab["pins"]
    # Colab's stack is at or above every floor: the course accepts it.
    for dist, version in colab["pins"].items():
        assert environment.too_old(dist, version, environment.minimum_versions()[dist]) is None, dist
    with pytest.raises(ValueError, match="No stack named 'nope'"):
        environment.read_stack("nope")


@pytest.mark.parametrize("version,old", [("7.7.1", False), ("8.1.9", False), ("7.6.5", True), ("7.7.0", True)])
def test_ipywidgets_floor_admits_colab(version, old):
    assert (environment.too_old("ipywidgets", version, "7.7.1") is not None) is old


def test_a_version_that_is_too_old_says_what_to_do_on_colab_and_locally():
    line = environment.too_old("keras", "3.4.1", "3.8.0")
    assert "keras 3.4.1 is older than 3.8.0" in line
    assert "Runtime version: Latest" in line and "pip install -U 'keras>=3.8.0'" in line
    assert "\n" not in line
    missing = environment.too_old("keras-tuner", None, "1.4.7")
    assert "keras-tuner is not installed" in missing and "pip install -U 'keras-tuner>=1.4.7'" in missing
    python = environment.too_old("python", "3.10.12", "3.11")
    assert "Python 3.10.12 is older than 3.11" in python and "Runtime version: Latest" in python


def test_check_environment_refuses_an_old_package(monkeypatch):
    real = environment.installed_version
    monkeypatch.setattr(environment, "installed_version", lambda d: "2.15.0" if d == "tensorflow" else real(d))
    with pytest.raises(RuntimeError, match=r"tensorflow 2\.15\.0 is older than 2\.18\.0.*Runtime version: Latest"):
        environment.check_environment(verbose=False)


def test_check_environment_accepts_this_stack(capsys):
    versions = environment.check_environment()
    assert "Setup complete" in capsys.readouterr().out
    assert versions["ipywidgets"] == environment.installed_version("ipywidgets")


def test_stack_table_puts_yours_beside_the_tested_stacks():
    rows = {r["package"]: r for r in environment.stack_table({"python": "3.10.4", "tensorflow": "2.20.0"})}
    assert rows["tensorflow"]["yours"] == "2.20.0" and rows["tensorflow"]["status"] == "ok"
    assert rows["tensorflow"]["colab"] == "2.20.0" and rows["tensorflow"]["minimum"] == "2.18.0"
    assert rows["python"]["colab"] == "3.13" and "older than 3.11" in rows["python"]["status"]
    assert rows["keras"]["yours"] == "missing" and "not installed" in rows["keras"]["status"]
    assert rows["keras-tuner"]["colab"] == "installed by the setup cell"


def test_course_sh_names_an_unknown_stack(root):
    done = subprocess.run(["bash", "course.sh", "test", "--stack", "nope"], cwd=root, capture_output=True, text=True)
    assert done.returncode == 2
    assert "there is no stack 'nope'" in done.stderr and "minimum colab" in done.stderr
