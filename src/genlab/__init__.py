"""genlab: VAE, GAN and conditional GAN on MNIST and Fashion-MNIST for the course's problems.

The names below are imported when first used (PEP 562), so that ``import genlab.config`` or
``./run_all.sh``'s planning does not pay for ``import torch`` (about 1.7 s of CPU a process).
The imports under ``TYPE_CHECKING`` are what type checkers read, and what
``genlab.provenance`` counts as this module's imports.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from genlab.config import ConfigError, GANConfig, VAEConfig
    from genlab.data import DataError, load
    from genlab.device import resolve_device, seed_everything
    from genlab.runs import Run, RunConflictError, load_metrics

__all__ = [
    "ConfigError",
    "DataError",
    "GANConfig",
    "Run",
    "RunConflictError",
    "VAEConfig",
    "load",
    "load_metrics",
    "resolve_device",
    "seed_everything",
]
__version__ = "0.1.0"
_MODULE = {
    "ConfigError": "config",
    "GANConfig": "config",
    "VAEConfig": "config",
    "DataError": "data",
    "load": "data",
    "resolve_device": "device",
    "seed_everything": "device",
    "Run": "runs",
    "RunConflictError": "runs",
    "load_metrics": "runs",
}


def __getattr__(name: str) -> Any:
    if name not in _MODULE:
        raise AttributeError(f"module 'genlab' has no attribute {name!r}")
    return getattr(import_module(f"genlab.{_MODULE[name]}"), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
