"""Your run beside the committed runs (``genlab.course.report.reference``): real runs with a
changed seed, fewer epochs or another setting, each placed against the committed runs with
the right numbers, interval and words; a broken run says so, and no committed run is broken."""

from __future__ import annotations

import json
import math
import shutil
import statistics
from pathlib import Path

import pytest

from genlab import health
from genlab.course.report.reference import (
    prediction_interval,
    reference_markdown,
    run_status,
    t_quantile,
)
from genlab.course.report.values import committed, read_runs
from genlab.health import HEALTH, broken
from genlab.runs import load_metrics, repo_root
from genlab.train.gan import GANTrainer, train_gan
from genlab.train.vae import train_vae

pytestmark = pytest.mark.usefixtures("one_thread")
T_975 = {1: 12.7062047, 2: 4.3026527, 4: 2.7764451, 9: 2.2621572}  # printed tables, 7 decimals


@pytest.mark.parametrize("df", sorted(T_975))
def test_the_t_quantile_is_the_tables(df):
    assert t_quantile(0.975, df) == pytest.approx(T_975[df], abs=5e-4)  # tabulated to 3 decimals


def test_the_t_quantile_of_3_and_5_seeds_is_what_the_answers_state():
    assert t_quantile(0.975, 2) == 4.303 and f"{t_quantile(0.975, 2):.2f}" == "4.30"
    assert t_quantile(0.975, 4) == 2.776


@pytest.mark.parametrize(("p", "df"), [(0.95, 2), (0.9875, 2), (0.975, 0), (0.975, 31)])
def test_the_t_quantile_refuses_what_its_table_does_not_hold(p, df):
    with pytest.raises(ValueError, match="t quantile"):
        t_quantile(p, df)


def test_the_prediction_interval_is_mean_plus_minus_t_s_root_one_plus_one_over_n():
    values = (240.66, 240.81, 240.93)
    half = 4.303 * statistics.stdev(values) * math.sqrt(1 + 1 / 3)  # t for 2 degrees of freedom
    lo, hi = prediction_interval(values)
    assert lo == pytest.approx(statistics.fmean(values) - half)
    assert hi == pytest.approx(statistics.fmean(values) + half)


def committed_at(problem: str, point: str, epoch: int, key: str) -> list[float]:
    """The committed seeds' ``key`` at ``epoch``, read straight from their metrics.json."""
    runs = read_runs(committed())
    names = [
        n
        for n in runs
        if n == f"{problem}/{point}" or n.startswith(f"{problem}/seeds/{point}-seed")
    ]
    return [runs[n]["epochs"][epoch - 1][key] for n in names]


def interval_text(values: list[float], fmt: str) -> str:
    n, mean = len(values), statistics.fmean(values)
    half = t_quantile(0.975, n - 1) * statistics.stdev(values) * math.sqrt(1 + 1 / n)
    return f"{mean - half:{fmt}}–{mean + half:{fmt}}"


@pytest.fixture(scope="module")
def seed_4(tmp_path_factory) -> Path:
    """4.2's setting with seed 4, one epoch of its ten."""
    run = train_vae(
        run_dir=tmp_path_factory.mktemp("seed_4") / "run",
        progress=False,
        epochs=1,
        seed=4,
        eval_samples=0,
    )
    return run.path


@pytest.mark.slow
def test_4_2_with_another_seed_and_fewer_epochs_is_read_at_its_epoch(seed_4):
    text = reference_markdown("4.2", seed_4)
    seeds = committed_at("4.2", "default", 1, "test_loss")
    assert len(seeds) == 3
    assert "with seed 4; its committed runs have seeds 1, 2, 3" in text
    assert "It stopped at epoch 1 of their 10, so they are read at epoch 1." in text
    spread = f"{statistics.fmean(seeds):.2f} ({min(seeds):.2f}–{max(seeds):.2f} over 3 seeds)"
    mine = load_metrics(seed_4)["epochs"][0]["test_loss"]
    assert f"| test loss | {mine:.2f} | {spread} |" in text
    assert f"| {interval_text(seeds, '.2f')} | inside |" in text
    assert "**consistent with the committed runs**" in text


@pytest.mark.slow
def test_4_2_outside_the_interval_says_something_differs(seed_4, tmp_path):
    run = shutil.copytree(seed_4, tmp_path / "run")
    path = run / "metrics.json"
    metrics = json.loads(path.read_text())
    metrics["epochs"][0]["test_loss"] += 5  # as a changed loss or model would
    path.write_text(json.dumps(metrics))
    text = reference_markdown("4.2", run)
    assert "| above |" in text and "**something differs**" in text


@pytest.mark.slow
def test_4_2_with_another_setting_names_what_differs(tmp_path):
    run = train_vae(run_dir=tmp_path / "run", progress=False, epochs=1, lr=0.003, eval_samples=0)
    text = reference_markdown("4.2", run.path)
    assert text.startswith(
        "Your run's setting is none of the committed ones: `lr` 0.003 "
        "instead of 0.001; 1 epoch instead of 10."
    )
    seeds = committed_at("4.2", "default", 1, "test_loss")
    assert f"| {interval_text(seeds, '.2f')} |" in text
    assert "The settings differ, so these place your run; they do not test it." in text


@pytest.mark.slow
def test_4_2_on_another_data_set_is_not_comparable(tmp_path):
    run = train_vae(
        run_dir=tmp_path / "run",
        progress=False,
        epochs=1,
        dataset="fashion-mnist",
        train_limit=1000,
        test_limit=500,
        eval_samples=0,
    )
    text = reference_markdown("4.2", run.path)
    assert text.startswith(
        "Nothing committed is comparable: your run differs from every "
        "committed setting of 4.2 in `dataset`"
    )


