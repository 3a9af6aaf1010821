"""What a node of the Ray cluster does with one grid point (``course.cluster`` is the driver).

The driver sends a ``PointTask``: the notebook, the point's parameters and the run folders it
reads, packed (``pack``). ``run_point``, the Ray task, executes the notebook with papermill in
a scratch folder of its node laid out like the repository (``notebooks/`` beside the results
folder, so the relative ``run_dir`` parameters hold), after writing the data files the node
lacks (``ensure_data``), and returns a ``PointResult``: the executed notebook, its log and the
run folder. This module imports nothing of the driver's.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import shutil
import signal
import socket
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from genlab.course.processes import last_error, papermill_command, run_logged
from genlab.provenance import fingerprint

SCRATCH_ENV = "GENLAB_SCRATCH"  # where a node executes its points (default: the temp dir)


@dataclass
class PointTask:
    """What a node needs to execute one grid point, without the driver's filesystem."""

    label: str
    problem: str
    name: str
    parameters: dict[str, Any]  # exactly the driver's (is_complete compares them)
    notebook: str  # file name in notebooks/
    notebook_text: str  # the notebook as it is on the driver
    results: str | None  # the results folder relative to the repository; None: outside it
    output_path: str  # the executed notebook's path as papermill records it on the driver
    inputs: bytes  # tar of the run folders it reads, relative to the results folder
    threads: int
    digest: str  # the driver's genlab sources


@dataclass
class PointResult:
    returncode: int
    node: str
    seconds: float
    notebook: bytes | None  # the executed notebook
    log: bytes
    run: bytes | None  # tar of the run folder
    detail: str = ""


def source_digest() -> str:
    """The fingerprint of all of genlab (``genlab.provenance``): a node that runs other code
    or other library versions than the driver is refused."""
    return fingerprint(form="text")["digest"]


def pack(root: Path, paths: list[Path]) -> bytes:
    """An uncompressed tar of ``paths`` (files or folders), named relative to ``root``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in paths:
            for file in sorted([path] if path.is_file() else path.rglob("*")):
                if file.is_file() and not file.name.endswith(".tmp"):
                    tar.add(file, arcname=str(file.relative_to(root)), recursive=False)
    return buffer.getvalue()


def unpack(data: bytes, dest: Path) -> None:
    """Extract a tar of ``pack`` into ``dest``; files get the current time as their mtime (the
    clocks of other machines never decide what is stale)."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
        for member in tar.getmembers():
            if member.isfile():
                os.utime(dest / member.name)


def run_point(task: PointTask, data: dict[str, tuple[Any, str]], progress: Any) -> PointResult:
    """The Ray task: execute one point's notebook in a scratch folder of this node."""
    import ray

    t0 = time.monotonic()
    node_id = ray.get_runtime_context().get_node_id()[:8]
    node = f"{socket.gethostname()} (node {node_id}, pid {os.getpid()})"
    scratch_root = Path(os.environ.get(SCRATCH_ENV) or Path(tempfile.gettempdir()) / "genlab-ray")
    scratch_root.mkdir(parents=True, exist_ok=True)
    prefix = f"{task.problem}-{Path(task.name).name}-"
    scratch = Path(tempfile.mkdtemp(prefix=prefix, dir=scratch_root))
    results = scratch / (task.results or "results")
    log = results / task.problem / f"{task.name}.log"
    with contextlib.suppress(Exception):  # progress is a courtesy, never a failure
        progress.put_nowait((task.label, node, str(log)))
    try:
        if source_digest() != task.digest:
            detail = f"genlab on {node} differs from the driver's: install the same version there"
            return PointResult(1, node, time.monotonic() - t0, None, detail.encode(), None, detail)
        ensure_data(data)
        (scratch / "notebooks").mkdir()
        (scratch / "notebooks" / task.notebook).write_text(task.notebook_text)
        results.mkdir(parents=True, exist_ok=True)
        unpack(task.inputs, results)
        log.parent.mkdir(parents=True, exist_ok=True)
        executed = results / task.problem / f"{task.name}.ipynb"
        returncode = papermill(task, scratch, executed, log)
        run_dir = results / task.problem / task.name
        return PointResult(
            returncode,
            node,
            time.monotonic() - t0,
            executed.read_bytes() if executed.exists() else None,
            log.read_bytes(),
            pack(results, [run_dir]) if run_dir.exists() else None,
            "" if returncode == 0 else f"on {node}: {last_error(log)}",
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def papermill(task: PointTask, scratch: Path, executed: Path, log: Path) -> int:
    """Execute the notebook as the local executor does, from ``scratch`` instead of the
    repository; the executed copy records the driver's parameters and path."""
    parameters = local_parameters(task, scratch)
    cmd, env = papermill_command(
        task.notebook, str(executed.relative_to(scratch)), parameters, task.threads
    )
    returncode = run_logged(cmd, env, scratch, log, preexec_fn=_die_with_parent)
    if executed.exists() and parameters != task.parameters:
        restore_parameters(executed, task.parameters, task.output_path)
    return returncode


def local_parameters(task: PointTask, scratch: Path) -> dict[str, Any]:
    """The driver's parameters, with the results folder's paths made relative to the scratch
    ``notebooks/`` when the driver's lie outside its repository (absolute paths)."""
    if task.results is not None:
        return task.parameters
    base = scratch / "notebooks"
    results = scratch / "results"
    mapped = {"run_dir": results / task.problem / task.name, "results_dir": results}
    return {
        k: os.path.relpath(mapped[k], base) if k in mapped and v is not None else v
        for k, v in task.parameters.items()
    }


def restore_parameters(executed: Path, parameters: dict[str, Any], output_path: str) -> None:
    """Give the executed notebook the driver's parameters (papermill's metadata and injected
    cell), as if papermill had been given them: the driver's is_complete compares them."""
    from papermill.translators import translate_parameters

    nb = nbformat.read(executed, as_version=4)
    nb.metadata.papermill["parameters"] = parameters
    nb.metadata.papermill["output_path"] = output_path
    kernel = nb.metadata.get("kernelspec", {}).get("name", "python3")
    language = nb.metadata.get("kernelspec", {}).get("language", "python")
    for cell in nb.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.source = translate_parameters(kernel, language, parameters, "Parameters")
    nbformat.write(nb, executed)


def ensure_data(data: dict[str, tuple[Any, str]]) -> None:
    """Write the driver's files that this node's data root lacks, each checked by MD5; a lock
    (``filelock``) makes the tasks of one node fetch them once. Raw files that fail their
    checksum are replaced; a classifier the node has is kept."""
    import ray
    from filelock import FileLock

    from genlab.datasets import SPECS, data_root
    from genlab.fetch import install_file, md5_file

    root = data_root()
    expected = {f"{s.folder}/raw/{n}": m for s in SPECS.values() for n, m in s.md5.items()}

    def missing() -> list[str]:
        return [
            p
            for p in data
            if not (root / p).is_file() or (p in expected and md5_file(root / p) != expected[p])
        ]

    if not missing():
        return
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(root / ".genlab-ray.lock", thread_local=False):
        for path in missing():  # the node's other tasks waited, and find fewer or none
            ref, checksum = data[path]
            install_file(
                ray.get(ref),
                root / path,
                expected.get(path, checksum),
                f"the driver's {path}, through Ray's object store",
            )


def _die_with_parent() -> None:
    """papermill (and with it its kernel) ends when the worker that started it is killed."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
