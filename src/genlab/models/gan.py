"""The course's GAN (Goodfellow et al., 2014) as multilayer perceptrons, and its conditional form.

Generator: noise of size 100 -> 128 -> 256 -> 512 -> 1024 -> 784, LeakyReLU(0.2), batch norm
on the hidden layers after the first, tanh output (images in [-1, 1]). Discriminator:
784 -> 512 -> 256 -> 1 logit, LeakyReLU(0.2), optionally Dropout after each hidden layer (as in
the conditional GAN of the PyTorch-GAN collection). With ``num_classes`` both networks also
take the class label: an embedding of it is concatenated with the noise (generator) and with
the flattened image (discriminator), as in the conditional GAN of Mirza & Osindero (2014).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

IMAGE_SIZE = 28 * 28
GENERATOR_WIDTHS = (128, 256, 512, 1024)
DISCRIMINATOR_WIDTHS = (512, 256)
SLOPE = 0.2


class _Conditioning(nn.Module):
    """Concatenates an embedding of the class label to the input, when the model has classes."""

    def __init__(self, num_classes: int, embed_dim: int):
        super().__init__()
        self.num_classes, self.embed_dim = num_classes, embed_dim
        self.embedding = nn.Embedding(num_classes, embed_dim) if num_classes else None

    @property
    def width(self) -> int:
        return self.embed_dim if self.num_classes else 0

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        if self.embedding is None:
            if labels is not None:
                raise ValueError("labels given to an unconditional model")
            return x
        if labels is None:
            raise ValueError("a conditional model needs the class labels")
        return torch.cat([x, self.embedding(labels)], dim=1)


class Generator(nn.Module):
    """Noise ``z`` (N, latent_dim) [and labels (N,)] -> images (N, 1, 28, 28) in [-1, 1]."""

    def __init__(self, latent_dim: int = 100, num_classes: int = 0, embed_dim: int = 10):
        super().__init__()
        self.latent_dim = latent_dim
        self.condition = _Conditioning(num_classes, embed_dim)
        layers: list[nn.Module] = []
        width = latent_dim + self.condition.width
        for i, out in enumerate(GENERATOR_WIDTHS):
            layers.append(nn.Linear(width, out))
            if i > 0:
                layers.append(nn.BatchNorm1d(out))
            layers.append(nn.LeakyReLU(SLOPE, inplace=True))
            width = out
        layers += [nn.Linear(width, IMAGE_SIZE), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    @property
    def num_classes(self) -> int:
        return self.condition.num_classes

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(self.condition(z, labels)).view(-1, 1, 28, 28)


class Discriminator(nn.Module):
    """Images (N, ...) with 784 pixels in [-1, 1] [and labels (N,)] -> one logit each (N,).

    A conditional discriminator takes the label in one of two ways: ``"concat"`` appends an
    embedding of it to the pixels (Mirza & Osindero, 2014); ``"projection"`` adds to the
    logit the inner product of a learnt class vector with the last hidden layer,
    D(x, y) = w . h(x) + e(y) . h(x) (Miyato & Koyama, 2018), so the label cannot be ignored.
    """

    def __init__(
        self,
        num_classes: int = 0,
        embed_dim: int = 10,
        dropout: float = 0.0,
        label_input: str = "concat",
    ):
        super().__init__()
        if label_input not in ("concat", "projection"):
            raise ValueError(f"label_input={label_input!r}; accepted: concat, projection")
        concat = num_classes if label_input == "concat" else 0
        self.condition = _Conditioning(concat, embed_dim)
        layers: list[nn.Module] = []
        width = IMAGE_SIZE + self.condition.width
        for out in DISCRIMINATOR_WIDTHS:
            layers += [nn.Linear(width, out), nn.LeakyReLU(SLOPE, inplace=True)]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = out
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)
        projection = num_classes and label_input == "projection"
        self.projection = nn.Embedding(num_classes, width) if projection else None
        self._num_classes = num_classes

    @property
    def num_classes(self) -> int:
        return self._num_classes

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        x = x.reshape(len(x), IMAGE_SIZE)
        if self.projection is None:
            return self.net(self.condition(x, labels)).squeeze(1)
        if labels is None:
            raise ValueError("a conditional model needs the class labels")
        h = self.net[:-1](x)
        return self.net[-1](h).squeeze(1) + (self.projection(labels) * h).sum(1)


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss: -log D(G(z)), the mean BCE of fakes against 'real'."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def discriminator_loss(
    real_logits: torch.Tensor, fake_logits: torch.Tensor, real_target: float = 1.0
) -> torch.Tensor:
    """(BCE(D(x), 1) + BCE(D(G(z)), 0)) / 2: real images labelled 1, generated ones 0.

    ``real_target`` < 1 is one-sided label smoothing (Salimans et al., 2016): real images are
    labelled, say, 0.9, so the discriminator is never rewarded for total certainty.
    """
    targets = torch.full_like(real_logits, real_target)
    real = F.binary_cross_entropy_with_logits(real_logits, targets)
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return (real + fake) / 2
