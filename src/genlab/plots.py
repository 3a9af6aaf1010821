"""Figures: loss curves of a run, image grids shown inline, side-by-side summaries."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from genlab.runs import Run


def loss_curves(
    run: Run,
    series: Sequence[tuple[str, str]],
    ylabel: str = "loss",
    name: str = "loss_curves.png",
    extra: Sequence[tuple[str, str]] = (),
    extra_ylabel: str = "",
) -> Path:
    """Plot per-epoch ``series`` ((key, label) pairs) of ``run`` into ``run.path / name``.

    ``extra`` series go on a second panel (for example D(x) and D(G(z)) of a GAN).
    """
    from genlab.runs import save_figure

    panels = 2 if extra else 1
    fig = Figure(figsize=(5.5 * panels, 3.6))
    epochs = run.series("epoch")
    for i, (group, label) in enumerate([(series, ylabel), (extra, extra_ylabel)][:panels]):
        ax = fig.add_subplot(1, panels, i + 1)
        for key, legend in group:
            ax.plot(epochs, run.series(key), marker="o" if len(epochs) < 30 else None,
                    label=legend)  # fmt: skip
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(run.path.name)
    path = run.path / name
    save_figure(fig, path)
    return path


def show_images(
    paths: Sequence[Path | str], titles: Sequence[str] | None = None, width: float = 5.0
) -> Figure:
    """Show saved PNG grids side by side (inline in a notebook), each with its title."""
    paths = [Path(p) for p in paths]
    fig, axes = plt.subplots(1, len(paths), figsize=(width * len(paths), width), squeeze=False)
    for ax, path, title in zip(axes[0], paths, titles or [p.stem for p in paths], strict=True):
        ax.imshow(plt.imread(path), cmap="gray", interpolation="nearest")
        ax.set_title(title)
        ax.axis("off")
    fig.tight_layout()
    return fig


def show_image(path: Path | str, title: str = "", width: float = 6.0) -> Figure:
    return show_images([path], [title or Path(path).stem], width=width)
