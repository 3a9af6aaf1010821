"""``./run_all.sh --ray ADDRESS``: every grid point as a Ray task on a cluster.

No shared filesystem is assumed. The driver (a machine of the cluster; this module) keeps the
results folder, decides what to skip (``executor.is_complete``) and sends each task the
notebook, the point's own run folder (its checkpoint: an interrupted point resumes on any
node) and the run folders its answer quotes. The task (``genlab.course.ray_node``) executes the
notebook with papermill in a scratch folder of its node laid out like the repository
(``notebooks/`` beside the results folder, so the relative ``run_dir`` parameters hold) and
returns the executed notebook, its log and the run folder, which the driver writes under the
results folder atomically. A node whose data root lacks the data sets gets the driver's
verified files through Ray's object store, once per node, checked by MD5; nothing is
downloaded. A task whose worker dies is retried by Ray (``max_retries``), then reported as
failed with its log.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

from genlab.atomic import atomic_write
from genlab.course.executor import (
    EXTRA_SEED_NOTEBOOK,
    NOTEBOOKS,
    Outcome,
    Point,
    clear,
    made_from,
    portable,
    skipped,
    stamped,
)
from genlab.course.grids import PROBLEMS
from genlab.course.processes import say
from genlab.course.ray_node import PointResult, PointTask, pack, run_point, source_digest, unpack
from genlab.runs import CHECKPOINT, repo_root

RETRIES_ENV = "GENLAB_RAY_RETRIES"  # how often Ray retries a point whose worker died
DEFAULT_RETRIES = 2


class ClusterError(RuntimeError):
    """The Ray cluster cannot be used; the message says why and what to do."""


def connect(address: str) -> dict[str, float]:
    """Join the running cluster at ``address`` (``host:port`` or ``auto``); its resources.

    Nothing starts a cluster here: an address nobody answers is a ``ClusterError``, quickly.
    """
    try:
        import ray
    except ImportError as e:
        raise ClusterError(
            "Ray is not installed: `pip install -e .[ray]` (or ./scripts/setup.sh --ray)"
        ) from e
    advice = (
        "start one with `ray start --head` (and `ray start --address=HEAD:6379` on the "
        "other machines), then pass its address, or --ray auto on one of its machines"
    )
    if address != "auto":
        host, _, port = address.rpartition(":")
        try:
            socket.create_connection((host or "127.0.0.1", int(port)), timeout=5).close()
        except (OSError, ValueError) as e:
            raise ClusterError(f"no Ray cluster answers at {address!r} ({e}); {advice}") from e
    try:
        ray.init(address=address, log_to_driver=False, logging_level="ERROR")
    except Exception as e:  # ConnectionError, RuntimeError, ValueError, depending on the case
        raise ClusterError(f"cannot join a Ray cluster at {address!r}: {e}; {advice}") from e
    return ray.cluster_resources()


def inputs(point: Point) -> bytes:
    """The run folders the point's notebook reads: its own (checkpoint included, to resume),
    its grid's and the quoted problems' (records and images), the needed problems' whole."""
    spec = PROBLEMS[point.problem]
    quoted = () if point.source == EXTRA_SEED_NOTEBOOK else spec.reads(point.problem)
    runs = [(point.problem, point.name)]
    runs += [(problem, name) for problem in quoted for name in PROBLEMS[problem].run_names()]
    paths = []
    for problem, name in dict.fromkeys(runs):
        folder = point.out / problem / name
        if not folder.is_dir():
            continue
        whole = (problem, name) == (point.problem, point.name) or problem in spec.needs
        paths += [f for f in folder.rglob("*") if f.is_file() and (whole or f.name != CHECKPOINT)]
    return pack(point.out, paths)


