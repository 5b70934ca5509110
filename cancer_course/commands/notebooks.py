"""Notebook conventions: every lesson, exercise and solution notebook follows them.

The rules (checked by ``cancer-course notebooks check`` and by the test suite):

1. ``title``      - exactly one H1 title, the first line of the first cell.
2. ``badge``      - directly under it, an "Open in Colab" badge whose URL points at the
                    notebook's own path in the repository named in ``pyproject.toml``.
3. ``notice``     - a research-and-education-only notice near the top.
4. ``setup``      - a setup cell that detects Colab, installs only what is missing there,
                    and calls ``check_environment()`` (minimum versions, version table, GPU
                    advice, "Setup complete").
5. ``parameters`` - a cell tagged ``parameters`` that sets ``PROFILE``.
6. ``outputs``    - outputs stripped, except cells that keep theirs on purpose (cell metadata
                    ``keep_output: true`` and a first line ``# NBVAL_CHECK_OUTPUT``).
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from pathlib import Path

from ..config import repo_root  # the one definition; tests and exercises import it from here too
from ..errors import CourseError
from .lessons import kernel_name

NOTEBOOK_DIRS = ("notebooks", "solutions", "exercises")
COLAB_BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
NBVAL_MARKER = "# NBVAL_CHECK_OUTPUT"
SETUP_MARKER = '"google.colab" in sys.modules'  # what makes a code cell the setup cell
_BADGE_RE = re.compile(r"\[!\[Open In Colab\]\(" + re.escape(COLAB_BADGE_IMAGE) + r"\)\]\(([^)]*)\)")
_COLAB_URL_RE = re.compile(r"https://colab\.research\.google\.com/github/[^)\s\"']+")
_INSTALL_RE = re.compile(r"git\+https://github\.com/[\w.-]+/[\w.-]+@[\w./-]+")
_NOTICE_RE = re.compile(r"research and education only", re.IGNORECASE)
_CLINICAL_RE = re.compile(r"not (for|a) (clinical|medical)", re.IGNORECASE)


def repo_setting(root: Path) -> tuple[str, str]:
    """(OWNER/REPO, branch) from ``[tool.cancer-course]`` in pyproject.toml."""
    data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    section = data.get("tool", {}).get("cancer-course", {})
    return section.get("github-repo", "OWNER/REPO"), section.get("branch", "main")


def colab_url(root: Path, notebook: Path) -> str:
    repo, branch = repo_setting(root)
    rel = Path(notebook).resolve().relative_to(root.resolve()).as_posix()
    return f"https://colab.research.google.com/github/{repo}/blob/{branch}/{rel}"


def badge_markdown(url: str) -> str:
    return f"[![Open In Colab]({COLAB_BADGE_IMAGE})]({url})"


def install_spec(root: Path) -> str:
    repo, branch = repo_setting(root)
    return f"git+https://github.com/{repo}@{branch}"


def all_notebooks(root: Path) -> list[Path]:
    found = []
    for folder in NOTEBOOK_DIRS:
        found.extend(sorted((root / folder).glob("*.ipynb")))
    return found


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def load(path: Path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def check_notebook(path: Path, root: Path) -> list[str]:
    """Return the broken rules of one notebook as messages naming the notebook and the rule."""
    path = Path(path)
    try:
        rel = path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        rel = str(path)
    try:
        nb = load(path)
    except (OSError, json.JSONDecodeError) as exc:
        return [f"{rel}: [json] cannot be read as a notebook ({exc}); restore it from git"]
    cells = nb.get("cells", [])
    problems: list[str] = []

    def fail(rule: str, message: str) -> None:
        problems.append(f"{rel}: [{rule}] {message}")

    markdown = [_source(c) for c in cells if c.get("cell_type") == "markdown"]
    h1 = [line for text in markdown for line in text.splitlines() if re.match(r"^# \S", line)]
    first = _source(cells[0]) if cells else ""
    if len(h1) != 1:
        fail("title", f"needs exactly one H1 title ('# ...'), found {len(h1)}")
    if not (cells and cells[0].get("cell_type") == "markdown" and first.startswith("# ")):
        fail("title", "the first cell must be markdown starting with the H1 title")

    expected = colab_url(root, path)
    head = "\n".join(_source(c) for c in cells[:2] if c.get("cell_type") == "markdown")
    after_title = "\n".join(head.splitlines()[1:]).lstrip()
    match = _BADGE_RE.match(after_title)
    if not match:
        fail("badge", f"directly under the title put {badge_markdown(expected)}")
    elif match.group(1) != expected:
        fail("badge", f"badge points at {match.group(1)} but should point at {expected} "
             "(run `cancer-course notebooks restamp`)")

    top = "\n".join(markdown[:3])
    if not (_NOTICE_RE.search(top) and _CLINICAL_RE.search(top)):
        fail("notice", "the first markdown cells must say 'Research and education only' and 'not for clinical use'")

    code = [c for c in cells if c.get("cell_type") == "code"]
    setup = [c for c in code if SETUP_MARKER in _source(c)]
    if not setup:
        fail("setup", "needs a setup cell that tests '\"google.colab\" in sys.modules'")
    elif "check_environment(" not in _source(setup[0]):
        fail("setup", "the setup cell must call check_environment() (versions, GPU advice, 'Setup complete')")
    elif install_spec(root) not in _source(setup[0]):
        fail("setup", f"the setup cell's Colab install line must name {install_spec(root)} "
             "(run `cancer-course notebooks restamp`)")

    params = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(params) != 1:
        fail("parameters", f"needs exactly one cell tagged 'parameters', found {len(params)}")
    elif not re.search(r"^PROFILE\s*=\s*[\"'](smoke|laptop|full)[\"']", _source(params[0]), re.M):
        fail("parameters", "the parameters cell must set PROFILE = \"laptop\" (or smoke/full)")

    for index, cell in enumerate(code):
        keep = cell.get("metadata", {}).get("keep_output", False)
        if keep and not _source(cell).startswith(NBVAL_MARKER):
            fail("outputs", f"code cell {index} keeps its output but does not start with {NBVAL_MARKER}")
        if (cell.get("outputs") and not keep) or (cell.get("execution_count") is not None and not keep):
            fail("outputs", f"code cell {index} has committed outputs: strip them "
                 "(`nbstripout` or `cancer-course notebooks strip`)")
    return problems


def check_all(root: Path, paths: list[Path] | None = None) -> list[str]:
    notebooks = paths or all_notebooks(root)
    problems = []
    for nb in notebooks:
        problems.extend(check_notebook(nb, root))
    return problems


def restamp(root: Path, paths: list[Path] | None = None) -> list[Path]:
    """Rewrite every Colab badge URL and Colab install line from the pyproject setting."""
    changed = []
    for path in paths or all_notebooks(root):
        nb = load(path)
        url = colab_url(root, path)
        spec = install_spec(root)
        dirty = False
        for cell in nb["cells"]:
            src = _source(cell)
            if cell["cell_type"] == "markdown" and _BADGE_RE.search(src):
                new = _BADGE_RE.sub(lambda _m, url=url: badge_markdown(url), src, count=1)
            elif cell["cell_type"] == "code" and SETUP_MARKER in src:
                new = _INSTALL_RE.sub(spec, src)
            else:
                continue
            if new != src:
                cell["source"] = new.splitlines(keepends=True)
                dirty = True
        if dirty:
            save(nb, path)
            changed.append(path)
    return changed


def strip(path: Path) -> bool:
    """Strip outputs and counts except in cells marked keep_output; True when changed."""
    nb = load(path)
    before = json.dumps(nb, sort_keys=True)
    for cell in nb["cells"]:
        meta = cell.get("metadata", {})
        for key in ("execution", "collapsed", "scrolled", "ExecuteTime"):
            meta.pop(key, None)
        if cell["cell_type"] != "code":
            continue
        if not meta.get("keep_output"):
            cell["outputs"] = []
            cell["execution_count"] = None
        else:
            cell["execution_count"] = 1  # nbval skips (and rejects) checked cells that look unrun
            for out in cell["outputs"]:
                if "execution_count" in out:
                    out["execution_count"] = None
    for key in ("widgets", "papermill", "signature"):
        nb.get("metadata", {}).pop(key, None)
    if json.dumps(nb, sort_keys=True) == before:
        return False
    save(nb, path)
    return True


def refresh_checked_outputs(path: Path, profile: str = "smoke") -> int:
    """Execute a notebook and store the outputs of its ``# NBVAL_CHECK_OUTPUT`` cells in it.

    Those outputs are what nbval compares against; every other output stays stripped.
    Returns the number of cells refreshed.
    """
    import tempfile

    import papermill as pm

    with tempfile.TemporaryDirectory() as tmp:
        executed = pm.execute_notebook(str(path), str(Path(tmp) / "out.ipynb"), parameters={"PROFILE": profile},
                                       kernel_name=kernel_name(), cwd=str(Path(path).parent), progress_bar=False)
    outputs = {_source(c): c.get("outputs", []) for c in executed.cells if c.cell_type == "code"}
    nb = load(path)
    count = 0
    for cell in nb["cells"]:
        src = _source(cell)
        if cell["cell_type"] == "code" and src.startswith(NBVAL_MARKER):
            cell["outputs"] = [dict(o) for o in outputs.get(src, [])]
            cell.setdefault("metadata", {})["keep_output"] = True
            count += 1
    save(nb, path)
    strip(path)
    return count


def save(nb: dict, path: Path) -> None:
    Path(path).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


# ---------------------------------------------------------------- command line
def _cmd(args) -> int:

    root = repo_root()
    paths = [nb for p in map(Path, args.paths) for nb in (sorted(p.glob("*.ipynb")) if p.is_dir() else [p])] or None
    if args.action == "check":
        problems = check_all(root, paths)
        for p in problems:
            print(p, file=sys.stderr)
        count = len(paths or all_notebooks(root))
        if problems:
            raise CourseError(f"{len(problems)} convention problem(s) in {count} notebook(s); see above")
        print(f"{count} notebooks follow the conventions")
    elif args.action == "restamp":
        changed = restamp(root, paths)
        print(f"restamped {len(changed)} notebook(s) for {repo_setting(root)[0]}")
    elif args.action == "refresh":
        for p in paths or all_notebooks(root):
            if NBVAL_MARKER in Path(p).read_text(encoding="utf-8"):
                print(f"{p}: refreshed {refresh_checked_outputs(p)} checked cell(s)")
    elif args.action == "strip":
        changed = [p for p in (paths or all_notebooks(root)) if strip(p)]
        print(f"stripped {len(changed)} notebook(s)")
    return 0


def register_cli(sub) -> None:
    p = sub.add_parser("notebooks", help="check notebook conventions, restamp Colab badges, strip outputs")
    p.add_argument("action", choices=["check", "restamp", "strip", "refresh"],
                   help="check: conventions; restamp: Colab badges from pyproject; strip: outputs; "
                   "refresh: re-run and store the outputs of # NBVAL_CHECK_OUTPUT cells")
    p.add_argument("paths", nargs="*", help="notebooks or folders of them (default: all in notebooks/, solutions/, exercises/)")
    p.set_defaults(func=_cmd, needs_tensorflow=False)
