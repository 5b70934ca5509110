"""Repository-wide pytest hooks.

nbval (``--nbval-lax``) collects every notebook given on the command line. Papermill already
executes every notebook (tests/test_notebooks.py), so nbval only needs the notebooks that have
cells marked ``# NBVAL_CHECK_OUTPUT``: the others are skipped here instead of being run twice.
"""

from pathlib import Path

NBVAL_MARKER = "# NBVAL_CHECK_OUTPUT"


def pytest_ignore_collect(collection_path: Path, config):
    if collection_path.suffix == ".ipynb":
        return NBVAL_MARKER not in collection_path.read_text(encoding="utf-8")
    return None
