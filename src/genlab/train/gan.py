"""Training the GAN and the conditional GAN on whole tensors, in a run folder.

Each batch: ``g_steps`` generator updates (fresh noise each), then one discriminator update on
the real batch and the last generated batch; the last generator update and the discriminator
update share one discriminator pass over both batches (see ``GANTrainer.train_batch``).
Losses are binary cross-entropies computed from logits (the non-saturating generator loss).
Every batch's losses are kept on the device and checked for NaN/inf at each progress update
and at the end of the epoch, so a divergence is reported with the exact batch without a
host-device sync per batch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from genlab.config import GANConfig
from genlab.data import load, shuffled_batches
from genlab.device import seed_everything
from genlab.models.gan import (
    IMAGE_SIZE,
    Discriminator,
    Generator,
    discriminator_loss,
    generator_loss,
)
from genlab.plots import class_grid, loss_curves
from genlab.runs import Run, save_image
from genlab.train.backprop import MLPPass
from genlab.train.loop import Progress, check_finite, train
from genlab.train.optim import LeanAdam

SAMPLES = 64  # fixed noise vectors of the GAN's 8 x 8 grid
COLUMNS_PER_CLASS = 10  # fixed noise vectors of the cGAN's grid, the same in every class row
STATS = ("generator_loss", "discriminator_loss", "d_real", "d_fake")


def sample_name(epoch: int) -> str:
    return f"sample_{epoch}.png"


class GANTrainer:
    def __init__(self, config: GANConfig, device: torch.device):
        self.config, self.device = config, device
        seed_everything(config.seed)
        train = load(config.dataset, "train", device=device, limit=config.train_limit or None)
        self.train_x = train.pixels("signed").flatten(1)
        self.classes = train.classes
        classes = len(self.classes) if config.conditional else 0
        self.train_y = train.labels if config.conditional else None
        self.G = Generator(config.latent_dim, classes, config.embed_dim).to(device)
        self.D = Discriminator(classes, config.embed_dim).to(device)
        betas = (config.beta1, 0.999)
        self.opt_g = LeanAdam(self.G.parameters(), lr=config.lr_g, betas=betas)
        self.opt_d = LeanAdam(self.D.parameters(), lr=config.lr_d, betas=betas)
        self.g_pass, self.d_pass = MLPPass(self.G), MLPPass(self.D)
        self._image_columns = slice(0, IMAGE_SIZE)
        self.generator = torch.Generator().manual_seed(config.seed)
        fixed = torch.Generator().manual_seed(config.seed + 10_000)
        if config.conditional:
            z = torch.randn(COLUMNS_PER_CLASS, config.latent_dim, generator=fixed)
            self.fixed_z = z.repeat(classes, 1).to(device)
            labels = torch.arange(classes).repeat_interleave(COLUMNS_PER_CLASS)
            self.fixed_labels: torch.Tensor | None = labels.to(device)
        else:
            self.fixed_z = torch.randn(SAMPLES, config.latent_dim, generator=fixed).to(device)
            self.fixed_labels = None
        n, bs = len(self.train_x), config.batch_size
        self.images_per_epoch, self.batches_per_epoch = n, -(-n // bs)
        self._targets = self._targets_for(bs)
        # spread of real images, the reference for the samples' (pixels in [0, 1])
        self.real_std = float(self.train_x.std(0).mean() / 2)

    def state_dict(self) -> dict[str, Any]:
        return {
            "generator": self.G.state_dict(),
            "discriminator": self.D.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.G.load_state_dict(state["generator"])
        self.D.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])

    # --- one batch -------------------------------------------------------------------------
    def _noise(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        z = torch.randn(n, self.config.latent_dim, device=self.device)
        if self.train_y is None:
            return z, None
        return z, torch.randint(len(self.classes), (n,), device=self.device)

    def train_batch(self, x: torch.Tensor, y: torch.Tensor | None, stats: torch.Tensor) -> None:
        """Update both networks on one real batch; write its 4 statistics into ``stats``.

        As in the usual loop: ``g_steps`` generator updates, each on fresh noise, then one
        discriminator update on the real batch and the last generated batch (detached). The
        last generator update and the discriminator update are taken at the same weights, so
        they share one discriminator pass over the real and the last generated batch: its
        backward pass from the discriminator loss gives the discriminator's gradient (both
        halves), and from the generator loss the gradient into the generated images (the
        generated half only). The passes are ``MLPPass``es: no autograd graph.
        """
        n, g_steps = len(x), self.config.g_steps
        g_total = torch.zeros((), device=self.device)
        for _ in range(g_steps - 1):
            z, fake_y = self._noise(n)
            logits = self.d_pass.forward(self.g_pass.forward(z, fake_y), fake_y)
            g_loss = generator_loss(logits)
            self.g_pass.backward(self._through_discriminator(logits, slice(None)))
            self.opt_g.step()
            g_total += g_loss
        z, fake_y = self._noise(n)
        fake = self.g_pass.forward(z, fake_y)
        labels = None if y is None else torch.cat([y, fake_y])
        logits = self.d_pass.forward(torch.cat([x, fake]), labels)
        targets = self._targets if n == self.config.batch_size else self._targets_for(n)
        g_loss, d_loss = generator_loss(logits[n:]), discriminator_loss(logits, targets)
        p = torch.sigmoid(logits)
        # d mean BCE / d logits = (sigmoid - target) / count
        self.g_pass.backward(self._through_discriminator(logits, slice(n, None)))
        self.d_pass.backward((p - targets) / (2 * n))
        self.opt_g.step()
        self.opt_d.step()
        stats[0] = (g_total + g_loss) / g_steps
        stats[1] = d_loss
        stats[2] = p[:n].mean()
        stats[3] = p[n:].mean()

    def _through_discriminator(self, logits: torch.Tensor, fake: slice) -> torch.Tensor:
        """d generator loss / d generated images, back through the last discriminator pass.

        ``fake``: the rows of that pass that are generated images (the others are real).
        """
        rows = logits[fake]
        grad = (torch.sigmoid(rows) - 1) / len(rows)  # d mean(-log sigmoid(l)) / d l
        return self.d_pass.backward(grad, weights=False, input_columns=self._image_columns,
                                    rows=fake)  # fmt: skip

    def _targets_for(self, n: int) -> torch.Tensor:
        """1 for the n real images, then 0 for the n generated ones, as a column."""
        return torch.cat([torch.ones(n), torch.zeros(n)])[:, None].to(self.device)

    # --- one epoch -------------------------------------------------------------------------
    def train_epoch(self, epoch: int, progress: Progress) -> dict[str, float]:
        self.G.train()
        self.D.train()
        stats = torch.zeros(self.batches_per_epoch, len(STATS), device=self.device)
        batches = shuffled_batches(len(self.train_x), self.config.batch_size, self.generator,
                                   self.device)  # fmt: skip
        checked = 0
        for i, idx in enumerate(batches, start=1):
            y = None if self.train_y is None else self.train_y[idx]
            self.train_batch(self.train_x.index_select(0, idx), y, stats[i - 1])
            if i % self.config.log_interval == 0:
                _check(stats, checked, i)
                checked = i
                g, d = stats[i - 1, :2].tolist()
                progress.step(i, g_loss=g, d_loss=d)
            else:
                progress.step(i)
        _check(stats, checked, len(stats))
        return dict(zip(STATS, stats.mean(0).tolist(), strict=True))

    @torch.no_grad()
    def samples(self) -> torch.Tensor:
        """The fixed noise batch through the generator (eval mode), pixels in [0, 1]."""
        self.G.eval()
        images = self.G(self.fixed_z, self.fixed_labels)
        self.G.train()
        return (images + 1) / 2

    def end_epoch(self, epoch: int, run: Run) -> dict[str, Any]:
        """Save the grid of the fixed noise batch; record how much its images differ."""
        images = self.samples().cpu()
        path = run.path / sample_name(epoch)
        if self.config.conditional:
            class_grid(images, self.classes, path)
        else:
            save_image(images, path, nrow=8)
        # per-pixel standard deviation across the fixed batch, averaged over pixels: near 0
        # when every noise vector gives the same image (mode collapse)
        return {"sample_std": float(images.flatten(1).std(0).mean()), "real_std": self.real_std}

    def plot(self, run: Run) -> None:
        loss_curves(
            run,
            [("generator_loss", "generator"), ("discriminator_loss", "discriminator")],
            ylabel="mean BCE loss per batch",
            extra=[("d_real", "D(x), real images"), ("d_fake", "D(G(z)), generated")],
            extra_ylabel="mean discriminator output",
        )


def _check(stats: torch.Tensor, start: int, stop: int) -> None:
    """Raise ``Diverged`` for the first batch in [start, stop) with a non-finite loss."""
    losses = stats[start:stop, :2]
    bad = ~torch.isfinite(losses).all(1)
    if bool(bad.any()):
        j = start + int(bad.nonzero()[0])
        check_finite(j + 1, **dict(zip(STATS[:2], stats[j, :2].tolist(), strict=True)))


def sample_epochs(metrics: dict[str, Any]) -> list[int]:
    """The first, middle and last recorded epochs (fewer when fewer are recorded)."""
    done = [e["epoch"] for e in metrics["epochs"]]
    return sorted({done[0], done[len(done) // 2], done[-1]}) if done else []


def observations(metrics: dict[str, Any]) -> list[str]:
    """What a run shows, in sentences built from its ``metrics.json``."""
    config, epochs, status = metrics["config"], metrics["epochs"], metrics["status"]
    kind = "conditional GAN" if config.get("conditional") else "GAN"
    setting = (f"{kind} with lr_g = {config['lr_g']:g}, lr_d = {config['lr_d']:g}, "
               f"g_steps = {config['g_steps']}")  # fmt: skip
    lines = []
    if status == "complete":
        seconds = sum(e["seconds"] for e in epochs)
        lines.append(
            f"The {setting} trained all {len(epochs)} epochs in {seconds:.0f} s on "
            f"{metrics.get('device', '?')} ({seconds / len(epochs):.1f} s per epoch, "
            f"{_mean(epochs, 'images_per_second'):.0f} images/s)."
        )
    elif status == "diverged":
        d = metrics["diverged"]
        losses = ", ".join(f"{k} = {v}" for k, v in d["losses"].items())
        lines.append(
            f"The {setting} DIVERGED: a loss became NaN or infinite at epoch {d['epoch']}, "
            f"batch {d['batch']} ({losses}); the run stopped there and kept the "
            f"{len(epochs)} epoch(s) completed before."
        )
    else:
        lines.append(f"The {setting} has status '{status}' after {len(epochs)} of "
                     f"{config['epochs']} epochs.")  # fmt: skip
    if not epochs:
        lines.append("No epoch completed, so there are no sample grids or curves to show.")
        return lines
    first, last = epochs[0], epochs[-1]
    d_real, d_fake = last["d_real"], last["d_fake"]
    lines.append(
        f"Last epoch ({last['epoch']}): generator loss {last['generator_loss']:.3f}, "
        f"discriminator loss {last['discriminator_loss']:.3f} (ln 2 = 0.693 at equilibrium); "
        f"mean D(x) on real images {d_real:.3f}, mean D(G(z)) on generated ones {d_fake:.3f}."
    )
    if d_real > 0.9 and d_fake < 0.1:
        lines.append(
            "The discriminator separates real from generated images almost perfectly, so it "
            "is winning and gives the generator little to learn from."
        )
    elif abs(d_real - d_fake) < 0.05 and 0.35 < d_fake < 0.65:
        lines.append(
            "The discriminator outputs about 1/2 for real and generated images alike: it "
            "cannot tell them apart. That is the game's equilibrium if the samples look like "
            "clothing, and a discriminator that has lost if they are blobs."
        )
    elif d_fake > d_real:
        lines.append(
            "The discriminator rates generated images as more real than real ones: it has "
            "stopped telling them apart, so the generator can pass anything."
        )
    elif d_real - d_fake < 0.2:
        lines.append(
            f"D(x) and D(G(z)) are only {d_real - d_fake:.2f} apart: the two networks are "
            "close to balanced."
        )
    else:
        lines.append(
            f"The discriminator still tells real from generated images apart (D(x) - D(G(z)) "
            f"= {d_real - d_fake:.2f}) without winning outright: the game is still being played."
        )
    if len(epochs) > 1:
        g0, g1 = first["generator_loss"], last["generator_loss"]
        trend = "rose" if g1 > g0 * 1.1 else "fell" if g1 < g0 / 1.1 else "stayed near"
        lines.append(
            f"From epoch {first['epoch']} to {last['epoch']} the generator loss {trend} "
            f"{'' if trend == 'stayed near' else 'from '}{g0:.3f}"
            f"{'' if trend == 'stayed near' else f' to {g1:.3f}'}."
        )
    std, real = last.get("sample_std"), last.get("real_std")
    if std is not None and real:
        verdict = (
            "nearly the same image for every noise vector (collapse, or no variety learnt yet)"
            if std < 0.25 * real
            else "less variety than the data"
            if std < 0.6 * real
            else "about as much variety as the data"
        )
        lines.append(
            f"Across the fixed noise batch the samples' pixels vary by {std:.3f} (standard "
            f"deviation) against {real:.3f} for real images: {verdict}."
        )
    return lines


def observations_markdown(metrics: dict[str, Any]) -> str:
    """``observations`` as a markdown list (for ``IPython.display.Markdown``)."""
    return "\n".join(f"- {line}" for line in observations(metrics))


def _mean(epochs: list[dict[str, Any]], key: str) -> float:
    return sum(e[key] for e in epochs) / len(epochs)


def train_gan(
    config: GANConfig | None = None,
    run_dir: str | Path | None = None,
    progress: bool = True,
    **overrides: Any,
) -> Run:
    """Train (or resume, or just reopen when complete) a GAN or cGAN run; returns its folder.

    ``overrides`` replace fields of ``config`` (default: ``GANConfig()``, the GAN with equal
    learning rates; ``conditional=True`` for the cGAN).
    """
    return train((config or GANConfig()).replace(**overrides), GANTrainer, run_dir, progress)
