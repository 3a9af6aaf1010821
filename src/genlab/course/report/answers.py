"""Each problem's answer and write-up table, from the run folders of a results folder.

One function per fact: the notebooks and ``results/index.html`` both call ``answer_markdown``
and ``writeup_table`` with the results folder, so they state the same numbers in the same words.
"""

from __future__ import annotations

import json
from pathlib import Path

from genlab.course.grids import PROBLEMS
from genlab.course.report import Runs
from genlab.course.report.gan import answer_5_3, answer_5_5
from genlab.course.report.vae import answer_4_2, answer_4_3
from genlab.course.report.writeup import writeup_markdown

COMPARISON = Path("5.6") / "comparison" / "comparison.json"  # the 5.6 table's rows


def problem_runs(results: str | Path) -> Runs:
    """problem -> run name -> metrics.json of every run folder found under ``results`` (the
    grid points and their other seeds, ``seeds/<point>-seed<k>``); for 5.6, ``{"rows": [...]}``
    from its comparison table when it was made."""
    results = Path(results)
    runs: Runs = {}
    for problem, spec in PROBLEMS.items():
        found = {}
        for point in spec.run_names():
            path = results / problem / point / "metrics.json"
            if path.exists():
                found[point] = json.loads(path.read_text())
        runs[problem] = found
    if (results / COMPARISON).exists():
        runs["5.6"] = {"rows": json.loads((results / COMPARISON).read_text())}
    return runs


def with_current(problem: str, results: str | Path, current: str | Path | None) -> Runs:
    """The runs under ``results``, with a notebook's own run folder ``current`` standing for
    the point of a one-point problem (a student's own 4.2 or 5.5 run is what its notebook
    answers about)."""
    runs = problem_runs(results)
    points = list(PROBLEMS[problem].points)
    metrics = Path(current) / "metrics.json" if current is not None else None
    if metrics is not None and metrics.exists() and len(points) == 1:
        runs[problem][points[0]] = json.loads(metrics.read_text())
    return runs


def _note(problem: str, results: str | Path, current: str | Path | None) -> str:
    """For a grid problem, a notebook whose run is not one of the grid's run folders says so."""
    if current is None or len(PROBLEMS[problem].points) == 1 or problem == "5.6":
        return ""
    grid = {(Path(results) / problem / p).resolve() for p in PROBLEMS[problem].points}
    if Path(current).resolve() in grid:
        return ""
    return (
        f"This notebook's run (`{Path(current).name}`) is not one of the grid's run folders; "
        f"the answer covers the grid's runs under `{Path(results).name}/{problem}/`.\n\n"
    )


def answer_markdown(problem: str, results: str | Path, current: str | Path | None = None) -> str:
    """The answer to ``problem`` from the runs under ``results`` (and a notebook's own run
    ``current``), every sentence with its number."""
    if problem not in PROBLEMS:
        raise ValueError(f"unknown problem {problem!r}; accepted: {', '.join(PROBLEMS)}")
    return _note(problem, results, current) + _answer(problem, with_current(problem, results,
                                                                            current))  # fmt: skip


def _answer(problem: str, runs: Runs) -> str:
    if problem == "4.2":
        return answer_4_2(runs["4.2"].get("default"))
    if problem == "4.3":
        return answer_4_3(runs["4.3"])
    if problem == "5.3":
        return answer_5_3(runs["5.3"])
    if problem == "5.5":
        return answer_5_5(runs["5.5"], runs["5.3"])
    from genlab.course.compare import Row  # 5.6, from the rows of its table
    from genlab.course.report.comparison import answer_markdown

    rows = runs.get("5.6", {}).get("rows")
    if not rows:
        return "The 5.6 comparison has not been made yet."
    return answer_markdown([Row(**r) for r in rows], runs)


def writeup_table(problem: str, results: str | Path, current: str | Path | None = None) -> str:
    """The course write-up's claims about ``problem`` beside the runs under ``results`` (and a
    notebook's own run ``current``, as in ``answer_markdown``)."""
    return writeup_markdown(problem, with_current(problem, results, current))
