"""Your run beside the reference: where a notebook's run stands against the committed runs.

A notebook whose run is not one of the committed run folders (a student changed a parameter,
the seed or the code) shows, after its results:

- whether the run is broken (``HEALTH``: samples farther from the data than uniform noise, or
  losses that ran away without reaching NaN), in one sentence;
- for the same setting, each statistic against the committed seeds: the run's rank among
  them and whether it lies inside a prediction interval for one new run of the setting,
  mean ± t·s·√(1 + 1/n) (t: Student's, n − 1 degrees of freedom). Each of a run's k
  statistics is tested at 1 − 0.05/k (Bonferroni), so a new seed of an unchanged setting has
  all of them inside at least 95% of the time. A range alone is no yardstick: a new seed falls
  outside the range of 3 committed seeds half the time. All inside: consistent with the
  committed runs; one outside: that statistic is apart; more: something differs. A run of a
  committed seed is compared with that run (bit for bit, or by how much) and placed against
  the other seeds;
- for the same setting with fewer epochs, the same with the committed runs read at the run's
  last epoch (a run's first k epochs are those of a longer run of its seed: no schedule
  depends on the number of epochs);
- for another setting, what differs and where the run falls against the nearest committed
  settings, read after as many training images as it saw (a run on fewer images than one of
  their epochs is not placed); or, plainly, that nothing committed is comparable.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genlab.course.grids import PROBLEMS, label
from genlab.course.report.measures import Metrics
from genlab.course.report.stats import STATISTICS
from genlab.course.report.values import Spread, committed, read_runs, run_values
from genlab.health import at_epoch, broken, images_per_epoch

# the statistics a run is compared on, per model, each with the config field whose sample
# count measures it (a run measured on other counts is not compared on it: a Fréchet distance
# of fewer samples is larger)
COMPARED: dict[str, tuple[tuple[str, str | None], ...]] = {
    "vae": (
        ("test_loss", None),
        ("recon_distance", "eval_samples"),
        ("sample_distance", "eval_samples"),
    ),
    "gan": (
        ("distance", "quality_samples"),
        ("generator_loss", None),
        ("discriminator_loss", None),
        ("d_fake", None),
        ("sample_distance", "eval_samples"),
        ("variety", "eval_samples"),
        ("conditional_accuracy", "eval_samples"),
    ),
}
# config fields (and notebook parameters) that do not change what a run computes, or that a
# student's run may vary while staying the same setting (genlab.course.report.answers)
RUN_ONLY = {"seed", "run_dir", "log_interval", "no_cuda", "device", "cuda_graph", "progress"}
# ... and those a run is compared across here: its length, and how it is measured
NOT_SETTING = RUN_ONLY | {"epochs", "eval_samples", "quality_samples", "quality_every"}
# a run that differs in these is another experiment: no committed run is compared with it
INCOMPARABLE = {"model", "dataset", "conditional"}
CONFIDENCE = 0.95  # of all of a run's statistics inside their intervals, for an unchanged setting
# the losses each epoch records, compared with a committed run of the same seed
LOSSES = {
    "vae": ("train_loss", "test_loss"),
    "gan": ("generator_loss", "discriminator_loss", "d_real", "d_fake"),
}
NEAREST = 3  # settings shown against a run of another setting


# --- broken runs: genlab.health decides (a run trained by this code ends "failed"); a run
# recorded "complete" by code before that is judged here by the same rules


def failure(metrics: Metrics) -> str | None:
    """Why a run is broken: recorded as ``failed``, or found by ``genlab.health`` in a run
    that code before the ``failed`` status recorded as ``complete``."""
    if metrics.get("status") == "failed":
        return metrics["failed"]["reason"]
    return broken(metrics) if metrics.get("status") == "complete" else None


def run_status(run_dir: str | Path) -> str:
    """The lines a notebook prints after training: the folder, the status and the device, and
    in one sentence why a run that did not end ``complete``, or is broken, cannot be used."""
    run_dir = Path(run_dir)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    status = metrics.get("status")
    lines = [f"run folder: {run_dir}", f"status: {status}, device: {metrics.get('device')}"]
    if status == "diverged":
        d = metrics["diverged"]
        lines.append(f"This run diverged at epoch {d['epoch']}, batch {d['batch']}: {d['losses']}.")
    elif status == "collapsed":
        lines.append(f"This run collapsed: {metrics['collapsed']['reason']}.")
    elif reason := failure(metrics):
        lines.append(f"This run is broken: {reason}. Its numbers say nothing about its setting.")
    return "\n".join(lines)


# --- the prediction interval ------------------------------------------------------------------


def t_quantile(p: float, df: int) -> float:
    """Student's t quantile ``p`` for ``df`` degrees of freedom (scipy)."""
    from scipy.stats import t

    if not 0 < p < 1 or df < 1:
        raise ValueError(f"t quantile {p} for {df} degrees of freedom: needs 0 < p < 1, df >= 1")
    return float(t.ppf(p, df))


