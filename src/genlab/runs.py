"""Run folders, shared by every model: atomic writes, metrics.json, checkpoints, resume.

A run folder holds ``config.json`` (the parameters that decide the results), ``metrics.json``
(the full config, the code that made it, the device, one record per epoch, the status), the
images of each epoch and ``checkpoint.pt`` (the state after the last complete epoch). Every
file is written to a temporary name and renamed, so a killed run never leaves half a file.
A ``Run`` is the folder alone: the checks that come before training (memory, data, the code
that made the records) are the training's (``genlab.train.common.open_run``).
"""

from __future__ import annotations

import hashlib
import io
import pickle
import re
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genlab.atomic import NoSpaceError, atomic_write, read_json, write_json
from genlab.config import Config
from genlab.datasets import repo_root
from genlab.records import Metrics, RecordError, read_record, validated
from genlab.rngs import rng_state, set_rng_state

CHECKPOINT = "checkpoint.pt"
EPOCH_IMAGE = re.compile(r"^(sample|reconstruction)_(\d+)\.png$")  # an image of one epoch
__all__ = [  # re-exported
    "atomic_write",
    "read_json",
    "repo_root",
    "rng_state",
    "set_rng_state",
    "write_json",
]


class RunConflictError(ValueError):
    """A run folder that already holds a run with other parameters."""


class RunFileError(ValueError):
    """A file of a run folder that cannot be read back (truncated or corrupted); the message
    names it and what to do. Nothing is written over it."""


class RunDirError(ValueError):
    """A ``run_dir`` that cannot be a run folder; the message says why and what would do."""


def check_run_dir(run_dir: Path | str) -> Path:
    """``run_dir`` as a run folder's path, refused before anything is written when it cannot
    be one: empty, the current folder (whose files would mix with a run's), a file, under a
    file, or not creatable. Nothing is left behind by the check."""
    if not str(run_dir).strip():
        raise RunDirError("run_dir '' is empty; give a folder for the run (a new one is made)")
    path = Path(run_dir).expanduser()
    if path.resolve() == Path.cwd().resolve():
        raise RunDirError(
            f"run_dir {str(run_dir)!r} is the current folder; give a folder of its own for the "
            "run, such as ./run"
        )
    if path.exists():
        if not path.is_dir():
            raise RunDirError(f"run_dir {path} is a file, not a folder; give a folder")
        return path
    ancestor = next(p for p in path.absolute().parents if p.exists())
    if not ancestor.is_dir():
        raise RunDirError(f"run_dir {path}: {ancestor} is a file, so no folder can be made in it")
    try:  # creatable: the same as making it, undone at once
        Path(tempfile.mkdtemp(prefix=".genlab-probe-", dir=ancestor)).rmdir()
    except OSError as e:
        raise RunDirError(
            f"run_dir {path} cannot be created in {ancestor} ({e.strerror})"
        ) from None
    return path


def check_writable(path: Path) -> None:
    """Refuse a run folder this process cannot write in (read-only) before computing what
    would be written there."""
    try:
        Path(tempfile.mkdtemp(prefix=".genlab-probe-", dir=path)).rmdir()
    except OSError as e:
        raise RunDirError(f"run folder {path} cannot be written ({e.strerror})") from None


def read_run_json(path: Path, remedy: str) -> Any:
    """``read_json(path)``, or a ``RunFileError`` naming the file and ``remedy``."""
    try:
        return read_json(path)
    except (ValueError, UnicodeDecodeError) as e:  # JSONDecodeError is a ValueError
        raise RunFileError(f"{path} is unreadable (truncated or corrupted: {e}); {remedy}") from e