def data_files() -> dict[str, bytes]:
    """The driver's verified raw files and cached classifiers, by path under its data root."""
    from genlab.datasets import SPECS, data_root, raw_dir
    from genlab.fetch import check_files

    root = data_root()
    files = {}
    for spec in SPECS.values():
        raw = raw_dir(spec, root)
        if not check_files(spec, raw):  # only files that pass their MD5 checks travel
            files |= {str((raw / n).relative_to(root)): (raw / n).read_bytes() for n in spec.files}
    for path in sorted((root / "classifiers").glob("*-*.*")):
        if path.suffix in (".pt", ".json"):
            files[str(path.relative_to(root))] = path.read_bytes()
    return files


def resources(point: Point, cluster: dict[str, float], cpus: int) -> dict[str, Any]:
    """One GPU where the cluster has GPUs and the point would use CUDA; else ``cpus`` CPUs."""
    if cluster.get("GPU", 0) >= 1 and not (point.config and point.config.no_cuda):
        return {"num_gpus": 1, "num_cpus": 1}
    return {"num_cpus": cpus}


class RayExecutor:
    """Executes batches of points as Ray tasks; ``run`` is the local executor's counterpart."""

    def __init__(self, address: str, jobs: int = 1):
        import ray
        from ray.util.queue import Queue
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        from genlab.fetch import md5_bytes

        self.resources = connect(address)
        nodes = [n for n in ray.nodes() if n["Alive"]]
        smallest = min((int(n["Resources"].get("CPU", 1)) for n in nodes), default=1)
        self.cpus = max(1, smallest // jobs)  # -j N: N CPU points at a time per machine
        self.retries = int(os.environ.get(RETRIES_ENV, DEFAULT_RETRIES))
        self.digest = source_digest()
        here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=True)
        # the driver's node, or, once that node is gone (a driver attached to a node that is
        # removed), another: restarted, it loses the lines in flight, never the grid
        survive = {"max_restarts": -1, "max_task_retries": -1}
        self.progress = Queue(actor_options={"num_cpus": 0, "scheduling_strategy": here, **survive})
        self.data = {path: (ray.put(data), md5_bytes(data)) for path, data in data_files().items()}
        self.remote = ray.remote(run_point)
        self.attempts: dict[str, list[str]] = {}  # label -> where each attempt started
        gpus = int(self.resources.get("GPU", 0))
        print(
            f"ray: {len(nodes)} nodes, {self.resources.get('CPU', 0):.0f} CPUs, {gpus} GPUs; "
            f"{len(self.data)} data files offered to the nodes",
            flush=True,
        )

    def run(self, points: list[Point], force: bool) -> list[Outcome]:
        """Execute ``points`` on the cluster; a complete point (``executor.is_complete``, as
        locally) is skipped, and a point that failed never stops the others."""
        import ray

        outcomes: dict[str, Outcome] = {}
        pending: dict[Any, tuple[Point, float, dict[str, Any]]] = {}
        for point in points:
            if not clear(point, force):  # another code's run is moved aside, never deleted
                outcomes[point.label] = skipped(point)
                continue
            asks = resources(point, self.resources, self.cpus)
            threads = int(asks["num_cpus"]) if "num_gpus" not in asks else 1
            task = make_task(point, threads, self.digest)
            options = {
                **asks,
                "max_retries": self.retries,
                "retry_exceptions": False,
                "scheduling_strategy": "SPREAD",
            }
            ref = self.remote.options(**options).remote(task, self.data, self.progress)
            pending[ref] = (point, time.monotonic(), made_from(point))  # what the task gets
            self.attempts.pop(point.label, None)
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            self._show_progress()
            for ref in ready:
                point, t0, made = pending.pop(ref)
                outcomes[point.label] = self._collect(ref, point, time.monotonic() - t0, made)
        return [outcomes[p.label] for p in points]

    def _show_progress(self) -> None:
        import ray

        while True:
            try:  # progress is a courtesy: a queue that cannot answer never fails the grid
                if self.progress.empty():
                    return
                label, where, log = self.progress.get_nowait()
            except ray.exceptions.RayError as e:
                say(f"ray: a progress line was lost ({type(e).__name__})")
                return
            tries = self.attempts.setdefault(label, [])
            tries.append(f"{where}, log there: {log}")
            again = f" (retry {len(tries) - 1} of {self.retries})" if len(tries) > 1 else ""
            say(f"[start] {label} on {where}{again}  log there: {log}")

    def _collect(self, ref: Any, point: Point, seconds: float, made: dict[str, Any]) -> Outcome:
        import ray

        self._show_progress()
        tries = self.attempts.get(point.label, [])
        try:
            result: PointResult = ray.get(ref)
        except ray.exceptions.RayError as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            detail = f"{type(e).__name__} after {len(tries)} attempt(s): {first}"[:300]
            where = "\n".join(f"  attempt {i}: {t}" for i, t in enumerate(tries, 1)) or "  none"
            text = (
                f"{point.label}: the Ray task failed and was not retried further "
                f"({self.retries} retries allowed).\nattempts (a dead worker's partial log "
                f"stays on its node):\n{where}\n\n{e}\n"
            )
            point.log.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(point.log, lambda f: f.write(text.encode()))
            say(f"[failed] {point.label}  {seconds:.0f} s  {detail}")
            return Outcome(point, "failed", seconds, detail)
        write_result(point, result, made)
        status = "done" if result.returncode == 0 else "failed"
        detail = f"on {result.node}" if status == "done" else result.detail
        retried = f" after {len(tries) - 1} retries" if len(tries) > 1 else ""
        seconds = result.seconds  # on its node (the wait in Ray's queue aside)
        say(f"[{status}] {point.label}  {seconds:.0f} s  {detail}{retried}")
        return Outcome(point, status, seconds, detail + retried)


