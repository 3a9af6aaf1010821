"""The domain classifier of each data set: its network, its training, its file cache.

The classifier is a small convolutional network trained by the project on the training split
of a data set. Its weights ship with the package (``weights/<dataset>-<hash>.pt``, the hash of
its training parameters, checked against ``weights/SHA256SUMS``): training it again gives other
weights on another machine or with another number of CPU threads, and so another feature space
(three trainings of the same recipe here reached 91.98%, 92.10% and 92.17% test accuracy, and
put uniform noise at distance 123.5 or 116.8 from the data), which would make distances
measured on different machines incomparable. The shipped weights are copied into the data
root as ``classifiers/<dataset>-<hash>.pt`` and loaded from there; a recipe with no shipped
weights (a changed ``ClassifierParams``) is trained and cached there instead. Beside the
cache, ``<dataset>-<hash>.json`` records its test accuracy and the reference distances, which
depend on the classifier only. A lock file beside the cache (``filelock``, on every platform)
makes parallel processes train or copy a classifier once.

Its penultimate layer is the feature space of the Fréchet distance; its prediction is the
class of a generated image (``genlab.evaluate.metrics``).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import io
import json
import os
import sys
import time
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from filelock import FileLock
from torch import nn

from genlab.atomic import atomic_write, read_json, write_json
from genlab.data import data_root as _data_root
from genlab.data import get_spec, load, shuffled_batches
from genlab.device import resolve_device
from genlab.rngs import rng_state, set_rng_state

NUM_CLASSES = 10
ACCURACY_BAR = {"mnist": 0.990, "fashion-mnist": 0.910}  # test accuracy the classifier must reach
CHUNK = 1000  # images per forward pass when embedding or generating
CLASSIFIER_VERSION = 1  # bump when the architecture or the training loop changes

Device = torch.device | str


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


SHIPPED = Path(__file__).parent / "weights"  # the classifiers every distance is measured with


def shipped_sha256(name: str) -> str | None:
    """The SHA-256 that ``weights/SHA256SUMS`` records for the shipped file ``name``, or None."""
    sums = SHIPPED / "SHA256SUMS"
    for line in sums.read_text().splitlines() if sums.exists() else []:
        digest, _, file = line.partition("  ")
        if file == name:
            return digest
    return None


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _install_shipped(path: Path, verbose: bool) -> None:
    """Put the shipped weights for ``path``'s name at ``path`` (the caller holds the lock).

    A cached file with other weights (trained on this machine) is replaced, and its sidecar,
    whose reference distances were measured with it, removed."""
    want = shipped_sha256(path.name)
    if want is None or (path.exists() and _sha256(path) == want):
        return
    shipped = SHIPPED / path.name
    data = shipped.read_bytes()
    if hashlib.sha256(data).hexdigest() != want:
        raise OSError(
            f"{shipped} does not match its SHA-256 in {SHIPPED / 'SHA256SUMS'}: "
            "the package's classifier weights are damaged; reinstall genlab"
        )
    if path.exists():
        _log(verbose, f"replacing {path} (trained here) by the project's classifier")
        sidecar_path(path).unlink(missing_ok=True)
    atomic_write(path, lambda f: f.write(data))


def sidecar_path(path: Path) -> Path:
    return path.with_suffix(".json")


def cache_lock(path: Path) -> FileLock:
    """An exclusive lock on ``path``.lock, so parallel processes train a classifier once:
    ``with cache_lock(path):``. ``filelock``'s, on every platform; where the kernel locks
    files (``flock``), one whose holder dies is released with it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(path.with_suffix(".lock"), thread_local=False)


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


# The classifier of each cache file, built once per process on the CPU, and its copy per device.
_BUILT: dict[str, Classifier] = {}
_CLASSIFIERS: dict[tuple[str, str], Classifier] = {}


def load_classifier(
    dataset: str,
    device: Device = "auto",
    root: str | os.PathLike | None = None,
    verbose: bool = True,
) -> Classifier:
    """The project's classifier for ``dataset``, in eval mode: the shipped weights (copied to
    the cache), else the cache, else trained and cached.

    Its ``record`` holds the test accuracy, the training time and the parameters.
    """
    device = resolve_device(device) if isinstance(device, str) else device
    path = classifier_path(dataset, root)
    key = (str(path.resolve()), str(device))
    if key not in _CLASSIFIERS:
        built = _BUILT.get(key[0]) or _build(dataset, path, device, root, verbose)
        _BUILT[key[0]] = built
        model = built if device.type == "cpu" else copy.deepcopy(built).to(device)
        _CLASSIFIERS[key] = model.eval()
    return _CLASSIFIERS[key]


def _build(
    dataset: str, path: Path, device: torch.device, root: str | os.PathLike | None, verbose: bool
) -> Classifier:
    """The classifier of cache file ``path``, built on the CPU from its weights (trained on
    ``device`` and cached first when there are none)."""
    with cache_lock(path):
        _install_shipped(path, verbose)
        if not path.exists():
            params = classifier_params(dataset)
            _log(verbose, f"training the {params.dataset} classifier (cached in {path})")
            trained, record = train_classifier(params, device, root, verbose)
            state = {
                "params": params.to_dict(),
                "record": record,
                "state_dict": {k: v.cpu() for k, v in trained.state_dict().items()},
            }
            buffer = io.BytesIO()
            torch.save(state, buffer)
            atomic_write(path, lambda f: f.write(buffer.getvalue()))
            update_sidecar(path, lambda side: side.update(classifier=record))
            _log(
                verbose,
                f"{params.dataset} classifier: test accuracy "
                f"{record['test_accuracy']:.2%} in {record['train_seconds']:.0f} s",
            )
        saved = torch.load(path, map_location="cpu", weights_only=True)
        recorded = saved["params"]
        params = ClassifierParams(**{**recorded, "channels": tuple(recorded["channels"])})
        with torch.device("meta"):  # no initial weights drawn: the saved ones are assigned
            model = Classifier(params.channels, params.features, params.dropout)
        model.load_state_dict(saved["state_dict"], assign=True)
        record = saved["record"]
        if not sidecar_path(path).exists():  # just copied from the shipped weights
            update_sidecar(path, lambda side: side.update(classifier=record))
    if record["test_accuracy"] < record["accuracy_bar"]:
        warnings.warn(
            f"the {dataset} classifier reaches {record['test_accuracy']:.2%} test accuracy, "
            f"below its bar of {record['accuracy_bar']:.1%} ({path})",
            stacklevel=3,
        )
    model.record = {**record, "file": str(path)}
    return model.eval()


def update_sidecar(path: Path, change: Any) -> dict[str, Any]:
    """Read-modify-write of the classifier's JSON sidecar (the caller holds the lock)."""
    side_path = sidecar_path(path)
    side = read_json(side_path) if side_path.exists() else {}
    change(side)
    write_json(side_path, side)
    return side
