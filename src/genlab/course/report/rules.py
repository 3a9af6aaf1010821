"""The statistics behind the words: each word a sentence may use, and the number that decides it.

``GLOSSARY`` defines each word once, with its thresholds (the constants below); every notebook
and ``index.html`` end with it (``glossary_markdown``), so no answer repeats a definition.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from genlab.train.loop import SPREAD_FLOOR

VARIETY_COLLAPSED = SPREAD_FLOOR  # below: nearly one image per class (a run ends "collapsed")
VARIETY_LOW = 0.6  # below: less varied than the data; at or above: about as varied
TREND_FLAT = 0.05  # a change over the second half below 5% of the series' level is flat
VAE_LOSS_FLAT = 0.005  # the VAE's test loss: below 0.5% (about 0.5 to 1.2 nats) is flat
BALANCED = 0.15  # D(x) and D(G(z)) within 0.5 +- 0.15
AT_CHANCE = 0.02  # D(x) and D(G(z)) within 0.02 of 1/2 at every epoch: "at chance throughout"
LAST_EPOCHS = 5  # a GAN's distance: the median of its last 5 per-epoch measurements
NEAR_ZERO = 0.1  # a loss "near 0" / "always 0": below 0.1 nats per image
VERY_HIGH = 1.5  # a generator loss "very high": above 1.5 times that of equal rates
MATCHING = 0.5  # conditional accuracy above which samples "match their labels"
BACKGROUND_NEAR = 0.03  # a share of near-black corner pixels within 3 points of the data's
SHARPNESS_BAND = 0.15  # neighbour difference within 15% of the real images': "as sharp as"


GLOSSARY = (
    ("distance", "how close GAN samples are to the data; the statistic behind \"closer\", "
     "\"clearer\", \"fuzzy\" and \"best\": the median of a run's last "
     f"{LAST_EPOCHS} per-epoch Fréchet distances (each of the same 2,000 samples of fixed "
     "noise, in the features of the project's classifier), never the last epoch alone, which "
     "swings by several points. A setting's distance is the mean over its seeds, with their "
     "range."),
    ("last-epoch distance", "the Fréchet distance of 10,000 samples after the last epoch; it "
     "compares models without per-epoch measurements (the VAE against the GANs, 5.6)."),
    ("differ / indistinguishable", "two settings differ only when their ranges over seeds do "
     "not overlap; otherwise they are indistinguishable at that many seeds, and a write-up "
     "claim resting on the difference gets \"cannot tell\". A one-seed setting borrows the "
     "range width of the nearest setting with seeds."),
    ("variety", "the within-class variety: the mean distance between two samples of one class "
     "in the classifier's features, over the same for real images of that class, averaged "
     f"over classes (1: as varied as the data; below {VARIETY_LOW}: less varied; below "
     f"{VARIETY_COLLAPSED}: nearly one image per class)."),
    ("balanced", f"D(x) and D(G(z)) both within {BALANCED} of 1/2: the discriminator cannot "
     "tell generated images from real ones. It says nothing about how the samples look. "
     f"\"At chance throughout\": within {AT_CHANCE} of 1/2 at every epoch."),
    ("trend", "the least-squares slope over the second half of training; \"flat\" when the "
     f"change it implies is below {TREND_FLAT:.0%} of the series' level."),
    ("sharpness", "the mean difference between neighbouring pixels, against the real images': "
     f"more than {SHARPNESS_BAND:.0%} below is smoother (blurred), above is more abrupt "
     "(detail or speckle, which it cannot tell apart)."),
    ("grey corners", "a share of near-black pixels in the four image corners more than "
     f"{BACKGROUND_NEAR:.0%} below the real images'."),
    ("loss per class", "the VAE's test loss (nats per image) averaged over the test images of "
     "one class, at the last epoch; the classes that \"reconstruct worst\" have the highest. "
     "Part of it no model removes: a grey pixel's cross-entropy is never 0, so classes with "
     "more grey area score higher even when reconstructed exactly."),
    ("conditional accuracy", "the share of a cGAN's samples the classifier assigns to the "
     f"class asked for; above {MATCHING:.0%}: the samples match their labels."),
)  # fmt: skip


# the pages whose answers use each word (every page: not listed); index.html shows every entry
PAGES = {
    "distance": ("5.3", "5.5", "5.6"),
    "differ / indistinguishable": ("4.3", "5.3", "5.5", "5.6"),
    "balanced": ("5.3", "5.5", "5.6"),
    "sharpness": ("5.6",),
    "grey corners": ("5.6",),
    "loss per class": ("4.2", "4.3"),
    "conditional accuracy": ("5.5", "5.6"),
}


def glossary_markdown(problem: str | None = None) -> str:
    """The words of the answers and what decides each, once (the end of each page): the entries
    ``problem``'s page uses, or every entry."""
    return "\n".join(f"- **{word}**: {text}" for word, text in GLOSSARY
                     if problem is None or problem in PAGES.get(word, (problem,)))  # fmt: skip


def variety_words(variety: float) -> str:
    """How varied the samples of one class are, from the within-class variety."""
    if variety < VARIETY_COLLAPSED:
        return "nearly one image per class (collapse)"
    if variety < VARIETY_LOW:
        return "less varied than the data"
    return "about as varied as the data"


