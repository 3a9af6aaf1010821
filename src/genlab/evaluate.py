"""Measure what the eye judges: a domain classifier per data set, and metrics of generated images.

The classifier is a small convolutional network trained by the project on the training split
of a data set. It is cached in the data root as ``classifiers/<dataset>-<hash>.pt`` (the hash
of its training parameters) and reloaded when present; beside it ``<dataset>-<hash>.json``
records its test accuracy and the reference distances, which depend on the classifier only.

Its penultimate layer is the feature space of the Fréchet distance (computed by torchmetrics'
``FrechetInceptionDistance`` on these features, in float64, always against the whole real test
split); its prediction is the class of a generated image. Every function takes images as float
tensors in [0, 1] of shape (N, 1, 28, 28); a tanh output is mapped with ``from_signed``.

- ``image_metrics(images, dataset, labels=None)``: Fréchet distance (beside the two reference
  points), class histogram, classes covered, KL from uniform, within-class variety and, given
  the labels the images were conditioned on, the conditional accuracy overall and per class.
- ``within_class_variety(features, classes, real_features, real_classes)``: how spread out the
  samples of each class are in the classifier's feature space, relative to real images of that
  class (1: as varied as the real data, 0: one image per class).
- ``reference_distances(dataset, n)``: real train against real test (the floor) and uniform
  noise against real test (the ceiling), computed the same way with ``n`` images.
- ``evaluate_run(run_dir)``: loads a run's checkpoint, draws seeded samples (and, for the VAE,
  reconstructions of the test split) and records the metrics under ``"evaluation"`` in its
  ``metrics.json``.

``python -m genlab.evaluate classifier`` trains (or loads) the classifiers and prints their
accuracy and reference distances; ``python -m genlab.evaluate run RUN_DIR...`` evaluates runs.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import io
import json
import math
import os
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genlab.data import DATASETS, get_spec, load, shuffled_batches
from genlab.data import data_root as _data_root
from genlab.device import resolve_device
from genlab.runs import (
    CHECKPOINT,
    atomic_write,
    load_metrics,
    read_json,
    rng_state,
    set_rng_state,
    write_json,
)

NUM_CLASSES = 10
DEFAULT_N = 10_000  # generated images per metric
COVERAGE_SHARE = 0.05  # a class is covered when it receives at least this share of samples
VARIETY_CAP = 500  # images per class in the within-class variety (the first ones, in order)
EVAL_SEED = 2024  # noise of the samples and of the references: the same for every run
ACCURACY_BAR = {"mnist": 0.990, "fashion-mnist": 0.910}  # test accuracy the classifier must reach
CHUNK = 1000  # images per forward pass when embedding or generating
CLASSIFIER_VERSION = 1  # bump when the architecture or the training loop changes
EVALUATION_VERSION = 2  # bump when an evaluation's contents change (2: variety, portable names)

Device = torch.device | str


# --- the classifier ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassifierParams:
    """What decides a classifier's weights; their hash names its cache file."""

    dataset: str
    epochs: int
    batch_size: int = 128
    lr: float = 3e-3  # peak of the one-cycle schedule (AdamW)
    weight_decay: float = 1e-4
    channels: tuple[int, int] = (32, 64)
    features: int = 128
    dropout: float = 0.2
    seed: int = 0
    version: int = CLASSIFIER_VERSION

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["channels"] = list(self.channels)
        return d

    def digest(self) -> str:
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:10]


EPOCHS = {"mnist": 3, "fashion-mnist": 5}


def classifier_params(dataset: str) -> ClassifierParams:
    """The project's classifier for ``dataset`` (the one every metric uses)."""
    return ClassifierParams(dataset=get_spec(dataset).name, epochs=EPOCHS[get_spec(dataset).name])


