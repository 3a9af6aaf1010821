"""One test image reconstructed by every setting of a grid, side by side and enlarged.

Problem 4.3's write-up rests its verdict on a detail, the logo on a shirt; this figure puts
that shirt (and the plaid one) beside each setting's last-epoch reconstruction of it, cut from
the reconstruction grids the runs saved (torchvision's ``save_image`` layout: 28-pixel images,
2 pixels of padding, originals in the first row and reconstructions in the second).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from genlab.course.grids import PROBLEMS, VAE_GRID, short
from genlab.images import save_figure

SIDE, PAD = 28, 2  # pixels of one image and of the padding around it in a saved grid
LOGO, PLAID = 1, 7  # columns of the 4.3 grids: the "Lee" pullover, the plaid shirt


def cell(grid, row: int, column: int):  # noqa: ANN001, ANN201 (an image array)
    """The image at ``row``, ``column`` of a grid saved by ``save_image``."""
    top, left = PAD + row * (SIDE + PAD), PAD + column * (SIDE + PAD)
    return grid[top : top + SIDE, left : left + SIDE]


def reconstruction_crops(
    out: Path, problem: str = VAE_GRID, columns: Sequence[int] = (LOGO, PLAID)
) -> Path | None:
    """``out/<problem>/crops.png``: the test images of ``columns`` and each grid point's last
    reconstruction of them (seed 1, the run shown); None until every point has finished."""
    import matplotlib.image as mpimg
    from matplotlib.figure import Figure

    grids = {}
    for point in PROBLEMS[problem].points:
        metrics = out / problem / point / "metrics.json"
        if not metrics.exists():
            return None
        last = len(json.loads(metrics.read_text())["epochs"])
        path = out / problem / point / f"reconstruction_{last}.png"
        if not path.exists():
            return None
        grids[short(problem, point)] = mpimg.imread(path)
    first = next(iter(grids.values()))
    panels = [("test image", [cell(first, 0, c) for c in columns])]
    panels += [(name, [cell(grid, 1, c) for c in columns]) for name, grid in grids.items()]
    fig = Figure(figsize=(1.25 * len(panels), 1.3 * len(columns) + 0.5), layout="compressed")
    for j, (name, images) in enumerate(panels):
        for i, image in enumerate(images):
            ax = fig.add_subplot(len(columns), len(panels), i * len(panels) + j + 1)
            ax.imshow(image, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(name.replace(", ", ",\n"), fontsize=8)
    fig.suptitle(
        f"{problem}: two test images and each setting's last reconstruction of them", fontsize=9
    )
    path = out / problem / "crops.png"
    save_figure(fig, path, dpi=110)
    return path
