"""Whether a finished run can be used: collapse and the other ways a run ends broken.

``genlab.train.common.finish`` judges a run once its last epoch is done. A run whose samples
``collapse`` ends ``collapsed``; one that ``broken`` names a reason for ends ``failed``; both
keep every epoch, and neither is ``complete``. Each threshold is declared here once, with the
committed runs' figures that place it; the pages' glossary quotes the same objects.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from genlab.config import train_images
from genlab.records import Metrics

# the statuses a run ends with and keeps: reopened, never trained again (a diverged run stopped
# on a non-finite loss)
FINAL = ("diverged", "collapsed", "failed")

# --- collapse ------------------------------------------------------------------------------

# Collapse, judged on the quality the last COLLAPSE_EPOCHS measurements recorded
# (``record["quality"]``, GANs only): the run ends ``collapsed`` when one rule holds at every
# one of them. Several measurements, because a GAN's first epochs can look collapsed and
# recover: the committed 5.5 improved cGAN (seed 3) had 90% of its samples in one class and a
# variety of 0.34 at epoch 1 (its weight average still near the initial generator), and at most
# 12% and at least 0.83 over its last 3 epochs. A run with fewer measurements is not judged.
COLLAPSE_EPOCHS = 3
# "one class holding nearly all samples": the largest share of the classifier's classes among
# the samples. Real data gives 0.10 per class; the committed 5.3 and 5.5 runs (all seeds) end
# with at most 0.28 over their last 3 epochs (g_steps3, seed 2); at epoch 1 the improved
# cGAN's weight average reaches 0.90 (seed 3), which is why one epoch alone is never judged.
ONE_CLASS_SHARE = 0.9
# "the samples' spread far below the data's": within-class variety (mean pairwise distance of
# the samples of a class in the classifier's features over the same for real images of the
# class; 1 for real data, 0 for one image repeated) below a quarter of the data's. The
# committed runs' last 3 epochs stay at 0.60 or more (g_steps3, seed 3; every other setting
# 0.79 or more), and their lowest epoch is 0.34.
SPREAD_FLOOR = 0.25


def collapse(epochs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Why the run collapsed (``COLLAPSE_EPOCHS`` measured epochs that each hold nearly all
    samples in one class, or each have a spread far below the data's), or ``None``."""
    measured = [e for e in epochs if isinstance(e.get("quality"), dict)][-COLLAPSE_EPOCHS:]
    if len(measured) < COLLAPSE_EPOCHS:
        return None
    shares = [max(e["quality"].get("class_histogram") or [0.0]) for e in measured]
    spreads = [e["quality"].get("within_class_variety") for e in measured]
    which = [e["epoch"] for e in measured]
    if all(s >= ONE_CLASS_SHARE for s in shares):
        return {
            "rule": "one_class",
            "epochs": which,
            "values": shares,
            "reason": f"one class holds at least {ONE_CLASS_SHARE:.0%} of the samples in "
            f"each of epochs {', '.join(map(str, which))}",
        }
    if all(v is not None and v < SPREAD_FLOOR for v in spreads):
        return {
            "rule": "spread",
            "epochs": which,
            "values": spreads,
            "reason": f"within-class variety below {SPREAD_FLOOR:g} of the data's in each "
            f"of epochs {', '.join(map(str, which))}",
        }
    return None


# --- broken: trained to the end, and no use --------------------------------------------------


@dataclass(frozen=True)
class Health:
    """A rule that says a run is broken: ``broken(metrics)`` returns the reason, or None."""

    name: str
    text: str  # for the glossary
    broken: Callable[[Metrics], str | None]