class Classifier(nn.Module):
    """Two strided convolutions with batch norm, then a fully connected feature layer.

    28x28 -> conv 5x5/2 -> 14x14 -> conv 3x3/2 -> 7x7 -> linear -> ``features`` (ReLU; the
    feature space of the Fréchet distance) -> linear -> 10 logits. Strided convolutions
    instead of max pooling keep it fast on a small CPU. Input: images in [0, 1].
    """

    def __init__(
        self,
        channels: tuple[int, int] = (32, 64),
        features: int = 128,
        dropout: float = 0.2,
        num_classes: int = NUM_CLASSES,
    ):
        super().__init__()
        c1, c2 = channels
        self.num_features = features  # read by torchmetrics' FrechetInceptionDistance
        self.body = nn.Sequential(
            nn.Conv2d(1, c1, 5, stride=2, padding=2, bias=False),
            nn.BatchNorm2d(c1),
            nn.ReLU(inplace=True),
            nn.Conv2d(c1, c2, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(c2),
            nn.ReLU(inplace=True),
            nn.Flatten(),
            nn.Linear(c2 * 7 * 7, features, bias=False),
            nn.BatchNorm1d(features),
            nn.ReLU(inplace=True),
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(features, num_classes)
        self.record: dict[str, Any] = {}  # what the cache says about it (accuracy, params...)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate activations (N, num_features) of images (N, 1, 28, 28) in [0, 1]."""
        return self.body(x * 2 - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(x)))

    @torch.no_grad()
    def embed(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Features (N, d) as float64 on the CPU and predicted classes (N,) of ``images``."""
        self.eval()
        device = next(self.parameters()).device
        feats, preds = [], []
        for x in images.split(CHUNK):
            f = self.features(x.to(device, torch.float32))
            feats.append(f.double().cpu())
            preds.append(self.head(f).argmax(1).cpu())
        return torch.cat(feats), torch.cat(preds)


def classifier_dir(root: str | os.PathLike | None = None) -> Path:
    return _data_root(root) / "classifiers"


def classifier_path(dataset: str, root: str | os.PathLike | None = None) -> Path:
    """The cache file of the project's classifier for ``dataset``."""
    params = classifier_params(dataset)
    return classifier_dir(root) / f"{params.dataset}-{params.digest()}.pt"


def _sidecar(path: Path) -> Path:
    return path.with_suffix(".json")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path``.lock, so parallel processes train a classifier once."""
    try:
        import fcntl
    except ImportError:  # not POSIX: atomic writes still keep every file whole
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _log(verbose: bool, message: str) -> None:
    if verbose:
        print(f"genlab.evaluate: {message}", file=sys.stderr, flush=True)


def train_classifier(
    params: ClassifierParams,
    device: Device = "auto",
    root: str | os.PathLike | None = None,
    verbose: bool = True,
) -> tuple[Classifier, dict[str, Any]]:
    """Train a classifier from scratch (no cache); returns it and its record.

    Whole tensors on ``device``, batches sliced from a seeded permutation, AdamW with a
    one-cycle schedule. Seeded, and the caller's random generators are left as they were.
    """
    device = resolve_device(device) if isinstance(device, str) else device
    train = load(params.dataset, "train", root=root, device=device)
    test = load(params.dataset, "test", root=root, device=device)
    x, y = train.pixels(), train.labels
    saved = rng_state()
    try:
        torch.manual_seed(params.seed)  # weights and dropout
        model = Classifier(params.channels, params.features, params.dropout).to(device)
        generator = torch.Generator().manual_seed(params.seed)  # shuffling
        optimizer = torch.optim.AdamW(
            model.parameters(), lr=params.lr, weight_decay=params.weight_decay
        )
        steps = params.epochs * -(-len(x) // params.batch_size)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, params.lr, total_steps=steps)
        t0 = time.perf_counter()
        for epoch in range(1, params.epochs + 1):
            model.train()
            total = torch.zeros((), device=device)
            for idx in shuffled_batches(len(x), params.batch_size, generator, device):
                optimizer.zero_grad(set_to_none=True)
                loss = F.cross_entropy(model(x[idx]), y[idx], reduction="sum")
                (loss / len(idx)).backward()
                optimizer.step()
                schedule.step()
                total += loss.detach()
            _log(
                verbose,
                f"{params.dataset} classifier: epoch {epoch}/{params.epochs}, "
                f"train loss {total.item() / len(x):.4f}, "
                f"{time.perf_counter() - t0:.0f} s",
            )
        seconds = time.perf_counter() - t0
    finally:
        set_rng_state(saved)
    _, preds = model.embed(test.pixels())
    labels = test.labels.cpu()
    correct = preds.eq(labels)
    per_class = [correct[labels == c].float().mean().item() for c in range(NUM_CLASSES)]
    record = {
        "dataset": params.dataset,
        "digest": params.digest(),
        "params": params.to_dict(),
        "test_accuracy": correct.float().mean().item(),
        "test_accuracy_per_class": per_class,
        "accuracy_bar": ACCURACY_BAR[params.dataset],
        "train_seconds": seconds,
        "device": str(device),
        "torch": str(torch.__version__),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    return model, record


_CLASSIFIERS: dict[tuple[str, str], Classifier] = {}


def load_classifier(
    dataset: str,
    device: Device = "auto",
    root: str | os.PathLike | None = None,
    verbose: bool = True,
) -> Classifier:
    """The project's classifier for ``dataset``, in eval mode: cached, else trained and cached.

    Its ``record`` holds the test accuracy, the training time and the parameters.
    """
    device = resolve_device(device) if isinstance(device, str) else device
    path = classifier_path(dataset, root)
    key = (str(path.resolve()), str(device))
    if key in _CLASSIFIERS:
        return _CLASSIFIERS[key]
    with _locked(path):
        if path.exists():
            saved = torch.load(path, map_location="cpu", weights_only=True)
            params = ClassifierParams(
                **{**saved["params"], "channels": tuple(saved["params"]["channels"])}
            )
            model = Classifier(params.channels, params.features, params.dropout)
            model.load_state_dict(saved["state_dict"])
            record = saved["record"]
        else:
            params = classifier_params(dataset)
            _log(verbose, f"training the {params.dataset} classifier (cached in {path})")
            model, record = train_classifier(params, device, root, verbose)
            state = {
                "params": params.to_dict(),
                "record": record,
                "state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
            }
            buffer = io.BytesIO()
            torch.save(state, buffer)
            atomic_write(path, lambda f: f.write(buffer.getvalue()))
            _update_sidecar(path, lambda side: side.update(classifier=record))
            _log(
                verbose,
                f"{params.dataset} classifier: test accuracy "
                f"{record['test_accuracy']:.2%} in {record['train_seconds']:.0f} s",
            )
    if record["test_accuracy"] < record["accuracy_bar"]:
        warnings.warn(
            f"the {dataset} classifier reaches {record['test_accuracy']:.2%} test accuracy, "
            f"below its bar of {record['accuracy_bar']:.1%} ({path})",
            stacklevel=2,
        )
    model.record = {**record, "file": str(path)}
    model.to(device).eval()
    _CLASSIFIERS[key] = model
    return model


def _update_sidecar(path: Path, change: Any) -> dict[str, Any]:
    """Read-modify-write of the classifier's JSON sidecar (the caller holds the lock)."""
    side_path = _sidecar(path)
    side = read_json(side_path) if side_path.exists() else {}
    change(side)
    write_json(side_path, side)
    return side


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
    side_path = _sidecar(path)
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
    with _locked(path):
        _update_sidecar(
            path, lambda side: side.setdefault("reference_distances", {}).update({str(n): refs})
        )
    return refs


# --- runs -------------------------------------------------------------------------------------


@torch.no_grad()
def vae_images(
    model: nn.Module,
    n: int,
    test_images: torch.Tensor,
    seed: int = EVAL_SEED,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded prior samples (n) and reconstructions of ``test_images``, in [0, 1], on the CPU.

    ``model`` is a ``genlab.models.vae.VAE``; reconstructions are the decoder's means for a
    seeded draw of z from the encoder's posterior (as its forward pass does).
    """
    model.eval()
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    samples = [
        model.decode(torch.randn(len(c), model.latent_dim, generator=generator).to(device)).cpu()
        for c in torch.arange(n).split(CHUNK)
    ]
    recons = []
    for x in test_images.split(CHUNK):
        mu, logvar = model.encode(x.to(device).reshape(len(x), -1))
        eps = torch.randn(mu.shape, generator=generator).to(device)
        recons.append(model.decode(mu + eps * torch.exp(0.5 * logvar)).cpu())
    shape = (-1, 1, 28, 28)
    return torch.cat(samples).view(shape), torch.cat(recons).view(shape)


@torch.no_grad()
def gan_images(
    generator_net: nn.Module,
    n: int,
    seed: int = EVAL_SEED,
    batch_statistics: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Seeded samples (n) of a ``genlab.models.gan.Generator`` in [0, 1] on the CPU, and for a
    conditional one the labels they were conditioned on (balanced: ``i % 10`` for sample i).

    The generator is put in eval mode (batch norm with its running statistics), or with
    ``batch_statistics`` in train mode (each chunk of samples normalised by its own).
    """
    generator_net.train(batch_statistics)
    device = next(generator_net.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    num_classes = getattr(generator_net, "num_classes", 0)
    labels = torch.arange(n) % num_classes if num_classes else None
    images = []
    for idx in torch.arange(n).split(CHUNK):
        z = torch.randn(len(idx), generator_net.latent_dim, generator=generator).to(device)
        y = labels[idx].to(device) if labels is not None else None
        images.append(from_signed(generator_net(z, y)).cpu())
    return torch.cat(images).view(-1, 1, 28, 28), labels


def load_vae(config: dict[str, Any], trainer_state: dict[str, Any], device: torch.device):
    """The VAE of a run from its config and its trainer's state dict."""
    from genlab.models.vae import VAE

    model = VAE(config["latent_dim"], config["hidden_dim"])
    model.load_state_dict(trainer_state["model"])
    return model.to(device)


def load_generator(config: dict[str, Any], trainer_state: dict[str, Any], device: torch.device):
    """The generator that samples for a GAN run (its weight average when the run kept one)
    from its trainer's state dict."""
    from genlab.models.gan import Generator

    if "generator" not in trainer_state:
        raise NotImplementedError(
            "this GAN checkpoint has no 'generator' entry in its trainer state "
            f"(keys: {', '.join(trainer_state)}); genlab.evaluate does not know how to load it"
        )
    num_classes = NUM_CLASSES if config.get("conditional") else 0
    net = Generator(config["latent_dim"], num_classes, config.get("embed_dim", 10))
    net.load_state_dict(trainer_state.get("generator_average", trainer_state["generator"]))
    return net.to(device)


def is_current(evaluation: dict[str, Any] | None, n: int) -> bool:
    """Whether a recorded evaluation is one ``evaluate_run`` would make now with ``n`` samples."""
    return (
        bool(evaluation)
        and evaluation.get("n") == n
        and (evaluation.get("version") == EVALUATION_VERSION)
    )


def evaluate_run(
    run_dir: str | os.PathLike,
    n: int = DEFAULT_N,
    device: Device = "auto",
    force: bool = False,
    write: bool = True,
    root: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Evaluate the model in a run folder's checkpoint; record it in ``metrics.json``.

    The result (also written under ``"evaluation"``, the rest of ``metrics.json`` kept) holds
    ``n``, ``seed``, ``epoch`` (of the checkpoint), ``classifier_digest``, ``dataset``,
    ``classifier_file``, ``classifier_test_accuracy``, ``samples`` (``image_metrics`` of n
    seeded samples; a cGAN's are balanced over the classes and include the conditional
    accuracy) and, for a VAE, ``reconstructions``
    (``image_metrics`` of the reconstructed test split, at most n images). An evaluation
    already recorded for the same checkpoint, n and classifier is returned unless ``force``.
    """
    run_dir = Path(run_dir)
    metrics = load_metrics(run_dir)
    config = metrics["config"]
    dataset, model = config["dataset"], config["model"]
    ckpt = run_dir / CHECKPOINT
    if not ckpt.exists():
        raise FileNotFoundError(f"{ckpt} not found: the run has no finished epoch to evaluate")
    device = resolve_device(device) if isinstance(device, str) else device
    clf = load_classifier(dataset, device, root)
    state = torch.load(ckpt, map_location="cpu", weights_only=False)
    key = {
        "version": EVALUATION_VERSION,
        "n": n,
        "seed": EVAL_SEED,
        "epoch": state["epoch"],
        "classifier_digest": clf.record["digest"],
    }
    before = metrics.get("evaluation")
    if not force and before and all(before.get(k) == v for k, v in key.items()):
        return before
    evaluation: dict[str, Any] = {
        **key,
        "dataset": dataset,
        "classifier_file": Path(clf.record["file"]).name,  # in the data root's classifiers/
        "classifier_test_accuracy": clf.record["test_accuracy"],
    }
    if model == "vae":
        vae = load_vae(config, state["trainer"], device)
        test = load(dataset, "test", root=root).pixels()[:n]
        samples, recons = vae_images(vae, n, test)
        evaluation["samples"] = image_metrics(samples, dataset, device=device, root=root)
        evaluation["reconstructions"] = image_metrics(recons, dataset, device=device, root=root)
    elif model == "gan":
        net = load_generator(config, state["trainer"], device)
        samples, labels = gan_images(net, n)
        evaluation["samples"] = image_metrics(samples, dataset, labels, device, root)
    else:
        raise ValueError(f"{run_dir}: unknown model {model!r} in metrics.json")
    evaluation["evaluated"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    if write:
        metrics = load_metrics(run_dir)  # fresh: keep everything else as it is now
        metrics["evaluation"] = evaluation
        write_json(run_dir / "metrics.json", metrics)
    return evaluation


# --- command line -----------------------------------------------------------------------------


def _fmt(value: float) -> str:
    return f"{value:.3g}" if math.isfinite(value) else str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m genlab.evaluate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("classifier", help="train or load the classifiers; print their numbers")
    c.add_argument("datasets", nargs="*", default=list(DATASETS), help="default: all")
    r = sub.add_parser("run", help="evaluate run folders and record it in their metrics.json")
    r.add_argument("run_dirs", nargs="+")
    r.add_argument("--force", action="store_true", help="recompute a recorded evaluation")
    for p in (c, r):
        p.add_argument("--n", type=int, default=DEFAULT_N, help="images per metric")
        p.add_argument("--device", default="auto", help="auto | cpu | cuda | mps")
    args = parser.parse_args(argv)
    if args.command == "classifier":
        for name in args.datasets:
            clf = load_classifier(name, args.device)
            refs = reference_distances(name, args.n, args.device)
            rec = clf.record
            print(
                f"{name}: test accuracy {rec['test_accuracy']:.2%} "
                f"(bar {rec['accuracy_bar']:.1%}), trained in {rec['train_seconds']:.0f} s; "
                f"Fréchet distance to the test split with n={args.n}: real train "
                f"{_fmt(refs['train_vs_test'])}, noise {_fmt(refs['noise_vs_test'])}"
            )
        return 0
    status = 0
    for run_dir in args.run_dirs:
        try:
            ev = evaluate_run(run_dir, args.n, args.device, force=args.force)
        except (FileNotFoundError, NotImplementedError, ValueError, KeyError) as e:
            print(f"{run_dir}: error: {e}", file=sys.stderr)
            status = 1
            continue
        s = ev["samples"]
        print(
            f"{run_dir}: Fréchet distance {_fmt(s['frechet_distance'])}, "
            f"{s['classes_covered']} classes covered, KL {_fmt(s['kl_from_uniform'])}"
            + (
                f", conditional accuracy {s['conditional_accuracy']:.2%}"
                if "conditional_accuracy" in s
                else ""
            )
        )
    return status


if __name__ == "__main__":
    sys.exit(main())
