"""The notebooks of notebooks/: their hygiene, executing one under papermill as ./run_all.sh
does, and reading its outputs back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import papermill

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def clean_notebook(path: Path) -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
    """The notebook and its one ``parameters`` cell, after checking that it is kept clean.

    Asserts that no code cell has outputs or an execution count (executed copies go to
    results/) and that exactly one cell, a code cell, is tagged ``parameters``.
    """
    nb = nbformat.read(path, as_version=4)
    dirty = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and (c.outputs or c.execution_count is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; executed copies go to results/"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0].cell_type == "code", f"{path.name}: parameters cells"
    return nb, tagged[0]


def execute(name: str, out: Path, **parameters: Any) -> nbformat.NotebookNode:
    """Execute ``notebooks/<name>`` with ``parameters`` into ``out``; return the executed copy."""
    papermill.execute_notebook(
        str(NOTEBOOKS / name),
        str(out),
        parameters=parameters,
        kernel_name="python3",
        cwd=str(NOTEBOOKS),
        progress_bar=False,
    )
    return nbformat.read(out, as_version=4)


def outputs(nb: nbformat.NotebookNode, kind: str) -> list[Any]:
    """All outputs of the code cells: ``kind`` is 'image/png', 'text/markdown', 'text', or
    'figures' (each output that shows images: a PNG, or saved PNGs embedded in HTML)."""
    found = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if kind == "text" and out.get("output_type") == "stream":
                found.append(out["text"])
            elif kind == "figures" and (
                "image/png" in data or "data:image/png" in data.get("text/html", "")
            ):
                found.append(data)
            elif kind in out.get("data", {}):
                found.append(out["data"][kind])
    return found
