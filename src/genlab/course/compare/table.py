"""Problem 5.6's numbers: one row per run (the evaluation and the image statistics, from
``pixels``, of the same seeded samples), the reference rows, and the table."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from genlab.config import GANConfig
from genlab.course.compare.pixels import (
    GRID_SIZE,
    STAT_KEYS,
    as_saved,
    grid_images,
    grid_stats,
    recorded_stats,
    run_images,
)
from genlab.course.compare.runs import Source
from genlab.course.grids import CGAN_CHANGES, GAN_POINT
from genlab.course.report import duration, train_seconds
from genlab.course.report.measures import CORNER, DARK, image_stats
from genlab.course.report.stats import STATISTICS
from genlab.data import FASHION_CLASSES, load
from genlab.evaluate import (
    EVAL_SEED,
    coverage,
    evaluate_run,
    is_current,
    load_classifier,
    reference_distances,
)
from genlab.runs import CHECKPOINT, load_metrics, write_json

CLASSES = FASHION_CLASSES


# --- the numbers ------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the table: a run's (or a reference's) numbers; None where there are none."""

    model: str  # VAE | VAE reconstructions | GAN | cGAN | real images | uniform noise
    run: str = ""  # problem/point
    setting: str = ""
    action: str = ""
    status: str = ""
    epochs_done: int | None = None
    epochs_planned: int | None = None
    train_seconds: float | None = None
    device: str = ""
    n: int | None = None
    frechet: float | None = None
    classes_covered: int | None = None
    kl: float | None = None
    histogram: list[float] | None = None
    conditional_accuracy: float | None = None
    background_mean: float | None = None
    background_dark: float | None = None
    neighbour_difference: float | None = None
    grid_background_dark: float | None = None  # of the last sample grid the run saved
    grid_neighbour_difference: float | None = None
    note: str = ""

    @property
    def point(self) -> str:
        return self.run.rpartition("/")[2]

    def add_stats(self, stats: dict[str, float]) -> None:
        for key in STAT_KEYS:
            setattr(self, key, stats[key])

    def add_metrics(self, metrics: dict[str, Any]) -> None:
        self.n = metrics["n"]
        self.frechet = metrics["frechet_distance"]
        self.classes_covered = metrics["classes_covered"]
        self.kl = metrics["kl_from_uniform"]
        self.histogram = list(metrics["class_histogram"])
        self.conditional_accuracy = metrics.get("conditional_accuracy")


def _setting(config: dict[str, Any]) -> str:
    if config["model"] == "vae":
        text = f"batch size {config['batch_size']}"
    else:
        text = f"lr_g {config['lr_g']:g}, lr_d {config['lr_d']:g}, g_steps {config['g_steps']}"
        if config.get("conditional"):  # the cGAN's variant: what it changes of the course's
            course = GANConfig(conditional=True).identity()
            changes = [f"{k} {config[k]}" for k in CGAN_CHANGES if config.get(k) != course[k]]
            text += "; " + (", ".join(changes) if changes else "the course's cGAN")
    if config.get("train_limit"):
        text += f", {config['train_limit']} training images"
    return text


def _status(metrics: dict[str, Any]) -> str:
    status = metrics["status"]
    if status == "diverged" and "diverged" in metrics:
        d = metrics["diverged"]
        status += f" (epoch {d['epoch']}, batch {d['batch']})"
    return status


def source_rows(
    source: Source, n: int, device: str = "auto", previous: dict[str, Any] | None = None
) -> list[Row]:
    """The row of a run (two for a VAE: its samples and its reconstructions); ``previous``:
    its image statistics as 5.6 recorded them before (``recorded_stats``)."""
    metrics = source.metrics
    epochs = metrics["epochs"]
    row = Row(
        model=source.model,
        run=source.label,
        setting=_setting(metrics["config"]),
        action=source.action,
        status=_status(metrics),
        epochs_done=len(epochs),
        epochs_planned=metrics["config"]["epochs"],
        train_seconds=train_seconds(metrics),
        device=str(metrics.get("device", "")),
        note=source.note,
    )
    rows = [row]
    if not epochs:
        row.note = "; ".join(filter(None, [row.note, "not evaluated: no epoch finished"]))
        return rows
    try:
        evaluation, stats = _measured(source.run.path, n, device, previous)
    except (OSError, NotImplementedError, ValueError, RuntimeError, KeyError) as e:
        row.note = "; ".join(filter(None, [row.note, f"not evaluated: {type(e).__name__}: {e}"]))
        return rows
    row.add_metrics(evaluation["samples"])
    grid = grid_images(source.run.path / f"sample_{len(epochs)}.png")
    if grid is not None:
        for key, value in grid_stats(grid).items():
            setattr(row, key, value)
    if stats is None:
        unmeasured = "background and sharpness not measured: no checkpoint (train the run again)"
        row.note = "; ".join(filter(None, [row.note, unmeasured]))
    else:
        row.add_stats(stats["samples"])
    if "reconstructions" in evaluation:
        recon = dataclasses.replace(  # the sample grid's statistics are the samples' only
            row,
            model="VAE reconstructions",
            histogram=None,
            grid_background_dark=None,
            grid_neighbour_difference=None,
        )
        recon.add_metrics(evaluation["reconstructions"])
        if stats is not None:
            recon.add_stats(stats["reconstructions"])
        rows.append(recon)
    return rows


