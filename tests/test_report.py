"""The sentences readers see: each word follows its statistic, and flips at its threshold."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from genlab import GANConfig, VAEConfig
from genlab.report import rules
from genlab.report.answers import answer_markdown, problem_runs, writeup_table
from genlab.report.gan import (
    answer_5_3,
    answer_5_5,
    game_state,
    observations,
    quality_observations,
)
from genlab.report.vae import answer_4_3
from genlab.report.writeup import AGREE, CANNOT_TELL, DISAGREE, cgan_less_clear, d_faster, judged

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


GOOD = {"frechet_distance": 12.0, "classes_covered": 10}


def test_balanced_needs_both_outputs_near_one_half_and_a_run_that_did_not_fail():
    edge = 0.5 + rules.BALANCED
    assert rules.balanced(0.55, 0.45, GOOD)
    assert rules.balanced(edge - 1e-6, 0.5, GOOD) and not rules.balanced(edge + 1e-6, 0.5, GOOD)
    assert not rules.balanced(0.5, 0.5 - rules.BALANCED - 1e-6, GOOD)
    # the same outputs in a run whose distance or coverage failed: never "balanced"
    far = {"frechet_distance": rules.FAILED_DISTANCE + 0.1, "classes_covered": 10}
    few = {"frechet_distance": 12.0, "classes_covered": rules.FAILED_CLASSES - 1}
    assert not rules.balanced(0.5, 0.5, far) and not rules.balanced(0.5, 0.5, few)
    at_limit = {"frechet_distance": rules.FAILED_DISTANCE, "classes_covered": rules.FAILED_CLASSES}
    assert rules.balanced(0.5, 0.5, at_limit)


def test_the_game_sentence_flips_with_the_rules():
    last = {"d_real": 0.52, "d_fake": 0.48}
    assert game_state(last, GOOD).startswith("balanced")
    assert "failed" in game_state(last, {**GOOD, "frechet_distance": 30.5})
    assert "balanced" not in game_state(last, {**GOOD, "frechet_distance": 30.5})
    assert game_state({"d_real": 0.8, "d_fake": 0.3}, GOOD).startswith("not balanced")
    assert "wins" in game_state({"d_real": 0.97, "d_fake": 0.03}, GOOD)
    assert "more real than real" in game_state({"d_real": 0.3, "d_fake": 0.8}, GOOD)


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


def test_the_5_3_answer_ranks_by_distance_and_names_the_failed_setting():
    runs = {"equal_lr": gan_metrics(q=quality_of(14.0)),
            "d_faster": gan_metrics(q=quality_of(11.0), lr_d=0.002),
            "g_steps3": gan_metrics(q=quality_of(31.0), g_steps=3),
            "g_faster": {}}  # fmt: skip
    text = answer_5_3(runs)
    assert "3 of 4 runs measured" in text
    order = [text.index(name) for name in ("discriminator faster", "equal rates", "3 generator")]
    assert order == sorted(order)
    assert "Failed by the distance or coverage rule: 3 generator steps" in text
    assert "Equal rates, the course's default, rank 2 of 3" in text


def vae_metrics(batch_size: int, losses: list[float], seconds: float = 10.0) -> dict:
    epochs = [dict(epoch=i + 1, train_loss=v - 1, test_loss=v, seconds=seconds,
                   images_per_second=6000.0) for i, v in enumerate(losses)]  # fmt: skip
    config = VAEConfig(dataset="fashion-mnist", batch_size=batch_size, epochs=len(losses))
    return {"config": config.to_dict(), "status": "complete", "device": "cpu", "epochs": epochs}


def test_the_4_3_answer_names_the_best_point_and_its_cost():
    runs = {
        "bs64_ep10": vae_metrics(64, [250.0] * 9 + [243.0]),
        "bs256_ep10": vae_metrics(256, [250.0] * 9 + [246.0], seconds=5.0),
        "bs128_ep300": vae_metrics(128, [250.0] * 20 + [242.0] * 10 + [240.0] * 270),
    }
    text = answer_4_3(runs)
    assert "- **Best:** batch size 128, 300 epochs, test loss 240.00" in text
    assert "runner-up (batch size 64, 10 epochs, 243.00)" in text
    assert "it passed the runner-up's final loss at epoch 21" in text
    assert "batch 64: 243.00, batch 256: 246.00" in text and "the smaller the batch" in text


# --- the write-up's claims ---------------------------------------------------------------------


def test_a_claim_flips_with_its_statistic():
    says_blobs = {"5.3": {"d_faster": gan_metrics(losses=[0.05, 0.01], q=quality_of(40.0, 4))}}
    assert d_faster(says_blobs)[1] == AGREE
    ours = {"5.3": {"d_faster": gan_metrics(losses=[1.2, 1.1], q=quality_of(11.4))}}
    measured, verdict = d_faster(ours)
    assert verdict == DISAGREE and "lowest generator loss of any epoch 1.10" in measured


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
        in rules.trend_sentence(flat, "loss", "loss")[0]
    )


def test_a_failed_run_with_d_near_one_half_says_what_that_does_and_does_not_mean():
    failed_run = {**GOOD, "frechet_distance": 30.5}
    near = game_state({"d_real": 0.5, "d_fake": 0.5}, failed_run)
    assert "could not tell its samples from real images" in near
    apart = game_state({"d_real": 0.9, "d_fake": 0.2}, failed_run)
    assert apart.startswith("the samples failed") and "could not tell" not in apart


def test_the_5_5_answer_compares_the_cgans_own_generator_like_for_like():
    def cgan(q_raw: dict | None) -> dict:
        metrics = gan_metrics(q={**quality_of(4.3), "conditional_accuracy": 0.95},
                              conditional=True, ema_decay=0.999)  # fmt: skip
        if q_raw:
            metrics["evaluation"]["samples_without_average"] = q_raw
        return metrics

    gans = {"equal_lr": gan_metrics(q=quality_of(11.9))}
    raw = {**quality_of(13.5, shares=[0.05] + [0.95 / 9] * 9), "conditional_accuracy": 0.84}
    text = answer_5_5(cgan(raw), gans)
    assert "moving average of its generator's weights (decay 0.999)" in text
    assert (
        "The cGAN's generator itself, measured the same way: Fréchet distance 13.5, "
        "conditional accuracy 84.0%, 10 classes covered (shares 5.0% to 10.6%)"
    ) in text
    assert "like for like, it is no closer to the data than the GAN with equal rates (11.9)" in text
    closer = answer_5_5(cgan({**raw, "frechet_distance": 9.0}), gans)
    assert "like for like, it is closer to the data than the GAN with equal rates" in closer
    assert "measured the same way" not in answer_5_5(cgan(None), gans)


def test_the_less_clear_cgan_claim_is_judged_like_for_like():
    cgan = gan_metrics(q=quality_of(4.3), conditional=True, ema_decay=0.999)
    runs = {"5.3": {"equal_lr": gan_metrics(q=quality_of(11.9))}, "5.5": {"equal_lr": cgan}}
    assert cgan_less_clear(runs) == ("Fréchet distance: cGAN 4.3, GAN 11.9", DISAGREE)
    cgan["evaluation"]["samples_without_average"] = quality_of(13.5)
    measured, verdict = cgan_less_clear(runs)
    assert verdict == AGREE and "without its weight average (like for like) 13.5" in measured
