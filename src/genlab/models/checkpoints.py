"""The networks of a run folder's checkpoint, rebuilt from its trainer's state.

``checkpoint.pt`` (``genlab.runs.CHECKPOINT``) holds ``{"epoch", "trainer", ...}``; the trainer's
state holds the networks' state dicts under their names (``genlab.models.build``) and, under
``"architecture"``, their constructor arguments. Checkpoints written before it was recorded
are rebuilt from the run's config.
"""

from __future__ import annotations

from typing import Any

import torch

from genlab.models.build import architecture, build


def load_vae(config: dict[str, Any], trainer_state: dict[str, Any], device: torch.device):
    """The VAE of a run from its config and its trainer's state dict."""
    model = _network("model", {"model": "vae", **config}, trainer_state)
    model.load_state_dict(trainer_state["model"])
    return model.to(device)


def load_generator(
    config: dict[str, Any],
    trainer_state: dict[str, Any],
    device: torch.device,
    average: bool = True,
):
    """The generator that samples for a GAN run from its trainer's state dict: its weight
    average when the run kept one (unless ``average`` is False), else the generator itself."""
    if "generator" not in trainer_state:
        raise NotImplementedError(
            "this GAN checkpoint has no 'generator' entry in its trainer state "
            f"(keys: {', '.join(trainer_state)}); genlab.models.checkpoints does not know how "
            "to load it"
        )
    net = _network("generator", {"model": "gan", **config}, trainer_state)
    weights = trainer_state.get("generator_average") if average else None
    net.load_state_dict(weights if weights is not None else trainer_state["generator"])
    return net.to(device)


def _network(name: str, config: dict[str, Any], trainer_state: dict[str, Any]) -> torch.nn.Module:
    """The network ``name`` as the checkpoint records it, else as the run's config builds it."""
    recorded = trainer_state.get("architecture") or architecture(config)
    return build(name, recorded[name])
