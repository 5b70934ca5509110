"""Learning-curve plots: every way in (History, dict, CSV log, typed-in rows) and every error."""

import math

import matplotlib
import pytest

from cancer_course import plots
from cancer_course.plots import (
    REFERENCE_EPOCHS,
    history_from_rows,
    load_history,
    overfitting_gap,
    visualize_from_history,
    visualize_from_manual_data,
)

matplotlib.use("Agg")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# What CSVLogger writes for model.compile(metrics=["accuracy", AUC(), Precision(), Recall()]) in a
# session that built the metrics before: Keras numbers the repeated metric objects.
CSV_LOG = """epoch,accuracy,auc_1,learning_rate,loss,precision_1,recall_1,val_accuracy,val_auc_1,val_loss,val_precision_1,val_recall_1
0,0.7911,0.8545,0.001,0.5827,0.70,0.75,0.4388,0.5195,1.5807,0.40,0.90
1,0.8709,0.9257,0.001,0.3744,0.80,0.85,0.6195,0.6797,1.1490,0.55,0.80
2,0.9100,0.9500,0.0005,0.2500,0.88,0.90,0.6000,0.6700,1.3000,0.52,0.78
"""


def three_epochs(with_lr=True):
    history = {
        "accuracy": [0.7911, 0.8709, 0.91],
        "auc": [0.8545, 0.9257, 0.95],
        "loss": [0.5827, 0.3744, 0.25],
        "precision": [0.70, 0.80, 0.88],
        "recall": [0.75, 0.85, 0.90],
        "val_accuracy": [0.4388, 0.6195, 0.60],
        "val_auc": [0.5195, 0.6797, 0.67],
        "val_loss": [1.5807, 1.1490, 1.30],
        "val_precision": [0.40, 0.55, 0.52],
        "val_recall": [0.90, 0.80, 0.78],
    }
    if with_lr:
        history["learning_rate"] = [1e-3, 1e-3, 5e-4]
    return history


def assert_png(path, min_bytes=5_000):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    assert len(data) > min_bytes, f"{path.name} is only {len(data)} bytes: an empty plot?"


def panel_texts(ax):
    return [t.get_text() for t in ax.texts]


# ----------------------------------------------------------------------------- loading


def test_csv_log_names_are_normalised_and_epochs_count_from_one(tmp_path):
    log = tmp_path / "run.csv"
    log.write_text(CSV_LOG)
    history = load_history(log)
    assert history["epoch"] == [1, 2, 3]
    assert set(history) == {"epoch", *three_epochs()}
    assert history["auc"] == [0.8545, 0.9257, 0.95]
    assert history["val_precision"] == [0.40, 0.55, 0.52]
    assert load_history(str(log)) == history  # str or Path
    assert load_history(history) == history  # its own output reads back unchanged


def test_lr_column_becomes_learning_rate_and_empty_cells_become_nan(tmp_path):
    log = tmp_path / "old.csv"
    log.write_text("epoch,loss,lr,val_loss\n0,0.9,0.01,\n1,0.5,0.001,0.7\n")
    history = load_history(log)
    assert history["learning_rate"] == [0.01, 0.001]
    assert math.isnan(history["val_loss"][0]) and history["val_loss"][1] == 0.7


def test_real_keras_history_object():
    keras = pytest.importorskip("keras")
    history = keras.callbacks.History()
    history.history = three_epochs()
    history.epoch = [4, 5, 6]  # model.fit(initial_epoch=4)
    loaded = load_history(history)
    assert loaded["epoch"] == [5, 6, 7]
    assert loaded["val_loss"] == [1.5807, 1.1490, 1.30]


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "is empty"),
        ("image,label\na.png,1\n", "no 'loss' column"),
        ("epoch,loss,val_loss\n", "header but no epochs"),
        ("epoch,loss\n0,nan-ish\n", "line 2: column 'loss'"),
    ],
    ids=["empty", "not-a-log", "header-only", "bad-number"],
)
def test_bad_csv_logs_name_the_file(tmp_path, content, message):
    log = tmp_path / "broken_log.csv"
    log.write_text(content)
    with pytest.raises(ValueError, match=message) as info:
        load_history(log)
    assert "broken_log.csv" in str(info.value)


