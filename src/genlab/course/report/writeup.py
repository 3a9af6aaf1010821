"""The course write-up's claims beside what our runs measured.

Each claim is quoted as written ([...] marks words left out) and split into the parts it
asserts; each part is a check of ``claims`` (the same rules the answers use) on the committed
numbers. The verdict follows from
the parts: **agree** when every part holds, **disagree** when none does, **partly** when some
do (the table says which), **cannot tell** when the ranges over seeds overlap, so that neither
way holds at that many seeds. A claim whose runs are missing is "cannot tell" too, and says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from genlab.course.grids import (
    CGAN_GRID,
    GAN_GRID,
    MNIST_VAE,
    PROBLEMS,
    VAE_GRID,
    VAE_POINT,
    VAE_VS_GAN,
)
from genlab.course.report import capitalize
from genlab.course.report.claims import MIN_SEEDS, Check, Checker, ClaimFailed
from genlab.course.report.stats import threshold
from genlab.course.report.values import REAL, Numbers, setting_label

AGREE, PARTLY, DISAGREE, CANNOT_TELL = "agree", "partly", "disagree", "cannot tell"
VERDICTS = (AGREE, PARTLY, DISAGREE, CANNOT_TELL)

Judge = Callable[[Checker], str]  # makes the checks of a claim's parts; returns a note or ""


@dataclass(frozen=True)
class Claim:
    problem: str
    says: str  # the write-up's words, as written
    judge: Judge
    about: tuple[str, ...] = ()  # settings it is about beyond those whose numbers it reads


def verdict(checks: Sequence[Check]) -> str:
    """agree / partly / disagree / cannot tell from the checks of a claim's parts: agree when
    every part holds, disagree when none does and at least one surely fails, cannot tell when
    no part is decided, partly otherwise (the table says which part holds)."""
    if all(c.holds for c in checks):
        return AGREE
    if not any(c.decided for c in checks):
        return CANNOT_TELL
    return PARTLY if any(c.holds for c in checks) else DISAGREE


def tenth(point: str) -> str:
    return f"{VAE_GRID}/{point}"


TEN_EPOCHS = [tenth(f"bs{bs}_ep10") for bs in (64, 128, 256)]
GRID_43 = [f"{VAE_GRID}/{p}" for p in PROBLEMS[VAE_GRID].points]
GANS = [f"{GAN_GRID}/{p}" for p in PROBLEMS[GAN_GRID].points]
EQUAL, COURSE_CGAN = f"{GAN_GRID}/equal_lr", f"{CGAN_GRID}/course"


def defaults(c: Checker) -> str:
    config = PROBLEMS[MNIST_VAE].config("default")
    course = {"batch_size": 128, "epochs": 10, "seed": 1, "log_interval": 10, "no_cuda": False}
    ours = {k: getattr(config, k) for k in course}
    c.checks.append(
        Check(
            "4.2 trains with the course's defaults",
            ours == course,
            ", ".join(f"{k} {v}" for k, v in ours.items()),
        )
    )
    return ""


def batch_64(c: Checker) -> str:
    shoes = "Batch 64 reconstructs the shoes better than batch {} (a lower shoe excess loss)"
    c.lower("shoe_loss", TEN_EPOCHS[0], TEN_EPOCHS[1], says=shoes.format(128))
    c.lower("shoe_loss", TEN_EPOCHS[0], TEN_EPOCHS[2], says=shoes.format(256))
    c.same("test_loss", *TEN_EPOCHS, says="The three batch sizes reconstruct alike (test loss)")
    losses = [c.spread(p, "test_loss").mean for p in TEN_EPOCHS]
    return (
        f"The three test losses lie within {max(losses) - min(losses):.2f} nats per image "
        f"of each other, {(max(losses) - min(losses)) / min(losses):.1%} of the loss."
    )


def best_setting(c: Checker) -> str:
    c.lowest(
        "test_loss",
        f"{VAE_GRID}/bs64_ep50",
        GRID_43,
        says="Batch 64 with 50 epochs has the lowest test loss of the grid",
    )
    return "No setting reconstructs the shirt's logo or the plaid; the crop of 4.3 shows it."


def bags_and_shoes(c: Checker) -> str:
    c.word("bag_rank", GRID_43, "bad", says="Bags are among the worst reconstructed, always")
    c.word("shoe_rank", GRID_43, "bad", says="So is a shoe class, in every setting")
    return ""


def equal_lr_classes(c: Checker) -> str:
    c.word("shirt_dress_share", EQUAL, "most", says="Most of the GAN's samples are shirts, dresses")
    c.word("shirt_dress_share", EQUAL, "over", says="Shirts and dresses are over-represented")
    return (
        "Two classes get 20% of the samples when every class is as frequent; the GAN gives "
        f"shirts and dresses {c.n(EQUAL, 'shirt_dress_share')}."
    )


def equal_lr_best(c: Checker) -> str:
    c.lowest("distance", EQUAL, GANS, says="Equal rates give the samples closest to the data")
    return ""


def g_faster(c: Checker) -> str:
    c.higher(
        "generator_loss",
        f"{GAN_GRID}/g_faster",
        EQUAL,
        says="The generator's loss is higher than with equal rates",
    )
    c.word(
        "d_fake", f"{GAN_GRID}/g_faster", "never_tricked", says="It never tricks the discriminator"
    )
    return ""


def d_faster(c: Checker) -> str:
    faster = f"{GAN_GRID}/d_faster"
    c.word("lowest_generator_loss", faster, "near_zero", says="The generator's loss reaches 0")
    c.higher(
        "discriminator_loss",
        faster,
        EQUAL,
        says="The discriminator's loss is higher than with equal rates",
    )
    c.higher(
        "distance", faster, EQUAL, says="Its blobs are farther from the data than equal rates'"
    )
    return ""


def g_steps3(c: Checker) -> str:
    three = f"{GAN_GRID}/g_steps3"
    c.higher(
        "generator_loss", three, EQUAL, says="The generator's loss is higher than with equal rates"
    )
    c.word("discriminator_loss", three, "near_zero", says="The discriminator's loss is near 0")
    return ""


def cgan_fuzzy(c: Checker) -> str:
    """The words "very fuzzy" and "less clear" are one rule: a larger distance than the GAN's."""
    c.higher("distance", COURSE_CGAN, EQUAL, says="The cGAN's samples are farther from the data")
    return ""


