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


def _checked(cast, noun: str, want: str, in_range):
    """An argparse type: ``cast`` the text, then refuse a non-finite or out-of-range value."""

    def parse(text: str):
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}: give {want}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text} is not a finite number: give {want}")
        if not in_range(value):
            raise argparse.ArgumentTypeError(f"{text} is out of range: give {want}")
        return value

    parse.__name__ = noun  # what argparse names in its own messages
    return parse


def whole(low: int | None = None, high: int | None = None):
    """A whole number in ``[low, high]`` (either bound may be None)."""
    return _checked(int, "a whole number", f"a whole number {_bounds(low, high)}",
                    lambda v: (low is None or v >= low) and (high is None or v <= high))


def number(low: float | None = None, high: float | None = None, *, low_open: bool = False,
           high_open: bool = False):
    """A finite number in ``[low, high]``; ``low_open``/``high_open`` exclude a bound."""

    def in_range(v: float) -> bool:
        above = low is None or (v > low if low_open else v >= low)
        below = high is None or (v < high if high_open else v <= high)
        return above and below

    return _checked(float, "a number", f"a number {_bounds(low, high, low_open, high_open)}", in_range)


# The arguments several commands share.
batch_size = whole(1, 65536)
seed = whole(0, 2**32 - 1)  # what NumPy and Keras accept as a seed
probability = number(0.0, 1.0)
