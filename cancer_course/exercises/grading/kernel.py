"""In the learner's kernel, after their cells: grade the answers with checks loaded afresh, look for tampering.

The grader cell loads this file by its path (not as part of the package), so it imports nothing of
cancer_course at module level: the statuses come from the freshly loaded core.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections import Counter


class _CheckTimeout(BaseException):
    """Raised by the alarm when one check runs past --check-timeout (BaseException: the check's
    own ``except Exception`` does not swallow it)."""


def grade_in_kernel(namespace: dict, lesson: str, package_dir: str, result_path: str, nonce: str,
                    check_timeout: float) -> None:
    """Grade the learner's answers in ``namespace`` with checks loaded afresh from ``package_dir``.

    Runs inside the learner's kernel (the grader cell loads this file by its path and calls it).
    Writes ``result_path`` (JSON with ``nonce``) after every question, so a check that never
    returns still leaves the others' results.
    """
    record = {"nonce": nonce, "lesson": lesson, "questions": [], "tampering": {}, "genuine": {},
              "complete": False, "error": None}

    def save():
        tmp = result_path + ".part"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(record, fh)
        os.replace(tmp, result_path)

    session = {n: m for n, m in list(sys.modules.items())
               if m is not None and (n == "cancer_course.exercises" or n.startswith("cancer_course.exercises."))}
    try:
        fresh = _load_fresh_checks(package_dir, lesson)
    except BaseException as exc:  # noqa: BLE001 - whatever the learner's session did, report it
        record["error"] = f"the grader could not load the checks: {type(exc).__name__}: {_one_line(exc)}"
        save()
        return
    core = fresh["cancer_course.exercises.core"]
    problems = list(fresh[f"cancer_course.exercises.ex{lesson}"].PROBLEMS)
    try:
        record["tampering"] = _find_tampering(session, fresh, namespace, problems, package_dir, lesson)
    except Exception as exc:  # the comparison itself failed: say so rather than trust the session
        record["tampering"] = {"*": [f"the grader could not inspect the session ({type(exc).__name__}: "
                                     f"{_one_line(exc)})"]}
    old_core = session.get("cancer_course.exercises.core")
    history = getattr(old_core, "HISTORY", []) if old_core is not None else []
    try:
        record["genuine"] = dict(Counter(str(getattr(r, "problem", "")) for r in list(history)
                                         if getattr(r, "status", None) == core.CORRECT))
    except Exception:
        record["genuine"] = {}
    save()
    for problem in problems:
        entry = {"id": problem.id, "missing": [n for n in problem.names if n not in namespace]}
        answers = tuple(_fresh_placeholders(namespace.get(n, core.____), core) for n in problem.names)
        try:
            with _alarm(check_timeout):
                result = problem.evaluate(*answers)
            entry.update(status=result.status, message=result.message)
        except _CheckTimeout:
            entry.update(status=core.INCORRECT, message=f"the check of your answer did not finish within "
                         f"{check_timeout:g} s: does your code loop forever, or do far more work than asked?")
        except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt from the answer's code
            entry.update(status=core.INCORRECT, message=f"running your answer stopped the check: {type(exc).__name__}: "
                         f"{_one_line(exc)}")
        record["questions"].append(entry)
        save()
    record["complete"] = True
    save()


class _alarm:
    """``with _alarm(seconds):`` raises _CheckTimeout in the main thread after `seconds` (POSIX; else no limit)."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.previous = None

    def __enter__(self):
        if hasattr(signal, "setitimer") and self.seconds and self.seconds > 0:
            try:
                self.previous = signal.signal(signal.SIGALRM, self._fire)
                signal.setitimer(signal.ITIMER_REAL, float(self.seconds))
            except ValueError:  # not the main thread
                self.previous = None
        return self

    @staticmethod
    def _fire(signum, frame):
        raise _CheckTimeout()

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)
        return False


# The modules core imports, in the order they import each other: each is loaded before its importers.
_CORE_PARTS = ("_results", "_placeholder", "_messages", "_checking")


def _lesson_part(name: str) -> str | None:
    """``"14"`` for a part of lesson 14's module (``_ex14_card``: imported by ex14 only), else None."""
    if name.startswith("_ex") and name[3:5].isdigit() and name[5:6] == "_":
        return name[3:5]
    return None


