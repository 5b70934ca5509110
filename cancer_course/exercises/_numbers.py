"""Checks for answers that are numbers: exact value, or a known mistake with its own message."""

from __future__ import annotations

import numbers

from .core import Incorrect


def as_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise Incorrect(f"`{name}` should be a number, but it is {type(value).__name__} ({value!r}).")
    if float(value) != int(value):
        raise Incorrect(f"`{name}` = {value} is not a whole number: parameters come in whole numbers.")
    return int(value)


def expect_count(value, expected: int, name: str, mistakes: dict[int, str], general: str) -> None:
    """Raise :class:`Incorrect` unless ``value == expected``; name the mistake when we recognise it."""
    got = as_int(value, name)
    if got == expected:
        return
    if got in mistakes and mistakes[got]:
        raise Incorrect(f"`{name}` = {got:,}, not the right count: {mistakes[got]}")
    side = "too many" if got > expected else "too few"
    raise Incorrect(f"`{name}` = {got:,} is {side} (off by {abs(got - expected):,}). {general}")
