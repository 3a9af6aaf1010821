"""Every sentence and table a reader sees, built from runs' metrics.json.

Observations, answers and the course write-up's claims come from here, so every number they
quote was measured and each notebook and ``results/index.html`` state a fact from one function.
This module: parameter tables, source listings, evaluation lists; ``rules``: the statistics
behind the words; ``vae`` and ``gan``: one run's observations and the answers of 4.2, 4.3, 5.3
and 5.5; ``comparison``: 5.6's answer; ``writeup``: the course write-up's claims beside our
numbers; ``answers``: each problem's answer and write-up table from a results folder.
"""

from __future__ import annotations

import inspect
import statistics
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from genlab.config import Config
from genlab.course.grids import PROBLEMS
from genlab.course.report.rules import Spread, variety_words
from genlab.data import FASHION_CLASSES

PACKAGE = Path(__file__).resolve().parents[2]  # src/genlab
Metrics = dict[str, Any]  # a run's metrics.json
Runs = dict[str, dict[str, Any]]  # problem -> point -> metrics.json (5.6: "rows" -> table rows)


def config_table(config: Config) -> str:
    """A markdown table of every parameter: name, value, help line."""
    rows = ["| parameter | value | meaning |", "| --- | --- | --- |"]
    for f in config.fields():
        meaning = f.metadata["help"].replace("|", "\\|")  # a bare | would end the cell
        rows.append(f"| `{f.name}` | `{getattr(config, f.name)!r}` | {meaning} |")
    return "\n".join(rows)


def over_seeds(found: dict[str, dict[str, Any]], problem: str, point: str,
               statistic: Callable[[dict[str, Any]], float | None]) -> Spread | None:  # fmt: skip
    """``statistic`` of every finished seed of a grid point (``found``: run name -> metrics of
    one problem, the points and ``seeds/`` runs), or None when no seed has it."""
    names = [point, *PROBLEMS[problem].replicas(point)]
    values = [statistic(found[n]) for n in names
              if n in found and found[n].get("status") == "complete"]  # fmt: skip
    values = [v for v in values if v is not None]
    return Spread(tuple(values)) if values else None


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


def ablation_markdown(path: Path | None = None, seeds: Path | None = None) -> str:
    """The cGAN ablation table (``scripts/gan_study.py table``), with where it was measured,
    then the seeds study of the weight average (``bench/measured/h200_cgan_seeds.md``)."""
    root = PACKAGE.parents[1]
    path = path or root / "results" / "5.5" / "ablation.md"
    seeds = seeds or root / "bench" / "measured" / "h200_cgan_seeds.md"
    if not path.exists():
        return f"No ablation table at `{path.name}` (made by `bench/gpu.sh`)."
    text = path.read_text()
    if seeds.exists():  # its introduction and result; how the result was reached stays there
        intro, rest = seeds.read_text().split("\n", 1)[1].split("## Result", 1)
        result = rest.split("## How it was measured")[0]
        text += (f"\n\n### The weight average over four seeds\n{intro}{result.strip()}\n\n"
                 f"(`{seeds.relative_to(root).as_posix()}` says how it was measured.)")
    return text


def capitalize(text: str) -> str:
    """``text`` with its first letter upper-case (the rest as it is, unlike ``str.capitalize``)."""
    return text[:1].upper() + text[1:]


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.1f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


def train_seconds(metrics: dict[str, Any]) -> float:
    return sum(e["seconds"] for e in metrics["epochs"])


def training_time(metrics: dict[str, Any]) -> str:
    """"5.9 min on cpu at load 2.8": the time, the device, and the mean 1-minute load over the
    epochs (when recorded), without which a time on a shared machine says little."""
    load = [e["load_1min"] for e in metrics["epochs"] if "load_1min" in e]
    return (f"{duration(train_seconds(metrics))} on {metrics.get('device', '?')}"
            + (f" at load {statistics.fmean(load):.1f}" if load else ""))  # fmt: skip


def class_names(metrics: dict[str, Any]) -> list[str]:
    """The names of a run's ten classes: Fashion-MNIST's, or MNIST's digits "digit 0"..."""
    if metrics["config"].get("dataset") == "fashion-mnist":
        return list(FASHION_CLASSES)
    return [f"digit {i}" for i in range(10)]


def evaluation_markdown(metrics: dict[str, Any]) -> str:
    """The sample-quality measurements of a run (``genlab.evaluate``) as a markdown list."""
    evaluation = metrics.get("evaluation")
    if not evaluation:
        return (
            f"No sample-quality evaluation recorded (status: {metrics.get('status', '?')}; "
            "runs are evaluated when they complete, unless `eval_samples` is 0)."
        )
    names = class_names(metrics)
    lines = [
        f"Classifier: test accuracy {evaluation['classifier_test_accuracy']:.2%} on "
        f"{evaluation['dataset']}; its features measure the distances that follow."
    ]
    parts = [("samples", "generated samples")]
    if "reconstructions" in evaluation:
        parts.append(("reconstructions", "reconstructions of the test split"))
    for key, label in parts:
        m = evaluation[key]
        ref = m.get("reference_distances", {})
        hist = m["class_histogram"]
        top = sorted(range(len(hist)), key=lambda i: -hist[i])[:3]
        top_text = ", ".join(f"{names[i]} {hist[i]:.0%}" for i in top)
        lines.append(
            f"{m['n']:,} {label}: Fréchet distance {m['frechet_distance']:.2f} to the test "
            f"split (real training images: {ref.get('train_vs_test', float('nan')):.2f}, "
            f"uniform noise: {ref.get('noise_vs_test', float('nan')):.1f}); "
            f"{m['classes_covered']} of 10 classes get at least 5% (KL from uniform "
            f"{m['kl_from_uniform']:.3f}); most frequent: {top_text}; least frequent: "
            f"{names[min(range(len(hist)), key=hist.__getitem__)]} "
            f"{min(hist):.1%}."
        )
        if m.get("within_class_variety") is not None:  # defined in the glossary
            variety = m["within_class_variety"]
            lines.append(f"Within-class variety: {variety:.2f}, {variety_words(variety)}.")
        if "conditional_accuracy" in m:
            per = m["conditional_accuracy_per_class"]
            worst = min((i for i in range(len(per)) if per[i] is not None), key=lambda i: per[i])
            lines.append(
                f"Conditional accuracy: the classifier assigns {m['conditional_accuracy']:.1%} "
                f"of the samples to the class they were asked for (lowest: "
                f"{names[worst]}, {per[worst]:.0%}); on real test images "
                f"the same classifier is right {evaluation['classifier_test_accuracy']:.1%} of "
                "the time, the ceiling of this measure."
            )
    return "\n".join(f"- {line}" for line in lines)
