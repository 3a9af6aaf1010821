"""PNG files and inline figures, each stored in the fewest channels that hold it exactly, and
the labelled class grid of a conditional model's samples (``class_grid``).

torchvision writes a grey image grid as RGB and matplotlib writes RGBA, so a grey picture
costs about twice the bytes it needs (the committed grids: 6.5 MB as RGB, 3.4 MB as grey).
Every PNG the package writes or shows passes through ``compact_png``: grey and opaque becomes
one channel, opaque colour three. The pixels are unchanged (a test decodes both), so this is
storage, not compression.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genlab.atomic import atomic_write


def compact_png(data: bytes) -> bytes:
    """The PNG ``data`` re-encoded as greyscale (``L``) or ``RGB`` where that is exact."""
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    pixels = np.asarray(image.convert("RGBA"))
    if not (pixels[..., 3] == 255).all():
        return data  # transparency is content: keep it
    grey = (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all()
    mode = "L" if grey else "RGB"
    if image.mode == mode:
        return data
    out = io.BytesIO()
    image.convert(mode).save(out, format="png", optimize=True)
    return out.getvalue()


def compact_png_file(path: Path | str) -> None:
    """Rewrite the PNG at ``path`` (atomically) with ``compact_png``, if that changes it."""
    data = Path(path).read_bytes()
    compact = compact_png(data)
    if compact != data:
        atomic_write(path, lambda f: f.write(compact))


def save_image(tensor: torch.Tensor, path: Path | str, **grid_kwargs: Any) -> None:
    """torchvision's ``save_image`` (a ``make_grid`` of ``tensor``), compact, written atomically."""
    from torchvision.utils import save_image as tv_save_image

    out = io.BytesIO()
    tv_save_image(tensor, out, format="png", **grid_kwargs)
    data = compact_png(out.getvalue())
    atomic_write(path, lambda f: f.write(data))


def figure_png(fig: Any, dpi: int = 110) -> bytes:
    """A matplotlib figure as compact PNG bytes."""
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=dpi, bbox_inches="tight")
    return compact_png(out.getvalue())


def save_figure(fig: Any, path: Path | str, dpi: int = 110) -> None:
    """Save a matplotlib figure atomically as a compact PNG."""
    data = figure_png(fig, dpi)
    atomic_write(path, lambda f: f.write(data))


def show_figure(fig: Any, dpi: int = 100) -> None:
    """Show a matplotlib figure inline in a notebook as a compact PNG (and close it, so the
    inline backend does not show it a second time)."""
    import matplotlib.pyplot as plt
    from IPython.display import Image, display

    display(Image(data=figure_png(fig, dpi)))
    plt.close(fig)


def class_grid(images: Sequence, classes: Sequence[str], path: Path | str, title: str = "") -> Path:
    """Save a grid with one row per class, each row labelled with its class name.

    ``images`` holds ``len(classes)`` rows of equally many images, row after row, as a
    tensor or array of shape (rows * columns, 1, 28, 28) (or (.., 28, 28)) with pixels in
    [0, 1]. The figure is written atomically as PNG to ``path``.
    """
    from matplotlib.figure import Figure

    pixels = np.asarray(images.detach().cpu() if hasattr(images, "detach") else images)
    rows = len(classes)
    pixels = pixels.reshape(rows, -1, *pixels.shape[-2:])
    cols, h, w = pixels.shape[1:]
    # one image: rows of tiles separated by a 2-pixel white gap
    gap = 2
    canvas = np.ones((rows * (h + gap) - gap, cols * (w + gap) - gap), dtype=np.float32)
    for r in range(rows):
        for c in range(cols):
            top, left = r * (h + gap), c * (w + gap)
            canvas[top : top + h, left : left + w] = pixels[r, c]
    fig = Figure(figsize=(0.55 * cols + 1.6, 0.55 * rows + (0.5 if title else 0.1)))
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(canvas.clip(0, 1), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_yticks([r * (h + gap) + h / 2 for r in range(rows)], labels=list(classes))
    ax.set_xticks([])
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    if title:
        ax.set_title(title)
    save_figure(fig, path)
    return Path(path)
