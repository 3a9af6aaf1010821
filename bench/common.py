"""What the benchmarks share: the machine's matmul throughput, and the side-by-side printout."""

from __future__ import annotations

import time

import torch


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


def report(title: str, images: int, macs_per_image: int, peak: float,
           times: dict[str, list[float]]) -> None:  # fmt: skip
    """Seconds per epoch of each way (best of its runs), the ratio, the matmul fraction."""
    flops = 2 * macs_per_image * images
    print(f"{title}, {torch.get_num_threads()} threads, torch {torch.__version__}")
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
    print(f"ratio: ours is {best['conventional'] / best['ours']:.2f}x faster")
