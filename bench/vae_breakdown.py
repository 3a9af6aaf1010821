"""Where an epoch of our VAE training goes: its matrix products alone, its Adam updates alone,
and the whole step, timed side by side in one run with the conventional epoch of
``bench_vae.py`` (batch size 128, CPU).

The matrix products are the ten of ``genlab.train.vae_step.VAEStep`` (forward, weight and
input gradients), with the same shapes and operands, on the same shuffled batches. Products
plus Adam is a floor for any loop that runs them as separate float32 products and updates
with Adam: the elementwise work can only add to it. So the printout's last line bounds what
such a loop can reach, both as a ratio to the conventional epoch and as a share of this
machine's float32 matmul throughput.

    .venv/bin/python bench/vae_breakdown.py
"""

from __future__ import annotations

import argparse
import time

import torch
from bench_vae import conventional
from common import matmul_gflops

from genlab.data import load
from genlab.models.vae import VAE
from genlab.train.optim import LeanAdam
from genlab.train.vae_step import VAEStep

BATCH_SIZE = 128


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="alternate this many times; best")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    train_x = load("mnist", "train").pixels().flatten(1)
    model = VAE()
    step, adam = VAEStep(model), LeanAdam(model.parameters(), lr=1e-3, betas=(0.9, 0.999))
    batches = torch.randperm(len(train_x)).split(BATCH_SIZE)[:-1]  # full batches only
    m, w_heads = model, torch.cat([model.fc21.weight, model.fc22.weight])
    b_heads = torch.cat([model.fc21.bias, model.fc22.bias])
    step(train_x[:BATCH_SIZE])
    adam.step()

    def products(x: torch.Tensor) -> None:
        torch.addmm(m.fc1.bias, x, m.fc1.weight.t(), out=step.h1)
        torch.addmm(b_heads, step.h1, w_heads.t(), out=step.heads)
        torch.addmm(m.fc3.bias, step.z, m.fc3.weight.t(), out=step.h3)
        torch.addmm(m.fc4.bias, step.h3, m.fc4.weight.t(), out=step.logits)
        torch.mm(step.d_logits.t(), step.h3, out=m.fc4.weight.grad)
        torch.mm(step.d_logits, m.fc4.weight, out=step.d_h3)
        torch.mm(step.d_h3.t(), step.z, out=m.fc3.weight.grad)
        torch.mm(step.d_heads.t(), step.h1, out=step._g_heads)
        torch.mm(step.d_heads, w_heads, out=step.d_h1)
        torch.mm(step.d_h1.t(), x, out=m.fc1.weight.grad)

    ways = {
        "matrix products only": lambda x: products(x),
        "Adam updates only": lambda x: adam.step(),
        "whole step (ours)": lambda x: (step(x), adam.step()),
    }
    times: dict[str, list[float]] = {name: [] for name in ways}
    times["conventional"] = []
    for _ in range(args.repeats):
        for name, run in ways.items():
            with torch.no_grad():
                t = time.perf_counter()
                for idx in batches:
                    run(train_x.index_select(0, idx))
                times[name].append(time.perf_counter() - t)
        times["conventional"].append(conventional(0, 1))
    peak = matmul_gflops()
    dims = [(784, 400), (400, 40), (20, 400), (400, 784)]
    macs = 3 * sum(a * b for a, b in dims) - 784 * 400  # no input gradient for the data
    flops = 2 * macs * BATCH_SIZE * len(batches)
    print(f"VAE, batch size {BATCH_SIZE}, {len(batches)} batches, {torch.get_num_threads()} "
          f"threads; float32 matmul throughput here (2048^3): {peak:.1f} GFLOP/s")  # fmt: skip
    whole = min(times["whole step (ours)"])
    for name, ts in times.items():
        best = min(ts)
        share = f"{flops / best / 1e9 / peak:6.1%} of matmul" if name != "Adam updates only" else ""
        share = share if name != "conventional" else "(all 60,000 images)"
        print(f"{name:>22}: {best:6.2f} s/epoch = {best / whole:6.1%} of the whole step  "
              f"{share}")  # fmt: skip
    floor = min(times["matrix products only"]) + min(times["Adam updates only"])
    print(f"floor, products + Adam: {floor:.2f} s/epoch: at best "
          f"{min(times['conventional']) / floor:.2f}x the conventional epoch and "
          f"{flops / floor / 1e9 / peak:.1%} of matmul")  # fmt: skip


if __name__ == "__main__":
    main()
