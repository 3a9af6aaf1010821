"""How the suite is shared between pytest-xdist's workers (``--dist loadfile`` in
./run_tests.sh; docs/tests.md has the measurements).

A test file is one unit that one worker runs, so that a module-scoped fixture (a ./run_all.sh
--quick run, a Ray cluster and its grid runs, a GAN trained without interruption, the committed
results' pages and a Chromium) is built once: under ``--dist load`` or ``worksteal``, every
worker that drew one of a file's tests built it again (the Ray cluster and its three grid runs,
about 100 s, twice). ``--dist loadgroup`` would group finer, but pytest-xdist 3.8 cannot tag a
test's group under pytest 9 (it sets ``item._nodeid``, which pytest 9 no longer reads).

The files are handed out longest first (``LONGEST_FIRST``, from ``--durations``), so that the
longest chains start at once and the short files fill in around them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from threads import torch_threads

from genlab.course.processes import threads_env

LONGEST_FIRST = (
    "test_run_all.py",  # ./run_all.sh --quick over every grid point, then again, and Chromium
    "test_ray.py",  # a two-node Ray cluster and three grid runs on it
    "test_run_integrity.py",  # kill -9 and Ctrl-C inside and between epochs, in fresh processes
    "test_provenance.py",  # restamp: two epochs under two codes, twice
    "test_reference.py",  # a full Fashion-MNIST GAN epoch with another seed
    "test_faults.py",  # a three-node Ray cluster, two ./run_all.sh at once, full devices
    "test_vae.py",
    "test_packaging.py",  # pip install . into a fresh virtual environment (uv: about 15 s)
    "test_compare.py",
    "test_committed_results.py",
    "test_gan.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """torch on one thread in this process, for the rest of the test file (a file names it in
    ``pytestmark``, so that its module fixtures train on one thread too): tiny models gain
    nothing from a second thread, and lose a lot on a machine whose other core runs the other
    worker."""
    with torch_threads(1):
        yield


@pytest.fixture
def one_thread_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same for the processes the test starts (papermill's kernels, the command line)."""
    for name, value in threads_env(1).items():
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="module")
def one_thread_processes() -> Iterator[None]:
    """The same for every process the test file starts, its module fixtures' included: two
    workers whose processes each ran two threads on this 2-core CPU spun in each other's way
    (test_reference.py beside a busy core: 125 s wall and 150 s of CPU on two threads, 52 s and
    52 s on one)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in threads_env(1).items():
            patch.setenv(name, value)
        yield
