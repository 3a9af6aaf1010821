"""Problem 5.6, VAE versus GAN: the runs of 4.3, 5.3 and 5.5 side by side, measured.

The notebook ``5.6_vae_vs_gan.ipynb`` calls, in order:

- ``results_root(results_dir, quick)``: the results folder holding ``4.3/``, ``5.3/`` and
  ``5.5/`` (by default the repository's ``results/``, or ``results-quick/`` for a quick run,
  as ``./run_all.sh`` does).
- ``locate(results, quick, no_cuda, progress)``: one ``Source`` per compared run: the VAE of
  4.3 (``VAE_POINT``), the GAN of 5.3 in its four settings, the cGAN of 5.5. A finished (or
  diverged) run folder is reopened as it is and never retrained; an interrupted one resumes;
  a missing one is trained with its grid point's config (``genlab.grids.Problem.config``, with
  the ``--quick`` overrides when ``quick``), the config that problem's notebook builds.
- ``measure(sources, n, device)``: one ``Row`` of numbers per run, plus the reference rows (real
  training images, uniform noise): ``genlab.evaluate.evaluate_run`` (Fréchet distance in the
  classifier's feature space, class histogram, classes covered, KL from uniform, a cGAN's
  conditional accuracy; cached in each run's ``metrics.json``, where an evaluation the run
  recorded with another number of samples is kept) and ``image_stats`` of the same seeded
  samples (background and sharpness).
- ``table_markdown(rows)``, ``comparison_figure(sources, path)`` and ``histogram_figure(rows,
  path)``: the table and the two figures. The written answer, built from the same rows, is
  ``genlab.report.comparison.answer_markdown``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from genlab.config import Config, VAEConfig
from genlab.data import FASHION_CLASSES, load
from genlab.evaluate import (
    EVAL_SEED,
    coverage,
    evaluate_run,
    gan_images,
    load_classifier,
    load_generator,
    load_vae,
    reference_distances,
    vae_images,
)
from genlab.grids import GAN_SETTINGS, PROBLEMS
from genlab.report import duration, train_seconds
from genlab.runs import CHECKPOINT, Run, load_metrics, read_json, repo_root, write_json

VAE_POINT = "bs64_ep50"  # the 4.3 point closest to the GANs (batch size 64, 40 epochs)
GAN_POINT = "equal_lr"  # the GAN the VAE and the cGAN are compared with first
QUICK_EVAL_SAMPLES = 512  # at most this many images per metric with quick=True
CORNER = 4  # the background is measured on the four CORNER x CORNER corners of an image
DARK = 0.1  # a pixel below this value counts as black background
CLASSES = FASHION_CLASSES
MODELS = {"4.3": "VAE", "5.3": "GAN", "5.5": "cGAN"}


# --- the runs ---------------------------------------------------------------------------------


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
    return [("4.3", vae_point), *(("5.3", s) for s in GAN_SETTINGS), ("5.5", "equal_lr")]


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


def _train(config: Config, run_dir: Path, progress: bool) -> Run:
    if isinstance(config, VAEConfig):
        from genlab.train.vae import train_vae

        return train_vae(config, run_dir=run_dir, progress=progress)
    from genlab.train.gan import train_gan

    return train_gan(config, run_dir=run_dir, progress=progress)


def open_point(problem: str, point: str, run_dir: Path, config: Config,
               progress: bool = True) -> Source:  # fmt: skip
    """Reuse, resume or train the run folder ``run_dir`` of a grid point whose config is
    ``config``.

    A folder that holds a run keeps the parameters it was trained with (its ``config.json``;
    the ones that differ from ``config`` are named in ``Source.note``): a complete or diverged
    run is reopened without training, any other resumes from its checkpoint. An empty or
    missing folder is trained with ``config``.
    """
    saved = run_dir / "config.json"
    note, grid = "", config
    if saved.exists():
        identity = {k: v for k, v in read_json(saved).items() if k != "model"}
        config = type(grid).from_dict({**grid.to_dict(), **identity})
        wanted = grid.identity()
        differ = [f"{k} = {v!r} (grid: {wanted.get(k)!r})" for k, v in identity.items()
                  if wanted.get(k) != v]  # fmt: skip
        if differ:
            note = "trained with other parameters than the grid point's: " + ", ".join(differ)
    run = Run.open(run_dir, config)
    model = MODELS[problem]
    if run.complete or run.status == "diverged":
        return Source(model, problem, point, run, "reused", note)
    action = "resumed" if (run_dir / CHECKPOINT).exists() else "trained"
    run = _train(config, run_dir, progress)
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
        sources.append(open_point(problem, name, Path(results) / problem / name, config,
                                  progress))  # fmt: skip
    return sources


# --- the numbers ------------------------------------------------------------------------------


def image_stats(images: torch.Tensor) -> dict[str, float]:
    """Background and sharpness of images (N, 1, 28, 28) in [0, 1].

    ``background_mean``: the mean of the pixels of the four ``CORNER`` x ``CORNER`` corners
    (Fashion-MNIST's background is black, 0, and its clothes seldom reach the corners, while
    trousers and dresses touch the top and bottom edges); ``background_dark``: the share of
    those pixels below ``DARK``; ``neighbour_difference``: the mean absolute difference
    between horizontally and vertically adjacent pixels (lower than real images': smoother,
    blurred; higher: harder edges or speckle).
    """
    x = images.detach().reshape(len(images), 28, 28).double().cpu().nan_to_num(0.5).clamp(0, 1)
    c = CORNER
    corners = torch.zeros(28, 28, dtype=torch.bool)
    corners[:c, :c] = corners[:c, -c:] = corners[-c:, :c] = corners[-c:, -c:] = True
    background = x[:, corners]
    dx = (x[:, :, 1:] - x[:, :, :-1]).abs().mean()
    dy = (x[:, 1:, :] - x[:, :-1, :]).abs().mean()
    return {
        "background_mean": float(background.mean()),
        "background_dark": float((background < DARK).double().mean()),
        "neighbour_difference": float((dx + dy) / 2),
    }


@torch.no_grad()
def run_images(
    run_dir: Path, n: int, device: torch.device | str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The seeded samples of a run's checkpoint that ``evaluate_run`` measures (and for a VAE
    its reconstructions of the first n test images), in [0, 1], on the CPU."""
    from genlab.device import resolve_device

    device = resolve_device(device) if isinstance(device, str) else device
    config = load_metrics(run_dir)["config"]
    state = torch.load(Path(run_dir) / CHECKPOINT, map_location="cpu", weights_only=False)
    if config["model"] == "vae":
        vae = load_vae(config, state["trainer"], device)
        test = load(config["dataset"], "test").pixels()[:n]
        return vae_images(vae, n, test)
    return gan_images(load_generator(config, state["trainer"], device), n)[0], None


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
    note: str = ""

    @property
    def point(self) -> str:
        return self.run.rpartition("/")[2]

    def add_stats(self, stats: dict[str, float]) -> None:
        self.background_mean = stats["background_mean"]
        self.background_dark = stats["background_dark"]
        self.neighbour_difference = stats["neighbour_difference"]

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
    if config.get("train_limit"):
        text += f", {config['train_limit']} training images"
    return text


