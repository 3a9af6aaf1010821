"""Each problem's answer and write-up table, from the committed run folders.

The notebooks and ``results/index.html`` both call ``answer_markdown`` and ``writeup_table``,
so they state the same numbers in the same words. An answer is its authored template
(``genlab/course/answers/<problem>.md``) rendered on the numbers of the repository's
``results/`` (``values.numbers``), every check strict: the answers are about the committed runs,
whatever folder a notebook's own run lies in. A notebook whose run is not a committed one gets,
after the answer, the answer's checks evaluated again with its run in place of the committed
seeds of its setting.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from genlab.course.grids import PROBLEMS, label
from genlab.course.report.claims import checks_markdown, render
from genlab.course.report.reference import NOT_SETTING, RUN_ONLY, failure
from genlab.course.report.stats import STATISTICS
from genlab.course.report.values import (
    Numbers,
    Spread,
    committed,
    numbers,
    read_runs,
    run_values,
)
from genlab.course.report.writeup import VERDICTS, judged, writeup_markdown
from genlab.health import at_epoch


def _check_problem(problem: str) -> None:
    if problem not in PROBLEMS:
        raise ValueError(f"unknown problem {problem!r}; accepted: {', '.join(PROBLEMS)}")


def setting_of(problem: str, metrics: dict[str, Any]) -> str | None:
    """The grid point of ``problem`` whose setting a run shares, all but its seed, where it
    ran, its length and how it is measured (``reference.NOT_SETTING``); of several, the one
    trained as long, else the nearest longer one ("problem/point"). None when the run's
    setting is none of the grid's."""
    spec, config = PROBLEMS[problem], metrics["config"]
    shared = [
        (point, spec.config(point))
        for point in spec.points
        if all(
            config.get(k) == v
            for k, v in spec.config(point).to_dict().items()
            if k not in NOT_SETTING
        )
    ]
    if not shared:
        return None
    epochs = config["epochs"]
    point, _ = min(shared, key=lambda p: (p[1].epochs < epochs, abs(p[1].epochs - epochs)))
    return f"{problem}/{point}"


def as_committed(setting: str, metrics: dict[str, Any]) -> bool:
    """Whether a run of ``setting`` is also as long and measured as its committed runs: the
    answer's claims can then be tested with it."""
    problem, point = setting.split("/", 1)
    grid = PROBLEMS[problem].config(point).to_dict()
    return all(metrics["config"].get(k) == grid[k] for k in NOT_SETTING - RUN_ONLY if k in grid)


def _is_committed(problem: str, results: Path, current: Path) -> bool:
    spec = PROBLEMS[problem]
    return current.resolve() in {(results / problem / r).resolve() for r in spec.run_names()}


def _student_run(
    problem: str, results: str | Path, current: str | Path | None
) -> tuple[dict[str, Any], str | None] | None:
    """A notebook's own run folder that is not a committed one: its metrics and the grid
    point whose setting it shares (None when none), or None for no such run."""
    if current is None or not PROBLEMS[problem].model:
        return None
    results, current = Path(results), Path(current)
    path = current / "metrics.json"
    if not path.exists() or _is_committed(problem, results, current):
        return None
    metrics = json.loads(path.read_text())
    return metrics, setting_of(problem, metrics)


def student_numbers(
    problem: str, results: str | Path, current: str | Path | None, found: Numbers
) -> tuple[Numbers, str, dict[str, Any]] | None:
    """For a notebook whose finished, unbroken run is not a committed one and shares a grid
    point's setting: the committed numbers with that run in place of the setting's seeds, the
    setting and the run's metrics; else None."""
    student = _student_run(problem, results, current)
    if student is None:
        return None
    metrics, setting = student
    if setting is None or metrics.get("status") != "complete" or failure(metrics):
        return None
    if not as_committed(setting, metrics):
        return None
    mine = {**found, setting: {k: Spread((v,)) for k, v in run_values(metrics).items()}}
    return mine, setting, metrics


def your_run(
    problem: str, results: str | Path, current: str | Path | None, committed: Numbers
) -> str:
    """For a notebook whose run is not a committed one: which of the answer's claims hold
    with that run in place of its setting's committed seeds."""
    student = _student_run(problem, results, current)
    if student is None:
        return ""
    metrics, setting = student
    name = f"`{Path(current).name}`"
    if setting is None:
        return (
            f"\n\n### Your run\n\nYour run {name} is not one of the settings the answer "
            "compares (its parameters differ from every grid point's beyond the seed), so "
            "the answer's claims are about the committed runs alone."
        )
    if metrics.get("status") == "complete" and not failure(metrics):
        if not as_committed(setting, metrics):
            grid = PROBLEMS[problem].config(setting.split("/", 1)[1])
            return (
                f"\n\n### Your run against the answer\n\nYour run {name} has the setting "
                f"{label(*setting.split('/'))} with seed {metrics['config']['seed']}, but "
                f"trained {metrics['config']['epochs']} of its {grid.epochs} epochs (or was "
                "measured on other sample counts): the answer's claims are about the "
                "committed runs as they are, so they are not tested with it. Above, it is "
                "placed against them at its last epoch."
            )
    numbers_with_it = student_numbers(problem, results, current, committed)
    if numbers_with_it is None:  # not complete, or broken
        state = metrics.get("status") if metrics.get("status") != "complete" else "broken"
        return (
            f"\n\n### Your run\n\nYour run {name} has status **{state}**: "
            "its numbers are not compared with the committed runs."
        )
    mine = numbers_with_it[0]
    _, before = render(problem, committed, strict=False)
    _, after = render(problem, mine, strict=False, min_seeds=1)
    held = sum(c.holds for c in after)
    return (
        f"\n\n### Your run against the answer\n\nYour run {name} has the setting "
        f"{label(*setting.split('/'))} with seed {metrics['config']['seed']}. With it in "
        f"place of that setting's committed seeds, {held} of the answer's {len(after)} "
        "checks hold; a comparison sets your run's one value against the other settings' "
        "ranges over their seeds.\n\n" + checks_markdown(before, after, "with your run")
    )


