"""What GAN runs show, in sentences built from their ``metrics.json``: one run's observations,
and the answers of problems 5.3 (the four settings) and 5.5 (the cGAN against the GAN).

Losses are mean binary cross-entropies in nats per image; a run's sample quality is that of its
final evaluation (10,000 samples after the last epoch), else the last measured during training.
The words follow ``genlab.course.report.rules``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from genlab.course.grids import PROBLEMS, label
from genlab.course.report import Metrics, capitalize, over_seeds, train_seconds, training_time
from genlab.course.report.rules import (
    AT_CHANCE,
    Spread,
    balanced,
    compare_word,
    differ,
    gan_distance,
    trend_sentence,
    variety_words,
    with_borrowed_ranges,
)
from genlab.data import FASHION_CLASSES


def final_quality(metrics: Metrics) -> dict[str, Any] | None:
    """The run's sample quality: its final evaluation, else the last measured in training."""
    samples = metrics.get("evaluation", {}).get("samples")
    if samples:
        return samples
    measured = [e["quality"] for e in metrics.get("epochs", []) if "quality" in e]
    return measured[-1] if measured else None


def final(key: str) -> Callable[[Metrics], Any]:
    """The statistic ``key`` of a run's sample quality (``final_quality``), of its metrics."""
    return lambda m: (final_quality(m) or {}).get(key)


def setting(config: dict[str, Any]) -> str:
    kind = "conditional GAN" if config.get("conditional") else "GAN"
    return (f"{kind} with lr_g = {config['lr_g']:g}, lr_d = {config['lr_d']:g}, "
            f"g_steps = {config['g_steps']}")  # fmt: skip


def game_state(last: dict[str, Any]) -> str:
    """What D(x) and D(G(z)) of the last epoch say about the game, by the rules (about the
    discriminator only: how the samples look is the distance's business)."""
    d_real, d_fake = last["d_real"], last["d_fake"]
    if balanced(d_real, d_fake):
        return "balanced"
    if d_real > 0.9 and d_fake < 0.1:
        return "the discriminator wins: it separates real from generated images almost perfectly"
    if d_fake > d_real:
        return "the discriminator rates generated images as more real than real ones"
    return f"not balanced: the discriminator still tells them apart (D(x) - D(G(z)) = " \
        f"{d_real - d_fake:.2f})"


def observations(metrics: Metrics) -> list[str]:
    """What one GAN or cGAN run shows."""
    config, epochs, status = metrics["config"], metrics["epochs"], metrics["status"]
    what = setting(config)
    lines = []
    if status == "complete":
        lines.append(f"The {what} trained all {len(epochs)} epochs in {training_time(metrics)} "
                     f"({train_seconds(metrics) / len(epochs):.1f} s per epoch).")
    elif status == "diverged":
        d = metrics["diverged"]
        losses = ", ".join(f"{k} = {v}" for k, v in d["losses"].items())
        lines.append(f"The {what} DIVERGED: {d.get('reason', 'a loss became NaN or infinite')} "
                     f"at epoch {d['epoch']}, batch {d['batch']} ({losses}); the run stopped "
                     f"there and kept the {len(epochs)} epoch(s) completed before.")  # fmt: skip
    elif status == "collapsed":
        lines.append(f"The {what} COLLAPSED: {metrics['collapsed']['reason']}; it trained all "
                     f"{len(epochs)} epochs, and its samples are not a result to compare.")
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
        f"generated ones {last['d_fake']:.3f}: {game_state(last)}."
    )
    if len(epochs) >= 4:
        losses = {"generator_loss": "generator loss", "discriminator_loss": "discriminator loss"}
        lines.append(capitalize(trend_sentence(epochs, losses)[0]) + ".")
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
    if (variety := q.get("within_class_variety")) is not None:  # defined in the glossary
        lines.append(f"Within-class variety at epoch {last['epoch']}: {variety:.2f} (real "
                     f"images: 1), {variety_words(variety)}.")  # fmt: skip
    best = min(measured, key=lambda e: e["quality"]["frechet_distance"])
    fd, best_fd = q["frechet_distance"], best["quality"]["frechet_distance"]
    if best is not last and fd > 1.1 * best_fd:
        lines.append(f"Quality got worse late in training: the Fréchet distance of the same noise "
                     f"set was {best_fd:.1f} at epoch {best['epoch']} and {fd:.1f} at the last "
                     f"epoch ({last['epoch']}), which is the result shown here.")
    else:
        lines.append(f"The last epoch is also (within 10%) the best measured: Fréchet distance "
                     f"{fd:.1f} at epoch {last['epoch']}, lowest {best_fd:.1f} at epoch "
                     f"{best['epoch']}.")
    return lines


