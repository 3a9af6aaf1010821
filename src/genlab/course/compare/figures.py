"""Problem 5.6's figures: the runs' last images side by side, and the class histograms."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from genlab.course.compare.runs import Source
from genlab.course.compare.table import CLASSES, Row, pick
from genlab.images import save_figure

# --- figures ----------------------------------------------------------------------------------


def _last_epoch(source: Source) -> int:
    return len(source.metrics["epochs"])


def comparison_figure(sources: Sequence[Source], path: Path | None = None):
    """Side by side, at each run's last epoch: the VAE's samples and reconstructions, the GAN's
    samples in each setting, the cGAN's class rows. Saved atomically as ``path``; returned
    (for ``genlab.images.show_figure``)."""
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure
    from matplotlib.gridspec import GridSpec

    vae = next((s for s in sources if s.model == "VAE"), None)
    gans = [s for s in sources if s.model == "GAN"]
    cgan = next((s for s in sources if s.model == "cGAN"), None)
    top = [(vae, "sample", "VAE samples")] + [(g, "sample", f"GAN `{g.point}`") for g in gans]
    cols = max(len(top), 5)
    fig = Figure(figsize=(2.25 * cols, 6.2))  # at 110 dpi, within a 1400 px window
    grid = GridSpec(2, cols * 2, figure=fig, height_ratios=[1, 1.6])
    axes = [fig.add_subplot(grid[0, 2 * i : 2 * i + 2]) for i in range(len(top))]
    split = cols - 1 if cols % 2 else cols  # reconstructions on the left, the cGAN on the right
    axes.append(fig.add_subplot(grid[1, :split]))
    axes.append(fig.add_subplot(grid[1, split:]))
    panels = top + [
        (vae, "reconstruction", "VAE reconstructions (top: test images)"),
        (cgan, "sample", "cGAN, one row per class"),
    ]
    for ax, (source, kind, title) in zip(axes, panels, strict=True):
        ax.axis("off")
        if source is None:
            ax.set_title(f"{title}\n(not run)", fontsize=9)
            continue
        last = _last_epoch(source)
        image = source.run.path / f"{kind}_{last}.png"
        status = source.metrics["status"]
        caption = f"{title}\n{source.label}, epoch {last}" + (
            "" if status == "complete" else f", {status}"
        )
        ax.set_title(caption.replace("`", ""), fontsize=9)
        if last and image.exists():
            ax.imshow(plt.imread(image), cmap="gray", interpolation="nearest")
        else:
            ax.text(
                0.5,
                0.5,
                "no image: no epoch finished",
                ha="center",
                va="center",
                transform=ax.transAxes,
                fontsize=9,
            )
    fig.suptitle("VAE versus GAN on Fashion-MNIST: the runs' last epochs")
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig


def histogram_figure(rows: Sequence[Row], path: Path | None = None):
    """The class histograms (share of samples the classifier puts in each class) of the real
    images, the VAE, the GAN and the cGAN, as grouped bars; saved as ``path``; returned."""
    import numpy as np
    from matplotlib.figure import Figure

    p = pick(rows)
    series = [
        ("real images", p.real, "0.75"),
        ("VAE", p.vae, "tab:blue"),
        (f"GAN ({p.gan.point})" if p.gan else "GAN", p.gan, "tab:orange"),
        ("cGAN", p.cgan, "tab:green"),
    ]
    series = [(label, row, color) for label, row, color in series if row and row.histogram]
    fig = Figure(figsize=(11, 4.2))
    ax = fig.add_subplot()
    x = np.arange(len(CLASSES))
    width = 0.8 / max(len(series), 1)
    for i, (label, row, color) in enumerate(series):
        offset = (i - (len(series) - 1) / 2) * width
        ax.bar(x + offset, [100 * h for h in row.histogram], width, label=label, color=color)
    ax.axhline(10, color="black", lw=0.8, ls="--", label="uniform (10%)")
    ax.set_xticks(x, CLASSES, rotation=20)
    ax.set_ylabel("share of samples (%)")
    ax.set_title("Class of each generated image, by the Fashion-MNIST classifier")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig
