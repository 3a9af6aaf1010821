"""The networks of a run folder's checkpoint, rebuilt from its config and its trainer's state.

``checkpoint.pt`` (``genlab.runs.CHECKPOINT``) holds ``{"epoch", "trainer", ...}``; the trainer's
state holds the networks' state dicts under the names below.
"""

from __future__ import annotations

from typing import Any

import torch

NUM_CLASSES = 10  # MNIST and Fashion-MNIST: the classes a conditional generator takes


def load_vae(config: dict[str, Any], trainer_state: dict[str, Any], device: torch.device):
    """The VAE of a run from its config and its trainer's state dict."""
    from genlab.models.vae import VAE

    model = VAE(config["latent_dim"], config["hidden_dim"])
    model.load_state_dict(trainer_state["model"])
    return model.to(device)


def load_generator(config: dict[str, Any], trainer_state: dict[str, Any], device: torch.device,
                   average: bool = True):  # fmt: skip
    """The generator that samples for a GAN run from its trainer's state dict: its weight
    average when the run kept one (unless ``average`` is False), else the generator itself."""
    from genlab.models.gan import Generator

    if "generator" not in trainer_state:
        raise NotImplementedError(
            "this GAN checkpoint has no 'generator' entry in its trainer state "
            f"(keys: {', '.join(trainer_state)}); genlab.models.checkpoints does not know how "
            "to load it"
        )
    num_classes = NUM_CLASSES if config.get("conditional") else 0
    net = Generator(config["latent_dim"], num_classes, config.get("embed_dim", 10))
    weights = trainer_state.get("generator_average") if average else None
    net.load_state_dict(weights if weights is not None else trainer_state["generator"])
    return net.to(device)
