"""The answers' machinery: declared statistics, the checks of the claims, the rendering that
fails loudly, the write-up's verdicts and a student's run beside the answer.

Numbers here are built by hand where a rule is tested, and read from the committed results
where a page is rendered; nothing is trained.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import pytest

from genlab.course.grids import PROBLEMS
from genlab.course.report import glossary
from genlab.course.report.answers import answer_markdown, setting_of, writeup_table
from genlab.course.report.claims import Check, Checker, ClaimFailed, render
from genlab.course.report.stats import STATISTICS, Threshold
from genlab.course.report.values import Spread, numbers
from genlab.course.report.writeup import AGREE, CANNOT_TELL, DISAGREE, PARTLY, verdict
from genlab.health import HEALTH

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"


def spreads(**by_setting: tuple[float, ...]) -> dict[str, dict[str, Spread]]:
    return {name: {"distance": Spread(values)} for name, values in by_setting.items()}


# --- the rule -----------------------------------------------------------------------------------


def test_two_settings_differ_only_when_their_ranges_over_three_seeds_do_not_overlap():
    c = Checker(
        spreads(a=(10.0, 11.0, 12.0), b=(12.01, 13.0, 14.0), t=(12.0, 13.0, 14.0), one=(9.0,)),
        strict=False,
    )
    c.lower("distance", "a", "b")
    c.lower("distance", "a", "t")  # touching ranges overlap
    c.higher("distance", "b", "a")
    c.lower("distance", "one", "a")  # one seed: never apart, whatever its value
    c.same("distance", "a", "t")
    holds = [x.holds for x in c.checks]
    decided = [x.decided for x in c.checks]
    assert holds == [True, False, True, False, True]
    assert decided == [True, False, True, False, True]


def test_a_student_run_is_set_against_the_committed_ranges_with_one_seed_allowed():
    c = Checker(spreads(mine=(9.0,), a=(10.0, 11.0, 12.0)), strict=False, min_seeds=1)
    c.lower("distance", "mine", "a")
    assert c.checks[0].holds


def test_a_failing_claim_raises_naming_the_claim_and_its_numbers():
    c = Checker(spreads(a=(10.0, 11.0, 12.0), b=(11.5, 13.0, 14.0)), where="answer 9.9")
    with pytest.raises(
        ClaimFailed,
        match=r"answer 9.9: the claim \"a: lower distance than b\".*"
        r"11.0 \(10.0–12.0 over 3 seeds\)",
    ):
        c.lower("distance", "a", "b")


def test_a_misspelt_statistic_names_the_declared_ones():
    with pytest.raises(KeyError, match="declared: test_loss"):
        Checker(spreads(a=(1.0,))).n("a", "distanse")


@pytest.mark.parametrize(
    ("name", "word"), [(s.name, w) for s in STATISTICS.values() for w in s.thresholds]
)
def test_each_glossary_threshold_is_the_object_the_checks_compare_with(name, word, monkeypatch):
    """Moving a declared threshold moves both the glossary's words and the check's outcome:
    there is no second constant."""
    t = STATISTICS[name].thresholds[word]
    inside = t.value - 1 if t.sense == "below" else t.value + 1
    numbers_ = {"s": {name: Spread((inside,) * 3)}}
    assert Checker(numbers_, strict=False).word(name, "s", word) == ""
    moved = dataclasses.replace(t, value=inside + 1 if t.sense == "above" else inside - 1)
    thresholds = {**STATISTICS[name].thresholds, word: moved}
    declared = dataclasses.replace(STATISTICS[name], thresholds=thresholds)
    monkeypatch.setitem(STATISTICS, name, declared)
    c = Checker(numbers_, strict=False)
    c.word(name, "s", word)
    assert c.checks[0].holds is False
    assert moved.bound() in glossary.glossary_markdown() and t.bound() not in c.checks[0].claim


def test_a_threshold_word_is_undecided_when_the_seeds_straddle_it():
    c = Checker({"s": {"conditional_accuracy": Spread((0.4, 0.6, 0.7))}}, strict=False)
    c.word("conditional_accuracy", "s", "matching")
    assert not c.checks[0].holds and not c.checks[0].decided


def test_the_glossary_defines_every_statistic_each_answer_cites_on_its_page():
    for problem in PROBLEMS:
        text = glossary.glossary_markdown(problem)
        missing = [s for s in glossary.cited(problem) if f"**{STATISTICS[s].word}**" not in text]
        assert glossary.cited(problem) and not missing, (problem, missing)
    # and the compact form of a number, the rule, the prediction interval, the broken runs
    assert glossary.glossary_markdown().count("- **") == len(STATISTICS) + 3 + len(HEALTH)


# --- verdicts -----------------------------------------------------------------------------------


def check(holds: bool, decided: bool = True) -> Check:
    return Check("part", holds, "numbers", decided)


def test_a_verdict_follows_the_parts_of_its_claim():
    assert verdict([check(True), check(True)]) == AGREE
    assert verdict([check(False), check(False)]) == DISAGREE
    assert verdict([check(True), check(False)]) == PARTLY
    assert verdict([check(False, decided=False)]) == CANNOT_TELL
    assert verdict([check(True), check(False, decided=False)]) == PARTLY
    assert verdict([check(False), check(False, decided=False)]) == DISAGREE


def test_a_claim_whose_runs_are_missing_cannot_be_told_and_says_so(tmp_path: Path):
    table = writeup_table("5.3", tmp_path)  # an empty results folder
    rows = [r for r in table.splitlines() if r.startswith("| GAN")]
    assert rows and all("Not measured yet" in r and "**cannot tell**" in r for r in rows)


# --- rendering on a copy of the committed results -----------------------------------------------


@pytest.fixture(scope="module")
def copy(tmp_path_factory) -> Path:
    """The committed run records (metrics.json and the 5.6 table), without the images."""
    out = tmp_path_factory.mktemp("results")
    for path in [*RESULTS.glob("*/**/metrics.json"), *RESULTS.glob("5.6/**/comparison.json")]:
        target = out / path.relative_to(RESULTS)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    return out


def test_a_deliberately_broken_number_fails_the_answer_with_the_claims_name(copy: Path):
    broken = copy / "5.3" / "seeds" / "d_faster-seed2" / "metrics.json"
    original = broken.read_text()
    metrics = json.loads(original)
    for epoch in metrics["epochs"]:
        epoch["quality"]["frechet_distance"] = 40.0
    broken.write_text(json.dumps(metrics))
    try:
        with pytest.raises(ClaimFailed, match="discriminator faster: lower distance than gen"):
            answer_markdown("5.3", copy)
    finally:
        broken.write_text(original)
    assert answer_markdown("5.3", copy) == answer_markdown("5.3", RESULTS)


def test_a_students_run_gets_the_answers_checks_with_its_run_in_place(copy: Path, tmp_path):
    run = tmp_path / "runs" / "mine"
    shutil.copytree(copy / "5.3" / "seeds" / "equal_lr-seed2", run)
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["config"]["seed"] = 7
    (run / "metrics.json").write_text(json.dumps(metrics))
    text = answer_markdown("5.3", copy, current=run)
    assert "### Your run against the answer" in text and "with seed 7" in text
    assert "| claim | numbers | holds | with your run |" in text
    metrics["config"]["lr_d"] = 0.001  # no grid point has it
    (run / "metrics.json").write_text(json.dumps(metrics))
    assert "is not one of the settings the answer compares" in answer_markdown("5.3", copy, run)
    assert setting_of("5.3", metrics) is None
    committed = copy / "5.3" / "equal_lr"
    assert "Your run" not in answer_markdown("5.3", copy, current=committed)


SENTENCE_START = re.compile(r"(?:^|[.!?]\s+)(\*\*)?([a-z])", re.M)


@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_answers_read_as_written_text(problem):
    """No nested parentheses, every sentence starts with a capital, and short."""
    text, _ = render(problem, numbers(RESULTS))
    depth, deepest = 0, 0
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        deepest = max(deepest, depth)
    assert deepest <= 1, text
    assert not SENTENCE_START.findall(text.replace("e.g.", "")), SENTENCE_START.findall(text)
    words = len(re.sub(r"[*`]", "", text).split())
    assert words <= 180, words


def test_unknown_problem_names_the_accepted_ones():
    with pytest.raises(ValueError, match="accepted: 4.2, 4.3"):
        answer_markdown("4.4")


def test_a_threshold_says_its_side():
    t = Threshold("near 0", 0.1, "below")
    assert t.holds(0.05) and not t.holds(0.1) and t.bound() == "below 0.1"


# --- the statistics that read a class ------------------------------------------------------------


def test_the_excess_loss_floor_is_what_the_vae_loss_of_a_perfect_reconstruction_pays():
    """``reconstruction_floor`` is ``vae_loss`` itself on reconstructions equal to the images
    (a code at the prior: no KL), averaged per class over the real test images."""
    import torch

    from genlab.course.report.measures import reconstruction_floor
    from genlab.data import load, to_pixels
    from genlab.models.vae import vae_loss

    test = load("fashion-mnist", "test", limit=2000)
    x = to_pixels(test.images).flatten(1)
    zero = torch.zeros(1, 20)
    floor = reconstruction_floor("fashion-mnist", 2000)
    for c in range(10):
        images = x[test.labels == c].double()
        losses = [vae_loss(torch.logit(i, eps=1e-12)[None], i[None], zero, zero) for i in images]
        assert float(torch.stack(losses).mean()) == pytest.approx(floor[c], abs=1e-3)
    assert max(floor) > 2 * min(floor)  # grey area differs between classes: why it is left out


def test_class_ranks_name_the_weakest_row_and_the_worst_reconstructed_class():
    from genlab.course.report.measures import class_losses, weakest_row_rank, worst_rank

    accuracy = [0.9, 1.0, 0.6, 0.95, 0.8, 0.97, 0.7, 0.99, 0.98, 1.0]  # Pullover, Shirt, Coat
    m = {
        "config": {"model": "gan", "dataset": "fashion-mnist"},
        "evaluation": {"samples": {"conditional_accuracy_per_class": accuracy}},
    }
    assert weakest_row_rank("Pullover")(m) == 1.0
    assert weakest_row_rank("Sandal")(m) == 6.0  # 0.6, 0.7, 0.8, 0.9, 0.95, then 0.97
    assert weakest_row_rank("T-shirt/top", "Shirt")(m) == 2.0
    vae = json.loads((RESULTS / "4.3" / "bs128_ep10" / "metrics.json").read_text())
    excess = class_losses(vae)
    raw = dict(zip(excess, vae["epochs"][-1]["test_loss_per_class"], strict=True))
    assert all(0 < excess[c] < raw[c] for c in excess)
    assert worst_rank("Bag")(vae) == 1.0 + sorted(excess.values(), reverse=True).index(
        excess["Bag"]
    )


def test_the_readme_table_is_the_committed_results():
    from genlab.course.report.answers import README_MARKS, readme_with_table, results_table

    readme = (ROOT / "README.md").read_text()
    assert readme_with_table(readme, results_table()) == readme, (
        f"README.md's results table differs from the committed results; write it again: "
        f"python -m genlab.course.report.answers ({README_MARKS[0]})"
    )
