"""Where the GAN's step spends its time on a GPU: the kernels one step launches, eagerly.

With the step replayed as a CUDA graph, launch costs are gone and a step takes about the sum
of its kernels' own durations. This prints that sum and the kernels behind it (from
``torch.profiler``, eager steps), beside the measured time of a replayed step, so a reader can
see whether the graph is bound by the kernels' count or by their arithmetic.

    python bench/profile_gan.py            # on a machine with CUDA
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.profiler import ProfilerActivity, profile

from genlab.config import GANConfig
from genlab.data import fetch
from genlab.train.gan import GANTrainer


def steps(trainer: GANTrainer, n: int) -> None:
    for index in torch.randint(
        len(trainer.train_x), (n, trainer.config.batch_size), device=trainer.device
    ):
        trainer.step(index)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--conditional", action="store_true")
    args = parser.parse_args(argv)
    device = torch.device("cuda")
    fetch("fashion-mnist")
    base = GANConfig(device="cuda", conditional=args.conditional, quality_samples=0)
    graphed = GANTrainer(base.replace(cuda_graph="on"), device)
    steps(graphed, 20)
    torch.cuda.synchronize()
    t = time.perf_counter()
    steps(graphed, 500)
    torch.cuda.synchronize()
    replay_us = (time.perf_counter() - t) / 500 * 1e6
    print(
        f"torch {torch.__version__} on {torch.cuda.get_device_name()}, "
        f"{'cGAN' if args.conditional else 'GAN'}, batch {base.batch_size}"
    )
    print(
        f"replayed CUDA-graph step: {replay_us:.0f} us "
        f"({replay_us * 938 / 1e6:.3f} s for the 938 steps of an epoch)"
    )
    eager = GANTrainer(base.replace(cuda_graph="off"), device)
    steps(eager, 20)
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        steps(eager, args.steps)
        torch.cuda.synchronize()
    rows = [r for r in prof.key_averages() if r.device_type == torch.autograd.DeviceType.CUDA]
    total_us = sum(r.self_device_time_total for r in rows) / args.steps
    count = sum(r.count for r in rows) / args.steps
    print(f"kernels per step (eager): {count:.0f}, their summed duration {total_us:.0f} us")
    print("the kernels with the most time per step: launches, us")
    for r in sorted(rows, key=lambda r: -r.self_device_time_total)[:15]:
        print(
            f"  {r.count / args.steps:4.0f} {r.self_device_time_total / args.steps:7.1f}  "
            f"{r.key[:90]}"
        )


if __name__ == "__main__":
    main()
