"""Problem 5.6's image statistics: the background and sharpness of images (``image_stats``),
the seeded samples of a run's checkpoint they are measured on (``run_images``), and those 5.6
recorded before in its ``comparison.json`` (``recorded_stats``), which stand in for runs whose
checkpoint is gone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from genlab.data import load
from genlab.evaluate import gan_images, load_generator, load_vae, vae_images
from genlab.runs import load_metrics, read_json, run_checkpoint

STAT_KEYS = ("background_mean", "background_dark", "neighbour_difference")  # image_stats' keys

CORNER = 4  # the background is measured on the four CORNER x CORNER corners of an image
DARK = 0.1  # a pixel below this value counts as black background


def image_stats(images: torch.Tensor) -> dict[str, float]:
    """Background and sharpness of images (N, 1, 28, 28) in [0, 1].

    ``background_mean``: the mean of the pixels of the four ``CORNER`` x ``CORNER`` corners
    (Fashion-MNIST's background is black, 0, and its clothes seldom reach the corners, while
    trousers and dresses touch the top and bottom edges); ``background_dark``: the share of
    those pixels below ``DARK``; ``neighbour_difference``: the mean absolute difference
    between horizontally and vertically adjacent pixels (lower than real images': smoother,
    blurred; higher: harder edges or speckle).
    """
    x = images.detach().reshape(len(images), 28, 28).double().cpu().nan_to_num(0.5).clamp(0, 1)
    c = CORNER
    corners = torch.zeros(28, 28, dtype=torch.bool)
    corners[:c, :c] = corners[:c, -c:] = corners[-c:, :c] = corners[-c:, -c:] = True
    background = x[:, corners]
    dx = (x[:, :, 1:] - x[:, :, :-1]).abs().mean()
    dy = (x[:, 1:, :] - x[:, :-1, :]).abs().mean()
    return {
        "background_mean": float(background.mean()),
        "background_dark": float((background < DARK).double().mean()),
        "neighbour_difference": float((dx + dy) / 2),
    }


@torch.no_grad()
def run_images(
    run_dir: Path, n: int, device: torch.device | str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The seeded samples of a run's checkpoint that ``evaluate_run`` measures (and for a VAE
    its reconstructions of the first n test images), in [0, 1], on the CPU."""
    from genlab.device import resolve_device

    device = resolve_device(device) if isinstance(device, str) else device
    config = load_metrics(run_dir)["config"]
    state = run_checkpoint(run_dir)
    if config["model"] == "vae":
        vae = load_vae(config, state["trainer"], device)
        test = load(config["dataset"], "test").pixels()[:n]
        return vae_images(vae, n, test)
    return gan_images(load_generator(config, state["trainer"], device), n)[0], None


def recorded_stats(path: Path) -> dict[str, dict[str, Any]]:
    """The image statistics of each run in a ``comparison.json`` 5.6 saved before: run ->
    ``{"n", "samples", "reconstructions"}`` (those measured)."""
    if not path.exists():
        return {}
    found: dict[str, dict[str, Any]] = {}
    for row in read_json(path):
        if not row.get("run") or row.get("background_dark") is None:
            continue
        part = "reconstructions" if row["model"].endswith("reconstructions") else "samples"
        entry = found.setdefault(row["run"], {"n": row["n"]})
        entry[part] = {k: row[k] for k in STAT_KEYS}
    return found
