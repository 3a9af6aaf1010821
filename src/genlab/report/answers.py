"""Each problem's answer and write-up table, from the run folders of a results folder.

One function per fact: the notebooks and ``results/index.html`` both call ``answer_markdown``
and ``writeup_table`` with the results folder, so they state the same numbers in the same words.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from genlab.grids import PROBLEMS
from genlab.report.gan import answer_5_3, answer_5_5
from genlab.report.vae import answer_4_2, answer_4_3
from genlab.report.writeup import Runs, writeup_markdown

COMPARISON = Path("5.6") / "comparison" / "comparison.json"  # the 5.6 table's rows


def problem_runs(results: str | Path) -> Runs:
    """problem -> point -> metrics.json of every run folder found under ``results``; for 5.6,
    ``{"rows": [...]}`` from its comparison table when it was made."""
    results = Path(results)
    runs: Runs = {}
    for problem, spec in PROBLEMS.items():
        found = {}
        for point in spec.points:
            path = results / problem / point / "metrics.json"
            if path.exists():
                found[point] = json.loads(path.read_text())
        runs[problem] = found
    if (results / COMPARISON).exists():
        runs["5.6"] = {"rows": json.loads((results / COMPARISON).read_text())}
    return runs


def answer_markdown(problem: str, results: str | Path) -> str:
    """The answer to ``problem`` from the runs under ``results``, every sentence with its number."""
    runs = problem_runs(results)
    if problem == "4.2":
        return answer_4_2(runs["4.2"].get("default"))
    if problem == "4.3":
        return answer_4_3(_all_points(runs, "4.3"))
    if problem == "5.3":
        return answer_5_3(_all_points(runs, "5.3"))
    if problem == "5.5":
        return answer_5_5(runs["5.5"].get("equal_lr"), runs["5.3"])
    if problem == "5.6":
        return comparison_answer(runs.get("5.6", {}).get("rows"))
    raise ValueError(f"unknown problem {problem!r}; accepted: {', '.join(PROBLEMS)}")


def _all_points(runs: Runs, problem: str) -> dict[str, Any]:
    """Every grid point, an empty record for the ones not run, so answers count them."""
    return {point: runs[problem].get(point, {}) for point in PROBLEMS[problem].points}


def comparison_answer(rows: list[dict[str, Any]] | None) -> str:
    if not rows:
        return "The 5.6 comparison has not been made yet."
    from genlab.compare import Row
    from genlab.compare import answer_markdown as compare_answer

    return compare_answer([Row(**r) for r in rows])


def writeup_table(problem: str, results: str | Path) -> str:
    """The course write-up's claims about ``problem`` beside the runs under ``results``."""
    return writeup_markdown(problem, problem_runs(results))
