"""Executing a notebook of notebooks/ under papermill, as ./run_all.sh does, and reading it back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import papermill

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def execute(name: str, out: Path, **parameters: Any) -> nbformat.NotebookNode:
    papermill.execute_notebook(
        str(NOTEBOOKS / name), str(out), parameters=parameters, kernel_name="python3",
        cwd=str(NOTEBOOKS), progress_bar=False,
    )  # fmt: skip
    return nbformat.read(out, as_version=4)


def outputs(nb: nbformat.NotebookNode, kind: str) -> list[Any]:
    """All outputs of the code cells: ``kind`` is 'image/png', 'text/markdown' or 'text'."""
    found = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if kind == "text" and out.get("output_type") == "stream":
                found.append(out["text"])
            elif kind in out.get("data", {}):
                found.append(out["data"][kind])
    return found
