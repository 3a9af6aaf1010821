"""What ``./run_all.sh`` would do: the grid points in order with the parameters each notebook
receives (the grids, ``--quick``, ``--set``, the extra seeds), every name and value checked
before anything is written, and for each point what it gets (skip, execute the notebook
alone, or train) and why (``--dry-run``). Reads, never writes."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

from genlab.config import ConfigError
from genlab.course.executor import (
    EXTRA_SEED_NOTEBOOK,
    NOTEBOOKS,
    Point,
    aside_note,
    has_finished_run,
    portable,
    staleness,
)
from genlab.course.grids import PROBLEMS, QUICK_MAX_EPOCHS, QUICK_OVERRIDES
from genlab.course.training import notebook_config


def plan(
    out: Path,
    only: list[str] | None = None,
    quick: bool = False,
    no_cuda: bool = False,
    sets: dict[str, dict[str, Any]] | None = None,
) -> list[Point]:
    """The grid points to execute, in order, with the parameters each notebook receives."""
    problems = only or list(PROBLEMS)
    unknown = [p for p in problems if p not in PROBLEMS]
    if unknown:
        raise ValueError(
            f"unknown problem(s) {', '.join(unknown)}; accepted: {', '.join(PROBLEMS)}"
        )
    check_names(problems, set((sets or {}).get("", {})))  # known to at least one of them
    points, replicas = [], []
    for problem in PROBLEMS:  # always in the course's order
        if problem not in problems:
            continue
        spec = PROBLEMS[problem]
        for name, grid_params in spec.points.items():
            point = Point(problem, name, {}, out)
            params: dict[str, Any] = {
                **grid_params,
                "run_dir": portable(point.run_dir, NOTEBOOKS),
                "progress": False,
            }
            if spec.needs:
                params["results_dir"] = portable(out, NOTEBOOKS)
            if quick and spec.needs:
                params["quick"] = True
            elif quick:
                params["epochs"] = min(
                    grid_params.get("epochs", QUICK_MAX_EPOCHS), QUICK_MAX_EPOCHS
                )
                params["overrides"] = dict(QUICK_OVERRIDES[spec.model])
            if no_cuda:
                params["no_cuda"] = True
            for target in (problem, f"{problem}/{name}"):
                check_names([problem], set((sets or {}).get(target, {})))
            for target in ("", problem, f"{problem}/{name}"):
                params.update((sets or {}).get(target, {}))
            if spec.model:  # built and validated once, here: a bad --set value fails before
                # anything is written, and the notebook takes the config as it is (its JSON)
                config = notebook_config(problem, params)
                names = set(type(config).model_fields) | {"overrides"}
                params = {
                    "config_json": config.to_json(),
                    **{k: v for k, v in params.items() if k not in names},
                }
            point.parameters = params
            points.append(point)
            if not quick:  # --quick keeps one seed
                replicas += extra_seeds(point)
    return points + replicas  # the points' own runs (the pictures shown) first


def check_names(problems: list[str], names: set[str]) -> None:
    """Raise ``ConfigError`` for a name that is neither a parameter of one of the problems'
    notebooks nor a field of its config (a misspelt ``--set batchsize=64`` would otherwise be
    dropped and the default trained), naming the closest accepted one."""
    import difflib

    import papermill

    known: set[str] = set()
    for problem in problems:
        spec = PROBLEMS[problem]
        known |= set(papermill.inspect_notebook(str(NOTEBOOKS / spec.notebook)))
        if spec.model:
            known |= set(type(spec.notebook_defaults()).model_fields)
    for name in sorted(names - known):
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(
            f"--set {name}: not a parameter of {', '.join(problems)}; {hint}"
            f"accepted: {', '.join(sorted(known))}"
        )


def extra_seeds(point: Point) -> list[Point]:
    """The runs of ``point`` with its other seeds (``Problem.replicas``): each executes
    ``notebooks/extra_seed.ipynb`` with the point's config and another seed."""
    spec = PROBLEMS[point.problem]
    if not spec.replicas(point.name):
        return []
    config = point.config
    extra = []
    for name, seed in spec.replicas(point.name).items():
        replica = Point(point.problem, name, {}, point.out, EXTRA_SEED_NOTEBOOK)
        replica.parameters = {
            **point.parameters,
            "model": spec.model,
            "config_json": config.replace(seed=seed).to_json(),
            "run_dir": portable(replica.run_dir, NOTEBOOKS),
        }
        extra.append(replica)
    return extra


def parse_sets(items: list[str]) -> dict[str, dict[str, Any]]:
    """``[TARGET:]NAME=VALUE`` items -> {target: {name: value}}; target "" is every point."""
    sets: dict[str, dict[str, Any]] = {}
    for item in items:
        target, _, assignment = (
            item.rpartition(":") if ":" in item.split("=")[0] else ("", "", item)
        )
        name, sep, value = assignment.partition("=")
        if not sep or not name:
            raise ValueError(f"--set expects [PROBLEM[/POINT]:]NAME=VALUE, got {item!r}")
        try:
            parsed = json.loads(value)  # JSON first: YAML 1.1 reads 1e-30 as a string
        except json.JSONDecodeError:
            parsed = yaml.safe_load(value)
        sets.setdefault(target, {})[name] = parsed
    return sets


def decide(point: Point, args: argparse.Namespace) -> tuple[str, str]:
    """What ``./run_all.sh`` with ``args`` would do with ``point`` first (skip, execute the
    notebook alone, or train), and why: the decision of ``execute`` (and of the Ray driver,
    which shares ``executor.staleness``)."""
    unfinished = bool(PROBLEMS[point.problem].model) and not has_finished_run(point)
    if unfinished and args.no_train:
        return "skip", f"no finished run in {point.run_dir.name}/ (--no-train)"
    if args.force:
        if not PROBLEMS[point.problem].model:
            return "execute", "--force"
        return "train", "; ".join(filter(None, ["--force", aside_note(point, force=True)]))
    why = "--reexecute" if args.reexecute else staleness(point)
    if why is None:
        return "skip", "complete, made from the same inputs"
    if not unfinished:
        return "execute", why
    kept = aside_note(point, force=False)
    return "train", f"{why}; {kept or 'no finished run'}"


def dry_run(points: list[Point], args: argparse.Namespace) -> str:
    """One line per point: skip / execute / train, and why. Reads, never writes."""
    width = max((len(p.label) for p in points), default=10)
    lines = [
        f"{action:<8} {p.label:<{width}}  {why}"
        for p in points
        for action, why in [decide(p, args)]
    ]
    return "\n".join(lines)
