"""Sentences and tables built from a run's metrics.json, for notebooks and summaries.

Observations in the notebooks come from here, so every number they quote was measured.
"""

from __future__ import annotations

import inspect
import textwrap
from pathlib import Path
from typing import Any

from genlab.config import Config

PACKAGE = Path(__file__).resolve().parent


def config_table(config: Config) -> str:
    """A markdown table of every parameter: name, value, help line."""
    rows = ["| parameter | value | meaning |", "| --- | --- | --- |"]
    for f in config.fields():
        rows.append(f"| `{f.name}` | `{getattr(config, f.name)!r}` | {f.metadata['help']} |")
    return "\n".join(rows)


def source_markdown(*objects: Any) -> str:
    """The source of each class or function, as it is in the package, in Markdown code blocks.

    Notebooks show the model, its loss and the training step this way, so what a reader sees
    is the code that ran, never a copy of it.
    """
    blocks = []
    for obj in objects:
        path = Path(inspect.getsourcefile(obj)).resolve().relative_to(PACKAGE.parent)
        blocks.append(f"`{path.as_posix()}`: `{obj.__qualname__}`\n\n```python\n"
                      f"{textwrap.dedent(inspect.getsource(obj)).rstrip()}\n```")  # fmt: skip
    return "\n\n".join(blocks)


def ablation_markdown(path: Path | None = None) -> str:
    """The cGAN ablation table (``scripts/gan_study.py table``), with where it was measured."""
    path = path or PACKAGE.parents[1] / "results" / "5.5" / "ablation.md"
    if not path.exists():
        return f"No ablation table at `{path.name}` (made by `bench/gpu.sh`)."
    return (
        "Measured by `scripts/gan_study.py` (run by `bench/gpu.sh`) on one NVIDIA H200, torch "
        "2.11, 40 epochs per run, seed 1, one run per row: distances and shares of 10,000 "
        "samples after the last epoch, in eval mode; the last column the same generator "
        "sampled with batch statistics. Single runs: differences of a point or two are within "
        "seed-to-seed noise.\n\n" + path.read_text()
    )


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


def evaluation_markdown(metrics: dict[str, Any]) -> str:
    """The sample-quality measurements of a run (``genlab.evaluate``) as a markdown list."""
    evaluation = metrics.get("evaluation")
    if not evaluation:
        return (
            f"No sample-quality evaluation recorded (status: {metrics.get('status', '?')}; "
            "runs are evaluated when they complete, unless `eval_samples` is 0)."
        )
    names = None
    if metrics["config"].get("dataset") == "fashion-mnist":
        from genlab.data import FASHION_CLASSES as names
    lines = [
        f"Classifier: test accuracy {evaluation['classifier_test_accuracy']:.2%} on "
        f"{evaluation['dataset']}; its features measure the distances below."
    ]
    parts = [("samples", "generated samples")]
    if "reconstructions" in evaluation:
        parts.append(("reconstructions", "reconstructions of the test split"))
    for key, label in parts:
        m = evaluation[key]
        ref = m.get("reference_distances", {})
        hist = m["class_histogram"]
        top = sorted(range(len(hist)), key=lambda i: -hist[i])[:3]
        top_text = ", ".join(f"{names[i] if names else i} {hist[i]:.0%}" for i in top)
        lines.append(
            f"{m['n']:,} {label}: Fréchet distance {m['frechet_distance']:.2f} to the test "
            f"split (real training images: {ref.get('train_vs_test', float('nan')):.2f}, "
            f"uniform noise: {ref.get('noise_vs_test', float('nan')):.1f}); "
            f"{m['classes_covered']} of 10 classes get at least 5% (KL from uniform "
            f"{m['kl_from_uniform']:.3f}); most frequent: {top_text}; least frequent: "
            f"{names[min(range(len(hist)), key=hist.__getitem__)] if names else ''} "
            f"{min(hist):.1%}."
        )
        if m.get("within_class_variety") is not None:
            lines.append(
                f"Within-class variety: {m['within_class_variety']:.2f} (the mean distance "
                "between two images of one class, relative to real test images of that class, "
                "averaged over classes; 1: as varied as the data, 0: one image repeated)."
            )
        if "conditional_accuracy" in m:
            per = m["conditional_accuracy_per_class"]
            worst = min((i for i in range(len(per)) if per[i] is not None), key=lambda i: per[i])
            lines.append(
                f"Conditional accuracy: the classifier assigns {m['conditional_accuracy']:.1%} "
                f"of the samples to the class they were asked for (lowest: "
                f"{names[worst] if names else worst}, {per[worst]:.0%}); on real test images "
                f"the same classifier is right {evaluation['classifier_test_accuracy']:.1%} of "
                "the time, the ceiling of this measure."
            )
    return "\n".join(f"- {line}" for line in lines)
