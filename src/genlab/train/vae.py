"""Training the VAE: the classic example's loop and step, on whole tensors, in a run folder.

``train_vae`` is the loop of PyTorch's ``examples/vae/main.py``: for each epoch,
``train_epoch`` (every batch through ``train_step``: the model, its loss
``genlab.models.vae.vae_loss``, ``backward`` and Adam) and ``test_epoch`` (the test loss, a
reconstruction and a sample grid), around which the run folder records the epoch and keeps a
checkpoint (``genlab.train.common``). What makes it fast is around the step, not in it: the
data set is one tensor on the device, a batch is gathered by index from a seeded permutation,
the loss is computed from logits, Adam is fused, the losses stay on the device (no host sync
per batch) and, on a GPU, the whole step is replayed as a CUDA graph
(``genlab.train.cuda_graph``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from genlab.config import VAEConfig
from genlab.data import load, shuffled_batches
from genlab.device import seed_everything
from genlab.health import FINAL
from genlab.images import save_image
from genlab.models.build import architecture, build_models
from genlab.models.vae import per_image_loss, vae_loss
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

RECONSTRUCTIONS = 8  # test images in the top row of the reconstruction grid
SAMPLES = 64  # fixed prior draws decoded every epoch
EVAL_CHUNK = 2000
LOSSES = ("train_loss",)


def train_vae(
    config: VAEConfig | None = None,
    run_dir: str | Path | None = None,
    progress: bool = True,
    **overrides: Any,
) -> Run:
    """Train (or resume, or just reopen when complete) a VAE run; returns its run folder.

    A complete run is evaluated once (``genlab.evaluate``, ``eval_samples`` samples).
    ``overrides`` replace fields of ``config`` (default: the course's ``VAEConfig()``).
    """
    config = (config or VAEConfig()).replace(**overrides)
    run, device = open_run(run_dir, config)  # every check before the first write
    if run.complete:
        reopened(run)
    elif run.status not in FINAL:  # a diverged, collapsed or failed run has ended for good
        trainer = VAETrainer(config, device)
        start = resume(run, trainer, run.load_checkpoint())
        bar = progress_bar(run, trainer.batches_per_epoch, start, progress, LOSSES)
        with recorded_interrupt(run, bar):
            for epoch in range(start, config.epochs + 1):
                t0 = time.perf_counter()
                try:
                    losses = trainer.train_epoch(epoch, bar)
                except Diverged as stop:
                    return diverged(run, epoch, stop, bar)
                seconds = time.perf_counter() - t0
                record = epoch_record(epoch, losses, seconds, trainer.images_per_epoch)
                record.update(trainer.test_epoch(epoch, run))
                save_epoch(run, record, trainer, bar)
            finish(run, bar)
    evaluate_finished(run, device, progress)
    return run


class VAETrainer:
    """The data, the model and its optimizer, one epoch of training and one of testing."""

    def __init__(self, config: VAEConfig, device: torch.device):
        self.config, self.device = config, device
        seed_everything(config.seed)
        limit = lambda n: n or None  # noqa: E731  (0 means the whole split)
        train = load(config.dataset, "train", device=device, limit=limit(config.train_limit))
        test = load(config.dataset, "test", device=device, limit=limit(config.test_limit))
        self.train_x = train.pixels().flatten(1)
        self.test_x, self.test_y = test.pixels().flatten(1), test.labels
        self.test_counts = torch.bincount(test.labels, minlength=len(test.classes))
        self.model = build_models(config)["model"].to(device)
        graphed = use_cuda_graph(config.cuda_graph, device)
        self.optimizer = adam(self.model.parameters(), device, graphed, lr=config.lr)
        self.step = wrap(self.train_step, config.cuda_graph, device)
        self.generator = torch.Generator().manual_seed(config.seed)  # the shuffling
        fixed = torch.Generator().manual_seed(config.seed + 10_000)
        self.fixed_z = torch.randn(SAMPLES, config.latent_dim, generator=fixed).to(device)
        n, bs = len(self.train_x), config.batch_size
        self.images_per_epoch, self.batches_per_epoch = n, -(-n // bs)

    def state_dict(self) -> dict[str, Any]:
        return {
            "architecture": architecture(self.config),  # what rebuilds the model
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])

    def train_step(self, index: torch.Tensor) -> torch.Tensor:
        """One step of the classic example on the images ``index``; their mean loss, (1,)."""
        x = self.train_x[index]
        logits, mu, logvar = self.model(x)
        loss = vae_loss(logits, x, mu, logvar)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return (loss.detach() / len(x)).reshape(1)

    def train_epoch(self, epoch: int, bar: Progress) -> dict[str, float]:
        """Every training image once, in a seeded order; the epoch's mean loss per image."""
        self.model.train()
        batches = list(
            shuffled_batches(len(self.train_x), self.config.batch_size, self.generator, self.device)
        )
        losses = torch.full((len(batches), len(LOSSES)), float("nan"), device=self.device)
        for batch, index in enumerate(batches, start=1):
            losses[batch - 1] = self.step(index)
            if not bar.step(batch, losses[batch - 1]):
                break  # a NaN read back: epoch_means names its batch
        return epoch_means(losses, batches, LOSSES)

    @torch.no_grad()
    def test_epoch(self, epoch: int, run: Run) -> dict[str, Any]:
        """The test loss (per image, and per class), and this epoch's images in ``run``: the
        first test images above their reconstructions, and the fixed prior draws decoded."""
        self.model.eval()
        total = torch.zeros((), device=self.device)
        per_class = torch.zeros(len(self.test_counts), device=self.device)  # summed losses
        first_recon = None
        for x, y in zip(self.test_x.split(EVAL_CHUNK), self.test_y.split(EVAL_CHUNK), strict=True):
            logits, mu, logvar = self.model(x)
            total += vae_loss(logits, x, mu, logvar)
            per_class.index_add_(0, y, per_image_loss(logits, x, mu, logvar))
            if first_recon is None:
                first_recon = torch.sigmoid(logits[:RECONSTRUCTIONS])
        n = min(RECONSTRUCTIONS, len(self.test_x))
        comparison = torch.cat([self.test_x[:n], first_recon[:n]]).view(-1, 1, 28, 28)
        save_image(comparison.cpu(), run.path / f"reconstruction_{epoch}.png", nrow=n)
        samples = self.model.decode(self.fixed_z).view(-1, 1, 28, 28)
        save_image(samples.cpu(), run.path / f"sample_{epoch}.png", nrow=8)
        means = (per_class / self.test_counts).tolist()
        counts = self.test_counts.tolist()  # a class without test images (test_limit): None
        per_class_mean = [m if n else None for m, n in zip(means, counts, strict=True)]
        return {"test_loss": total.item() / len(self.test_x), "test_loss_per_class": per_class_mean}