def _status(metrics: dict[str, Any]) -> str:
    status = metrics["status"]
    if status == "diverged" and "diverged" in metrics:
        d = metrics["diverged"]
        status += f" (epoch {d['epoch']}, batch {d['batch']})"
    return status


def source_rows(source: Source, n: int, device: str = "auto") -> list[Row]:
    """The row of a run (two for a VAE: its samples and its reconstructions)."""
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
    if not (source.run.path / CHECKPOINT).exists():
        row.note = "; ".join(filter(None, [row.note, "not evaluated: no epoch finished"]))
        return rows
    try:
        # cached in metrics.json; one the run recorded with another n is left as it is
        before = metrics.get("evaluation") or {}
        write = before.get("n", n) == n
        evaluation = evaluate_run(source.run.path, n=n, device=device, write=write)
        samples, recons = run_images(source.run.path, n, device)
    except (OSError, NotImplementedError, ValueError, RuntimeError, KeyError) as e:
        row.note = "; ".join(filter(None, [row.note, f"not evaluated: {type(e).__name__}: {e}"]))
        return rows
    row.add_metrics(evaluation["samples"])
    row.add_stats(image_stats(samples))
    if recons is not None and "reconstructions" in evaluation:
        recon = dataclasses.replace(row, model="VAE reconstructions", histogram=None)
        recon.add_metrics(evaluation["reconstructions"])
        recon.add_stats(image_stats(recons))
        rows.append(recon)
    return rows


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
    real = Row("real images", setting=f"{dataset} training split", n=n,
               frechet=refs["train_vs_test"])  # fmt: skip
    cov = coverage(clf.embed(real_images)[1])
    real.classes_covered, real.kl = cov["classes_covered"], cov["kl_from_uniform"]
    real.histogram = cov["class_histogram"]
    real.add_stats(image_stats(real_images))
    noise = Row("uniform noise", setting="pixels uniform in [0, 1]", n=n,
                frechet=refs["noise_vs_test"])  # fmt: skip
    noise.add_stats(image_stats(noise_images))
    return [real, noise]


