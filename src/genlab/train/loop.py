"""The epoch loop every model shares: resume, progress, per-epoch records, checkpoints, status."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import torch
from tqdm import tqdm

from genlab.device import resolve_device
from genlab.health import FINAL, broken, collapse
from genlab.runs import Run, kept_epochs, rng_state, set_rng_state
from genlab.train.cuda_graph import use_cuda_graph

# an epoch's mean loss beyond this many nats per image has exploded: about 18 times the VAE's
# loss at initialisation (784 ln 2 = 543) and 10^4 times a GAN's (its losses stay near ln 2)
EXPLODED = 1e4


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


def in_notebook() -> bool:
    """Whether this code runs in a Jupyter kernel (papermill and nbclient included)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and hasattr(shell, "kernel")


class NotebookLog:
    """Where the bar and the run's lines go in a notebook: one output, updated in place.

    A notebook stores every write of a bar to stderr as an output of its own (a 10-epoch run
    left 192 in one cell); here tqdm writes into this object, and the lines written so far and
    the bar's last state are shown as one display that each write updates.
    """

    def __init__(self) -> None:
        from IPython.display import display

        self.lines: list[str] = []
        self.bar = ""
        self.handle = display({"text/plain": ""}, raw=True, display_id=True)

    def write(self, text: str) -> None:  # tqdm's file: "\r" and the bar, each refresh
        last = text.split("\r")[-1].strip()
        if last:
            self.bar = last
            self.show()

    def flush(self) -> None:
        pass

    def line(self, text: str) -> None:
        self.lines.append(text)
        self.show()

    def show(self) -> None:
        text = "\n".join([*self.lines, self.bar] if self.bar else self.lines)
        self.handle.update({"text/plain": text}, raw=True)


class Progress:
    """One bar for the whole run; trainers report every ``log_interval`` batches.

    The losses shown are read from the device without waiting for it: each report starts an
    asynchronous copy and shows the previous report's copy once it has arrived, so a GPU is
    never stalled for the sake of the bar. In a notebook the bar and the epoch lines are one
    output (``NotebookLog``).
    """

    def __init__(self, total: int, initial: int, log_interval: int, enabled: bool, desc: str):
        self.log_interval = log_interval
        self.log = NotebookLog() if enabled and in_notebook() else None
        self.bar = tqdm(total=total, initial=initial, disable=not enabled, desc=desc,
                        unit="batch", mininterval=2.0, dynamic_ncols=self.log is None,
                        file=self.log, ncols=100 if self.log else None,
                        ascii=False if self.log else None)  # fmt: skip
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
        if self.log is not None:
            self.log.line(line)
        else:
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
        desc=describe(run.config),
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
        seconds = sum(run.series("seconds"))
        collapsed = collapse(run.metrics["epochs"])
        failed = None if collapsed else judged_broken(run)
        if collapsed:  # trained to the end, and its samples say so: not "complete"
            run.update(status="collapsed", collapsed=collapsed, train_seconds=seconds)
            bar.write(f"{run.path.name}: collapsed ({collapsed['reason']})")
        elif failed:
            run.update(status="failed", failed={"reason": failed}, train_seconds=seconds)
            bar.write(f"{run.path.name}: failed: {failed}")
        else:
            run.update(status="complete", train_seconds=seconds)
        run.compact_images()
    except KeyboardInterrupt:
        run.update(status="interrupted")
        raise
    finally:
        bar.close()
    return run


def judged_broken(run: Run) -> str | None:
    """``genlab.health.broken`` on the finished run, leaving every random generator as it was
    (measuring noise may build the classifier, which draws)."""
    state = rng_state()
    try:
        return broken(run.metrics)
    finally:
        set_rng_state(state)


def describe(config: Any) -> str:
    """The bar's label: what trains, in words."""
    return f"{config.model.upper()} on {config.dataset}, seed {config.seed}"


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
        lines = epoch_lines(run)
        thinned = "" if len(lines) == run.epochs_done else (
            f" ({len(lines)} of its {run.epochs_done} epochs: the first, the middle, the last "
            "and the powers of two; metrics.json holds every epoch)")  # fmt: skip
        print(f"reopened the finished run in {run.path.name}/; the epoch lines it printed"
              f"{thinned}:\n" + "\n".join(lines))  # fmt: skip
    n = config.eval_samples
    if n and run.status == "complete":
        from genlab.evaluate import evaluate_run, is_current

        if not is_current(run.metrics.get("evaluation"), n):
            if progress:
                print(f"evaluating the finished run on {n:,} samples...", flush=True)
            run.update(evaluation=evaluate_run(run.path, n=n, device=device.type, write=False))
    return run


def epoch_lines(run: Run) -> list[str]:
    """The epoch lines training printed (``summary_line`` of the kept epochs), from metrics."""
    kept = kept_epochs(run.config.epochs)
    return [summary_line(r) for r in run.metrics["epochs"] if r["epoch"] in kept]


TIMING = ("seconds", "images_per_second", "load_1min")  # how fast, not what it learned


def summary_line(record: dict[str, Any]) -> str:
    """An epoch's line: its numbers at 4 decimals, then how long it took, rounded."""
    parts = [f"====> Epoch {record['epoch']}"]
    for key, value in record.items():
        if key not in ("epoch", *TIMING) and isinstance(value, float):
            parts.append(f"{key} {value:.4f}" if abs(value) < 1e4 else f"{key} {value:.0f}")
    if all(isinstance(record.get(k), float) for k in TIMING):
        parts.append(f"({record['seconds']:.1f} s, {record['images_per_second']:,.0f} "
                     f"images/s, load {record['load_1min']:.2f})")  # fmt: skip
    return "  ".join(parts)
