"""The course's facts: its problems, their grids and seeds, what a reader calls each grid point,
and which runs problem 5.6 compares. ``./run_all.sh`` executes these grids.

Each grid point is one executed copy of its problem's notebook, written to
``<results>/<problem>/<point>.ipynb``, with its run folder at ``<results>/<problem>/<point>/``.
A grid point is the config values papermill injects; ``Problem.config`` makes them into the
``VAEConfig`` / ``GANConfig`` the notebook trains, and every point is checked so when the grid
is defined (a bad value fails on import, naming it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from genlab.config import Config, GANConfig, VAEConfig

CONFIGS: dict[str, type[Config]] = {"vae": VAEConfig, "gan": GANConfig}


@dataclass(frozen=True)
class Problem:
    notebook: str  # in notebooks/
    model: str  # "vae" | "gan" | "" (a notebook that reads other problems' runs)
    title: str
    points: dict[str, dict[str, Any]]  # grid point name -> parameters injected by papermill
    key_image: str  # the image of a run folder a summary shows ({last} = last epoch)
    needs: tuple[str, ...] = field(default=())  # problems whose run folders this one reads
    compares_with: tuple[str, ...] = field(default=())  # problems its answer quotes, unordered
    fixed: dict[str, Any] = field(default_factory=dict)  # config values of its parameters cell
    # that differ from the config's defaults and that no grid point changes
    seeds: dict[str, tuple[int, ...]] = field(default_factory=dict)  # grid point -> the seeds
    # it is trained with (default: its config's seed alone); the first is the point itself

    def __post_init__(self) -> None:
        for point in self.points:
            if self.model:
                self.config(point)  # raises ConfigError naming the bad value
        for point, seeds in self.seeds.items():
            if point not in self.points or not seeds or seeds[0] != self.config(point).seed:
                raise ValueError(
                    f"seeds of {point!r} must start with its config's seed, got "
                    f"{seeds}; grid points: {', '.join(self.points)}"
                )

    def config(self, point: str, quick: bool = False) -> Config:
        """The config a grid point trains: the notebook's fixed values, then the point's, then
        with ``quick`` the quick overrides (at most ``QUICK_MAX_EPOCHS`` epochs)."""
        values = {**self.fixed, **self.points[point]}
        if quick:
            values["epochs"] = min(values.get("epochs", QUICK_MAX_EPOCHS), QUICK_MAX_EPOCHS)
            values.update(QUICK_OVERRIDES[self.model])
        return CONFIGS[self.model].from_dict(values)

    def seeds_of(self, point: str) -> tuple[int, ...]:
        """The seeds a grid point is trained with; the first is the point's own run."""
        default = (self.config(point).seed,) if self.model else ()
        return self.seeds.get(point, default)

    def replicas(self, point: str) -> dict[str, int]:
        """The point's runs with its other seeds: run name (``seeds/<point>-seed<k>``) -> seed.
        They train with ``notebooks/extra_seed.ipynb`` and show no figures of their own."""
        return {f"seeds/{point}-seed{s}": s for s in self.seeds_of(point)[1:]}

    def run_names(self) -> list[str]:
        """Every run folder of the grid, relative to ``<results>/<problem>/``: the points, then
        their other seeds."""
        return [*self.points, *(r for p in self.points for r in self.replicas(p))]

    def notebook_defaults(self) -> Config:
        """The config the notebook builds when nothing is injected: the config's defaults, the
        fixed values, and the values that all of the grid's points share."""
        shared = {
            k: v
            for k, v in next(iter(self.points.values())).items()
            if all(p.get(k) == v for p in self.points.values())
        }
        return CONFIGS[self.model].from_dict({**self.fixed, **shared})

    def reads(self, problem_id: str) -> tuple[str, ...]:
        """The problems whose runs this one's notebook quotes: its own grid and the others'."""
        return (problem_id, *self.needs, *self.compares_with)


SEEDS = (1, 2, 3)  # the seeds of every point whose settings are compared with each other
# the settings a headline verdict compares head to head get two more: with 3 seeds a side, two
# settings that do not differ at all still give ranges apart 1 time in 10; with 5, 1 in 126
HEADLINE_SEEDS = (1, 2, 3, 4, 5)

# --quick: the same notebooks and grids on a few hundred images and one or two epochs.
QUICK_OVERRIDES = {
    "vae": {"train_limit": 512, "test_limit": 256, "eval_samples": 512},
    "gan": {"train_limit": 512, "eval_samples": 512, "quality_samples": 256},
}
QUICK_MAX_EPOCHS = 2
# what a student sets in a notebook's parameters cell for a first run in minutes on a CPU
# (bench/quick_notebooks.py times every notebook with it)
STUDENT_QUICK = {"epochs": 2, "train_limit": 10_000}

GAN_SETTINGS = {
    "equal_lr": {"lr_g": 0.0002, "lr_d": 0.0002, "g_steps": 1},
    "g_faster": {"lr_g": 0.002, "lr_d": 0.0002, "g_steps": 1},
    "d_faster": {"lr_g": 0.0002, "lr_d": 0.002, "g_steps": 1},
    "g_steps3": {"lr_g": 0.0002, "lr_d": 0.0002, "g_steps": 3},
}

