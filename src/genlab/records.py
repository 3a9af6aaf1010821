"""A run folder's record, ``metrics.json``: one typed schema, which training writes through and
every reader reads through.

``RunRecord`` declares every key of the file and ``EpochRecord`` every key of one epoch (a
VAE's losses, a GAN's losses and discriminator outputs, its sample ``Quality``); a key that
is not declared, or a value of the wrong type, is refused where it is written and where it
is read, naming the key. The file stays plain JSON, so a reader may hold it as a dict
(``Metrics``); ``validated`` is the dict the schema admits, keys as they were given.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

Metrics = dict[str, Any]  # a run's metrics.json, as ``RunRecord`` admits it
Status = Literal["running", "complete", "interrupted", "diverged", "collapsed", "failed"]


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)


class Quality(Record):
    """A GAN's samples measured after an epoch (``genlab.evaluate.image_metrics``)."""

    frechet_distance: float
    classes_covered: int
    class_histogram: list[float]
    kl_from_uniform: float
    within_class_variety: float | None = None
    conditional_accuracy: float | None = None  # a cGAN's


class EpochRecord(Record):
    """One epoch: its mean losses per image (nats), what it measured, how fast it went."""

    epoch: int
    # a VAE's
    train_loss: float | None = None
    test_loss: float | None = None
    test_loss_per_class: list[float | None] | None = None  # None: no test image of the class
    # a GAN's
    generator_loss: float | None = None
    discriminator_loss: float | None = None
    d_real: float | None = None  # the discriminator's mean output on real images
    d_fake: float | None = None  # ... and on generated ones
    quality: Quality | None = None
    quality_seconds: float | None = None
    # how fast, not what it learned: the load of the machine beside it says how much it shared
    seconds: float
    images_per_second: float
    load_1min: float


class CheckpointRecord(Record):
    """The checkpoint written after ``epoch``: its size and SHA-256."""

    epoch: int
    bytes: int
    sha256: str


class RunRecord(Record):
    """Everything ``metrics.json`` holds."""

    config: dict[str, Any]  # the model's name and every field of its config
    code: dict[str, Any] | None = None  # genlab.provenance.code_record, restamps included
    status: Status = "running"
    device: str | None = None
    threads: int | None = None
    cpus: int | None = None
    updated: str | None = None  # UTC, ISO 8601
    epochs: list[EpochRecord] = []
    checkpoint: CheckpointRecord | None = None
    train_seconds: float | None = None
    evaluation: dict[str, Any] | None = None  # genlab.evaluate.evaluate_run
    # why a run ended as it did
    diverged: dict[str, Any] | None = None
    collapsed: dict[str, Any] | None = None
    failed: dict[str, Any] | None = None
    interrupted: dict[str, Any] | None = None


class RecordError(ValueError):
    """A ``metrics.json`` the schema refuses; the message names the first bad key."""


def validated(metrics: Any, where: str = "metrics.json") -> Metrics:
    """``metrics`` as ``RunRecord`` admits it (a dict, the keys as given), or ``RecordError``
    naming the first key that is undeclared or of the wrong type."""
    try:
        record = RunRecord.model_validate(metrics)
    except ValidationError as e:
        first = e.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "the whole file"
        raise RecordError(f"{where} is not a run's record: {key}: {first['msg']}") from None
    return record.model_dump(exclude_unset=True)


def read_record(path: Path | str) -> Metrics:
    """The run record in file ``path``, validated; ``RecordError`` when it is unreadable or
    not a run's record."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise RecordError(f"{path} is unreadable (truncated or corrupted: {e})") from None
    return validated(data, str(path))
