"""The course write-up's claims beside what our runs measured.

Each claim is quoted (shortened where marked), paired with the statistic that tests it, and
judged agree / disagree / cannot tell by a stated threshold. A claim whose runs are missing is
"cannot tell" (``Missing``): a claim about the whole grid needs every point of it. A claim that
compares settings follows ``rules.differ``: where their ranges over seeds overlap it "cannot
tell". Any other error is a bug and raises. The notebooks and ``index.html`` both render
``writeup_markdown``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from genlab.course.grids import PROBLEMS
from genlab.course.report import Runs, over_seeds
from genlab.course.report.gan import distances, final, final_quality
from genlab.course.report.rules import (
    BACKGROUND_NEAR,
    MATCHING,
    NEAR_ZERO,
    VERY_HIGH,
    Spread,
    differ,
)
from genlab.data import FASHION_CLASSES

AGREE, DISAGREE, CANNOT_TELL = "agree", "disagree", "cannot tell"


class Missing(Exception):
    """A run a claim needs has not finished (or has not been measured) yet."""

Judge = Callable[[Runs], tuple[str, str]]


@dataclass(frozen=True)
class Claim:
    problem: str
    says: str
    judge: Judge


def _run(runs: Runs, problem: str, point: str) -> dict[str, Any]:
    m = runs.get(problem, {}).get(point)
    if not m or m.get("status") != "complete" or not m.get("epochs"):
        raise Missing(f"{problem}/{point}")
    return m


def _quality(runs: Runs, problem: str, point: str) -> dict[str, Any]:
    q = final_quality(_run(runs, problem, point))
    if q is None:
        raise Missing(f"{problem}/{point}")
    return q


def _distances(runs: Runs, problem: str) -> dict[str, Spread]:
    found = distances(runs.get(problem, {}), problem)
    if set(found) != set(PROBLEMS[problem].points):
        raise Missing(problem)
    return found


def _spread(runs: Runs, problem: str, point: str, statistic: str | Callable) -> Spread:
    """``statistic`` over the point's finished seeds: a function of a run's metrics, or the key
    of its last epoch."""
    of = statistic if callable(statistic) else lambda m: m["epochs"][-1][statistic]
    spread = over_seeds(runs.get(problem, {}), problem, point, of)
    if spread is None:
        raise Missing(f"{problem}/{point}")
    return spread


def _compared(a: Spread, b: Spread, a_lower: bool, borrowed: float = 0.0) -> str:
    """AGREE when ``a`` lies below ``b`` (``a_lower``) or above it by ``rules.differ``,
    DISAGREE when the other way, CANNOT_TELL when their ranges overlap."""
    if not differ(a, b, borrowed):
        return CANNOT_TELL
    return AGREE if (a.mean < b.mean) == a_lower else DISAGREE


def _every(verdicts: set[str]) -> str:
    """A claim made of several comparisons: DISAGREE when one disagrees, AGREE when all agree."""
    return DISAGREE if DISAGREE in verdicts else AGREE if verdicts == {AGREE} else CANNOT_TELL


def defaults(runs: Runs) -> tuple[str, str]:
    c = _run(runs, "4.2", "default")["config"]
    ours = {k: c[k] for k in ("batch_size", "epochs", "seed", "log_interval", "no_cuda")}
    course = {"batch_size": 128, "epochs": 10, "seed": 1, "log_interval": 10, "no_cuda": False}
    text = ", ".join(f"{k} {v}" for k, v in ours.items())
    return f"4.2 ran with {text}", AGREE if ours == course else DISAGREE


def batch_sizes(runs: Runs) -> tuple[str, str]:
    losses = {bs: _spread(runs, "4.3", f"bs{bs}_ep10", "test_loss") for bs in (64, 128, 256)}
    text = ("test loss after 10 epochs (nats per image): "
            + "; ".join(f"batch {bs} {v.text('.2f')}" for bs, v in losses.items()))  # fmt: skip
    others = [losses[128], losses[256]]
    if all(differ(losses[64], o) and losses[64].mean < o.mean for o in others):
        return text + "; batch 64 lowest, apart from the others", AGREE
    return text + "; batch 64 not apart from the others", DISAGREE


def best_grid_point(runs: Runs) -> tuple[str, str]:
    losses = {n: _spread(runs, "4.3", n, "test_loss") for n in PROBLEMS["4.3"].points}
    best = min(losses, key=lambda n: losses[n].mean)
    # a one-seed point borrows the widest range of the 10-epoch points, which have three
    borrowed = max(v.width for v in losses.values())
    tied = [n for n in losses if not differ(losses[n], losses[best], borrowed)]
    text = (f"lowest test loss: {best} {losses[best].text('.2f')}; bs64_ep50 "
            f"{losses['bs64_ep50'].text('.2f')}; one-seed points given the widest 10-epoch range "
            f"({borrowed:.2f})")  # fmt: skip
    if tied != [best]:
        return text + f"; indistinguishable: {', '.join(tied)}", CANNOT_TELL
    return text, AGREE if best == "bs64_ep50" else DISAGREE


def bags_and_shoes(runs: Runs) -> tuple[str, str]:
    """"Not great" by the loss per class of each setting's seed 1: above its test loss (the
    mean over classes) in every setting, for bags and each kind of shoe."""
    last = [_run(runs, "4.3", n)["epochs"][-1] for n in PROBLEMS["4.3"].points]
    if not all(e.get("test_loss_per_class") for e in last):
        return "the runs were trained before the loss per class was recorded", CANNOT_TELL
    above = {c: sum((e["test_loss_per_class"][FASHION_CLASSES.index(c)] or 0) > e["test_loss"]
                    for e in last) for c in ("Bag", "Sandal", "Sneaker", "Ankle boot")}
    text = (f"settings (of {len(last)}, seed 1) whose loss per class is above their test loss: "
            + ", ".join(f"{c} {k}" for c, k in above.items()))  # fmt: skip
    return text, AGREE if all(k == len(last) for k in above.values()) else DISAGREE


def equal_lr_classes(runs: Runs) -> tuple[str, str]:
    q = _quality(runs, "5.3", "equal_lr")
    hist = q["class_histogram"]
    top = [FASHION_CLASSES[i] for i in sorted(range(len(hist)), key=lambda i: -hist[i])[:3]]
    seen = {"Shirt", "Dress", "Trouser"} & set(top)
    text = (f"most frequent classes of equal rates: {', '.join(top)}; "
            f"{q['classes_covered']} of 10 classes covered")  # fmt: skip
    return text, AGREE if len(seen) >= 2 else DISAGREE


def equal_lr_best(runs: Runs) -> tuple[str, str]:
    fd = _distances(runs, "5.3")
    others = [fd[n] for n in fd if n != "equal_lr"]
    text = ("distance (median of the last 5 epochs): "
            + "; ".join(f"{n} {v.text()}" for n, v in fd.items()))  # fmt: skip
    return text, _every({_compared(fd["equal_lr"], o, a_lower=True) for o in others})


def g_faster(runs: Runs) -> tuple[str, str]:
    g = _spread(runs, "5.3", "g_faster", "generator_loss")
    eq = _spread(runs, "5.3", "equal_lr", "generator_loss")
    d_fake = _spread(runs, "5.3", "g_faster", "d_fake")
    text = (f"last-epoch generator loss: generator faster {g.text('.2f')}, equal rates "
            f"{eq.text('.2f')}; D(G(z)) {d_fake.text('.2f')}")  # fmt: skip
    if not differ(g, eq):
        return text, CANNOT_TELL
    return text, AGREE if g.mean > VERY_HIGH * eq.mean and d_fake.hi < 0.2 else DISAGREE


def d_faster(runs: Runs) -> tuple[str, str]:
    fd = _distances(runs, "5.3")
    lowest = _spread(runs, "5.3", "d_faster",
                     lambda m: min(e["generator_loss"] for e in m["epochs"]))  # fmt: skip
    d_loss = _spread(runs, "5.3", "d_faster", "discriminator_loss")
    text = (f"discriminator faster: lowest generator loss of any epoch {lowest.text('.2f')}, "
            f"last discriminator loss {d_loss.text('.2f')}; distance {fd['d_faster'].text()} "
            f"against equal rates {fd['equal_lr'].text()}")  # fmt: skip
    if lowest.hi >= NEAR_ZERO:
        return text, DISAGREE  # the generator loss was never near 0
    return text, _compared(fd["d_faster"], fd["equal_lr"], a_lower=False)


def g_steps3(runs: Runs) -> tuple[str, str]:
    g, d = (_spread(runs, "5.3", "g_steps3", k) for k in ("generator_loss", "discriminator_loss"))
    text = (f"3 generator steps, last epoch: generator loss {g.text('.2f')}, discriminator loss "
            f"{d.text('.2f')}")  # fmt: skip
    return text, AGREE if d.hi < NEAR_ZERO else DISAGREE if d.lo >= NEAR_ZERO else CANNOT_TELL


def cgan_labels(runs: Runs) -> tuple[str, str]:
    acc = _spread(runs, "5.5", "course", final("conditional_accuracy"))
    return (f"conditional accuracy of the course's cGAN {acc.text('.1%')}",
            AGREE if acc.lo > MATCHING else DISAGREE if acc.hi <= MATCHING else CANNOT_TELL)


def cgan_less_clear(runs: Runs) -> tuple[str, str]:
    """"Clear" is the distance (``rules``); the write-up's cGAN is the course's."""
    c, g = _distances(runs, "5.5")["course"], _distances(runs, "5.3")["equal_lr"]
    text = f"distance: the course's cGAN {c.text()}, the GAN with equal rates {g.text()}"
    return text, _compared(c, g, a_lower=False)


def cgan_fuzzy(runs: Runs) -> tuple[str, str]:
    """"Very fuzzy", by the same statistic as "clear": farther than every GAN setting."""
    c, fd = _distances(runs, "5.5")["course"], _distances(runs, "5.3")
    text = (f"distance: the course's cGAN {c.text()}; the GAN settings "
            + ", ".join(f"{n} {v.text()}" for n, v in fd.items()))  # fmt: skip
    return text, _every({_compared(c, g, a_lower=False) for g in fd.values()})


def gan_three_classes(runs: Runs) -> tuple[str, str]:
    covered = _spread(runs, "5.3", "equal_lr", final("classes_covered"))
    text = f"classes covered by the GAN with equal rates: {covered.text('.1f')}"
    return text, AGREE if covered.hi <= 3 else DISAGREE if covered.lo > 3 else CANNOT_TELL


def cgan_better_spread(runs: Runs) -> tuple[str, str]:
    kl = final("kl_from_uniform")
    c, g = _spread(runs, "5.5", "course", kl), _spread(runs, "5.3", "equal_lr", kl)
    text = (f"KL from uniform of the class shares (0: every class equally often): the course's "
            f"cGAN {c.text('.3f')}, the GAN {g.text('.3f')}")  # fmt: skip
    return text, _compared(c, g, a_lower=True)


def _row(runs: Runs, model: str, *needs: str) -> dict[str, Any]:
    """The 5.6 table's row of ``model``; Missing when it lacks one of the values ``needs``."""
    row = next((r for r in runs.get("5.6", {}).get("rows", []) if r["model"] == model), None)
    if row is None or any(row.get(k) is None for k in needs):
        raise Missing(model)
    return row


