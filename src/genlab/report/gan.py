"""What GAN runs show, in sentences built from their ``metrics.json``: one run's observations,
and the answers of problems 5.3 (the four settings) and 5.5 (the cGAN against the GAN).

Losses are mean binary cross-entropies in nats per image; a run's sample quality is that of its
final evaluation (10,000 samples after the last epoch), else the last measured during training.
The words follow ``genlab.report.rules``.
"""

from __future__ import annotations

from typing import Any

from genlab.grids import label
from genlab.report import capitalize, duration, train_seconds
from genlab.report.rules import (
    BALANCED,
    FAILED_CLASSES,
    FAILED_DISTANCE,
    balanced,
    failed,
    trend_sentence,
    variety_words,
)

Metrics = dict[str, Any]


def final_quality(metrics: Metrics) -> dict[str, Any] | None:
    """The run's sample quality: its final evaluation, else the last measured in training."""
    samples = metrics.get("evaluation", {}).get("samples")
    if samples:
        return samples
    measured = [e["quality"] for e in metrics.get("epochs", []) if "quality" in e]
    return measured[-1] if measured else None


def setting(config: dict[str, Any]) -> str:
    kind = "conditional GAN" if config.get("conditional") else "GAN"
    return (f"{kind} with lr_g = {config['lr_g']:g}, lr_d = {config['lr_d']:g}, "
            f"g_steps = {config['g_steps']}")  # fmt: skip


def game_state(last: dict[str, Any], quality: dict[str, Any] | None) -> str:
    """What D(x) and D(G(z)) of the last epoch say about the game, by the rules."""
    d_real, d_fake = last["d_real"], last["d_fake"]
    if failed(quality):
        text = (f"the samples failed (Fréchet distance {quality['frechet_distance']:.1f}, limit "
                f"{FAILED_DISTANCE:g}; {quality['classes_covered']} classes covered, at least "
                f"{FAILED_CLASSES} needed)")  # fmt: skip
        if abs(d_real - 0.5) <= BALANCED and abs(d_fake - 0.5) <= BALANCED:
            text += (", so D(x) and D(G(z)) near 1/2 say only that the discriminator could not "
                     "tell its samples from real images, not that they look like them")  # fmt: skip
        return text
    if balanced(d_real, d_fake, quality):
        return (f"balanced: D(x) and D(G(z)) are both within {BALANCED} of 1/2, the game's "
                "equilibrium, and the samples did not fail")  # fmt: skip
    if d_real > 0.9 and d_fake < 0.1:
        return ("the discriminator wins: it separates real from generated images almost "
                "perfectly and gives the generator little to learn from")  # fmt: skip
    if d_fake > d_real:
        return ("the discriminator rates generated images as more real than real ones: it "
                "has stopped telling them apart")  # fmt: skip
    return (f"not balanced: the discriminator still tells real from generated images apart "
            f"(D(x) - D(G(z)) = {d_real - d_fake:.2f}; balanced needs both within {BALANCED} "
            "of 1/2)")  # fmt: skip


def loss_trend(epochs: list[dict[str, Any]], key: str, name: str) -> str:
    """ "over the second half (epochs a-b) the <name> rose/fell/stayed flat (slope ...)"."""
    return trend_sentence(epochs, key, name)[0]


def observations(metrics: Metrics) -> list[str]:
    """What one GAN or cGAN run shows."""
    config, epochs, status = metrics["config"], metrics["epochs"], metrics["status"]
    what = setting(config)
    lines = []
    if status == "complete":
        seconds = train_seconds(metrics)
        lines.append(
            f"The {what} trained all {len(epochs)} epochs in {duration(seconds)} on "
            f"{metrics.get('device', '?')} ({seconds / len(epochs):.1f} s per epoch)."
        )
    elif status == "diverged":
        d = metrics["diverged"]
        losses = ", ".join(f"{k} = {v}" for k, v in d["losses"].items())
        lines.append(
            f"The {what} DIVERGED: a loss became NaN or infinite at epoch {d['epoch']}, "
            f"batch {d['batch']} ({losses}); the run stopped there and kept the "
            f"{len(epochs)} epoch(s) completed before."
        )
    else:
        lines.append(f"The {what} has status '{status}' after {len(epochs)} of "
                     f"{config['epochs']} epochs.")  # fmt: skip
    if not epochs:
        lines.append("No epoch completed, so there are no sample grids or curves to show.")
        return lines
    last = epochs[-1]
    lines.append(
        f"Last epoch ({last['epoch']}): generator loss {last['generator_loss']:.3f} and "
        f"discriminator loss {last['discriminator_loss']:.3f} nats per image (ln 2 = 0.693 at "
        f"equilibrium); mean D(x) on real images {last['d_real']:.3f}, mean D(G(z)) on "
        f"generated ones {last['d_fake']:.3f}: {game_state(last, final_quality(metrics))}."
    )
    if len(epochs) >= 4:
        lines.append(capitalize(loss_trend(epochs, "generator_loss", "generator loss")) + "; "
                     + loss_trend(epochs, "discriminator_loss", "discriminator loss")[5:]
                     + ".")  # fmt: skip
    return lines + quality_observations(epochs)


