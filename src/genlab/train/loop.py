"""The epoch loop every model shares: resume, progress, per-epoch records, checkpoints, status."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import torch
from tqdm import tqdm

from genlab.device import resolve_device
from genlab.runs import Run, kept_epochs, rng_state, set_rng_state
from genlab.train.cuda_graph import use_cuda_graph

# an epoch's mean loss beyond this many nats per image has exploded: about 18 times the VAE's
# loss at initialisation (784 ln 2 = 543) and 10^4 times a GAN's (its losses stay near ln 2)
EXPLODED = 1e4

# Collapse, judged once the last epoch is done on the quality the last COLLAPSE_EPOCHS
# measurements recorded (``record["quality"]``, GANs only): the run ends ``collapsed`` when one
# rule holds at every one of them. Several measurements, because a GAN's first epochs can look
# collapsed and recover: the committed 5.5 improved cGAN (seed 3) had 90% of its samples in one
# class and a variety of 0.34 at epoch 1 (its weight average still near the initial generator),
# and at most 11% and at least 0.83 over its last 3 epochs. A run with fewer measurements is
# not judged.
COLLAPSE_EPOCHS = 3
# "one class holding nearly all samples": the largest share of the classifier's classes among
# the samples. Real data gives 0.10 per class; the committed 5.3 and 5.5 runs (all seeds) end
# with at most 0.48 over their last 3 epochs (g_steps3, seed 2); at epoch 1 the improved
# cGAN's weight average reaches 0.90 (seed 3), which is why one epoch alone is never judged.
ONE_CLASS_SHARE = 0.9
# "the samples' spread far below the data's": within-class variety (mean pairwise distance of
# the samples of a class in the classifier's features over the same for real images of the
# class; 1 for real data, 0 for one image repeated) below a quarter of the data's. The
# committed runs' last 3 epochs stay at 0.39 or more (g_steps3, seed 2; every other setting
# 0.79 or more), and their lowest epoch is 0.34.
SPREAD_FLOOR = 0.25


FINAL = ("diverged", "collapsed")  # statuses a run keeps: reopened, never trained again


class Diverged(Exception):
    """A loss became NaN or infinite; ``batch`` is 1-based within the epoch."""

    def __init__(self, batch: int, losses: dict[str, float]):
        super().__init__(f"non-finite loss at batch {batch}: {losses}")
        self.batch, self.losses = batch, losses


class Trainer(Protocol):
    """What a model's trainer gives the shared loop."""

    generator: torch.Generator  # the shuffling generator (checkpointed with the RNGs)
    batches_per_epoch: int
    images_per_epoch: int

    def state_dict(self) -> dict[str, Any]: ...
    def load_state_dict(self, state: dict[str, Any]) -> None: ...
    def train_epoch(self, epoch: int, progress: Progress) -> dict[str, float]: ...
    def end_epoch(self, epoch: int, run: Run) -> dict[str, Any]: ...
    def plot(self, run: Run) -> None: ...


class Progress:
    """One bar for the whole run; trainers report every ``log_interval`` batches.

    The losses shown are read from the device without waiting for it: each report starts an
    asynchronous copy and shows the previous report's copy once it has arrived, so a GPU is
    never stalled for the sake of the bar.
    """

    def __init__(self, total: int, initial: int, log_interval: int, enabled: bool, desc: str):
        self.log_interval = log_interval
        self.bar = tqdm(total=total, initial=initial, disable=not enabled, desc=desc,
                        unit="batch", mininterval=2.0, dynamic_ncols=True)  # fmt: skip
        self._pending = 0
        self._copy: tuple[torch.Tensor, Any, tuple[str, ...]] | None = None

    def step(self, batch: int, losses: torch.Tensor, names: tuple[str, ...]) -> bool:
        """Batch ``batch`` (1-based) is done with ``losses`` (a vector, on any device).

        Returns False once a loss read back is NaN or infinite (the run has diverged).
        """
        self._pending += 1
        if batch % self.log_interval:
            return True
        self.bar.update(self._pending)
        self._pending = 0
        finite = True
        if self._copy is not None and (self._copy[1] is None or self._copy[1].query()):
            values, _, shown = self._copy
            finite = bool(torch.isfinite(values).all())
            self.bar.set_postfix(dict(zip(shown, (f"{v:.4g}" for v in values.tolist()),
                                          strict=True)), refresh=False)  # fmt: skip
        host = torch.empty(losses.shape, dtype=losses.dtype, pin_memory=losses.is_cuda)
        host.copy_(losses, non_blocking=True)
        event = torch.cuda.Event() if losses.is_cuda else None
        if event is not None:
            event.record()
        self._copy = (host, event, names)
        return finite

    def flush(self) -> None:
        self.bar.update(self._pending)
        self._pending = 0

    def write(self, line: str) -> None:
        self.bar.write(line)

    def close(self) -> None:
        self.bar.close()


