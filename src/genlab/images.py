"""PNG files and inline figures, each stored in the fewest channels that hold it exactly.

torchvision writes a grey image grid as RGB and matplotlib writes RGBA, so a grey picture
costs about twice the bytes it needs (the committed grids: 6.5 MB as RGB, 3.4 MB as grey).
Every PNG the package writes or shows passes through ``compact_png``: grey and opaque becomes
one channel, opaque colour three. The pixels are unchanged (a test decodes both), so this is
storage, not compression.
"""

from __future__ import annotations

import io
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
