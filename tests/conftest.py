import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"

os.environ.setdefault("CANCER_COURSE_PROFILE", "smoke")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real datasets beside the project (development and CI only)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not present at {SHARED_DATA} (it is only there in development and CI)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory):
    """A tiny embedded-style dataset (32 px; 32 / 16 / 16 tiles) for the `train` command's tests."""
    from cancer_course.synth import generate_dataset

    return generate_dataset(tmp_path_factory.mktemp("tiles"), image_size=32, n_train=32, n_validation=16,
                            n_test=16, seed=0)

# tests/test_stack_lane.py belongs to the stack lanes (bash course.sh test --stack NAME), which set
# CANCER_COURSE_STACK; the main lane does not collect it.
collect_ignore = [] if os.environ.get("CANCER_COURSE_STACK") else ["test_stack_lane.py"]