def cgan_labels(c: Checker) -> str:
    c.word("conditional_accuracy", COURSE_CGAN, "matching", says="The samples match their labels")
    return ""


def gan_three_classes(c: Checker) -> str:
    c.word("classes_covered", EQUAL, "few", says="The GAN draws three classes only")
    return ""


def cgan_better_spread(c: Checker) -> str:
    c.lower(
        "kl_from_uniform",
        COURSE_CGAN,
        EQUAL,
        says="The cGAN spreads its samples over the classes more evenly than the GAN",
    )
    return ""


VAE = f"{VAE_GRID}/{VAE_POINT}"


def vae_clearer(c: Checker) -> str:
    """Judged like for like: the VAE's samples against the GAN's, by the statistic both have;
    a reconstruction copies a given test image, which no sample does."""
    c.lower("sample_distance", VAE, EQUAL, says="The VAE's samples are nearer to the data")
    return (
        "Judged on samples, which both models make: the VAE's reconstructions, at a "
        f"reconstruction distance of {c.n(VAE, 'recon_distance')}, copy a given test image, "
        "which no sample does, so they are compared only with other reconstructions."
    )


def gan_details(c: Checker) -> str:
    sharp = [
        f"{setting_label(s)} {c.v(s, 'grid_neighbour_difference')}" for s in (EQUAL, VAE, REAL)
    ]
    return (
        "Cannot tell: the only measure, the sharpness of seed 1's sample grids ("
        + ", ".join(sharp)
        + "), counts detail and speckle alike."
    )


def gan_background(c: Checker) -> str:
    """Both parts on what every run kept: the sample grid of its last epoch (seed 1)."""
    grey = threshold("background_dark", "grey")
    real = c.spread(REAL, "grid_background_dark").mean
    for setting, says, is_grey in (
        (EQUAL, "The GAN's corners are grey", True),
        (VAE, "The VAE's corners are dark", False),
    ):
        gap = real - c.spread(setting, "grid_background_dark").mean
        word = grey.word if is_grey else f"not {grey.word}"
        c.checks.append(
            Check(
                f"{says}: {word} ({grey.bound()})",
                grey.holds(gap) == is_grey,
                f"grid dark corners, seed 1: {setting_label(setting)} "
                f"{c.v(setting, 'grid_background_dark')}, real images "
                f"{c.v(REAL, 'grid_background_dark')}",
            )
        )
    return ""


def cgan_category(c: Checker) -> str:
    """Every part: a GAN's samples nearer than the VAE's, a cGAN's nearer, and the class."""
    improved = f"{CGAN_GRID}/improved"
    c.lower("sample_distance", EQUAL, VAE, says="The GAN's samples are nearer to the data")
    c.lower("sample_distance", improved, VAE, says="The improved cGAN's are nearer still")
    asked = "'s samples show the class asked for"
    c.word("conditional_accuracy", improved, "matching", says=f"The improved cGAN{asked}")
    c.word("conditional_accuracy", COURSE_CGAN, "matching", says=f"The course's cGAN{asked}")
    return ""


