"""The progress of a run: one tqdm bar for the whole run, in a notebook one output that the bar
and the epoch lines share, and the epoch lines themselves."""

from __future__ import annotations

import sys
from typing import Any

import torch
from tqdm import tqdm

from genlab.runs import Run, kept_epochs


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
    """One bar for the whole run; the loop reports every batch, the bar moves every
    ``log_interval`` batches with the losses ``names``.

    The losses shown are read from the device without waiting for it: each report starts an
    asynchronous copy and shows the previous report's copy once it has arrived, so a GPU is
    never stalled for the sake of the bar.
    """

    def __init__(
        self,
        total: int,
        initial: int,
        log_interval: int,
        enabled: bool,
        desc: str,
        names: tuple[str, ...] = ("loss",),
    ):
        self.log_interval, self.names = log_interval, names
        self.log = NotebookLog() if enabled and in_notebook() else None
        self.bar = tqdm(
            total=total,
            initial=initial,
            disable=not enabled,
            desc=desc,
            unit="batch",
            mininterval=2.0,
            dynamic_ncols=self.log is None,
            file=self.log,
            ncols=150 if self.log else None,  # the label, the bar and the losses in words
            ascii=False if self.log else None,
        )
        self._pending = 0
        self._copy: tuple[torch.Tensor, Any] | None = None

    def step(self, batch: int, losses: torch.Tensor) -> bool:
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
            values = self._copy[0]
            finite = bool(torch.isfinite(values).all())
            shown = ", ".join(
                f"{WORDS.get(name, name)} {v:.3g}"
                for name, v in zip(self.names, values.tolist(), strict=True)
            )
            self.bar.set_postfix_str(shown, refresh=False)
        host = torch.empty(losses.shape, dtype=losses.dtype, pin_memory=losses.is_cuda)
        host.copy_(losses, non_blocking=True)
        event = torch.cuda.Event() if losses.is_cuda else None
        if event is not None:
            event.record()
        self._copy = (host, event)
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


TIMING = ("seconds", "images_per_second", "load_1min")  # how fast, not what it learned
# what an epoch's numbers are called where a reader sees them (the epoch lines, the bar)
WORDS = {
    "train_loss": "train loss",
    "test_loss": "test loss",
    "generator_loss": "G loss",
    "discriminator_loss": "D loss",
    "d_real": "D(x)",
    "d_fake": "D(G(z))",
}


def epoch_lines(run: Run) -> list[str]:
    """The epoch lines training printed (``summary_line`` of the kept epochs), from metrics."""
    kept = kept_epochs(run.config.epochs)
    return [summary_line(r) for r in run.metrics["epochs"] if r["epoch"] in kept]


def summary_line(record: dict[str, Any]) -> str:
    """An epoch's line in words: its losses (nats per image) and the discriminator's outputs
    to 2 decimals, the Fréchet distance of its samples when measured, then how long it took
    (metrics.json holds every number in full)."""
    numbers = [f"{WORDS[key]} {record[key]:,.2f}" for key in WORDS if key in record]
    quality = record.get("quality") or {}
    if "frechet_distance" in quality:
        numbers.append(f"distance {quality['frechet_distance']:.1f}")
    parts = [f"====> Epoch {record['epoch']}", ", ".join(numbers)]
    if all(isinstance(record.get(k), float) for k in TIMING):
        parts.append(
            f"({record['seconds']:.1f} s, {record['images_per_second']:,.0f} "
            f"images/s, load {record['load_1min']:.2f})"
        )
    return "  ".join(parts)
