"""Run folders, shared by every model: atomic writes, metrics.json, checkpoints, resume.

A run folder holds ``config.json`` (the parameters that decide the results), ``metrics.json``
(the full config, the device, one record per epoch, the status), the images of each epoch,
the loss-curve plot and ``checkpoint.pt`` (the state after the last complete epoch). Every
file is written to a temporary name and renamed, so a killed run never leaves half a file.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genlab.atomic import atomic_write
from genlab.config import Config
from genlab.data import repo_root
from genlab.provenance import StaleCodeError, code_record, stale_reason

CHECKPOINT = "checkpoint.pt"
EPOCH_IMAGE = re.compile(r"^(sample|reconstruction)_(\d+)\.png$")  # an image of one epoch


def write_json(path: Path | str, obj: Any) -> None:
    text = json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n"
    atomic_write(path, lambda f: f.write(text.encode()))


def read_json(path: Path | str) -> Any:
    return json.loads(Path(path).read_text())


class RunConflictError(ValueError):
    """A run folder that already holds a run with other parameters."""


class RunFileError(ValueError):
    """A file of a run folder that cannot be read back (truncated or corrupted); the message
    names it and what to do. Nothing is written over it."""


def read_run_json(path: Path, remedy: str) -> Any:
    """``read_json(path)``, or a ``RunFileError`` naming the file and ``remedy``."""
    try:
        return read_json(path)
    except (ValueError, UnicodeDecodeError) as e:  # JSONDecodeError is a ValueError
        raise RunFileError(f"{path} is unreadable (truncated or corrupted: {e}); {remedy}") from e


def rng_state(generator: torch.Generator | None = None) -> dict[str, Any]:
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    if generator is not None:
        state["generator"] = generator.get_state()
    return state


def set_rng_state(state: dict[str, Any], generator: torch.Generator | None = None) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if generator is not None:
        generator.set_state(state["generator"])


class Run:
    """One run folder. ``Run.open`` refuses a folder whose parameters differ."""

    def __init__(self, path: Path, config: Config, metrics: dict[str, Any]):
        self.path, self.config, self.metrics = path, config, metrics

    @classmethod
    def open(cls, path: Path | str | None, config: Config) -> Run:
        """Open (creating or resuming) the run folder ``path`` for ``config``.

        ``None`` picks ``results/runs/<model>-<dataset>-<hash>`` at the repository root.
        """
        config.validate()
        path = Path(path) if path is not None else default_run_dir(config)
        saved = path / "config.json"
        start_over = f"delete the folder {path} to train this run again from scratch"
        if saved.exists():
            # a field added after the run was saved takes its default: the run computed that
            before = {**type(config)().identity(), **read_run_json(saved, start_over)}
            if before != config.identity():
                diff = [
                    f"{k}: {before.get(k)!r} -> {v!r}"
                    for k, v in config.identity().items()
                    if before.get(k) != v
                ]
                raise RunConflictError(
                    f"run folder {path} holds a run with other parameters ({'; '.join(diff)}); "
                    "choose another folder, or delete this one to start over"
                )
        else:
            write_json(saved, config.identity())
        metrics_path = path / "metrics.json"
        # without its records a checkpoint is not used (load_checkpoint): the run starts over
        again = "delete it to train this run again from epoch 1, to the same figures"
        metrics = read_run_json(metrics_path, again) if metrics_path.exists() else {}
        if not isinstance(metrics, dict) or not isinstance(metrics.get("epochs", []), list):
            raise RunFileError(f"{metrics_path} is not a run's record; {again}")
        metrics.setdefault("epochs", [])
        reason = stale_reason(metrics.get("code"), config.model) if metrics["epochs"] else None
        if reason:  # its numbers are another code's: never reopened or resumed as this one's
            raise StaleCodeError(
                f"run folder {path} is not this code's result: {reason}; delete the folder to "
                "train it again, or, if the change alters no number, check that and record it: "
                f"python -m genlab restamp {path}"
            )
        metrics["code"] = code_record(config.model)
        metrics["config"] = {"model": config.model, **config.to_dict()}
        metrics.setdefault("status", "running")
        return cls(path, config, metrics)

    # --- metrics ---------------------------------------------------------------------
    @property
    def status(self) -> str:
        return self.metrics["status"]

    @property
    def epochs_done(self) -> int:
        return len(self.metrics["epochs"])

    @property
    def complete(self) -> bool:
        return self.status == "complete" and self.epochs_done >= self.config.epochs

    def update(self, **fields: Any) -> None:
        self.metrics.update(fields)
        self.metrics["updated"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        write_json(self.path / "metrics.json", self.metrics)

    def add_epoch(self, record: dict[str, Any]) -> None:
        self.metrics["epochs"].append(record)
        self.update()

    def series(self, key: str) -> list[float]:
        return [e[key] for e in self.metrics["epochs"]]

    # --- checkpoints -----------------------------------------------------------------
    def save_checkpoint(self, state: dict[str, Any]) -> None:
        atomic_write(self.path / CHECKPOINT, lambda f: torch.save(state, f))

    def load_checkpoint(self, map_location: torch.device | str = "cpu") -> dict[str, Any] | None:
        """The last checkpoint; metrics of epochs after it (a run killed mid-save) are dropped.

        An unreadable checkpoint (truncated, corrupted) is a ``RunFileError`` that says what
        to do; a checkpoint of a later epoch than ``metrics.json`` records (the records were
        lost) is not used: the run starts over, and ends as it would have.
        """
        path = self.path / CHECKPOINT
        if not path.exists():
            if self.metrics["epochs"]:  # metrics without a checkpoint: start over cleanly
                self.metrics["epochs"] = []
            return None
        try:
            state = torch.load(path, map_location=map_location, weights_only=False)
            epoch = state["epoch"]
        except Exception as e:  # zip, pickle, EOF or key errors, depending on the damage
            first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
            raise RunFileError(
                f"{path} is unreadable (truncated or corrupted: {type(e).__name__}: {first}); "
                f"delete it to train this run again from epoch 1 (its {self.epochs_done} "
                "recorded epochs are then trained again, to the same figures)"
            ) from e
        if epoch > self.epochs_done:  # its epochs' records are gone: they cannot be resumed
            self.metrics["epochs"] = []
            return None
        del self.metrics["epochs"][epoch:]
        return state

    def compact_images(self) -> None:
        """Keep the per-epoch images of ``kept_epochs`` only (a finished long run's folder
        would otherwise hold two images for each of its epochs), every PNG in the fewest
        channels that hold it exactly (``genlab.images``; a run saved before that is
        rewritten, its pixels unchanged)."""
        from genlab.images import compact_png_file

        kept = kept_epochs(self.epochs_done)
        for path in sorted(self.path.glob("*.png")):
            match = EPOCH_IMAGE.match(path.name)
            if match and int(match.group(2)) not in kept:
                path.unlink()
            else:
                compact_png_file(path)


def kept_epochs(last: int) -> set[int]:
    """Epochs whose images a finished run keeps: every epoch of a run of at most 10, else the
    first, the middle (the one the notebooks show), the last and the powers of two."""
    if last <= 10:
        return set(range(1, last + 1))
    return {1, last // 2 + 1, last} | {2**k for k in range(1, last.bit_length())}


def default_run_dir(config: Config) -> Path:
    """``results/runs/<model>-<dataset>-<hash>``, the hash of the config and of the code that
    trains it (``genlab.provenance``): changed code trains in a new folder."""
    code = code_record(config.model)["digest"]
    digest = hashlib.sha256(f"{config.digest()} {code}".encode()).hexdigest()[:10]
    name = f"{config.model}-{getattr(config, 'dataset', 'data')}-{digest}"
    return repo_root() / "results" / "runs" / name


def load_metrics(path: Path | str) -> dict[str, Any]:
    """``metrics.json`` of a run folder."""
    return read_json(Path(path) / "metrics.json")