def answer_markdown(
    problem: str, results: str | Path | None = None, current: str | Path | None = None
) -> str:
    """The answer to ``problem`` from the runs under ``results`` (default: the committed
    ``results/``); every check strict (a claim that fails raises ``ClaimFailed``).
    ``current``: a notebook's own run folder."""
    _check_problem(problem)
    found = numbers(committed(results))
    text, _ = render(problem, found)
    return text + your_run(problem, committed(results), current, found)


def answer_checks(problem: str, results: str | Path | None = None) -> str:
    """The checks the answer made, as a table (every one holds, or rendering raised)."""
    _check_problem(problem)
    return checks_markdown(render(problem, numbers(committed(results)))[1])


def writeup_table(
    problem: str, results: str | Path | None = None, current: str | Path | None = None
) -> str:
    """The course write-up's claims about ``problem`` judged on the committed runs under
    ``results`` (default: ``results/``). ``current``, a notebook's own run of a grid point's
    setting that is not a committed one, gets a column of its own verdicts, on the claims
    about its setting only."""
    _check_problem(problem)
    found = numbers(committed(results))
    student = student_numbers(problem, committed(results), current, found)
    if student is None:
        return writeup_markdown(problem, found)
    mine, setting, _ = student
    return writeup_markdown(problem, found, mine, setting)


def verdict_counts(problem: str, results: str | Path | None = None) -> dict[str, int]:
    """How many of the write-up's claims about ``problem`` get each verdict, in the order
    agree, partly, disagree, cannot tell (those that occur)."""
    verdicts = [j.verdict for j in judged(problem, numbers(committed(results)))]
    return {v: verdicts.count(v) for v in VERDICTS if v in verdicts}


def run_markdown(problem: str, run_dir: str | Path, results: str | Path | None = None) -> str:
    """This run's declared statistics (``stats``), beside the committed seeds of its setting
    where the run shares a grid point's parameters: where a re-run or a student's run stands."""
    metrics = json.loads((Path(run_dir) / "metrics.json").read_text())
    setting = setting_of(problem, metrics) if PROBLEMS[problem].model else None
    reference, column = {}, "committed runs of this setting"
    if setting and as_committed(setting, metrics):
        reference = numbers(committed(results)).get(setting, {})
    elif setting:  # a shorter or longer run: the setting's seeds as they stood at its epoch
        point = setting.split("/", 1)[1]
        at = min(len(metrics["epochs"]), PROBLEMS[problem].config(point).epochs)
        runs = {k: at_epoch(m, at) for k, m in read_runs(committed(results)).items()}
        reference = numbers(committed(results), runs).get(setting, {})
        column = f"committed runs of this setting, at epoch {at}"
    values = run_values(metrics)
    head = f"| statistic | this run | {column} | unit |"
    rows = [head, "| --- | --- | --- | --- |"]
    for name, value in values.items():
        s = STATISTICS[name]
        ref = reference[name].text(s.fmt) if name in reference else "–"
        rows.append(f"| {s.word} | {s.format(value)} | {ref} | {s.unit} |")
    status = (
        f"Status: **{metrics['status']}** after {len(metrics['epochs'])} of "
        f"{metrics['config']['epochs']} epochs."
    )
    return status + "\n\n" + "\n".join(rows) + "\n\nThe glossary says what each statistic measures."


# the README's results table stands between these lines, rendered from ``answers/results-table.md``
README_MARKS = ("<!-- results table: python -m genlab.course.report.answers -->", "<!-- end -->")


def results_table(results: str | Path | None = None) -> str:
    """The README's table of the main results, from the committed runs under ``results``,
    every comparison in it checked (strict, as the answers)."""
    return render("results-table", numbers(committed(results)))[0]


def readme_with_table(readme: str, table: str) -> str:
    """``readme`` with ``table`` between ``README_MARKS`` (which it must hold, in order)."""
    start, end = README_MARKS
    if start not in readme or end not in readme.split(start, 1)[1]:
        raise ValueError(f"README.md holds no {start!r} ... {end!r} block for the table")
    head, rest = readme.split(start, 1)
    return f"{head}{start}\n{table}\n{end}{rest.split(end, 1)[1]}"


if __name__ == "__main__":  # write the table into README.md
    from genlab.datasets import repo_root

    readme = repo_root() / "README.md"
    readme.write_text(readme_with_table(readme.read_text(), results_table()))
    print(f"{readme}: results table written")
