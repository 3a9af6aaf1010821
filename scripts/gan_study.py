"""The GAN study behind the defaults of 5.3 and 5.5: quality per epoch, and the cGAN's ablation.

``run`` trains every variant below for ``--epochs`` epochs with the sample quality measured
after each epoch (``GANConfig.quality_every = 1``), several at a time, each in its own run
folder under ``--out``; then it measures each finished generator once more on 10,000
samples, in eval mode (batch norm's running statistics, as the notebooks sample) and in
train mode (the batch's own statistics). ``table`` reads the folders back and prints the
ablation table and the epoch where each curve flattens.

    python scripts/gan_study.py run --out study --epochs 40 --parallel 6   # on a GPU
    .venv/bin/python scripts/gan_study.py table study > results/5.5/ablation.md

The variants keep the course's networks, learning rates (0.0002 each), batch size and seed;
the cGAN's changes are switched on one at a time, all together, and all but one.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import torch

CGAN_CHANGES: dict[str, dict[str, Any]] = {
    "dropout": {"d_dropout": 0.4},
    "smoothing": {"real_target": 0.9},
    "projection": {"d_label": "projection"},
    "embedding50": {"embed_dim": 50},
}
GAN_SETTINGS: dict[str, dict[str, Any]] = {
    "equal_lr": {},
    "g_faster": {"lr_g": 0.002},
    "d_faster": {"lr_d": 0.002},
    "g_steps3": {"g_steps": 3},
}


def variants() -> dict[str, dict[str, Any]]:
    """Every run of the ablation study: its name and its GANConfig overrides."""
    runs = {f"gan_{name}": dict(v) for name, v in GAN_SETTINGS.items()}
    everything = {k: v for change in CGAN_CHANGES.values() for k, v in change.items()}
    runs["cgan_course"] = {"conditional": True}
    for name, change in CGAN_CHANGES.items():
        runs[f"cgan_only_{name}"] = {"conditional": True, **change}
        rest = {k: v for other, c in CGAN_CHANGES.items() if other != name for k, v in c.items()}
        runs[f"cgan_all_but_{name}"] = {"conditional": True, **rest}
    runs["cgan_all"] = {"conditional": True, **everything}
    return runs


# the seeds study: the 5.5 grid point with and without a moving average of the generator,
# each on several seeds, to see how far one run's figures can be trusted
SEEDS = (1, 2, 3, 4)
EMA = {"ema_decay": 0.999}
SEED_VARIANTS: dict[str, dict[str, Any]] = {
    "cgan_point": {},
    "cgan_point_ema": EMA,
    "cgan_point_ema_dropout": {**EMA, "d_dropout": 0.4},
}
# the targets of the committed cGAN run (issue 11)
TARGETS = {"conditional_accuracy": 0.85, "share": (0.05, 0.15), "variety": 0.5, "distance": 12.0}


def seed_variants() -> dict[str, dict[str, Any]]:
    """Every run of the seeds study: ``<variant>_s<seed>`` and its GANConfig overrides."""
    from genlab.course.grids import PROBLEMS

    point = {"conditional": True, **PROBLEMS["5.5"].points["equal_lr"]}
    runs = {
        f"{name}_s{seed}": {**point, **change, "seed": seed}
        for name, change in SEED_VARIANTS.items()
        for seed in SEEDS
    }
    runs.update({f"gan_equal_lr_s{seed}": {"seed": seed} for seed in SEEDS[1:3]})
    return runs


STUDIES = {"ablation": variants, "seeds": seed_variants}


def all_variants() -> dict[str, dict[str, Any]]:
    return {name: v for study in STUDIES.values() for name, v in study().items()}


def train_one(name: str, out: Path, epochs: int) -> None:
    from genlab.evaluate import gan_images, image_metrics
    from genlab.runs import run_checkpoint
    from genlab.train.gan import GANTrainer, train_gan

    overrides = all_variants()[name]
    run = train_gan(
        run_dir=out / name,
        epochs=epochs,
        quality_every=1,
        eval_samples=10_000,
        progress=False,
        **overrides,
    )
    if run.status != "complete":
        return
    trainer = GANTrainer(run.config, torch.device(run.metrics["device"]))
    state = run_checkpoint(run.path, map_location=trainer.device)
    trainer.load_state_dict(state["trainer"])
    images, labels = gan_images(trainer.sampler, 10_000)  # eval mode: running statistics
    train_mode, _ = gan_images(trainer.sampler, 10_000, batch_statistics=True)
    dataset, device = run.config.dataset, trainer.device
    modes = {
        "eval": image_metrics(images, dataset, labels, device, reference=False),
        "train": image_metrics(train_mode, dataset, labels, device, reference=False),
    }
    run.update(sampling_modes={k: _compact(v) for k, v in modes.items()})


def _compact(m: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "frechet_distance",
        "classes_covered",
        "class_histogram",
        "within_class_variety",
        "conditional_accuracy",
    )
    return {k: m[k] for k in keys if k in m}


def run_all(out: Path, epochs: int, parallel: int, study: str = "ablation") -> int:
    out.mkdir(parents=True, exist_ok=True)
    names = list(STUDIES[study]())
    failed = 0
    for start in range(0, len(names), parallel):
        group = names[start : start + parallel]
        procs = [
            subprocess.Popen(
                [sys.executable, __file__, "one", name, "--out", str(out), "--epochs", str(epochs)]
            )
            for name in group
        ]
        for name, proc in zip(group, procs, strict=True):
            code = proc.wait()
            print(f"{name}: exit {code}", flush=True)
            failed += code != 0
    return failed


def flattening_epoch(epochs: list[int], distances: list[float], tolerance: float = 0.1) -> int:
    """The first epoch whose distance is within ``tolerance`` (relative) of the run's best."""
    best = min(distances)
    return next(e for e, d in zip(epochs, distances, strict=True) if d <= best * (1 + tolerance))


