"""What a notebook's cells say: their code, the names they define, the checks and hints they call,
and the "Correct" results their outputs show."""

from __future__ import annotations

import re

from .common import CORRECT, MIME_TYPE

_CLAIM_RE = re.compile(r"^[ \t]*Correct(?::[ \t]*(\d\d\.\d+)\b|[!.]?[ \t]*$)", re.M)
_QREF_RE = re.compile(r"\bq(\d+)\.(?:check|hint|solution|show)\b")
_HINT_RE = re.compile(r"^[^#\n]*\bq(\d+)\.hint\(\s*(\d*)\s*\)", re.M)
_SOLUTION_RE = re.compile(r"^[^#\n]*\bq(\d+)\.solution\(\s*\)", re.M)
_CHECK_CALL_RE = re.compile(r"\bq\d+\.(?:check|show)\(")


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _code_sources(nb: dict) -> list[tuple[int, str]]:
    return [(i, _source(c)) for i, c in enumerate(nb.get("cells", [])) if c.get("cell_type") == "code"]


def _defined_names(source: str) -> set[str]:
    """Names a cell binds at top level (def, class, assignment), read with ast; magics are skipped."""
    import ast

    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n"))
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _claims(cells, lesson: str) -> tuple[dict, list]:
    """What the notebook's outputs say was "Correct": {question: {"text": [cells], "display": count}}.

    ``display``: the check's own display (with its machine-readable payload); ``text``: a printed or
    displayed line that looks like a check's "Correct" line but carries no payload (a real check in
    Jupyter always sends the payload, so such a line was written by the notebook itself).
    """
    claims: dict[str, dict] = {}
    loose = []
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        refs = sorted({f"{lesson}.{n}" for n in _QREF_RE.findall(_source(cell))})
        for out in cell.get("outputs", []):
            data = out.get("data") or {}
            payload = data.get(MIME_TYPE)
            if isinstance(payload, dict):
                if payload.get("status") == CORRECT and payload.get("problem"):
                    claims.setdefault(str(payload["problem"]), {"text": [], "display": 0})["display"] += 1
                continue
            text = out.get("text") if out.get("output_type") == "stream" else data.get("text/plain", "")
            text = "".join(text) if isinstance(text, list) else str(text or "")
            for match in _CLAIM_RE.finditer(text):
                ids = [match.group(1)] if match.group(1) else refs
                if not ids:
                    loose.append(index)
                for qid in ids:
                    claims.setdefault(qid, {"text": [], "display": 0})["text"].append(index)
    return claims, loose


def stored_claims(nb: dict) -> set[str]:
    """The questions the submitted file's saved outputs show as "Correct" (a check's payload or its line)."""
    found = set()
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) or []:
            data = out.get("data") or {}
            payload = data.get(MIME_TYPE)
            if isinstance(payload, dict) and payload.get("status") == CORRECT:
                found.add(str(payload.get("problem")))
            text = out.get("text") if out.get("output_type") == "stream" else data.get("text/plain", "")
            text = "".join(text) if isinstance(text, list) else str(text or "")
            found.update(m.group(1) for m in _CLAIM_RE.finditer(text) if m.group(1))
    return found


def _help_used(nb: dict) -> tuple[dict[str, int], set[str]]:
    """The highest hint level each question's hint() was called with, and the questions whose solution() ran."""
    hints: dict[str, int] = {}
    seen = set()
    for _, src in _code_sources(nb):
        for number, level in _HINT_RE.findall(src):
            hints[number] = max(hints.get(number, 0), int(level or 1))
        seen.update(_SOLUTION_RE.findall(src))
    return hints, seen


def _cell_number(index) -> int:
    """A 0-based cell index of the submitted notebook -> the 1-based cell number (markdown cells count)."""
    return int(index) + 1


def _cell_name(cells, index) -> str:
    """``cell 17 (`ms_out_channels = 4 * 32`)``: its number, counting every cell from 1, and its first line."""
    lines = [line.strip() for line in _source(cells[int(index)]).split("\n")] if int(index) < len(cells) else []
    first = next((line for line in lines if line and not line.startswith("#")), "")
    first = first if len(first) <= 50 else first[:47] + "..."
    return f"cell {_cell_number(index)}" + (f" (`{first}`)" if first else "")