def vae_clearer(runs: Runs) -> tuple[str, str]:
    """Like with like: the VAE's samples against the GAN's (the write-up set reconstructions,
    which copy a real image, beside samples), by the 5.6 answer's own statistic: the last-epoch
    distance over each run's seeds (``comparison.sample_distances``)."""
    from genlab.course.report.comparison import sample_distances

    models = {"the VAE": _row(runs, "VAE", "frechet"), "the GAN": _row(runs, "GAN", "frechet")}
    compared = {name: tuple(row["run"].split("/", 1)) for name, row in models.items()}
    spreads = sample_distances(runs, compared)
    vae, gan = (spreads.get(name) for name in models)
    if vae is None or gan is None:
        raise Missing("the VAE's or the GAN's last-epoch distance")
    text = f"last-epoch distance of samples: VAE {vae.text()}, GAN {gan.text()}"
    return text, _compared(vae, gan, a_lower=True)


def gan_details(runs: Runs) -> tuple[str, str]:
    vae, gan, real = (_row(runs, m, "neighbour_difference") for m in ("VAE", "GAN", "real images"))
    text = (f"mean difference between neighbouring pixels: GAN {gan['neighbour_difference']:.3f}, "
            f"VAE {vae['neighbour_difference']:.3f}, real images "
            f"{real['neighbour_difference']:.3f}; it counts detail and speckle alike, so it "
            "cannot say which one the GAN adds")  # fmt: skip
    return text, CANNOT_TELL


