"""Whether a run fits in this machine's memory, estimated before anything is written.

Sizes such as ``hidden_dim=1000000000`` pass every per-field check and would fail only when
the networks are allocated, after the run folder was made. ``check_fits`` refuses them first,
with the number of bytes the run would need and the parameter that asks for most of it.

The estimate counts the networks' weights exactly: they are built on PyTorch's ``meta``
device, which records shapes and allocates nothing. Everything else is an upper-end estimate
in float32 (4 bytes):

- weights, their gradients and Adam's two moments: 16 bytes per weight (GANs with
  ``ema_decay`` keep a fourth copy of the generator);
- the training images (and for the VAE the test images) as float32 pixels;
- activations: 3 values (output, gradient, a saved input) per unit of every layer, per image
  of a batch;
- the final evaluation and the per-epoch quality: its samples and as many real images, with
  their features in float64 (``FEATURES`` bounds the classifier's width); samples are made
  and embedded a chunk at a time, so no network's activations grow with their number.

It is compared with the machine's physical memory, not with what is free at this moment,
so that a busy machine does not refuse a run that fits.
"""

from __future__ import annotations

import os

import torch
from torch import nn

from genlab.config import Config, ConfigError

FLOAT = 4  # bytes per float32 value
PIXELS = 28 * 28
FEATURES = 512  # at least the classifier's feature width (genlab.evaluate.classifier: 128)


def physical_memory() -> int:
    """Bytes of physical memory of this machine."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def estimate(config: Config) -> dict[str, tuple[int, str]]:
    """Bytes a run of ``config`` needs, by part: ``{part: (bytes, the parameter behind it)}``."""
    from genlab.models.build import build_models

    with torch.device("meta"):
        networks = build_models(config)
    weights = sum(p.numel() for net in networks.values() for p in net.parameters())
    copies = 4 + (
        sum(p.numel() for p in networks["generator"].parameters()) / max(weights, 1)
        if getattr(config, "ema_decay", 0)
        else 0
    )
    units = sum(
        m.out_features if isinstance(m, nn.Linear) else m.embedding_dim
        for net in networks.values()
        for m in net.modules()
        if isinstance(m, nn.Linear | nn.Embedding)
    )
    sizes = [n for n in ("hidden_dim", "latent_dim", "embed_dim") if hasattr(config, n)]
    widest = max(sizes, key=lambda n: getattr(config, n))  # the size that drives the weights
    images = config.train_images()
    if config.model == "vae":
        from genlab.data import get_spec

        test = get_spec(config.dataset).test_size
        images += min(config.test_limit, test) if config.test_limit else test
    counts = [n for n in ("eval_samples", "quality_samples") if hasattr(config, n)]
    most = max(counts, key=lambda n: getattr(config, n))
    samples = getattr(config, most)
    batch = min(config.batch_size, config.train_images())  # a larger batch is the whole set
    return {
        "weights, gradients and Adam's moments": (int(weights * copies * FLOAT), widest),
        "training and test images": (images * PIXELS * FLOAT, "train_limit"),
        "activations of a batch": (3 * batch * (units + PIXELS) * FLOAT, "batch_size"),
        "samples and real images for the quality measures": (
            samples * 2 * (PIXELS * FLOAT + FEATURES * 8),
            most,
        ),
    }


def check_fits(config: Config, memory: int | None = None) -> None:
    """Raise ``ConfigError`` when a run of ``config`` cannot fit in ``memory`` bytes (default:
    this machine's physical memory), naming the bytes needed and the largest part."""
    memory = physical_memory() if memory is None else memory
    parts = estimate(config)
    needed = sum(size for size, _ in parts.values())
    if needed <= memory:
        return
    part, (size, name) = max(parts.items(), key=lambda item: item[1][0])
    raise ConfigError(
        f"{config.model} parameters need about {gib(needed)} of memory, and this machine has "
        f"{gib(memory)}: {part} alone take {gib(size)} ({name}={getattr(config, name)}); "
        f"make {name} smaller"
    )


def gib(size: float) -> str:
    return f"{size / 2**30:,.1f} GiB"
