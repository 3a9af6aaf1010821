"""Every number a page states, computed once: the declared statistics' values per setting over
its seeds.

``numbers(results)`` reads every run folder of the grids and returns, per setting
(``"4.3/bs128_ep300"``), each statistic's ``Spread`` over the setting's finished seeds, and the
image statistics 5.6 measured (``COMPARISON``).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from genlab.course.grids import PROBLEMS, VAE_VS_GAN, short
from genlab.course.report.measures import Metrics
from genlab.course.report.stats import STATISTICS
from genlab.runs import repo_root

COMPARISON = Path(VAE_VS_GAN) / "comparison" / "comparison.json"  # 5.6's reference rows
REAL = f"{VAE_VS_GAN}/real images"  # the real training images' image statistics
# measured by 5.6 (COMPARISON): of 10,000 samples, and of the sample grid a run saved
IMAGE_STATS = (
    "background_dark",
    "neighbour_difference",
    "grid_background_dark",
    "grid_neighbour_difference",
)


# what the compact form means, for the glossary
COMPACT = (
    "12.1 [11.7–13.0] is the mean of a statistic over a setting's seeds, then the lowest and "
    "highest seed; a number without a range is the same in every seed or of one seed. The "
    "checks table under each answer gives every number's seeds."
)


@dataclass(frozen=True)
class Spread:
    """One setting's statistic over its seeds."""

    values: tuple[float, ...]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values)

    @property
    def lo(self) -> float:
        return min(self.values)

    @property
    def hi(self) -> float:
        return max(self.values)

    @property
    def seeds(self) -> int:
        return len(self.values)

    def text(self, fmt: str, compact: bool = False) -> str:
        """ "12.1 (11.7–13.0 over 3 seeds)", or "12.1 (1 seed)"; ``compact``, as the answers
        cite numbers (``COMPACT``): "12.1 [11.7–13.0]", or "12.1" for one seed or one value."""
        if compact:
            if self.seeds == 1 or self.lo == self.hi:
                return f"{self.mean:{fmt}}"
            return f"{self.mean:{fmt}} [{self.lo:{fmt}}–{self.hi:{fmt}}]"
        if self.seeds == 1:
            return f"{self.mean:{fmt}} (1 seed)"
        if self.lo == self.hi:
            return f"{self.mean:{fmt}} in all {self.seeds} seeds"
        return f"{self.mean:{fmt}} ({self.lo:{fmt}}–{self.hi:{fmt}} over {self.seeds} seeds)"


Numbers = dict[str, dict[str, Spread]]  # "problem/point" -> statistic name -> over its seeds


def run_values(m: Metrics) -> dict[str, float]:
    """Every declared statistic of one run that it has."""
    out = {}
    for s in STATISTICS.values():
        try:
            value = s.of(m)
        except (KeyError, IndexError, TypeError, ValueError):  # a run that lacks the record
            value = None
        if value is not None:
            out[s.name] = float(value)
    return out


def committed(results: str | Path | None = None) -> Path:
    """The results folder the answers are about: the repository's ``results/`` by default."""
    return Path(results) if results is not None else repo_root() / "results"


def read_runs(results: str | Path) -> dict[str, Metrics]:
    """ "problem/run name" -> metrics.json of every finished run folder of the grids under
    ``results`` (the points and their ``seeds/`` runs)."""
    results, runs = Path(results), {}
    for problem, spec in PROBLEMS.items():
        if not spec.model:
            continue
        for name in spec.run_names():
            path = results / problem / name / "metrics.json"
            if path.exists():
                m = json.loads(path.read_text())
                if m.get("status") == "complete":
                    runs[f"{problem}/{name}"] = m
    return runs


def numbers(results: str | Path, runs: Mapping[str, Metrics] | None = None) -> Numbers:
    """Each grid point's statistics over its finished seeds, from the run folders under
    ``results`` (or ``runs``, as ``read_runs`` returns them), and the real images' image
    statistics of 5.6 where its table was made."""
    runs = read_runs(results) if runs is None else runs
    out: Numbers = {}
    for problem, spec in PROBLEMS.items():
        for point in spec.points if spec.model else ():
            names = [f"{problem}/{point}", *(f"{problem}/{r}" for r in spec.replicas(point))]
            values = [run_values(runs[n]) for n in names if n in runs]
            by_stat: dict[str, Spread] = {}
            for s in STATISTICS:
                found = tuple(v[s] for v in values if s in v)
                if found:
                    by_stat[s] = Spread(found)
            if by_stat:
                out[f"{problem}/{point}"] = by_stat
    table = Path(results) / COMPARISON
    for row in json.loads(table.read_text()) if table.exists() else []:
        # 5.6's image statistics of the real images and of each compared run's samples
        setting = REAL if row["model"] == "real images" else row["run"]
        if setting and not row["model"].endswith("reconstructions"):
            out.setdefault(setting, {}).update(
                {k: Spread((float(row[k]),)) for k in IMAGE_STATS if row.get(k) is not None}
            )
    return out


def setting_label(key: str) -> str:
    """ "batch 128, 300 epochs" for "4.3/bs128_ep300"."""
    problem, _, point = key.partition("/")
    return "real images" if key == REAL else short(problem, point) if point else key