def _measured(
    run_dir: Path, n: int, device: str, previous: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The run's evaluation and the image statistics of the same samples, measured from its
    checkpoint, or, when the checkpoint is gone (git keeps none: a fresh clone), its recorded
    evaluation and the statistics 5.6 recorded before (``previous``, from its own
    ``comparison.json``); the statistics are None when they were never measured with ``n``
    samples. Nothing is written into the run's folder: each problem writes only its own."""
    recorded = load_metrics(run_dir).get("evaluation") or {}
    if not (run_dir / CHECKPOINT).exists():
        if is_current(recorded, n):
            return recorded, previous if previous and previous.get("n") == n else None
        raise FileNotFoundError(
            f"no checkpoint in {run_dir.name}/ and no recorded evaluation "
            f"of {n} samples: train the run again to measure it"
        )
    evaluation = evaluate_run(run_dir, n=n, device=device, write=False)
    samples, recons = run_images(run_dir, n, device)
    stats = {"n": n, "samples": image_stats(samples)}
    if recons is not None:
        stats["reconstructions"] = image_stats(recons)
    return evaluation, stats


def reference_rows(dataset: str, n: int, device: str = "auto") -> list[Row]:
    """Real training images (the floor of the distance) and uniform noise (its ceiling).

    The same ``n`` images as ``genlab.evaluate.reference_distances`` draws.
    """
    refs = reference_distances(dataset, n, device)
    generator = torch.Generator().manual_seed(EVAL_SEED)
    train = load(dataset, "train")
    real_images = train.pixels()[torch.randperm(len(train), generator=generator)[:n]]
    noise_images = torch.rand(n, 1, 28, 28, generator=generator)
    clf = load_classifier(dataset, device)
    real = Row(
        "real images", setting=f"{dataset} training split", n=n, frechet=refs["train_vs_test"]
    )
    cov = coverage(clf.embed(real_images)[1])
    real.classes_covered, real.kl = cov["classes_covered"], cov["kl_from_uniform"]
    real.histogram = cov["class_histogram"]
    real.add_stats(image_stats(real_images))
    for key, value in grid_stats(as_saved(load(dataset, "test").pixels()[:GRID_SIZE])).items():
        setattr(real, key, value)  # the first test images, as a run's grid keeps its samples
    noise = Row(
        "uniform noise", setting="pixels uniform in [0, 1]", n=n, frechet=refs["noise_vs_test"]
    )
    noise.add_stats(image_stats(noise_images))
    return [real, noise]


def measure(
    sources: Sequence[Source], n: int, device: str = "auto", previous: Path | None = None
) -> list[Row]:
    """The table's rows: real images, every compared run (the VAE's reconstructions after its
    samples), uniform noise. ``previous``: the ``comparison.json`` saved before, whose image
    statistics stand in for those of runs without a checkpoint."""
    dataset = sources[0].metrics["config"]["dataset"] if sources else "fashion-mnist"
    real, noise = reference_rows(dataset, n, device)
    before = recorded_stats(previous) if previous is not None else {}
    rows = [real]
    for source in sources:
        rows += source_rows(source, n, device, before.get(source.label))
    return rows + [noise]


def save_rows(rows: Sequence[Row], path: Path) -> None:
    write_json(path, [dataclasses.asdict(r) for r in rows])


# --- formatting: each declared statistic in its one format (genlab.course.report.stats) ----


def stat(name: str) -> Callable[[float], str]:
    """The formatter of the declared statistic ``name``."""
    return STATISTICS[name].format


def share(v: float) -> str:
    """The top class's share of the samples (a part of the class spread, no statistic)."""
    return f"{v:.1%}"


def pixel(v: float) -> str:
    """The corners' mean pixel value, in [0, 1] (beside the statistic of the dark corners)."""
    return f"{v:.3f}"


def _f(value: Any, form: Callable[[Any], str]) -> str:
    return "–" if value is None else form(value)


def top_class(row: Row) -> tuple[str, float] | None:
    if not row.histogram:
        return None
    i = max(range(len(row.histogram)), key=row.histogram.__getitem__)
    return CLASSES[i], row.histogram[i]


COLUMNS = (
    "model",
    "run",
    "setting",
    "epochs",
    "training time",
    "status",
    "Fréchet distance",
    "classes covered",
    "KL from uniform",
    "most frequent class",
    "conditional accuracy",
    "background near black",
    "background mean",
    "neighbour difference",
    "sample grid: near black, neighbour difference",
)


def table_markdown(rows: Sequence[Row]) -> str:
    """One markdown table of every row."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    for r in rows:
        top = top_class(r)
        epochs = f"{r.epochs_done} / {r.epochs_planned}" if r.epochs_planned else "–"
        time = f"{duration(r.train_seconds)} ({r.device})" if r.train_seconds is not None else "–"
        run = f"`{r.run}` ({r.action})" if r.run else "–"
        status = "; ".join(filter(None, [r.status, r.note])) or "–"
        cells = [
            f"**{r.model}**",
            run,
            r.setting or "–",
            epochs,
            time,
            status,
            _f(r.frechet, stat("sample_distance")),
            _f(r.classes_covered, stat("classes_covered")),
            _f(r.kl, stat("kl_from_uniform")),
            f"{top[0]} ({share(top[1])})" if top else "–",
            _f(r.conditional_accuracy, stat("conditional_accuracy")),
            _f(r.background_dark, stat("background_dark")),
            _f(r.background_mean, pixel),
            _f(r.neighbour_difference, stat("neighbour_difference")),
            (
                f"{stat('grid_background_dark')(r.grid_background_dark)}, "
                f"{stat('grid_neighbour_difference')(r.grid_neighbour_difference)}"
                if r.grid_neighbour_difference is not None
                else "–"
            ),
        ]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    n = next((r.n for r in rows if r.n), None)
    lines += [
        "",
        f"Measured on {n} generated images per run (seeded, the same noise for every run), "
        "against the whole real test split. Fréchet distance: between the Gaussians fitted to "
        "the classifier's features of the images and of the real test images (lower is closer; "
        "the real training images give the floor, uniform noise the ceiling). Classes: the "
        "classifier's verdict on each image; a class is covered with at least 5% of them; KL "
        "from uniform is 0 for perfectly balanced classes, ln 10 = 2.30 for a single one. "
        f"Background: the four {CORNER} x {CORNER}-pixel corners of each image, near black "
        f"below {DARK}. Neighbour "
        "difference: the mean absolute difference between adjacent pixels (pixels in [0, 1]). "
        "Sample grid: the same two, of the 64 samples of the grid the run saved after its "
        "last epoch (8-bit PNG; for real images, the first 64 test images rounded the same "
        "way), which every VAE and GAN run keeps, checkpoint or not.",
    ]
    return "\n".join(lines)


# --- the rows the answer and the figures compare ----------------------------------------------


@dataclass
class Picked:
    real: Row | None = None
    noise: Row | None = None
    vae: Row | None = None
    recon: Row | None = None
    gan: Row | None = None
    cgan: Row | None = None
    gans: list[Row] = field(default_factory=list)

    def models(self) -> list[tuple[str, Row]]:
        """(name in a sentence, row) of the VAE, the GAN and the cGAN that exist."""
        named = [("the VAE", self.vae), (self.gan_name, self.gan), ("the cGAN", self.cgan)]
        return [(name, row) for name, row in named if row is not None]

    gan_name = "the GAN"


def pick(rows: Sequence[Row]) -> Picked:
    """The rows the answer compares; the GAN is ``GAN_POINT`` if it was evaluated, else the
    evaluated GAN setting with the lowest distance, else the first."""
    first = lambda model: next((r for r in rows if r.model == model), None)  # noqa: E731
    gans = [r for r in rows if r.model == "GAN"]
    evaluated = [r for r in gans if r.frechet is not None]
    gan = next((r for r in evaluated if r.point == GAN_POINT), None)
    if gan is None and evaluated:
        gan = min(evaluated, key=lambda r: r.frechet)
    if gan is None and gans:
        gan = gans[0]
    return Picked(
        first("real images"),
        first("uniform noise"),
        first("VAE"),
        first("VAE reconstructions"),
        gan,
        first("cGAN"),
        gans,
    )
