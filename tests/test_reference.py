"""Your run beside the committed runs (``genlab.course.report.reference``): real runs with a
changed seed, fewer epochs or another setting, each placed against the committed runs with
the right numbers, interval and words; a broken run says so, and no committed run is broken."""

from __future__ import annotations

import json
import math
import re
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
    assert t_quantile(0.975, df) == pytest.approx(T_975[df], abs=1e-6)


@pytest.mark.parametrize("tests", [1, 3, 7])
def test_the_bonferroni_quantiles_are_the_closed_forms(tests):
    """For 1 and 2 degrees of freedom the t quantile has a closed form: tan(π(p − 1/2)) and
    (2p − 1) / √(2p(1 − p)); the level of each of ``tests`` statistics is 1 − 0.05/tests."""
    p = 1 - 0.05 / (2 * tests)
    assert t_quantile(p, 1) == pytest.approx(math.tan(math.pi * (p - 0.5)), rel=1e-9)
    assert t_quantile(p, 2) == pytest.approx((2 * p - 1) / math.sqrt(2 * p * (1 - p)), rel=1e-9)


@pytest.mark.parametrize(("p", "df"), [(0.0, 2), (1.0, 2), (0.975, 0)])
def test_the_t_quantile_refuses_what_has_none(p, df):
    with pytest.raises(ValueError, match="t quantile"):
        t_quantile(p, df)


def test_the_prediction_interval_is_mean_plus_minus_t_s_root_one_plus_one_over_n():
    values = (240.66, 240.81, 240.93)
    half = 4.3026527 * statistics.stdev(values) * math.sqrt(1 + 1 / 3)  # t for 2 degrees
    lo, hi = prediction_interval(values)
    assert lo == pytest.approx(statistics.fmean(values) - half)
    assert hi == pytest.approx(statistics.fmean(values) + half)
    wider = prediction_interval(values, tests=3)  # each of 3 statistics at 1 - 0.05/3
    assert wider[0] < lo and wider[1] > hi


def test_leaving_out_each_seed_of_a_five_seed_setting_places_it_as_consistent(tmp_path):
    """Each of the 15 committed runs of the settings with 5 seeds, placed against the other
    4 as a student's run would be: an unchanged setting, so at most 1 of 15 may be called
    "something differs" (each run tests up to 7 statistics, each at 1 − 0.05/7)."""
    runs = read_runs(committed())
    verdicts = {}
    for problem, point in [("5.3", "equal_lr"), ("5.3", "d_faster"), ("5.5", "course")]:
        names = [
            n
            for n in runs
            if n == f"{problem}/{point}" or n.startswith(f"{problem}/seeds/{point}-")
        ]
        assert len(names) == 5, names
        for left_out in names:
            results = tmp_path / left_out.replace("/", "_") / "results"
            for name in names:
                folder = results / name if name != left_out else tmp_path / left_out / "run"
                folder.mkdir(parents=True, exist_ok=True)
                (folder / "metrics.json").write_text(json.dumps(runs[name]))
            text = reference_markdown(problem, tmp_path / left_out / "run", results)
            assert "its committed runs have seeds" in text and "| distance |" in text, text
            verdicts[left_out] = (
                "something differs"
                if "**something differs**" in text
                else "one apart"
                if "**one statistic apart**" in text
                else "consistent"
            )
    print(sorted(verdicts.values()))
    assert sum(v == "something differs" for v in verdicts.values()) <= 1, verdicts


def committed_at(problem: str, point: str, epoch: int, key: str) -> list[float]:
    """The committed seeds' ``key`` at ``epoch``, read straight from their metrics.json."""
    runs = read_runs(committed())
    names = [
        n
        for n in runs
        if n == f"{problem}/{point}" or n.startswith(f"{problem}/seeds/{point}-seed")
    ]
    return [runs[n]["epochs"][epoch - 1][key] for n in names]


def interval_text(values: list[float], fmt: str, tests: int) -> str:
    """The interval of one of a run's ``tests`` statistics (each at 1 − 0.05/tests)."""
    n, mean = len(values), statistics.fmean(values)
    half = t_quantile(1 - 0.025 / tests, n - 1) * statistics.stdev(values) * math.sqrt(1 + 1 / n)
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
    assert f"| {interval_text(seeds, '.2f', tests=1)} | inside |" in text
    assert "**consistent with the committed runs**" in text


@pytest.mark.slow
def test_4_2_with_seed_4_tells_one_story_in_every_section(seed_4):
    """The statistics table, the placement and the answer's section all place a shorter run
    of the setting against that setting, at its epoch."""
    from genlab.course.report.answers import answer_markdown, run_markdown, writeup_table

    assert "committed runs of this setting, at epoch 1" in run_markdown("4.2", seed_4)
    assert "Your run has the setting the course's defaults" in reference_markdown("4.2", seed_4)
    section = answer_markdown("4.2", current=seed_4)
    assert (
        "has the setting the course's defaults (batch size 128, 10 epochs) with seed 4, "
        "but trained 1 of its 10 epochs" in section
    )
    assert "not tested with it" in section and "differ from every grid point" not in section
    assert "with your run" not in writeup_table("4.2", current=seed_4)


@pytest.mark.slow
def test_4_2_with_the_committed_seed_says_it_repeats_that_run(tmp_path):
    run = train_vae(run_dir=tmp_path / "run", progress=False, epochs=1, seed=1, eval_samples=0)
    text = reference_markdown("4.2", run.path)
    assert "It repeats the committed run of seed 1" in text, text
    assert "It is placed against the other seeds." in text
    if "bit for bit: every loss of its 1 epochs is equal" not in text:  # another CPU
        differ = re.search(r"differ by up to ([0-9.]+)%", text)
        assert differ and float(differ.group(1)) < 0.5, text
    seeds = committed_at("4.2", "default", 1, "test_loss")[1:]  # seeds 2 and 3
    assert f"| {interval_text(seeds, '.2f', tests=1)} |" in text


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
    assert f"| {interval_text(seeds, '.2f', tests=1)} |" in text
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
    # distance, the losses and D(G(z)): 4 statistics, each at 1 - 0.05/4
    assert f"| {interval_text(seeds, '.2f', tests=4)} |" in text
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
        "Nothing committed is comparable: your run differs from every committed setting of "
        "5.3 in `lr_g`, `lr_d`, `train_limit`, and it saw 5,000 training images, fewer than "
        "one epoch of theirs (60,000): it is not placed."
    )


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
    # the margins health.py's comments state (scripts/cited_figures.py prints them)
    source = Path(health.__file__).read_text()
    assert f"at most at {ratio:.2f} of the noise's distance" in source and ratio < 0.5
    assert f"generator or discriminator) is {loss:.2f}" in source
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
