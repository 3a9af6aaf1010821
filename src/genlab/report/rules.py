"""The statistics behind the words: each word a sentence may use, and the number that decides it.

- **variety** is the within-class variety (``genlab.evaluate``): the mean distance between two
  samples of one class in the classifier's features, over the same for real images of that
  class, averaged over classes. Never the spread across all samples, which mixes classes.
- a **trend** is the least-squares slope over the second half of training, never a mean or a
  first-versus-last difference: a loss that rose early and then settled is "flat".
- **balanced** means D(x) and D(G(z)) both within ``BALANCED`` of 1/2, and it is never said of a
  run that failed (``failed``): a discriminator fooled by blobs is not a balanced game.
- a GAN run **failed** when its Fréchet distance exceeds ``FAILED_DISTANCE`` or it covers fewer
  than ``FAILED_CLASSES`` classes.
"""

from __future__ import annotations

from typing import Any

VARIETY_COLLAPSED = 0.25  # below: nearly one image per class
VARIETY_LOW = 0.6  # below: less varied than the data; at or above: about as varied
TREND_FLAT = 0.05  # a change over the second half below 5% of the series' level is flat
VAE_LOSS_FLAT = 0.005  # the VAE's test loss: below 0.5% (about 0.5 to 1.2 nats) is flat
BALANCED = 0.15  # D(x) and D(G(z)) within 0.5 +- 0.15
FAILED_DISTANCE = 25.0  # a Fréchet distance above this: samples far from the data
FAILED_CLASSES = 8  # fewer classes covered (>= 5% of samples each): mode collapse
BACKGROUND_NEAR = 0.03  # a share of near-black corner pixels within 3 points of the data's


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


def trend_sentence(epochs: list[dict[str, Any]], key: str, name: str,
                   flat: float = TREND_FLAT) -> tuple[str, str]:  # fmt: skip
    """("over the second half of training (epochs a-b) the <name> rose (least-squares slope
    ... nats per epoch, ... over the half)", the trend's word) for ``key`` of ``epochs``."""
    values = [e[key] for e in epochs]
    half = epochs[len(epochs) // 2 :]
    words, change = trend(values, flat)
    slope = second_half_slope(values)
    return (f"over the second half of training (epochs {half[0]['epoch']}-{half[-1]['epoch']}) "
            f"the {name} {words} (least-squares slope {signed(slope, 4)} nats per epoch, "
            f"{signed(change, 3)} over the half)", words)  # fmt: skip


def signed(value: float, digits: int) -> str:
    """``value`` with its sign and ``digits`` decimals; one that rounds to zero is +0.0..."""
    return f"{value if round(value, digits) else 0.0:+.{digits}f}"


def failed(quality: dict[str, Any] | None) -> bool:
    """Whether a GAN's samples failed, by distance or by coverage (False when unmeasured)."""
    if not quality:
        return False
    return (quality["frechet_distance"] > FAILED_DISTANCE
            or quality["classes_covered"] < FAILED_CLASSES)  # fmt: skip


def balanced(d_real: float, d_fake: float, quality: dict[str, Any] | None) -> bool:
    """D(x) and D(G(z)) both near 1/2, in a run that did not fail."""
    near = abs(d_real - 0.5) <= BALANCED and abs(d_fake - 0.5) <= BALANCED
    return near and not failed(quality)
