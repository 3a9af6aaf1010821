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
from common import Products, compare, linear_layers, ours, parse, torchvision_loader

from genlab.config import VAEConfig
from genlab.models.vae import VAE
from genlab.train.vae import VAETrainer

BATCH_SIZE = 128


def conventional(limit: int, seed: int, device: torch.device, n: int) -> list[float]:
    """The training epochs of the classic example, as written there."""
    from torchvision import transforms

    torch.manual_seed(seed)
    train_loader = torchvision_loader("mnist", transforms.ToTensor(), limit, BATCH_SIZE)
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
    layers = linear_layers(VAE())
    batch = [Products(i, o, BATCH_SIZE, input_grad=int(k > 0)) for k, (i, o) in enumerate(layers)]
    ways = {"ours": ours(VAETrainer, VAEConfig, batch_size=BATCH_SIZE, test_limit=100)}
    if torch.device(args.device).type == "cuda":
        ways["ours, no CUDA graph"] = ours(
            VAETrainer, VAEConfig, batch_size=BATCH_SIZE, test_limit=100, cuda_graph="off"
        )
    ways["conventional"] = conventional
    compare(f"VAE on MNIST, batch size {BATCH_SIZE}", ways, batch, args)


if __name__ == "__main__":
    main()