def train_batches(
    step: Callable[[torch.Tensor], torch.Tensor],
    batches: list[torch.Tensor],
    names: tuple[str, ...],
    progress: Progress,
) -> dict[str, float]:
    """One epoch: ``step(index)`` for each batch of indices; the per-image mean of its losses.

    ``step`` returns a vector of the batch's losses, named by ``names`` (batch means). They
    stay on the device until the epoch ends (or until the progress bar reads back a
    non-finite one); then the first non-finite batch raises ``Diverged``.
    """
    device = batches[0].device
    stats = torch.full((len(batches), len(names)), float("nan"), device=device)
    for i, index in enumerate(batches, start=1):
        stats[i - 1] = step(index)
        if not progress.step(i, stats[i - 1], names):
            break
    bad = ~torch.isfinite(stats).all(1)
    if bool(bad.any()):
        first = int(bad.nonzero()[0])
        raise Diverged(first + 1, dict(zip(names, stats[first].tolist(), strict=True)))
    sizes = torch.tensor([len(b) for b in batches], dtype=stats.dtype, device=device)
    means = (stats * sizes[:, None]).sum(0) / sizes.sum()
    return dict(zip(names, means.tolist(), strict=True))


def fit(trainer: Trainer, run: Run, progress: bool = True) -> Run:
    """Train ``run.config.epochs`` epochs, resuming after the last checkpoint in ``run``.

    Each epoch: train, evaluate and save images, record, plot, checkpoint. A non-finite or
    exploding loss ends the run with status ``diverged``; samples that ``collapse`` after the
    last epoch end it ``collapsed`` (every epoch kept); Ctrl-C leaves status ``interrupted``
    and the last complete epoch's checkpoint, from which the next call resumes.
    """
    if run.complete:
        return run
    state = run.load_checkpoint()
    if state is not None:
        trainer.load_state_dict(state["trainer"])
        set_rng_state(state["rng"], trainer.generator)
    epochs = run.config.epochs
    start = run.epochs_done + 1
    run.update(status="running", device=str(getattr(trainer, "device", "cpu")),
               threads=torch.get_num_threads(), cpus=os.cpu_count())  # fmt: skip
    bar = Progress(
        total=epochs * trainer.batches_per_epoch,
        initial=(start - 1) * trainer.batches_per_epoch,
        log_interval=run.config.log_interval,
        enabled=progress,
        desc=run.path.name,
    )
    if start > 1:
        bar.write(f"resuming {run.path} after epoch {start - 1}")
    try:
        for epoch in range(start, epochs + 1):
            t0 = time.perf_counter()
            try:
                record: dict[str, Any] = trainer.train_epoch(epoch, bar)
            except Diverged as d:
                bar.flush()
                run.update(status="diverged", diverged={"epoch": epoch, "batch": d.batch,
                                                        "losses": d.losses})  # fmt: skip
                bar.write(f"{run.path.name}: diverged at epoch {epoch}, batch {d.batch}")
                return run
            seconds = time.perf_counter() - t0
            bar.flush()
            exploded = {k: v for k, v in record.items()
                        if k.endswith("_loss") and abs(v) > EXPLODED}  # fmt: skip
            if exploded:  # finite, but no longer training anything: stop like a NaN
                run.update(status="diverged", diverged={
                    "epoch": epoch, "batch": trainer.batches_per_epoch, "losses": exploded,
                    "reason": f"epoch mean loss above {EXPLODED:g} nats per image"})  # fmt: skip
                bar.write(f"{run.path.name}: diverged at epoch {epoch} (exploding loss)")
                return run
            # wall time depends on what shared the machine: the load beside it says how much
            record = {"epoch": epoch, **record, "seconds": seconds,
                      "images_per_second": trainer.images_per_epoch / seconds,
                      "load_1min": os.getloadavg()[0]}  # fmt: skip
            record.update(trainer.end_epoch(epoch, run))
            run.add_epoch(record)
            trainer.plot(run)
            run.save_checkpoint({"epoch": epoch, "trainer": trainer.state_dict(),
                                 "rng": rng_state(trainer.generator)})  # fmt: skip
            if epoch in kept_epochs(epochs):  # a few lines for any length; all in metrics.json
                bar.write(summary_line(record))
        collapsed = collapse(run.metrics["epochs"])
        if collapsed:  # trained to the end, and its samples say so: not "complete"
            run.update(status="collapsed", collapsed=collapsed,
                       train_seconds=sum(run.series("seconds")))  # fmt: skip
            bar.write(f"{run.path.name}: collapsed ({collapsed['reason']})")
        else:
            run.update(status="complete", train_seconds=sum(run.series("seconds")))
        run.compact_images()
    except KeyboardInterrupt:
        run.update(status="interrupted")
        raise
    finally:
        bar.close()
    return run


