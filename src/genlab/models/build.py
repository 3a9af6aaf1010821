"""A run's networks, built from its config: the one place the trainers and the checkpoint
loader (``genlab.models.checkpoints``) get them from.

``architecture(config)`` is each network's constructor arguments, under the name its weights
have in the trainer's state: ``"model"`` for the VAE, ``"generator"`` and ``"discriminator"``
for a GAN. A checkpoint records it (``trainer["architecture"]``), so its networks are rebuilt
as they were trained, whatever the defaults have become since. ``build_models`` builds them in
that order, which decides the initial weights a seed gives. The classes are looked up in
``genlab.models.vae`` and ``genlab.models.gan`` when a network is built, so an edited model is
the one trained and loaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from genlab.config import Config, GANConfig, VAEConfig
from genlab.data import get_spec
from genlab.models import gan, vae

Architecture = dict[str, dict[str, Any]]  # network name -> its constructor's arguments


def architecture(config: Config | Mapping[str, Any]) -> Architecture:
    """The constructor arguments of every network of ``config``'s model, in building order.

    ``config`` is a ``VAEConfig`` / ``GANConfig`` or a run's recorded config (``config.json``,
    ``metrics.json``), whose missing fields (runs older than them) take the defaults.
    """
    c = _values(config)
    if c["model"] == "vae":
        return {"model": {"latent_dim": c["latent_dim"], "hidden_dim": c["hidden_dim"]}}
    classes = len(get_spec(c["dataset"]).classes) if c["conditional"] else 0
    return {
        "generator": {
            "latent_dim": c["latent_dim"],
            "num_classes": classes,
            "embed_dim": c["embed_dim"],
        },
        "discriminator": {
            "num_classes": classes,
            "embed_dim": c["embed_dim"],
            "dropout": c["d_dropout"],
            "label_input": c["d_label"],
        },
    }


def build_models(config: Config | Mapping[str, Any]) -> dict[str, nn.Module]:
    """Every network of ``config``'s model, freshly initialised, by name (``architecture``)."""
    return {name: build(name, kwargs) for name, kwargs in architecture(config).items()}


def build(name: str, kwargs: Mapping[str, Any]) -> nn.Module:
    """The network ``name`` ("model", "generator" or "discriminator") with arguments ``kwargs``."""
    classes = {"model": vae.VAE, "generator": gan.Generator, "discriminator": gan.Discriminator}
    if name not in classes:
        raise ValueError(f"unknown network {name!r}; accepted: {', '.join(classes)}")
    return classes[name](**kwargs)


def _values(config: Config | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(config, Config):
        return {"model": config.model, **config.to_dict()}
    kinds = {"vae": VAEConfig, "gan": GANConfig}
    model = config.get("model")
    if model not in kinds:
        raise ValueError(f"config with model={model!r}; accepted: {', '.join(kinds)}")
    defaults = {name: f.default for name, f in kinds[model].model_fields.items()}
    return {**defaults, **config}
