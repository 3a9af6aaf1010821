"""The networks and their losses (``vae``, ``gan``), built from a run's config (``build``) and
rebuilt from its checkpoint (``checkpoints``)."""

from genlab.models.build import architecture, build_models

__all__ = ["architecture", "build_models"]