def second_half_slope(values: list[float]) -> float:
    """Least-squares slope per epoch of the second half of ``values`` (one value per epoch)."""
    half = values[len(values) // 2 :]
    if len(half) < 2:
        return 0.0
    n = len(half)
    mean_x, mean_y = (n - 1) / 2, sum(half) / n
    num = sum((i - mean_x) * (y - mean_y) for i, y in enumerate(half))
    den = sum((i - mean_x) ** 2 for i in range(n))
    return num / den


def trend(values: list[float], flat: float = TREND_FLAT) -> tuple[str, float]:
    """("rose" | "fell" | "stayed flat", the change the slope implies over the second half);
    flat when that change is below ``flat`` times the series' level."""
    half = values[len(values) // 2 :]
    change = second_half_slope(values) * (len(half) - 1)
    level = abs(sum(half) / len(half)) if half else 0.0
    if level == 0 or abs(change) < flat * level:
        return "stayed flat", change
    return ("rose" if change > 0 else "fell"), change


def trend_sentence(epochs: list[dict[str, Any]], series: dict[str, str],
                   flat: float = TREND_FLAT) -> tuple[str, list[str]]:  # fmt: skip
    """("over the second half of training (epochs a-b) the <name> rose (least-squares slope
    ... nats per epoch, ... over the half) and the <name> ...", the trend's word of each) for
    ``series``: key of ``epochs`` -> name."""
    half = epochs[len(epochs) // 2 :]
    parts, words = [], []
    for key, name in series.items():
        values = [e[key] for e in epochs]
        word, change = trend(values, flat)
        slope = signed(second_half_slope(values), 4)
        parts.append(f"the {name} {word} (least-squares slope {slope} nats per epoch, "
                     f"{signed(change, 3)} over the half)")  # fmt: skip
        words.append(word)
    return (f"over the second half of training (epochs {half[0]['epoch']}-{half[-1]['epoch']}) "
            + " and ".join(parts), words)  # fmt: skip


def signed(value: float, digits: int) -> str:
    """``value`` with its sign and ``digits`` decimals; one that rounds to zero is +0.0..."""
    return f"{value if round(value, digits) else 0.0:+.{digits}f}"


def balanced(d_real: float, d_fake: float) -> bool:
    """D(x) and D(G(z)) both near 1/2: the discriminator cannot tell the images apart."""
    return abs(d_real - 0.5) <= BALANCED and abs(d_fake - 0.5) <= BALANCED


def gan_distance(metrics: dict[str, Any]) -> float | None:
    """The run's distance: the median of its last ``LAST_EPOCHS`` per-epoch Fréchet distances
    (of all of them in a shorter run; None when none was measured)."""
    measured = [e["quality"]["frechet_distance"] for e in metrics.get("epochs", [])
                if "quality" in e]  # fmt: skip
    return statistics.median(measured[-LAST_EPOCHS:]) if measured else None


def last_epoch_distance(metrics: dict[str, Any]) -> float | None:
    """The Fréchet distance of the run's evaluation (10,000 samples of its last epoch)."""
    evaluation = metrics.get("evaluation") or {}
    return evaluation.get("samples", {}).get("frechet_distance")


@dataclass(frozen=True)
class Spread:
    """One setting's statistic over its seeds."""

    values: tuple[float, ...]
    pad: float = 0.0  # a one-seed setting: half the range width it borrows (``differ``)

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
    def width(self) -> float:
        return self.hi - self.lo

    def text(self, fmt: str = ".1f") -> str:
        """"12.1 (11.7-13.0, 3 seeds)", or "12.1 (1 seed)"; ``fmt`` formats each number."""
        if len(self.values) == 1:
            borrowed = f", range +-{self.pad:{fmt}} borrowed" if self.pad else ""
            return f"{self.mean:{fmt}} (1 seed{borrowed})"
        return f"{self.mean:{fmt}} ({self.lo:{fmt}}-{self.hi:{fmt}}, {len(self.values)} seeds)"


def differ(a: Spread, b: Spread, borrowed: float = 0.0) -> bool:
    """Whether the ranges over seeds of ``a`` and ``b`` do not overlap. A one-seed setting's
    range is its value +- half the width it borrows: the other setting's, when that has seeds,
    else ``borrowed`` or its own ``pad`` (the widest of its problem's, ``with_borrowed_ranges``)."""

    def bounds(s: Spread, other: Spread) -> tuple[float, float]:
        pad = 0.0
        if len(s.values) == 1:
            pad = max(s.pad, borrowed / 2, other.width / 2 if len(other.values) > 1 else 0.0)
        return s.lo - pad, s.hi + pad

    (a_lo, a_hi), (b_lo, b_hi) = bounds(a, b), bounds(b, a)
    return a_hi < b_lo or b_hi < a_lo


def with_borrowed_ranges(spreads: dict[str, Spread]) -> dict[str, Spread]:
    """The one-seed spreads given half the widest range of the settings with seeds."""
    widths = [s.width for s in spreads.values() if len(s.values) > 1]
    if not widths:
        return spreads
    return {n: Spread(s.values, max(widths) / 2) if len(s.values) == 1 else s
            for n, s in spreads.items()}  # fmt: skip


def ranking(spreads: dict[str, Spread], fmt: str = ".1f") -> str:
    """"A 11.6 (11.3-11.7, 3 seeds); then B ...; indistinguishable from it, C ...": the
    settings by their means, each step said apart ("then") or not by ``differ``."""
    order = sorted(spreads, key=lambda n: spreads[n].mean)
    steps = [f"{order[0]} {spreads[order[0]].text(fmt)}"]
    for before, name in zip(order, order[1:], strict=False):
        word = "then" if differ(spreads[before], spreads[name]) else "indistinguishable from it,"
        steps.append(f"{word} {name} {spreads[name].text(fmt)}")
    return "; ".join(steps)


def compare_word(a: Spread, b: Spread, lower: str, higher: str, borrowed: float = 0.0) -> str:
    """``lower`` / ``higher`` when ``a`` lies below / above ``b`` by the rule, else
    "indistinguishable from"."""
    if not differ(a, b, borrowed):
        return "indistinguishable from"
    return lower if a.mean < b.mean else higher
