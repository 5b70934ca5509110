import subprocess
import sys

import pytest

from cancer_course import DISCLAIMER, __version__
from cancer_course.config import PROFILES, get_profile, profile_name


def test_profiles_exist_and_grow():
    assert list(PROFILES) == ["smoke", "laptop", "full"]
    smoke, laptop, full = PROFILES.values()
    assert smoke.image_size < laptop.image_size < full.image_size == 224
    assert smoke.n_train < laptop.n_train < full.n_train
    assert full.width == 1.0 and full.blocks_per_stage == (3, 4, 3) and full.head_units == (1024, 512, 256)


def test_environment_variable_overrides_the_notebook(monkeypatch):
    monkeypatch.setenv("CANCER_COURSE_PROFILE", "full")
    assert get_profile("laptop").name == "full"
    monkeypatch.delenv("CANCER_COURSE_PROFILE")
    assert get_profile("laptop").name == "laptop"
    assert get_profile().name == "laptop"


def test_unknown_profile_names_the_value(monkeypatch):
    monkeypatch.delenv("CANCER_COURSE_PROFILE", raising=False)
    with pytest.raises(ValueError, match=r"Unknown profile 'tiny'.*smoke, laptop, full"):
        profile_name("tiny")


def test_version_and_help():
    out = subprocess.run([sys.executable, "-m", "cancer_course", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == f"cancer-course {__version__}"
    out = subprocess.run([sys.executable, "-m", "cancer_course", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    assert "lessons" in out.stdout and "notebooks" in out.stdout
    assert "Research and education only" in out.stdout.replace("\n", " ")
    assert out.stderr == "", f"TensorFlow noise leaked into --help: {out.stderr[:300]}"


def test_check_environment_prints_setup_complete(capsys):
    from cancer_course.environment import check_environment

    versions = check_environment()
    out = capsys.readouterr().out
    assert "Setup complete" in out and DISCLAIMER in out
    assert versions["tensorflow"] and versions["keras"].startswith("3.")
    assert "No GPU found" in out or versions["gpu"] != "none"