def observations_markdown(metrics: Metrics) -> str:
    """``observations`` as a markdown list (for ``IPython.display.Markdown``)."""
    return "\n".join(f"- {line}" for line in observations(metrics))


def distances(runs: dict[str, Metrics], problem: str) -> dict[str, Spread]:
    """Each grid point's distance (``rules.gan_distance``) over its finished seeds; a one-seed
    point borrows the widest range of the problem's points with seeds."""
    return with_borrowed_ranges({p: s for p in PROBLEMS[problem].points
                                 if (s := over_seeds(runs, problem, p, gan_distance))})


def closest(spreads: dict[str, Spread]) -> list[str]:
    """The setting with the lowest mean and every setting indistinguishable from it."""
    best = min(spreads, key=lambda n: spreads[n].mean)
    return [n for n in sorted(spreads, key=lambda n: spreads[n].mean)
            if not differ(spreads[n], spreads[best])]  # fmt: skip


def _evidence_row(name: str, problem: str, spread: Spread, m: Metrics) -> str:
    last, q = m["epochs"][-1], final_quality(m) or {}
    shares = q.get("class_histogram") or [float("nan")]
    fd = q.get("frechet_distance", float("nan"))
    top = max(range(len(shares)), key=shares.__getitem__)
    return (f"| {label(problem, name)} | {spread.text()} | {fd:.1f} | {q.get('classes_covered')} "
            f"({min(shares):.0%}-{max(shares):.0%}; most often {FASHION_CLASSES[top]}) "
            f"| {last['d_real']:.2f} / {last['d_fake']:.2f} | {game_state(last)} |")  # fmt: skip


def _setting_line(name: str, problem: str, runs: dict[str, Metrics]) -> str:
    """What one setting's pictures show: the classes its seed-1 samples show most often and
    their variety (with the other seeds' where it earns another word), and a discriminator at
    chance throughout, when it was."""
    m = runs[name]
    q = final_quality(m) or {}
    shares = q.get("class_histogram") or []
    top = sorted(range(len(shares)), key=lambda i: -shares[i])[:3]
    drawn = ", ".join(f"{FASHION_CLASSES[i]} {shares[i]:.0%}" for i in top)
    text = f"**{label(problem, name)}**: seed 1 draws {drawn or 'no measured class'} most often"
    if (variety := q.get("within_class_variety")) is not None:
        text += f"; {variety_words(variety)} (variety {variety:.2f})"
        seeds = over_seeds(runs, problem, name, final("within_class_variety"))
        if seeds and variety_words(seeds.lo) != variety_words(variety):
            text += (f", {seeds.lo:.2f}-{seeds.hi:.2f} over its {len(seeds.values)} seeds, the "
                     f"lowest {variety_words(seeds.lo)}")  # fmt: skip
    if at_chance(m):
        chance = over_seeds(runs, problem, name, lambda r: float(at_chance(r)))
        every = " in every seed" if chance and len(chance.values) > 1 and chance.lo == 1 else ""
        losses = [x["discriminator_loss"] for x in m["epochs"]]
        text += (f"; D(x) and D(G(z)) at chance throughout{every} (seed 1's discriminator loss "
                 f"{min(losses):.3f}-{max(losses):.3f}, ln 2 = 0.693) although the "
                 "discriminator learns at every step (a test checks this): each of its steps is "
                 "followed by three of the generator's")  # fmt: skip
    return text + "."


def at_chance(m: Metrics) -> bool:
    """D(x) and D(G(z)) within ``AT_CHANCE`` of 1/2 at every epoch."""
    return all(abs(e["d_real"] - 0.5) <= AT_CHANCE and abs(e["d_fake"] - 0.5) <= AT_CHANCE
               for e in m["epochs"])  # fmt: skip


EVIDENCE_HEAD = ("| setting | distance over seeds: mean (range) | seed 1: 10,000 samples, last "
                 "epoch | seed 1: classes covered (shares) | seed 1: D(x) / D(G(z)), last epoch "
                 "| the game |\n| --- | --- | --- | --- | --- | --- |")  # fmt: skip


