"""What the local executor (``course.pipeline``) and the Ray one (``course.cluster``) share.

A grid point (``Point``) and what became of it (``Outcome``); whether its executed notebook is
complete (same parameters, the notebook as it is now, after the runs its answer quotes); the
papermill command that executes it, its log and the error that log ends with. Both executors
import this module; neither imports the other (``genlab.course.pipeline`` chooses the Ray one when
asked, lazily).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import nbformat

from genlab.atomic import atomic_write
from genlab.config import Config
from genlab.course.grids import CONFIGS, PROBLEMS
from genlab.course.processes import last_error, papermill_command, run_logged, say
from genlab.datasets import repo_root
from genlab.health import FINAL
from genlab.provenance import fingerprint, imports, modules, stale_reason
from genlab.records import RecordError, read_record

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

    @property
    def config(self) -> Config | None:
        """The config its notebook trains, as the plan built it (None: a notebook of no run)."""
        text = self.parameters.get("config_json")
        return CONFIGS[PROBLEMS[self.problem].model].from_json(text) if text else None


@dataclass
class Outcome:
    point: Point
    status: str  # done | skipped | failed
    seconds: float
    detail: str = ""


class Executor(Protocol):
    """Executes a batch of points elsewhere (``genlab.course.cluster.RayExecutor``)."""

    def run(self, points: list[Point], force: bool) -> list[Outcome]: ...


def run_record(point: Point) -> dict[str, Any]:
    """The point's ``metrics.json`` ({} when there is none, or it is not a run's record)."""
    try:
        return read_record(point.run_dir / "metrics.json")
    except RecordError:
        return {}


def code_change(point: Point) -> str | None:
    """Why the point's run folder holds another code's run (``genlab.provenance``), or None:
    such a folder is trained again, never reopened."""
    record = run_record(point)
    if not record.get("epochs"):
        return None
    return stale_reason(record.get("code"), record.get("config", {}).get("model", ""))


def has_finished_run(point: Point) -> bool:
    """Whether the point's run folder holds a run of this code that finished training
    (complete, or ended for good: diverged or collapsed)."""
    finished = run_record(point).get("status") in ("complete", *FINAL)
    return finished and code_change(point) is None


def portable(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` when it lies in the repository, so that executed notebooks
    and logs under ``results/`` hold no path of the machine that made them; else absolute."""
    path = path.resolve()
    return os.path.relpath(path, base) if path.is_relative_to(repo_root()) else str(path)


# --- what an executed notebook is made from ----------------------------------------------------
# An executed notebook records (metadata ``genlab``) a digest of what it was made from: the
# notebook's source, its parameters, the records of the runs its answer quotes (its grid's other
# points and seeds, the problems it needs or compares with; not its own run, which it makes) and
# the version of report/ and answers/ (a digest of their sources: every sentence and table). It is
# complete when papermill finished it without error and that digest is the current one, and
# stale exactly when the digest changes. Clocks decide nothing.

