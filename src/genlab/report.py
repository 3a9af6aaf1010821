"""Sentences and tables built from a run's metrics.json, for notebooks and summaries.

Observations in the notebooks come from here, so every number they quote was measured.
"""

from __future__ import annotations

from typing import Any

from genlab.config import Config


def config_table(config: Config) -> str:
    """A markdown table of every parameter: name, value, help line."""
    rows = ["| parameter | value | meaning |", "| --- | --- | --- |"]
    for f in config.fields():
        rows.append(f"| `{f.name}` | `{getattr(config, f.name)!r}` | {f.metadata['help']} |")
    return "\n".join(rows)


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.1f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


def train_seconds(metrics: dict[str, Any]) -> float:
    return sum(e["seconds"] for e in metrics["epochs"])


def vae_observations(metrics: dict[str, Any]) -> str:
    """What a VAE run shows, in sentences whose numbers come from ``metrics``."""
    epochs = metrics["epochs"]
    if not epochs:
        return f"The run has no finished epoch yet (status: {metrics['status']})."
    first, last = epochs[0], epochs[-1]
    drop = 100 * (first["test_loss"] - last["test_loss"]) / first["test_loss"]
    gap = last["test_loss"] - last["train_loss"]
    best = min(epochs, key=lambda e: e["test_loss"])
    lines = [
        f"- Status: **{metrics['status']}** after {len(epochs)} of "
        f"{metrics['config']['epochs']} epochs on `{metrics.get('device', '?')}`, "
        f"{duration(train_seconds(metrics))} of training "
        f"({sum(e['images_per_second'] for e in epochs) / len(epochs):,.0f} images/s).",
        f"- Test loss per image: {first['test_loss']:.2f} nats after epoch 1, "
        f"{last['test_loss']:.2f} after epoch {last['epoch']} ({drop:.1f}% lower); "
        f"the lowest was {best['test_loss']:.2f} at epoch {best['epoch']}.",
        f"- Train loss at the last epoch: {last['train_loss']:.2f}; test minus train: "
        f"{gap:+.2f} nats" + (" (the model starts to overfit)." if gap > 2 else "."),
    ]
    if best["epoch"] < last["epoch"] and last["test_loss"] - best["test_loss"] > 0.1:
        lines.append(
            f"- The test loss rose by {last['test_loss'] - best['test_loss']:.2f} nats after "
            f"epoch {best['epoch']}: longer training no longer helps reconstruction here."
        )
    return "\n".join(lines)
