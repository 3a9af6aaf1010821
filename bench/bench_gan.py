"""One epoch of the GAN (batch size 64) two ways, in one process, on the CPU.

- ours: ``genlab.train.gan.GANTrainer.train_epoch``: the data as one tensor in [-1, 1],
  shuffled index batches, BCE from logits, one discriminator pass over the real and the
  generated batch shared by the generator's and the discriminator's update, forward and
  backward passes written out layer by layer (``genlab.train.backprop.MLPPass``: no
  autograd graph), Adam's fused kernel called directly (``genlab.train.optim.LeanAdam``),
  and no host sync per batch;
- conventional: the loop of the common tutorials (e.g. PyTorch-GAN's ``gan.py``):
  torchvision's dataset with ``ToTensor`` + ``Normalize``, a ``DataLoader``, a discriminator
  ending in a sigmoid with ``nn.BCELoss``, separate passes over real and generated images,
  default Adam, and the losses read back (``.item()``) every batch for the log.

Both use the same networks, the same batch size and the same number of threads. The printout
gives seconds per epoch of each, the ratio, and the fraction of this machine's float32 matmul
throughput (measured here on a large square product) that each achieves, counting the
multiply-adds of the linear layers, forward and backward, of the algorithm both implement:
generator forward + weight and input gradients; discriminator forward on the generated
batch and its input gradient (generator step); forward on real and generated images and
their weight gradients (discriminator step).

    .venv/bin/python bench/bench_gan.py              # the full 60,000 images
    .venv/bin/python bench/bench_gan.py --limit 6400 # quick

On a machine whose cores other processes share, OpenMP's spinning threads can make every
parallel region hundreds of times slower (seen here with 2 threads on 2 shared cores); use
``--threads 1`` or ``OMP_WAIT_POLICY=PASSIVE`` there. The load average is printed with the
results.
"""

from __future__ import annotations

import time

import torch
from common import compare
from torch import nn

from genlab.config import GANConfig
from genlab.data import data_root, fetch
from genlab.models.gan import IMAGE_SIZE, Discriminator, Generator, macs_per_image
from genlab.train.gan import GANTrainer
from genlab.train.loop import Progress

BATCH_SIZE = 64
LATENT = 100


def macs_per_real_image() -> int:
    m = macs_per_image(LATENT)
    g, d = m["generator"], m["discriminator"]
    first = LATENT * 128  # the generator's first layer needs no input gradient
    return (3 * g - first) + (d + d) + (2 * d + 2 * d)


def ours(limit: int, seed: int) -> float:
    config = GANConfig(batch_size=BATCH_SIZE, epochs=1, train_limit=limit, seed=seed,
                       device="cpu")  # fmt: skip
    trainer = GANTrainer(config, torch.device("cpu"))
    bar = Progress(trainer.batches_per_epoch, 0, config.log_interval, False, "ours")
    t = time.perf_counter()
    trainer.train_epoch(1, bar)
    return time.perf_counter() - t


def conventional(limit: int, seed: int) -> float:
    from torch.utils.data import DataLoader, Subset
    from torchvision import datasets, transforms

    torch.manual_seed(seed)
    fetch("fashion-mnist")
    dataset = datasets.FashionMNIST(
        str(data_root()),
        train=True,
        download=False,
        transform=transforms.Compose([transforms.ToTensor(), transforms.Normalize([0.5], [0.5])]),
    )
    if limit:
        dataset = Subset(dataset, range(limit))
    loader = DataLoader(dataset, batch_size=BATCH_SIZE, shuffle=True)
    generator = Generator(LATENT)
    discriminator = nn.Sequential(Discriminator(), nn.Sigmoid())
    adversarial_loss = nn.BCELoss()
    optimizer_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optimizer_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    log = []
    t = time.perf_counter()
    for imgs, _ in loader:
        valid = torch.ones(imgs.size(0))
        fake = torch.zeros(imgs.size(0))
        real_imgs = imgs.view(imgs.size(0), IMAGE_SIZE)

        optimizer_g.zero_grad()
        z = torch.randn(imgs.size(0), LATENT)
        gen_imgs = generator(z)
        g_loss = adversarial_loss(discriminator(gen_imgs), valid)
        g_loss.backward()
        optimizer_g.step()

        optimizer_d.zero_grad()
        real_loss = adversarial_loss(discriminator(real_imgs), valid)
        fake_loss = adversarial_loss(discriminator(gen_imgs.detach()), fake)
        d_loss = (real_loss + fake_loss) / 2
        d_loss.backward()
        optimizer_d.step()
        log.append((d_loss.item(), g_loss.item()))
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> None:
    compare(f"GAN on Fashion-MNIST, batch size {BATCH_SIZE}", __doc__.split("\n\n")[0], ours,
            conventional, macs_per_real_image(), argv)  # fmt: skip


if __name__ == "__main__":
    main()
