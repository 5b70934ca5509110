"""The import graph of the cancer_course package, built from the source (ast), without importing it.

Every ``import`` of a cancer_course module is an edge, relative or absolute, at module level or
inside a function. Module-level imports must never form a cycle. A function-level import that
closes a cycle hides the same knot (each module needs the other), so those are refused too,
except for the few listed in KNOWN_CYCLES with the reason they remain. Function-level imports
that exist to keep TensorFlow out of a command that does not need it are listed in
AVOID_TENSORFLOW, and the test checks that each really does.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "cancer_course"
TENSORFLOW = ("tensorflow", "keras", "keras_tuner")

# Cycles that go through modules other sessions are restructuring (issue 17, items 5 and 7), or that
# a lesson still needs; each is the set of modules that reach each other. Delete it once it is gone.
KNOWN_CYCLES: list[set[str]] = []

# (importer, imported): imports kept inside a function only so that importing the importer, for
# a command or a lesson that never calls that function, does not import TensorFlow.
AVOID_TENSORFLOW = [
    # the subcommands' parsers are built without TensorFlow: `--help` answers at once (test_cli_help.py)
    ("cancer_course.commands.train", "cancer_course.model"),
    ("cancer_course.commands.train", "cancer_course.pipeline"),
    ("cancer_course.commands.train", "cancer_course.training"),
    ("cancer_course.commands.train", "cancer_course.transfer"),
    ("cancer_course.evaluation.report", "cancer_course.model"),  # `evaluate` counts parameters only of a loaded model
    ("cancer_course.exercises.ex02", "cancer_course.blocks"),  # exercise checks build Keras layers only when run:
    ("cancer_course.exercises.ex03", "cancer_course.blocks"),  # `cancer-course exercises` imports every ex module
    ("cancer_course.exercises.ex04", "cancer_course.blocks"),
    ("cancer_course.exercises.ex05", "cancer_course.blocks"),
    ("cancer_course.exercises.ex05", "cancer_course.model"),
    ("cancer_course.exercises.ex07", "cancer_course.training"),
    ("cancer_course.exercises.ex08", "cancer_course.experiments"),
    ("cancer_course.exercises.ex11", "cancer_course.explain"),
    ("cancer_course.inference", "cancer_course.blocks"),  # `predict --help` and its argument checks stay light
    ("cancer_course.inference", "cancer_course.pipeline"),
    ("cancer_course.modelcard", "cancer_course.model"),  # a card is written from saved numbers
    ("cancer_course.widgets.grad_cam", "cancer_course.explain"),  # the data and metric explorers need no TensorFlow
]


def module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(package: Path = PACKAGE) -> dict[str, Path]:
    return {module_name(p, package): p for p in sorted(package.rglob("*.py"))}


def _targets(node: ast.Import | ast.ImportFrom, importer: str, is_package: bool, known: set[str]) -> set[str]:
    """The cancer_course modules an import statement names (``from . import x`` names module ``.x``)."""
    if isinstance(node, ast.Import):
        return {a.name for a in node.names if a.name.split(".")[0] == "cancer_course"}
    if node.level:
        base = importer.split(".") if is_package else importer.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
        if source.split(".")[0] != "cancer_course":
            return set()
    return {f"{source}.{a.name}" if f"{source}.{a.name}" in known else source for a in node.names}


def imports(path: Path, name: str, known: set[str]) -> tuple[set[str], set[str], set[str]]:
    """(module-level targets, function-level targets, external top-level packages at module level)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    top, inner, external = set(), set(), set()
    is_package = path.name == "__init__.py"

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                (inner if in_function else top).update(_targets(child, name, is_package, known) - {name})
                if not in_function:
                    if isinstance(child, ast.Import):
                        external.update(a.name.split(".")[0] for a in child.names)
                    elif not child.level and child.module:
                        external.add(child.module.split(".")[0])
            visit(child, in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda))

    visit(tree, False)
    return top, inner, external


@cache
def graph(package: Path = PACKAGE) -> tuple[dict[str, set[str]], dict[str, set[str]], dict[str, set[str]]]:
    mods = modules(package)
    top, inner, external = {}, {}, {}
    for name, path in mods.items():
        top[name], inner[name], external[name] = imports(path, name, set(mods))
    return top, inner, external


