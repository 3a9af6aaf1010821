"""The VAE notebooks of problems 4.2 and 4.3, executed for real by papermill on tiny runs."""

from __future__ import annotations

import pytest
from notebook_utils import execute, outputs

from genlab import load_metrics

TINY = {"train_limit": 512, "test_limit": 128, "eval_samples": 0}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "dataset", "parameters"),
    [
        ("4.2_vae_mnist.ipynb", "mnist", {"epochs": 2, "progress": True}),
        (
            "4.3_vae_fashion_mnist.ipynb",
            "fashion-mnist",
            {"epochs": 2, "batch_size": 64, "progress": False},
        ),
    ],
)
def test_vae_notebook_executes_and_shows_its_results(tmp_path, name, dataset, parameters):
    run_dir = tmp_path / "run"
    nb = execute(name, tmp_path / name, run_dir=str(run_dir), overrides=TINY, **parameters)
    metrics = load_metrics(run_dir)
    assert metrics["status"] == "complete" and len(metrics["epochs"]) == 2
    assert metrics["config"]["dataset"] == dataset
    assert metrics["config"]["batch_size"] == parameters.get("batch_size", 128)
    assert len(outputs(nb, "figures")) == 3  # reconstructions, loss curves, samples
    text = "".join(outputs(nb, "text"))
    assert f"run folder: {run_dir}" in text and "status: complete" in text
    markdown = outputs(nb, "text/markdown")
    numbers = next(m for m in markdown if m.startswith("Status: **complete**"))
    assert f"| test loss | {metrics['epochs'][-1]['test_loss']:.2f} |" in numbers
    answer = next(m for m in markdown if m.startswith("**"))  # the committed runs' answer
    assert "### Your run" in answer and "is not one of the settings" in answer  # 2 epochs
    # 2 epochs of 512 images: fewer than one epoch of any committed run, so not placed
    placed = next(m for m in markdown if m.startswith("Nothing committed is comparable"))
    assert "in `train_limit`, `test_limit`" in placed and "it is not placed" in placed
    if parameters["progress"]:  # the bar and the epoch lines: one output, updated in place
        logs = [
            out
            for cell in nb.cells
            for out in cell.get("outputs", [])
            if "====> Epoch" in str(out) or "batch/s" in str(out)
        ]
        assert len(logs) == 1 and logs[0]["output_type"] == "display_data", logs
        log = logs[0]["data"]["text/plain"]
        assert log.count("====> Epoch") == 2 and f"VAE on {dataset}, seed 1: 100%" in log, log


@pytest.mark.slow
@pytest.mark.parametrize(
    ("parameter", "message"),
    [
        ({"batch_size": 0}, "batch_size=0: input should be greater than or equal to 1"),
        (
            {"batchsize": 64},
            "batchsize: did you mean 'batch_size'",
        ),  # never dropped for the default
    ],
)
def test_a_bad_parameter_fails_the_notebook_with_a_clear_error(tmp_path, parameter, message):
    import papermill

    with pytest.raises(papermill.PapermillExecutionError, match=message):
        execute(
            "4.2_vae_mnist.ipynb",
            tmp_path / "out.ipynb",
            run_dir=str(tmp_path / "run"),
            **parameter,
        )
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_a_parameter_that_is_no_field_is_refused_before_anything_is_written(tmp_path):
    """``learning_rate = 0.01`` would be dropped and lr 0.001 trained without a word."""
    import papermill

    run_dir = tmp_path / "run"
    with pytest.raises(papermill.PapermillExecutionError) as refused:
        execute(
            "4.2_vae_mnist.ipynb", tmp_path / "out.ipynb", run_dir=str(run_dir), learning_rate=0.01
        )
    assert refused.value.ename == "ConfigError"
    assert "learning_rate is not a vae parameter; accepted: " in refused.value.evalue
    assert ", lr, " in refused.value.evalue and not run_dir.exists()
