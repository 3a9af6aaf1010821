"""One epoch of the GAN (batch size 64) on Fashion-MNIST, several ways side by side.

- ours: ``genlab.train.gan.GANTrainer``: the textbook autograd step (the discriminator on
  the real and the detached generated batch, then the generator) on the data as one tensor
  in [-1, 1], shuffled index batches, BCE from logits, fused Adam, losses kept on the device
  and, on CUDA, the whole step replayed as a CUDA graph;
- ours, no CUDA graph, and the cGAN (on CUDA only): ``cuda_graph="off"``; the conditional
  GAN with the graph;
- conventional: the loop of the common tutorials (e.g. PyTorch-GAN's ``gan.py``):
  torchvision's dataset with ``ToTensor`` + ``Normalize``, a ``DataLoader``, a discriminator
  ending in a sigmoid with ``nn.BCELoss``, default Adam, and the losses read back
  (``.item()``) every batch for the log.

All use the same networks, the same batch size and the same number of threads. The compute
floor counts the products the algorithm needs per batch: the generator's forward, weight and
input gradients (none into the noise); the discriminator's forward on the real and the
generated batch and their weight gradients (its update), then its forward on the generated
batch and the input gradient back to the generator (the generator's update).

    .venv/bin/python bench/bench_gan.py              # the CPU, the full 60,000 images
    .venv/bin/python bench/bench_gan.py --limit 6400 # quick
    python bench/bench_gan.py --device cuda          # on a GPU

On a machine whose cores other processes share, OpenMP's spinning threads can make every
parallel region hundreds of times slower (seen here with 2 threads on 2 shared cores); use
``--threads 1`` or ``OMP_WAIT_POLICY=PASSIVE`` there. The load average is printed with the
results.
"""

from __future__ import annotations

import time

import torch
from common import Products, compare, linear_layers, ours, parse, torchvision_loader
from torch import nn

from genlab.config import GANConfig
from genlab.models.gan import IMAGE_SIZE, Discriminator, Generator
from genlab.train.gan import GANTrainer

BATCH_SIZE = 64
LATENT = 100


def products_per_batch() -> list[Products]:
    g = [
        Products(i, o, BATCH_SIZE, input_grad=int(k > 0))
        for k, (i, o) in enumerate(linear_layers(Generator(LATENT)))
    ]
    # the discriminator: forward on real, generated, and generated again after its update;
    # weight gradients of the first two; input gradients of the third, back to the generator
    d = [
        Products(i, o, BATCH_SIZE, forward=3, weight_grad=2)
        for i, o in linear_layers(Discriminator())
    ]
    return g + d


def conventional(limit: int, seed: int, device: torch.device, n: int) -> list[float]:
    from torchvision import transforms

    torch.manual_seed(seed)
    to_tanh_range = transforms.Compose([transforms.ToTensor(), transforms.Normalize([0.5], [0.5])])
    loader = torchvision_loader("fashion-mnist", to_tanh_range, limit, BATCH_SIZE)
    generator = Generator(LATENT).to(device)
    discriminator = nn.Sequential(Discriminator(), nn.Sigmoid()).to(device)
    adversarial_loss = nn.BCELoss()
    optimizer_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optimizer_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    seconds, log = [], []
    for _ in range(n):
        t = time.perf_counter()
        for imgs, _ in loader:
            valid = torch.ones(imgs.size(0), device=device)
            fake = torch.zeros(imgs.size(0), device=device)
            real_imgs = imgs.view(imgs.size(0), IMAGE_SIZE).to(device)

            optimizer_g.zero_grad()
            z = torch.randn(imgs.size(0), LATENT, device=device)
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
        seconds.append(time.perf_counter() - t)
    return seconds


def main(argv: list[str] | None = None) -> None:
    args = parse(__doc__.split("\n\n")[0], argv)
    ways = {"ours": ours(GANTrainer, GANConfig, batch_size=BATCH_SIZE)}
    if torch.device(args.device).type == "cuda":
        ways["ours, no CUDA graph"] = ours(
            GANTrainer, GANConfig, batch_size=BATCH_SIZE, cuda_graph="off"
        )
        ways["ours, cGAN"] = ours(GANTrainer, GANConfig, batch_size=BATCH_SIZE, conditional=True)
    ways["conventional"] = conventional
    compare(f"GAN on Fashion-MNIST, batch size {BATCH_SIZE}", ways, products_per_batch(), args)


if __name__ == "__main__":
    main()
