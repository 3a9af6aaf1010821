"""What every model's training loop calls around its epochs.

Each model's loop (``genlab.train.vae``, ``genlab.train.gan``) reads top to bottom, as in
PyTorch's examples: ``resume``, then for each epoch the model's own ``train_epoch`` (its
batches and its step, the losses through ``epoch_means``) and its end-of-epoch images and
measures, ``epoch_record`` and ``save_epoch``; after the last, ``finish`` (the verdict on the
run). A non-finite or exploding loss is ``Diverged``; Ctrl-C leaves the run ``interrupted``
with its last complete epoch's checkpoint, from which the next call resumes. Before and after
the loop: ``genlab.train.entry``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from genlab.health import EXPLODED_LOSS
from genlab.rngs import rng_state, set_rng_state
from genlab.runs import Run, kept_epochs
from genlab.train.progress import Progress, summary_line


class Diverged(Exception):
    """A loss became NaN or infinite, or exploded; ``batch`` is 1-based within the epoch."""

    def __init__(self, batch: int, losses: dict[str, float], reason: str | None = None):
        super().__init__(reason or f"non-finite loss at batch {batch}: {losses}")
        self.batch, self.losses, self.reason = batch, losses, reason


def resume(run: Run, trainer: Any, state: dict[str, Any] | None) -> int:
    """Put ``trainer`` (its networks, optimizers and shuffling ``generator``) and every random
    generator where checkpoint ``state`` left them (None: the start); the first epoch to train."""
    if state is not None:
        trainer.load_state_dict(state["trainer"])
        set_rng_state(state["rng"], trainer.generator)
    run.metrics.pop("interrupted", None)  # why it stopped last time: it goes on now
    run.update(
        status="running",
        device=str(trainer.device),
        threads=torch.get_num_threads(),
        cpus=os.cpu_count(),
    )
    return run.epochs_done + 1


def progress_bar(
    run: Run, batches_per_epoch: int, start: int, enabled: bool, names: tuple[str, ...]
) -> Progress:
    """One bar for the whole run, started at epoch ``start``."""
    config = run.config
    bar = Progress(
        total=config.epochs * batches_per_epoch,
        initial=(start - 1) * batches_per_epoch,
        log_interval=config.log_interval,
        enabled=enabled,
        desc=f"{config.model.upper()} on {config.dataset}, seed {config.seed}",
        names=names,
    )
    if start > 1:
        bar.write(f"resuming {run.path} after epoch {start - 1}")
    return bar


@contextmanager
def recorded_interrupt(run: Run, bar: Progress) -> Iterator[None]:
    """Ctrl-C inside leaves the run ``interrupted`` (its last checkpoint is whole); the bar is
    closed however the loop ends."""
    try:
        yield
    except KeyboardInterrupt:
        run.update(status="interrupted")
        raise
    finally:
        bar.close()


# --- each epoch ----------------------------------------------------------------------------
def epoch_means(
    losses: torch.Tensor, batches: list[torch.Tensor], names: tuple[str, ...]
) -> dict[str, float]:
    """The per-image means over an epoch of ``losses`` (one row of batch means per batch of
    indices ``batches``, named by ``names``); ``Diverged`` at the first non-finite batch, or
    when a mean loss exploded (``genlab.health.EXPLODED_LOSS``)."""
    bad = ~torch.isfinite(losses).all(1)
    if bool(bad.any()):
        first = int(bad.nonzero()[0])
        raise Diverged(first + 1, dict(zip(names, losses[first].tolist(), strict=True)))
    sizes = torch.tensor([len(b) for b in batches], dtype=losses.dtype, device=losses.device)
    means = dict(zip(names, ((losses * sizes[:, None]).sum(0) / sizes.sum()).tolist(), strict=True))
    exploded = {k: v for k, v in means.items() if k.endswith("_loss") and abs(v) > EXPLODED_LOSS}
    if exploded:  # finite, but no longer training anything: stop like a NaN
        reason = f"epoch mean loss above {EXPLODED_LOSS:g} nats per image"
        raise Diverged(len(batches), exploded, reason)
    return means


def diverged(run: Run, epoch: int, stop: Diverged, bar: Progress) -> Run:
    """End the run ``diverged`` at ``epoch``, with the batch and the losses."""
    bar.flush()
    record = {"epoch": epoch, "batch": stop.batch, "losses": stop.losses}
    if stop.reason:
        record["reason"] = stop.reason
    run.update(status="diverged", diverged=record)
    where = "(exploding loss)" if stop.reason else f"batch {stop.batch}"
    bar.write(f"{run.path.name}: diverged at epoch {epoch}, {where}")
    return run


def epoch_record(epoch: int, losses: dict[str, float], seconds: float, images: int) -> dict:
    """An epoch's record: its mean losses, and how fast it went (wall time depends on what
    shared the machine: the load beside it says how much)."""
    return {
        "epoch": epoch,
        **losses,
        "seconds": seconds,
        "images_per_second": images / seconds,
        "load_1min": os.getloadavg()[0],
    }


def save_epoch(run: Run, record: dict[str, Any], trainer: Any, bar: Progress) -> None:
    """Record the epoch, checkpoint the trainer and every random generator, and print the
    epoch's line when its images are kept (a few lines for any length of run)."""
    run.add_epoch(record)
    run.save_checkpoint(record["epoch"], trainer.state_dict(), rng_state(trainer.generator))
    bar.flush()
    if record["epoch"] in kept_epochs(run.config.epochs):
        bar.write(summary_line(record))
