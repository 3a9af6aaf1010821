"""The GAN notebooks (5.3, 5.5): kept without outputs, and executed by papermill on tiny runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from notebook_utils import NOTEBOOKS, clean_notebook, execute, outputs

GAN, CGAN = "5.3_gan_fashion_mnist.ipynb", "5.5_cgan_fashion_mnist.ipynb"
TINY = dict(
    train_limit=256, batch_size=64, device="cpu", progress=False, overrides={"eval_samples": 0}
)


pytestmark = pytest.mark.usefixtures("one_thread_kernels")


@pytest.mark.parametrize("name", [GAN, CGAN])
def test_committed_without_outputs_and_with_one_parameters_cell(name):
    nb, tagged = clean_notebook(NOTEBOOKS / name)
    code = [c for c in nb.cells if c.cell_type == "code"]
    source = "\n".join(c.source for c in code)
    assert "from genlab" in source and "nn." not in source and "import torch" not in source
    for parameter in (
        "lr_g",
        "lr_d",
        "g_steps",
        "epochs",
        "batch_size",
        "seed",
        "train_limit",
        "no_cuda",
        "device",
        "run_dir",
        "progress",
    ):
        assert f"\n{parameter} = " in tagged.source, parameter
    assert nb.cells[0].cell_type == "markdown" and "glossary_markdown(" in nb.cells[-1].source


def run(name: str, tmp_path: Path, **parameters) -> tuple[str, int]:
    """Run a notebook with papermill; return its text outputs and its number of PNG outputs."""
    nb = execute(name, tmp_path / name, **{**TINY, "run_dir": str(tmp_path / "run"), **parameters})
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            assert output.output_type != "error", output
    text = outputs(nb, "text") + outputs(nb, "text/markdown")
    return "\n".join(text), len(outputs(nb, "figures"))


@pytest.mark.slow
def test_the_gan_notebook_runs_and_shows_grids_curves_and_observations(tmp_path):
    text, pngs = run(GAN, tmp_path, epochs=3, lr_g=0.002, lr_d=0.0002)
    assert "status: complete" in text and "Status: **complete** after 3 of 3 epochs." in text
    assert "| D(G(z)) |" in text and "| `lr_g` | `0.002` |" in text  # this run's statistics
    # a setting no grid point has: the answer is the committed runs', its claims not re-judged
    assert "is not one of the settings the answer compares" in text
    # 3 epochs of 256 images: fewer images than one epoch of any committed run, not placed
    assert "Nothing committed is comparable: your run differs from every committed setting" in text
    assert "it saw 768 training images, fewer than one epoch of theirs" in text
    assert pngs == 3  # the grids of epochs 1, 2, 3 in one figure; loss and quality curves
    written = {p.name for p in (tmp_path / "run").iterdir()}
    assert {f"sample_{e}.png" for e in (1, 2, 3)} | {"quality_curves.png"} <= written


@pytest.mark.slow
def test_the_gan_notebook_reports_a_divergence_instead_of_crashing(tmp_path):
    text, pngs = run(GAN, tmp_path, epochs=2, lr_g=1e30, lr_d=1e30, g_steps=3)
    assert "status: diverged" in text and "diverged at epoch 1, batch" in text
    assert "Status: **diverged** after 0 of 2 epochs." in text  # no statistic to show
    assert pngs == 0


@pytest.mark.slow
def test_the_cgan_notebook_shows_the_labelled_grid(tmp_path):
    text, pngs = run(CGAN, tmp_path, epochs=1, overrides={"train_limit": 128, "eval_samples": 0})
    assert "status: complete" in text and "| generator loss |" in text
    assert "| `train_limit` | `128` |" in text and "| `conditional` | `True` |" in text
    assert pngs == 3  # the class-per-row grid of the last epoch; loss and quality curves
    assert (tmp_path / "run" / "sample_1.png").exists()
