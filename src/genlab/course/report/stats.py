"""Every number a page states, computed once: the statistics, declared once, and their values
per setting over its seeds.

A ``Statistic`` says what it measures, in what unit, how one run's value is computed, and the
thresholds of the words that use it. The glossary is generated from these declarations
(``glossary_markdown``), and the checks of ``claims`` compare with the same ``Threshold``
objects, so a word's definition and the code that decides it cannot drift apart.

``numbers(results)`` reads every run folder of the grids and returns, per setting
(``"4.3/bs128_ep300"``), each statistic's ``Spread`` over the setting's finished seeds.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genlab.course.grids import PROBLEMS, VAE_VS_GAN, short
from genlab.data import FASHION_CLASSES
from genlab.evaluate.metrics import COVERAGE_SHARE
from genlab.health import SPREAD_FLOOR, adam_steps
from genlab.runs import repo_root

Metrics = dict[str, Any]  # a run's metrics.json
COMPARISON = Path(VAE_VS_GAN) / "comparison" / "comparison.json"  # 5.6's reference rows
REAL = f"{VAE_VS_GAN}/real images"  # the real training images' image statistics
IMAGE_STATS = ("background_dark", "neighbour_difference")  # measured by 5.6 (COMPARISON)


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

    def text(self, fmt: str) -> str:
        """ "12.1 (11.7–13.0 over 3 seeds)", or "12.1 (1 seed)"."""
        if self.seeds == 1:
            return f"{self.mean:{fmt}} (1 seed)"
        if self.lo == self.hi:
            return f"{self.mean:{fmt}} in all {self.seeds} seeds"
        return f"{self.mean:{fmt}} ({self.lo:{fmt}}–{self.hi:{fmt}} over {self.seeds} seeds)"


# --- how one run's value is computed ----------------------------------------------------------


def _last(key: str) -> Callable[[Metrics], float | None]:
    return lambda m: m["epochs"][-1].get(key) if m.get("epochs") else None


def _evaluated(part: str, key: str) -> Callable[[Metrics], float | None]:
    """``key`` of the run's final evaluation (10,000 images of its last epoch), of ``part``:
    "samples" or "reconstructions"."""
    return lambda m: ((m.get("evaluation") or {}).get(part) or {}).get(key)


def _measured_by_5_6(m: Metrics) -> None:
    """Not a run's own record: 5.6 measures it on seed 1's samples and keeps it in its own
    ``comparison.json`` (``numbers`` reads it from there)."""
    return None


def per_epoch_distance(m: Metrics) -> float | None:
    """The median of the last ``LAST_EPOCHS`` per-epoch Fréchet distances (all, if fewer)."""
    measured = [e["quality"]["frechet_distance"] for e in m.get("epochs", []) if "quality" in e]
    return statistics.median(measured[-LAST_EPOCHS:]) if measured else None


def class_losses(m: Metrics) -> dict[str, float]:
    """The last epoch's test loss per class, by class name ({} when not recorded)."""
    per = (m.get("epochs") or [{}])[-1].get("test_loss_per_class") or []
    names = FASHION_CLASSES if m["config"].get("dataset") == "fashion-mnist" else [
        f"digit {i}" for i in range(10)]  # fmt: skip
    return {n: v for n, v in zip(names, per, strict=False) if v is not None}


SHOES = ("Sandal", "Sneaker", "Ankle boot")


def shoe_loss(m: Metrics) -> float | None:
    losses = class_losses(m)
    return statistics.fmean(losses[c] for c in SHOES) if losses else None


def worst_rank(*classes: str) -> Callable[[Metrics], float | None]:
    """The rank by loss per class of the worst of ``classes`` among the ten (1: the worst)."""

    def of(m: Metrics) -> float | None:
        losses = class_losses(m)
        if not losses:
            return None
        order = sorted(losses, key=lambda n: -losses[n])
        return float(min(order.index(c) + 1 for c in classes))

    return of