# an epoch mean loss above this many nats per image has run away: the largest of any committed
# GAN run (every seed, every epoch, generator or discriminator) is 1.55. Judged once a run has
# finished: it ends ``failed``.
RUNAWAY_LOSS = 10.0
# an epoch mean loss beyond this many nats per image has exploded, and training stops at once
# (``diverged``, like a NaN): about 18 times the VAE's loss at initialisation (784 ln 2 = 543)
# and 10^4 times a GAN's (its losses stay near ln 2). Far above RUNAWAY_LOSS on purpose: a
# GAN above RUNAWAY_LOSS may still come back, so it trains to its end and is judged there.
EXPLODED_LOSS = 1e4
GREY_LOSS = 784 * math.log(2)  # a VAE that outputs grey for every pixel: 543.4 nats per image
# a GAN is judged against noise from this many Adam steps on: before, its samples may still be
# farther (12 steps of equal rates: 204); a run with equal rates is nearer after 32 steps
# (tests/test_reference.py). The committed GAN runs end at most at 0.29 of the noise's distance
# (3 generator steps, seed 3; scripts/cited_figures.py).
MIN_STEPS = 100


def images_per_epoch(config: dict[str, Any]) -> int:
    """The training images one epoch of a run with this (recorded) config goes through."""
    return train_images(config["dataset"], config.get("train_limit"))


def steps_per_epoch(config: dict[str, Any]) -> int:
    """Optimiser steps (batches) in one epoch of a run with this (recorded) config."""
    return -(-images_per_epoch(config) // config["batch_size"])


def adam_steps(m: Metrics) -> float | None:
    """Optimiser steps (batches) the run's records cover: epochs times batches per epoch."""
    if not m.get("epochs"):
        return None
    return float(m["epochs"][-1]["epoch"] * steps_per_epoch(m["config"]))


def at_epoch(metrics: Metrics, epoch: int) -> Metrics:
    """The run as it stood after ``epoch``: its records up to it, without the final
    evaluation (made after the last epoch only)."""
    if len(metrics["epochs"]) <= epoch:
        return metrics
    return {**metrics, "epochs": metrics["epochs"][:epoch], "evaluation": None}


def noise_distance(m: Metrics) -> float:
    """The Fréchet distance of uniform noise to the test images, with as many samples as the
    run measured its own with (cached beside the classifier)."""
    from genlab.evaluate import reference_distances

    refs = reference_distances(m["config"]["dataset"], m["config"]["quality_samples"])
    return refs["noise_vs_test"]


def farther_than_noise(m: Metrics) -> str | None:
    measured = [e for e in m.get("epochs", []) if "quality" in e]
    if not measured or measured[-1]["epoch"] * steps_per_epoch(m["config"]) < MIN_STEPS:
        return None
    last, noise = measured[-1]["quality"]["frechet_distance"], noise_distance(m)
    if last <= noise:
        return None
    return (
        f"its samples ended farther from the data than uniform noise (Fréchet distance "
        f"{last:.1f} at epoch {measured[-1]['epoch']}, noise {noise:.1f})"
    )


def ran_away(m: Metrics) -> str | None:
    last = (m.get("epochs") or [{}])[-1]
    high = {k: v for k, v in last.items() if k.endswith("_loss") and v > RUNAWAY_LOSS}
    if m["config"].get("model") == "vae":
        high = {k: v for k, v in last.items() if k == "test_loss" and v > GREY_LOSS}
    if not high:
        return None
    losses = ", ".join(f"{k.replace('_', ' ')} {v:,.1f}" for k, v in high.items())
    return f"its losses ran away ({losses} nats per image at epoch {last['epoch']})"


HEALTH = (
    Health(
        "farther than noise",
        f"a GAN whose last measured samples, after at least "
        f"{MIN_STEPS} Adam steps, are farther from the data than uniform noise (a run with "
        "equal rates is nearer than noise after 32 steps) is broken.",
        farther_than_noise,
    ),
    Health(
        "losses ran away",
        f"a GAN whose last epoch's mean loss exceeds {RUNAWAY_LOSS:g} "
        "nats per image, or a VAE whose test loss "
        f"exceeds {GREY_LOSS:.1f} (784 ln 2: grey for every pixel), is broken.",
        ran_away,
    ),
)


def broken(metrics: Metrics) -> str | None:
    """Why a run trained to its end is broken, or None."""
    reasons = [r for rule in HEALTH if (r := rule.broken(metrics))]
    return "; ".join(reasons) or None