def measure(sources: Sequence[Source], n: int, device: str = "auto") -> list[Row]:
    """The table's rows: real images, every compared run (the VAE's reconstructions after its
    samples), uniform noise."""
    dataset = sources[0].metrics["config"]["dataset"] if sources else "fashion-mnist"
    real, noise = reference_rows(dataset, n, device)
    rows = [real]
    for source in sources:
        rows += source_rows(source, n, device)
    return rows + [noise]


def save_rows(rows: Sequence[Row], path: Path) -> None:
    write_json(path, [dataclasses.asdict(r) for r in rows])


# --- formatting: the table and the answer quote the same strings -------------------------------


def fmt_distance(v: float) -> str:
    return f"{v:.1f}" if abs(v) < 1000 else f"{v:.0f}"


def fmt_share(v: float) -> str:
    return f"{100 * v:.1f}%"


def fmt_kl(v: float) -> str:
    return f"{v:.2f}"


def fmt_pixel(v: float) -> str:
    return f"{v:.3f}"


def _f(value: Any, form: Callable[[Any], str]) -> str:
    return "–" if value is None else form(value)


def top_class(row: Row) -> tuple[str, float] | None:
    if not row.histogram:
        return None
    i = max(range(len(row.histogram)), key=row.histogram.__getitem__)
    return CLASSES[i], row.histogram[i]


COLUMNS = (
    "model", "run", "setting", "epochs", "training time", "status", "Fréchet distance",
    "classes covered", "KL from uniform", "most frequent class", "conditional accuracy",
    "background near black", "background mean", "neighbour difference",
)  # fmt: skip


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
            f"**{r.model}**", run, r.setting or "–", epochs, time, status,
            _f(r.frechet, fmt_distance), _f(r.classes_covered, str), _f(r.kl, fmt_kl),
            f"{top[0]} ({fmt_share(top[1])})" if top else "–",
            _f(r.conditional_accuracy, fmt_share), _f(r.background_dark, fmt_share),
            _f(r.background_mean, fmt_pixel), _f(r.neighbour_difference, fmt_pixel),
        ]  # fmt: skip
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
        "difference: the mean absolute difference between adjacent pixels (pixels in [0, 1]).",
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
    return Picked(first("real images"), first("uniform noise"), first("VAE"),
                  first("VAE reconstructions"), gan, first("cGAN"), gans)  # fmt: skip


