"""What VAE runs show, in sentences built from their ``metrics.json``: one run's observations,
and the answers of problems 4.2 (first versus last epoch) and 4.3 (which grid point
reconstructs best, at what cost).

Losses are the VAE's loss on the test split in nats per image: the binary cross-entropy of the
reconstruction summed over the 784 pixels plus the KL divergence of the code from N(0, I).
"""

from __future__ import annotations

from typing import Any

from genlab.grids import label
from genlab.report import duration, train_seconds
from genlab.report.rules import VAE_LOSS_FLAT, trend_sentence

Metrics = dict[str, Any]
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
        f"{metrics['config']['epochs']} epochs on `{metrics.get('device', '?')}`, "
        f"{duration(train_seconds(metrics))} of training "
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


def loss_trend_sentence(epochs: list[dict[str, Any]]) -> str:
    text, words = trend_sentence(epochs, "test_loss", "test loss", VAE_LOSS_FLAT)
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
        f"({drop / first['test_loss']:.1%}). The reconstructions above are of the same test "
        "images at both epochs; the loss is what measures how far they are from the originals.",
        f"- **When it learned.** Half of that decrease had come by epoch {by}"
        + (f"; {loss_trend_sentence(epochs)}." if len(epochs) >= 4 else "."),
    ]
    rec = reconstruction_distance(metrics)
    if rec is not None:
        ref = metrics["evaluation"]["reconstructions"].get("reference_distances", {})
        lines.append(
            f"- **How close the final reconstructions are.** Fréchet distance to the test images "
            f"in a classifier's features: {rec:.1f} (real training images: "
            f"{ref.get('train_vs_test', float('nan')):.1f}; 0 would be indistinguishable)."
        )
    return "\n".join(lines)


def answer_4_3(runs: dict[str, Metrics]) -> str:
    """The grid ranked by final test loss, its reconstruction distance, and what each cost."""
    done = {n: m for n, m in runs.items() if m.get("epochs") and m.get("status") == "complete"}
    if not done:
        return "No 4.3 run has finished yet."
    ranked = sorted(done, key=lambda n: done[n]["epochs"][-1]["test_loss"])
    rows = ["| rank | setting | test loss (nats per image) | reconstruction Fréchet distance "
            "| training time |", "| --- | --- | --- | --- | --- |"]  # fmt: skip
    for rank, name in enumerate(ranked, 1):
        m, rec = done[name], reconstruction_distance(done[name])
        rows.append(
            f"| {rank} | {label('4.3', name)} | {m['epochs'][-1]['test_loss']:.2f} "
            f"| {'' if rec is None else f'{rec:.1f}'} "
            f"| {duration(train_seconds(m))} on {m.get('device', '?')} |"
        )
    best, runner = ranked[0], ranked[1] if len(ranked) > 1 else None
    b = done[best]
    lines = [f"{len(done)} of {len(runs)} grid points finished, ranked by the final test loss:",
             "", *rows, ""]  # fmt: skip
    with_rec = {n: reconstruction_distance(m) for n, m in done.items()}
    with_rec = {n: v for n, v in with_rec.items() if v is not None}
    sentence = f"- **Best:** {label('4.3', best)}, test loss {b['epochs'][-1]['test_loss']:.2f}"
    if with_rec:
        closest = min(with_rec, key=with_rec.__getitem__)
        sentence += (", and also the closest reconstructions" if closest == best else
                     f"; by the reconstructions' distance the best is {label('4.3', closest)} "
                     f"({with_rec[closest]:.1f})")  # fmt: skip
    lines.append(sentence + ".")
    if runner:
        r = done[runner]
        target = r["epochs"][-1]["test_loss"]
        reached = next((e for e in b["epochs"] if e["test_loss"] <= target), None)
        cost = train_seconds(b) / max(train_seconds(r), 1e-9)
        text = (f"- **At what cost:** {duration(train_seconds(b))} of training against "
                f"{duration(train_seconds(r))} for the runner-up ({label('4.3', runner)}, "
                f"{target:.2f}), {cost:.1f} times as long for "
                f"{target - b['epochs'][-1]['test_loss']:.2f} nats less")  # fmt: skip
        if reached is not None:
            spent = sum(e["seconds"] for e in b["epochs"] if e["epoch"] <= reached["epoch"])
            text += (f"; it passed the runner-up's final loss at epoch {reached['epoch']}, after "
                     f"{duration(spent)}")  # fmt: skip
        lines.append(text + ".")
    tens = {m["config"]["batch_size"]: m for m in done.values() if m["config"]["epochs"] == 10}
    if len(tens) > 1:
        order = sorted(tens, key=lambda bs: tens[bs]["epochs"][-1]["test_loss"])
        losses = [tens[bs]["epochs"][-1]["test_loss"] for bs in order]
        spread = losses[-1] - losses[0]
        lines.append(
            "- **Batch size at 10 epochs:** test loss "
            + ", ".join(f"batch {bs}: {v:.2f}" for bs, v in zip(order, losses, strict=True))
            + f"; the spread is {spread:.2f} nats ({spread / losses[0]:.1%})"
            + (": the smaller the batch, the lower the loss, as smaller batches make more "
               "updates in the same 10 epochs." if order == sorted(order) else ".")
        )  # fmt: skip
    return "\n".join(lines)
