"""What the committed ``results/`` shows: the targets of the GAN runs, and no machine's paths.

These read the committed run folders (made by ``./run_all.sh``); they train nothing.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from genlab.course.grids import PROBLEMS
from genlab.runs import load_metrics

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"


def evaluation(problem: str, point: str) -> dict:
    path = RESULTS / problem / point
    if not (path / "metrics.json").exists():
        pytest.fail(f"results/{problem}/{point} is not committed: ./run_all.sh makes it")
    metrics = load_metrics(path)
    assert metrics["status"] == "complete"
    return metrics["evaluation"]


def test_the_cgan_obeys_its_label_with_variety_in_every_class():
    ev = evaluation("5.5", "improved")
    samples = ev["samples"]
    assert samples["n"] == 10_000
    # the targets of issue 11; the classifier's accuracy on real test images is shown beside
    # the conditional accuracy, but samples more typical of their class than real ones can pass it
    assert samples["conditional_accuracy"] >= 0.85
    assert all(0.05 <= share <= 0.15 for share in samples["class_histogram"])
    assert samples["within_class_variety"] >= 0.5
    assert samples["frechet_distance"] <= 12


def test_the_gan_with_equal_learning_rates_is_close_to_the_data():
    samples = evaluation("5.3", "equal_lr")["samples"]
    assert samples["frechet_distance"] <= 15 and samples["classes_covered"] >= 9


# an absolute path on the machine that ran: this checkout, or a home, temporary or work folder
MACHINE_PATH = re.compile(rf"{re.escape(str(ROOT))}|(?<![\w.:/])/(?:home|root|tmp|work|Users)/")


def test_no_file_under_results_holds_a_path_of_the_machine_that_made_it():
    found = []
    for path in RESULTS.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".ipynb", ".html", ".css", ".log", ".md"):
            match = MACHINE_PATH.search(path.read_text(errors="replace"))
            if match:
                found.append(f"{path.relative_to(ROOT)}: {match.group(0)}")
    assert not found, f"absolute paths of a machine in: {found[:5]}"


def test_the_committed_results_stay_small_enough_to_clone():
    """At most 16 MB: images in one channel where grey, per-epoch images thinned, one stylesheet
    for every notebook page (``git ls-files``: checkpoints are not committed). The records of
    the 14 seed runs trained on 2026-12-06 (every 4.3 point with 3 seeds, seeds 4 and 5 of the
    headline GAN settings) took it from 14.4 MB to about 15.2."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "results"], cwd=ROOT, capture_output=True, check=True
        )
        .stdout.decode()
        .split("\0")
    )
    files = [ROOT / name for name in listed if name]
    if not files:
        pytest.fail("no committed results/ in this checkout: ./run_all.sh makes them")
    sizes = sorted(
        ((p.stat().st_size, p.relative_to(ROOT).as_posix()) for p in files), reverse=True
    )
    total = sum(size for size, _ in sizes)
    assert total <= 16_000_000, f"results/ holds {total / 1e6:.1f} MB; the largest: {sizes[:5]}"


# --- the answers on the committed results: every check holds, every verdict follows its parts --


@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_every_answer_renders_on_the_committed_results_with_every_check_holding(problem):
    """Rendering is strict: a claim that does not hold raises ClaimFailed naming it."""
    from genlab.course.report.claims import render
    from genlab.course.report.values import numbers

    text, checks = render(problem, numbers(RESULTS))
    assert checks and all(c.holds for c in checks), problem
    assert text.startswith(("**", "The ")), text[:80]


def test_every_setting_an_answer_compares_has_three_seeds():
    """No headline, "best" or verdict rests on one seed: every setting a check names (all of
    them are read from the committed runs) has at least three finished seeds."""
    from genlab.course.report.claims import MIN_SEEDS, Checker, template
    from genlab.course.report.values import numbers

    found = numbers(RESULTS)
    for problem in PROBLEMS:
        checker = Checker(found, strict=True, where=problem)
        template(problem).render(**checker.context())
        compared = {s for s, stat in checker.cited if stat not in SEED_1_ONLY}
        thin = {
            s: found[s][stat].seeds
            for s, stat in checker.cited
            if stat not in SEED_1_ONLY and found[s][stat].seeds < MIN_SEEDS
        }
        assert compared and not thin, (problem, thin)