# --- figures ----------------------------------------------------------------------------------


def _last_epoch(source: Source) -> int:
    return len(source.metrics["epochs"])


def comparison_figure(sources: Sequence[Source], path: Path | None = None):
    """Side by side, at each run's last epoch: the VAE's samples and reconstructions, the GAN's
    samples in each setting, the cGAN's class rows. Saved atomically as ``path``; returned
    (a pyplot figure, so a notebook shows it)."""
    import matplotlib.pyplot as plt
    from matplotlib.gridspec import GridSpec

    from genlab.runs import save_figure

    vae = next((s for s in sources if s.model == "VAE"), None)
    gans = [s for s in sources if s.model == "GAN"]
    cgan = next((s for s in sources if s.model == "cGAN"), None)
    top = [(vae, "sample", "VAE samples")] + [(g, "sample", f"GAN `{g.point}`") for g in gans]
    cols = max(len(top), 5)
    fig = plt.figure(figsize=(3.2 * cols, 8.6))
    grid = GridSpec(2, cols * 2, figure=fig, height_ratios=[1, 1.6])
    axes = [fig.add_subplot(grid[0, 2 * i : 2 * i + 2]) for i in range(len(top))]
    split = cols - 1 if cols % 2 else cols  # reconstructions on the left, the cGAN on the right
    axes.append(fig.add_subplot(grid[1, :split]))
    axes.append(fig.add_subplot(grid[1, split:]))
    panels = top + [(vae, "reconstruction", "VAE reconstructions (top: test images)"),
                    (cgan, "sample", "cGAN, one row per class")]  # fmt: skip
    for ax, (source, kind, title) in zip(axes, panels, strict=True):
        ax.axis("off")
        if source is None:
            ax.set_title(f"{title}\n(not run)", fontsize=9)
            continue
        last = _last_epoch(source)
        image = source.run.path / f"{kind}_{last}.png"
        status = source.metrics["status"]
        caption = f"{title}\n{source.label}, epoch {last}" + (
            "" if status == "complete" else f", {status}")  # fmt: skip
        ax.set_title(caption.replace("`", ""), fontsize=9)
        if last and image.exists():
            ax.imshow(plt.imread(image), cmap="gray", interpolation="nearest")
        else:
            ax.text(0.5, 0.5, "no image: no epoch finished", ha="center", va="center",
                    transform=ax.transAxes, fontsize=9)  # fmt: skip
    fig.suptitle("VAE versus GAN on Fashion-MNIST: the runs' last epochs")
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig


def histogram_figure(rows: Sequence[Row], path: Path | None = None):
    """The class histograms (share of samples the classifier puts in each class) of the real
    images, the VAE, the GAN and the cGAN, as grouped bars; saved as ``path``; returned."""
    import matplotlib.pyplot as plt
    import numpy as np

    from genlab.runs import save_figure

    p = pick(rows)
    series = [("real images", p.real, "0.75"), ("VAE", p.vae, "tab:blue"),
              (f"GAN ({p.gan.point})" if p.gan else "GAN", p.gan, "tab:orange"),
              ("cGAN", p.cgan, "tab:green")]  # fmt: skip
    series = [(label, row, color) for label, row, color in series if row and row.histogram]
    fig, ax = plt.subplots(figsize=(11, 4.2))
    x = np.arange(len(CLASSES))
    width = 0.8 / max(len(series), 1)
    for i, (label, row, color) in enumerate(series):
        offset = (i - (len(series) - 1) / 2) * width
        ax.bar(x + offset, [100 * h for h in row.histogram], width, label=label, color=color)
    ax.axhline(10, color="black", lw=0.8, ls="--", label="uniform (10%)")
    ax.set_xticks(x, CLASSES, rotation=20)
    ax.set_ylabel("share of samples (%)")
    ax.set_title("Class of each generated image, by the Fashion-MNIST classifier")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig
