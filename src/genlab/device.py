"""Device choice shared by every model, and one seeding helper."""

from __future__ import annotations

import random

import numpy as np
import torch

from genlab.config import DEVICES


def _mps_available() -> bool:
    return hasattr(torch.backends, "mps") and torch.backends.mps.is_available()


class DeviceError(ValueError):
    """A device that was asked for and is not there (or contradicts ``no_cuda``)."""


def resolve_device(device: str = "auto", no_cuda: bool = False) -> torch.device:
    """The torch device for ``device`` ("auto" | "cpu" | "cuda" | "mps").

    ``no_cuda`` is the course's flag: it keeps "auto" off the GPU and refuses "cuda".
    """
    if device not in DEVICES:
        raise DeviceError(f"unknown device {device!r}; accepted: {', '.join(DEVICES)}")
    if device == "cuda":
        if no_cuda:
            raise DeviceError("device 'cuda' contradicts no_cuda=True; use device 'cpu' or 'auto'")
        if not torch.cuda.is_available():
            raise DeviceError(
                "device 'cuda' was asked for but no CUDA GPU is available; accepted here: auto, cpu"
            )
        return torch.device("cuda")
    if device == "mps":
        if not _mps_available():
            raise DeviceError(
                "device 'mps' was asked for but MPS is not available; accepted here: auto, cpu"
            )
        return torch.device("mps")
    if device == "auto" and not no_cuda:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's (CPU and every GPU) random generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