def _load_fresh_checks(package_dir: str, lesson: str) -> dict:
    """Load cancer_course.exercises (core and its parts, helpers, exNN's parts, exNN) again from `package_dir`.

    Every module is loaded from its own path (no import hook or finder of the session's is asked);
    the session's copies are taken out of sys.modules first. The other cancer_course modules stay
    (reloading them would register Keras objects twice); _find_tampering inspects them instead.
    """
    import importlib.util

    folder = os.path.join(package_dir, "exercises")
    for name in [n for n in sys.modules if n == "cancer_course.exercises" or n.startswith("cancer_course.exercises.")]:
        del sys.modules[name]
    fresh = {}

    def load(name, path, package=False):
        spec = importlib.util.spec_from_file_location(
            name, path, submodule_search_locations=[folder] if package else None)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        fresh[name] = module
        return spec, module

    pkg_spec, pkg = load("cancer_course.exercises", os.path.join(folder, "__init__.py"), package=True)
    helpers = sorted(f[:-3] for f in os.listdir(folder) if f.startswith("_") and f.endswith(".py")
                     and f != "__init__.py")
    # A lesson's own parts (_ex14_card.py for ex14) come right before it; other lessons' are not loaded.
    own = [name for name in helpers if _lesson_part(name) == lesson]
    helpers = [name for name in helpers if _lesson_part(name) is None]
    parts = [name for name in _CORE_PARTS if name in helpers]
    helpers = parts + ["core"] + [name for name in helpers if name not in parts] + own + [f"ex{lesson}"]
    for name in helpers:
        spec, module = load(f"cancer_course.exercises.{name}", os.path.join(folder, f"{name}.py"))
        spec.loader.exec_module(module)
        setattr(pkg, name, module)
    pkg_spec.loader.exec_module(pkg)
    parent = sys.modules.get("cancer_course")
    if parent is not None:
        parent.exercises = pkg
    return fresh


def _fresh_placeholders(value, core):
    """The session's ``____`` (an object of the session's Placeholder class) as the fresh one."""
    def swap(v):
        t = type(v)
        if t.__name__ == "Placeholder" and t.__module__ == "cancer_course.exercises._placeholder":
            return core.____
        return v
    if isinstance(value, list):
        return [swap(v) for v in value]
    if isinstance(value, tuple) and type(value) is tuple:
        return tuple(swap(v) for v in value)
    if isinstance(value, set):
        return {swap(v) for v in value}
    if isinstance(value, dict):
        return {swap(k): swap(v) for k, v in value.items()}
    return swap(value)


_IGNORED_CLASS_KEYS = {"__dict__", "__weakref__", "__doc__", "__module__", "_abc_impl", "__annotations__",
                       "__parameters__", "__orig_bases__"}


def _unwrap(value):
    if isinstance(value, staticmethod | classmethod):
        return value.__func__
    if isinstance(value, property):
        return value.fget
    return value


def _replaced(old, new, roots) -> bool:
    """True when the session's `old` is not the package's own code where the package has the function `new`.

    Judged by where the code comes from, not by equality with the file now on disk (a package
    updated between the session's import and the grader's is not tampering): a function written in
    the notebook, another function put in its place, or something that is no function at all.
    """
    import types

    old, new = _unwrap(old), _unwrap(new)
    if not isinstance(new, types.FunctionType):
        return False
    if not isinstance(old, types.FunctionType):
        return True
    return _from_notebook(old, roots) or old.__qualname__ != new.__qualname__


def _class_changes(old, new, roots) -> list[str]:
    """The members of the session's class `old` that are not the package's own code."""
    if not isinstance(old, type):
        return ["replaced by something that is not a class"]
    changed = []
    for key, value in vars(old).items():
        if key in _IGNORED_CLASS_KEYS:
            continue
        if key in vars(new):
            if _replaced(value, vars(new)[key], roots):
                changed.append(key)
        elif callable(_unwrap(value)) and _from_notebook(value, roots):
            changed.append(key)
    return sorted(changed)


def _trusted_roots(package_dir: str) -> list[str]:
    import sysconfig

    roots = {os.path.realpath(package_dir)}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        try:
            roots.add(os.path.realpath(sysconfig.get_paths()[key]))
        except KeyError:
            pass
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix}:
        roots.add(os.path.realpath(os.path.join(prefix, "lib")))
    roots.update(os.path.realpath(p) for p in sys.path if p and "site-packages" in p)
    return sorted(roots)


