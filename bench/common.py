"""What the benchmarks share: arguments, the machine's matmul throughput, the side-by-side run."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import torch

Epoch = Callable[[int, int], float]  # (limit, seed) -> seconds of one training epoch


def matmul_gflops(n: int = 2048, seconds: float = 2.0) -> float:
    """Best float32 GFLOP/s of an n x n x n matmul over about ``seconds``."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best, t_end = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < t_end:
        t = time.perf_counter()
        a @ b
        best = max(best, 2 * n**3 / (time.perf_counter() - t) / 1e9)
    return best


def compare(title: str, doc: str, ours: Epoch, conventional: Epoch, macs_per_image: int,
            argv: list[str] | None = None) -> dict[str, float]:  # fmt: skip
    """Time one epoch each way (alternating, best of ``--repeats``) and print the comparison.

    The fraction of matmul throughput counts ``macs_per_image`` multiply-adds per image.
    """
    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--limit", type=int, default=0, help="train on the first N images (0: all)")
    parser.add_argument("--repeats", type=int, default=3, help="alternate this many times; best")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    images = args.limit or 60_000
    peak = matmul_gflops()
    times: dict[str, list[float]] = {"ours": [], "conventional": []}
    for _ in range(args.repeats):
        times["ours"].append(ours(args.limit, args.seed))
        times["conventional"].append(conventional(args.limit, args.seed))
    flops = 2 * macs_per_image * images
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{title}: one epoch of {images} images, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}, load average {load}")  # fmt: skip
    print(f"float32 matmul throughput here (2048^3): {peak:.1f} GFLOP/s")
    print(f"work counted: {flops / 1e9:.1f} GFLOP per epoch "
          f"({macs_per_image / 1e6:.2f} M multiply-adds per image)")  # fmt: skip
    best = {name: min(ts) for name, ts in times.items()}
    for name, seconds in best.items():
        achieved = flops / seconds / 1e9
        all_runs = ", ".join(f"{t:.2f}" for t in times[name])
        print(f"{name:>12}: {seconds:7.2f} s/epoch  {images / seconds:8.0f} images/s  "
              f"{achieved:6.1f} GFLOP/s = {achieved / peak:5.1%} of matmul  "
              f"(runs: {all_runs})")  # fmt: skip
    ratio = best["conventional"] / best["ours"]
    print(f"ratio: ours is {ratio:.2f}x faster")
    return {"ratio": ratio, "fraction": flops / best["ours"] / 1e9 / peak}
