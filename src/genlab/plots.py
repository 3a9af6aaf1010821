"""Figures drawn from a run's records (loss and quality curves), and image grids shown inline.

The curves are drawn from ``metrics.json`` when a notebook shows them (``run_curves``), not
by training: an edit here redraws figures and retrains nothing (``genlab.provenance``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from matplotlib.figure import Figure

from genlab.images import save_figure

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
    panels = 2 if extra else 1
    fig = Figure(figsize=(5.5 * panels, 3.6))
    epochs = run.series("epoch")
    for i, (group, label) in enumerate([(series, ylabel), (extra, extra_ylabel)][:panels]):
        ax = fig.add_subplot(1, panels, i + 1)
        for key, legend in group:
            ax.plot(epochs, run.series(key), marker="o" if len(epochs) < 30 else None, label=legend)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(run.path.name)
    path = run.path / name
    save_figure(fig, path)
    return path


def run_curves(run: Run) -> list[Path]:
    """Draw ``run``'s curves from its records into its folder: the losses per epoch
    (``loss_curves.png``) and, for a GAN that measured its samples, their quality
    (``quality_curves.png``); the paths drawn."""
    if run.config.model == "vae":
        series = [("train_loss", "train"), ("test_loss", "test")]
        return [loss_curves(run, series, ylabel="loss per image (nats)")]
    losses = loss_curves(
        run,
        [("generator_loss", "generator"), ("discriminator_loss", "discriminator")],
        ylabel="loss per image (nats, mean BCE)",
        extra=[("d_real", "D(x), real images"), ("d_fake", "D(G(z)), generated")],
        extra_ylabel="mean discriminator output",
    )
    quality = quality_curves(run)
    return [losses] if quality is None else [losses, quality]


def show_images(paths: Sequence[Path | str], titles: Sequence[str] | None = None) -> None:
    """Show saved PNGs side by side (inline in a notebook), each at its own resolution under
    its title: the files themselves, never redrawn."""
    import base64
    import html

    from IPython.display import HTML, display

    paths = [Path(p) for p in paths]
    figures = []
    for path, title in zip(paths, titles or [p.stem for p in paths], strict=True):
        data = base64.b64encode(path.read_bytes()).decode()
        figures.append(
            f'<figure style="display:inline-block; margin:0 1em 1em 0">'
            f'<img src="data:image/png;base64,{data}" alt="{html.escape(title)}">'
            f"<figcaption>{html.escape(title)}</figcaption></figure>"
        )
    display(HTML("".join(figures)))


def show_image(path: Path | str, title: str = "") -> None:
    show_images([path], [title or Path(path).stem])


def show_epochs(
    run_path: Path | str,
    epochs: Sequence[int],
    pattern: str = "sample_{epoch}.png",
) -> None:
    """Show the images ``pattern`` of ``epochs`` of a run folder side by side, titled by epoch.

    With no epochs (a run that stopped before its first), print that instead.
    """
    if not epochs:
        print(f"{Path(run_path).name}: no epoch completed, no images to show")
        return
    paths = [Path(run_path) / pattern.format(epoch=e) for e in epochs]
    show_images(paths, [f"epoch {e}" for e in epochs])


def quality_curves(run: Run, name: str = "quality_curves.png") -> Path | None:
    """Plot the sample quality measured during training (epochs with a ``quality`` record).

    Left: the Fréchet distance (lower is closer to the data). Right: shares in [0, 1]:
    classes covered out of 10, within-class variety (relative to real images) and, for a
    conditional model, the conditional accuracy. None when no epoch was measured.
    """
    measured = [e for e in run.metrics["epochs"] if "quality" in e]
    if not measured:
        return None
    epochs = [e["epoch"] for e in measured]
    quality = [e["quality"] for e in measured]
    fig = Figure(figsize=(11, 3.6))
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    left.plot(epochs, [q["frechet_distance"] for q in quality], marker=".")
    left.set_ylabel("Fréchet distance to real test images")
    series = [
        ("classes_covered", "classes covered / 10", 0.1),
        ("within_class_variety", "within-class variety (real = 1)", 1.0),
        ("conditional_accuracy", "conditional accuracy", 1.0),
    ]
    for key, label, scale in series:
        if key in quality[0]:
            right.plot(epochs, [(q[key] or 0) * scale for q in quality], marker=".", label=label)
    right.set_ylabel("share")
    right.legend()
    for ax in (left, right):
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    n = run.config.quality_samples
    fig.suptitle(f"sample quality during training ({n} samples, the same noise every epoch)")
    path = run.path / name
    save_figure(fig, path)
    return path
