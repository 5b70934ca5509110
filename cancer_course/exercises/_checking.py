"""Helpers a check uses on an answer: does it call the package's own function (``Problem.reimplements``),
and the elements of a learner's dataset, never more than a limit (:func:`take_bounded`)."""

from __future__ import annotations

import importlib
import types

from ._results import Incorrect


def _resolve(dotted: str):
    module, _, attr = dotted.rpartition(".")
    return getattr(importlib.import_module(module), attr)


def _code_objects(code: types.CodeType):
    stack = [code]
    while stack:
        c = stack.pop()
        yield c
        stack.extend(k for k in c.co_consts if isinstance(k, types.CodeType))


def package_function_used(answer, targets, _depth: int = 0) -> str | None:
    """The dotted name of the first function of ``targets`` that ``answer`` is or calls, else None.

    ``answer`` counts as calling a target when it *is* the target (``f = evaluation.ece``), wraps
    it (``functools.partial``), refers to it by a name bound to it (``from ... import f as g``),
    names it as an attribute of a module it uses (``evaluation.youden_threshold(...)``, also with
    the import inside the function), or calls a function of the learner's that does (followed
    three levels deep). This reads the names in the compiled code, not its text.
    """
    if not targets or answer is None:
        return None
    resolved = {}
    for dotted in targets:
        try:
            resolved[dotted] = _resolve(dotted)
        except (ImportError, AttributeError):  # pragma: no cover - a typo in a problem's list
            continue
    func = getattr(answer, "func", answer)  # functools.partial
    for dotted, target in resolved.items():
        if func is target or getattr(func, "__wrapped__", None) is target:
            return dotted
    code = getattr(func, "__code__", None)
    if code is None:
        return None
    names = set()
    for c in _code_objects(code):
        names.update(c.co_names)
    namespace = dict(getattr(func, "__globals__", {}))
    for cell_name, cell in zip(code.co_freevars, getattr(func, "__closure__", None) or (), strict=False):
        try:
            namespace[cell_name] = cell.cell_contents
        except ValueError:  # an empty cell
            pass
        names.add(cell_name)
    for dotted, target in resolved.items():
        module = dotted.rpartition(".")[0]
        for name in names:
            value = namespace.get(name)
            if value is target or (value is not None and getattr(value, target.__name__, None) is target
                                   and target.__name__ in names):
                return dotted
        if target.__name__ in names and ({module, module.rpartition(".")[2]} & names):  # imported inside it
            return dotted
    if _depth < 3:
        for name in names:
            value = namespace.get(name)
            if (isinstance(value, types.FunctionType) and value is not func
                    and not (value.__module__ or "").startswith(("cancer_course", "keras", "tensorflow", "numpy"))):
                found = package_function_used(value, targets, _depth + 1)
                if found:
                    return found
    return None


def take_bounded(dataset, limit: int, what: str = "this dataset") -> list:
    """The elements of a learner's ``tf.data.Dataset``, as a list, never more than ``limit`` of them.

    For checks that iterate over a dataset the learner built: a dataset that never ends (``.repeat()``)
    would make the check run forever. ``take_bounded(ds, 50)`` returns every element when there are
    at most 50; it raises :class:`Incorrect` ("this dataset never ends: remove `.repeat()` ...") when
    the dataset's cardinality is infinite, and ("this dataset yields more than 50 elements ...") when
    it yields more than ``limit``. ``what`` names the dataset in the message ("one epoch of
    make_pipeline(...)"). Pick ``limit`` well above what a right answer yields (twice is plenty).
    """
    import tensorflow as tf

    cardinality = int(dataset.cardinality())
    if cardinality == int(tf.data.INFINITE_CARDINALITY):
        raise Incorrect(f"{what} never ends: remove `.repeat()` (Keras' fit repeats the dataset for each epoch; "
                        "an epoch must end for the check, and for fit without steps_per_epoch, to move on).")
    elements = list(dataset.take(limit + 1))
    if len(elements) > limit:
        raise Incorrect(f"{what} yields more than {limit} elements, far more than one pass over its source: "
                        "if it repeats, remove `.repeat()`; one epoch reads every element once.")
    return elements
