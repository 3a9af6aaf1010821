"""Every statistic a page states, declared once: what it measures, in what unit, how one run's
value is computed (a function of ``measures``) and the thresholds of the words that use it.

The glossary is generated from these declarations (``glossary.glossary_markdown``), and the
checks of ``claims`` compare with the same ``Threshold`` objects, so a word's definition and the
code that decides it cannot drift apart. Their values per setting over its seeds are computed in
``values``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from genlab.course.report.measures import (
    CORNER,
    DARK,
    LAST_EPOCHS,
    SHOES,
    TOPS,
    Metrics,
    chance_gap,
    class_share,
    evaluated,
    generator_steps,
    last_epoch,
    loss_fall,
    lowest_generator_loss,
    measured_by_5_6,
    per_epoch_distance,
    shoe_loss,
    train_minutes,
    weakest_row_rank,
    worst_rank,
)
from genlab.evaluate.metrics import COVERAGE_SHARE
from genlab.health import SPREAD_FLOOR, adam_steps


@dataclass(frozen=True)
class Threshold:
    """A value a word is decided by: ``word`` holds on the side ``sense`` says."""

    word: str
    value: float
    sense: str  # "above" | "below": the side of ``value`` on which ``word`` holds
    fmt: str = "g"

    def holds(self, x: float) -> bool:
        return x > self.value if self.sense == "above" else x < self.value

    def text(self) -> str:
        return f'"{self.word}": {self.sense} {self.value:{self.fmt}}'

    def bound(self) -> str:
        return f"{self.sense} {self.value:{self.fmt}}"


@dataclass(frozen=True)
class Statistic:
    """One number per run, declared once: its name in the answers, what it measures, its unit,
    how it is computed from a run's ``metrics.json`` and the thresholds of its words."""

    name: str  # what answer templates and checks cite
    word: str  # the glossary's entry
    measures: str
    unit: str
    fmt: str
    of: Callable[[Metrics], float | None]
    thresholds: Mapping[str, Threshold] = field(default_factory=dict)

    def format(self, value: float) -> str:
        return f"{value:{self.fmt}}"


# --- the statistics ---------------------------------------------------------------------------

NATS = "nats per image"

