"""Metrics of generated images, measured with the domain classifier of their data set.

Every function takes images as float tensors in [0, 1] of shape (N, 1, 28, 28); a tanh output
is mapped with ``from_signed``. The Fréchet distance is computed by torchmetrics'
``FrechetInceptionDistance`` on the classifier's features, in float64, always against the
whole real test split.

- ``image_metrics(images, dataset, labels=None)``: Fréchet distance (beside the two reference
  points), class histogram, classes covered, KL from uniform, within-class variety and, given
  the labels the images were conditioned on, the conditional accuracy overall and per class.
- ``within_class_variety(features, classes, real_features, real_classes)``: how spread out the
  samples of each class are in the classifier's feature space, relative to real images of that
  class (1: as varied as the real data, 0: one image per class).
- ``reference_distances(dataset, n)``: real train against real test (the floor) and uniform
  noise against real test (the ceiling), computed the same way with ``n`` images.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from genlab.data import load
from genlab.evaluate.classifier import (
    NUM_CLASSES,
    Classifier,
    Device,
    cache_lock,
    load_classifier,
    sidecar_path,
    update_sidecar,
)
from genlab.runs import read_json

DEFAULT_N = 10_000  # generated images per metric
COVERAGE_SHARE = 0.05  # a class is covered when it receives at least this share of samples
VARIETY_CAP = 500  # images per class in the within-class variety (the first ones, in order)
EVAL_SEED = 2024  # noise of the samples and of the references: the same for every run


# --- features of real images ------------------------------------------------------------------

_TEST_FEATURES: dict[tuple[str, str], torch.Tensor] = {}
_TEST_SPREADS: dict[tuple[str, str], list[float | None]] = {}


def _test_features(clf: Classifier, dataset: str, root: str | os.PathLike | None) -> torch.Tensor:
    """Features of the whole real test split (float64, CPU), once per process."""
    key = (clf.record["file"], str(next(clf.parameters()).device))
    if key not in _TEST_FEATURES:
        _TEST_FEATURES[key] = clf.embed(load(dataset, "test", root=root).pixels())[0]
    return _TEST_FEATURES[key]


def _test_spreads(
    clf: Classifier, dataset: str, root: str | os.PathLike | None
) -> list[float | None]:
    """``_class_spreads`` of the real test split with its true labels, once per process."""
    key = (clf.record["file"], str(next(clf.parameters()).device))
    if key not in _TEST_SPREADS:
        labels = load(dataset, "test", root=root).labels
        _TEST_SPREADS[key] = _class_spreads(_test_features(clf, dataset, root), labels)
    return _TEST_SPREADS[key]


class _GivenFeatures(nn.Module):
    """The identity as torchmetrics' feature extractor: features are computed beforehand.

    The classifier embeds images on any device; the statistics and the distance are then
    computed by ``FrechetInceptionDistance`` on the CPU in float64 (which MPS lacks).
    """

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def frechet_distance(real_features: torch.Tensor, fake_features: torch.Tensor) -> float:
    """Fréchet distance between the Gaussians fitted to two sets of features (N, d)."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    metric = FrechetInceptionDistance(
        feature=_GivenFeatures(real_features.shape[1]), normalize=True
    )
    metric.update(real_features.double().cpu(), real=True)
    metric.update(fake_features.double().cpu(), real=False)
    return float(metric.compute())


# --- metrics ----------------------------------------------------------------------------------