@pytest.mark.slow
def test_5_3_with_another_seed_and_another_setting(tmp_path):
    run = train_gan(
        run_dir=tmp_path / "seed" / "run", progress=False, epochs=1, seed=9, eval_samples=0
    )
    text = reference_markdown("5.3", run.path)
    assert (
        "equal rates (0.0002 each) with seed 9; its committed runs have seeds 1, 2, 3, 4, 5" in text
    )
    seeds = committed_at("5.3", "equal_lr", 1, "generator_loss")
    assert len(seeds) == 5
    assert f"| {interval_text(seeds, '.2f')} |" in text  # generator loss, t = 2.78
    assert "| distance |" in text

    other = train_gan(
        run_dir=tmp_path / "other" / "run",
        progress=False,
        epochs=1,
        lr_g=0.001,
        lr_d=0.001,
        train_limit=5000,
        eval_samples=0,
    )
    text = reference_markdown("5.3", other.path)
    assert text.startswith(
        "Your run's setting is none of the committed ones: `lr_g` 0.001 instead of 0.0002 or "
        "0.002; `lr_d` 0.001 instead of 0.0002 or 0.002; `train_limit` 5000 instead of 0; "
        "1 epoch instead of 40."
    )
    assert text.count("| generator loss |") == 3  # the three nearest settings


@pytest.mark.slow
def test_a_gan_without_the_discriminators_zero_grad_is_broken(tmp_path, monkeypatch):
    """The student's edit of the issue: ``self.opt_d.zero_grad(...)`` commented out."""
    original = GANTrainer.__init__

    def without_zero_grad(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.opt_d.zero_grad = lambda set_to_none=True: None

    monkeypatch.setattr(GANTrainer, "__init__", without_zero_grad)
    run = train_gan(
        run_dir=tmp_path / "run", progress=False, epochs=3, train_limit=10000, eval_samples=0
    )
    assert run.status == "failed"  # not "complete": the run itself says it is broken
    reason = run.metrics["failed"]["reason"]
    assert "farther from the data than uniform noise" in reason and reason == broken(run.metrics)
    assert f"This run is broken: {reason}" in run_status(run.path)
    assert reference_markdown("5.3", run.path).startswith("**Your run is broken:**")


@pytest.mark.slow
def test_no_committed_run_is_broken_and_the_stated_margins_hold():
    runs = [m for m in read_runs(repo_root() / "results").values()]
    assert len(runs) >= 40
    assert [broken(m) for m in runs] == [None] * len(runs)
    gans = [m for m in runs if m["config"]["model"] == "gan"]
    ratio = max(
        [e for e in m["epochs"] if "quality" in e][-1]["quality"]["frechet_distance"]
        / health.noise_distance(m)
        for m in gans
    )
    loss = max(
        e[k] for m in gans for e in m["epochs"] for k in ("generator_loss", "discriminator_loss")
    )
    farther, ran_away = (rule.text for rule in HEALTH)
    assert f"at most at {ratio:.2f} of the noise's distance" in farther
    assert f"never exceed {loss:.2f}" in ran_away
    assert health.RUNAWAY_LOSS > 5 * loss


@pytest.mark.slow
def test_a_healthy_gan_is_nearer_than_noise_after_32_steps_and_a_tinier_one_is_not_judged(
    tmp_path,
):
    run = train_gan(
        run_dir=tmp_path / "a" / "run", progress=False, epochs=1, train_limit=2000, eval_samples=0
    )
    assert run.metrics["epochs"][0]["quality"]["frechet_distance"] < health.noise_distance(
        run.metrics
    )
    assert "after 32 steps" in HEALTH[0].text and health.MIN_STEPS > 32
    tiny = train_gan(
        run_dir=tmp_path / "b" / "run", progress=False, epochs=3, train_limit=256, eval_samples=0
    )  # 12 steps: farther than noise, not yet judged
    assert tiny.metrics["epochs"][-1]["quality"]["frechet_distance"] > health.noise_distance(
        tiny.metrics
    )
    assert broken(tiny.metrics) is None


def test_the_writeup_table_judges_a_students_run_only_on_claims_about_its_setting():
    from genlab.course.report.values import Spread, numbers
    from genlab.course.report.writeup import writeup_markdown

    found = numbers(committed())
    # a student's one run of "generator faster" whose generator loss fell below equal rates'
    mine = {
        **found,
        "5.3/g_faster": {
            **{k: Spread((v.mean,)) for k, v in found["5.3/g_faster"].items()},
            "generator_loss": Spread((0.1,)),
        },
    }
    table = writeup_markdown("5.3", found, mine, "5.3/g_faster").splitlines()
    assert table[0].endswith("| verdict | with your run |")
    rows = {line.split(" | ")[0]: line for line in table[2:]}
    g_faster = next(r for k, r in rows.items() if "Generator LR (0.002) >" in k)
    assert g_faster.endswith("| partly |") or g_faster.endswith("| disagree |")
    others = [
        r for k, r in rows.items() if "Generator LR (0.002) >" not in k and "most optimal" not in k
    ]  # the best-setting claim reads every one
    assert others and all(r.endswith("| – (not its setting) |") for r in others)
    assert writeup_markdown("5.3", found).splitlines()[0].endswith("| verdict |")
