"""What a training entry point (``train_vae``, ``train_gan``) does before and after its loop:
every check that comes before the first write (``open_run``), reopening a finished run, the
verdict on a run trained to its end (``finish``) and its final evaluation."""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from genlab.config import Config
from genlab.data import fetch, repo_root
from genlab.device import resolve_device
from genlab.health import broken, collapse
from genlab.memory import check_fits
from genlab.provenance import StaleCodeError, code_record, stale_reason
from genlab.runs import Run, check_checkpoint, check_run_dir, check_writable
from genlab.train.cuda_graph import use_cuda_graph
from genlab.train.progress import Progress, epoch_lines


def open_run(run_dir: str | Path | None, config: Config) -> tuple[Run, torch.device]:
    """The run folder of ``config`` and the device it trains on, after every check that comes
    before the first write: the device, the memory the run needs, the folder's records (its
    parameters, and that this code made them), a finished run's checkpoint, the data."""
    device = resolve_device(config.device, config.no_cuda)
    use_cuda_graph(config.cuda_graph, device)  # refuses "on" without CUDA
    check_fits(config)
    run = Run.read(
        check_run_dir(run_dir) if run_dir is not None else default_run_dir(config), config
    )
    reason = stale_reason(run.metrics.get("code"), config.model) if run.epochs_done else None
    if reason:  # its numbers are another code's: never reopened or resumed as this one's
        raise StaleCodeError(
            f"run folder {run.path} is not this code's result: {reason}; move the folder aside "
            "(or choose another run_dir) to train it again, or, if the change alters no number, "
            f"check that and record it: python -m genlab restamp {run.path}"
        )
    if run.finished:
        check_checkpoint(run.path, run.metrics)
    else:
        fetch(config.dataset)  # the data verified (or provided, and said so) first
    run.start(code_record(config.model))
    return run, device


def default_run_dir(config: Config) -> Path:
    """``results/runs/<model>-<dataset>-<hash>``, the hash of the config and of the code that
    trains it (``genlab.provenance``): changed code trains in a new folder."""
    code = code_record(config.model)["digest"]
    digest = hashlib.sha256(f"{config.digest()} {code}".encode()).hexdigest()[:10]
    name = f"{config.model}-{getattr(config, 'dataset', 'data')}-{digest}"
    return repo_root() / "results" / "runs" / name


def evaluate_finished(run: Run, device: torch.device, progress: bool) -> None:
    """Evaluate a complete run once on ``eval_samples`` samples (``genlab.evaluate``)."""
    n = run.config.eval_samples
    if not n or run.status != "complete":
        return
    from genlab.evaluate import evaluate_run, is_current

    if not is_current(run.metrics.get("evaluation"), n):
        check_writable(run.path)  # before the evaluation is computed
        if progress:
            print(f"evaluating the finished run on {n:,} samples...", flush=True)
        run.update(evaluation=evaluate_run(run.path, n=n, device=device.type, write=False))


def reopened(run: Run) -> None:
    """Say that a finished run was reopened, with the epoch lines its training printed."""
    run.compact_images()  # a run finished before images were thinned or compacted
    lines = epoch_lines(run)
    thinned = ""
    if len(lines) != run.epochs_done:
        thinned = (
            f" ({len(lines)} of its {run.epochs_done} epochs: the first, the middle, the last "
            "and the powers of two; metrics.json holds every epoch)"
        )
    print(
        f"reopened the finished run in {run.path.name}/; the epoch lines it printed"
        f"{thinned}:\n" + "\n".join(lines)
    )


def finish(run: Run, bar: Progress) -> None:
    """The verdict on a run trained to its end: ``collapsed`` or ``failed`` (broken, with the
    reason: ``genlab.health``), else ``complete``; then its images thinned."""
    seconds = sum(run.series("seconds"))
    collapsed = collapse(run.metrics["epochs"])
    failed = None if collapsed else broken(run.metrics)
    if collapsed:  # trained to the end, and its samples say so: not "complete"
        run.update(status="collapsed", collapsed=collapsed, train_seconds=seconds)
        bar.write(f"{run.path.name}: collapsed ({collapsed['reason']})")
    elif failed:
        run.update(status="failed", failed={"reason": failed}, train_seconds=seconds)
        bar.write(f"{run.path.name}: failed: {failed}")
    else:
        run.update(status="complete", train_seconds=seconds)
    run.compact_images()
