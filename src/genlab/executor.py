"""What the local executor (``genlab.pipeline``) and the Ray one (``genlab.cluster``) share.

A grid point (``Point``) and what became of it (``Outcome``); whether its executed notebook is
complete (same parameters, the notebook as it is now, after the runs its answer quotes); the
papermill command that executes it, its log and the error that log ends with. Both executors
import this module; neither imports the other (``genlab.pipeline`` chooses the Ray one when
asked, lazily).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import nbformat
import yaml

from genlab.grids import PROBLEMS
from genlab.runs import repo_root
from genlab.train.loop import FINAL

NOTEBOOKS = repo_root() / "notebooks"
EXTRA_SEED_NOTEBOOK = "extra_seed.ipynb"  # trains one more seed of a grid point


@dataclass
class Point:
    problem: str
    name: str  # a grid point, or one of its other seeds (``seeds/<point>-seed<k>``)
    parameters: dict[str, Any]
    out: Path  # results folder
    source: str = ""  # the notebook in notebooks/ it executes (default: its problem's)

    @property
    def source_notebook(self) -> str:
        return self.source or PROBLEMS[self.problem].notebook

    @property
    def notebook(self) -> Path:
        return self.out / self.problem / f"{self.name}.ipynb"

    @property
    def log(self) -> Path:
        return self.out / self.problem / f"{self.name}.log"

    @property
    def run_dir(self) -> Path:
        return self.out / self.problem / self.name

    @property
    def label(self) -> str:
        return f"{self.problem}/{self.name}"


@dataclass
class Outcome:
    point: Point
    status: str  # done | skipped | failed
    seconds: float
    detail: str = ""


class Executor(Protocol):
    """Executes a batch of points elsewhere (``genlab.cluster.RayExecutor``)."""

    def run(self, points: list[Point], force: bool) -> list[Outcome]: ...


def has_finished_run(point: Point) -> bool:
    """Whether the point's run folder holds a run that finished training (complete, or ended
    for good: diverged or collapsed)."""
    path = point.run_dir / "metrics.json"
    try:
        return json.loads(path.read_text()).get("status") in ("complete", *FINAL)
    except (OSError, ValueError):
        return False


def portable(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` when it lies in the repository, so that executed notebooks
    and logs under ``results/`` hold no path of the machine that made them; else absolute."""
    path = path.resolve()
    return os.path.relpath(path, base) if path.is_relative_to(repo_root()) else str(path)


def is_complete(point: Point) -> bool:
    """The executed notebook exists, ran without error, with exactly these parameters, after
    every run folder its answer quotes was last written."""
    if not point.notebook.exists():
        return False
    try:
        meta = nbformat.read(point.notebook, as_version=4).metadata.get("papermill", {})
    except Exception:  # an unreadable notebook is simply executed again
        return False
    done = meta.get("end_time") and not meta.get("exception")
    return (bool(done) and meta.get("parameters") == point.parameters
            and made_from_current_notebook(point) and not is_stale(point))  # fmt: skip


def made_from_current_notebook(point: Point) -> bool:
    """Whether the executed copy has the cells of the notebook in ``notebooks/`` as it is now
    (papermill's injected parameters cell aside): an edited notebook is executed again."""
    source = nbformat.read(NOTEBOOKS / point.source_notebook, as_version=4)
    executed = nbformat.read(point.notebook, as_version=4)

    def cells(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
        return [(c.cell_type, c.source) for c in nb.cells
                if "injected-parameters" not in c.metadata.get("tags", [])]  # fmt: skip

    return cells(source) == cells(executed)


def is_stale(point: Point) -> bool:
    """Whether a run folder the notebook's answer quotes (its grid's other points and seeds,
    and the problems it compares with) changed after the notebook was written."""
    if point.source == EXTRA_SEED_NOTEBOOK:
        return False  # it quotes its own run only
    written = point.notebook.stat().st_mtime
    for problem in PROBLEMS[point.problem].reads(point.problem):
        for name in PROBLEMS[problem].run_names():
            if (problem, name) == (point.problem, point.name):
                continue
            for record in ("metrics.json", "comparison.json"):
                path = point.out / problem / name / record
                if path.exists() and path.stat().st_mtime > written:
                    return True
    return False


def papermill_command(notebook: str, output: str, parameters: dict[str, Any],
                      threads: int) -> tuple[list[str], dict[str, str]]:  # fmt: skip
    """The papermill call that executes ``notebooks/<notebook>`` into ``output`` with
    ``parameters``, run from the repository's root (or a folder laid out like it), and its
    environment: ``threads`` CPU threads."""
    cmd = [sys.executable, "-m", "papermill", f"notebooks/{notebook}", output,
           "-y", yaml.safe_dump(parameters), "-k", "python3", "--cwd", "notebooks",
           "--log-output", "--no-progress-bar"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    return cmd, env


# Known harmless lines, noise in the logs: every kernel papermill starts warns that it runs
# over TCP (loopback here); and jupyter_client's shutdown_kernel sends SIGINT before its
# shutdown request, so a kernel that is handling a message at that moment (the notebook has
# finished) logs "KeyboardInterrupt caught in kernel." as an error, some runs but not others.
HARMLESS = ("Kernel is running over TCP without encryption",
            "[IPKernelApp] ERROR | KeyboardInterrupt caught in kernel.")  # fmt: skip


def run_logged(cmd: list[str], env: dict[str, str], cwd: Path, log: Path, **popen: Any) -> int:
    """Run ``cmd``, its output and errors written to ``log`` as they come, less the known
    harmless lines (``HARMLESS``); its exit status."""
    with open(log, "w") as f, subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True,
                                               stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                               **popen) as proc:  # fmt: skip
        for line in proc.stdout:
            if not any(text in line for text in HARMLESS):
                f.write(line)
                f.flush()
    return proc.returncode


def last_error(log: Path) -> str:
    lines = [ln.strip() for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    errors = [ln for ln in lines if "Error" in ln or "error:" in ln]
    return (errors or lines or ["(no output)"])[-1][-200:]