STATISTICS: dict[str, Statistic] = {
    s.name: s
    for s in (
        Statistic(
            "test_loss",
            "test loss",
            "the VAE's loss on the 10,000 test images after the "
            "last epoch: the cross-entropy of the reconstruction summed over 784 pixels plus "
            'the KL divergence of the code from N(0, I). "Reconstructs better": lower.',
            NATS,
            ".2f",
            last_epoch("test_loss"),
        ),
        Statistic(
            "first_test_loss",
            "test loss after epoch 1",
            "the same loss after the first epoch.",
            NATS,
            ".2f",
            lambda m: m["epochs"][0]["test_loss"] if m.get("epochs") else None,
        ),
        Statistic(
            "loss_fall",
            "late fall",
            "how much the test loss falls over the second half of "
            "training, by its least-squares slope, as a share of the loss (negative: it "
            "rises).",
            "share of the loss",
            ".2%",
            loss_fall,
            {"improving": Threshold("still improving", 0.005, "above", ".1%")},
        ),
        Statistic(
            "shoe_loss",
            "shoe excess loss",
            "a class's excess loss is its test loss (averaged over its test "
            "images, after the last epoch) minus what a perfect reconstruction of those images "
            "would still pay: the entropy of their grey pixels, summed over 784 pixels. The "
            "raw loss per class ranks the classes drawn with the most grey area worst "
            "(pullovers, shirts) even when they are reconstructed well; the excess does not. "
            "This is the excess loss averaged over the three shoe classes (Sandal, Sneaker, "
            "Ankle boot).",
            NATS,
            ".2f",
            shoe_loss,
        ),
        Statistic(
            "bag_rank",
            "Bag's rank",
            "Bag's rank among the ten classes by excess loss (1: the worst reconstructed).",
            "rank",
            ".0f",
            worst_rank("Bag"),
            {
                "worst": Threshold("Bag the worst-reconstructed class", 1.5, "below", ".1f"),
                "bad": Threshold("Bag among the worst three classes", 3.5, "below", ".1f"),
            },
        ),
        Statistic(
            "shoe_rank",
            "shoe rank",
            "the rank of the worst shoe class among the ten by excess loss "
            "(1: the worst reconstructed).",
            "rank",
            ".0f",
            worst_rank(*SHOES),
            {"bad": Threshold("a shoe class among the worst three", 3.5, "below", ".1f")},
        ),
        Statistic(
            "recon_distance",
            "reconstruction distance",
            "the Fréchet distance between the "
            "VAE's reconstructions of the 10,000 test images and those images, in the features "
            "of the project's classifier (0: indistinguishable). Compared only with other "
            "reconstructions: a reconstruction copies a given image, which no sampler does.",
            "",
            ".1f",
            evaluated("reconstructions", "frechet_distance"),
        ),
        Statistic(
            "sample_distance",
            "last-epoch distance",
            "the Fréchet distance of 10,000 samples "
            "after the last epoch to the test images, in the classifier's features; it "
            "compares models without per-epoch measurements (the VAE with the GANs). "
            '"Nearer at the last epoch": lower.',
            "",
            ".1f",
            evaluated("samples", "frechet_distance"),
        ),
        Statistic(
            "distance",
            "distance",
            "how close a GAN's samples are to the data: the median of "
            f"its last {LAST_EPOCHS} per-epoch Fréchet distances (each of the same 2,000 "
            "samples of fixed noise), never the last epoch alone, which swings by several "
            'points. "Closer", "clearer": lower; "fuzzier", "less clear": higher.',
            "",
            ".1f",
            per_epoch_distance,
        ),
        Statistic(
            "adam_steps",
            "cost",
            "the Adam steps a run took (of each network, for a GAN): "
            "its cost, whatever shared the machine with it.",
            "steps",
            ",.0f",
            adam_steps,
        ),
        Statistic(
            "generator_steps",
            "generator cost",
            "a GAN's generator Adam steps: the discriminator's times the "
            "generator steps per discriminator step.",
            "steps",
            ",.0f",
            generator_steps,
        ),
        Statistic(
            "train_minutes",
            "training time",
            "wall-clock minutes of training on the 2-core "
            "CPU, which other jobs shared: compare costs in Adam steps.",
            "min",
            ".1f",
            train_minutes,
        ),
        Statistic(
            "variety",
            "variety",
            "the within-class variety of 10,000 samples: the mean "
            "distance between two samples of one class in the classifier's features, over "
            "the same for real images of that class, averaged over classes (1: as varied as "
            "the data).",
            "",
            ".3f",  # settings' seed ranges can lie under 0.01 apart (5.5's two cGANs)
            evaluated("samples", "within_class_variety"),
            {
                "low": Threshold("less varied than the data", 0.6, "below"),
                "collapsed": Threshold("nearly one image per class", SPREAD_FLOOR, "below"),
            },
        ),
        Statistic(
            "classes_covered",
            "classes covered",
            "how many of the 10 classes get at least "
            f"{COVERAGE_SHARE:.0%} of 10,000 samples, by the classifier.",
            "of 10",
            ".3g",  # a run's count as it is (10), a mean over seeds to 3 figures (9.67)
            evaluated("samples", "classes_covered"),
            {"few": Threshold("only three classes", 3.5, "below")},
        ),
        Statistic(
            "kl_from_uniform",
            "class spread",
            "the KL divergence of the samples' class "
            'shares from uniform (0: every class equally often). "A better distribution of '
            'products": lower.',
            "nats",
            ".3f",
            evaluated("samples", "kl_from_uniform"),
        ),
        Statistic(
            "shirt_dress_share",
            "shirts and dresses",
            "the share of samples the classifier calls Shirt or Dress.",
            "",
            ".0%",
            class_share("Shirt", "Dress"),
            {
                "most": Threshold("most are shirts and dresses", 0.5, "above", ".0%"),
                # half as much again as the 20% two classes get when every class is as frequent
                "over": Threshold("shirts and dresses over-represented", 0.3, "above", ".0%"),
            },
        ),
        Statistic(
            "conditional_accuracy",
            "conditional accuracy",
            "the share of a cGAN's 10,000 "
            "samples the classifier assigns to the class asked for (chance: 10%; the "
            "classifier is right on about 92% of real test images).",
            "",
            ".1%",
            evaluated("samples", "conditional_accuracy"),
            {"matching": Threshold("the samples match their labels", 0.5, "above", ".0%")},
        ),
        Statistic(
            "top_row_rank",
            "weakest top",
            "the rank by conditional accuracy of the weakest of the three "
            "tops (T-shirt/top, Pullover, Shirt) among the ten classes a cGAN is asked for "
            "(1: the weakest row of its class grid).",
            "rank",
            ".0f",
            weakest_row_rank(*TOPS),
            {"weakest": Threshold("a top is the weakest row", 1.5, "below", ".1f")},
        ),
        Statistic(
            "sandal_row_rank",
            "Sandal's row",
            "Sandal's rank by conditional accuracy among the ten classes a "
            "cGAN is asked for (1: the weakest row).",
            "rank",
            ".0f",
            weakest_row_rank("Sandal"),
            {"weak": Threshold("sandals among the weakest three rows", 3.5, "below", ".1f")},
        ),
        Statistic(
            "generator_loss",
            "generator loss",
            "the generator's mean loss -log D(G(z)) "
            "over the last epoch (ln 2 = 0.693 when D outputs 1/2).",
            NATS,
            ".2f",
            last_epoch("generator_loss"),
        ),
        Statistic(
            "lowest_generator_loss",
            "lowest generator loss",
            "the lowest of the generator's per-epoch mean losses.",
            NATS,
            ".2f",
            lowest_generator_loss,
            {"near_zero": Threshold("near 0", 0.1, "below")},
        ),
        Statistic(
            "discriminator_loss",
            "discriminator loss",
            "the discriminator's mean loss over "
            "the last epoch: the mean of its cross-entropies on real and generated batches.",
            NATS,
            ".2f",
            last_epoch("discriminator_loss"),
            {"near_zero": Threshold("near 0", 0.1, "below")},
        ),
        Statistic(
            "d_fake",
            "D(G(z))",
            "the discriminator's mean output on generated images over the last epoch.",
            "",
            ".2f",
            last_epoch("d_fake"),
            {"never_tricked": Threshold("never tricked", 0.2, "below")},
        ),
        Statistic(
            "chance_gap",
            "at chance",
            "the largest distance of D(x) or D(G(z)) from 1/2 at any epoch.",
            "",
            ".3f",
            chance_gap,
            {"at_chance": Threshold("at chance throughout", 0.02, "below")},
        ),
        Statistic(
            "background_dark",
            "dark corners",
            f"the share of pixels in the four {CORNER} x {CORNER} "
            f"corners of 10,000 samples that are near black (below {DARK}).",
            "",
            ".1%",
            measured_by_5_6,
            {
                "grey": Threshold(
                    "grey corners: this far below the real images' share", 0.03, "above", ".0%"
                )
            },
        ),
        Statistic(
            "neighbour_difference",
            "sharpness",
            "the mean absolute difference between "
            "neighbouring pixels of 10,000 samples (5.6's table gives the real images' own); "
            "it counts detail and speckle alike.",
            "",
            ".3f",
            measured_by_5_6,
        ),
        Statistic(
            "grid_neighbour_difference",
            "grid sharpness",
            "the sharpness of the 64 samples of the sample grid a run saved "
            "after its last epoch (8-bit PNG, seed 1), and of the first 64 real test images "
            "rounded the same way: the one sharpness every VAE and GAN run has, since no "
            "checkpoint is needed. Below the real images': smoother, blurred; above: harder "
            "edges or speckle.",
            "",
            ".3f",
            measured_by_5_6,
        ),
        Statistic(
            "grid_background_dark",
            "grid dark corners",
            "the dark corners of the same 64 samples of a run's last sample grid.",
            "",
            ".1%",
            measured_by_5_6,
        ),
    )
}


def statistic(name: str) -> Statistic:
    try:
        return STATISTICS[name]
    except KeyError:
        raise KeyError(f"no statistic {name!r}; declared: {', '.join(STATISTICS)}") from None


def threshold(name: str, word: str) -> Threshold:
    """The threshold ``word`` of statistic ``name`` (the object the checks compare with)."""
    thresholds = statistic(name).thresholds
    if word not in thresholds:
        raise KeyError(
            f"statistic {name!r} has no threshold {word!r}; it has: "
            f"{', '.join(thresholds) or 'none'}"
        )
    return thresholds[word]
