"""One epoch of the course's VAE on MNIST (batch size 128), several ways side by side.

- ours: ``genlab.train.vae.VAETrainer``: the textbook autograd step on the data set held as
  one tensor on the device, batches gathered from a seeded permutation, BCE from logits,
  fused Adam, losses kept on the device and, on CUDA, the step replayed as a CUDA graph;
- ours, no CUDA graph (on CUDA only): the same with ``cuda_graph="off"``;
- conventional: the classic PyTorch example (``examples/vae/main.py``): torchvision's
  dataset with ``ToTensor``, a ``DataLoader``, ``sigmoid`` + ``binary_cross_entropy``, default
  Adam, and the loss read back (``.item()``) every batch.

All train the same network with the same batch size and threads. The compute floor counts
the linear layers' products: forward, weight gradients, and input gradients of every layer
but the first.

    .venv/bin/python bench/bench_vae.py                  # the CPU, the full 60,000 images
    .venv/bin/python bench/bench_vae.py --limit 12800    # quick
    python bench/bench_vae.py --device cuda --repeats 3  # on a GPU
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from common import Products, compare, epoch_seconds, floor_seconds, linear_layers, parse

from genlab.config import VAEConfig
from genlab.data import data_root, fetch
from genlab.models.vae import VAE
from genlab.train.vae import VAETrainer

BATCH_SIZE = 128


def ours(cuda_graph: str):
    def epochs(limit: int, seed: int, device: torch.device, n: int) -> list[float]:
        config = VAEConfig(batch_size=BATCH_SIZE, epochs=n, train_limit=limit, test_limit=100,
                           seed=seed, device=device.type, cuda_graph=cuda_graph)  # fmt: skip
        trainer = VAETrainer(config, device)
        return epoch_seconds(trainer, n, device)

    return epochs


def conventional(limit: int, seed: int, device: torch.device, n: int) -> list[float]:
    """The training epochs of the classic example, as written there."""
    from torch.utils.data import DataLoader, Subset
    from torchvision import datasets, transforms

    torch.manual_seed(seed)
    fetch("mnist")
    dataset = datasets.MNIST(str(data_root()), train=True, download=False,
                             transform=transforms.ToTensor())  # fmt: skip
    if limit:
        dataset = Subset(dataset, range(limit))
    train_loader = DataLoader(dataset, batch_size=BATCH_SIZE, shuffle=True)
    model = VAE().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def loss_function(recon_x, x, mu, logvar):
        bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
        kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return bce + kld

    model.train()
    seconds = []
    for _ in range(n):
        train_loss = 0.0
        t = time.perf_counter()
        for data, _ in train_loader:
            data = data.to(device)
            optimizer.zero_grad()
            logits, mu, logvar = model(data)
            loss = loss_function(torch.sigmoid(logits), data, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
        seconds.append(time.perf_counter() - t)
    return seconds


def main(argv: list[str] | None = None) -> None:
    args = parse(__doc__.split("\n\n")[0], argv)
    device = torch.device(args.device)
    images = args.limit or 60_000
    layers = linear_layers(VAE())
    batch = [Products(i, o, BATCH_SIZE, input_grad=int(k > 0)) for k, (i, o) in enumerate(layers)]
    floor = floor_seconds(batch, -(-images // BATCH_SIZE), device)
    ways = {"ours": ours("auto")}
    if device.type == "cuda":
        ways["ours, no CUDA graph"] = ours("off")
    ways["conventional"] = conventional
    compare(f"VAE on MNIST, batch size {BATCH_SIZE}", ways, floor, args, images)


if __name__ == "__main__":
    main()
