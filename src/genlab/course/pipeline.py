"""``./run_all.sh``: every problem's notebook executed by papermill for each grid point.

Resumable (a point whose executed notebook was made from what it would be made from now is
skipped: the notebook, its parameters, the records of the runs its answer quotes and report/,
``executor.made_from``; an interrupted run resumes from its checkpoint), parallel (``-j N``,
CPU threads split between jobs), and a failed point never stops the others. At the end: one
status line per point, the summary figures and ``index.html``. ``--dry-run`` lists what each
point would get (skip, execute, train) and why, and writes nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from genlab.config import ConfigError
from genlab.course.executor import (
    Executor,
    Outcome,
    Point,
    clear,
    execute,
    has_finished_run,
    is_complete,
    run_notebook,
    skipped,
)
from genlab.course.grids import PROBLEMS
from genlab.course.planning import dry_run, parse_sets, plan
from genlab.course.training import train_first
from genlab.datasets import repo_root

LOCK = ".run_all.lock"  # in the results folder: held by the ./run_all.sh working on it


class Busy(RuntimeError):
    """Another ./run_all.sh holds the results folder."""


@contextmanager
def holding(out: Path) -> Iterator[None]:
    """The results folder ``out`` for this process alone, for as long as the block runs; a
    second ./run_all.sh on the same folder gets ``Busy`` at once (two would train the same run
    folders and write the same notebooks). The lock is the kernel's (``flock`` through
    ``filelock``): a killed ./run_all.sh holds nothing."""
    from filelock import FileLock, Timeout

    out.mkdir(parents=True, exist_ok=True)
    lock = FileLock(out / LOCK, thread_local=False)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise Busy(
            f"another ./run_all.sh is working on {out} (it holds {out / LOCK}); wait "
            "for it to end, or give this one another --out"
        ) from None
    try:
        yield
    finally:
        lock.release()


def run_points(
    points: list[Point], jobs: int, force: bool, cluster: Executor | None = None
) -> list[Outcome]:
    """Execute the points, ``jobs`` at a time here, or on a Ray cluster (``genlab.course.cluster``);
    a problem that needs others waits for them."""
    threads = max(1, (os.cpu_count() or 1) // jobs)
    first = [p for p in points if not PROBLEMS[p.problem].needs]
    later = [p for p in points if PROBLEMS[p.problem].needs]
    outcomes: list[Outcome] = []
    with ThreadPoolExecutor(max_workers=jobs) as pool:

        def local(batch: list[Point], force: bool) -> list[Outcome]:
            return list(pool.map(lambda p: execute(p, threads, force), batch))

        run = cluster.run if cluster is not None else local
        if cluster is None:  # the runs first, so that each notebook executes once
            todo = [p for p in first if clear(p, force)]
            train_first(todo, jobs, threads)
            outcomes += pool.map(
                lambda p: run_notebook(p, threads) if p in todo else skipped(p), first
            )
            outcomes += local(later, force)
        else:
            for batch in (first, later):
                outcomes += run(batch, force)
        # answers quote other points' runs: a notebook executed before one of them finished
        # runs again on the finished folders (no training, its own run is complete)
        stale = [o for o in outcomes if o.status != "failed" and not is_complete(o.point)]
        for old, new in zip(stale, run([o.point for o in stale], False), strict=True):
            new.seconds += old.seconds
            outcomes[outcomes.index(old)] = new
    return outcomes


def report(outcomes: list[Outcome]) -> str:
    width = max((len(o.point.label) for o in outcomes), default=10)
    lines = [f"{'grid point':<{width}}  {'status':<8} {'time':>8}"]
    for o in outcomes:
        lines.append(f"{o.point.label:<{width}}  {o.status:<8} {o.seconds:>7.0f}s  {o.detail}")
    return "\n".join(line.rstrip() for line in lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="./run_all.sh",
        description="Re-execute every problem's notebook for each grid point of "
        "genlab.course.grids, then write the summaries and index.html.",
    )
    add = parser.add_argument
    add(
        "--quick",
        action="store_true",
        help="tiny configuration (a few hundred images, at most "
        "2 epochs), written to results-quick/ unless --out is given",
    )
    add(
        "--only",
        nargs="+",
        metavar="PROBLEM",
        choices=list(PROBLEMS),
        help=f"only these problems ({', '.join(PROBLEMS)})",
    )
    add(
        "-j",
        "--jobs",
        type=int,
        default=1,
        help="grid points in parallel (the CPU threads are split between them)",
    )
    add(
        "--force",
        action="store_true",
        help="re-run even complete points (a trained run is moved aside first, to "
        "results/<problem>/superseded/, never deleted)",
    )
    add(
        "--reexecute",
        action="store_true",
        help="execute every notebook again on its run folder, training only what is missing "
        "(after a change to the code that writes the answers or figures)",
    )
    add(
        "--no-train",
        action="store_true",
        help="execute only the points whose run folder holds a finished run, training nothing "
        "(with --reexecute: the pages again on what has been trained so far)",
    )
    add("--no-cuda", action="store_true", help="train on the CPU even where a GPU exists")
    add(
        "--dry-run",
        action="store_true",
        help="list every grid point as skip, execute (the notebook alone) or train, with the "
        "reason, and write nothing",
    )
    add(
        "--out",
        type=Path,
        default=None,
        help="results folder (default: results/, or results-quick/ with --quick)",
    )
    add(
        "--ray",
        metavar="ADDRESS",
        help="run each grid point as a task on the Ray cluster at ADDRESS (host:port, or auto "
        "on one of its machines); -j N: CPU points at a time per machine (pip install -e .[ray])",
    )
    add(
        "--set",
        action="append",
        default=[],
        metavar="[PROBLEM[/POINT]:]NAME=VALUE",
        help="inject a parameter (a JSON or YAML value) into every notebook, one problem's "
        "or one point's",
    )
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"-j must be at least 1, got {args.jobs}")
    try:
        sets = parse_sets(args.set)
    except ValueError as e:
        parser.error(str(e))
    out = (args.out or repo_root() / ("results-quick" if args.quick else "results")).resolve()
    try:
        points = plan(out, args.only, args.quick, args.no_cuda, sets)
    except ConfigError as e:
        parser.error(str(e))
    if args.dry_run:
        print(dry_run(points, args))
        return 0
    if args.no_train:
        untrained = [p for p in points if PROBLEMS[p.problem].model and not has_finished_run(p)]
        for point in untrained:
            print(f"[untrained] {point.label}: no finished run in {point.run_dir.name}/")
        points = [p for p in points if p not in untrained]
    t0 = time.monotonic()
    cluster = None
    if args.ray:  # joined before anything is written
        from genlab.course.cluster import ClusterError, RayExecutor

        try:
            cluster = RayExecutor(args.ray, args.jobs)
        except ClusterError as e:
            print(f"run_all: {e}", file=sys.stderr)
            return 2
    try:
        with holding(out):
            return run_all(out, points, args, cluster, t0)
    except Busy as e:
        print(f"run_all: {e}", file=sys.stderr)
        return 2


def run_all(
    out: Path, points: list[Point], args: argparse.Namespace, cluster: Executor | None, t0: float
) -> int:
    """``main`` once the results folder is this process's: execute, summarise, report."""
    where = f"Ray cluster {args.ray}" if args.ray else f"-j {args.jobs}"
    print(f"run_all: {len(points)} grid points -> {out} ({where})", flush=True)
    if args.reexecute:  # an executed notebook that is not there is executed, its run reused
        for point in points:
            point.notebook.unlink(missing_ok=True)
    outcomes = run_points(points, args.jobs, args.force, cluster)
    from genlab.course.report.claims import ClaimFailed
    from genlab.course.site import write_site

    try:
        index = write_site(out)
    except ClaimFailed as e:  # a sentence of an answer no longer holds: say which, loudly
        print(f"\n{report(outcomes)}\n\nrun_all: index.html not written: {e}", file=sys.stderr)
        return 1
    print(f"\n{report(outcomes)}\n\nindex: {index}\ntotal: {time.monotonic() - t0:.0f} s")
    return 1 if any(o.status == "failed" for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
