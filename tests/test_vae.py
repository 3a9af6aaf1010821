"""The VAE, its loss, its training loop and the run folder it writes."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from resume_utils import assert_same_results, ctrl_c_then_resume, kill_inside_second_epoch
from threads import torch_threads

from genlab import ConfigError, RunConflictError, VAEConfig
from genlab.course.report.measures import class_losses, reconstruction_floor
from genlab.course.report.values import run_values
from genlab.data import load
from genlab.models.vae import VAE, vae_loss
from genlab.plots import run_curves
from genlab.runs import EPOCH_IMAGE, atomic_write, kept_epochs, load_metrics
from genlab.train.vae import VAETrainer, train_vae

pytestmark = pytest.mark.usefixtures("one_thread", "one_thread_kernels")

RESULTS = Path(__file__).resolve().parents[1] / "results"

TINY = dict(train_limit=1024, test_limit=256, batch_size=64, eval_samples=0)
VAE_SERIES = ("train_loss", "test_loss")


def test_shapes_of_the_model_and_its_samples():
    model = VAE()
    logits, mu, logvar = model(torch.rand(5, 1, 28, 28))
    assert logits.shape == (5, 784) and mu.shape == (5, 20) and logvar.shape == (5, 20)
    samples = model.decode(torch.randn(64, 20))
    assert samples.shape == (64, 784) and 0 <= samples.min() and samples.max() <= 1
    assert sum(p.numel() for p in model.parameters()) == 652_824  # as the classic example


def test_loss_on_a_hand_computed_case():
    # one image of two pixels, x = (1, 0), logits (0, 0): BCE = 2 ln 2
    # mu = (1,), logvar = (0,): KL = -1/2 (1 + 0 - 1 - 1) = 1/2
    loss = vae_loss(
        torch.zeros(1, 2), torch.tensor([[1.0, 0.0]]), torch.ones(1, 1), torch.zeros(1, 1)
    )
    assert loss.item() == pytest.approx(2 * math.log(2) + 0.5, abs=1e-6)


def test_loss_from_logits_equals_the_examples_sigmoid_bce():
    torch.manual_seed(0)
    logits, x = torch.randn(3, 784), torch.rand(3, 784)
    mu, logvar = torch.randn(3, 20), torch.randn(3, 20)
    classic = torch.nn.functional.binary_cross_entropy(torch.sigmoid(logits), x, reduction="sum")
    classic = classic - 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    assert vae_loss(logits, x, mu, logvar).item() == pytest.approx(classic.item(), rel=1e-5)


def test_defaults_are_the_courses():
    c = VAEConfig()
    assert (c.batch_size, c.epochs, c.seed, c.log_interval, c.no_cuda) == (128, 10, 1, 10, False)
    assert (c.lr, c.latent_dim, c.dataset) == (1e-3, 20, "mnist")


@pytest.mark.parametrize(
    ("bad", "name"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"epochs": 0}, "epochs"),
        ({"lr": 0.0}, "lr"),
        ({"lr": -1e-3}, "lr"),
        ({"dataset": "cifar10"}, "dataset"),
        ({"epochs": "ten"}, "epochs"),
        ({"device": "tpu"}, "device"),
    ],
)
def test_bad_parameters_fail_before_anything_is_written(tmp_path, bad, name):
    with pytest.raises(ConfigError, match=name):
        train_vae(run_dir=tmp_path / "run", **bad)
    assert not (tmp_path / "run").exists()


def test_unknown_parameter_lists_the_accepted_ones():
    with pytest.raises(ConfigError, match="batchsize.*accepted: batch_size"):
        VAEConfig.from_dict({"batchsize": 64})


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_cuda_where_none_exists_names_the_device(tmp_path):
    with pytest.raises(ValueError, match="'cuda'.*no CUDA GPU"):
        train_vae(run_dir=tmp_path / "run", device="cuda", **TINY)
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_short_training_improves_the_loss_and_writes_the_run_folder(tmp_path):
    run = train_vae(run_dir=tmp_path / "run", epochs=3, progress=False, **TINY)
    assert run.status == "complete"
    train, test = run.series("train_loss"), run.series("test_loss")
    assert train[-1] < train[0] - 20 and test[-1] < test[0] - 20
    files = {p.name for p in run.path.iterdir()}
    for epoch in (1, 2, 3):
        assert {f"reconstruction_{epoch}.png", f"sample_{epoch}.png"} <= files
    assert {"config.json", "metrics.json", "checkpoint.pt"} <= files
    assert not [f for f in files if f.endswith(".tmp")]
    # the curves are drawn from metrics.json when shown, not by training
    assert "loss_curves.png" not in files
    assert [p.name for p in run_curves(run)] == ["loss_curves.png"]
    metrics = load_metrics(run.path)
    assert metrics["device"] == "cpu" and metrics["config"]["batch_size"] == 64
    assert all(e["images_per_second"] > 0 and e["seconds"] > 0 for e in metrics["epochs"])


@pytest.mark.slow
def test_the_loss_per_class_averages_to_the_test_loss_and_the_statistics_read_it(tmp_path):
    run = train_vae(run_dir=tmp_path / "run", epochs=1, progress=False, **TINY)
    last = run.metrics["epochs"][-1]
    per = last["test_loss_per_class"]
    counts = torch.bincount(load("mnist", "test", limit=TINY["test_limit"]).labels, minlength=10)
    assert len(per) == 10 and all(counts)  # 256 test images hold every digit
    weighted = sum(n * v for n, v in zip(counts.tolist(), per, strict=True)) / counts.sum().item()
    assert weighted == pytest.approx(last["test_loss"], rel=1e-5)
    floor = reconstruction_floor("mnist", TINY["test_limit"])  # a perfect copy's loss
    excess = {f"digit {i}": v - floor[i] for i, v in enumerate(per)}
    assert class_losses(run.metrics) == pytest.approx(excess)
    values = run_values(run.metrics)
    assert values["test_loss"] == last["test_loss"] and values["adam_steps"] == -(
        -TINY["train_limit"] // TINY["batch_size"]
    )  # one epoch of Adam steps


@pytest.mark.slow
def test_a_complete_run_is_reused_and_a_different_one_refused(tmp_path):
    run = train_vae(run_dir=tmp_path / "run", epochs=1, progress=False, **TINY)
    before = (run.path / "metrics.json").read_text()
    again = train_vae(run_dir=tmp_path / "run", epochs=1, progress=False, log_interval=3, **TINY)
    assert again.status == "complete" and (run.path / "metrics.json").read_text() == before
    with pytest.raises(RunConflictError, match="epochs: 1 -> 2"):
        train_vae(run_dir=tmp_path / "run", epochs=2, progress=False, **TINY)
    assert (run.path / "metrics.json").read_text() == before


@pytest.mark.slow
def test_ctrl_c_then_resume_matches_an_uninterrupted_run(tmp_path, monkeypatch):
    config = dict(epochs=3, progress=False, **TINY)
    reference = train_vae(run_dir=tmp_path / "reference", **config)
    resumed = ctrl_c_then_resume(monkeypatch, train_vae, VAETrainer, tmp_path / "resumed", **config)
    assert_same_results(reference.path, resumed.path, VAE_SERIES, ["model"])


@pytest.mark.slow
def test_a_killed_process_resumes_to_the_same_figures(tmp_path):
    args = [
        "--epochs",
        "4",
        "--train-limit",
        "12000",
        "--test-limit",
        "500",
        "--eval-samples",
        "0",
        "--no-progress",
    ]
    cmd = [sys.executable, "-m", "genlab", "vae", *args]
    subprocess.run([*cmd, "--run-dir", str(tmp_path / "reference")], check=True)

    partial = kill_inside_second_epoch(cmd, tmp_path / "killed")
    assert partial["status"] == "running" and len(partial["epochs"]) < 4
    subprocess.run([*cmd, "--run-dir", str(tmp_path / "killed")], check=True)
    assert_same_results(tmp_path / "reference", tmp_path / "killed", VAE_SERIES, ["model"])


def test_an_interrupted_write_leaves_the_old_file_and_no_partial_one(tmp_path):
    target = tmp_path / "metrics.json"
    target.write_text("old")

    def write_half_then_die(f):
        f.write(b"half of the new")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, write_half_then_die)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]
    atomic_write(target, lambda f: f.write(b"new"))
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o044 == 0o044  # readable by others, like any result file


@pytest.mark.slow
def test_mnist_default_parameters_reach_the_classic_examples_loss(tmp_path):
    """The course's defaults on the full MNIST, on the CPU. The committed 4.2 run is their ten
    epochs, made by this code (``test_committed_results`` checks its fingerprint): it ends at or
    below the classic example's test loss of 106. One epoch trained here, with the run's number
    of threads, starts where it started, to within the last digits that another CPU moves (3e-4
    seen)."""
    committed = json.loads((RESULTS / "4.2" / "default" / "metrics.json").read_text())
    assert committed["config"]["epochs"] == 10 and committed["epochs"][-1]["test_loss"] <= 106.0
    with torch_threads(committed["threads"]):  # the sums' order, and so their last digits
        run = train_vae(
            run_dir=tmp_path / "run", device="cpu", progress=False, eval_samples=0, epochs=1
        )
    first = committed["epochs"][0]["test_loss"]
    assert run.series("test_loss")[0] == pytest.approx(first, abs=0.01)


@pytest.mark.slow
def test_a_long_run_keeps_the_images_and_log_lines_of_a_few_epochs(tmp_path, capfd):
    assert kept_epochs(300) == {1, 2, 4, 8, 16, 32, 64, 128, 151, 256, 300}
    assert kept_epochs(40) == {1, 2, 4, 8, 16, 21, 32, 40} and kept_epochs(7) == set(range(1, 8))
    run = train_vae(
        run_dir=tmp_path / "run",
        epochs=40,
        progress=True,
        **{**TINY, "train_limit": 128, "test_limit": 64},
    )
    images = {p.name for p in run.path.glob("*.png") if EPOCH_IMAGE.match(p.name)}
    kept = kept_epochs(40)
    assert images == {f"{kind}_{e}.png" for kind in ("sample", "reconstruction") for e in kept}
    assert len(run.metrics["epochs"]) == 40  # the records of every epoch stay
    printed = capfd.readouterr()
    lines = (printed.out + printed.err).strip().split("\n")  # a "\r" redraws its line
    epoch_lines = [line for line in lines if "====> Epoch" in line]
    assert len(epoch_lines) == len(kept) and len(lines) <= 30, lines