# the improved cGAN's changes to the course's (every other value is the course's)
CGAN_CHANGES = {"d_label": "projection", "real_target": 0.9, "embed_dim": 50, "ema_decay": 0.999}

# the course's problems by what they are: the rest of the course layer names them through these
MNIST_VAE, VAE_GRID, GAN_GRID, CGAN_GRID, VAE_VS_GAN = "4.2", "4.3", "5.3", "5.5", "5.6"

# problem 5.6: the runs it compares, and what it calls each problem's model
# the VAE compared is the one that reconstructs best: the lowest test loss of the 4.3 grid (the
# 5.6 answer checks this rule on the numbers and says it)
VAE_POINT = "bs128_ep300"
GAN_POINT = "equal_lr"  # the GAN the VAE and the cGAN are compared with first
CGAN_POINT = "improved"  # the cGAN compared (its variant is named wherever it is shown)
MODELS = {VAE_GRID: "VAE", GAN_GRID: "GAN", CGAN_GRID: "cGAN"}

# what a reader calls each grid point (figures, answers, index.html)
LABELS = {
    "4.2/default": "the course's defaults (batch size 128, 10 epochs)",
    **{
        f"4.3/bs{bs}_ep{ep}": f"batch size {bs}, {ep} epochs"
        for bs in (64, 128, 256)
        for ep in (10, 20, 50, 300)
    },
    "5.3/equal_lr": "equal rates (0.0002 each)",
    "5.3/g_faster": "generator faster (lr_g 0.002, lr_d 0.0002)",
    "5.3/d_faster": "discriminator faster (lr_g 0.0002, lr_d 0.002)",
    "5.3/g_steps3": "3 generator steps per discriminator step",
    "5.5/course": "the course's cGAN (label embedding concatenated at both inputs)",
    "5.5/improved": "improved cGAN (projection discriminator, label smoothing 0.9, "
    "embedding 50, weight average 0.999)",
    "5.6/comparison": "VAE versus GAN",
}


# what the answers' checks and the write-up table call each grid point: short, no parentheses
SHORT = {
    "4.2/default": "the course's defaults",
    **{
        f"4.3/bs{bs}_ep{ep}": f"batch {bs}, {ep} epochs"
        for bs in (64, 128, 256)
        for ep in (10, 20, 50, 300)
    },
    "5.3/equal_lr": "equal rates",
    "5.3/g_faster": "generator faster",
    "5.3/d_faster": "discriminator faster",
    "5.3/g_steps3": "3 generator steps",
    "5.5/course": "the course's cGAN",
    "5.5/improved": "the improved cGAN",
}


def short(problem: str, point: str) -> str:
    """The short name of a grid point ("equal rates"), else the point's own."""
    return SHORT.get(f"{problem}/{point}", point)


def label(problem: str, point: str) -> str:
    """The readable name of a grid point ("equal rates (0.0002 each)"), else the point's own."""
    return LABELS.get(f"{problem}/{point}", point)


PROBLEMS: dict[str, Problem] = {
    MNIST_VAE: Problem(
        "4.2_vae_mnist.ipynb",
        "vae",
        "VAE on MNIST, the course's defaults",
        {"default": {}},
        key_image="reconstruction_{last}.png",
        seeds={"default": SEEDS},
    ),
    VAE_GRID: Problem(
        "4.3_vae_fashion_mnist.ipynb",
        "vae",
        "VAE on Fashion-MNIST: batch size and epochs",
        {
            f"bs{bs}_ep{ep}": {"batch_size": bs, "epochs": ep}
            for bs, ep in [(64, 10), (128, 10), (256, 10), (64, 20), (64, 50), (128, 300)]
        },
        key_image="reconstruction_{last}.png",
        fixed={"dataset": "fashion-mnist"},
        seeds=dict.fromkeys(
            [
                f"bs{bs}_ep{ep}"
                for bs, ep in [(64, 10), (128, 10), (256, 10), (64, 20), (64, 50), (128, 300)]
            ],
            SEEDS,
        ),
    ),
    GAN_GRID: Problem(
        "5.3_gan_fashion_mnist.ipynb",
        "gan",
        "GAN on Fashion-MNIST: four training settings",
        GAN_SETTINGS,
        key_image="sample_{last}.png",
        seeds={
            **dict.fromkeys(GAN_SETTINGS, SEEDS),
            "equal_lr": HEADLINE_SEEDS,
            "d_faster": HEADLINE_SEEDS,
        },
    ),
    CGAN_GRID: Problem(
        "5.5_cgan_fashion_mnist.ipynb",
        "gan",
        "Conditional GAN on Fashion-MNIST: samples per class",
        # the course's cGAN, and its networks with the changes of results/5.5/ablation.md
        # and the weight average of bench/measured/h200_cgan_seeds.md
        {
            "course": {},
            "improved": CGAN_CHANGES,
        },
        key_image="sample_{last}.png",
        compares_with=(GAN_GRID,),  # its answer quotes the GANs
        fixed={"conditional": True},
        seeds={"course": HEADLINE_SEEDS, "improved": SEEDS},
    ),
    VAE_VS_GAN: Problem(
        "5.6_vae_vs_gan.ipynb",
        "",
        "VAE versus GAN",
        {"comparison": {}},
        key_image="comparison.png",
        needs=(VAE_GRID, GAN_GRID, CGAN_GRID),
    ),
}
