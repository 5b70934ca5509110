"""Exercise notebooks, generated from their solution notebooks (the single source).

``solutions/NN_slug_solutions.ipynb`` marks what the learner writes::

    def squeeze_excitation(x, ratio=16, name="se"):
        channels = x.shape[-1]
        ### BEGIN SOLUTION
        ...
        return layers.Multiply(name=f"{name}_scale")([x, gates])
        ### END SOLUTION

    q1.check(squeeze_excitation)
    q1.hint()
    q1.solution()

and :func:`build_notebook` turns it into ``exercises/NN_slug_exercises.ipynb``:

- a code region becomes ``# Your code here`` plus a stub: ``return ____`` for a ``return``
  inside a function; ``name = ____`` for an assignment outside one; nothing else;
- a markdown region becomes ``_Your answer here._``;
- ``qN.hint(...)`` and ``qN.solution()`` lines are commented out (the learner uncomments them);
- cells tagged ``solutions-only`` are dropped;
- the title's "Solutions" becomes "Exercises", the Colab badge points at the exercise copy
  (the restamp logic of :mod:`cancer_course.commands.notebooks`), outputs are stripped;
- ``metadata.cancer_course.content_sha256`` records a hash of the generated cells, so a later
  build can tell a notebook the learner has edited (kept unless ``--force``) from an untouched one.

The build is a pure function of the solution notebook and ``pyproject.toml``;
``cancer-course exercises check`` fails when a committed exercise notebook differs from it.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import json
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from ..commands import notebooks as nbconv

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
SOLUTIONS_ONLY_TAG = "solutions-only"
CODE_PROMPT = "# Your code here"
MARKDOWN_PROMPT = "_Your answer here._"
METADATA_KEY = "cancer_course"
_BEGIN_RE = re.compile(r"^(\s*)" + re.escape(BEGIN) + r"\s*$")
_END_RE = re.compile(r"^\s*" + re.escape(END) + r"\s*$")
_CALL_RE = re.compile(r"^(\s*)(q\d+\.(?:hint|solution)\(.*\)\s*(?:#.*)?)$")


class BuildError(ValueError):
    """A solution notebook whose markers cannot be turned into an exercise notebook."""


# ---------------------------------------------------------------------------------------------
# Paths
# ---------------------------------------------------------------------------------------------
def solution_notebooks(root: Path) -> list[Path]:
    return sorted((Path(root) / "solutions").glob("*_solutions.ipynb"))


def exercise_path(root: Path, solution: Path) -> Path:
    """``solutions/02_x_solutions.ipynb`` -> ``exercises/02_x_exercises.ipynb``."""
    name = Path(solution).name
    if not name.endswith("_solutions.ipynb"):
        raise BuildError(f"{name}: a solution notebook's name must end in _solutions.ipynb")
    return Path(root) / "exercises" / (name[: -len("_solutions.ipynb")] + "_exercises.ipynb")


def _rel(root: Path, path: Path) -> str:
    try:
        return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return str(path)


# ---------------------------------------------------------------------------------------------
# The transformation
# ---------------------------------------------------------------------------------------------
def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _stub(region: list[str], indent: str, where: str) -> list[str]:
    code = textwrap.dedent("\n".join(region))
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise BuildError(f"{where}: the solution region is not valid Python ({exc.msg}, line {exc.lineno})") from None
    stubs = [CODE_PROMPT]
    for node in tree.body:
        if isinstance(node, ast.Return):
            stubs.append("return ____")
        elif not indent and isinstance(node, ast.Assign):
            targets = []
            for target in node.targets:
                if isinstance(target, ast.Name):
                    targets.append(target.id)
                elif isinstance(target, ast.Tuple) and all(isinstance(e, ast.Name) for e in target.elts):
                    targets.append(", ".join(e.id for e in target.elts))
            if len(targets) == len(node.targets):
                value = ", ".join(["____"] * (targets[-1].count(",") + 1))
                stubs.append(" = ".join(targets) + f" = {value}")
    if indent and len(stubs) == 1:
        stubs.append("pass")
    return [indent + line for line in stubs]


def transform_code(source: str, where: str = "cell") -> str:
    """A solution code cell -> its exercise version (regions stubbed, hint/solution calls commented)."""
    lines = source.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        begin = _BEGIN_RE.match(line)
        if begin:
            end = next((j for j in range(i + 1, len(lines)) if _END_RE.match(lines[j])), None)
            if end is None:
                raise BuildError(f"{where}: '{BEGIN}' on line {i + 1} has no '{END}' after it")
            out.extend(_stub(lines[i + 1 : end], begin.group(1), where))
            i = end + 1
            continue
        if _END_RE.match(line):
            raise BuildError(f"{where}: '{END}' on line {i + 1} has no '{BEGIN}' before it")
        call = _CALL_RE.match(line)
        out.append(f"{call.group(1)}# {call.group(2)}" if call else line)
        i += 1
    result = "\n".join(out)
    if not any(s.lstrip().startswith(("%", "!")) for s in out):
        try:
            ast.parse(result)
        except SyntaxError as exc:
            raise BuildError(f"{where}: the exercise version is not valid Python ({exc.msg}); "
                             "put whole statements between the markers") from None
    return result


def transform_markdown(source: str, where: str = "cell") -> str:
    lines = source.split("\n")
    out, i = [], 0
    while i < len(lines):
        if _BEGIN_RE.match(lines[i]):
            end = next((j for j in range(i + 1, len(lines)) if _END_RE.match(lines[j])), None)
            if end is None:
                raise BuildError(f"{where}: '{BEGIN}' on line {i + 1} has no '{END}' after it")
            out.append(MARKDOWN_PROMPT)
            i = end + 1
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)


def _split_source(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def content_hash(nb: dict) -> str:
    """sha256 of the cells' types and sources: what a learner changes when they edit a notebook."""
    cells = [[c.get("cell_type"), _source(c)] for c in nb.get("cells", [])]
    return hashlib.sha256(json.dumps(cells, ensure_ascii=False).encode("utf-8")).hexdigest()


