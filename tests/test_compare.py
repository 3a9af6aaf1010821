"""Problem 5.6: the answer builder (numbers in, claims whose direction follows them), the
reuse of run folders, a diverged run, and the notebook executed by papermill on tiny runs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from notebook_utils import clean_notebook, execute, outputs

from genlab.config import GANConfig, VAEConfig
from genlab.course import compare
from genlab.course.compare import Row, table_markdown
from genlab.course.executor import EXTRA_SEED_NOTEBOOK
from genlab.course.grids import CGAN_CHANGES, GAN_SETTINGS, PROBLEMS, QUICK_OVERRIDES
from genlab.course.planning import plan
from genlab.course.report.stats import STATISTICS
from genlab.runs import read_json, repo_root

NOTEBOOK = "5.6_vae_vs_gan.ipynb"
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


# --- the answer, from numbers ------------------------------------------------------------------


def uniform(top: int | None = None, share: float = 0.1) -> list[float]:
    if top is None:
        return [0.1] * 10
    rest = (1 - share) / 9
    return [share if i == top else rest for i in range(10)]


def make_rows(**changes: dict) -> list[Row]:
    """A plausible table; ``changes`` maps a row key (real, vae, recon, gan, g_faster,
    d_faster, g_steps3, cgan, noise) to the fields to replace."""
    common = dict(status="complete", epochs_done=10, epochs_planned=10, device="cpu", n=1000)
    rows = {
        "real": Row(
            "real images",
            setting="fashion-mnist training split",
            n=1000,
            frechet=2.5,
            classes_covered=10,
            kl=0.01,
            histogram=uniform(),
            background_mean=0.018,
            background_dark=0.964,
            neighbour_difference=0.078,
        ),
        "vae": Row(
            "VAE",
            run="4.3/bs128_ep10",
            train_seconds=60.0,
            frechet=40.0,
            classes_covered=8,
            kl=0.2,
            histogram=uniform(8, 0.3),
            background_mean=0.01,
            background_dark=0.99,
            neighbour_difference=0.04,
            **common,
        ),
        "recon": Row(
            "VAE reconstructions",
            run="4.3/bs128_ep10",
            train_seconds=60.0,
            frechet=15.0,
            classes_covered=10,
            kl=0.02,
            background_mean=0.01,
            background_dark=0.98,
            neighbour_difference=0.05,
            **common,
        ),
        "gan": Row(
            "GAN",
            run="5.3/equal_lr",
            train_seconds=240.0,
            frechet=20.0,
            classes_covered=4,
            kl=0.9,
            histogram=uniform(1, 0.4),
            background_mean=0.05,
            background_dark=0.80,
            neighbour_difference=0.09,
            **common,
        ),
        "g_faster": Row(
            "GAN",
            run="5.3/g_faster",
            train_seconds=240.0,
            frechet=90.0,
            classes_covered=2,
            kl=1.5,
            histogram=uniform(3, 0.6),
            **common,
        ),
        "d_faster": Row(
            "GAN",
            run="5.3/d_faster",
            train_seconds=240.0,
            frechet=70.0,
            classes_covered=3,
            kl=1.2,
            histogram=uniform(0, 0.5),
            **common,
        ),
        "g_steps3": Row(
            "GAN",
            run="5.3/g_steps3",
            train_seconds=600.0,
            frechet=50.0,
            classes_covered=5,
            kl=0.7,
            histogram=uniform(2, 0.4),
            **common,
        ),
        "cgan": Row(
            "cGAN",
            run="5.5/course",
            train_seconds=250.0,
            frechet=25.0,
            classes_covered=9,
            kl=0.05,
            histogram=uniform(),
            conditional_accuracy=0.72,
            background_mean=0.04,
            background_dark=0.85,
            neighbour_difference=0.095,
            **common,
        ),
        "noise": Row(
            "uniform noise",
            setting="pixels uniform in [0, 1]",
            n=1000,
            frechet=300.0,
            background_mean=0.5,
            background_dark=0.1,
            neighbour_difference=0.33,
        ),
    }
    for key, fields in changes.items():
        rows[key] = dataclasses.replace(rows[key], **fields)
    return list(rows.values())


def test_a_diverged_run_without_numbers_is_named_not_a_crash():
    diverged = dict(
        status="diverged (epoch 1, batch 3)",
        note="not evaluated: no epoch finished",
        epochs_done=0,
        train_seconds=0.0,
        frechet=None,
        classes_covered=None,
        kl=None,
        histogram=None,
        background_mean=None,
        background_dark=None,
        neighbour_difference=None,
        conditional_accuracy=None,
    )
    rows = make_rows(gan=diverged, cgan=diverged)
    table = table_markdown(rows)
    assert "diverged (epoch 1, batch 3); not evaluated: no epoch finished" in table
    compare.histogram_figure(rows)  # the bars of the rows that have a histogram


def test_the_table_writes_each_statistic_as_the_answers_and_the_glossary_do():
    """One format per statistic: the 5.6 table's cells are the declared statistics' own."""
    numbers = dict(
        frechet=12.3456,
        kl=0.12345,
        conditional_accuracy=0.85123,
        background_dark=0.94876,
        neighbour_difference=0.04812,
    )
    table = table_markdown(make_rows(cgan=numbers))
    cgan_row = next(line for line in table.splitlines() if "cGAN" in line and "12.3" in line)
    for field, name in [
        ("frechet", "sample_distance"),
        ("kl", "kl_from_uniform"),
        ("conditional_accuracy", "conditional_accuracy"),
        ("background_dark", "background_dark"),
        ("neighbour_difference", "neighbour_difference"),
    ]:
        assert f" {STATISTICS[name].format(numbers[field])} " in cgan_row, (name, cgan_row)
    assert " 0.123 " in cgan_row and " 0.12 " not in cgan_row  # the class spread to 3 places


# --- the runs -----------------------------------------------------------------------------------


def test_the_default_results_folder_and_the_sample_count(tmp_path):
    assert compare.results_root(None) == repo_root() / "results"
    assert compare.results_root(None, quick=True) == repo_root() / "results-quick"
    assert compare.results_root(tmp_path) == tmp_path.resolve()
    assert compare.sample_count(10000, quick=False) == 10000
    assert compare.sample_count(10000, quick=True) == compare.QUICK_EVAL_SAMPLES
    assert compare.sample_count(256, quick=True) == 256
    with pytest.raises(ValueError, match="at least 2"):
        compare.sample_count(1, quick=False)


def notebook_defaults(problem: str) -> dict:
    """The variables a problem's parameters cell defines, as papermill's kernel has them."""
    _, tagged = clean_notebook(NOTEBOOKS / PROBLEMS[problem].notebook)
    namespace: dict = {}
    exec(tagged.source, namespace)
    return namespace


@pytest.mark.parametrize("quick", [True, False])
def test_configs_are_the_grid_points_as_their_notebooks_build_them(tmp_path, quick):
    """What compare trains for a missing run is what ./run_all.sh's notebook would: the
    parameters cell, then the injected parameters, through Config.from_values."""
    for point in plan(tmp_path, ["4.3", "5.3", "5.5"], quick=quick):
        problem = PROBLEMS[point.problem]
        if point.source == EXTRA_SEED_NOTEBOOK:  # another seed: the point's config, its seed
            grid, seed = point.name.removeprefix("seeds/").rsplit("-seed", 1)
            assert problem.config(grid, quick).replace(seed=int(seed)) == point.config
            continue
        cls = type(problem.config(point.name))
        in_notebook = cls.from_values({**notebook_defaults(point.problem), **point.parameters})
        assert problem.config(point.name, quick) == in_notebook == point.config, point.label
    quick_vae = PROBLEMS["4.3"].config("bs128_ep10", quick=True)
    assert quick_vae == VAEConfig(
        dataset="fashion-mnist", batch_size=128, epochs=2, **QUICK_OVERRIDES["vae"]
    )
    assert PROBLEMS["5.5"].config("course") == GANConfig(conditional=True)
    cgan = PROBLEMS["5.5"].config("improved")
    assert cgan == GANConfig(conditional=True, **CGAN_CHANGES)
    seeds = [p.label for p in plan(tmp_path, ["5.5"], quick=quick) if "seeds/" in p.name]
    course = [f"5.5/seeds/course-seed{k}" for k in (2, 3, 4, 5)]  # a headline rests on it
    improved = [f"5.5/seeds/improved-seed{k}" for k in (2, 3)]
    assert seeds == ([] if quick else course + improved)


@pytest.mark.slow
@pytest.mark.usefixtures("one_thread", "one_thread_kernels")
def test_a_diverged_run_is_reused_and_reported_without_evaluation(tmp_path):
    from genlab.train.gan import train_gan

    grid = PROBLEMS["5.3"].config("d_faster", quick=True)
    run_dir = tmp_path / "5.3" / "d_faster"
    config = grid.replace(lr_g=1e30, lr_d=1e30, g_steps=3, epochs=1, train_limit=128)
    assert train_gan(config, run_dir=run_dir, progress=False).status == "diverged"
    before = (run_dir / "metrics.json").stat().st_mtime_ns
    source = compare.open_point("5.3", "d_faster", run_dir, grid, progress=False)
    assert source.action == "reused" and source.run.status == "diverged"
    assert "lr_g = 1e+30 (grid: 0.0002)" in source.note
    assert (run_dir / "metrics.json").stat().st_mtime_ns == before  # not retrained
    (row,) = compare.source_rows(source, n=64, device="cpu")
    assert row.status.startswith("diverged (epoch 1, batch") and row.frechet is None
    assert "not evaluated: no epoch finished" in row.note
    compare.comparison_figure([source], tmp_path / "comparison.png")
    assert (tmp_path / "comparison.png").exists()


def test_the_reconstructions_row_has_no_sample_grid_statistics(tmp_path):
    """The sample grid's statistics are the VAE samples' own: its reconstructions row leaves
    that column empty rather than repeat them."""
    from genlab.train.vae import train_vae

    grid = PROBLEMS["4.3"].config("bs128_ep10", quick=True)
    run_dir = tmp_path / "4.3" / "bs128_ep10"
    config = grid.replace(epochs=1, train_limit=128, test_limit=128)
    assert train_vae(config, run_dir=run_dir, progress=False).status == "complete"
    source = compare.open_point("4.3", "bs128_ep10", run_dir, grid, progress=False)
    samples, recons = compare.source_rows(source, n=64, device="cpu")
    assert recons.model == "VAE reconstructions" and samples.grid_neighbour_difference is not None
    assert recons.grid_neighbour_difference is None and recons.grid_background_dark is None
    row = next(
        line for line in table_markdown([samples, recons]).splitlines() if "reconstr" in line
    )
    assert row.rstrip().endswith("| – |"), row


# --- the notebook -------------------------------------------------------------------------------


def test_committed_without_outputs_and_with_one_parameters_cell():
    nb, tagged = clean_notebook(NOTEBOOKS / NOTEBOOK)
    for line in (
        "results_dir = None",
        "run_dir = None",
        "quick = False",
        "eval_samples = 10000",
        "no_cuda = False",
        "progress = True",
    ):
        assert f"\n{line}" in "\n" + tagged.source, line
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "from genlab" in source and "import torch" not in source
    assert compare.VAE_POINT in nb.cells[0].source  # says which VAE run and why


@pytest.mark.slow
@pytest.mark.usefixtures("one_thread", "one_thread_kernels")
def test_the_notebook_trains_what_is_missing_then_compares(tmp_path):
    out = tmp_path / "5.6" / "comparison"
    out.parent.mkdir()
    nb = execute(
        NOTEBOOK,
        tmp_path / "5.6" / "comparison.ipynb",
        results_dir=str(tmp_path),
        run_dir=str(out),
        quick=True,
        eval_samples=256,
        progress=False,
    )
    text = "\n".join(outputs(nb, "text"))
    markdown = "\n".join(outputs(nb, "text/markdown"))
    for label in [
        f"4.3/{compare.VAE_POINT}",
        *(f"5.3/{s}" for s in GAN_SETTINGS),
        f"5.5/{compare.CGAN_POINT}",
    ]:
        assert f"{label}" in text and (tmp_path / label / "metrics.json").exists()
        metrics = read_json(tmp_path / label / "metrics.json")
        assert metrics["status"] == "complete" and len(metrics["epochs"]) == 2
        assert metrics["config"]["train_limit"] == 512
        assert metrics["evaluation"]["n"] == 512  # the quick run's own, kept
        assert f"`{label}` (trained)" in markdown
    assert "| **VAE** |" in markdown and "| **cGAN** |" in markdown
    assert "| **real images** |" in markdown and "Fréchet distance" in markdown
    # the answer is the committed runs' (the quick runs are the table's), checks and all
    from genlab.course.report.answers import answer_markdown

    assert answer_markdown("5.6") in markdown and "#### The checks behind the answer" in markdown
    assert len(outputs(nb, "image/png")) == 2  # the side-by-side figure, the histograms
    assert (out / "comparison.png").exists() and (out / "class_histograms.png").exists()
    assert len(read_json(out / "comparison.json")) == 9  # 2 references, VAE x 2, GAN x 4, cGAN

    # run again: every run folder is reused as it is
    stamps = {p: p.stat().st_mtime_ns for p in tmp_path.glob("[45].*/*/checkpoint.pt")}
    assert len(stamps) == 6
    sources = compare.locate(tmp_path, quick=True, progress=False)
    assert [s.action for s in sources] == ["reused"] * 6
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items())

    # measuring writes nothing into the compared runs' folders (each problem writes only its
    # own); saved in 5.6's comparison.json, the rows come back in a clone without checkpoints
    records = {p: p.read_bytes() for p in tmp_path.glob("[45].*/*/metrics.json")}
    measured = compare.measure(sources, 512, "cpu")
    assert {p: p.read_bytes() for p in records} == records
    compare.save_rows(measured, out / "comparison.json")
    for path in stamps:
        path.unlink()
    assert compare.measure(sources, 512, "cpu", previous=out / "comparison.json") == measured
    rows = compare.measure(sources, 256, "cpu", previous=out / "comparison.json")
    assert all("no checkpoint" in r.note for r in rows if r.run)  # another sample count


def test_a_sample_grid_read_back_is_its_images_as_saved(tmp_path):
    """``grid_images`` cuts the 64 images out of a grid written by the training loops' own
    ``save_image``, at the 8 bits the PNG keeps; a labelled class grid is none."""
    from genlab.course.compare.pixels import as_saved, grid_images, grid_stats
    from genlab.course.report.measures import image_stats
    from genlab.data import load
    from genlab.images import save_image

    images = load("fashion-mnist", "test").pixels()[:64]
    save_image(images, tmp_path / "sample_1.png", nrow=8)
    back = grid_images(tmp_path / "sample_1.png")
    assert back.shape == (64, 1, 28, 28)
    assert torch.equal(back, as_saved(images))
    stats = grid_stats(back)
    assert (
        stats["grid_neighbour_difference"] == image_stats(as_saved(images))["neighbour_difference"]
    )
    assert grid_images(repo_root() / "results/5.5/improved/sample_40.png") is None  # labelled
