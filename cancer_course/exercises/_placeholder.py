"""``____``: the placeholder a learner replaces, and how a check sees that an answer still holds it."""

from __future__ import annotations

import types


class Placeholder:
    """``____``: marks the places a learner fills in. A check seeing it says "not attempted"."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "____"

    __str__ = __repr__

    def _refuse(self, *args, **kwargs):
        raise TypeError("____ is a placeholder: replace it with your answer, then run the cell again.")

    for _name in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
                  "__rtruediv__", "__floordiv__", "__rfloordiv__", "__pow__", "__rpow__", "__neg__",
                  "__int__", "__float__", "__index__", "__iter__", "__len__", "__call__", "__getitem__",
                  "__lt__", "__le__", "__gt__", "__ge__", "__bool__"):
        locals()[_name] = _refuse
    del _name


____ = Placeholder()


def _mentions_placeholder(obj, seen=None) -> bool:
    """True when a function (or one it defines inside) still refers to the name ``____``."""
    code = getattr(obj, "__code__", None)
    if code is None:
        return False
    stack = [code]
    while stack:
        c = stack.pop()
        if "____" in c.co_names or "____" in c.co_freevars:
            return True
        stack.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    return False


def _contains_placeholder(answer) -> bool:
    if callable(answer) and _mentions_placeholder(answer):
        return True
    if isinstance(answer, list | tuple | set):
        return any(a is ____ for a in answer)
    if isinstance(answer, dict):
        return any(v is ____ for v in answer.values()) or any(k is ____ for k in answer)
    return False