def prediction_interval(values: tuple[float, ...], tests: int = 1) -> tuple[float, float]:
    """The prediction interval for one new value, mean ± t·s·√(1 + 1/n), each of ``tests``
    intervals at 1 − (1 − CONFIDENCE) / tests (Bonferroni): a new seed of an unchanged setting
    then has all of its ``tests`` statistics inside at least CONFIDENCE of the time."""
    n = len(values)
    p = 1 - (1 - CONFIDENCE) / (2 * tests)
    half = t_quantile(p, n - 1) * statistics.stdev(values) * math.sqrt(1 + 1 / n)
    mean = statistics.fmean(values)
    return mean - half, mean + half


# --- reading runs at an epoch -----------------------------------------------------------------


def setting_differences(config: dict[str, Any], point_config: dict[str, Any]) -> list[str]:
    """The setting fields on which a run's config differs from a grid point's."""
    return [k for k, v in point_config.items() if k not in NOT_SETTING and config.get(k, v) != v]


def _ordinal(k: int) -> str:
    return {1: "lowest", 2: "2nd lowest", 3: "3rd lowest"}.get(k, f"{k}th lowest")


# --- the section ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    """A grid point's committed runs, as a run is compared with them."""

    point: str
    config: dict[str, Any]
    runs: list[Metrics]
    differs: list[str]  # the setting fields on which the run differs


def references(problem: str, metrics: Metrics, results: Path) -> list[Reference]:
    """Every grid point of ``problem`` with committed runs, nearest setting first."""
    spec, runs = PROBLEMS[problem], read_runs(results)
    found = []
    for point in spec.points:
        config = {"model": spec.model, **spec.config(point).to_dict()}
        names = [f"{problem}/{point}", *(f"{problem}/{r}" for r in spec.replicas(point))]
        seeds = [runs[n] for n in names if n in runs]
        if seeds:
            found.append(
                Reference(point, config, seeds, setting_differences(metrics["config"], config))
            )
    return sorted(found, key=lambda r: len(r.differs))


def compared(
    metrics: Metrics, ref: Reference, epoch: int, theirs_at: int | None = None
) -> list[tuple[str, float, Spread]]:
    """(statistic, the run's value at ``epoch``, the committed seeds' values at ``theirs_at``,
    default the same epoch), for each statistic both have, measured on the same sample counts."""
    mine = run_values(at_epoch(metrics, epoch))
    theirs = [run_values(at_epoch(m, theirs_at or epoch)) for m in ref.runs]
    rows = []
    for stat, measured_by in COMPARED[ref.config["model"]]:
        same_count = measured_by is None or metrics["config"].get(measured_by) == ref.config.get(
            measured_by
        )
        if same_count and stat in mine and all(stat in t for t in theirs):
            rows.append((stat, mine[stat], Spread(tuple(t[stat] for t in theirs))))
    return rows