def quality_observations(epochs: list[dict[str, Any]]) -> list[str]:
    """Variety at the last measured epoch, and last versus best Fréchet distance.

    The last epoch is the run's result; where the distance was more than 10% lower at an
    earlier epoch, the sentence says that quality got worse late.
    """
    measured = [e for e in epochs if "quality" in e]
    if not measured:
        return []
    last = measured[-1]
    q = last["quality"]
    lines = []
    if q.get("within_class_variety") is not None:
        variety = q["within_class_variety"]
        lines.append(
            f"Within-class variety at epoch {last['epoch']}: {variety:.2f} of real images' "
            f"(mean distance between two samples of one class): {variety_words(variety)}."
        )
    best = min(measured, key=lambda e: e["quality"]["frechet_distance"])
    fd, best_fd = q["frechet_distance"], best["quality"]["frechet_distance"]
    if best is not last and fd > 1.1 * best_fd:
        lines.append(
            f"Quality got worse late in training: the Fréchet distance of the same noise set "
            f"was {best_fd:.1f} at epoch {best['epoch']} and {fd:.1f} at the last epoch "
            f"({last['epoch']}), which is the result shown here."
        )
    else:
        lines.append(
            f"The last epoch is also (within 10%) the best measured: Fréchet distance {fd:.1f} "
            f"at epoch {last['epoch']}, lowest {best_fd:.1f} at epoch {best['epoch']}."
        )
    return lines


def observations_markdown(metrics: Metrics) -> str:
    """``observations`` as a markdown list (for ``IPython.display.Markdown``)."""
    return "\n".join(f"- {line}" for line in observations(metrics))


def _quality_text(q: dict[str, Any]) -> str:
    shares = q["class_histogram"]
    return (f"Fréchet distance {q['frechet_distance']:.1f}, {q['classes_covered']} of 10 classes "
            f"covered (shares {min(shares):.1%} to {max(shares):.1%}), within-class variety "
            f"{q['within_class_variety']:.2f}")  # fmt: skip


def answer_5_3(runs: dict[str, Metrics]) -> str:
    """The four settings ranked by the Fréchet distance of their final samples."""
    done = {n: m for n, m in runs.items()
            if m.get("status") == "complete" and final_quality(m)}  # fmt: skip
    if not done:
        return "No 5.3 run has finished and been measured yet."
    ranked = sorted(done, key=lambda n: final_quality(done[n])["frechet_distance"])
    lines = [
        f"The settings ranked by the Fréchet distance of 10,000 samples after the last epoch "
        f"(lower is closer to real images), {len(done)} of {len(runs)} runs measured:",
        "",
    ]
    for rank, name in enumerate(ranked, 1):
        m = done[name]
        last, q = m["epochs"][-1], final_quality(m)
        lines.append(
            f"{rank}. **{label('5.3', name)}**: {_quality_text(q)}. Last epoch: generator loss "
            f"{last['generator_loss']:.2f}, discriminator loss {last['discriminator_loss']:.2f} "
            f"nats per image, D(x) {last['d_real']:.2f}, D(G(z)) {last['d_fake']:.2f}: "
            f"{game_state(last, q)}. "
            + (
                capitalize(loss_trend(m["epochs"], "generator_loss", "generator loss")) + "."
                if len(m["epochs"]) >= 4
                else ""
            )  # fmt: skip
        )
    best, worst = ranked[0], ranked[-1]
    failed_runs = [label("5.3", n) for n in ranked if failed(final_quality(done[n]))]
    lines += ["", f"Closest to the data: **{label('5.3', best)}** (distance "
              f"{final_quality(done[best])['frechet_distance']:.1f}); farthest: "
              f"**{label('5.3', worst)}** ({final_quality(done[worst])['frechet_distance']:.1f})."
              + (f" Failed by the distance or coverage rule: {', '.join(failed_runs)}."
                 if failed_runs else " None failed by the distance or coverage rule.")]  # fmt: skip
    if "equal_lr" in done and best != "equal_lr":
        lines[-1] += (f" Equal rates, the course's default, rank {ranked.index('equal_lr') + 1} "
                      f"of {len(ranked)}.")  # fmt: skip
    return "\n".join(lines)


