"""The course's VAE (Kingma & Welling, 2014), as in the classic PyTorch example."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class VAE(nn.Module):
    """Encoder 784 -> 400 -> (mu, logvar) of size 20; decoder 20 -> 400 -> 784 logits."""

    def __init__(self, latent_dim: int = 20, hidden_dim: int = 400, image_size: int = 784):
        super().__init__()
        self.image_size = image_size
        self.latent_dim = latent_dim
        self.fc1 = nn.Linear(image_size, hidden_dim)
        self.fc21 = nn.Linear(hidden_dim, latent_dim)
        self.fc22 = nn.Linear(hidden_dim, latent_dim)
        self.fc3 = nn.Linear(latent_dim, hidden_dim)
        self.fc4 = nn.Linear(hidden_dim, image_size)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.fc4(F.relu(self.fc3(z)))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Pixel means in [0, 1] for latent codes ``z``."""
        return torch.sigmoid(self.decode_logits(z))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Reconstruction logits, mu and logvar for images ``x`` of any shape (N, ...)."""
        mu, logvar = self.encode(x.reshape(-1, self.image_size))
        z = self.reparameterize(mu, logvar)
        return self.decode_logits(z), mu, logvar


def vae_loss(
    logits: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor
) -> torch.Tensor:
    """Negative ELBO summed over the batch: BCE (from logits) over pixels plus the KL term.

    KL = -1/2 * sum(1 + log sigma^2 - mu^2 - sigma^2)  (Appendix B of the paper).
    """
    bce = F.binary_cross_entropy_with_logits(logits, x.reshape(logits.shape), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def per_image_loss(
    logits: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor
) -> torch.Tensor:
    """``vae_loss`` of each image, (N,): what the test loss per class averages."""
    bce = F.binary_cross_entropy_with_logits(logits, x.reshape(logits.shape), reduction="none")
    return bce.sum(1) - 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), 1)
