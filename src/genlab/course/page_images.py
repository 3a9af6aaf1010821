"""How the course's pages show images: which images a grid point's card shows (``card_images``,
``key_image``), whether one is a small sample grid shown at twice its size (``is_sample_grid``,
``ENLARGED_BELOW``), its caption, its size from the PNG header, and the entry the templates
take for it (``shown``). ``site`` builds the pages from these.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

from genlab.course.grids import Problem


def key_image(problem: Problem, run_dir: Path, metrics: dict[str, Any] | None) -> Path | None:
    last = len(metrics["epochs"]) if metrics and metrics.get("epochs") else 0
    path = run_dir / problem.key_image.format(last=last)
    return path if path.exists() else None


def png_size(path: Path) -> tuple[int, int]:
    """Width and height of a PNG, from its header."""
    with open(path, "rb") as f:
        head = f.read(24)
    return struct.unpack(">II", head[16:24])


def shown(path: Path, page: Path, caption: str = "", enlarge: bool = False) -> dict[str, Any]:
    """An image as a page in the folder ``page`` shows it: at its natural size, or a sample grid
    at twice it."""
    width, height = png_size(path)
    scale = 2 if enlarge else 1
    return {
        "src": Path(os.path.relpath(path, page)).as_posix(),
        "alt": path.stem.replace("_", " "),
        "caption": caption,
        "width": width * scale,
        "height": height * scale,
        "enlarged": enlarge,
    }


def card_images(problem: Problem, run_dir: Path, metrics: dict[str, Any] | None) -> list[Path]:
    """The images a grid point's card shows: first and last epoch where the course asks for
    both (the VAE's reconstructions), else the key image; then the loss curves."""
    if not problem.model:
        return []  # 5.6: its figures stand full width under its answer, once
    last = len(metrics["epochs"]) if metrics and metrics.get("epochs") else 0
    names = [problem.key_image.format(last=last)]
    if problem.model == "vae" and last > 1:
        names = [problem.key_image.format(last=1)] + names
    names.append("loss_curves.png")
    return [run_dir / n for n in names if (run_dir / n).exists()]


def is_sample_grid(problem: Problem, image: Path) -> bool:
    """A grid of 28 x 28 images as torchvision's ``save_image`` writes it (reconstructions,
    unconditional samples): small and unlabelled, shown enlarged. The cGAN's labelled class
    grid is a matplotlib figure with text, shown at its natural size."""
    labelled = bool(problem.fixed.get("conditional"))
    return image.name.startswith(("reconstruction_", "sample_")) and not labelled


def caption(image: Path) -> str:
    """ "reconstructions, epoch 1", "samples, epoch 40", "loss curves" from an image's name."""
    kind, _, epoch = image.stem.rpartition("_")
    if epoch.isdigit():
        return f"{kind}s, epoch {epoch}"
    return image.stem.replace("_", " ")


# a sample grid at most this tall (the reconstructions' two rows) is shown at twice its size;
# a taller one (64 samples) at its natural size beside its loss curves: the grid summary
# shows those of every setting side by side, larger
ENLARGED_BELOW = 128
