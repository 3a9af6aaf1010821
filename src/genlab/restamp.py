"""``python -m genlab restamp RUN_DIR...``: keep a run whose code changed only in form.

A refactor changes the code digest of a run (``genlab.provenance``) without changing any of
its numbers, and would otherwise force every run in ``results/`` to train again. ``restamp``
trains the run's first epoch again with the current code, in a temporary folder and with the
run's recorded number of CPU threads, and compares every number of that epoch with the one
recorded. Only when all are bit-identical does it record the current code in the run (with
the date and the digest it replaces); otherwise it names the first numbers that differ, and
the run must be trained again. One epoch is a check, not a proof: a change that acts only in
later epochs passes it, so restamp after refactors, never after a change meant to alter
training.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from genlab.config import GANConfig, VAEConfig
from genlab.provenance import code_record, stale_reason
from genlab.runs import load_metrics, write_json

CONFIGS = {"vae": VAEConfig, "gan": GANConfig}
TIMING = ("seconds", "images_per_second", "load_1min", "quality_seconds")  # not numbers of a run


def differences(recorded: Any, again: Any, where: str = "") -> list[str]:
    """Where ``again`` differs from ``recorded`` (nested dicts and lists, exact values); a
    number the run did not record (measured by later code) is not compared."""
    if isinstance(recorded, dict) and isinstance(again, dict):
        keys = [k for k in recorded if k not in TIMING]
        return [d for k in keys for d in differences(recorded.get(k), again.get(k), f"{where}.{k}")]
    if isinstance(recorded, list) and isinstance(again, list) and len(recorded) == len(again):
        return [d for i, (a, b) in enumerate(zip(recorded, again, strict=True))
                for d in differences(a, b, f"{where}[{i}]")]  # fmt: skip
    return [] if recorded == again else [f"{where.lstrip('.')}: {recorded!r} -> {again!r}"]


def restamp(run_dir: Path | str) -> str:
    """Check ``run_dir``'s first epoch against the current code and record the code if it
    reproduces; returns a one-line verdict. Raises ``ValueError`` when it does not."""
    from genlab.train import train_run

    run_dir = Path(run_dir)
    metrics = load_metrics(run_dir)
    model = metrics["config"]["model"]
    reason = stale_reason(metrics.get("code"), model)
    if reason is None:
        return f"{run_dir}: already this code's result"
    recorded = metrics["epochs"][0]
    fields = {k: v for k, v in metrics["config"].items() if k != "model"}
    config = CONFIGS[model].from_dict(fields).replace(epochs=1, eval_samples=0)
    threads = torch.get_num_threads()
    torch.set_num_threads(metrics.get("threads") or threads)
    try:
        with tempfile.TemporaryDirectory(prefix="restamp-") as tmp:
            again = train_run(config, run_dir=Path(tmp) / "run", progress=False).metrics
    finally:
        torch.set_num_threads(threads)
    diff = differences(recorded, again["epochs"][0])
    if diff:
        raise ValueError(
            f"{run_dir}: epoch 1 does not reproduce with this code ({'; '.join(diff[:3])}); "
            "train the run again"
        )
    before = (metrics.get("code") or {}).get("digest")
    metrics["code"] = {**code_record(model), "restamped": {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "replaces": before, "check": "epoch 1 bit-identical"}}  # fmt: skip
    write_json(run_dir / "metrics.json", metrics)
    return f"{run_dir}: epoch 1 reproduces bit-identically ({reason.split(':')[0]}); code recorded"