def answer_5_5(cgan: Metrics | None, gans: dict[str, Metrics]) -> str:
    """The cGAN against the GAN: label control, class coverage, distance, variety."""
    gans = {n: m for n, m in gans.items() if m.get("status") == "complete"}
    q = final_quality(cgan) if cgan else None
    if q is None:
        return "The 5.5 run has not finished and been measured yet."
    evaluation = cgan.get("evaluation", {})
    ceiling = evaluation.get("classifier_test_accuracy")
    per = q.get("conditional_accuracy_per_class")
    lines = [
        f"- **Does it draw the class asked for?** Conditional accuracy "
        f"{q['conditional_accuracy']:.1%}: the share of samples the classifier assigns to the "
        "class they were generated for"
        + (f" (the same classifier is right on {ceiling:.1%} of real test images, the ceiling for "
           "real-looking images: samples above it are more typical of their class than real "
           "ones)" if ceiling else "")
        + (f"; lowest class {min(p for p in per if p is not None):.0%}" if per else "") + ".",
    ]  # fmt: skip
    gan = gans.get("equal_lr")
    gq = final_quality(gan) if gan else None
    shares = q["class_histogram"]
    if gq is not None:
        gshares = gq["class_histogram"]
        lines.append(
            f"- **Class coverage.** cGAN: {q['classes_covered']} of 10 classes with at least 5% "
            f"of the samples, shares {min(shares):.1%} to {max(shares):.1%}; the GAN with equal "
            f"rates: {gq['classes_covered']} classes, shares {min(gshares):.1%} to "
            f"{max(gshares):.1%}. The label spreads the cGAN's samples "
            + ("more evenly" if max(shares) - min(shares) < max(gshares) - min(gshares)
               else "no more evenly") + " than the GAN's noise does."
        )  # fmt: skip
        measured = {n: final_quality(m) for n, m in gans.items() if final_quality(m)}
        best = min(measured, key=lambda n: measured[n]["frechet_distance"])
        lines.append(
            f"- **Closeness to the data.** Fréchet distance: cGAN {q['frechet_distance']:.1f}, "
            f"GAN with equal rates {gq['frechet_distance']:.1f}, best GAN setting "
            f"({label('5.3', best)}) {measured[best]['frechet_distance']:.1f}. The cGAN is "
            + ("closer to the data than every GAN setting."
               if q["frechet_distance"] < measured[best]["frechet_distance"]
               else "not closer to the data than the best GAN setting.")
        )  # fmt: skip
        lines.append(
            f"- **Variety within a class.** Within-class variety: cGAN "
            f"{q['within_class_variety']:.2f} ({variety_words(q['within_class_variety'])}), GAN "
            f"{gq['within_class_variety']:.2f} ({variety_words(gq['within_class_variety'])})."
        )
    else:
        lines.append(f"- **Class coverage.** cGAN: {q['classes_covered']} of 10 classes, shares "
                     f"{min(shares):.1%} to {max(shares):.1%}; no finished 5.3 GAN run to "
                     "compare with.")  # fmt: skip
    if cgan["config"].get("ema_decay"):
        text = (f"- **Not like for like.** The cGAN samples from a moving average of its "
                f"generator's weights (decay {cgan['config']['ema_decay']:g}), the course's GAN "
                "from the generator itself.")  # fmt: skip
        raw = evaluation.get("samples_without_average")
        if raw:
            raw_shares = raw["class_histogram"]
            text += (f" The cGAN's generator itself, measured the same way: Fréchet distance "
                     f"{raw['frechet_distance']:.1f}, conditional accuracy "
                     f"{raw['conditional_accuracy']:.1%}, {raw['classes_covered']} classes "
                     f"covered (shares {min(raw_shares):.1%} to {max(raw_shares):.1%}), "
                     f"within-class variety {raw['within_class_variety']:.2f}")  # fmt: skip
            if gq is not None:
                closer = raw["frechet_distance"] < gq["frechet_distance"]
                text += (
                    f"; like for like, it is {'closer to' if closer else 'no closer to'} the "
                    f"data than the GAN with equal rates ({gq['frechet_distance']:.1f})"
                )
            text += "."
        lines.append(text + " The seeds study in the 5.5 notebook measures both over four seeds.")
    return "\n".join(lines)
