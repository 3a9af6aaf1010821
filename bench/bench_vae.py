"""One epoch of the course's VAE on MNIST (batch size 128) two ways, in one process, on the CPU.

- ours: ``genlab.train.vae.VAETrainer.train_epoch``: the data set as one float tensor,
  batches gathered from a seeded permutation, BCE computed from logits, the loss and its
  gradient written out by hand (``genlab.train.vae_step``: no autograd graph), and Adam's
  fused kernel called directly (``genlab.train.optim.LeanAdam``);
- conventional: the classic PyTorch example (``examples/vae/main.py``): torchvision's
  dataset with ``ToTensor``, a ``DataLoader``, ``sigmoid`` + ``binary_cross_entropy``, and the
  loss read back (``.item()``) every batch.

Both train the same network with the same batch size and threads. The printout gives seconds
per epoch of each, the ratio, and the fraction of this machine's float32 matmul throughput
(measured here on a large square product) each achieves, counting the multiply-adds of the
linear layers: forward, weight gradients, and input gradients of every layer but the first.

    .venv/bin/python bench/bench_vae.py               # the full 60,000 images
    .venv/bin/python bench/bench_vae.py --limit 12800 # quick

``bench/vae_breakdown.py`` splits our epoch into its matrix products, its Adam updates and
the rest.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from common import compare

from genlab.config import VAEConfig
from genlab.data import data_root, fetch
from genlab.models.vae import VAE
from genlab.train.loop import Progress
from genlab.train.vae import VAETrainer

BATCH_SIZE = 128


def macs_per_image(model: VAE) -> int:
    layers = [model.fc1, model.fc21, model.fc22, model.fc3, model.fc4]
    forward = sum(layer.in_features * layer.out_features for layer in layers)
    first = model.fc1.in_features * model.fc1.out_features  # no input gradient for the data
    return forward + forward + (forward - first)


def ours(limit: int, seed: int) -> float:
    config = VAEConfig(batch_size=BATCH_SIZE, epochs=1, train_limit=limit, test_limit=100,
                       seed=seed, device="cpu")  # fmt: skip
    trainer = VAETrainer(config, torch.device("cpu"))
    bar = Progress(trainer.batches_per_epoch, 0, config.log_interval, False, "ours")
    t = time.perf_counter()
    trainer.train_epoch(1, bar)
    return time.perf_counter() - t


def conventional(limit: int, seed: int) -> float:
    """The training epoch of the classic example, as written there."""
    from torch.utils.data import DataLoader, Subset
    from torchvision import datasets, transforms

    torch.manual_seed(seed)
    fetch("mnist")
    dataset = datasets.MNIST(str(data_root()), train=True, download=False,
                             transform=transforms.ToTensor())  # fmt: skip
    if limit:
        dataset = Subset(dataset, range(limit))
    train_loader = DataLoader(dataset, batch_size=BATCH_SIZE, shuffle=True)
    model = VAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def loss_function(recon_x, x, mu, logvar):
        bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
        kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return bce + kld

    model.train()
    train_loss = 0.0
    t = time.perf_counter()
    for data, _ in train_loader:
        optimizer.zero_grad()
        logits, mu, logvar = model(data)
        loss = loss_function(torch.sigmoid(logits), data, mu, logvar)
        loss.backward()
        train_loss += loss.item()
        optimizer.step()
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> None:
    compare(f"VAE on MNIST, batch size {BATCH_SIZE}", __doc__.split("\n\n")[0], ours,
            conventional, macs_per_image(VAE()), argv)  # fmt: skip


if __name__ == "__main__":
    main()
