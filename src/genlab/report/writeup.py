"""The course write-up's claims (``shared/seed/course-writeup.txt``) beside what our runs measured.

Each claim is quoted (shortened where marked), paired with the statistic that tests it, and
judged agree / disagree / cannot tell by a stated threshold. A claim whose runs are missing is
"cannot tell": a claim about the whole grid needs every point of it. The notebooks and
``index.html`` both render ``writeup_markdown``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from genlab.data import FASHION_CLASSES
from genlab.grids import PROBLEMS
from genlab.report.gan import final_quality
from genlab.report.rules import failed

AGREE, DISAGREE, CANNOT_TELL = "agree", "disagree", "cannot tell"
SIMILAR = 0.02  # losses within 2% of each other count as "more or less similar"
VERY_HIGH = 1.5  # a generator loss "very high": above 1.5 times that of equal rates
NEAR_ZERO = 0.1  # a loss "near 0" / "always 0": below 0.1 nats per image
MATCHING = 0.5  # conditional accuracy above which samples "match their labels"
FUZZY = 0.85  # images whose neighbouring pixels differ by less than 85% of real ones' are blurred

Runs = dict[str, dict[str, Any]]  # problem -> point -> metrics.json (5.6: "rows" -> table rows)
Judge = Callable[[Runs], tuple[str, str]]


@dataclass(frozen=True)
class Claim:
    problem: str
    says: str
    judge: Judge


def _last(runs: Runs, problem: str, point: str) -> dict[str, Any]:
    return runs[problem][point]["epochs"][-1]


def _quality(runs: Runs, problem: str, point: str) -> dict[str, Any]:
    q = final_quality(runs[problem][point])
    if q is None:
        raise KeyError(point)
    return q


def _top(q: dict[str, Any], k: int = 3) -> list[str]:
    hist = q["class_histogram"]
    return [FASHION_CLASSES[i] for i in sorted(range(len(hist)), key=lambda i: -hist[i])[:k]]


def defaults(runs: Runs) -> tuple[str, str]:
    c = runs["4.2"]["default"]["config"]
    ours = {k: c[k] for k in ("batch_size", "epochs", "seed", "log_interval", "no_cuda")}
    course = {"batch_size": 128, "epochs": 10, "seed": 1, "log_interval": 10, "no_cuda": False}
    text = ", ".join(f"{k} {v}" for k, v in ours.items())
    return f"4.2 ran with {text}", AGREE if ours == course else DISAGREE


def batch_sizes(runs: Runs) -> tuple[str, str]:
    losses = {bs: _last(runs, "4.3", f"bs{bs}_ep10")["test_loss"] for bs in (64, 128, 256)}
    spread = (max(losses.values()) - min(losses.values())) / min(losses.values())
    best = min(losses, key=losses.__getitem__)
    text = (", ".join(f"batch {bs}: {v:.2f}" for bs, v in losses.items())
            + f" nats per image after 10 epochs; spread {spread:.1%}")  # fmt: skip
    return text, AGREE if best == 64 and spread < SIMILAR else DISAGREE


def best_grid_point(runs: Runs) -> tuple[str, str]:
    final = {n: _last(runs, "4.3", n)["test_loss"] for n in PROBLEMS["4.3"].points}
    best = min(final, key=final.__getitem__)
    text = f"lowest test loss: {best} ({final[best]:.2f}); bs64_ep50: {final['bs64_ep50']:.2f}"
    return text, AGREE if best == "bs64_ep50" else DISAGREE


def bags_and_shoes(runs: Runs) -> tuple[str, str]:
    return ("our runs measure reconstruction quality over all classes, not per class", CANNOT_TELL)


def equal_lr_classes(runs: Runs) -> tuple[str, str]:
    top = _top(_quality(runs, "5.3", "equal_lr"))
    seen = {"Shirt", "Dress", "Trouser"} & set(top)
    q = _quality(runs, "5.3", "equal_lr")
    text = (f"most frequent classes of equal rates: {', '.join(top)}; "
            f"{q['classes_covered']} of 10 classes covered")  # fmt: skip
    return text, AGREE if len(seen) >= 2 else DISAGREE


def equal_lr_best(runs: Runs) -> tuple[str, str]:
    fd = {n: _quality(runs, "5.3", n)["frechet_distance"] for n in PROBLEMS["5.3"].points}
    best = min(fd, key=fd.__getitem__)
    text = f"Fréchet distance: equal rates {fd['equal_lr']:.1f}; lowest {best} {fd[best]:.1f}"
    return text, AGREE if best == "equal_lr" else DISAGREE


def g_faster(runs: Runs) -> tuple[str, str]:
    g, eq = _last(runs, "5.3", "g_faster"), _last(runs, "5.3", "equal_lr")
    text = (f"generator faster: generator loss {g['generator_loss']:.2f} (equal rates "
            f"{eq['generator_loss']:.2f}), D(G(z)) {g['d_fake']:.2f}, Fréchet distance "
            f"{_quality(runs, '5.3', 'g_faster')['frechet_distance']:.1f}")  # fmt: skip
    high = g["generator_loss"] > VERY_HIGH * eq["generator_loss"]
    return text, AGREE if high and g["d_fake"] < 0.2 else DISAGREE


def d_faster(runs: Runs) -> tuple[str, str]:
    m = runs["5.3"]["d_faster"]
    if not m.get("epochs"):
        raise KeyError("d_faster")  # not trained yet
    lowest_g = min(e["generator_loss"] for e in m["epochs"])
    d = m["epochs"][-1]
    q = _quality(runs, "5.3", "d_faster")
    text = (f"discriminator faster: lowest generator loss of any epoch {lowest_g:.2f}, last "
            f"discriminator loss {d['discriminator_loss']:.2f}; Fréchet distance "
            f"{q['frechet_distance']:.1f}, {q['classes_covered']} classes")  # fmt: skip
    return text, AGREE if lowest_g < NEAR_ZERO and failed(q) else DISAGREE


def g_steps3(runs: Runs) -> tuple[str, str]:
    last = _last(runs, "5.3", "g_steps3")
    text = (f"3 generator steps: generator loss {last['generator_loss']:.2f}, discriminator "
            f"loss {last['discriminator_loss']:.2f} at the last epoch")  # fmt: skip
    return text, AGREE if last["discriminator_loss"] < NEAR_ZERO else DISAGREE


def cgan_labels(runs: Runs) -> tuple[str, str]:
    acc = _quality(runs, "5.5", "equal_lr")["conditional_accuracy"]
    return f"conditional accuracy {acc:.1%}", AGREE if acc > MATCHING else DISAGREE


def cgan_fuzzy(runs: Runs) -> tuple[str, str]:
    cgan, real = _row(runs, "cGAN"), _row(runs, "real images")
    ratio = cgan["neighbour_difference"] / real["neighbour_difference"]
    text = (f"mean difference between neighbouring pixels: cGAN {cgan['neighbour_difference']:.3f}"
            f", real images {real['neighbour_difference']:.3f} ({ratio:.0%} of real; blur lowers "
            "it)")  # fmt: skip
    return text, AGREE if ratio < FUZZY else DISAGREE


def cgan_less_clear(runs: Runs) -> tuple[str, str]:
    """Judged like for like: the write-up's cGAN, like our GAN, sampled from its generator
    itself, so where ours keeps a weight average its generator without it is compared."""
    c = _quality(runs, "5.5", "equal_lr")["frechet_distance"]
    g = _quality(runs, "5.3", "equal_lr")["frechet_distance"]
    text = f"Fréchet distance: cGAN {c:.1f}, GAN {g:.1f}"
    raw = runs["5.5"]["equal_lr"].get("evaluation", {}).get("samples_without_average")
    if raw:
        c = raw["frechet_distance"]
        text += f"; the cGAN's generator without its weight average (like for like) {c:.1f}"
    return text, AGREE if c > g else DISAGREE


def gan_three_classes(runs: Runs) -> tuple[str, str]:
    q = _quality(runs, "5.3", "equal_lr")
    text = f"the GAN with equal rates covers {q['classes_covered']} of 10 classes"
    return text, AGREE if q["classes_covered"] <= 3 else DISAGREE


def cgan_better_spread(runs: Runs) -> tuple[str, str]:
    c, g = _quality(runs, "5.5", "equal_lr"), _quality(runs, "5.3", "equal_lr")
    text = (f"KL from uniform of the class shares: cGAN {c['kl_from_uniform']:.3f}, GAN "
            f"{g['kl_from_uniform']:.3f}; classes covered {c['classes_covered']} vs "
            f"{g['classes_covered']}")  # fmt: skip
    return text, AGREE if c["kl_from_uniform"] < g["kl_from_uniform"] else DISAGREE


def _row(runs: Runs, model: str) -> dict[str, Any]:
    row = next((r for r in runs["5.6"]["rows"] if r["model"] == model), None)
    if row is None:
        raise KeyError(model)
    return row


def vae_clearer(runs: Runs) -> tuple[str, str]:
    rec, vae, gan = _row(runs, "VAE reconstructions"), _row(runs, "VAE"), _row(runs, "GAN")
    text = (f"Fréchet distance: VAE reconstructions {rec['frechet']:.1f}, VAE samples "
            f"{vae['frechet']:.1f}, GAN samples {gan['frechet']:.1f}")  # fmt: skip
    return text, AGREE if rec["frechet"] < gan["frechet"] else DISAGREE


def gan_details(runs: Runs) -> tuple[str, str]:
    vae, gan, real = _row(runs, "VAE"), _row(runs, "GAN"), _row(runs, "real images")
    text = (f"mean difference between neighbouring pixels: GAN {gan['neighbour_difference']:.3f}, "
            f"VAE {vae['neighbour_difference']:.3f}, real images "
            f"{real['neighbour_difference']:.3f} (it counts detail and speckle alike)")  # fmt: skip
    return text, AGREE if gan["neighbour_difference"] > vae["neighbour_difference"] else DISAGREE


def gan_background(runs: Runs) -> tuple[str, str]:
    vae, gan = _row(runs, "VAE"), _row(runs, "GAN")
    text = (f"corner pixels near black: GAN {gan['background_dark']:.1%}, VAE "
            f"{vae['background_dark']:.1%}")  # fmt: skip
    return text, AGREE if gan["background_dark"] < vae["background_dark"] else DISAGREE


def cgan_category(runs: Runs) -> tuple[str, str]:
    acc = _row(runs, "cGAN")["conditional_accuracy"]
    return f"conditional accuracy of the cGAN {acc:.1%}", AGREE if acc > MATCHING else DISAGREE


CLAIMS = (
    Claim(
        "4.2",
        "Problem 4 default hyperparameters: batch size 128, epochs 10, no-CUDA False, "
        "seed 1, log interval 10.",
        defaults,
    ),  # fmt: skip
    Claim(
        "4.3",
        "When batch size = 64, it is slightly better [...]. But all the batch sizes we "
        "used gave more or less similar results.",
        batch_sizes,
    ),  # fmt: skip
    Claim(
        "4.3", "It seems the batch size of 64 with 50 epochs performs the best.", best_grid_point
    ),  # fmt: skip
    Claim(
        "4.3", "The bags and shoes don't seem to be great in any of the examples.", bags_and_shoes
    ),  # fmt: skip
    Claim(
        "5.3",
        "GAN equal LR: [...] Most are shirts, dresses and in some cases pants.",
        equal_lr_classes,
    ),  # fmt: skip
    Claim(
        "5.3", "GAN equal LR [...] seems to be the most optimal training setup.", equal_lr_best
    ),  # fmt: skip
    Claim(
        "5.3",
        "Generator LR (0.002) > Discriminator LR: the generator loss was very high and "
        "it seems like it was never able to learn to 'trick' the discriminator.",
        g_faster,
    ),  # fmt: skip
    Claim(
        "5.3",
        "Generator LR < Discriminator LR (0.002): the generator loss was always 0 and "
        "the discriminator loss was very high [...] the generator was able to create blobs "
        "and 'fool' the discriminator.",
        d_faster,
    ),  # fmt: skip
    Claim(
        "5.3",
        "Generator trained 3x per discriminator update: the generator loss was too "
        "high whereas the discriminator loss was near 0.",
        g_steps3,
    ),  # fmt: skip
    Claim("5.5", "CGAN: we see very fuzzy images [...]", cgan_fuzzy),
    Claim("5.5", "CGAN: we see [...] images with matching labels.", cgan_labels),
    Claim("5.5", "The images seem to be less clear than the vanilla GAN.", cgan_less_clear),
    Claim(
        "5.5",
        "In the vanilla GAN, there were only shirts, dresses, and trousers.",
        gan_three_classes,
    ),  # fmt: skip
    Claim(
        "5.5",
        "It does seem like the CGAN was able to get a better distribution of products.",
        cgan_better_spread,
    ),  # fmt: skip
    Claim(
        "5.6", "The images reconstructed from the VAE seem to be much more clear.", vae_clearer
    ),  # fmt: skip
    Claim(
        "5.6",
        "With the GANs we can see a design starting to form in the clothing, "
        "something that the VAE doesn't do particularly well.",
        gan_details,
    ),  # fmt: skip
    Claim(
        "5.6",
        "In the case of the GAN, it seems even the background is not learned to be a "
        "solid color, which is something the VAE does very well.",
        gan_background,
    ),  # fmt: skip
    Claim(
        "5.6",
        "A cGAN [is better for new clothing ideas], as you can specify the category to create.",
        cgan_category,
    ),  # fmt: skip
)


def judged(problem: str, runs: Runs) -> list[tuple[Claim, str, str]]:
    """(claim, what we measured, verdict) for every claim about ``problem``."""
    out = []
    for claim in (c for c in CLAIMS if c.problem == problem):
        try:
            measured, verdict = claim.judge(runs)
        except (KeyError, IndexError, TypeError, ValueError):  # a run missing or still running
            measured, verdict = "the runs this needs are missing or unmeasured", CANNOT_TELL
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
