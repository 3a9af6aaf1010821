"""Training the GAN and the conditional GAN on whole tensors, in a run folder.

``train_gan`` is the epoch loop, as in PyTorch's examples: for each epoch ``train_epoch``
(every batch through ``train_step``) and ``end_epoch`` (the sample grid of fixed noise and the
sample quality), around which the run folder records the epoch and keeps a checkpoint
(``genlab.train.common``). ``GANTrainer.train_step`` is the step of PyTorch's DCGAN example,
with the course's generator steps: the discriminator on the real batch and on a generated one
(``detach``ed), then the generator ``g_steps`` times, the first time on the batch the
discriminator just saw, then on fresh noise; the discriminator's weights need no gradient
while the generator learns.
With ``ema_decay`` the samples come from an exponential moving average of the generator's
weights (Yazıcı et al., 2019), updated after every step. Losses are binary cross-entropies
computed from logits, the generator's the non-saturating -log D(G(z)). As for the VAE, speed
comes from around the step: the data on the device, index batches, fused Adam, losses kept on
the device, and on a GPU the whole step replayed as one CUDA graph (``genlab.train.cuda_graph``).
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

import torch

from genlab.config import GANConfig
from genlab.data import load, shuffled_batches
from genlab.device import seed_everything
from genlab.health import FINAL
from genlab.images import class_grid, save_image
from genlab.models.build import architecture, build_models
from genlab.models.gan import Generator, discriminator_loss, generator_loss
from genlab.records import Quality
from genlab.runs import Run
from genlab.train.common import (
    Diverged,
    diverged,
    epoch_means,
    epoch_record,
    progress_bar,
    recorded_interrupt,
    resume,
    save_epoch,
)
from genlab.train.cuda_graph import adam, use_cuda_graph, wrap
from genlab.train.entry import evaluate_finished, finish, open_run, reopened
from genlab.train.progress import Progress

SAMPLES = 64  # fixed noise vectors of the GAN's 8 x 8 grid
COLUMNS_PER_CLASS = 10  # fixed noise vectors of the cGAN's grid, the same in every class row
STATS = ("generator_loss", "discriminator_loss", "d_real", "d_fake")
QUALITY_KEYS = tuple(Quality.model_fields)  # what an epoch records of its samples


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
    config = (config or GANConfig()).replace(**overrides)
    run, device = open_run(run_dir, config)  # every check before the first write
    if run.complete:
        reopened(run)
    elif run.status not in FINAL:  # a diverged, collapsed or failed run has ended for good
        trainer = GANTrainer(config, device)
        start = resume(run, trainer, run.load_checkpoint())
        bar = progress_bar(run, trainer.batches_per_epoch, start, progress, STATS)
        with recorded_interrupt(run, bar):
            for epoch in range(start, config.epochs + 1):
                t0 = time.perf_counter()
                try:
                    losses = trainer.train_epoch(epoch, bar)
                except Diverged as stop:
                    return diverged(run, epoch, stop, bar)
                seconds = time.perf_counter() - t0
                record = epoch_record(epoch, losses, seconds, trainer.images_per_epoch)
                record.update(trainer.end_epoch(epoch, run))
                save_epoch(run, record, trainer, bar)
            finish(run, bar)
    evaluate_finished(run, device, progress)
    return run


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
        networks = build_models(config)
        self.G, self.D = networks["generator"].to(device), networks["discriminator"].to(device)
        # the averaged generator that samples, when ema_decay > 0; its batch-norm statistics
        # are the generator's own (copied, not averaged)
        self.G_average = copy.deepcopy(self.G).requires_grad_(False) if config.ema_decay else None
        graphed, betas = use_cuda_graph(config.cuda_graph, device), (config.beta1, 0.999)
        self.opt_g = adam(self.G.parameters(), device, graphed, lr=config.lr_g, betas=betas)
        self.opt_d = adam(self.D.parameters(), device, graphed, lr=config.lr_d, betas=betas)
        self.step = wrap(self.train_step, config.cuda_graph, device)
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

    @property
    def sampler(self) -> Generator:
        """The network whose images are the run's samples: the average, or the generator."""
        return self.G if self.G_average is None else self.G_average

    def state_dict(self) -> dict[str, Any]:
        state = {
            "architecture": architecture(self.config),  # what rebuilds the networks
            "generator": self.G.state_dict(),
            "discriminator": self.D.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
        }
        if self.G_average is not None:
            state["generator_average"] = self.G_average.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.G.load_state_dict(state["generator"])
        self.D.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        if self.G_average is not None:
            self.G_average.load_state_dict(state["generator_average"])

    # --- one batch -------------------------------------------------------------------------
    def _noise(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        z = torch.randn(n, self.config.latent_dim, device=self.device)
        if self.train_y is None:
            return z, None
        return z, torch.randint(len(self.classes), (n,), device=self.device)

    def train_step(self, index: torch.Tensor) -> torch.Tensor:
        """One step on the real images ``index``; its 4 statistics (``STATS``) as a vector."""
        x = self.train_x[index]
        y = None if self.train_y is None else self.train_y[index]
        n = len(x)
        # the discriminator: real images towards 1, generated ones towards 0
        z, fake_y = self._noise(n)
        fake = self.G(z, fake_y)
        real_logits, fake_logits = self.D(x, y), self.D(fake.detach(), fake_y)
        d_loss = discriminator_loss(real_logits, fake_logits, self.config.real_target)
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        # the generator, g_steps times: make the updated discriminator call its images real
        self.D.requires_grad_(False)  # its weights' gradients would be thrown away unused
        g_losses = []
        for k in range(self.config.g_steps):
            if k > 0:
                z, fake_y = self._noise(n)
                fake = self.G(z, fake_y)
            g_loss = generator_loss(self.D(fake, fake_y))
            self.opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            self.opt_g.step()
            g_losses.append(g_loss.detach())
        self.D.requires_grad_(True)
        if self.G_average is not None:
            self._update_average()
        d_real, d_fake = torch.sigmoid(real_logits).mean(), torch.sigmoid(fake_logits).mean()
        return torch.stack([torch.stack(g_losses).mean(), d_loss, d_real, d_fake]).detach()

    @torch.no_grad()
    def _update_average(self) -> None:
        """average <- decay * average + (1 - decay) * generator, weight by weight."""
        weight = 1 - self.config.ema_decay
        for average, current in zip(self.G_average.parameters(), self.G.parameters(), strict=True):
            average.lerp_(current, weight)
        for average, current in zip(self.G_average.buffers(), self.G.buffers(), strict=True):
            average.copy_(current)

    def train_epoch(self, epoch: int, bar: Progress) -> dict[str, float]:
        """Every training image once, in a seeded order; the epoch's mean ``STATS``."""
        self.G.train()
        self.D.train()
        batches = list(
            shuffled_batches(len(self.train_x), self.config.batch_size, self.generator, self.device)
        )
        stats = torch.full((len(batches), len(STATS)), float("nan"), device=self.device)
        for batch, index in enumerate(batches, start=1):
            stats[batch - 1] = self.step(index)
            if not bar.step(batch, stats[batch - 1]):
                break  # a NaN read back: epoch_means names its batch
        return epoch_means(stats, batches, STATS)

    @torch.no_grad()
    def samples(self) -> torch.Tensor:
        """The fixed noise batch through the sampler (eval mode), pixels in [0, 1]."""
        self.sampler.eval()
        images = self.sampler(self.fixed_z, self.fixed_labels)
        self.G.train()
        return (images + 1) / 2

    def quality(self) -> dict[str, Any]:
        """Sample-quality metrics of the generator now, on the same seeded noise every time.

        The measures of the final evaluation (``genlab.evaluate``) on the first
        ``quality_samples`` of its samples: Fréchet distance in the classifier's features,
        classes covered, within-class variety and, for the cGAN, the conditional accuracy.
        """
        from genlab.evaluate import gan_images, image_metrics

        images, labels = gan_images(self.sampler, self.config.quality_samples)  # in eval mode
        self.G.train()
        measured = image_metrics(images, self.config.dataset, labels, self.device, reference=False)
        return {k: measured[k] for k in QUALITY_KEYS if k in measured}

    def end_epoch(self, epoch: int, run: Run) -> dict[str, Any]:
        """Save the grid of the fixed noise batch and, every ``quality_every`` epochs and at the
        last, record the sample quality."""
        images = self.samples().cpu()
        path = run.path / sample_name(epoch)
        if self.config.conditional:
            class_grid(images, self.classes, path)
        else:
            save_image(images, path, nrow=8)
        record: dict[str, Any] = {}
        every, last = self.config.quality_every, epoch == self.config.epochs
        if self.config.quality_samples and (epoch % every == 0 or last):
            t = time.perf_counter()
            record["quality"] = self.quality()
            record["quality_seconds"] = time.perf_counter() - t
        return record


def sample_epochs(metrics: dict[str, Any]) -> list[int]:
    """The first, middle and last recorded epochs (fewer when fewer are recorded)."""
    done = [e["epoch"] for e in metrics["epochs"]]
    return sorted({done[0], done[len(done) // 2], done[-1]}) if done else []
