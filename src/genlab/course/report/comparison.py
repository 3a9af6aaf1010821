"""Problem 5.6's written answer, VAE versus GAN, from the rows of its table and the runs' seeds.

"Closer to the data" is the last-epoch distance (``rules``), compared over seeds by
``rules.differ``. "Smoother", "sharper" and "grey corners" place each model against the real
images by the bands of ``rules``; they are not rankings of the models. Classes are stated, not
ranked: the table has one seed of each model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from genlab.course.compare import VAE_SEEDED_POINT, Row, fmt_pixel, fmt_share, pick, top_class
from genlab.course.grids import label
from genlab.course.report import Runs, over_seeds, training_time
from genlab.course.report.gan import classifier_caveat
from genlab.course.report.rules import (
    BACKGROUND_NEAR,
    MATCHING,
    SHARPNESS_BAND,
    Spread,
    last_epoch_distance,
    ranking,
)
from genlab.course.report.vae import optimizer_steps


def sample_distances(runs: Runs, compared: dict[str, tuple[str, str]]) -> dict[str, Spread]:
    """Each compared model's (name -> (problem, point)) last-epoch distance over the point's
    seeds. A VAE point with one seed borrows the range width of ``VAE_SEEDED_POINT``, the
    nearest VAE with seeds."""
    out = {name: s for name, (problem, point) in compared.items()
           if (s := over_seeds(runs.get(problem, {}), problem, point, last_epoch_distance))}
    seeded = over_seeds(runs.get("4.3", {}), "4.3", VAE_SEEDED_POINT, last_epoch_distance)
    vae = out.get("the VAE")
    if vae and len(vae.values) == 1 and seeded and len(seeded.values) > 1:
        out["the VAE"] = Spread(vae.values, seeded.width / 2)
    return out


def _closeness(spreads: dict[str, Spread]) -> str:
    return f"Closest to the data by the last-epoch distance: {ranking(spreads)}."


def _sharpness(row: Row, real: Row | None) -> str:
    if row.neighbour_difference is None or real is None or not real.neighbour_difference:
        return ""
    ratio = row.neighbour_difference / real.neighbour_difference
    words = ("smoother than real images: blurred edges, flat fabric" if ratio < 1 - SHARPNESS_BAND
             else "more abrupt than real images: detail or speckle, which it cannot tell apart"
             if ratio > 1 + SHARPNESS_BAND else "as sharp as real images")  # fmt: skip
    return f"neighbour difference {fmt_pixel(row.neighbour_difference)}, {words}"


def _classes(row: Row) -> str:
    top = top_class(row)
    if row.classes_covered is None or top is None:
        return ""
    return f"{row.classes_covered} classes covered, most often {top[0]} ({fmt_share(top[1])})"


def _cost(runs: Runs, problem: str, point: str) -> str:
    m = runs.get(problem, {}).get(point)
    if not m or not m.get("epochs"):
        return ""
    per = " of each network" if m["config"]["model"] == "gan" else ""
    return (f"{optimizer_steps(m):,} Adam steps{per} ({m['epochs'][-1]['epoch']} epochs), "
            f"{training_time(m)}")  # fmt: skip


def answer_markdown(rows: Sequence[Row], runs: Runs) -> str:
    """The answer to "What differences did you notice in practice?": the finding, one line per
    model, then the background; every number from ``rows`` (seed 1) or the runs' seeds."""
    p = pick(rows)
    named = [(name, row) for name, row in [("the VAE", p.vae), ("the GAN", p.gan),
                                           ("the cGAN", p.cgan)] if row is not None and row.run]
    compared = {name: tuple(row.run.split("/", 1)) for name, row in named}
    spreads = sample_distances(runs, compared)
    finding = []
    if len(spreads) > 1:
        finding.append(_closeness(spreads))
    if p.recon and p.recon.frechet is not None:
        finding.append(f"The VAE's reconstructions of test images are at {p.recon.frechet:.1f}: "
                       "they copy a given image, which no sampler does, so they are not set "
                       "against samples.")  # fmt: skip
    if p.cgan and p.cgan.conditional_accuracy is not None:
        acc = p.cgan.conditional_accuracy
        finding.append(f"Only the cGAN can be asked for a class: {fmt_share(acc)} of its "
                       "samples are of the class asked for (chance 10.0%)"
                       + ("." if acc > MATCHING else ", so it does not follow its labels."))
    used = {f"{p}/{n}": m for p, point in compared.values()
            for n, m in runs.get(p, {}).items() if n == point or n.startswith(f"seeds/{point}-")}
    caveat = classifier_caveat(used, "5.6").strip()
    bullets = []
    for name, row in named:
        problem, point = compared[name]
        facts = [_sharpness(row, p.real), _classes(row), _cost(runs, problem, point)]
        status = "" if row.status == "complete" else f", {row.status}"
        bullets.append(f"- **{name[4:]}** ({label(problem, point)}{status}): "
                       + ("; ".join(f for f in facts if f) or "not measured") + ".")  # fmt: skip
    bullets.append("- " + _background(p))
    return " ".join(finding or ["No model of the comparison has been measured yet."]) + (
        f"\n\n{caveat}" if caveat else "") + "\n\n" + "\n".join(bullets)


def _background(p: Any) -> str:
    models = [(n, r) for n, r in p.models() if r.background_dark is not None]
    if not p.real or p.real.background_dark is None or not models:
        return "**Background**: not measured."
    real = p.real.background_dark
    shares = ", ".join(f"{n[4:]} {fmt_share(r.background_dark)}" for n, r in models)
    grey = [n[4:] for n, r in models if real - r.background_dark > BACKGROUND_NEAR]
    unmeasured = [n[4:] for n, r in p.models() if r.background_dark is None]
    every = "every model measured" if unmeasured else "every model"
    verdict = (f"{' and '.join(grey)} leave grey or speckled corners" if grey else
               f"{every} within {BACKGROUND_NEAR:.0%} of the data: none leaves grey corners")
    missing = f"; {' and '.join(unmeasured)} not measured" if unmeasured else ""
    return (f"**Background** (corner pixels near black; real images {fmt_share(real)}): "
            f"{shares}; {verdict}{missing}.")