def gan_background(runs: Runs) -> tuple[str, str]:
    vae, gan, real = (_row(runs, m, "background_dark") for m in ("VAE", "GAN", "real images"))
    text = (f"corner pixels near black: GAN {gan['background_dark']:.1%}, VAE "
            f"{vae['background_dark']:.1%}, real images {real['background_dark']:.1%}")
    near = abs(gan["background_dark"] - real["background_dark"]) <= BACKGROUND_NEAR
    if near:
        return text + f"; the GAN within {BACKGROUND_NEAR:.0%} of the data", DISAGREE
    return text, AGREE if gan["background_dark"] < vae["background_dark"] else DISAGREE


def cgan_category(runs: Runs) -> tuple[str, str]:
    acc = _row(runs, "cGAN", "conditional_accuracy")["conditional_accuracy"]
    return f"conditional accuracy of the cGAN {acc:.1%}", AGREE if acc > MATCHING else DISAGREE


CLAIMS = (
    Claim("4.2", "Problem 4 default hyperparameters: batch size 128, epochs 10, no-CUDA False, "
          "seed 1, log interval 10.", defaults),
    Claim("4.3", "When batch size = 64, it is slightly better [...]. But all the batch sizes we "
          "used gave more or less similar results.", batch_sizes),
    Claim("4.3", "It seems the batch size of 64 with 50 epochs performs the best.",
          best_grid_point),
    Claim("4.3", "The bags and shoes don't seem to be great in any of the examples.",
          bags_and_shoes),
    Claim("5.3", "GAN equal LR: [...] Most are shirts, dresses and in some cases pants.",
          equal_lr_classes),
    Claim("5.3", "GAN equal LR [...] seems to be the most optimal training setup.",
          equal_lr_best),
    Claim("5.3", "Generator LR (0.002) > Discriminator LR: the generator loss was very high and "
          "it seems like it was never able to learn to 'trick' the discriminator.", g_faster),
    Claim("5.3", "Generator LR < Discriminator LR (0.002): the generator loss was always 0 and "
          "the discriminator loss was very high [...] the generator was able to create blobs "
          "and 'fool' the discriminator.", d_faster),
    Claim("5.3", "Generator trained 3x per discriminator update: the generator loss was too "
          "high whereas the discriminator loss was near 0.", g_steps3),
    Claim("5.5", "CGAN: we see very fuzzy images [...]", cgan_fuzzy),
    Claim("5.5", "CGAN: we see [...] images with matching labels.", cgan_labels),
    Claim("5.5", "The images seem to be less clear than the vanilla GAN.", cgan_less_clear),
    Claim("5.5", "In the vanilla GAN, there were only shirts, dresses, and trousers.",
          gan_three_classes),
    Claim("5.5", "It does seem like the CGAN was able to get a better distribution of products.",
          cgan_better_spread),
    Claim("5.6", "The images reconstructed from the VAE seem to be much more clear.",
          vae_clearer),
    Claim("5.6", "With the GANs we can see a design starting to form in the clothing, "
          "something that the VAE doesn't do particularly well.", gan_details),
    Claim("5.6", "In the case of the GAN, it seems even the background is not learned to be a "
          "solid color, which is something the VAE does very well.", gan_background),
    Claim("5.6", "A cGAN [is better for new clothing ideas], as you can specify the category to "
          "create.", cgan_category),
)  # fmt: skip


def judged(problem: str, runs: Runs) -> list[tuple[Claim, str, str]]:
    """(claim, what we measured, verdict) for every claim about ``problem``."""
    out = []
    for claim in (c for c in CLAIMS if c.problem == problem):
        try:
            measured, verdict = claim.judge(runs)
        except Missing as e:  # a run not finished yet; any other error is a bug
            measured, verdict = f"not finished or not measured yet: {e}", CANNOT_TELL
        out.append((claim, measured, verdict))
    return out


def writeup_markdown(problem: str, runs: Runs) -> str:
    """The table "the write-up says / we measured / verdict" of one problem."""
    rows = judged(problem, runs)
    if not rows:
        return "The course write-up makes no claim about this problem."
    lines = ["| the write-up says | we measured | verdict |", "| --- | --- | --- |"]
    lines += [f"| {c.says} | {measured} | **{verdict}** |" for c, measured, verdict in rows]
    return "\n".join(lines)