# 5.6 measures these on seed 1 (its samples, its sample grid)
SEED_1_ONLY = {
    "background_dark",
    "neighbour_difference",
    "grid_background_dark",
    "grid_neighbour_difference",
}


def test_the_write_up_verdicts_on_the_committed_results_follow_their_parts():
    from genlab.course.report.values import numbers
    from genlab.course.report.writeup import AGREE, CANNOT_TELL, DISAGREE, PARTLY, judged

    found = numbers(RESULTS)
    judgements = [j for p in PROBLEMS for j in judged(p, found)]

    def verdict(start: str) -> str:
        return next(j.verdict for j in judgements if j.claim.says.startswith(start))

    assert not [j for j in judgements if j.note.startswith("Not measured")]
    # the ones a grader disputed: each judged on what it says
    assert verdict("We can see that when batch size = 64") == PARTLY  # shoes yes, similar no
    # by the excess loss, which discounts grey area, bags and a shoe class are among the worst
    assert verdict("The bags and shoes") == AGREE
    # shirts and dresses: 24-30%, above the 20% of an even spread, below "over" (30%) and most
    assert verdict("GAN equal LR - We see pixelated") == DISAGREE
    # with 5 seeds each, equal rates and discriminator faster overlap: neither is the best
    assert verdict("[GAN equal LR] seems to be the most optimal") == CANNOT_TELL
    assert verdict("CGAN - We see very fuzzy") == AGREE  # "fuzzy", "less clear": one rule
    # like for like, samples against samples: the VAE's and the GAN's overlap
    assert verdict("The images reconstructed from the VAE") == CANNOT_TELL
    # every part tested: the GAN nearer than the VAE cannot be told; the cGAN parts hold
    assert verdict("If one is trying to get new clothing ideas") == PARTLY


def committed_evaluations() -> list[tuple[str, dict]]:
    """(run folder, its recorded evaluation) of every committed run that has one."""
    found = []
    for path in sorted(RESULTS.glob("*/**/metrics.json")):
        record = json.loads(path.read_text()).get("evaluation")
        if record:
            found.append((str(path.parent.relative_to(RESULTS)), record))
    return found


def test_every_committed_run_was_measured_with_the_shipped_classifier():
    """Distances from different classifiers are not comparable: one set of weights for all."""
    import torch

    from genlab.evaluate.classifier import SHIPPED

    evaluations = committed_evaluations()
    assert {run.split("/")[0] for run, _ in evaluations} == {"4.2", "4.3", "5.3", "5.5"}
    for run, record in evaluations:
        shipped = SHIPPED / record["classifier_file"]
        assert shipped.exists(), f"{run}: measured with {record['classifier_file']}, not shipped"
        accuracy = torch.load(shipped, weights_only=True)["record"]["test_accuracy"]
        assert record["classifier_test_accuracy"] == accuracy, run


@pytest.mark.slow
def test_the_reference_distances_of_every_committed_run_are_the_shipped_classifiers():
    """The reference distances depend on the classifier alone: a fingerprint of its weights
    (to 1e-6: another CPU or thread count sums in another order, which moves the 8th digit)."""
    from genlab.evaluate import reference_distances

    for run, record in committed_evaluations():
        for kind in ("samples", "reconstructions"):
            if kind in record:
                refs = record[kind]["reference_distances"]
                now = reference_distances(record["dataset"], refs["n_train"], "cpu")
                for key in ("train_vs_test", "noise_vs_test"):
                    assert now[key] == pytest.approx(refs[key], rel=1e-6), (run, kind, key)


def test_every_committed_run_is_this_codes_result():
    """A run trained by other code is never shown as this code's (genlab.provenance): each
    committed run records the current code, trained with it or restamped."""
    from genlab.provenance import stale_reason

    runs = sorted(RESULTS.glob("*/**/metrics.json"))
    assert {p.relative_to(RESULTS).parts[0] for p in runs} == {"4.2", "4.3", "5.3", "5.5"}
    for path in runs:
        metrics = json.loads(path.read_text())
        reason = stale_reason(metrics.get("code"), metrics["config"]["model"])
        assert reason is None, f"{path.parent.relative_to(RESULTS)}: {reason}; restamp or retrain"