def _from_notebook(func, roots) -> bool:
    """True when a function's code was written outside the installed packages (in a notebook cell)."""
    code = getattr(_unwrap(func), "__code__", None)
    if code is None or code.co_filename.startswith("<"):
        return False
    path = os.path.realpath(code.co_filename)
    return not any(path == r or path.startswith(r + os.sep) for r in roots)


def _find_tampering(session, fresh, namespace, problems, package_dir, lesson) -> dict[str, list[str]]:
    """{question id or "*" (every question): [what was changed]} - the session's checks against fresh ones."""
    import builtins
    import types

    found: dict[str, list[str]] = {}

    def add(key, message):
        if message not in found.setdefault(key, []):
            found[key].append(message)

    lesson_name = f"cancer_course.exercises.ex{lesson}"
    by_number = {f"q{p.number}": p for p in problems}
    own = {lesson_name} | {name for name in fresh if _lesson_part(name.rpartition(".")[2]) == lesson}
    owners: dict[str, list[str]] = {}
    for p in problems:
        for klass in type(p).__mro__:
            if klass.__module__ in own:  # a problem's class, in exNN or in one of its parts
                owners.setdefault(klass.__qualname__, []).append(p.id)
    roots = _trusted_roots(package_dir)
    for name, new_mod in fresh.items():
        old_mod = session.get(name)
        if old_mod is None:
            continue
        short = name.replace("cancer_course.exercises", "exercises")
        old_vars = vars(old_mod)
        for attr, new in vars(new_mod).items():
            if attr.startswith("__") or attr not in old_vars:
                continue
            old = old_vars[attr]
            if name == lesson_name and attr in by_number:
                _compare_problem(old, new, attr, by_number[attr].id, roots, add)
            elif isinstance(new, type) and new.__module__ == name:
                changed = _class_changes(old, new, roots)
                if changed:
                    for key in owners.get(new.__qualname__, ["*"]):
                        add(key, f"the checker class `{short}.{attr}` was changed in the notebook "
                                 f"({', '.join(changed)})")
            elif _replaced(old, new, roots):
                add("*", f"`{short}.{attr}` was replaced in the notebook")
    old_lesson = session.get(lesson_name)
    for qname, problem in by_number.items():
        if qname in namespace and (old_lesson is None or namespace[qname] is not getattr(old_lesson, qname, None)):
            add(problem.id, f"`{qname}` in the notebook is not the course's problem object (it was redefined), so "
                            "its check is not the course's")
    for name, module in list(sys.modules.items()):
        inspect_it = (name == "cancer_course" or name.startswith("cancer_course.")) and not name.startswith(
            "cancer_course.exercises")
        if not inspect_it and name not in ("json", "os", "os.path", "importlib", "importlib.util", "signal"):
            continue
        for attr, value in list(vars(module).items()):
            if isinstance(value, types.FunctionType) and _from_notebook(value, roots):
                add("*", f"`{name}.{attr}` was replaced by code written in the notebook")
            elif isinstance(value, type) and value.__module__ == name:
                for key, member in list(vars(value).items()):
                    if _from_notebook(member, roots):
                        add("*", f"`{name}.{attr}.{key}` was replaced by code written in the notebook")
    for attr in ("open", "print", "isinstance", "issubclass", "getattr", "setattr", "hasattr", "len", "repr",
                 "compile", "exec", "eval", "sorted", "any", "all", "iter", "next", "vars", "callable"):
        if type(getattr(builtins, attr, None)) is not types.BuiltinFunctionType:
            add("*", f"the built-in `{attr}` was replaced in the notebook")
    return found


def _compare_problem(old, new, attr, qid, roots, add) -> None:
    if type(old).__qualname__ != type(new).__qualname__ or type(old).__module__ != type(new).__module__:
        add(qid, f"`{attr}` in the checker module was replaced by another object ({type(old).__name__})")
        return
    new_vars = vars(new)
    for key, value in vars(old).items():
        if key == "last_result":
            continue
        if key not in new_vars:
            what = "redefined" if callable(value) else "added"
            add(qid, f"`{attr}.{key}` was {what} in the notebook (a check of your own does not count)")
        elif _replaced(value, new_vars[key], roots) or (not callable(value) and value != new_vars[key]):
            add(qid, f"`{attr}.{key}` was changed in the notebook")


def _one_line(value, limit: int = 300) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
