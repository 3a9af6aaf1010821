"""How one run's value of a statistic is computed from its ``metrics.json``: the functions the
declarations of ``stats`` name (``Statistic.of``), each taking a run's metrics and returning its
value, or None where the run lacks the record.
"""

from __future__ import annotations

import functools
import statistics
from collections.abc import Callable

import torch

from genlab.data import FASHION_CLASSES, load, to_pixels
from genlab.health import adam_steps
from genlab.records import Metrics

LAST_EPOCHS = 5  # a GAN's distance: the median of its last 5 per-epoch measurements


def last_epoch(key: str) -> Callable[[Metrics], float | None]:
    return lambda m: m["epochs"][-1].get(key) if m.get("epochs") else None


def evaluated(part: str, key: str) -> Callable[[Metrics], float | None]:
    """``key`` of the run's final evaluation (10,000 images of its last epoch), of ``part``:
    "samples" or "reconstructions"."""
    return lambda m: ((m.get("evaluation") or {}).get(part) or {}).get(key)


def measured_by_5_6(m: Metrics) -> None:
    """Not a run's own record: 5.6 measures it on seed 1's samples and keeps it in its own
    ``comparison.json`` (``values.numbers`` reads it from there)."""
    return None


def per_epoch_distance(m: Metrics) -> float | None:
    """The median of the last ``LAST_EPOCHS`` per-epoch Fréchet distances (all, if fewer)."""
    measured = [e["quality"]["frechet_distance"] for e in m.get("epochs", []) if "quality" in e]
    return statistics.median(measured[-LAST_EPOCHS:]) if measured else None


def class_names(m: Metrics) -> list[str]:
    if m["config"].get("dataset") == "fashion-mnist":
        return list(FASHION_CLASSES)
    return [f"digit {i}" for i in range(10)]


@functools.cache
def reconstruction_floor(dataset: str, test_limit: int = 0) -> tuple[float, ...]:
    """Per class, what even a perfect reconstruction of its test images pays (nats per image):
    the cross-entropy of an image with itself, the entropy of its grey pixels, summed over its
    784 pixels. A class drawn with more grey area has a higher floor."""
    test = load(dataset, "test", limit=test_limit or None)
    x = to_pixels(test.images).flatten(1).double()
    entropy = -(torch.xlogy(x, x) + torch.xlogy(1 - x, 1 - x)).sum(1)
    return tuple(entropy[test.labels == c].mean().item() for c in range(len(test.classes)))


def class_losses(m: Metrics) -> dict[str, float]:
    """The last epoch's test loss per class above what a perfect reconstruction of that class
    still pays (``reconstruction_floor``), by class name ({} when not recorded)."""
    per = (m.get("epochs") or [{}])[-1].get("test_loss_per_class") or []
    if not per:
        return {}
    floor = reconstruction_floor(m["config"]["dataset"], m["config"].get("test_limit") or 0)
    return {n: v - f for n, v, f in zip(class_names(m), per, floor, strict=True) if v is not None}


SHOES = ("Sandal", "Sneaker", "Ankle boot")
TOPS = ("T-shirt/top", "Pullover", "Shirt")


def shoe_loss(m: Metrics) -> float | None:
    losses = class_losses(m)
    return statistics.fmean(losses[c] for c in SHOES) if losses else None


def rank_of(*classes: str, key: Callable[[Metrics], dict[str, float]], worst: str):
    """The rank of the worst of ``classes`` among the ten by ``key``'s value per class (1: the
    worst; ``worst`` "highest" or "lowest" says which end is worst)."""

    def of(m: Metrics) -> float | None:
        values = key(m)
        if not values:
            return None
        order = sorted(values, key=lambda n: -values[n] if worst == "highest" else values[n])
        return float(min(order.index(c) + 1 for c in classes))

    return of


def worst_rank(*classes: str) -> Callable[[Metrics], float | None]:
    """The rank by excess loss per class of the worst of ``classes`` (1: the worst)."""
    return rank_of(*classes, key=class_losses, worst="highest")


def class_accuracies(m: Metrics) -> dict[str, float]:
    """A cGAN's conditional accuracy per class asked for, by class name ({} when none)."""
    per = evaluated("samples", "conditional_accuracy_per_class")(m) or []
    return dict(zip(class_names(m), per, strict=False))


def weakest_row_rank(*classes: str) -> Callable[[Metrics], float | None]:
    """The rank by conditional accuracy of the weakest of ``classes`` (1: the weakest row)."""
    return rank_of(*classes, key=class_accuracies, worst="lowest")


def generator_steps(m: Metrics) -> float | None:
    """A GAN's generator steps: the discriminator's Adam steps times ``g_steps``."""
    steps = adam_steps(m)
    if steps is None or m["config"].get("model") != "gan":
        return None
    return steps * m["config"]["g_steps"]


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
        hist = evaluated("samples", "class_histogram")(m)
        if not hist or m["config"].get("dataset") != "fashion-mnist":
            return None
        return sum(hist[FASHION_CLASSES.index(c)] for c in classes)

    return of


def lowest_generator_loss(m: Metrics) -> float | None:
    return min((e["generator_loss"] for e in m.get("epochs", [])), default=None)


# --- the image statistics of 5.6 (measured on images, not on metrics.json) ---------------------

CORNER = 4  # the background is measured on the four CORNER x CORNER corners of an image
DARK = 0.1  # a pixel below this value counts as black background


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
