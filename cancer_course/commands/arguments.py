"""Checks for the numeric arguments of every subcommand, run by argparse before any work starts.

Each function makes an argparse ``type=``: it turns the text into a number or raises
``argparse.ArgumentTypeError``, which argparse prints as one line naming the argument
(``cancer-course train: error: argument --epochs: ...``) and exit status 2. So ``--epochs -3`` or
``--learning-rate nan`` stop at once, before a dataset is read or a file is written.
"""

from __future__ import annotations

import argparse
import math


def _bounds(low, high, low_open: bool = False, high_open: bool = False) -> str:
    if low is not None and high is not None:
        return f"between {low} and {high}" + (" (both excluded)" if low_open and high_open else
                                              f" ({low} excluded)" if low_open else
                                              f" ({high} excluded)" if high_open else "")
    if low is not None:
        return f"greater than {low}" if low_open else f"{low} or more"
    if high is not None:
        return f"less than {high}" if high_open else f"{high} or less"
    return "a finite number"


def whole(low: int | None = None, high: int | None = None):
    """A whole number in ``[low, high]`` (either bound may be None)."""

    def parse(text: str) -> int:
        want = f"a whole number {_bounds(low, high)}"
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number: give {want}") from None
        if (low is not None and value < low) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{value} is out of range: give {want}")
        return value

    parse.__name__ = "whole number"  # what argparse names in its own messages
    return parse


def number(low: float | None = None, high: float | None = None, *, low_open: bool = False,
           high_open: bool = False):
    """A finite number in ``[low, high]``; ``low_open``/``high_open`` exclude a bound."""

    def parse(text: str) -> float:
        want = f"a number {_bounds(low, high, low_open, high_open)}"
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number: give {want}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text} is not a finite number: give {want}")
        too_low = low is not None and (value <= low if low_open else value < low)
        too_high = high is not None and (value >= high if high_open else value > high)
        if too_low or too_high:
            raise argparse.ArgumentTypeError(f"{text} is out of range: give {want}")
        return value

    parse.__name__ = "number"
    return parse


# The arguments several commands share.
batch_size = whole(1, 65536)
seed = whole(0, 2**32 - 1)  # what NumPy and Keras accept as a seed
probability = number(0.0, 1.0)
