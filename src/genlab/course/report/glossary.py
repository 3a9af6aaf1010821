"""The glossary of a page, generated from the declared statistics (``stats.STATISTICS``): what
each measures, its unit, the thresholds of its words, and the rule that compares settings."""

from __future__ import annotations

from pathlib import Path

from genlab.course.grids import PROBLEMS
from genlab.course.report.claims import RULE, Checker, template
from genlab.course.report.reference import CONFIDENCE
from genlab.course.report.stats import STATISTICS, statistic
from genlab.course.report.values import COMPACT, Spread, committed, read_runs, run_values
from genlab.course.report.writeup import CLAIMS
from genlab.health import HEALTH


def cited(problem: str) -> set[str]:
    """The statistics ``problem``'s answer and write-up table cite (whatever their values)."""

    class Citations(Checker):  # reads every statistic as a placeholder, checks nothing
        def spread(self, setting: str, stat: str) -> Spread:
            statistic(stat)
            self.cited.add((setting, stat))
            return Spread((1.0, 1.0, 1.0))

    checker = Citations({}, strict=False)
    template(problem).render(**checker.context())
    for claim in (c for c in CLAIMS if c.problem == problem):
        claim.judge(checker)
    return {stat for _, stat in checker.cited}


def glossary_markdown(problem: str | None = None, results: str | Path | None = None) -> str:
    """What each statistic measures, its unit and the thresholds of its words, then the rule
    that compares settings: every statistic (``None``), or those ``problem``'s page shows: the
    ones its answer and write-up table cite, and those of its runs (as the committed runs of
    its grid under ``results``, default ``results/``, have them)."""
    shown = set(STATISTICS)
    if problem is not None:
        runs = read_runs(committed(results))
        shown = cited(problem) | {
            name
            for key, m in runs.items()
            if key.startswith(f"{problem}/")
            for name in run_values(m)
        }
    lines = []
    for s in STATISTICS.values():
        if s.name not in shown:
            continue
        unit = f" ({s.unit})" if s.unit else ""
        words = "; ".join(t.text() for t in s.thresholds.values())
        lines.append(f"- **{s.word}**{unit}: {s.measures}" + (f" Words: {words}." if words else ""))
    lines.append(f"- **mean [lowest–highest]**: {COMPACT}")
    lines.append(f"- **differ / indistinguishable**: {RULE}")
    if problem is None or PROBLEMS[problem].model:  # where a notebook trains a run of its own
        lines.append(
            "- **inside / below / above** (your run against the committed runs): where a "
            "statistic of your run falls against the prediction interval for one new run of "
            "its setting, mean ± t·s·√(1 + 1/n) over the n committed seeds (t: Student's, "
            f"n − 1 degrees of freedom), each of the run's k statistics at 1 − "
            f"{1 - CONFIDENCE:.0%}/k, so that a new seed of an unchanged setting has all of "
            f"them inside at least {CONFIDENCE:.0%} of the time. Below: under the interval "
            "(for a loss or a distance: lower than the setting's seeds give); above: over it. "
            "All inside: consistent with the committed runs; one outside: that statistic "
            "apart; more: something differs."
        )
        lines += [f"- **broken** ({rule.name}): {rule.text}" for rule in HEALTH]
    return "\n".join(lines)
