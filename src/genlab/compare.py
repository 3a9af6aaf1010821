"""Problem 5.6, VAE versus GAN: the runs of 4.3, 5.3 and 5.5 side by side, measured.

The notebook ``5.6_vae_vs_gan.ipynb`` calls, in order:

- ``results_root(results_dir, quick)``: the results folder holding ``4.3/``, ``5.3/`` and
  ``5.5/`` (by default the repository's ``results/``, or ``results-quick/`` for a quick run,
  as ``./run_all.sh`` does).
- ``locate(results, quick, no_cuda, progress)``: one ``Source`` per compared run: the VAE of
  4.3 (``VAE_POINT``), the GAN of 5.3 in its four settings, the cGAN of 5.5. A finished (or
  diverged) run folder is reopened as it is and never retrained; an interrupted one resumes;
  a missing one is trained with its grid point's parameters (``genlab.pipeline.plan``, with
  the ``--quick`` overrides when ``quick``), made into a config as that problem's notebook does.
- ``measure(sources, n, device)``: one ``Row`` of numbers per run, plus the reference rows (real
  training images, uniform noise): ``genlab.evaluate.evaluate_run`` (Fréchet distance in the
  classifier's feature space, class histogram, classes covered, KL from uniform, a cGAN's
  conditional accuracy; cached in each run's ``metrics.json``, where an evaluation the run
  recorded with another number of samples is kept) and ``image_stats`` of the same seeded
  samples (background and sharpness).
- ``table_markdown(rows)``, ``comparison_figure(sources, path)``, ``histogram_figure(rows,
  path)`` and ``answer_markdown(rows)``: the table, the two figures and the written answer,
  whose every number and the direction of every comparison come from the rows.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from genlab.config import Config, GANConfig, VAEConfig
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
from genlab.grids import GAN_SETTINGS
from genlab.pipeline import Point, plan
from genlab.report import duration, train_seconds
from genlab.runs import CHECKPOINT, Run, load_metrics, read_json, repo_root, write_json

VAE_POINT = "bs64_ep50"  # the 4.3 point closest to the GANs (batch size 64, 40 epochs)
GAN_POINT = "equal_lr"  # the GAN the VAE and the cGAN are compared with first
QUICK_EVAL_SAMPLES = 512  # at most this many images per metric with quick=True
CORNER = 4  # the background is measured on the four CORNER x CORNER corners of an image
DARK = 0.1  # a pixel below this value counts as black background
CLASSES = FASHION_CLASSES

# What each problem's notebook sets beside its parameters, and which config it builds.
NOTEBOOK_CONFIG: dict[str, tuple[type[Config], dict[str, Any]]] = {
    "4.3": (VAEConfig, {"dataset": "fashion-mnist"}),
    "5.3": (GANConfig, {}),
    "5.5": (GANConfig, {"conditional": True}),
}
NOT_CONFIG = ("run_dir", "progress", "overrides")  # notebook parameters that are not config
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


def point_config(point: Point) -> Config:
    """The config the problem's notebook builds from the point's parameters.

    As in the notebooks: the fixed values, then the parameters, then ``overrides`` (which win);
    overrides the model has no field for are left out.
    """
    cls, fixed = NOTEBOOK_CONFIG[point.problem]
    names = {f.name for f in cls.fields()}
    params = {k: v for k, v in point.parameters.items() if k not in NOT_CONFIG}
    overrides = {k: v for k, v in point.parameters.get("overrides", {}).items() if k in names}
    return cls.from_dict({**fixed, **params, **overrides})


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


def open_point(point: Point, progress: bool = True) -> Source:
    """Reuse, resume or train the run folder of a grid point.

    A folder that holds a run keeps the parameters it was trained with (its ``config.json``;
    the ones that differ from the grid point's are named in ``Source.note``): a complete or
    diverged run is reopened without training, any other resumes from its checkpoint. An
    empty or missing folder is trained with the grid point's parameters.
    """
    grid = point_config(point)
    saved = point.run_dir / "config.json"
    note = ""
    config = grid
    if saved.exists():
        identity = {k: v for k, v in read_json(saved).items() if k != "model"}
        config = type(grid).from_dict({**grid.to_dict(), **identity})
        wanted = grid.identity()
        differ = [f"{k} = {v!r} (grid: {wanted.get(k)!r})" for k, v in identity.items()
                  if wanted.get(k) != v]  # fmt: skip
        if differ:
            note = "trained with other parameters than the grid point's: " + ", ".join(differ)
    run = Run.open(point.run_dir, config)
    model = MODELS[point.problem]
    if run.complete or run.status == "diverged":
        return Source(model, point.problem, point.name, run, "reused", note)
    action = "resumed" if (point.run_dir / CHECKPOINT).exists() else "trained"
    run = _train(config, point.run_dir, progress)
    return Source(model, point.problem, point.name, run, action, note)


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
        points = {p.name: p for p in plan(Path(results), [problem], quick, no_cuda)}
        if name not in points:
            raise ValueError(f"{problem} has no grid point {name!r}; it has {', '.join(points)}")
        sources.append(open_point(points[name], progress))
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


# --- the written answer ------------------------------------------------------------------------


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


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _and(names: Sequence[str]) -> str:
    names = list(names)
    if len(names) < 2:
        return "".join(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _verb(names: Sequence[str], one: str, many: str) -> str:
    return one if len(names) == 1 else many


def _missing(name: str, row: Row) -> str:
    why = "; ".join(filter(None, [row.status, row.note])) or "not measured"
    return f"{name} has none ({why})"


Value = Callable[[Row], Any]
Form = Callable[[Any], str]


def _listing(models: list[tuple[str, Row]], value: Value, form: Form) -> str:
    return ", ".join(
        f"{name} {form(value(row))}" if value(row) is not None else _missing(name, row)
        for name, row in models
    )


def _ends(models: list[tuple[str, Row]], value: Value, form: Form
          ) -> tuple[list[str], list[str]] | None:  # fmt: skip
    """(names with the lowest value, names with the highest) among the models that have one;
    None when fewer than two have one or their quoted values are all equal (ties: equal as
    quoted)."""
    have = [(name, form(value(row)), value(row)) for name, row in models
            if value(row) is not None]  # fmt: skip
    if len(have) < 2 or len({q for _, q, _ in have}) == 1:
        return None
    low = min(have, key=lambda h: h[2])[1]
    high = max(have, key=lambda h: h[2])[1]
    return [n for n, q, _ in have if q == low], [n for n, q, _ in have if q == high]


def _compare(a: float, b: float, form: Form) -> int:
    """-1, 0 or 1: a below, equal to (as quoted) or above b."""
    return 0 if form(a) == form(b) else (1 if a > b else -1)


def _closeness(p: Picked) -> str:
    models = p.models()
    dist: Value = lambda r: r.frechet  # noqa: E731
    text = "**Closeness to the real images.** Fréchet distance (lower is closer"
    if p.real and p.real.frechet is not None and p.noise and p.noise.frechet is not None:
        text += (f"; real training images {fmt_distance(p.real.frechet)}, uniform noise "
                 f"{fmt_distance(p.noise.frechet)}")  # fmt: skip
    text += f"): {_listing(models, dist, fmt_distance)}."
    ends = _ends(models, dist, fmt_distance)
    if ends:
        text += (f" {_cap(_and(ends[0]))} {_verb(ends[0], 'is', 'are')} the closest to the real "
                 f"images, {_and(ends[1])} the farthest.")  # fmt: skip
    if p.vae and p.recon and p.vae.frechet is not None and p.recon.frechet is not None:
        s, r = fmt_distance(p.vae.frechet), fmt_distance(p.recon.frechet)
        side = _compare(p.recon.frechet, p.vae.frechet, fmt_distance)
        if side < 0:
            text += (f" The VAE's reconstructions of test images ({r}) are closer than its "
                     f"samples from the prior ({s}): its clearest pictures are reconstructions "
                     "of given images, which a GAN does not make.")  # fmt: skip
        else:
            word = "as close as" if side == 0 else "farther than"
            text += (f" The VAE's reconstructions of test images ({r}) are {word} its samples "
                     f"from the prior ({s}).")  # fmt: skip
    return text


SMOOTHER, HARDER = 0.85, 1.15  # neighbour difference relative to real images'


def _sharpness(p: Picked) -> str:
    models = p.models()
    diff: Value = lambda r: r.neighbour_difference  # noqa: E731
    real = p.real.neighbour_difference if p.real else None
    text = "**Sharpness.** Mean difference between neighbouring pixels"
    if real is not None:
        text += f" (real images {fmt_pixel(real)})"
    text += f": {_listing(models, diff, fmt_pixel)}."
    if real:
        smoother, harder, alike = [], [], []
        for name, row in models:
            if diff(row) is not None:
                ratio = diff(row) / real
                (smoother if ratio < SMOOTHER else harder if ratio > HARDER else alike).append(name)
        if smoother:
            text += (f" {_cap(_and(smoother))} {_verb(smoother, 'is', 'are')} smoother than "
                     "real images: blurred edges and flat fabric.")  # fmt: skip
        if harder:
            text += (f" {_cap(_and(harder))} {_verb(harder, 'changes', 'change')} more abruptly "
                     "from pixel to pixel than real images: hard edges, and speckle where "
                     "background or fabric should be smooth.")  # fmt: skip
        if alike:
            text += (f" {_cap(_and(alike))} {_verb(alike, 'is', 'are')} within 15% of the real "
                     "images.")  # fmt: skip
    if p.vae and p.gan and diff(p.vae) is not None and diff(p.gan) is not None:
        v, g = fmt_pixel(diff(p.vae)), fmt_pixel(diff(p.gan))
        side = _compare(diff(p.gan), diff(p.vae), fmt_pixel)
        word = {1: "sharper (or noisier) than", -1: "smoother than", 0: "as sharp as"}[side]
        text += f" {_cap(p.gan_name)}'s samples are {word} the VAE's ({g} vs {v})."
    return text


def _background(p: Picked) -> str:
    models = p.models()
    dark: Value = lambda r: r.background_dark  # noqa: E731
    text = (f"**Background.** Share of the pixels of the four {CORNER} x {CORNER} corners that "
            f"are near black (below {DARK}), and their mean value")  # fmt: skip
    real = p.real.background_dark if p.real else None
    if real is not None:
        text += f" (real images {fmt_share(real)}, {fmt_pixel(p.real.background_mean)})"

    def both(r: Row) -> str | None:
        return None if r.background_dark is None else (
            f"{fmt_share(r.background_dark)} ({fmt_pixel(r.background_mean)})")  # fmt: skip

    text += f": {_listing(models, both, str)}."
    ends = _ends(models, dark, fmt_share)
    if ends:
        text += (f" {_cap(_and(ends[1]))} {_verb(ends[1], 'has', 'have')} the most solid black "
                 f"background, {_and(ends[0])} the least (grey or speckled corners).")  # fmt: skip
    if real is not None:
        below = [n for n, r in models if dark(r) is not None
                 and _compare(dark(r), real, fmt_share) < 0]  # fmt: skip
        rest = [n for n, r in models if dark(r) is not None and n not in below]
        if below:
            text += (f" {_cap(_and(below))} {_verb(below, 'stays', 'stay')} below the real "
                     "images' share.")  # fmt: skip
        if rest:
            text += (f" {_cap(_and(rest))} {_verb(rest, 'reaches', 'reach')} the real images' "
                     "share or more.")  # fmt: skip
    return text


def _classes(p: Picked) -> str:
    models = p.models()
    text = "**Variety of classes.** Classes covered (of 10) and KL from uniform (0: balanced)"
    if p.real and p.real.classes_covered is not None:
        text += f"; real images {p.real.classes_covered} ({fmt_kl(p.real.kl)})"

    def both(r: Row) -> str | None:
        return None if r.classes_covered is None else f"{r.classes_covered} ({fmt_kl(r.kl)})"

    text += f": {_listing(models, both, str)}."
    for a, a_name, b, b_name in [(p.cgan, "the cGAN", p.gan, p.gan_name),
                                 (p.vae, "the VAE", p.gan, p.gan_name)]:  # fmt: skip
        if not (a and b and a.classes_covered is not None and b.classes_covered is not None):
            continue
        ca, cb = a.classes_covered, b.classes_covered
        cover = _compare(ca, cb, str)
        balance = -_compare(a.kl, b.kl, fmt_kl)  # 1: a more balanced (lower KL)
        joint = "but is" if cover and balance and cover != balance else "and is"
        covers = {1: "more classes than", -1: "fewer classes than", 0: "as many classes as"}
        balanced = {1: "more balanced", -1: "less balanced", 0: "as balanced"}
        text += (
            f" {_cap(a_name)} covers {covers[cover]} {b_name} ({ca} vs {cb}) {joint} "
            f"{balanced[balance]} (KL {fmt_kl(a.kl)} vs {fmt_kl(b.kl)})."
        )
    if p.gan and top_class(p.gan):
        name, share = top_class(p.gan)
        text += (
            f" The most frequent class of {p.gan_name}'s samples is {name} ({fmt_share(share)})."
        )
    return text


LABEL_FOLLOWED = 0.15  # conditional accuracy above which the label counts as followed


def _labels(p: Picked) -> str:
    text = "**Control by label.** Only the cGAN can be asked for a class"
    if p.cgan is None or p.cgan.conditional_accuracy is None:
        missing = _missing("the cGAN", p.cgan) if p.cgan else "the cGAN did not run"
        return f"{text}; its accuracy is unknown: {missing}."
    acc = p.cgan.conditional_accuracy
    if acc >= 0.5:
        verdict = "it mostly draws the class it is asked for"
    elif acc > LABEL_FOLLOWED:
        verdict = "it follows the label more often than chance, but often draws another class"
    else:
        verdict = "it does no better than chance: it ignores the label"
    return (f"{text}: {fmt_share(acc)} of its samples are classified as the class they were "
            f"generated for (chance: 10.0%), so {verdict}. The VAE and the GAN draw whatever "
            "class their noise falls on.")  # fmt: skip


def _settings(p: Picked) -> str:
    if len(p.gans) < 2:
        return ""
    parts = []
    for r in p.gans:
        if r.frechet is not None:
            classes = f"{r.classes_covered} class{'' if r.classes_covered == 1 else 'es'}"
            parts.append(f"`{r.point}` {fmt_distance(r.frechet)} with {classes} ({r.status})")
        else:
            why = "; ".join(filter(None, [r.status, r.note]))
            parts.append(f"`{r.point}` no distance ({why})")
    text = f"**The four GAN settings.** Fréchet distance and classes covered: {'; '.join(parts)}."
    named = [(f"`{r.point}`", r) for r in p.gans]
    ends = _ends(named, lambda r: r.frechet, fmt_distance)
    if ends:
        text += f" The lowest distance is {_and(ends[0])}'s, the highest {_and(ends[1])}'s"
        if f"`{GAN_POINT}`" in ends[0]:
            text += ": equal learning rates work best, as the course found."
        elif any(r.point == GAN_POINT and r.frechet is not None for r in p.gans):
            text += f", so here equal learning rates (`{GAN_POINT}`) are not the best setting."
        else:
            text += "."
    return text


def _cost(p: Picked) -> str:
    models = [(n, r) for n, r in p.models() if r.train_seconds]
    if not models:
        return ""
    devices = {r.device for _, r in models}
    epochs = {r.epochs_done for _, r in models}
    each = [f"{n} {duration(r.train_seconds)}" for n, r in models]
    if len(devices) > 1:
        each = [f"{e} on {r.device}" for e, (_, r) in zip(each, models, strict=True)]
    if len(epochs) > 1:
        each = [f"{e} ({r.epochs_done} epochs)" for e, (_, r) in zip(each, models, strict=True)]
    where = [f"on {devices.pop()}"] if len(devices) == 1 else []
    where += [f"for {epochs.pop()} epochs each"] if len(epochs) == 1 else []
    text = f"**Training time**{' ' + ', '.join(where) if where else ''}: {', '.join(each)}."
    if p.vae and p.gan and p.vae.train_seconds and p.gan.train_seconds:
        ratio = p.gan.train_seconds / p.vae.train_seconds
        if ratio >= 1.1:
            text += f" The VAE trained {ratio:.1f} times faster than {p.gan_name}."
        elif ratio <= 1 / 1.1:
            text += f" {_cap(p.gan_name)} trained {1 / ratio:.1f} times faster than the VAE."
        else:
            text += f" The VAE and {p.gan_name} took about as long."
    return text


def _summary(p: Picked) -> str:
    models = p.models()
    facts: dict[str, list[str]] = {}  # subject -> predicates, in the order found

    def add(names: list[str], one: str, many: str) -> None:
        facts.setdefault(_and(names), []).append(_verb(names, one, many))

    ends = _ends(models, lambda r: r.frechet, fmt_distance)
    if ends:
        closest = "the closest to the data by the classifier's features"
        add(ends[0], f"is {closest}", f"are {closest}")
    ends = _ends(models, lambda r: r.background_dark, fmt_share)
    if ends:
        add(ends[1], "has the cleanest background", "have the cleanest background")
    ends = _ends(models, lambda r: r.classes_covered, str)
    if ends:
        add(ends[1], "covers the most classes", "cover the most classes")
    if p.cgan and p.cgan.conditional_accuracy is not None:
        acc = fmt_share(p.cgan.conditional_accuracy)
        if p.cgan.conditional_accuracy > LABEL_FOLLOWED:
            facts.setdefault("only the cGAN", []).append(
                f"can be told which class to draw ({acc} of its samples match)"
            )
        else:
            add(["the cGAN"], f"does not follow its labels yet ({acc} of its samples match)", "")
    if not facts:
        return ""
    return "**In short,** " + "; ".join(f"{s} {_and(ps)}" for s, ps in facts.items()) + "."


def answer_markdown(rows: Sequence[Row]) -> str:
    """The answer to "What differences did you notice in practice?", built from ``rows``:
    each claim quotes the table's numbers, and the direction of each follows them."""
    p = pick(rows)
    named = [f"{name[4:]} `{row.run}`" for name, row in p.models()]
    n = next((r.n for r in rows if r.n), None)
    lead = f"Compared: {_and(named) or 'no run'}" + (f", {n} generated images each." if n else ".")
    claims = [c(p) for c in (_closeness, _sharpness, _background, _classes, _labels,
                             _settings, _cost, _summary)]  # fmt: skip
    return lead + "\n\n" + "\n".join(f"- {c}" for c in claims if c)


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