def epoch_of_images(metrics: Metrics, ref: Reference) -> int:
    """The last epoch of ``ref``'s runs after which they had seen no more training images than
    the run ``metrics`` saw in all its epochs (0: fewer than one epoch of theirs)."""
    seen = len(metrics["epochs"]) * images_per_epoch(metrics["config"])
    return min(seen // images_per_epoch(ref.config), ref.config["epochs"])


def placement(value: float, spread: Spread, fmt: str, tests: int = 1) -> tuple[str, str]:
    """The prediction interval (one of ``tests``) as text and where ``value`` falls: below,
    inside or above."""
    if spread.seeds < 2:
        return "– (1 seed)", "no interval"
    lo, hi = prediction_interval(spread.values, tests)
    where = "below" if value < lo else "above" if value > hi else "inside"
    return f"{lo:{fmt}}–{hi:{fmt}}", where


def _table(rows: list[tuple[str, float, Spread]], with_rank: bool) -> tuple[list[str], list[str]]:
    """Markdown rows, each statistic's interval one of ``len(rows)`` (``prediction_interval``),
    and the statistics outside their interval."""
    head = [
        "| statistic | your run | committed seeds | "
        + ("rank | " if with_rank else "")
        + "interval for one new run | your run is |",
        "| --- | --- | --- | " + ("--- | " if with_rank else "") + "--- | --- |",
    ]
    outside = []
    for stat, value, spread in rows:
        s = STATISTICS[stat]
        interval, where = placement(value, spread, s.fmt, len(rows))
        if where in ("below", "above"):
            outside.append(s.word)
        rank = sum(v < value for v in spread.values) + 1
        rank_cell = f"{_ordinal(rank)} of {spread.seeds + 1} | " if with_rank else ""
        head.append(
            f"| {s.word} | {s.format(value)} | {spread.text(s.fmt)} | {rank_cell}"
            f"{interval} | {where} |"
        )
    return head, outside


def reference_markdown(problem: str, run_dir: str | Path, results: str | Path | None = None) -> str:
    """The section "Your run beside the committed runs" for a notebook's run ``run_dir``
    against the committed runs of ``results`` (default: ``results/``)."""
    spec, results, run_dir = PROBLEMS[problem], committed(results), Path(run_dir)
    if not spec.model:
        return ""
    if run_dir.resolve() in {(results / problem / r).resolve() for r in spec.run_names()}:
        return (
            "This is one of the committed runs: the answer below is about it and the other "
            "seeds of its setting. Change a parameter, the seed or the code and run the "
            "notebook again to see your run placed here against them."
        )
    metrics = json.loads((run_dir / "metrics.json").read_text())
    if reason := failure(metrics):
        return f"**Your run is broken:** {reason}. It is not compared."
    if metrics.get("status") != "complete":
        return f"Your run has status **{metrics.get('status')}**: it is not compared."
    refs = references(problem, metrics, results)
    epochs = len(metrics["epochs"])
    if refs and not refs[0].differs:
        return _same_setting(problem, metrics, [r for r in refs if not r.differs], epochs)
    kept = [r for r in refs if not INCOMPARABLE & set(r.differs)]
    near = [r for r in kept if len(r.differs) == len(kept[0].differs)][:NEAREST] if kept else []
    at = {r.point: epoch_of_images(metrics, r) for r in near}
    rows = {r.point: compared(metrics, r, epochs, at[r.point]) if at[r.point] else [] for r in near}
    if not any(rows.values()):
        why = (
            f"your run differs from every committed setting of {problem} in "
            f"{', '.join(f'`{k}`' for k in refs[0].differs)}"
            if refs
            else f"{problem} has no committed runs"
        )
        if refs and not near:
            why += f" (another {' or '.join(sorted(INCOMPARABLE & set(refs[0].differs)))})"
        elif near and not any(at.values()):
            seen = epochs * images_per_epoch(metrics["config"])
            why += (
                f", and it saw {seen:,} training images, fewer than one epoch of theirs "
                f"({images_per_epoch(near[0].config):,}): it is not placed"
            )
        elif refs:
            why += ", and no statistic of theirs was measured as yours was"
        return f"Nothing committed is comparable: {why}."
    return _other_setting(problem, metrics, near, rows, at)


def _twin(metrics: Metrics, ref: Reference) -> str:
    """How the run compares with the committed run of its own seed, if there is one: bit for
    bit, or by how much its losses differ."""
    seed = metrics["config"]["seed"]
    twin = next((m for m in ref.runs if m["config"]["seed"] == seed), None)
    if twin is None:
        return ""
    keys = LOSSES[ref.config["model"]]
    n = min(len(metrics["epochs"]), len(twin["epochs"]))
    epochs = zip(metrics["epochs"][:n], twin["epochs"][:n], strict=True)
    pairs = [(e[k], t[k]) for e, t in epochs for k in keys]
    if all(a == b for a, b in pairs):
        return (
            f" It repeats the committed run of seed {seed}, and reproduces it bit for bit: "
            f"every loss of its {n} epochs is equal."
        )
    worst = max(abs(a - b) / abs(b) for a, b in pairs if b)
    return (
        f" It repeats the committed run of seed {seed} but does not reproduce it bit for bit: "
        f"its losses over {n} epochs differ by up to {worst:.2%} (another CPU, thread count or "
        "code gives other rounding)."
    )


def _same_setting(problem: str, metrics: Metrics, same: list[Reference], epochs: int) -> str:
    # the point trained for as many epochs, else the shortest that went further, else the longest
    ref = min(same, key=lambda r: (r.config["epochs"] < epochs, abs(r.config["epochs"] - epochs)))
    at = min(epochs, ref.config["epochs"])
    seed = metrics["config"]["seed"]
    seeds = ", ".join(str(m["config"]["seed"]) for m in ref.runs)
    text = (
        f"Your run has the setting {label(problem, ref.point)} with seed {seed}; its "
        f"committed runs have seeds {seeds}." + _twin(metrics, ref)
    )
    others = Reference(
        ref.point, ref.config, [m for m in ref.runs if m["config"]["seed"] != seed], []
    )
    if len(others.runs) < 2:
        return text + " Too few other seeds are committed to place it."
    if len(others.runs) < len(ref.runs):
        text += " It is placed against the other seeds."
    if at < ref.config["epochs"]:
        text += (
            f" It stopped at epoch {at} of their {ref.config['epochs']}, so they are read at "
            f"epoch {at}."
        )
    elif at < epochs:
        text += f" They stop at epoch {at}, so your run is read at epoch {at}."
    rows = compared(metrics, others, at)
    table, outside = _table(rows, with_rank=True)
    if not outside:
        verdict = (
            "Every statistic lies inside its interval: **consistent with the committed runs**."
        )
    elif len(outside) == 1 and len(rows) > 1:
        verdict = (
            f"{outside[0].capitalize()} lies outside its interval, every other statistic "
            f"inside: **one statistic apart** from the committed runs; look at what it "
            "measures before concluding that the run differs."
        )
    else:
        its = "its interval" if len(outside) == 1 else "their intervals"
        verdict = (
            f"{', '.join(outside).capitalize()} outside {its}: **something differs** from the "
            "committed runs (a parameter, the code or the data)."
        )
    return "\n\n".join([text, "\n".join(table), verdict])


def _other_setting(
    problem: str,
    metrics: Metrics,
    near: list[Reference],
    rows: dict[str, list],
    at: dict[str, int],
) -> str:
    config, epochs = metrics["config"], len(metrics["epochs"])
    fields = dict.fromkeys(k for r in near for k in r.differs)
    differs = [
        f"`{k}` {config[k]} instead of " + either(dict.fromkeys(r.config[k] for r in near))
        for k in fields
    ]
    longest = {r.config["epochs"] for r in near}
    if epochs not in longest:
        unit = "epoch" if epochs == 1 else "epochs"
        differs.append(f"{epochs} {unit} instead of {either(sorted(longest))}")
    parts = [
        f"Your run's setting is none of the committed ones: {'; '.join(differs)}. Against "
        "the nearest committed settings, read after as many training images as your run saw:"
    ]
    for ref in near:
        if not rows[ref.point]:
            continue
        table, _ = _table(rows[ref.point], with_rank=False)
        parts += [f"**{label(problem, ref.point)}**, epoch {at[ref.point]}:", "\n".join(table)]
    parts.append("The settings differ, so these place your run; they do not test it.")
    return "\n\n".join(parts)


def either(values: Any) -> str:
    """ "64, 128 or 256"."""
    words = [str(v) for v in values]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"
