"""Every figure the package draws has a title and labelled axes; no colour map is a rainbow.

Issue 15, section 7: a learner reads a figure without the code beside it, so each one says what it
shows, and its axes say what is measured. Image panels (axes switched off) need no axis labels.
"""

import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cancer_course import evaluation, explain, plots  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RAINBOW = re.compile(r"""cmap\s*=\s*["'](jet|rainbow|gist_rainbow|hsv|nipy_spectral)["']""")


def _labels():
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(40, int), np.ones(40, int)]
    p = np.clip(0.3 * y + rng.uniform(0, 0.7, y.size), 0, 1)
    return y, p


def _figures():
    y, p = _labels()
    conf = evaluation.confusion_at(y, p, 0.5)
    yield "confusion matrix", evaluation.plot_confusion_matrix(conf)
    yield "ROC", evaluation.plot_roc(evaluation.roc_data(y, p), (0.7, 0.9), [{"name": "0.5", **conf}])
    yield "precision-recall", evaluation.plot_precision_recall(evaluation.precision_recall_data(y, p))
    yield "reliability", evaluation.plot_reliability(evaluation.reliability_data(y, p), 0.05, 0.2)
    image = np.random.default_rng(1).uniform(size=(16, 16, 3)).astype("float32")
    yield "explanations", explain.plot_explanations(image, {"map": np.eye(16, dtype="float32")})
    yield "manual history", plots.visualize_from_manual_data()


def _title(fig) -> str:
    own = fig._suptitle.get_text() if fig._suptitle is not None else ""
    return own or " ".join(ax.get_title() for ax in fig.axes)


def _problems(name, fig) -> list[str]:
    """What a reader would miss: the figure's title, a data panel's axis labels."""
    problems = [] if _title(fig).strip() else [f"{name}: the figure has no title"]
    for ax in fig.axes:
        if not ax.axison or not (ax.lines or ax.patches or ax.collections):
            continue  # an image panel, a colour bar or a 'not logged' note
        shares_x = len(ax.get_shared_x_axes().get_siblings(ax)) > 1  # labelled on the panel below
        if not ax.get_xlabel() and not shares_x:
            problems.append(f"{name}: a panel ({ax.get_title()!r}) has no x-axis label")
        if not ax.get_ylabel():
            problems.append(f"{name}: a panel ({ax.get_title()!r}) has no y-axis label")
    return problems


@pytest.mark.parametrize("name, fig", list(_figures()), ids=lambda v: v if isinstance(v, str) else "")
def test_package_figures_have_a_title_and_labelled_axes(name, fig):
    try:
        assert _problems(name, fig) == []
    finally:
        plt.close(fig)


def test_a_figure_without_labels_fails_the_check():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    try:
        assert len(_problems("bare", fig)) == 3
        ax.set(title="t", xlabel="x", ylabel="y")
        assert _problems("labelled", fig) == []
    finally:
        plt.close(fig)


def _sources():
    for path in sorted(ROOT.glob("cancer_course/**/*.py")):
        yield path, path.read_text()
    for folder in ("notebooks", "exercises", "solutions"):
        for path in sorted((ROOT / folder).glob("*.ipynb")):
            cells = json.loads(path.read_text())["cells"]
            yield path, "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def test_no_rainbow_colour_maps_anywhere():
    found = [f"{path.relative_to(ROOT)}: {m.group(0)}" for path, text in _sources() for m in RAINBOW.finditer(text)]
    assert not found, "use a perceptually uniform colour map (magma, viridis): " + "; ".join(found)
    assert RAINBOW.search('plt.imshow(x, cmap="jet")')  # the pattern does catch one