def test_missing_csv_log_names_the_file_and_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere\.csv.*CSVLogger"):
        load_history(tmp_path / "nowhere.csv")


def test_other_bad_inputs():
    with pytest.raises(ValueError, match="no 'loss'"):
        load_history({"accuracy": [0.5]})
    with pytest.raises(ValueError, match="lengths differ"):
        load_history({"loss": [1.0, 0.5], "val_loss": [1.0]})
    with pytest.raises(TypeError, match="CSVLogger"):
        load_history(42)


# ----------------------------------------------------------------------------- figures from a history


def test_visualize_from_history_writes_every_figure(tmp_path):
    out = tmp_path / "figures" / "run1"  # created
    paths = visualize_from_history(three_epochs(), out)
    assert set(paths) == {"complete", "accuracy", "loss", "auc"}
    assert paths["complete"] == out / "complete_training_history.png"
    assert {p.name for p in out.iterdir()} == {
        "complete_training_history.png",
        "accuracy.png",
        "loss.png",
        "auc.png",
    }
    for path in paths.values():
        assert_png(path)
    assert_png(paths["complete"], min_bytes=30_000)


def test_visualize_from_csv_log_with_prefix(tmp_path, monkeypatch):
    log = tmp_path / "run.csv"
    log.write_text(CSV_LOG)
    monkeypatch.setattr(plots, "_PNG_DPI", 30)
    paths = visualize_from_history(log, tmp_path / "out", prefix="baseline")
    assert paths["complete"].name == "complete_baseline_history.png"
    assert_png(paths["complete"], min_bytes=1_000)


def capture_figures(monkeypatch):
    """Keep every figure visualize_from_history saves, by file name, to look inside it."""
    monkeypatch.setattr(plots, "_PNG_DPI", 30)  # these tests read the figure, not the pixels
    captured = {}
    save = plots._save

    def keep(fig, path):
        captured.setdefault(path.name, fig)
        return save(fig, path)

    monkeypatch.setattr(plots, "_save", keep)
    return captured


def test_complete_figure_panels(tmp_path, monkeypatch):
    captured = capture_figures(monkeypatch)
    visualize_from_history(three_epochs(), tmp_path)
    axes = captured["complete_training_history.png"].axes
    titles = [ax.get_title() for ax in axes]
    assert titles[0].startswith("Accuracy (train - val gap at last epoch: 0.310)")
    assert titles[1:] == ["Loss", "AUC", "Precision", "Recall", "Learning rate"]
    assert axes[5].get_yscale() == "log"
    for ax in axes:  # every panel marks the best epoch (lowest val_loss: epoch 2)
        dashed = [line for line in ax.lines if line.get_linestyle() == "--"]
        assert [list(line.get_xdata()) for line in dashed] == [[2, 2]]
    assert [len(ax.lines) for ax in axes] == [3, 3, 3, 3, 3, 2]  # train, validation, best; LR has no val


def test_missing_learning_rate_panel_says_not_logged(tmp_path, monkeypatch):
    captured = capture_figures(monkeypatch)
    history = three_epochs(with_lr=False)
    del history["precision"], history["val_precision"]
    paths = visualize_from_history(history, tmp_path)
    axes = captured["complete_training_history.png"].axes
    assert len(axes) == 6  # nothing silently dropped
    assert panel_texts(axes[3]) == ["Precision: not logged"]
    assert panel_texts(axes[5]) == ["Learning rate: not logged"]
    assert panel_texts(axes[0]) == []
    assert_png(paths["complete"], min_bytes=1_000)


def test_history_without_validation_has_no_best_epoch_line(tmp_path, monkeypatch):
    captured = capture_figures(monkeypatch)
    visualize_from_history({"loss": [0.9, 0.5], "accuracy": [0.6, 0.8]}, tmp_path)
    acc = captured["accuracy.png"].axes[0]
    assert acc.get_title() == "Accuracy"
    assert len(acc.lines) == 1
    assert panel_texts(captured["auc.png"].axes[0]) == ["AUC: not logged"]


# ----------------------------------------------------------------------------- typed-in epochs


