"""Training: the loop every model shares (``loop``) and one trainer per model (``vae``, ``gan``)."""

from __future__ import annotations

from pathlib import Path

from genlab.config import Config
from genlab.runs import Run


def train_run(config: Config, run_dir: str | Path | None = None, progress: bool = True) -> Run:
    """Train (or reopen, or resume) the run of ``config``, a ``VAEConfig`` or a ``GANConfig``."""
    if config.model == "vae":
        from genlab.train.vae import train_vae as train
    else:
        from genlab.train.gan import train_gan as train
    return train(config, run_dir=run_dir, progress=progress)