def _retitle(text: str, where: str) -> str:
    lines = text.split("\n")
    if not lines or not lines[0].startswith("# ") or "Solutions" not in lines[0]:
        raise BuildError(f"{where}: the H1 title must contain the word 'Solutions' (it becomes 'Exercises')")
    lines[0] = lines[0].replace("Solutions", "Exercises", 1)
    return "\n".join(lines)


def build_notebook(solution: dict, root: Path, exercise: Path, solution_rel: str = "solution") -> dict:
    """The exercise notebook generated from a solution notebook (a pure function; input untouched)."""
    nb = copy.deepcopy(solution)
    cells = []
    url = nbconv.colab_url(Path(root), Path(exercise))
    spec = nbconv.install_spec(Path(root))
    for index, cell in enumerate(nb.get("cells", [])):
        tags = cell.get("metadata", {}).get("tags", [])
        if SOLUTIONS_ONLY_TAG in tags:
            continue
        where = f"{solution_rel}, cell {index}"
        src = _source(cell)
        if cell["cell_type"] == "code":
            src = transform_code(src, where)
            if '"google.colab" in sys.modules' in src:
                src = nbconv._INSTALL_RE.sub(spec, src)
            cell["outputs"] = []
            cell["execution_count"] = None
        elif cell["cell_type"] == "markdown":
            src = transform_markdown(src, where)
            if not cells:
                src = _retitle(src, where)
            if nbconv._BADGE_RE.search(src):
                src = nbconv._BADGE_RE.sub(lambda _m: nbconv.badge_markdown(url), src, count=1)
        meta = cell.get("metadata", {})
        for key in ("execution", "collapsed", "scrolled", "ExecuteTime"):
            meta.pop(key, None)
        cell["source"] = _split_source(src)
        cells.append(cell)
    nb["cells"] = cells
    metadata = nb.setdefault("metadata", {})
    for key in ("widgets", "papermill", "signature"):
        metadata.pop(key, None)
    metadata[METADATA_KEY] = {
        "generated_from": solution_rel,
        "note": "Generated by `cancer-course exercises build`; edit the solution notebook instead.",
        "content_sha256": content_hash(nb),
    }
    return nb


def build_for(root: Path, solution_path: Path) -> tuple[Path, dict]:
    """(exercise path, fresh exercise notebook) for one solution notebook."""
    root = Path(root)
    target = exercise_path(root, solution_path)
    solution = nbconv.load(solution_path)
    return target, build_notebook(solution, root, target, _rel(root, solution_path))


def is_learner_edited(nb: dict) -> bool:
    """True when a generated notebook's cells no longer match the hash stored when it was built."""
    stored = nb.get("metadata", {}).get(METADATA_KEY, {}).get("content_sha256")
    return stored is None or stored != content_hash(nb)


# ---------------------------------------------------------------------------------------------
# Build and check
# ---------------------------------------------------------------------------------------------
@dataclass
class BuildReport:
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)


def build(root: Path, solutions: list[Path] | None = None, force: bool = False) -> BuildReport:
    """Write ``exercises/`` from ``solutions/``; never overwrite a learner-edited notebook unless ``force``."""
    root = Path(root)
    report = BuildReport()
    for solution_path in solutions or solution_notebooks(root):
        target, fresh = build_for(root, Path(solution_path))
        if target.exists():
            try:
                current = nbconv.load(target)
            except (OSError, json.JSONDecodeError):
                current = None
            if current == fresh:
                report.unchanged.append(target)
                continue
            if not force and (current is None or is_learner_edited(current)):
                report.kept.append(target)
                continue
        target.parent.mkdir(parents=True, exist_ok=True)
        nbconv.save(fresh, target)
        report.written.append(target)
    return report


def check(root: Path) -> list[str]:
    """Problems, one line each naming the notebook: missing, out of date or orphaned exercises."""
    root = Path(root)
    problems = []
    expected = set()
    for solution_path in solution_notebooks(root):
        try:
            target, fresh = build_for(root, solution_path)
        except BuildError as exc:
            problems.append(f"{_rel(root, solution_path)}: {exc}")
            continue
        expected.add(target.name)
        rel = _rel(root, target)
        if not target.exists():
            problems.append(f"{rel}: missing; run `cancer-course exercises build`")
            continue
        try:
            current = nbconv.load(target)
        except (OSError, json.JSONDecodeError) as exc:
            problems.append(f"{rel}: cannot be read ({exc}); run `cancer-course exercises build --force`")
            continue
        if current != fresh:
            why = ("it was edited by hand" if is_learner_edited(current)
                   else f"{_rel(root, solution_path)} changed since it was built")
            problems.append(f"{rel}: differs from a fresh build of {_rel(root, solution_path)} ({why}); "
                            "run `cancer-course exercises build" + (" --force`" if is_learner_edited(current) else "`"))
    for path in sorted((root / "exercises").glob("*.ipynb")):
        if path.name not in expected:
            problems.append(f"{_rel(root, path)}: no solution notebook generates it "
                            f"(expected solutions/{path.name.replace('_exercises.ipynb', '_solutions.ipynb')})")
    return problems
