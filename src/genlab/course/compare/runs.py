"""Problem 5.6's runs: the compared grid points of 4.3, 5.3 and 5.5, reused, resumed or trained."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genlab.config import Config
from genlab.course.grids import (
    CGAN_GRID,
    CGAN_POINT,
    GAN_GRID,
    GAN_SETTINGS,
    MODELS,
    PROBLEMS,
    VAE_GRID,
    VAE_POINT,
)
from genlab.health import FINAL
from genlab.runs import CHECKPOINT, Run, load_metrics, read_json, repo_root
from genlab.train.entry import open_run

QUICK_EVAL_SAMPLES = 512  # at most this many images per metric with quick=True


def results_root(results_dir: str | os.PathLike | None, quick: bool = False) -> Path:
    """The folder of the runs: ``results_dir``, else ``results/`` (``results-quick/`` if quick)."""
    if results_dir is not None:
        return Path(results_dir)
    return repo_root() / ("results-quick" if quick else "results")


def sample_count(eval_samples: int, quick: bool) -> int:
    """Generated images per metric: ``eval_samples``, at most ``QUICK_EVAL_SAMPLES`` if quick."""
    n = min(eval_samples, QUICK_EVAL_SAMPLES) if quick else eval_samples
    if n < 2:
        raise ValueError(f"eval_samples must be at least 2, got {eval_samples}")
    return n


def compared_points(vae_point: str = VAE_POINT) -> list[tuple[str, str]]:
    """(problem, grid point) of every compared run, in the table's order."""
    return [(VAE_GRID, vae_point), *((GAN_GRID, s) for s in GAN_SETTINGS), (CGAN_GRID, CGAN_POINT)]


@dataclass
class Source:
    """One compared run folder and how this notebook got it."""

    model: str  # VAE | GAN | cGAN
    problem: str
    point: str
    run: Run
    action: str  # reused | resumed | trained
    note: str = ""  # parameters of a reused run that differ from its grid point's

    @property
    def label(self) -> str:
        return f"{self.problem}/{self.point}"

    @property
    def metrics(self) -> dict[str, Any]:
        return load_metrics(self.run.path)

    def describe(self) -> str:
        m = self.metrics
        done = f"{len(m['epochs'])} of {m['config']['epochs']} epochs, status {m['status']}"
        note = f"; {self.note}" if self.note else ""
        return f"{self.model:4} {self.label:16} {self.action}: {self.run.path} ({done}{note})"


def open_point(
    problem: str, point: str, run_dir: Path, config: Config, progress: bool = True
) -> Source:
    """Reuse, resume or train the run folder ``run_dir`` of a grid point whose config is
    ``config``.

    A folder that holds a run keeps the parameters it was trained with (its ``config.json``;
    the ones that differ from ``config`` are named in ``Source.note``): a complete, diverged or
    collapsed run is reopened without training, any other resumes from its checkpoint. An empty or
    missing folder is trained with ``config``.
    """
    saved = run_dir / "config.json"
    note, grid = "", config
    if saved.exists():
        identity = {k: v for k, v in read_json(saved).items() if k != "model"}
        config = type(grid).from_dict({**grid.to_dict(), **identity})
        wanted = grid.identity()
        differ = [
            f"{k} = {v!r} (grid: {wanted.get(k)!r})"
            for k, v in identity.items()
            if wanted.get(k) != v
        ]
        if differ:
            note = "trained with other parameters than the grid point's: " + ", ".join(differ)
    run, _ = open_run(run_dir, config)  # another code's run is refused, as in training
    model = MODELS[problem]
    if run.complete or run.status in FINAL:
        return Source(model, problem, point, run, "reused", note)
    action = "resumed" if (run_dir / CHECKPOINT).exists() else "trained"
    from genlab.train import train_run

    run = train_run(config, run_dir, progress)
    return Source(model, problem, point, run, action, note)


def locate(
    results: Path,
    quick: bool = False,
    no_cuda: bool = False,
    progress: bool = True,
    vae_point: str = VAE_POINT,
) -> list[Source]:
    """Every compared run (``compared_points``) of ``results``, reused, resumed or trained."""
    sources = []
    for problem, name in compared_points(vae_point):
        points = PROBLEMS[problem].points
        if name not in points:
            raise ValueError(f"{problem} has no grid point {name!r}; it has {', '.join(points)}")
        config = PROBLEMS[problem].config(name, quick)
        if no_cuda:
            config = config.replace(no_cuda=True)
        sources.append(open_point(problem, name, Path(results) / problem / name, config, progress))
    return sources
