"""What MNIST and Fashion-MNIST are: their files, MD5s and classes, and the data root.

The raw IDX files live in torchvision's standard layout under a data root
(``<root>/MNIST/raw``, ``<root>/FashionMNIST/raw``). Below both ``genlab.fetch``, which
provides the files, and ``genlab.data``, which reads them (and re-exports these names).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DATASETS = ("mnist", "fashion-mnist")
SPLITS = ("train", "test")
FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
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
    train_size: int = 60_000  # images in the training split (both data sets)
    test_size: int = 10_000

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
