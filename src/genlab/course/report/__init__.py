"""Every sentence and table a reader sees, built from runs' metrics.json.

``stats``: every statistic, declared once (``glossary`` is generated from the declarations);
``measures``: how one run's value of each is computed; ``values``: their values per setting
over seeds; ``claims``: the checks an answer's comparisons carry, and the rendering of the
authored answers (``genlab/course/answers/<problem>.md``); ``writeup``: the course write-up's
claims judged by the same checks; ``answers``: each problem's answer and write-up table from a
results folder. This module: parameter tables, source listings, capitalisation, durations.
"""

from __future__ import annotations

import inspect
import textwrap
from pathlib import Path
from typing import Any

from genlab.config import Config
from genlab.course.grids import CGAN_GRID

PACKAGE = Path(__file__).resolve().parents[2]  # src/genlab


def config_table(config: Config) -> str:
    """A markdown table of every parameter: name, value, help line."""
    rows = ["| parameter | value | meaning |", "| --- | --- | --- |"]
    for name, info in type(config).model_fields.items():
        meaning = info.description.replace("|", "\\|")  # a bare | would end the cell
        rows.append(f"| `{name}` | `{getattr(config, name)!r}` | {meaning} |")
    return "\n".join(rows)


def source_markdown(*objects: Any) -> str:
    """The source of each class or function, as it is in the package, in Markdown code blocks.

    Notebooks show the model, its loss and the training step this way, so what a reader sees
    is the code that ran, never a copy of it.
    """
    blocks = []
    for obj in objects:
        path = Path(inspect.getsourcefile(obj)).resolve().relative_to(PACKAGE.parent)
        blocks.append(
            f"`{path.as_posix()}`: `{obj.__qualname__}`\n\n```python\n"
            f"{textwrap.dedent(inspect.getsource(obj)).rstrip()}\n```"
        )
    return "\n\n".join(blocks)


def ablation_markdown(path: Path | None = None, seeds: Path | None = None) -> str:
    """The cGAN ablation table (``scripts/gan_study.py table``), with where it was measured,
    then the seeds study of the weight average (``bench/measured/h200_cgan_seeds.md``)."""
    root = PACKAGE.parents[1]
    path = path or root / "results" / CGAN_GRID / "ablation.md"
    seeds = seeds or root / "bench" / "measured" / "h200_cgan_seeds.md"
    if not path.exists():
        return f"No ablation table at `{path.name}` (made by `bench/gpu.sh`)."
    text = path.read_text()
    if seeds.exists():  # its result table; its runs are not committed: the file says how
        result = seeds.read_text().split("## Result", 1)[1].split("## How it was measured")[0]
        table = "\n".join(line for line in result.splitlines() if line.startswith("|"))
        text += (
            "\n\n### The weight average over four seeds\n\nThe three changes of the improved "
            "cGAN but the average (`cgan_point`), the same with the average (`cgan_point_ema`) "
            "and the GAN with equal rates, each over its seeds, 40 epochs, on one NVIDIA H200 "
            "(`scripts/gan_study.py --study seeds`): mean (lowest-highest) of 10,000 samples "
            "after the last epoch. A seed meets every target with a conditional accuracy of "
            "at least 85%, every class 5-15% of the samples, a within-class variety of at "
            "least 0.5 and a Fréchet distance of at most 12. These runs are not among the "
            "committed results; "
            f"`{seeds.relative_to(root).as_posix()}` records them and how they were "
            f"measured.\n\n{table}"
        )
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