def test_default_rows_reproduce_the_reference_values(tmp_path):
    fig = visualize_from_manual_data(save_dir=tmp_path)
    assert_png(tmp_path / "manual_training_history.png")
    acc, auc, loss = fig.axes
    assert list(acc.lines[0].get_ydata()) == pytest.approx([0.7911, 0.8709])
    assert list(acc.lines[1].get_ydata()) == pytest.approx([0.4388, 0.6195])
    assert list(auc.lines[0].get_ydata()) == pytest.approx([0.8545, 0.9257])
    assert list(auc.lines[1].get_ydata()) == pytest.approx([0.5195, 0.6797])
    assert list(loss.lines[0].get_ydata()) == pytest.approx([0.5827, 0.3744])
    assert list(loss.lines[1].get_ydata()) == pytest.approx([1.5807, 1.1490])
    assert "0.251" in acc.get_title()
    assert REFERENCE_EPOCHS[1] == (2, 87.09, 61.95, 0.9257, 0.6797, 0.3744, 1.1490)


def test_manual_data_without_save_dir_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fig = visualize_from_manual_data()
    assert len(fig.axes) == 3
    assert list(tmp_path.iterdir()) == []


def test_percent_and_fraction_give_the_same_curves():
    fractions = [(e, a / 100, v / 100, *rest) for e, a, v, *rest in REFERENCE_EPOCHS]
    as_dicts = [dict(zip(plots.MANUAL_FIELDS, row)) for row in REFERENCE_EPOCHS]
    reference = history_from_rows(REFERENCE_EPOCHS)
    for key, values in history_from_rows(fractions).items():
        assert values == pytest.approx(reference[key]), key
    percent_fig = visualize_from_manual_data(REFERENCE_EPOCHS)
    for fig in (visualize_from_manual_data(fractions), visualize_from_manual_data(as_dicts)):
        for ax, ref in zip(fig.axes, percent_fig.axes):
            for line, ref_line in zip(ax.lines, ref.lines):
                assert list(line.get_ydata()) == pytest.approx(list(ref_line.get_ydata()))


@pytest.mark.parametrize(
    "rows, message",
    [
        (
            [REFERENCE_EPOCHS[0], (2, 87.09, 61.95, 0.9257, 0.6797, 0.3744)],
            r"row 1: got 6 values .*epoch.*val_loss",
        ),
        ([{"epoch": 1, "train_acc": 0.8}], r"row 0: missing \['val_acc'"),
        ([(1, 179.0, 40, 0.8, 0.5, 0.6, 1.5)], r"row 0: train_acc=179"),
        ([(1, 79, 40, 85.45, 0.5, 0.6, 1.5)], r"row 0: train_auc=85.45 is not an AUC"),
        ([REFERENCE_EPOCHS[1], REFERENCE_EPOCHS[0]], r"row 1: epoch 1 must be"),
        ([(1, "high", 40, 0.8, 0.5, 0.6, 1.5)], r"row 0: every field must be a number"),
        ([], "no rows given"),
    ],
    ids=[
        "short-tuple",
        "missing-key",
        "accuracy-over-100",
        "auc-in-percent",
        "epochs-out-of-order",
        "text",
        "empty",
    ],
)
def test_bad_rows_name_the_row(rows, message):
    with pytest.raises(ValueError, match=message):
        visualize_from_manual_data(rows)


# ----------------------------------------------------------------------------- overfitting gap


def test_overfitting_gap_on_the_reference_epochs():
    gap = overfitting_gap(history_from_rows(REFERENCE_EPOCHS))
    assert gap["final_gap"] == pytest.approx(0.2514)
    assert gap["max_gap"] == pytest.approx(0.3523)
    assert gap["max_gap_epoch"] == 1
    assert gap["best_epoch"] == 2
    assert gap["best_val_loss"] == pytest.approx(1.1490)


def test_overfitting_gap_reads_a_csv_log(tmp_path):
    log = tmp_path / "run.csv"
    log.write_text(CSV_LOG)
    gap = overfitting_gap(log)
    assert gap["final_gap"] == pytest.approx(0.31)
    assert gap["best_epoch"] == 2  # validation loss rose again at epoch 3: stop at 2


def test_overfitting_gap_needs_validation_accuracy():
    with pytest.raises(ValueError, match="val_accuracy.*validation_data"):
        overfitting_gap({"loss": [1.0], "accuracy": [0.5]})