def collapse(epochs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Why the run collapsed (``COLLAPSE_EPOCHS`` measured epochs that each hold nearly all
    samples in one class, or each have a spread far below the data's), or ``None``."""
    measured = [e for e in epochs if isinstance(e.get("quality"), dict)][-COLLAPSE_EPOCHS:]
    if len(measured) < COLLAPSE_EPOCHS:
        return None
    shares = [max(e["quality"].get("class_histogram") or [0.0]) for e in measured]
    spreads = [e["quality"].get("within_class_variety") for e in measured]
    which = [e["epoch"] for e in measured]
    if all(s >= ONE_CLASS_SHARE for s in shares):
        return {"rule": "one_class", "epochs": which, "values": shares,
                "reason": f"one class holds at least {ONE_CLASS_SHARE:.0%} of the samples in "
                          f"each of epochs {', '.join(map(str, which))}"}  # fmt: skip
    if all(v is not None and v < SPREAD_FLOOR for v in spreads):
        return {"rule": "spread", "epochs": which, "values": spreads,
                "reason": f"within-class variety below {SPREAD_FLOOR:g} of the data's in each "
                          f"of epochs {', '.join(map(str, which))}"}  # fmt: skip
    return None


def train(
    config: Any,
    make_trainer: Callable[[Any, torch.device], Trainer],
    run_dir: str | Path | None,
    progress: bool,
) -> Run:
    """Open the run folder, train what is missing, evaluate the complete run once.

    The device is resolved (and every parameter checked) before anything is written.
    """
    device = resolve_device(config.device, config.no_cuda)
    use_cuda_graph(config.cuda_graph, device)  # refuses "on" without CUDA
    run = Run.open(run_dir, config)
    if not run.complete and run.status not in FINAL:  # a diverged or collapsed run is final
        fit(make_trainer(config, device), run, progress=progress)
    elif run.complete:
        run.compact_images()  # a run finished before images were thinned or compacted
        print(f"reopened the finished run in {run.path.name}/; the epoch lines it printed:")
        print("\n".join(epoch_lines(run)))
    n = config.eval_samples
    if n and run.status == "complete":
        from genlab.evaluate import evaluate_run, is_current

        if not is_current(run.metrics.get("evaluation"), n):
            run.update(evaluation=evaluate_run(run.path, n=n, device=device.type, write=False))
    return run


def epoch_lines(run: Run) -> list[str]:
    """The epoch lines training printed (``summary_line`` of the kept epochs), from metrics."""
    kept = kept_epochs(run.config.epochs)
    return [summary_line(r) for r in run.metrics["epochs"] if r["epoch"] in kept]


def summary_line(record: dict[str, Any]) -> str:
    parts = [f"====> Epoch {record['epoch']}"]
    for key, value in record.items():
        if key != "epoch" and isinstance(value, float):
            parts.append(f"{key} {value:.4f}" if abs(value) < 1e4 else f"{key} {value:.0f}")
    return "  ".join(parts)
