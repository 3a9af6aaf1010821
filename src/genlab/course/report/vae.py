"""What VAE runs show, in sentences built from their ``metrics.json``: one run's observations,
and the answers of problems 4.2 (first versus last epoch) and 4.3 (which grid point
reconstructs best, at what cost).

Losses are the VAE's loss on the test split in nats per image: the binary cross-entropy of the
reconstruction summed over the 784 pixels plus the KL divergence of the code from N(0, I).
"""

from __future__ import annotations

from typing import Any

from genlab.course.grids import PROBLEMS, label
from genlab.course.report import Metrics, class_names, over_seeds, training_time
from genlab.course.report.rules import VAE_LOSS_FLAT, differ, ranking, trend_sentence

OVERFIT_GAP = 2.0  # test minus train loss, nats per image, above which we say "overfits"


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
        f"{metrics['config']['epochs']} epochs, {training_time(metrics)} "
        f"({sum(e['images_per_second'] for e in epochs) / len(epochs):,.0f} images/s).",
        f"- Test loss per image: {first['test_loss']:.2f} nats after epoch 1, "
        f"{last['test_loss']:.2f} after epoch {last['epoch']} ({drop:.1f}% lower); "
        f"the lowest was {best['test_loss']:.2f} at epoch {best['epoch']}.",
        f"- Train loss at the last epoch: {last['train_loss']:.2f}; test minus train: "
        f"{gap:+.2f} nats" + (" (the model starts to overfit)." if gap > OVERFIT_GAP else "."),
    ]
    if best["epoch"] < last["epoch"] and last["test_loss"] - best["test_loss"] > 0.1:
        lines.append(
            f"- The test loss rose by {last['test_loss'] - best['test_loss']:.2f} nats after "
            f"epoch {best['epoch']}: longer training no longer helps reconstruction here."
        )
    return "\n".join(lines)


def reconstruction_distance(metrics: Metrics) -> float | None:
    """Fréchet distance of the final model's reconstructions of the test split, if measured."""
    rec = metrics.get("evaluation", {}).get("reconstructions")
    return rec["frechet_distance"] if rec else None


def classes_by_loss(metrics: Metrics) -> list[int]:
    """The classes by the last epoch's loss per class, highest first; [] for a run recorded
    before the loss per class was."""
    per = (metrics.get("epochs") or [{}])[-1].get("test_loss_per_class") or []
    return sorted((i for i, v in enumerate(per) if v is not None), key=lambda i: -per[i])


def worst_classes(metrics: Metrics, k: int = 3) -> str | None:
    """"Bag 301.20, Coat 290.10 and Pullover 288.00 nats per image, against 255.40 over all
    classes (best: Trouser 180.30)", or None without a loss per class."""
    ranked = classes_by_loss(metrics)
    if not ranked:
        return None
    last, names = metrics["epochs"][-1], class_names(metrics)
    per = last["test_loss_per_class"]
    worst = [f"{names[i]} {per[i]:.2f}" for i in ranked[:k]]
    return (f"{', '.join(worst[:-1])} and {worst[-1]} nats per image, against "
            f"{last['test_loss']:.2f} over all classes (best: {names[ranked[-1]]} "
            f"{per[ranked[-1]]:.2f})")  # fmt: skip


def loss_trend_sentence(epochs: list[dict[str, Any]]) -> str:
    text, (words,) = trend_sentence(epochs, {"test_loss": "test loss"}, VAE_LOSS_FLAT)
    verdict = ("still improving: more epochs would likely lower it further" if words == "fell"
               else "no longer improving" if words == "stayed flat"
               else "getting worse: the model overfits")  # fmt: skip
    return f"{text}: {verdict}"


def answer_4_2(metrics: Metrics | None) -> str:
    """First versus last epoch of the course's defaults on MNIST."""
    if not metrics or not metrics.get("epochs"):
        return "The 4.2 run has no finished epoch yet."
    epochs = metrics["epochs"]
    first, last = epochs[0], epochs[-1]
    drop = first["test_loss"] - last["test_loss"]
    half_way = (first["test_loss"] + last["test_loss"]) / 2
    by = next(e["epoch"] for e in epochs if e["test_loss"] <= half_way)
    lines = [
        f"- **First versus last epoch.** Test loss {first['test_loss']:.2f} nats per image after "
        f"epoch 1, {last['test_loss']:.2f} after epoch {last['epoch']}: {drop:.2f} lower "
        f"({drop / first['test_loss']:.1%}). The reconstruction grids of both epochs show the "
        "same test images; the loss is what measures how far they are from the originals.",
        f"- **When it learned.** Half of that decrease had come by epoch {by}"
        + (f"; {loss_trend_sentence(epochs)}." if len(epochs) >= 4 else "."),
    ]
    worst = worst_classes(metrics)
    if worst:
        lines.append(f"- **Which classes reconstruct worst** (loss per class): {worst}.")
    rec = reconstruction_distance(metrics)
    if rec is not None:
        ref = metrics["evaluation"]["reconstructions"].get("reference_distances", {})
        lines.append(
            f"- **How close the final reconstructions are.** Fréchet distance to the test images "
            f"in a classifier's features: {rec:.1f} (real training images: "
            f"{ref.get('train_vs_test', float('nan')):.1f}; 0 would be indistinguishable)."
        )
    return "\n".join(lines)


