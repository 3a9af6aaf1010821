"""Interrupting training (Ctrl-C inside an epoch, ``kill -9`` of the process) and comparing the
resumed run with an uninterrupted one, for the resume tests of every model."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import torch

from genlab.runs import Run, load_metrics


def ctrl_c_then_resume(
    monkeypatch: pytest.MonkeyPatch,
    train: Callable[..., Run],
    trainer: type,
    run_dir: Path,
    *,
    batch: int | None = None,
    **config: Any,
) -> Run:
    """``train(run_dir=run_dir, **config)`` with Ctrl-C in epoch 2 (at its start, or at its
    batch ``batch``), checks that the run was left ``interrupted`` after epoch 1, then trains
    again and returns the resumed run."""
    if batch is None:
        method, original = "train_epoch", trainer.train_epoch

        def interrupted(self, epoch, progress):
            if epoch == 2:
                raise KeyboardInterrupt
            return original(self, epoch, progress)
    else:
        method, original, calls = "train_step", trainer.train_step, []

        def interrupted(self, index):
            calls.append(index)
            if len(calls) == self.batches_per_epoch + batch:
                raise KeyboardInterrupt
            return original(self, index)

    monkeypatch.setattr(trainer, method, interrupted)
    with pytest.raises(KeyboardInterrupt):
        train(run_dir=run_dir, **config)
    partial = load_metrics(run_dir)
    assert partial["status"] == "interrupted" and len(partial["epochs"]) == 1
    monkeypatch.setattr(trainer, method, original)
    return train(run_dir=run_dir, **config)


def assert_same_results(a: Path, b: Path, series: Sequence[str], networks: Sequence[str]) -> None:
    """Run folder ``b`` is complete and ends exactly as ``a``: every epoch's ``series``, the
    checkpoint's ``networks`` (those the trainer saved) and the last epoch's samples."""
    ma, mb = load_metrics(a), load_metrics(b)
    assert mb["status"] == "complete"
    for key in series:
        assert [e[key] for e in ma["epochs"]] == [e[key] for e in mb["epochs"]]  # bit for bit
    ca = torch.load(a / "checkpoint.pt", weights_only=True)["trainer"]
    cb = torch.load(b / "checkpoint.pt", weights_only=True)["trainer"]
    for net in networks:
        assert (net in ca) == (net in cb), net
        if net in ca:
            assert all(torch.equal(ca[net][k], cb[net][k]) for k in ca[net]), net
    last = len(ma["epochs"])
    assert (a / f"sample_{last}.png").read_bytes() == (b / f"sample_{last}.png").read_bytes()


def kill_inside_second_epoch(cmd: list[str], run_dir: Path, env: dict | None = None) -> dict:
    """Start ``cmd --run-dir run_dir``, SIGKILL it a moment after its first epoch's checkpoint
    is written (so somewhere inside the second), and return the ``metrics.json`` it left."""
    victim = subprocess.Popen([*cmd, "--run-dir", str(run_dir)], env=env)
    metrics = run_dir / "metrics.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and victim.poll() is None:
        if (run_dir / "checkpoint.pt").exists():
            break
        time.sleep(0.05)
    time.sleep(0.3)  # now somewhere inside epoch 2
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    return json.loads(metrics.read_text())