class Run:
    """One run folder. ``Run.open`` refuses a folder whose parameters differ."""

    def __init__(self, path: Path, config: Config, metrics: dict[str, Any]):
        self.path, self.config, self.metrics = path, config, metrics

    @classmethod
    def read(cls, path: Path | str, config: Config) -> Run:
        """The run folder ``path`` for ``config``, its records read and checked; nothing is
        written. Its parameters must be ``config``'s (``config.json``, or the config
        ``metrics.json`` records when ``config.json`` is gone): another run's folder is a
        ``RunConflictError``, an unreadable record a ``RunFileError``."""
        path = Path(path)
        saved, metrics_path = path / "config.json", path / "metrics.json"
        # without its records a checkpoint is not used (load_checkpoint): the run starts over
        again = "delete it to train this run again from epoch 1, to the same figures"
        metrics = read_metrics(metrics_path, again) if metrics_path.exists() else {}
        metrics.setdefault("epochs", [])
        start_over = f"delete the folder {path} to train this run again from scratch"
        if saved.exists():
            check_same_run(path, read_run_json(saved, start_over), config, saved.name)
        elif isinstance(metrics.get("config"), dict):  # config.json lost: metrics.json says
            check_same_run(path, metrics["config"], config, "metrics.json")
        return cls(path, config, metrics)

    def start(self, code: dict[str, Any] | None = None) -> None:
        """Write ``config.json`` (new, or restored from ``metrics.json``: the same run's) and
        note in the records the config and ``code``, the fingerprint of the code that trains.
        A new folder that a full disk leaves empty is removed: a refused run leaves nothing."""
        if not (self.path / "config.json").exists():
            new_folder = not self.path.exists()
            try:
                write_json(self.path / "config.json", self.config.identity())
            except NoSpaceError:
                if new_folder and not any(self.path.iterdir()):
                    self.path.rmdir()
                raise
        if code is not None:
            self.metrics["code"] = code
        self.metrics["config"] = {"model": self.config.model, **self.config.to_dict()}
        self.metrics.setdefault("status", "running")

    @classmethod
    def open(cls, path: Path | str, config: Config) -> Run:
        """``read`` the run folder ``path`` for ``config``, then ``start`` it."""
        run = cls.read(path, config)
        run.start()
        return run

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

    @property
    def finished(self) -> bool:
        """Complete, as its records say before ``start`` (a new run has no status yet)."""
        return self.metrics.get("status") == "complete" and self.complete

    def update(self, **fields: Any) -> None:
        self.metrics.update(fields)
        self.metrics["updated"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        try:
            write_metrics(self.path, self.metrics)
        except NoSpaceError as e:
            self.stopped_by(e)
            raise

    def stopped_by(self, error: OSError) -> None:
        """Record status ``interrupted`` with ``error`` as the reason, if the disk lets it (a
        full one may not): never left ``running`` by a write that failed."""
        self.metrics.update(status="interrupted", interrupted={"reason": str(error)})
        try:
            write_metrics(self.path, self.metrics)
        except OSError:
            pass  # the message of the first error says what to do

    def add_epoch(self, record: dict[str, Any]) -> None:
        self.metrics["epochs"].append(record)
        self.update()

    def series(self, key: str) -> list[float]:
        return [e[key] for e in self.metrics["epochs"]]

    # --- checkpoints -----------------------------------------------------------------
    def save_checkpoint(self, epoch: int, trainer: dict[str, Any], rng: dict[str, Any]) -> None:
        """Write ``checkpoint.pt`` (after ``epoch``: the ``trainer``'s state and every random
        generator's, ``rng``), then record its size and SHA-256 in ``metrics.json``."""
        state = {"epoch": epoch, "trainer": trainer, "rng": rng}
        buffer = io.BytesIO()
        torch.save(state, buffer)
        data = buffer.getvalue()
        try:
            atomic_write(self.path / CHECKPOINT, lambda f: f.write(data))
        except NoSpaceError as e:
            self.stopped_by(e)
            raise
        digest = hashlib.sha256(data).hexdigest()
        self.update(checkpoint={"epoch": epoch, "bytes": len(data), "sha256": digest})

    def load_checkpoint(self, map_location: torch.device | str = "cpu") -> dict[str, Any] | None:
        """The last checkpoint; metrics of epochs after it (a run killed mid-save) are dropped.

        An unreadable checkpoint (truncated, corrupted), or one whose digest differs from the
        one recorded for its epoch, is a ``RunFileError`` that says what to do; a checkpoint
        of a later epoch than ``metrics.json`` records (the records were lost) is not used:
        the run starts over, and ends as it would have.
        """
        path = self.path / CHECKPOINT
        state = None
        if path.exists():
            remedy = (
                f"delete it to train this run again from epoch 1 (its {self.epochs_done} "
                "recorded epochs are then trained again, to the same figures)"
            )
            state = read_checkpoint(path, self.metrics, remedy, map_location)
            if state["epoch"] > self.epochs_done:  # its epochs' records are gone
                state = None
        if state is None:  # start over cleanly
            self.metrics["epochs"] = []
            self.metrics.pop("checkpoint", None)
        else:
            del self.metrics["epochs"][state["epoch"] :]
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
            if not match:
                continue  # the curves: drawn again from the records when shown
            if int(match.group(2)) not in kept:
                path.unlink()
                continue
            try:
                compact_png_file(path)
            except (OSError, SyntaxError, ValueError) as e:  # PIL's errors for a damaged file
                raise RunFileError(
                    f"{path} is unreadable (truncated or corrupted: {e}); the run's records "
                    f"stand: delete the folder {self.path} to train it again, to the same images"
                ) from None


def check_same_run(path: Path, recorded: Any, config: Config, where: str) -> None:
    """Refuse ``config`` in folder ``path`` when ``recorded`` (the config in its ``where``)
    is another run's; a field added after the run was saved takes its default."""
    defaults = type(config)().identity()
    if not isinstance(recorded, dict):
        raise RunFileError(
            f"{path / where} holds no run config; delete the folder {path} "
            "to train this run again from scratch"
        )
    before = {**defaults, **{k: v for k, v in recorded.items() if k in defaults}}
    if before != config.identity():
        diff = [
            f"{k}: {before.get(k)!r} -> {v!r}"
            for k, v in config.identity().items()
            if before.get(k) != v
        ]
        raise RunConflictError(
            f"run folder {path} holds a run with other parameters ({'; '.join(diff)}; from "
            f"its {where}); choose another folder, or delete this one to start over"
        )


# A checkpoint written before the random states were plain values (genlab.rngs) holds NumPy's
# key as an array: these NumPy types, which rebuild an array and run nothing, are admitted too.
LEGACY_NUMPY = (np._core.multiarray._reconstruct, np.ndarray, np.dtype, type(np.dtype(np.uint32)))


class UnsafeCheckpointError(ValueError):
    """A checkpoint that holds more than tensors and plain values: it was not loaded."""


def load_state(data: bytes, map_location: torch.device | str = "cpu") -> dict[str, Any]:
    """A checkpoint's state, read weights-only (``torch.load(weights_only=True)``): tensors
    and plain values, never code; a pickle that names anything else is refused, unrun, with
    ``UnsafeCheckpointError`` naming what it asked for."""
    try:
        return torch.load(io.BytesIO(data), map_location=map_location, weights_only=True)
    except pickle.UnpicklingError:
        pass
    try:
        with torch.serialization.safe_globals(list(LEGACY_NUMPY)):
            return torch.load(io.BytesIO(data), map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        asked = re.search(r"(?:unsupported|Unsupported global:) GLOBAL ([\w.]+)", str(e))
        if not asked:
            raise  # no object asked for: bytes that are not a checkpoint (damaged)
        raise UnsafeCheckpointError(
            f"is not a checkpoint of genlab: it asks to run {asked.group(1)} when loaded, and "
            "was not loaded (a run folder is data, never code)"
        ) from None


def read_checkpoint(
    path: Path, metrics: dict[str, Any], remedy: str, map_location: torch.device | str = "cpu"
) -> dict[str, Any]:
    """The checkpoint ``path``, checked: readable, and for the epoch ``metrics`` records its
    digest of, that digest. Otherwise a ``RunFileError`` naming it and ``remedy``."""
    data = path.read_bytes()
    try:
        state = load_state(data, map_location)
        epoch = state["epoch"]
    except UnsafeCheckpointError as e:
        raise RunFileError(f"{path} {e}; {remedy}") from None
    except Exception as e:  # zip, pickle, EOF or key errors, depending on the damage
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
        raise RunFileError(
            f"{path} is unreadable (truncated or corrupted: {type(e).__name__}: {first}); {remedy}"
        ) from e
    record = metrics.get("checkpoint")
    digest = hashlib.sha256(data).hexdigest()
    if isinstance(record, dict) and record.get("epoch") == epoch and record.get("sha256") != digest:
        raise RunFileError(
            f"{path} is damaged: its epoch {epoch} checkpoint has {len(data)} bytes and SHA-256 "
            f"{digest[:12]}..., while metrics.json recorded {record.get('bytes')} bytes and "
            f"{str(record.get('sha256'))[:12]}...; {remedy}"
        )
    return state


def run_checkpoint(path: Path | str, map_location: torch.device | str = "cpu") -> dict[str, Any]:
    """The checkpoint of run folder ``path``, checked against its records (``read_checkpoint``)."""
    path = Path(path)
    remedy = f"train the run again in another folder to evaluate it (the records of {path} stand)"
    return read_checkpoint(path / CHECKPOINT, load_metrics(path), remedy, map_location)


def check_checkpoint(path: Path, metrics: dict[str, Any]) -> None:
    """A finished run's checkpoint (when it has one) is the one it recorded: its size and
    digest, or, for a run that recorded none, a checkpoint that loads."""
    ckpt = path / CHECKPOINT
    if not ckpt.exists():
        return
    remedy = (
        f"the run's records in metrics.json stand, but it cannot be evaluated again: "
        f"delete the folder {path} to train it again, to the same figures"
    )
    record = metrics.get("checkpoint")
    if isinstance(record, dict):
        data = ckpt.read_bytes()
        if len(data) == record.get("bytes") and hashlib.sha256(data).hexdigest() == record.get(
            "sha256"
        ):
            return
        raise RunFileError(
            f"{ckpt} is damaged: {len(data)} bytes where metrics.json recorded "
            f"{record.get('bytes')}, or another SHA-256; {remedy}"
        )
    read_checkpoint(ckpt, metrics, remedy)


def kept_epochs(last: int) -> set[int]:
    """Epochs whose images a finished run keeps: every epoch of a run of at most 10, else the
    first, the middle (the one the notebooks show), the last and the powers of two."""
    if last <= 10:
        return set(range(1, last + 1))
    return {1, last // 2 + 1, last} | {2**k for k in range(1, last.bit_length())}


def read_metrics(path: Path, remedy: str) -> Metrics:
    """The run record in file ``path`` (``genlab.records``), or a ``RunFileError`` naming the
    file, the bad key and ``remedy``."""
    try:
        return read_record(path)
    except RecordError as e:
        raise RunFileError(f"{e}; {remedy}") from None


def load_metrics(path: Path | str) -> Metrics:
    """``metrics.json`` of a run folder, as the schema admits it (``RunFileError`` if not)."""
    path = Path(path) / "metrics.json"
    if not path.is_file():
        raise RunFileError(f"{path.parent} holds no metrics.json: it is not a run folder")
    return read_metrics(path, "the folder does not hold a run this code can read")


def write_metrics(path: Path | str, metrics: Metrics) -> None:
    """Write ``metrics.json`` of run folder ``path``, through the schema (``genlab.records``):
    a key it does not declare is refused before anything is written."""
    write_json(Path(path) / "metrics.json", validated(metrics))
