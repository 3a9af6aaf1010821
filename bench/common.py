"""What the benchmarks share: arguments, the compute floor, the side-by-side run and its table.

Each benchmark names some ways of training one epoch ("ours", "conventional", ...). They are
run alternately, ``--repeats`` times, each for ``--epochs`` epochs from scratch; the table
gives each way's first epoch (capture and warm-up included) and its best later epoch, the
ratios of the later epochs against the first way, and the share of the compute floor.

The compute floor is the time the linear layers' matrix products alone take, at their own
shapes, on this device: each product of the algorithm (forward, weight gradient, input
gradient) timed in isolation, times how often an epoch needs it. A way at 100% would do
nothing but those products.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

# (limit, seed, device) -> seconds of each of ``epochs`` consecutive training epochs
Epochs = Callable[[int, int, torch.device, int], list[float]]


@dataclass
class Products:
    """How often one batch needs each kind of product of one ``nn.Linear`` (in -> out)."""

    in_features: int
    out_features: int
    rows: int  # the batch's rows through the layer
    forward: int = 1
    weight_grad: int = 1
    input_grad: int = 1


def linear_layers(module: nn.Module) -> list[tuple[int, int]]:
    """(in_features, out_features) of every ``nn.Linear`` of ``module``, in order."""
    return [(m.in_features, m.out_features) for m in module.modules() if isinstance(m, nn.Linear)]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def product_seconds(
    rows: int, n_in: int, n_out: int, device: torch.device, repeats: int = 200
) -> tuple[float, float, float]:
    """Seconds of the forward, weight-gradient and input-gradient products of one layer.

    Each product runs ``repeats`` times back to back with one sync at the end, the best of
    three such rounds divided by ``repeats``: its throughput cost inside a stream of work
    (on a GPU, timing a lone product would measure the launch and the sync instead).
    """
    x, w = torch.randn(rows, n_in, device=device), torch.randn(n_out, n_in, device=device)
    g = torch.randn(rows, n_out, device=device)
    kinds = (lambda: x @ w.t(), lambda: g.t() @ x, lambda: g @ w)
    best = []
    for product in kinds:
        product()
        sync(device)
        rounds = []
        for _ in range(3):
            t = time.perf_counter()
            for _ in range(repeats):
                product()
            sync(device)
            rounds.append((time.perf_counter() - t) / repeats)
        best.append(min(rounds))
    return best[0], best[1], best[2]


def floor_seconds(batch: Sequence[Products], batches: int, device: torch.device) -> float:
    """Seconds per epoch of the matrix products alone, ``batches`` batches of ``batch``."""
    total = 0.0
    for p in batch:
        fwd, wgrad, igrad = product_seconds(p.rows, p.in_features, p.out_features, device)
        total += p.forward * fwd + p.weight_grad * wgrad + p.input_grad * igrad
    return total * batches


def ours(trainer_class: type, config_class: type, **fields: Any) -> Epochs:
    """The package's own trainer, ``config_class(**fields)`` with the benchmark's epochs,
    image limit, seed and device."""

    def epochs(limit: int, seed: int, device: torch.device, n: int) -> list[float]:
        config = config_class(epochs=n, train_limit=limit, seed=seed, device=device.type, **fields)
        return epoch_seconds(trainer_class(config, device), n, device)

    return epochs


def torchvision_loader(dataset: str, transform: Any, limit: int, batch_size: int) -> Any:
    """The conventional input pipeline: torchvision's data set (the verified local files) with
    ``transform``, its first ``limit`` images (0: all), a shuffling ``DataLoader``."""
    from torch.utils.data import DataLoader, Subset
    from torchvision import datasets

    from genlab.data import data_root, fetch

    fetch(dataset)
    name = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}[dataset]
    images = getattr(datasets, name)(
        str(data_root()), train=True, download=False, transform=transform
    )
    if limit:
        images = Subset(images, range(limit))
    return DataLoader(images, batch_size=batch_size, shuffle=True)


def epoch_seconds(trainer: Any, epochs: int, device: torch.device) -> list[float]:
    """Seconds of each of ``epochs`` training epochs of a genlab trainer (no progress bar)."""
    from genlab.train.progress import Progress

    seconds = []
    for epoch in range(1, epochs + 1):
        bar = Progress(trainer.batches_per_epoch, 0, trainer.config.log_interval, False, "bench")
        sync(device)
        t = time.perf_counter()
        trainer.train_epoch(epoch, bar)  # ends by reading the losses: a host sync
        seconds.append(time.perf_counter() - t)
    return seconds


def parse(doc: str, argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--limit", type=int, default=0, help="train on the first N images (0: all)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per try (the first warms)")
    parser.add_argument("--repeats", type=int, default=2, help="alternate this many times")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    return args


def compare(
    title: str, ways: dict[str, Epochs], products: Sequence[Products], args: argparse.Namespace
) -> dict[str, float]:
    """Run ``ways`` alternately and print the table, with the share of the compute floor of
    ``products`` per batch; returns each way's best later epoch."""
    device = torch.device(args.device)
    images = args.limit or 60_000
    floor = floor_seconds(products, -(-images // products[0].rows), device)
    first: dict[str, list[float]] = {name: [] for name in ways}
    later: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.repeats):
        for name, way in ways.items():
            seconds = way(args.limit, args.seed, device, args.epochs)
            first[name].append(seconds[0])
            later[name].extend(seconds[1:] or seconds[:1])
    where = (
        torch.cuda.get_device_name()
        if device.type == "cuda"
        else f"CPU, {torch.get_num_threads()} threads"
    )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"{title}: one epoch of {images} images on {where}, torch {torch.__version__}, "
        f"load average {load}"
    )
    print(f"compute floor (the linear layers' products at their own shapes): {floor:.3f} s/epoch")
    best = {name: min(ts) for name, ts in later.items()}
    reference = next(iter(ways))
    print(
        f"| way | first epoch (s) | later epoch, best (s) | {reference} is faster by | "
        "share of the floor |"
    )
    print("| --- | --- | --- | --- | --- |")
    for name in ways:
        ratio = best[name] / best[reference]
        print(
            f"| {name} | {min(first[name]):.3f} | {best[name]:.3f} | {ratio:.2f}x | "
            f"{floor / best[name]:.1%} |"
        )
    return best