def optimizer_steps(metrics: Metrics) -> int:
    """Adam steps of a run: its cost, independent of what shared the machine with it."""
    c = metrics["config"]
    images = c.get("train_limit") or 60_000
    return metrics["epochs"][-1]["epoch"] * -(-images // c["batch_size"])


def same_worst(runs: dict[str, Metrics], k: int = 3) -> str:
    """Whether the finished seed-1 runs of the grid that record a loss per class agree on
    their ``k`` worst classes (nothing when fewer than two do)."""
    worst = [w for n in PROBLEMS["4.3"].points if runs.get(n, {}).get("status") == "complete"
             and (w := set(classes_by_loss(runs[n])[:k]))]  # fmt: skip
    if len(worst) < 2:
        return ""
    same = all(w == worst[0] for w in worst)
    return (f"; the same {k} classes are the worst in all {len(worst)} settings measured" if same
            else f"; the {k} worst differ between the {len(worst)} settings measured")  # fmt: skip


def answer_4_3(runs: dict[str, Metrics]) -> str:
    """The grid compared by the final test loss over seeds (``rules.differ``), and its cost."""
    losses = {n: s for n in PROBLEMS["4.3"].points
              if (s := over_seeds(runs, "4.3", n, lambda m: m["epochs"][-1]["test_loss"]))}
    if not losses:
        return "No 4.3 run has finished yet."
    seeded = [v.width for v in losses.values() if len(v.values) > 1]
    borrowed = max(seeded, default=0.0)  # a one-seed point's range: the widest seeded one
    ranked = sorted(losses, key=lambda n: losses[n].mean)
    # a point's cost is its config's: any finished seed tells it (seed 1 may still be training)
    config_of = {n: runs[n] if n in runs else next(runs[r] for r in PROBLEMS["4.3"].replicas(n)
                                                   if r in runs) for n in ranked}  # fmt: skip
    best = ranked[0]
    tied = [n for n in ranked if not differ(losses[n], losses[best], borrowed)]
    lead = (f"**{label('4.3', best)}** reconstructs best (lowest test loss)"
            + (", apart from every other setting." if tied == [best] else
               ", indistinguishable from " + ", ".join(label("4.3", n) for n in tied[1:]) + "."))
    if len(tied) > 1:
        cheapest = min(tied, key=lambda n: optimizer_steps(config_of[n]))
        lead += (f" The cheapest of them is {label('4.3', cheapest)}: "
                 f"{optimizer_steps(config_of[cheapest]):,} Adam steps.")  # fmt: skip
    elif len(ranked) > 1:
        runner = ranked[1]
        ratio = optimizer_steps(config_of[best]) / optimizer_steps(config_of[runner])
        lead += (f" It costs {ratio:.1f} times the Adam steps of the runner-up, "
                 f"{label('4.3', runner)}, for {losses[runner].mean - losses[best].mean:.2f} "
                 "nats less per image.")  # fmt: skip
    rows = ["| setting | test loss over seeds (nats per image) | cost: Adam steps | seed 1: "
            "reconstruction Fréchet distance | seed 1: training time |",
            "| --- | --- | --- | --- | --- |"]  # fmt: skip
    for name in ranked:
        m = runs.get(name)
        rec = reconstruction_distance(m) if m else None
        time = training_time(m) if m else "–"
        rows.append(f"| {label('4.3', name)} | {losses[name].text('.2f')} | "
                    f"{optimizer_steps(config_of[name]):,} | {'–' if rec is None else f'{rec:.1f}'}"
                    f" | {time} |")  # fmt: skip
    tens = [n for n in ranked if config_of[n]["config"]["epochs"] == 10]
    note = ""
    if len(tens) > 1:
        note = ("\n\nAt 10 epochs, by test loss: "
                + ranking({label("4.3", n): losses[n] for n in tens}, ".2f") + ".")  # fmt: skip
        apart = all(differ(losses[a], losses[b]) for a, b in zip(tens, tens[1:], strict=False))
        sizes = [config_of[n]["config"]["batch_size"] for n in tens]
        if apart and sizes == sorted(sizes):
            note += " The smaller the batch, the more Adam steps in the same 10 epochs."
    worst = worst_classes(runs[best]) if runs.get(best, {}).get("status") == "complete" else None
    if worst:
        note += (f"\n\nWorst reconstructed by {label('4.3', best)} (seed 1, loss per class): "
                 f"{worst}{same_worst(runs)}.")  # fmt: skip
    missing = [label("4.3", n) for n in PROBLEMS["4.3"].points if n not in losses]
    if missing:
        note += f"\n\nNot finished yet: {', '.join(missing)}."
    borrowed_note = (f" Points with one seed are given the widest range of the points with seeds "
                     f"({borrowed:.2f} nats).") if borrowed else ""
    return (f"{lead}{note}{borrowed_note}\n\n" + "\n".join(rows) +
            "\n\nTraining times depend on what shared the machine (the 1-minute load "
            "average, when recorded): compare the cost in Adam steps.")
