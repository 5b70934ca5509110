"""Every numeric argument of every subcommand is checked before anything runs (issue 17, item 11)."""

from __future__ import annotations

import argparse
import math

import pytest

from cancer_course.cli import main
from cancer_course.commands import arguments as check

BAD = {
    "train": [("--epochs", "-3"), ("--epochs", "two"), ("--learning-rate", "nan"), ("--learning-rate", "inf"),
              ("--learning-rate", "0"), ("--learning-rate", "-0.01"), ("--batch-size", "0"), ("--image-size", "2"),
              ("--augmentation", "-1"), ("--augmentation", "nan"), ("--patience", "0"), ("--seed", "-1")],
    "evaluate": [("--n-boot", "0"), ("--target-sensitivity", "1.5"), ("--prevalence", "0"), ("--prevalence", "nan"),
                 ("--threshold", "2"), ("--threshold", "nan"), ("--batch-size", "-1"), ("--seed", "1e3")],
    "predict": [("--threshold", "-0.1"), ("--threshold", "nan"), ("--batch-size", "0")],
    "synth": [("--difficulty", "2"), ("--malignant-fraction", "nan"), ("--train", "-1"), ("--image-size", "4"),
              ("--tiles-per-patient", "0"), ("--seed", "x")],
    "audit": [("--threshold", "65"), ("--workers", "0"), ("--workers", "inf")],
}
CASES = [(command, flag, value) for command, pairs in BAD.items() for flag, value in pairs]


def _argv(command: str, flag: str, value: str, tmp_path) -> list[str]:
    """A command line that would write into tmp_path if its arguments were accepted."""
    model, data = str(tmp_path / "model.keras"), str(tmp_path / "data")
    base = {
        "train": ["train", "--results-dir", str(tmp_path / "results"), "--save-path", model, "--dataset-path", data],
        "evaluate": ["evaluate", "--model", model, "--dataset-path", data, "--out", str(tmp_path / "evaluation")],
        "predict": ["predict", str(tmp_path / "x.png"), "--model", model, "--output", str(tmp_path / "p.csv")],
        "synth": ["synth", str(tmp_path / "out")],
        "audit": ["audit", data, "--json"],
    }[command]
    return base + [f"{flag}={value}"]  # `=`: argparse would read "-3" alone as an option


@pytest.mark.parametrize("command, flag, value", CASES, ids=[f"{c} {f} {v}" for c, f, v in CASES])
def test_a_bad_number_stops_the_command_at_once_naming_the_argument(command, flag, value, tmp_path, capsys):
    assert main(_argv(command, flag, value, tmp_path)) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 2 and f"argument {flag}:" in lines[0] and "give " in lines[0], captured.err
    assert f"cancer-course {command} --help" in lines[1]
    assert not captured.out
    assert not list(tmp_path.iterdir()), "a rejected command wrote something"


def test_the_checks_accept_the_edges_of_their_ranges():
    assert check.whole(1, 5)("1") == 1 and check.whole(1, 5)("5") == 5
    assert check.number(0.0, 1.0)("0") == 0.0 and check.probability("1") == 1.0
    assert check.number(0.0, 1.0, low_open=True)("1e-9") == 1e-9
    for bad in ("0", "nan", "-inf", "1.0000001"):
        with pytest.raises(argparse.ArgumentTypeError, match="give a number between 0.0 and 1.0 .0.0 excluded."):
            check.number(0.0, 1.0, low_open=True)(bad)
    with pytest.raises(argparse.ArgumentTypeError, match="'1.5' is not a whole number"):
        check.whole(1)("1.5")
    assert math.isclose(check.number()("-1e300"), -1e300)


def test_good_arguments_still_parse(tmp_path):
    from cancer_course.cli import build_parser

    args = build_parser().parse_args(["train", "--epochs", "3", "--learning-rate", "1e-4", "--augmentation", "0"])
    assert (args.epochs, args.learning_rate, args.augmentation) == (3, 1e-4, 0.0)
    args = build_parser().parse_args(["evaluate", "--model", "m", "--dataset-path", "d", "--threshold", "Youden"])
    assert args.threshold == "youden"
    args = build_parser().parse_args(["evaluate", "--model", "m", "--dataset-path", "d", "--threshold", "0.3"])
    assert args.threshold == 0.3