def tangles(edges: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected groups of two or more modules (Tarjan): each module reaches the others."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def strongconnect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(edges):
        if v not in index:
            strongconnect(v)
    return groups


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One closed path per group of :func:`tangles`, e.g. [a, b, a]."""
    return [_path_through(group, edges) for group in tangles(edges)]


def _path_through(group: set[str], edges: dict[str, set[str]]) -> list[str]:
    """A closed path inside `group`, starting at its first module, for the failure message."""
    start = min(group)
    paths = [[start]]
    while paths:
        path = paths.pop(0)
        for nxt in sorted(edges.get(path[-1], set()) & group):
            if nxt == start:
                return path + [start]
            if nxt not in path:
                paths.append(path + [nxt])
    return sorted(group)


def imports_tensorflow(name: str, top: dict[str, set[str]], external: dict[str, set[str]]) -> bool:
    """Whether importing `name` imports TensorFlow through module-level imports (also of its packages)."""
    seen, todo = set(), [name]
    while todo:
        mod = todo.pop()
        if mod in seen:
            continue
        seen.add(mod)
        if external.get(mod, set()) & set(TENSORFLOW):
            return True
        parts = mod.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))  # a submodule imports its package
        todo.extend(top.get(mod, ()))
    return False


def _message(found: list[list[str]], kind: str) -> str:
    lines = "\n".join("  " + " -> ".join(path) for path in found)
    return (f"{kind} in cancer_course:\n{lines}\nMove what both modules need into a lower module "
            "(config holds profiles and paths and imports nothing from the package) or import in the "
            "other direction only.")


def test_the_graph_sees_relative_absolute_and_function_level_imports(tmp_path):
    pkg = tmp_path / "cancer_course"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from . import b\nimport tensorflow as tf\n")
    (pkg / "b.py").write_text("def f():\n    from cancer_course.sub import c\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "c.py").write_text("from ..a import x\nfrom .. import b\n")
    top, inner, external = graph(pkg)
    assert top["cancer_course.a"] == {"cancer_course.b"}
    assert inner["cancer_course.b"] == {"cancer_course.sub.c"} and not top["cancer_course.b"]
    assert top["cancer_course.sub.c"] == {"cancer_course.a", "cancer_course.b"}
    assert cycles(top) == []
    full = {m: top[m] | inner[m] for m in top}
    assert cycles(full) == [["cancer_course.a", "cancer_course.b", "cancer_course.sub.c", "cancer_course.a"]]
    assert imports_tensorflow("cancer_course.sub.c", top, external)
    assert not imports_tensorflow("cancer_course.b", top, external)


def test_no_cycle_among_module_level_imports():
    top, _, _ = graph()
    assert len(top) > 20, f"found only {len(top)} modules under {PACKAGE}"
    found = cycles(top)
    assert not found, _message(found, "Import cycles among module-level imports")


def test_no_cycle_through_function_level_imports_beyond_the_known_ones():
    top, inner, _ = graph()
    full = {m: top[m] | inner[m] for m in top}
    groups = tangles(full)
    found = [_path_through(group, full) for group in groups if group not in KNOWN_CYCLES]
    assert not found, _message(found, "Import cycles closed by function-level imports")
    gone = [sorted(known) for known in KNOWN_CYCLES if known not in groups]
    assert not gone, f"these cycles are gone: delete them from KNOWN_CYCLES in {Path(__file__).name}: {gone}"


def test_the_command_line_imports_no_tensorflow_at_module_level():
    top, _, external = graph()
    light = ["cancer_course.cli"] + [m for m in top if m.startswith("cancer_course.commands")]
    assert len(light) >= 7, f"found only {light}"
    heavy = [m for m in light if imports_tensorflow(m, top, external)]
    assert not heavy, (f"{heavy} import TensorFlow at module level, so `cancer-course --help` would too: import "
                       "the learner module inside the command's run() and list the pair in AVOID_TENSORFLOW")


@pytest.mark.parametrize("importer, imported", AVOID_TENSORFLOW, ids=lambda x: x.removeprefix("cancer_course."))
def test_function_level_imports_listed_as_avoiding_tensorflow_do(importer, imported):
    top, inner, external = graph()
    assert imported in inner[importer] and imported not in top[importer], (
        f"{importer} no longer imports {imported} inside a function: remove the pair from AVOID_TENSORFLOW")
    assert imports_tensorflow(imported, top, external), (
        f"{imported} does not import TensorFlow at module level, so {importer} can import it at the top: "
        "do that and remove the pair from AVOID_TENSORFLOW")
    assert not imports_tensorflow(importer, top, external), (
        f"{importer} imports TensorFlow at module level anyway, so its function-level import of {imported} "
        "saves nothing: import it at the top and remove the pair from AVOID_TENSORFLOW")