CLAIMS = (
    Claim(
        MNIST_VAE,
        "Problem 4 default hyperparameters: batch size 128, epochs 10, no-CUDA False, "
        "seed 1, log interval 10.",
        defaults,
        about=(f"{MNIST_VAE}/default",),
    ),
    Claim(
        VAE_GRID,
        "We can see that when batch size = 64, it is slight better on the shoe "
        "reconstruction. But all the batch sizes we used gave more or less similar results.",
        batch_64,
    ),
    Claim(
        VAE_GRID,
        "It seems the batch size of 64 with 50 epochs performs the best. This can be "
        "seen in the logo of the shirt being reconstructed.",
        best_setting,
    ),
    Claim(
        VAE_GRID,
        "The bags and shoes don't seem to be great in any of the examples.",
        bags_and_shoes,
    ),
    Claim(
        GAN_GRID,
        "GAN equal LR - We see pixelated outlines of some of the clothing items. Most "
        "are shirts, dresses and in some cases pants.",
        equal_lr_classes,
    ),
    Claim(GAN_GRID, "[GAN equal LR] seems to be the most optimal training setup.", equal_lr_best),
    Claim(
        GAN_GRID,
        "GAN Generator LR (0.002) > Discriminator LR (0.0002) - The generator loss was "
        "very high and it seems like it was never able to learn to “trick” the "
        "discriminator.",
        g_faster,
    ),
    Claim(
        GAN_GRID,
        "GAN Generator LR (0.0002) < Discriminator LR (0.002) - The generator loss was "
        "always 0 and the discriminator loss was very high. It seems like the discriminator "
        "was unable to determine what was real and fake, so the generator was able to create "
        "blobs and “fool” the discriminator.",
        d_faster,
    ),
    Claim(
        GAN_GRID,
        "GAN Generator training 3x for each Discriminator train - There is an outline "
        "of a blob forming, but the generator loss was too high whereas the discriminator "
        "loss was near 0.",
        g_steps3,
    ),
    Claim(
        CGAN_GRID,
        "CGAN - We see very fuzzy images [...]. The images seem to be less clear than "
        "the vanilla GAN.",
        cgan_fuzzy,
    ),
    Claim(CGAN_GRID, "CGAN - We see [...] images with matching labels.", cgan_labels),
    Claim(
        CGAN_GRID,
        "In the vanilla GAN, there were only shirts, dresses, and trousers.",
        gan_three_classes,
    ),
    Claim(
        CGAN_GRID,
        "It does seem like the CGAN was able to get a better distribution of products.",
        cgan_better_spread,
    ),
    Claim(
        VAE_VS_GAN, "The images reconstructed from the VAE seem to be much more clear.", vae_clearer
    ),
    Claim(
        VAE_VS_GAN,
        "However, with the GANs we can see a design starting to form in the "
        "clothing, something that the VAE doesn't do particularly well.",
        gan_details,
    ),
    Claim(
        VAE_VS_GAN,
        "In the case of the GAN, it seems even the background is not learned to "
        "be a solid color, which is something the VAE does very well.",
        gan_background,
    ),
    Claim(
        VAE_VS_GAN,
        "If one is trying to get new clothing ideas, a GAN would be better, "
        "particularly a cGAN, as you can specify the category to create.",
        cgan_category,
    ),
)


@dataclass(frozen=True)
class Judged:
    claim: Claim
    checks: tuple[Check, ...]
    note: str
    verdict: str
    settings: frozenset[str] = frozenset()  # the settings whose numbers the judge read


def judged(problem: str, numbers: Numbers, min_seeds: int = MIN_SEEDS) -> list[Judged]:
    """Every claim about ``problem`` with its parts' checks and its verdict; ``min_seeds``
    as in ``claims.render`` (1 judges a student's one run against the committed ranges)."""
    out = []
    for claim in (c for c in CLAIMS if c.problem == problem):
        checker = Checker(numbers, strict=False, where=f"write-up {problem}", min_seeds=min_seeds)
        try:
            note = claim.judge(checker)
        except ClaimFailed as e:  # a run missing or not measured: say so, judge nothing
            out.append(Judged(claim, (), f"Not measured yet ({e}).", CANNOT_TELL))
            continue
        cited = {s for s, _ in checker.cited}
        checks, settings = tuple(checker.checks), frozenset(cited | set(claim.about))
        out.append(
            Judged(claim, checks, note, verdict(checks) if checks else CANNOT_TELL, settings)
        )
    return out


def _part(check: Check) -> str:
    mark = "holds" if check.holds else "does not hold" if check.decided else "cannot tell"
    return capitalize(f"{check.claim}: *{mark}*; {check.numbers}")


def writeup_markdown(
    problem: str, numbers: Numbers, mine: Numbers | None = None, setting: str = ""
) -> str:
    """The table "the write-up says / we measured / verdict" of one problem, judged on the
    committed runs' ``numbers``. With ``mine`` (the same numbers with a student's run in place
    of its ``setting``'s seeds), a last column judges again each claim about that setting."""
    rows = judged(problem, numbers)
    if not rows:
        return "The course write-up makes no claim about this problem."
    yours = judged(problem, mine, min_seeds=1) if mine is not None else None
    head = "| the write-up says | we measured (the committed runs) | verdict |"
    lines = [
        head + (" with your run |" if yours else ""),
        "| --- | --- | --- |" + (" --- |" if yours else ""),
    ]
    for i, j in enumerate(rows):
        measured = "<br>".join([*(_part(c) for c in j.checks), *([j.note] if j.note else [])])
        line = f"| {j.claim.says} | {measured} | **{j.verdict}** |"
        if yours:
            line += f" {yours[i].verdict} |" if setting in j.settings else " – (not its setting) |"
        lines.append(line)
    return "\n".join(lines)