STAMP = "genlab"  # the executed notebook's metadata key
RECORDS = ("metrics.json", "comparison.json")  # what a quoted run folder contributes


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _cells(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [
        (c.cell_type, c.source)
        for c in nb.cells
        if "injected-parameters" not in c.metadata.get("tags", [])
    ]


def notebook_modules(nb: nbformat.NotebookNode) -> list[str]:
    """The genlab modules that the notebook's code cells import (a cell that does not parse
    imports nothing: it fails when executed)."""
    known, found = set(modules()), set()
    for cell in (c for c in nb.cells if c.cell_type == "code"):
        try:
            found |= {target for target, _, _ in imports("", cell.source, known)}
        except SyntaxError:
            continue
    return sorted(found)


@functools.cache
def _fingerprint(entries: tuple[str, ...]) -> str:  # the sources do not change during a run
    return fingerprint(entries, form="text")["digest"]


def code_version(nb: nbformat.NotebookNode) -> str:
    """What made the notebook's words and figures, besides its runs: the fingerprint of every
    genlab module its cells import, directly or not (as text: a notebook may show code), with
    the library versions, and the authored answers (``genlab/course/answers/*.md``)."""
    answers = sorted((Path(__file__).resolve().parent / "answers").glob("*.md"))
    parts = [_fingerprint(tuple(notebook_modules(nb))), *(_sha(p.read_bytes()) for p in answers)]
    return _sha("".join(parts).encode())


def quoted_runs(point: Point) -> list[str]:
    """The run folders (``problem/name``) whose records the point's answer quotes."""
    if point.source == EXTRA_SEED_NOTEBOOK:
        return []  # it quotes its own run only
    return [
        f"{problem}/{name}"
        for problem in PROBLEMS[point.problem].reads(point.problem)
        for name in PROBLEMS[problem].run_names()
        if (problem, name) != (point.problem, point.name)
    ]


def made_from(point: Point) -> dict[str, Any]:
    """What the point's notebook would be made from now, each part as a digest."""
    source = nbformat.read(NOTEBOOKS / point.source_notebook, as_version=4)
    runs = {}
    for run in dict.fromkeys(quoted_runs(point)):
        files = [point.out / run / record for record in RECORDS]
        if any(f.is_file() for f in files):
            runs[run] = _sha(
                b"".join(_sha(f.read_bytes()).encode() if f.is_file() else b"-" for f in files)
            )
    return {
        "notebook": _sha(json.dumps(_cells(source)).encode()),
        "parameters": _sha(json.dumps(point.parameters, sort_keys=True, default=str).encode()),
        "runs": runs,
        "code": code_version(source),
    }


def digest(inputs: dict[str, Any]) -> str:
    return _sha(json.dumps(inputs, sort_keys=True).encode())


def stamp(nb: nbformat.NotebookNode, inputs: dict[str, Any]) -> None:
    """Record in the executed notebook what it was made from (``made_from`` before it ran)."""
    nb.metadata[STAMP] = {"digest": digest(inputs), "made_from": inputs}


def stamped(notebook: bytes, inputs: dict[str, Any]) -> bytes:
    nb = nbformat.reads(notebook.decode(), as_version=4)
    stamp(nb, inputs)
    return nbformat.writes(nb).encode()


def stamp_file(path: Path, inputs: dict[str, Any]) -> None:
    data = stamped(path.read_bytes(), inputs)
    atomic_write(path, lambda f: f.write(data))


def staleness(point: Point) -> str | None:
    """Why the point's notebook must be executed (again); None when it is complete."""
    changed = code_change(point)
    if changed:
        return f"its run is not this code's ({changed})"
    if not point.notebook.exists():
        return "not executed yet"
    try:
        nb = nbformat.read(point.notebook, as_version=4)
    except Exception:  # an unreadable notebook is simply executed again
        return "its executed notebook is unreadable"
    meta = nb.metadata.get("papermill", {})
    if not meta.get("end_time") or meta.get("exception"):
        return "its last execution failed or did not finish"
    recorded = nb.metadata.get(STAMP, {})
    if not recorded.get("digest"):
        return "executed before notebooks recorded what they are made from"
    now = made_from(point)
    if recorded["digest"] == digest(now):
        return None
    before = recorded.get("made_from", {})
    parts = {
        "notebook": f"notebooks/{point.source_notebook}",
        "parameters": "its parameters",
        "code": "the code it imports",
    }
    why = [f"{label} changed" for part, label in parts.items() if before.get(part) != now[part]]
    old, new = before.get("runs", {}), now["runs"]
    runs = sorted(r for r in old.keys() | new.keys() if old.get(r) != new.get(r))
    if runs:
        more = f" and {len(runs) - 3} more" if len(runs) > 3 else ""
        why.append(f"quoted runs changed: {', '.join(runs[:3])}{more}")
    return "; ".join(why) or "what it is made from changed"


def is_complete(point: Point) -> bool:
    """The executed notebook exists, ran without error, and was made from exactly what it
    would be made from now (``made_from``)."""
    return staleness(point) is None


# Where a run that is trained again is kept: nothing that trained is ever deleted.
SUPERSEDED = "superseded"


def aside(point: Point, force: bool) -> Path | None:
    """Where the point's run folder goes before it trains again (``results/<problem>/
    superseded/<name>.<why>``), or None when it stays: it holds no trained epoch, or a run of
    this code that ``force`` does not replace."""
    record = run_record(point)
    if not record.get("epochs"):
        return None
    changed = code_change(point)
    if changed:
        why = f"code-{(record.get('code') or {}).get('digest', 'unrecorded')}"
    elif force:
        why = f"forced-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}"
    else:
        return None
    return point.out / point.problem / SUPERSEDED / f"{point.name.replace('/', '-')}.{why}"


def aside_note(point: Point, force: bool) -> str:
    """What happens to the point's trained run when it trains again, in words ("" if nothing)."""
    target = aside(point, force)
    if target is None:
        return ""
    where = target.relative_to(point.out).as_posix()
    back = f"mv {where} {point.label}"
    return f"its trained run is kept: moved to {where}/ (to get it back: {back})"


def clear(point: Point, force: bool) -> bool:
    """Whether the point is to be executed; a run folder that holds another code's run (or,
    with ``force``, any trained run) is moved aside first (``aside``): trained again, never
    reopened, and never deleted."""
    if not force and is_complete(point):
        return False
    target = aside(point, force)
    if target is not None:
        if target.exists():  # the same second, or the same code set aside before
            target = target.with_name(f"{target.name}-{time.monotonic_ns()}")
        target.parent.mkdir(parents=True, exist_ok=True)
        point.run_dir.rename(target)
        where = target.relative_to(point.out).as_posix()
        say(f"[aside] {point.label}: its trained run is kept in {where}/")
    return True


def skipped(point: Point) -> Outcome:
    return Outcome(point, "skipped", 0.0, "complete, made from the same inputs")


def execute(point: Point, threads: int, force: bool) -> Outcome:
    return run_notebook(point, threads) if clear(point, force) else skipped(point)


def run_notebook(point: Point, threads: int) -> Outcome:
    t0 = time.monotonic()
    inputs = made_from(point)  # before it runs: a quoted run that changes meanwhile is news
    point.notebook.parent.mkdir(parents=True, exist_ok=True)
    say(f"[start] {point.label}  log: {point.log}")
    root, notebook = repo_root(), point.source_notebook
    output = portable(point.notebook, root)
    cmd, env = papermill_command(notebook, output, point.parameters, threads)
    returncode = run_logged(cmd, env, root, point.log)
    if returncode == 0 and point.notebook.exists():
        stamp_file(point.notebook, inputs)
    seconds = time.monotonic() - t0
    status = "done" if returncode == 0 else "failed"
    detail = "" if status == "done" else last_error(point.log)
    say(f"[{status}] {point.label}  {seconds:.0f} s  {detail}".rstrip())
    return Outcome(point, status, seconds, detail)
