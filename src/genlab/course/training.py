"""A grid's runs trained before its notebooks execute (``./run_all.sh`` on this machine).

A point's answer quotes the runs of its grid's other points, so a notebook executed before
them would be executed again once they finish. ``train_first`` trains them first, in worker
processes, each as its notebook would (``notebook_config``); each notebook then executes once
and reopens its run. On a Ray cluster the nodes train in the notebooks, as before.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

from genlab.config import Config
from genlab.course.executor import Point, has_finished_run, quoted_runs
from genlab.course.grids import PROBLEMS
from genlab.course.processes import say, threads_env


def notebook_config(problem: str, params: dict[str, Any]) -> Config:
    """The config the problem's notebook builds from ``params`` (its parameters cell, then
    the injected values, then ``overrides``); raises ``ConfigError`` naming a bad value."""
    defaults = PROBLEMS[problem].notebook_defaults()
    return type(defaults).from_values({**defaults.to_dict(), **params})


def train_first(points: list[Point], jobs: int, threads: int) -> None:
    """Train the unfinished runs of the points whose answer quotes other runs, ``jobs`` at a
    time, before any notebook executes: a notebook executed before the runs it quotes would
    be executed again once they finish. Each notebook then reopens its run. The workers have
    the CPU threads of the notebooks' kernels (``papermill_command``), so that the numbers are
    theirs. A run that fails here is left to its notebook, which trains it again and shows the
    error."""
    todo = [
        p
        for p in points
        if PROBLEMS[p.problem].model and quoted_runs(p) and not has_finished_run(p)
    ]
    if not todo:
        return
    env = threads_env(threads)
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)  # what the spawned workers start with
    try:
        context = multiprocessing.get_context("spawn")  # a fresh interpreter, as a kernel's
        with ProcessPoolExecutor(min(jobs, len(todo)), mp_context=context) as workers:
            futures = {
                workers.submit(train_point, p.label, p.problem, p.parameters, p.run_dir, p.log): p
                for p in todo
            }
            for future in as_completed(futures):
                point = futures[future]
                try:
                    say(f"[trained] {point.label}  {future.result():.0f} s")
                except Exception as e:  # its notebook trains it again and shows the error
                    say(f"[train failed] {point.label}: {str(e)[-200:]}")
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def train_point(
    label: str, problem: str, parameters: dict[str, Any], run_dir: Path, log: Path
) -> float:
    """Train (or resume) the run of one grid point as its notebook would; the seconds taken.
    Its output goes to the point's log, which the notebook's execution then replaces."""
    from genlab.train import train_run

    t0 = time.monotonic()
    config = notebook_config(problem, parameters)
    say(f"[train] {label}  log: {log}")
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as f, redirect_stdout(f), redirect_stderr(f):
        train_run(config, run_dir=run_dir, progress=False)
    return time.monotonic() - t0
