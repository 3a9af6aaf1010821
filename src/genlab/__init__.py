"""genlab: VAE, GAN and conditional GAN on MNIST and Fashion-MNIST for the course's problems."""

from genlab.config import ConfigError, GANConfig, VAEConfig
from genlab.data import DataError, load
from genlab.device import resolve_device, seed_everything
from genlab.runs import Run, RunConflictError, load_metrics

__all__ = [
    "ConfigError", "DataError", "GANConfig", "Run", "RunConflictError", "VAEConfig",
    "load", "load_metrics", "resolve_device", "seed_everything",
]  # fmt: skip
__version__ = "0.1.0"