def loss_fall(m: Metrics) -> float | None:
    """How much the test loss falls over the second half of training, by its least-squares
    slope, as a share of the half's mean (negative: rising)."""
    half = [e["test_loss"] for e in m.get("epochs", [])][len(m.get("epochs", [])) // 2 :]
    if len(half) < 2:
        return None
    n, mean_y = len(half), statistics.fmean(half)
    mean_x = (n - 1) / 2
    slope = sum((i - mean_x) * (y - mean_y) for i, y in enumerate(half)) / sum(
        (i - mean_x) ** 2 for i in range(n)
    )
    return -slope * (n - 1) / mean_y


def train_minutes(m: Metrics) -> float | None:
    return sum(e["seconds"] for e in m["epochs"]) / 60 if m.get("epochs") else None


def chance_gap(m: Metrics) -> float | None:
    """The largest distance of D(x) or D(G(z)) from 1/2 over every epoch."""
    epochs = m.get("epochs") or []
    return max((max(abs(e["d_real"] - 0.5), abs(e["d_fake"] - 0.5)) for e in epochs), default=None)


def class_share(*classes: str) -> Callable[[Metrics], float | None]:
    def of(m: Metrics) -> float | None:
        hist = _evaluated("samples", "class_histogram")(m)
        if not hist or m["config"].get("dataset") != "fashion-mnist":
            return None
        return sum(hist[FASHION_CLASSES.index(c)] for c in classes)

    return of


def lowest_generator_loss(m: Metrics) -> float | None:
    return min((e["generator_loss"] for e in m.get("epochs", [])), default=None)


# --- the statistics ---------------------------------------------------------------------------

LAST_EPOCHS = 5  # a GAN's distance: the median of its last 5 per-epoch measurements
NATS = "nats per image"

STATISTICS: dict[str, Statistic] = {s.name: s for s in (
    Statistic("test_loss", "test loss", "the VAE's loss on the 10,000 test images after the "
              "last epoch: the cross-entropy of the reconstruction summed over 784 pixels plus "
              "the KL divergence of the code from N(0, I). \"Reconstructs better\": lower.",
              NATS, ".2f", _last("test_loss")),
    Statistic("first_test_loss", "test loss after epoch 1", "the same loss after the first "
              "epoch.", NATS, ".2f", lambda m: m["epochs"][0]["test_loss"] if m.get("epochs")
              else None),
    Statistic("loss_fall", "late fall", "how much the test loss falls over the second half of "
              "training, by its least-squares slope, as a share of the loss (negative: it "
              "rises).", "share of the loss", ".2%", loss_fall,
              {"improving": Threshold("still improving", 0.005, "above", ".1%")}),
    Statistic("shoe_loss", "shoe loss", "the loss per class averaged over the three shoe "
              "classes (Sandal, Sneaker, Ankle boot). A class's loss is the test loss averaged "
              "over its test images; part of it no model removes (a grey pixel's cross-entropy "
              "is never 0), so classes with more grey area score higher even when reconstructed "
              "exactly.", NATS, ".2f", shoe_loss),
    Statistic("bag_rank", "Bag's rank", "Bag's rank among the ten classes by loss per class "
              "(1: the worst reconstructed).", "rank", ".0f", worst_rank("Bag"),
              {"bad": Threshold("Bag among the worst three classes", 3.5, "below", ".1f")}),
    Statistic("shoe_rank", "shoe rank", "the rank of the worst shoe class among the ten by "
              "loss per class (1: the worst reconstructed).", "rank", ".0f",
              worst_rank(*SHOES),
              {"bad": Threshold("a shoe class among the worst three", 3.5, "below", ".1f")}),
    Statistic("recon_distance", "reconstruction distance", "the Fréchet distance between the "
              "VAE's reconstructions of the 10,000 test images and those images, in the features "
              "of the project's classifier (0: indistinguishable). Compared only with other "
              "reconstructions: a reconstruction copies a given image, which no sampler does.",
              "", ".1f", _evaluated("reconstructions", "frechet_distance")),
    Statistic("sample_distance", "last-epoch distance", "the Fréchet distance of 10,000 samples "
              "after the last epoch to the test images, in the classifier's features; it "
              "compares models without per-epoch measurements (the VAE with the GANs). "
              "\"Closer to the data\", \"clearer\": lower.", "", ".1f",
              _evaluated("samples", "frechet_distance")),
    Statistic("distance", "distance", "how close a GAN's samples are to the data: the median of "
              f"its last {LAST_EPOCHS} per-epoch Fréchet distances (each of the same 2,000 "
              "samples of fixed noise), never the last epoch alone, which swings by several "
              "points. \"Closer\", \"clearer\": lower; \"fuzzier\", \"less clear\": higher.", "",
              ".1f", per_epoch_distance),
    Statistic("adam_steps", "cost", "the Adam steps a run took (of each network, for a GAN): "
              "its cost, whatever shared the machine with it.", "steps", ",.0f", adam_steps),
    Statistic("train_minutes", "training time", "wall-clock minutes of training on the 2-core "
              "CPU, which other jobs shared: compare costs in Adam steps.", "min", ".1f",
              train_minutes),
    Statistic("variety", "variety", "the within-class variety of 10,000 samples: the mean "
              "distance between two samples of one class in the classifier's features, over "
              "the same for real images of that class, averaged over classes (1: as varied as "
              "the data).", "", ".2f", _evaluated("samples", "within_class_variety"),
              {"low": Threshold("less varied than the data", 0.6, "below"),
               "collapsed": Threshold("nearly one image per class", SPREAD_FLOOR, "below")}),
    Statistic("classes_covered", "classes covered", "how many of the 10 classes get at least "
              f"{COVERAGE_SHARE:.0%} of 10,000 samples, by the classifier.", "of 10", ".1f",
              _evaluated("samples", "classes_covered"),
              {"few": Threshold("only three classes", 3.5, "below")}),
    Statistic("kl_from_uniform", "class spread", "the KL divergence of the samples' class "
              "shares from uniform (0: every class equally often). \"A better distribution of "
              "products\": lower.", "nats", ".3f", _evaluated("samples", "kl_from_uniform")),
    Statistic("shirt_dress_share", "shirts and dresses", "the share of samples the classifier "
              "calls Shirt or Dress.", "", ".0%", class_share("Shirt", "Dress"),
              {"most": Threshold("most are shirts and dresses", 0.5, "above", ".0%"),
               "over": Threshold("shirts and dresses over-represented", 0.2, "above", ".0%")}),
    Statistic("conditional_accuracy", "conditional accuracy", "the share of a cGAN's 10,000 "
              "samples the classifier assigns to the class asked for (chance: 10%; the "
              "classifier is right on about 92% of real test images).", "", ".1%",
              _evaluated("samples", "conditional_accuracy"),
              {"matching": Threshold("the samples match their labels", 0.5, "above", ".0%")}),
    Statistic("generator_loss", "generator loss", "the generator's mean loss -log D(G(z)) "
              "over the last epoch (ln 2 = 0.693 when D outputs 1/2).", NATS, ".2f",
              _last("generator_loss")),
    Statistic("lowest_generator_loss", "lowest generator loss", "the lowest of the generator's "
              "per-epoch mean losses.", NATS, ".2f", lowest_generator_loss,
              {"near_zero": Threshold("near 0", 0.1, "below")}),
    Statistic("discriminator_loss", "discriminator loss", "the discriminator's mean loss over "
              "the last epoch: the mean of its cross-entropies on real and generated batches.",
              NATS, ".2f", _last("discriminator_loss"),
              {"near_zero": Threshold("near 0", 0.1, "below")}),
    Statistic("d_fake", "D(G(z))", "the discriminator's mean output on generated images over "
              "the last epoch.", "", ".2f", _last("d_fake"),
              {"never_tricked": Threshold("never tricked", 0.2, "below")}),
    Statistic("chance_gap", "at chance", "the largest distance of D(x) or D(G(z)) from 1/2 at "
              "any epoch.", "", ".3f", chance_gap,
              {"at_chance": Threshold("at chance throughout", 0.02, "below")}),
    Statistic("background_dark", "dark corners", "the share of pixels in the four 4 x 4 "
              "corners of 10,000 samples that are near black (below 0.1).", "", ".1%",
              _measured_by_5_6,
              {"grey": Threshold("grey corners: this far below the real images' share", 0.03,
                                 "above", ".0%")}),
    Statistic("neighbour_difference", "sharpness", "the mean absolute difference between "
              "neighbouring pixels of 10,000 samples (real images: about 0.078); it counts "
              "detail and speckle alike.", "", ".3f",
              _measured_by_5_6),
)}  # fmt: skip


def statistic(name: str) -> Statistic:
    try:
        return STATISTICS[name]
    except KeyError:
        raise KeyError(f"no statistic {name!r}; declared: {', '.join(STATISTICS)}") from None


def threshold(name: str, word: str) -> Threshold:
    """The threshold ``word`` of statistic ``name`` (the object the checks compare with)."""
    thresholds = statistic(name).thresholds
    if word not in thresholds:
        raise KeyError(f"statistic {name!r} has no threshold {word!r}; it has: "
                       f"{', '.join(thresholds) or 'none'}")  # fmt: skip
    return thresholds[word]


# --- the values -------------------------------------------------------------------------------

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
            out.setdefault(setting, {}).update({k: Spread((float(row[k]),)) for k in IMAGE_STATS
                                                if row.get(k) is not None})  # fmt: skip
    return out


def setting_label(key: str) -> str:
    """ "batch 128, 300 epochs" for "4.3/bs128_ep300"."""
    problem, _, point = key.partition("/")
    return "real images" if key == REAL else short(problem, point) if point else key
