"""Every lesson that reads data runs on a folder of other images, set by one parameter.

The folder is made here from the embedded generator but looks like real data: JPEG files of
another size than the profile's, imbalanced classes, no manifest. ``run_lessons(dataset_path=...)``
is what ``bash course.sh run --dataset-path ROOT`` calls; the lessons read it through
``DATASET_PATH`` / ``$CANCER_COURSE_DATASET``.
"""


import pytest
from PIL import Image

from cancer_course import config, synth
from cancer_course.cli import CourseError
from cancer_course.commands.lessons import lesson_paths, run_lessons
from cancer_course.commands.notebooks import load, repo_root

ROOT = repo_root()


def _parameters(path):
    nb = load(path)
    return "".join(next(c["source"] for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])))


def _code(path):
    nb = load(path)
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")


def _reads_data(path):
    return "load_splits(" in path.read_text(encoding="utf-8")


DATA_LESSONS = [p for p in lesson_paths(ROOT) if _reads_data(p)]


def test_every_lesson_that_reads_data_has_the_dataset_parameter():
    assert len(DATA_LESSONS) >= 8
    for path in DATA_LESSONS:
        assert "DATASET_PATH = None" in _parameters(path), path.name
        assert "ensure_dataset(PROFILE)" not in _code(path), path.name  # the text may still explain it


@pytest.fixture(scope="module")
def foreign_root(tmp_path_factory):
    base = tmp_path_factory.mktemp("foreign")
    src = synth.generate_dataset(base / "src", image_size=48, n_train=72, n_validation=24, n_test=24,
                                 malignant_fraction=0.35, seed=5)
    root = base / "real-like"
    for path in src.rglob("*.png"):
        out = root / path.relative_to(src).with_name(path.stem.replace("_", "-") + ".jpg")
        out.parent.mkdir(parents=True, exist_ok=True)
        Image.open(path).resize((44, 44)).save(out, quality=92)
    return root


def test_lessons_run_on_a_dataset_path(foreign_root, tmp_path, monkeypatch):
    monkeypatch.setenv(config.ENV_DATA_DIR, str(tmp_path / "data"))  # the kernels inherit it
    summary = run_lessons("smoke", out=tmp_path / "build", only=[p.name[:2] for p in DATA_LESSONS],
                          dataset_path=foreign_root, echo=lambda *a: None)
    assert summary["failed"] == [], [x["error"] for x in summary["lessons"] if x["error"]]
    assert [x["lesson"] for x in summary["lessons"]] == [p.stem for p in DATA_LESSONS]
    assert summary["dataset"] == str(foreign_root.resolve())
    made = sorted(p.name for p in (tmp_path / "data").iterdir())
    assert not any(name.startswith("embedded-") for name in made), made  # no lesson fell back to it
    assert any(name.startswith("confounded-corner-") for name in made), made  # lesson 11 stamped a copy
    lesson01 = next(x for x in summary["lessons"] if x["lesson"].startswith("01"))
    assert "no manifest: not the embedded dataset" in open(lesson01["notebook"], encoding="utf-8").read()


def test_a_missing_dataset_path_is_named(tmp_path):
    with pytest.raises(CourseError, match=r"nowhere: no such folder"):
        run_lessons("smoke", out=tmp_path, only=["01"], dataset_path=tmp_path / "nowhere")


BREASTMNIST = ROOT.parent / "shared" / "data" / "breastmnist" / "BreastMNIST.npz"


@pytest.mark.skipif(not BREASTMNIST.is_file(), reason=f"real data not here: {BREASTMNIST}")
def test_the_capstone_measures_breastmnists_own_duplicates(tmp_path, monkeypatch):
    """Lesson 14 on real ultrasound images (development and CI only): the audit finds BreastMNIST's
    near-duplicates across its splits, the lesson measures what they do to the test AUC (no planted
    demonstration copy), and the split it makes passes its second audit."""
    from cancer_course.adapters import from_medmnist_npz

    monkeypatch.setenv(config.ENV_DATA_DIR, str(tmp_path / "data"))
    root = from_medmnist_npz(BREASTMNIST, tmp_path / "breastmnist")
    summary = run_lessons("smoke", out=tmp_path / "build", only=["14"], dataset_path=root, echo=lambda *a: None)
    assert summary["failed"] == [], [x["error"] for x in summary["lessons"] if x["error"]]
    cells = load(summary["lessons"][0]["notebook"])["cells"]
    text = "".join("".join(o.get("text", "")) for c in cells for o in c.get("outputs", []))  # what it printed
    assert "Your data:" in text and "SYNTHETIC DATA" not in text
    assert "leak-free: True" in text
    assert "would leave" in text and "DEMONSTRATION" not in text  # its own duplicates, measured