def classifier_caveat(runs: dict[str, Metrics], problem: str) -> str:
    """A warning when the runs compared were measured with different classifiers (runs made
    before its weights were pinned): their distances are then not strictly comparable."""
    used = {m["evaluation"]["classifier_test_accuracy"] for m in runs.values()
            if (m.get("evaluation") or {}).get("classifier_test_accuracy") is not None}
    if len(used) < 2:
        return ""
    accuracies = ", ".join(f"{a:.2%}" for a in sorted(used))
    return (f"\n\n**Caution:** the runs {problem} compares were measured with {len(used)} "
            "different classifiers "
            f"(test accuracy {accuracies}), trained before its weights were pinned; their "
            "distances are not strictly comparable until the runs are trained again.")


def answer_5_3(runs: dict[str, Metrics]) -> str:
    """The four settings compared by their distance over seeds (``rules.differ``)."""
    spreads = distances(runs, "5.3")
    if not spreads:
        return "No 5.3 run has finished and been measured yet."
    tied = closest(spreads)
    names = [f"**{label('5.3', n)}**" for n in tied]
    if len(tied) == 1:
        lead = (f"{names[0]} is closest to the data: its range of distances over seeds lies below "
                "every other setting's.")  # fmt: skip
    else:
        lead = (f"{', '.join(names[:-1])} and {names[-1]} are closest to the data and "
                "indistinguishable from each other: their ranges over seeds overlap.")  # fmt: skip
    rest = [n for n in sorted(spreads, key=lambda n: spreads[n].mean) if n not in tied]
    if rest:
        lead += " Farther, by ranges that do not overlap the closest setting's: " + ", ".join(
            f"{label('5.3', n)}" for n in rest) + "."
    # seed 1's details (its pictures are the ones shown) for the points whose seed 1 finished
    lines = [f"- {_setting_line(n, '5.3', runs)}"
             for n in sorted(spreads, key=lambda n: spreads[n].mean) if n in runs]  # fmt: skip
    lead += "\n\n" + "\n".join(lines)
    rows = [_evidence_row(n, "5.3", spreads[n], runs[n]) for n in spreads if n in runs]
    missing = [label("5.3", n) for n in PROBLEMS["5.3"].points if n not in spreads]
    note = f"\n\nNot finished yet: {', '.join(missing)}." if missing else ""
    return f"{lead}{note}{classifier_caveat(runs, '5.3')}\n\n{EVIDENCE_HEAD}\n" + "\n".join(rows)


def answer_5_5(runs: dict[str, Metrics], gans: dict[str, Metrics]) -> str:
    """The course's cGAN and the improved one against the GAN with equal rates, over seeds."""
    cgans = distances(runs, "5.5")
    gan = distances(gans, "5.3").get("equal_lr")
    if "course" not in cgans and "improved" not in cgans:
        return "No 5.5 run has finished and been measured yet."
    accuracies = {v: over_seeds(runs, "5.5", v, final("conditional_accuracy")) for v in cgans}
    words = {v: compare_word(s, gan, "closer to the data than", "farther from the data than")
             for v, s in cgans.items() if gan is not None}  # fmt: skip
    lines = []
    if accuracies.get("course") and "course" in words:
        lines.append(f"The course's cGAN draws the class it is asked for "
                     f"{accuracies['course'].mean:.1%} of the time, and its samples are "
                     f"{words['course']} the GAN's (by the distance over seeds in the table).\n")
    for variant in ("course", "improved"):
        if variant not in cgans:
            lines.append(f"- **{label('5.5', variant)}**: not finished yet.")
            continue
        acc = accuracies[variant]
        text = (f"- **{label('5.5', variant)}**: conditional accuracy "
                f"{acc.text('.1%') if acc else '?'}; distance {cgans[variant].text()}")
        if variant in words:
            text += f", {words[variant]} the GAN with equal rates ({gan.text()})"
        lines.append(text + ".")
    rows = [_evidence_row(n, "5.5", cgans[n], runs[n]) for n in cgans if n in runs]
    if gan is not None and "equal_lr" in gans:
        rows.append(_evidence_row("equal_lr", "5.3", gan, gans["equal_lr"]))
    ceiling = next((m.get("evaluation", {}).get("classifier_test_accuracy")
                    for m in runs.values() if m.get("evaluation")), None)  # fmt: skip
    if ceiling:
        lines.append(f"- The same classifier is right on {ceiling:.1%} of real test images.")
    caveat = classifier_caveat({**runs, **{f"5.3/{k}": v for k, v in gans.items()}}, "5.5")
    return "\n".join(lines) + caveat + f"\n\n{EVIDENCE_HEAD}\n" + "\n".join(rows)