def make_task(point: Point, threads: int, digest: str) -> PointTask:
    notebook = point.source_notebook
    root = repo_root()
    out = point.out.resolve()
    results = os.path.relpath(out, root) if out.is_relative_to(root) else None
    return PointTask(
        point.label,
        point.problem,
        point.name,
        dict(point.parameters),
        notebook,
        (NOTEBOOKS / notebook).read_text(),
        results,
        portable(point.notebook, root),
        inputs(point),
        threads,
        digest,
    )


def keep_unchanged_times(fresh: Path, current: Path) -> None:
    """A file that came back byte for byte as the driver has it keeps the driver's time: a
    notebook that only reopened its run did not change it (staleness goes by content, but a
    listing by time stays truthful)."""
    for new in fresh.rglob("*"):
        here = current / new.relative_to(fresh)
        if new.is_file() and here.is_file() and here.read_bytes() == new.read_bytes():
            stat = here.stat()
            os.utime(new, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def write_result(point: Point, result: PointResult, made: dict[str, Any] | None = None) -> None:
    """The run folder (swapped in whole), the log, then the executed notebook, each atomic;
    the notebook last, so a driver killed midway leaves a point that is executed again. A
    notebook that ran to its end records ``made`` (``executor.stamp``), as locally."""
    point.run_dir.parent.mkdir(parents=True, exist_ok=True)
    if result.run is not None:
        where = point.run_dir.parent
        fresh = Path(tempfile.mkdtemp(prefix=f".{point.run_dir.name}.", suffix=".tmp", dir=where))
        try:
            unpack(result.run, fresh)
            source = fresh / point.problem / point.name
            keep_unchanged_times(source, point.run_dir)
            old = point.run_dir.with_name(f".{point.run_dir.name}.old.tmp")
            shutil.rmtree(old, ignore_errors=True)
            if point.run_dir.exists():
                point.run_dir.rename(old)
            source.rename(point.run_dir)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(fresh, ignore_errors=True)
    atomic_write(point.log, lambda f: f.write(result.log))
    if result.notebook is not None:
        notebook = result.notebook
        if result.returncode == 0 and made is not None:
            notebook = stamped(notebook, made)
        atomic_write(point.notebook, lambda f: f.write(notebook))