def from_signed(images: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] (a tanh output) mapped to [0, 1]."""
    return ((images + 1) / 2).clamp_(0, 1)


def _as_images(images: torch.Tensor) -> torch.Tensor:
    if not torch.is_tensor(images) or not images.is_floating_point():
        raise TypeError("images must be a float tensor in [0, 1] of shape (N, 1, 28, 28)")
    if images.dim() < 2 or images[0].numel() != 28 * 28 or len(images) < 2:
        raise ValueError(
            f"images must have shape (N, 1, 28, 28) with N >= 2, got {tuple(images.shape)}"
        )
    lo, hi = images.min().item(), images.max().item()
    if lo < -1e-4 or hi > 1 + 1e-4:
        raise ValueError(
            f"images must be in [0, 1], found values in [{lo:.3g}, {hi:.3g}]; "
            "map a tanh output with genlab.evaluate.from_signed"
        )
    return images.reshape(len(images), 1, 28, 28)


def coverage(predictions: torch.Tensor) -> dict[str, Any]:
    """Class histogram (shares), classes with at least 5% of the samples, KL from uniform (nats)."""
    counts = torch.bincount(predictions.cpu(), minlength=NUM_CLASSES).double()
    shares = counts / counts.sum()
    nonzero = shares[shares > 0]
    kl = float((nonzero * (nonzero * NUM_CLASSES).log()).sum())
    return {
        "class_histogram": shares.tolist(),
        "classes_covered": int((shares >= COVERAGE_SHARE).sum()),
        "kl_from_uniform": max(kl, 0.0),
    }


def conditional_accuracy(predictions: torch.Tensor, labels: torch.Tensor) -> dict[str, Any]:
    """Share of samples classified as the class they were conditioned on, overall and per class."""
    labels = labels.cpu().long()
    correct = predictions.cpu().eq(labels)
    per_class = [
        correct[labels == c].float().mean().item() if (labels == c).any() else None
        for c in range(NUM_CLASSES)
    ]
    return {
        "conditional_accuracy": correct.float().mean().item(),
        "conditional_accuracy_per_class": per_class,
    }


def _class_spreads(features: torch.Tensor, classes: torch.Tensor) -> list[float | None]:
    """Per class, the mean Euclidean distance between the features of two different images.

    Over the pairs i != j of the first ``VARIETY_CAP`` images of the class (the mean of all
    pairs is estimated without bias by any subset); ``None`` for fewer than 2 images.
    """
    features, classes = features.double().cpu(), classes.cpu().long()
    spreads: list[float | None] = []
    for c in range(NUM_CLASSES):
        f = features[classes == c][:VARIETY_CAP]
        n = len(f)
        if n < 2:
            spreads.append(None)
            continue
        d = torch.cdist(f, f)  # through a matrix product: the diagonal may be ~1e-7, not 0
        spreads.append(float(d.sum() - d.diagonal().sum()) / (n * (n - 1)))
    return spreads


def _variety(spreads: list[float | None], real_spreads: list[float | None]) -> dict[str, Any]:
    per_class = [
        s / r if s is not None and r is not None else None
        for s, r in zip(spreads, real_spreads, strict=True)
    ]
    present = [v for v in per_class if v is not None]
    return {
        "within_class_variety": sum(present) / len(present) if present else None,
        "within_class_variety_per_class": per_class,
    }


def within_class_variety(
    features: torch.Tensor,
    classes: torch.Tensor,
    real_features: torch.Tensor,
    real_classes: torch.Tensor,
) -> dict[str, Any]:
    """How varied the samples of each class are, relative to real images of that class.

    Per class: the mean pairwise Euclidean distance between the ``features`` (N, d) of the
    samples of that class (their ``classes`` (N,)), divided by the same for ``real_features``
    of that class; at most the first ``VARIETY_CAP`` images of a class are used on either side.
    About 1 for real images, 0 for one image repeated. Keys: ``within_class_variety_per_class``
    (10 ratios; ``None`` for a class with fewer than 2 images on either side) and
    ``within_class_variety``, their mean over the classes that are not ``None`` (``None`` if
    none is).
    """
    return _variety(_class_spreads(features, classes), _class_spreads(real_features, real_classes))


def image_metrics(
    images: torch.Tensor,
    dataset: str,
    labels: torch.Tensor | None = None,
    device: Device = "auto",
    root: str | os.PathLike | None = None,
    reference: bool = True,
) -> dict[str, Any]:
    """The metrics of generated ``images`` (N, 1, 28, 28) in [0, 1] of a ``dataset``'s kind.

    Keys: ``n``, ``frechet_distance`` (to the real test split, in the classifier's feature
    space), ``class_histogram`` (10 shares), ``classes_covered``, ``kl_from_uniform``,
    ``within_class_variety`` and ``within_class_variety_per_class`` (against the real test
    split; an image's class is its label when ``labels`` are given, else the classifier's
    prediction); with ``labels`` (the classes the images were conditioned on)
    ``conditional_accuracy`` and ``conditional_accuracy_per_class``; with ``reference`` the
    ``reference_distances`` for the same number of images.
    """
    images = _as_images(images)
    if labels is not None and len(labels) != len(images):
        raise ValueError(f"{len(labels)} labels for {len(images)} images")
    clf = load_classifier(dataset, device, root)
    feats, preds = clf.embed(images)
    out: dict[str, Any] = {
        "n": len(images),
        "frechet_distance": frechet_distance(_test_features(clf, dataset, root), feats),
        **coverage(preds),
    }
    classes = preds if labels is None else labels.cpu().long()
    out.update(_variety(_class_spreads(feats, classes), _test_spreads(clf, dataset, root)))
    if labels is not None:
        out.update(conditional_accuracy(preds, labels))
    if reference:
        out["reference_distances"] = reference_distances(dataset, len(images), device, root)
    return out


def reference_distances(
    dataset: str,
    n: int = DEFAULT_N,
    device: Device = "auto",
    root: str | os.PathLike | None = None,
) -> dict[str, float | int]:
    """Fréchet distances to the real test split of ``n`` real training images (the floor) and
    of ``n`` images of uniform noise (the ceiling); cached beside the classifier, per ``n``."""
    if n < 2:
        raise ValueError(f"n must be at least 2, got {n}")
    clf = load_classifier(dataset, device, root)
    path = Path(clf.record["file"])
    side_path = sidecar_path(path)
    cached = read_json(side_path).get("reference_distances", {}) if side_path.exists() else {}
    if str(n) in cached:
        return cached[str(n)]
    train = load(dataset, "train", root=root)
    generator = torch.Generator().manual_seed(EVAL_SEED)
    chosen = torch.randperm(len(train), generator=generator)[:n]
    noise = torch.rand(n, 1, 28, 28, generator=generator)
    test = _test_features(clf, dataset, root)
    refs = {
        "train_vs_test": frechet_distance(test, clf.embed(train.pixels()[chosen])[0]),
        "noise_vs_test": frechet_distance(test, clf.embed(noise)[0]),
        "n_train": len(chosen),
    }
    with cache_lock(path):
        update_sidecar(
            path, lambda side: side.setdefault("reference_distances", {}).update({str(n): refs})
        )
    return refs
