"""The images on which problem 5.6 measures its image statistics (background and sharpness:
``genlab.course.report.measures.image_stats``): the seeded samples of a run's checkpoint
(``run_images``), and the statistics 5.6 recorded before in its ``comparison.json``
(``recorded_stats``), which stand in for runs whose checkpoint is gone. The same statistics of
the sample grid a run saved after its last epoch (``grid_images``: 64 samples as 8-bit PNG,
seed 1 only) need no checkpoint: every VAE and GAN run has one, so they compare the VAE with
the GAN on what both kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from genlab.course.report.measures import image_stats
from genlab.data import load
from genlab.evaluate import gan_images, load_generator, load_vae, vae_images
from genlab.runs import load_metrics, read_json, run_checkpoint

STAT_KEYS = ("background_mean", "background_dark", "neighbour_difference")  # image_stats' keys
GRID_KEYS = ("grid_background_dark", "grid_neighbour_difference")  # the same, of a sample grid
GRID_SIZE = 64  # images in a sample grid a run saves (8 x 8)


def grid_images(path: Path) -> torch.Tensor | None:
    """The 28 x 28 images of a sample grid as a run saves it (``torchvision.utils.save_image``,
    2 pixels of padding), in [0, 1] at the PNG's 8 bits; None for an image that is no such grid
    (a cGAN's labelled class grid)."""
    from PIL import Image

    with Image.open(path) as image:
        if image.mode != "L":
            return None
        pixels = torch.from_numpy(np.asarray(image, dtype=np.float64) / 255)
    pad, step = 2, 28 + 2
    rows, cols = ((size - pad) // step for size in pixels.shape)
    if any((size - pad) % step for size in pixels.shape) or not rows or not cols:
        return None
    tiles = [
        pixels[pad + r * step : pad + r * step + 28, pad + c * step : pad + c * step + 28]
        for r in range(rows)
        for c in range(cols)
    ]
    return torch.stack(tiles)[:, None]


def as_saved(images: torch.Tensor) -> torch.Tensor:
    """``images`` in [0, 1] rounded to the 8 bits a PNG keeps, as ``save_image`` rounds them."""
    return torch.round(images.double().clamp(0, 1) * 255) / 255


def grid_stats(images: torch.Tensor) -> dict[str, float]:
    """``image_stats`` of a sample grid's images, under ``GRID_KEYS``."""
    stats = image_stats(images)
    return {
        "grid_background_dark": stats["background_dark"],
        "grid_neighbour_difference": stats["neighbour_difference"],
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
