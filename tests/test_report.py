"""The sentences readers see: each word follows its statistic, and flips at its threshold."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from genlab import GANConfig, VAEConfig
from genlab.course.grids import PROBLEMS
from genlab.course.report import rules
from genlab.course.report.answers import answer_markdown, problem_runs, writeup_table
from genlab.course.report.gan import (
    answer_5_3,
    answer_5_5,
    game_state,
    observations,
    quality_observations,
)
from genlab.course.report.vae import answer_4_3
from genlab.course.report.writeup import (
    AGREE,
    CANNOT_TELL,
    DISAGREE,
    bags_and_shoes,
    cgan_less_clear,
    equal_lr_best,
    judged,
)

# --- the rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variety", "verdict"),
    [(0.1, "collapse"), (0.4, "less varied than the data"), (0.8, "about as varied")],
)
def test_the_variety_sentence_follows_the_within_class_variety(variety, verdict):
    lines = quality_observations([quality(1, 20.0, 0.5), quality(2, 15.0, variety)])
    assert f"Within-class variety at epoch 2: {variety:.2f}" in lines[0] and verdict in lines[0]


def test_variety_flips_at_its_thresholds():
    below, at = rules.VARIETY_LOW - 1e-6, rules.VARIETY_LOW
    assert rules.variety_words(below) == "less varied than the data"
    assert rules.variety_words(at) == "about as varied as the data"
    assert "collapse" in rules.variety_words(rules.VARIETY_COLLAPSED - 1e-6)


def test_a_trend_is_the_slope_of_the_second_half_not_first_against_last():
    # rose early, then flat: first-versus-last would say "rose"; the second half is flat
    rose_then_flat = [1.0, 2.0, 3.0, 3.0, 3.0, 3.01, 3.0, 3.0]
    assert rules.trend(rose_then_flat)[0] == "stayed flat"
    assert rules.second_half_slope([0, 0, 0, 0, 1, 2, 3, 4]) == pytest.approx(1.0)
    # the sentence flips at the threshold: a change just under / over 5% of the level
    level = 10.0
    for change, words in ((0.049 * level, "stayed flat"), (0.051 * level, "rose")):
        half = [level - change / 2 + change * i / 3 for i in range(4)]
        assert rules.trend([0.0] * 4 + half)[0] == words
    assert rules.trend([5, 5, 5, 5, 4.0, 3.0, 2.0, 1.0])[0] == "fell"


def test_balanced_needs_both_outputs_near_one_half():
    edge = 0.5 + rules.BALANCED
    assert rules.balanced(0.55, 0.45)
    assert rules.balanced(edge - 1e-6, 0.5) and not rules.balanced(edge + 1e-6, 0.5)
    assert not rules.balanced(0.5, 0.5 - rules.BALANCED - 1e-6)


def test_the_game_sentence_flips_with_the_rules():
    assert game_state({"d_real": 0.52, "d_fake": 0.48}) == "balanced"
    assert game_state({"d_real": 0.8, "d_fake": 0.3}).startswith("not balanced")
    assert "wins" in game_state({"d_real": 0.97, "d_fake": 0.03})
    assert "more real than real" in game_state({"d_real": 0.3, "d_fake": 0.8})


def test_two_settings_differ_only_when_their_ranges_over_seeds_do_not_overlap():
    low, high = rules.Spread((10.0, 11.0, 12.0)), rules.Spread((12.01, 13.0, 14.0))
    assert rules.differ(low, high) and rules.differ(high, low)
    touching = rules.Spread((12.0, 13.0))
    assert not rules.differ(low, touching)
    # one seed: it borrows the width of the setting with seeds it is compared with (2 here),
    # centred on its value, else a given width
    one = rules.Spread((13.0,))
    assert not rules.differ(low, one) and rules.differ(low, rules.Spread((13.01,)))
    alone = rules.Spread((14.0,))
    assert rules.differ(one, alone) and not rules.differ(one, alone, borrowed=2.01)
    padded = rules.with_borrowed_ranges({"a": low, "b": alone})["b"]
    assert padded.pad == 1.0 and not rules.differ(padded, rules.Spread((15.0,)))
    assert rules.compare_word(low, high, "below", "above") == "below"
    assert rules.compare_word(low, touching, "below", "above") == "indistinguishable from"
    assert low.text() == "11.0 (10.0-12.0, 3 seeds)" and one.text() == "13.0 (1 seed)"


def test_a_gan_distance_is_the_median_of_its_last_five_measurements():
    m = with_distances(gan_metrics(losses=[0.9] * 7), [50.0, 40.0, 13.0, 11.0, 30.0, 12.0, 10.0])
    assert rules.gan_distance(m) == 12.0  # median of 13, 11, 30, 12, 10: not the last (10)
    short = with_distances(gan_metrics(losses=[0.9] * 3), [3.0, 1.0, 2.0])
    assert rules.gan_distance(short) == 2.0  # a shorter run: the median of all it measured
    assert rules.gan_distance(gan_metrics(losses=[0.9] * 3)) is None


# --- one run's observations --------------------------------------------------------------------


def gan_metrics(last=None, losses=None, q=None, **config) -> dict:
    losses = losses or [0.9, 0.9]
    epochs = [dict(epoch=i + 1, generator_loss=g, discriminator_loss=0.6, d_real=0.6,
                   d_fake=0.4, seconds=10.0, images_per_second=6000.0)
              for i, g in enumerate(losses)]  # fmt: skip
    epochs[-1].update(last or {})
    metrics = {"config": GANConfig(epochs=len(losses), **config).to_dict(), "status": "complete",
               "device": "cpu", "epochs": epochs}  # fmt: skip
    if q:
        metrics["evaluation"] = {"samples": q}
    return metrics


def with_distances(metrics: dict, distances: list[float]) -> dict:
    """``metrics`` whose last epochs measured these Fréchet distances during training."""
    for epoch, fd in zip(metrics["epochs"][-len(distances):], distances, strict=True):
        epoch["quality"] = {"frechet_distance": fd, "within_class_variety": 0.85}
    return metrics


def seeded(name: str, distances: list[float], **config) -> dict[str, dict]:
    """A grid point and its other seeds, each at one distance for its last five epochs."""
    runs = {}
    for seed, fd in enumerate(distances, start=1):
        run = name if seed == 1 else f"seeds/{name}-seed{seed}"
        metrics = gan_metrics(losses=[0.9] * 5, q=quality_of(fd), seed=seed, **config)
        runs[run] = with_distances(metrics, [fd] * 5)
    return runs


def test_observations_quote_the_metrics_with_units():
    lines = observations(gan_metrics({"d_real": 0.51, "d_fake": 0.5}, q=quality_of(12.0)))
    assert lines[0].startswith("The GAN with lr_g = 0.0002, lr_d = 0.0002, g_steps = 1")
    assert "trained all 2 epochs in 20.0 s" in lines[0]
    assert "nats per image" in lines[1] and "mean D(x) on real images 0.510" in lines[1]
    assert "balanced" in lines[1]


def test_a_loss_that_rose_early_and_settled_is_reported_flat():
    lines = observations(gan_metrics(losses=[0.8, 1.6, 2.4, 2.4, 2.41, 2.4, 2.4, 2.4]))
    trend_line = next(line for line in lines if "second half" in line)
    assert "generator loss stayed flat" in trend_line and "epochs 5-8" in trend_line
    rising = observations(gan_metrics(losses=[1, 1, 1, 1, 1.0, 1.5, 2.0, 2.5]))
    assert "generator loss rose" in next(line for line in rising if "second half" in line)


def test_last_versus_best_says_when_quality_got_worse_late():
    worse = quality_observations([quality(1, 30.0, 0.8), quality(2, 12.0, 0.8),
                                  quality(3, 13.5, 0.8)])  # fmt: skip
    assert "got worse late" in worse[1] and "12.0 at epoch 2 and 13.5" in worse[1]
    fine = quality_observations([quality(1, 30.0, 0.8), quality(2, 12.0, 0.8),
                                 quality(3, 13.0, 0.8)])  # fmt: skip
    assert "also (within 10%) the best" in fine[1]
    assert quality_observations([{"epoch": 1}]) == []


def test_a_diverged_run_says_so():
    where = {"epoch": 3, "batch": 17, "losses": {"generator_loss": math.nan}}
    diverged = {**gan_metrics(), "status": "diverged", "diverged": where}
    assert "DIVERGED" in observations(diverged)[0] and "batch 17" in observations(diverged)[0]


# --- answers -----------------------------------------------------------------------------------


def quality(epoch: int, fd: float, variety: float) -> dict:
    return {"epoch": epoch, "quality": {"frechet_distance": fd, "within_class_variety": variety}}


def quality_of(fd: float, classes: int = 10, shares=None) -> dict:
    shares = shares or [0.1] * 10
    return {"frechet_distance": fd, "classes_covered": classes, "class_histogram": shares,
            "within_class_variety": 0.85, "kl_from_uniform": 0.01}  # fmt: skip


SETTINGS_5_3 = {"equal_lr": {}, "g_faster": {"lr_g": 0.002}, "d_faster": {"lr_d": 0.002},
                "g_steps3": {"g_steps": 3}}  # fmt: skip


def grid_5_3(**distances: list[float]) -> dict[str, dict]:
    runs = {}
    for name, fds in distances.items():
        runs.update(seeded(name, fds, **SETTINGS_5_3[name]))
    return runs


def test_the_5_3_answer_says_indistinguishable_where_ranges_overlap():
    runs = grid_5_3(equal_lr=[12.0, 13.0, 14.0], d_faster=[11.0, 12.5, 13.5],
                    g_steps3=[30.0, 31.0, 32.0])  # fmt: skip
    text = answer_5_3(runs)
    assert text.startswith("**discriminator faster (lr_g 0.0002, lr_d 0.002)** and **equal rates")
    assert "indistinguishable from each other" in text
    assert "Farther, by ranges that do not overlap the closest setting's: 3 generator" in text
    assert "Not finished yet: generator faster" in text
    assert "| 12.3 (11.0-13.5, 3 seeds) |" in text
    apart = answer_5_3(grid_5_3(equal_lr=[12.0, 13.0, 14.0], d_faster=[10.0, 11.0, 11.9]))
    assert apart.startswith("**discriminator faster (lr_g 0.0002, lr_d 0.002)** is closest")


def test_a_setting_line_names_the_other_seeds_variety_only_when_it_earns_another_word():
    runs = grid_5_3(g_steps3=[30.0, 31.0, 32.0])
    line = next(x for x in answer_5_3(runs).splitlines() if x.startswith("- **3 generator"))
    assert "about as varied as the data (variety 0.85)." in line  # every seed at 0.85
    for variety, clause in ((0.61, None), (0.59, "0.59-0.85 over its 3 seeds, the lowest less "
                                                  "varied than the data")):  # fmt: skip
        runs["seeds/g_steps3-seed2"]["evaluation"]["samples"]["within_class_variety"] = variety
        line = next(x for x in answer_5_3(runs).splitlines() if x.startswith("- **3 generator"))
        assert (clause in line) if clause else ("over its 3 seeds" not in line), line


def test_at_chance_throughout_says_in_every_seed_only_when_every_seed_was():
    runs = grid_5_3(g_steps3=[30.0, 31.0, 32.0])
    for metrics in runs.values():
        for epoch in metrics["epochs"]:
            epoch.update(d_real=0.51, d_fake=0.49)

    def line() -> str:
        return next(x for x in answer_5_3(runs).splitlines() if x.startswith("- **3 generator"))

    assert "at chance throughout in every seed (seed 1's" in line()
    runs["seeds/g_steps3-seed3"]["epochs"][0]["d_real"] = 0.53  # beyond AT_CHANCE once
    assert "at chance throughout (seed 1's" in line()


def vae_metrics(batch_size: int, losses: list[float], seconds: float = 10.0) -> dict:
    epochs = [dict(epoch=i + 1, train_loss=v - 1, test_loss=v, seconds=seconds,
                   images_per_second=6000.0) for i, v in enumerate(losses)]  # fmt: skip
    config = VAEConfig(dataset="fashion-mnist", batch_size=batch_size, epochs=len(losses))
    return {"config": config.to_dict(), "status": "complete", "device": "cpu", "epochs": epochs}


def test_the_4_3_answer_compares_over_seeds_and_counts_the_cost_in_steps():
    def point(bs: int, finals: list[float], epochs: int = 10) -> dict[str, dict]:
        runs = {}
        for seed, v in enumerate(finals, start=1):
            m = vae_metrics(bs, [250.0] * (epochs - 1) + [v])
            name = f"bs{bs}_ep{epochs}"
            runs[name if seed == 1 else f"seeds/{name}-seed{seed}"] = m
        return runs

    runs = {**point(64, [243.0, 243.5, 244.0]), **point(256, [245.0, 245.5, 246.0]),
            **point(128, [240.0], epochs=300)}  # fmt: skip
    text = answer_4_3(runs)
    assert text.startswith("**batch size 128, 300 epochs** reconstructs best (lowest test loss), "
                           "apart from every other setting.")  # fmt: skip
    assert "140,700" in text and "15.0 times the Adam steps of the runner-up" in text
    tied = answer_4_3({**point(64, [243.0, 243.5, 244.0]), **point(256, [243.8, 245.5, 246.0])})
    assert "indistinguishable from batch size 256, 10 epochs" in tied
    assert "The cheapest of them is batch size 256, 10 epochs: 2,350 Adam steps." in tied


def test_the_4_3_answer_names_the_worst_reconstructed_classes_when_recorded():
    def point(bs: int, final: float, per: list[float] | None) -> dict:
        m = vae_metrics(bs, [250.0] * 9 + [final])
        if per is not None:
            m["epochs"][-1]["test_loss_per_class"] = per
        return {f"bs{bs}_ep10": m}

    per = [240.0, 200.0, 260.0, 230.0, 262.0, 235.0, 255.0, 210.0, 280.0, 228.0]
    runs = {**point(64, 240.0, per), **point(128, 245.0, per), **point(256, 246.0, None)}
    text = answer_4_3(runs)
    assert ("Worst reconstructed by batch size 64, 10 epochs (seed 1, loss per class): Bag "
            "280.00, Coat 262.00 and Pullover 260.00 nats per image, against 240.00 over all "
            "classes (best: Trouser 200.00); the same 3 classes are the worst in all 2 settings "
            "measured.") in text  # fmt: skip
    shirt = {**runs, **point(128, 245.0, [*per[:6], 300.0, *per[7:]])}  # Shirt worst at 128
    assert "the 3 worst differ between the 2 settings" in answer_4_3(shirt)
    before = {**point(64, 240.0, None), **point(128, 245.0, per)}  # recorded before the field
    assert "loss per class" not in answer_4_3(before)


# --- the write-up's claims ---------------------------------------------------------------------


def test_a_comparison_claim_flips_with_the_ranges_over_seeds():
    others = {"g_faster": [16.0, 17.0, 18.0], "g_steps3": [30.0, 31.0, 32.0]}
    best = {"5.3": grid_5_3(equal_lr=[11.0, 11.5, 11.9], d_faster=[12.0, 13.0, 14.0], **others)}
    assert equal_lr_best(best)[1] == AGREE
    tied = {"5.3": grid_5_3(equal_lr=[11.0, 12.5, 13.0], d_faster=[12.0, 13.0, 14.0], **others)}
    assert equal_lr_best(tied)[1] == CANNOT_TELL
    worse = {"5.3": grid_5_3(equal_lr=[14.1, 15.0, 16.0], d_faster=[12.0, 13.0, 14.0], **others)}
    assert equal_lr_best(worse)[1] == DISAGREE


def test_bags_and_shoes_are_judged_by_the_loss_per_class_of_every_setting():
    runs = {"4.3": {n: vae_metrics(64, [250.0]) for n in PROBLEMS["4.3"].points}}
    assert bags_and_shoes(runs)[1] == CANNOT_TELL  # trained before the loss per class
    # in FASHION_CLASSES order: Bag above the test loss 250, Sandal, Sneaker, Ankle boot below
    per = [240.0, 200.0, 260.0, 230.0, 262.0, 235.0, 255.0, 210.0, 280.0, 228.0]
    for m in runs["4.3"].values():
        m["epochs"][-1]["test_loss_per_class"] = per
    text, verdict = bags_and_shoes(runs)
    assert text.endswith("Bag 6, Sandal 0, Sneaker 0, Ankle boot 0") and verdict == DISAGREE
    for m in runs["4.3"].values():
        m["epochs"][-1]["test_loss_per_class"] = [*per[:5], 251.0, per[6], 251.0, 280.0, 251.0]
    assert bags_and_shoes(runs)[1] == AGREE


def test_a_bug_in_a_judge_raises_instead_of_becoming_cannot_tell():
    runs = {"5.3": grid_5_3(equal_lr=[12.0], d_faster=[11.0], g_faster=[16.0], g_steps3=[30.0])}
    del runs["5.3"]["equal_lr"]["epochs"][-1]["generator_loss"]  # a record missing a key: a bug
    with pytest.raises(KeyError, match="generator_loss"):
        judged("5.3", runs)


def test_a_claim_whose_runs_are_missing_or_still_running_cannot_be_told():
    rows = judged("5.3", {"5.3": {}})
    assert rows and all(verdict == CANNOT_TELL for _, _, verdict in rows)
    # a grid point another job is still training: its metrics.json has no epoch yet
    running = {n: {**gan_metrics(q=quality_of(12.0)), "epochs": []} for n in ("d_faster",)}
    assert all(verdict == CANNOT_TELL for _, _, verdict in judged("5.3", {"5.3": running}))


def test_answers_and_writeup_read_a_results_folder(tmp_path: Path):
    run = tmp_path / "4.2" / "default"
    run.mkdir(parents=True)
    metrics = vae_metrics(128, [127.0, 120.0, 112.0, 110.0, 108.0, 107.0, 106.5, 106.0, 105.8,
                                105.7])  # fmt: skip
    metrics["config"]["dataset"] = "mnist"
    (run / "metrics.json").write_text(json.dumps(metrics))
    assert problem_runs(tmp_path)["4.2"]["default"] == metrics
    answer = answer_markdown("4.2", tmp_path)
    assert "Test loss 127.00 nats per image after epoch 1, 105.70 after epoch 10" in answer
    assert "test loss fell" in answer  # -0.3 nats per epoch over epochs 6-10: more than 0.5%
    assert "| **agree** |" in writeup_table("4.2", tmp_path)
    assert "No 4.3 run has finished yet." in answer_markdown("4.3", tmp_path)
    with pytest.raises(ValueError, match="accepted: 4.2, 4.3"):
        answer_markdown("4.4", tmp_path)


def test_a_slope_that_rounds_to_zero_has_no_minus_sign():
    assert rules.signed(-0.00001, 4) == "+0.0000" and rules.signed(-0.2, 4) == "-0.2000"
    flat = [{"epoch": e, "loss": 0.69 - 1e-7 * e} for e in range(1, 9)]
    assert (
        "slope +0.0000 nats per epoch, +0.000 over the half"
        in rules.trend_sentence(flat, {"loss": "loss"})[0]
    )


def test_the_5_5_answer_puts_both_cgans_beside_the_gan_over_seeds():
    cgans = {**seeded("course", [13.0, 14.0, 15.0], conditional=True),
             **seeded("improved", [4.0, 4.3, 4.6], conditional=True, ema_decay=0.999)}
    for m in cgans.values():
        m["evaluation"]["samples"]["conditional_accuracy"] = 0.9
    gans = seeded("equal_lr", [12.0, 13.0, 14.0])
    text = answer_5_5(cgans, gans)
    assert ("**the course's cGAN (label embedding concatenated at both inputs)**: conditional "
            "accuracy") in text
    assert "distance 14.0 (13.0-15.0, 3 seeds), indistinguishable from the GAN" in text
    assert "distance 4.3 (4.0-4.6, 3 seeds), closer to the data than the GAN" in text


def test_the_less_clear_cgan_claim_compares_the_course_cgan_over_seeds():
    others = {"g_faster": [16.0], "d_faster": [11.0], "g_steps3": [30.0]}
    gan = grid_5_3(equal_lr=[12.0, 13.0, 14.0], **others)
    improved = seeded("improved", [4.0], conditional=True)

    def runs(course: list[float]) -> dict:
        return {"5.3": gan, "5.5": {**seeded("course", course, conditional=True), **improved}}

    measured, verdict = cgan_less_clear(runs([14.5, 15.0, 16.0]))
    assert verdict == AGREE and "the course's cGAN 15.2 (14.5-16.0, 3 seeds)" in measured
    assert cgan_less_clear(runs([13.5, 15.0, 16.0]))[1] == CANNOT_TELL
    assert cgan_less_clear(runs([10.0, 11.0, 11.5]))[1] == DISAGREE


def test_the_parameters_table_renders_as_one_row_per_field():
    import mistune

    from genlab.course.report import config_table

    html = mistune.html(config_table(GANConfig()))
    assert html.count("<tr>") == len(GANConfig.fields()) + 1  # a bare | in a help line broke it
    assert "auto | cpu | cuda | mps" in html


@pytest.mark.parametrize("problem", ["4.2", "4.3", "5.3", "5.5", "5.6"])
def test_every_claim_of_a_problem_with_no_finished_run_cannot_be_told(problem):
    empty = {"4.2": {}, "4.3": {}, "5.3": {}, "5.5": {}}  # as problem_runs reads an empty folder
    assert {verdict for _, _, verdict in judged(problem, empty)} == {CANNOT_TELL}


def test_a_grid_midway_whose_seed_1_runs_are_still_training_is_answered(tmp_path: Path):
    """While ./run_all.sh trains, a point's seed 1 can be missing while its other seeds have
    finished: the answers count those seeds and leave seed 1's details out."""
    import shutil

    results = Path(__file__).resolve().parents[1] / "results"
    for problem, point in (("4.3", "bs128_ep10"), ("5.3", "d_faster"), ("5.5", "course")):
        shutil.copytree(results / problem, tmp_path / problem)
        shutil.rmtree(tmp_path / problem / point)
        seeds = sorted((tmp_path / problem / "seeds").glob(f"{point}-seed*/metrics.json"))
        if not seeds:
            continue
        answer = answer_markdown(problem, tmp_path) + writeup_table(problem, tmp_path)
        n = len(seeds)
        assert f"{n} seed{'s' if n > 1 else ''})" in answer, (problem, answer)


def test_each_page_ends_with_the_glossary_entries_it_uses():
    words = [w for w, _ in rules.GLOSSARY]
    assert set(rules.PAGES) <= set(words) and all(
        set(problems) <= set(PROBLEMS) for problems in rules.PAGES.values())  # fmt: skip
    vae, gan, every = (rules.glossary_markdown(p) for p in ("4.2", "5.3", None))
    assert "**loss per class**" in vae and "**balanced**" not in vae and "**distance**" not in vae
    assert "**balanced**" in gan and "**loss per class**" not in gan
    assert every.count("\n- **") == len(words) - 1  # index.html: every word, each once
