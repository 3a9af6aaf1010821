"""The figures of the committed GAN runs that prose cites, printed from their ``metrics.json``.

The comments on ``genlab.health``'s thresholds, ``tests/test_collapse.py``, ``docs/tests.md``
and ``docs/gan-study.md`` quote these; after the GAN runs are trained again, run this and
bring those texts up to date:

    .venv/bin/python scripts/cited_figures.py [results]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from genlab.health import COLLAPSE_EPOCHS as LAST  # the measurements the rules judge
from genlab.health import noise_distance


def gan_runs(results: Path) -> dict[str, dict[str, Any]]:
    """Every committed 5.3 and 5.5 run (every seed), by its folder under ``results``."""
    paths = sorted(p for p in results.glob("5.[35]/**/metrics.json") if "superseded" not in p.parts)
    return {str(p.parent.relative_to(results)): json.loads(p.read_text()) for p in paths}


def qualities(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["quality"] for e in metrics["epochs"] if "quality" in e]


def largest_share(measured: list[dict[str, Any]]) -> float:
    return max(max(q["class_histogram"]) for q in measured)


def lowest_variety(measured: list[dict[str, Any]]) -> float:
    return min(q["within_class_variety"] for q in measured)


def main(results: Path) -> None:
    runs = gan_runs(results)
    last = {name: qualities(m)[-LAST:] for name, m in runs.items()}
    print(f"{len(runs)} GAN runs under {results.name}/")

    share = max((largest_share(q), name) for name, q in last.items())
    variety = min((lowest_variety(q), name) for name, q in last.items())
    others = min(lowest_variety(q) for name, q in last.items() if "g_steps3" not in name)
    anywhere = min((lowest_variety(qualities(m)), name) for name, m in runs.items())
    print(f"largest class share over the last {LAST} measurements: {share[0]:.2f} ({share[1]})")
    print(f"lowest variety over the last {LAST} measurements: {variety[0]:.2f} ({variety[1]})")
    print(f"  every setting but 3 generator steps: {others:.2f} or more")
    print(f"lowest variety at any measurement: {anywhere[0]:.2f} ({anywhere[1]})")
    losses = ("generator_loss", "discriminator_loss")
    loss = max((max(e[k] for k in losses), name) for name, m in runs.items() for e in m["epochs"])
    print(f"largest epoch mean loss, generator or discriminator: {loss[0]:.2f} ({loss[1]})")
    ratio = max(
        (qualities(m)[-1]["frechet_distance"] / noise_distance(m), name) for name, m in runs.items()
    )
    print(f"last measured distance over uniform noise's: at most {ratio[0]:.2f} ({ratio[1]})")

    for name, m in runs.items():
        if "improved" in name:
            first = qualities(m)[0]
            print(
                f"{name}: epoch 1 share {max(first['class_histogram']):.2f}, variety "
                f"{first['within_class_variety']:.2f}; last {LAST}: share at most "
                f"{largest_share(last[name]):.2f}, variety at least "
                f"{lowest_variety(last[name]):.2f}"
            )

    equal = {e["epoch"]: e["quality"] for e in runs["5.3/equal_lr"]["epochs"] if "quality" in e}
    at = ", ".join(f"{equal[k]['frechet_distance']:.1f} at {k}" for k in (10, 20, 30, 40))
    print(f"5.3 equal rates, seed 1, distance of the 2,000 samples: {at}")
    cost = [
        sum(e.get("quality_seconds") or 0 for e in m["epochs"])
        / sum(e["seconds"] for e in m["epochs"])
        for m in runs.values()
    ]
    print(f"quality measurement's cost, share of training time: {min(cost):.1%} to {max(cost):.1%}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "results"))
