"""Problem 5.6's written answer, VAE versus GAN, from the rows of its table (``genlab.compare``).

Every number is quoted from the rows, formatted as the table formats it, and the direction of
every comparison ("closer", "sharper", "more solid") comes from comparing those numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from genlab.compare import (
    CORNER,
    DARK,
    Picked,
    Row,
    fmt_distance,
    fmt_kl,
    fmt_pixel,
    fmt_share,
    pick,
    top_class,
)
from genlab.report import capitalize as cap
from genlab.report import duration
from genlab.report.rules import BACKGROUND_NEAR


def _and(names: Sequence[str]) -> str:
    names = list(names)
    if len(names) < 2:
        return "".join(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _verb(names: Sequence[str], one: str, many: str) -> str:
    return one if len(names) == 1 else many


def _missing(name: str, row: Row) -> str:
    why = "; ".join(filter(None, [row.status, row.note])) or "not measured"
    return f"{name} has none ({why})"


Value = Callable[[Row], Any]
Form = Callable[[Any], str]


def _listing(models: list[tuple[str, Row]], value: Value, form: Form) -> str:
    return ", ".join(
        f"{name} {form(value(row))}" if value(row) is not None else _missing(name, row)
        for name, row in models
    )


def _ends(models: list[tuple[str, Row]], value: Value, form: Form
          ) -> tuple[list[str], list[str]] | None:  # fmt: skip
    """(names with the lowest value, names with the highest) among the models that have one;
    None when fewer than two have one or their quoted values are all equal (ties: equal as
    quoted)."""
    have = [(name, form(value(row)), value(row)) for name, row in models
            if value(row) is not None]  # fmt: skip
    if len(have) < 2 or len({q for _, q, _ in have}) == 1:
        return None
    low = min(have, key=lambda h: h[2])[1]
    high = max(have, key=lambda h: h[2])[1]
    return [n for n, q, _ in have if q == low], [n for n, q, _ in have if q == high]


def _compare(a: float, b: float, form: Form) -> int:
    """-1, 0 or 1: a below, equal to (as quoted) or above b."""
    return 0 if form(a) == form(b) else (1 if a > b else -1)


def _closeness(p: Picked) -> str:
    models = p.models()
    dist: Value = lambda r: r.frechet  # noqa: E731
    text = "**Closeness to the real images.** Fréchet distance (lower is closer"
    if p.real and p.real.frechet is not None and p.noise and p.noise.frechet is not None:
        text += (f"; real training images {fmt_distance(p.real.frechet)}, uniform noise "
                 f"{fmt_distance(p.noise.frechet)}")  # fmt: skip
    text += f"): {_listing(models, dist, fmt_distance)}."
    ends = _ends(models, dist, fmt_distance)
    if ends:
        text += (f" {cap(_and(ends[0]))} {_verb(ends[0], 'is', 'are')} the closest to the real "
                 f"images, {_and(ends[1])} the farthest.")  # fmt: skip
    if p.vae and p.recon and p.vae.frechet is not None and p.recon.frechet is not None:
        s, r = fmt_distance(p.vae.frechet), fmt_distance(p.recon.frechet)
        side = _compare(p.recon.frechet, p.vae.frechet, fmt_distance)
        if side < 0:
            text += (f" The VAE's reconstructions of test images ({r}) are closer than its "
                     f"samples from the prior ({s}): its clearest pictures are reconstructions "
                     "of given images, which a GAN does not make.")  # fmt: skip
        else:
            word = "as close as" if side == 0 else "farther than"
            text += (f" The VAE's reconstructions of test images ({r}) are {word} its samples "
                     f"from the prior ({s}).")  # fmt: skip
    return text


SMOOTHER, HARDER = 0.85, 1.15  # neighbour difference relative to real images'


def _sharpness(p: Picked) -> str:
    models = p.models()
    diff: Value = lambda r: r.neighbour_difference  # noqa: E731
    real = p.real.neighbour_difference if p.real else None
    text = "**Sharpness.** Mean difference between neighbouring pixels"
    if real is not None:
        text += f" (real images {fmt_pixel(real)})"
    text += f": {_listing(models, diff, fmt_pixel)}."
    if real:
        smoother, harder, alike = [], [], []
        for name, row in models:
            if diff(row) is not None:
                ratio = diff(row) / real
                (smoother if ratio < SMOOTHER else harder if ratio > HARDER else alike).append(name)
        if smoother:
            text += (f" {cap(_and(smoother))} {_verb(smoother, 'is', 'are')} smoother than "
                     "real images: blurred edges and flat fabric.")  # fmt: skip
        if harder:
            text += (f" {cap(_and(harder))} {_verb(harder, 'changes', 'change')} more abruptly "
                     "from pixel to pixel than real images: detail or speckle, which this "
                     "statistic cannot tell apart.")  # fmt: skip
        if alike:
            text += (f" {cap(_and(alike))} {_verb(alike, 'is', 'are')} within 15% of the real "
                     "images.")  # fmt: skip
    if p.vae and p.gan and diff(p.vae) is not None and diff(p.gan) is not None:
        v, g = fmt_pixel(diff(p.vae)), fmt_pixel(diff(p.gan))
        side = _compare(diff(p.gan), diff(p.vae), fmt_pixel)
        word = {1: "sharper (or noisier) than", -1: "smoother than", 0: "as sharp as"}[side]
        text += f" {cap(p.gan_name)}'s samples are {word} the VAE's ({g} vs {v})."
    return text


def _background(p: Picked) -> str:
    models = p.models()
    dark: Value = lambda r: r.background_dark  # noqa: E731
    text = (f"**Background.** Share of the pixels of the four {CORNER} x {CORNER} corners that "
            f"are near black (below {DARK}), and their mean value")  # fmt: skip
    real = p.real.background_dark if p.real else None
    if real is not None:
        text += f" (real images {fmt_share(real)}, {fmt_pixel(p.real.background_mean)})"

    def both(r: Row) -> str | None:
        return None if r.background_dark is None else (
            f"{fmt_share(r.background_dark)} ({fmt_pixel(r.background_mean)})")  # fmt: skip

    text += f": {_listing(models, both, str)}."
    points = f"{100 * BACKGROUND_NEAR:g} percentage points"
    if real is not None:
        gaps = {n: dark(r) - real for n, r in models if dark(r) is not None}
        if gaps and all(abs(g) <= BACKGROUND_NEAR for g in gaps.values()):
            return text + (f" Every model is within {points} of the real images' share, so by "
                           "this measure none leaves grey or speckled corners.")  # fmt: skip
    ends = _ends(models, dark, fmt_share)
    if ends:
        text += (f" {cap(_and(ends[1]))} {_verb(ends[1], 'has', 'have')} the most solid black "
                 f"background, {_and(ends[0])} the least.")  # fmt: skip
    if real is not None:
        grey = [n for n, g in gaps.items() if g < -BACKGROUND_NEAR]
        below = [n for n, g in gaps.items() if _compare(real + g, real, fmt_share) < 0]
        rest = [n for n in gaps if n not in below]
        if grey:
            text += (f" {cap(_and(grey))} {_verb(grey, 'is', 'are')} more than {points} below "
                     "the real images' share: grey or speckled corners.")  # fmt: skip
        if below and below != grey:
            text += (f" {cap(_and(below))} {_verb(below, 'stays', 'stay')} below the real "
                     "images' share.")  # fmt: skip
        if rest:
            text += (f" {cap(_and(rest))} {_verb(rest, 'reaches', 'reach')} the real images' "
                     "share or more.")  # fmt: skip
    return text


def _classes(p: Picked) -> str:
    models = p.models()
    text = "**Variety of classes.** Classes covered (of 10) and KL from uniform (0: balanced)"
    if p.real and p.real.classes_covered is not None:
        text += f"; real images {p.real.classes_covered} ({fmt_kl(p.real.kl)})"

    def both(r: Row) -> str | None:
        return None if r.classes_covered is None else f"{r.classes_covered} ({fmt_kl(r.kl)})"

    text += f": {_listing(models, both, str)}."
    for a, a_name, b, b_name in [(p.cgan, "the cGAN", p.gan, p.gan_name),
                                 (p.vae, "the VAE", p.gan, p.gan_name)]:  # fmt: skip
        if not (a and b and a.classes_covered is not None and b.classes_covered is not None):
            continue
        ca, cb = a.classes_covered, b.classes_covered
        cover = _compare(ca, cb, str)
        balance = -_compare(a.kl, b.kl, fmt_kl)  # 1: a more balanced (lower KL)
        joint = "but is" if cover and balance and cover != balance else "and is"
        covers = {1: "more classes than", -1: "fewer classes than", 0: "as many classes as"}
        balanced = {1: "more balanced", -1: "less balanced", 0: "as balanced"}
        text += (
            f" {cap(a_name)} covers {covers[cover]} {b_name} ({ca} vs {cb}) {joint} "
            f"{balanced[balance]} (KL {fmt_kl(a.kl)} vs {fmt_kl(b.kl)})."
        )
    if p.gan and top_class(p.gan):
        name, share = top_class(p.gan)
        text += (
            f" The most frequent class of {p.gan_name}'s samples is {name} ({fmt_share(share)})."
        )
    return text


LABEL_FOLLOWED = 0.15  # conditional accuracy above which the label counts as followed


def _labels(p: Picked) -> str:
    text = "**Control by label.** Only the cGAN can be asked for a class"
    if p.cgan is None or p.cgan.conditional_accuracy is None:
        missing = _missing("the cGAN", p.cgan) if p.cgan else "the cGAN did not run"
        return f"{text}; its accuracy is unknown: {missing}."
    acc = p.cgan.conditional_accuracy
    if acc >= 0.5:
        verdict = "it mostly draws the class it is asked for"
    elif acc > LABEL_FOLLOWED:
        verdict = "it follows the label more often than chance, but often draws another class"
    else:
        verdict = "it does no better than chance: it ignores the label"
    return (f"{text}: {fmt_share(acc)} of its samples are classified as the class they were "
            f"generated for (chance: 10.0%), so {verdict}. The VAE and the GAN draw whatever "
            "class their noise falls on.")  # fmt: skip


def _cost(p: Picked) -> str:
    models = [(n, r) for n, r in p.models() if r.train_seconds]
    if not models:
        return ""
    devices = {r.device for _, r in models}
    epochs = {r.epochs_done for _, r in models}
    each = [f"{n} {duration(r.train_seconds)}" for n, r in models]
    if len(devices) > 1:
        each = [f"{e} on {r.device}" for e, (_, r) in zip(each, models, strict=True)]
    if len(epochs) > 1:
        each = [f"{e} ({r.epochs_done} epochs)" for e, (_, r) in zip(each, models, strict=True)]
    where = [f"on {devices.pop()}"] if len(devices) == 1 else []
    where += [f"for {epochs.pop()} epochs each"] if len(epochs) == 1 else []
    text = f"**Training time**{' ' + ', '.join(where) if where else ''}: {', '.join(each)}."
    if p.vae and p.gan and p.vae.train_seconds and p.gan.train_seconds:
        ratio = p.gan.train_seconds / p.vae.train_seconds
        if ratio >= 1.1:
            text += f" The VAE trained {ratio:.1f} times faster than {p.gan_name}."
        elif ratio <= 1 / 1.1:
            text += f" {cap(p.gan_name)} trained {1 / ratio:.1f} times faster than the VAE."
        else:
            text += f" The VAE and {p.gan_name} took about as long."
    return text


def _summary(p: Picked) -> str:
    models = p.models()
    facts: dict[str, list[str]] = {}  # subject -> predicates, in the order found

    def add(names: list[str], one: str, many: str) -> None:
        facts.setdefault(_and(names), []).append(_verb(names, one, many))

    ends = _ends(models, lambda r: r.frechet, fmt_distance)
    if ends:
        closest = "the closest to the data by the classifier's features"
        add(ends[0], f"is {closest}", f"are {closest}")
    ends = _ends(models, lambda r: r.classes_covered, str)
    if ends:
        add(ends[1], "covers the most classes", "cover the most classes")
    if p.cgan and p.cgan.conditional_accuracy is not None:
        acc = fmt_share(p.cgan.conditional_accuracy)
        if p.cgan.conditional_accuracy > LABEL_FOLLOWED:
            facts.setdefault("only the cGAN", []).append(
                f"can be told which class to draw ({acc} of its samples match)"
            )
        else:
            add(["the cGAN"], f"does not follow its labels yet ({acc} of its samples match)", "")
    if not facts:
        return ""
    return "**In short,** " + "; ".join(f"{s} {_and(ps)}" for s, ps in facts.items()) + "."


def answer_markdown(rows: Sequence[Row]) -> str:
    """The answer to "What differences did you notice in practice?", built from ``rows``:
    each claim quotes the table's numbers, and the direction of each follows them."""
    p = pick(rows)
    named = [f"{name[4:]} `{row.run}`" for name, row in p.models()]
    n = next((r.n for r in rows if r.n), None)
    lead = f"Compared: {_and(named) or 'no run'}" + (f", {n} generated images each." if n else ".")
    # the four GAN settings are compared over seeds in 5.3's answer, not from one run each here
    claims = [c(p) for c in (_closeness, _sharpness, _background, _classes, _labels,
                             _cost, _summary)]  # fmt: skip
    return lead + "\n\n" + "\n".join(f"- {c}" for c in claims if c)