def table(out: Path) -> str:
    rows = [
        "| run | changes | epochs | Fréchet distance | conditional accuracy | classes covered "
        "| smallest / largest class share | within-class variety | best distance (epoch) "
        "| within 10% of best from epoch | train-mode BN: distance, accuracy |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, overrides in variants().items():
        path = out / name / "metrics.json"
        if not path.exists():
            rows.append(f"| {name} | missing | | | | | | | | | |")
            continue
        m = json.loads(path.read_text())
        measured = [e for e in m["epochs"] if "quality" in e]
        if not measured:
            rows.append(f"| {name} | {m['status']} | | | | | | | | | |")
            continue
        q = m.get("sampling_modes", {}).get("eval") or measured[-1]["quality"]
        t = m.get("sampling_modes", {}).get("train", {})
        epochs = [e["epoch"] for e in measured]
        distances = [e["quality"]["frechet_distance"] for e in measured]
        best = min(range(len(distances)), key=distances.__getitem__)
        shares = q["class_histogram"]
        changes = ", ".join(f"{k}={v}" for k, v in overrides.items() if k != "conditional")
        acc = q.get("conditional_accuracy")
        t_acc = t.get("conditional_accuracy")
        rows.append(
            f"| {name} | {changes or 'course'} | {len(m['epochs'])} | {q['frechet_distance']:.1f} "
            f"| {'' if acc is None else f'{acc:.1%}'} | {q['classes_covered']} "
            f"| {min(shares):.1%} / {max(shares):.1%} | {q['within_class_variety']:.2f} "
            f"| {distances[best]:.1f} ({epochs[best]}) | {flattening_epoch(epochs, distances)} "
            f"| {t.get('frechet_distance', float('nan')):.1f}"
            f"{'' if t_acc is None else f', {t_acc:.1%}'} |"
        )
    return "\n".join(rows)


def final_quality(m: dict[str, Any]) -> dict[str, Any] | None:
    """The last epoch's quality on 10,000 samples (eval mode), else the last one measured."""
    measured = [e for e in m["epochs"] if "quality" in e]
    if not measured:
        return None
    return m.get("sampling_modes", {}).get("eval") or measured[-1]["quality"]


def meets_targets(q: dict[str, Any]) -> bool:
    low, high = TARGETS["share"]
    shares = q["class_histogram"]
    return (
        q.get("conditional_accuracy", 0) >= TARGETS["conditional_accuracy"]
        and min(shares) >= low
        and max(shares) <= high
        and q["within_class_variety"] >= TARGETS["variety"]
        and q["frechet_distance"] <= TARGETS["distance"]
    )


def seeds_table(out: Path) -> str:
    """One row per variant: each measure's mean and range over the seeds, and how many seeds
    meet every target of the committed cGAN run."""
    import statistics

    rows = [
        "| variant | changes | seeds | Fréchet distance: mean (min-max) | conditional "
        "accuracy | smallest class share | largest class share | within-class variety "
        "| seeds meeting every target |",
        "| --- " * 9 + "|",
    ]
    groups = list(SEED_VARIANTS) + ["gan_equal_lr"]
    for group in groups:
        qs = []
        for name in seed_variants():
            if name.rsplit("_s", 1)[0] == group and (out / name / "metrics.json").exists():
                q = final_quality(json.loads((out / name / "metrics.json").read_text()))
                if q is not None:
                    qs.append(q)
        if not qs:
            rows.append(f"| {group} | | 0 | | | | | | |")
            continue

        def cell(values: list[float], fmt: str) -> str:
            return (
                f"{format(statistics.mean(values), fmt)} "
                f"({format(min(values), fmt)}-{format(max(values), fmt)})"
            )

        acc = [q["conditional_accuracy"] for q in qs if "conditional_accuracy" in q]
        changes = ", ".join(f"{k}={v}" for k, v in SEED_VARIANTS.get(group, {}).items())
        met = sum(meets_targets(q) for q in qs) if acc else "-"
        rows.append(
            f"| {group} | {changes or 'none'} | {len(qs)} "
            f"| {cell([q['frechet_distance'] for q in qs], '.1f')} "
            f"| {cell(acc, '.1%') if acc else ''} "
            f"| {cell([min(q['class_histogram']) for q in qs], '.1%')} "
            f"| {cell([max(q['class_histogram']) for q in qs], '.1%')} "
            f"| {cell([q['within_class_variety'] for q in qs], '.2f')} | {met} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="train every variant")
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--epochs", type=int, default=40)
    r.add_argument("--parallel", type=int, default=4)
    r.add_argument("--study", choices=list(STUDIES), default="ablation")
    o = sub.add_parser("one", help="train one variant (used by run)")
    o.add_argument("name", choices=list(all_variants()))
    o.add_argument("--out", type=Path, required=True)
    o.add_argument("--epochs", type=int, default=40)
    t = sub.add_parser("table", help="print the table of a finished study")
    t.add_argument("out", type=Path)
    t.add_argument("--study", choices=list(STUDIES), default="ablation")
    args = parser.parse_args(argv)
    if args.command == "run":
        return run_all(args.out, args.epochs, args.parallel, args.study)
    if args.command == "one":
        train_one(args.name, args.out, args.epochs)
        return 0
    print(seeds_table(args.out) if args.study == "seeds" else table(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
