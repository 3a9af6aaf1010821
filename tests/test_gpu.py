"""The CUDA path: training on the GPU, the CUDA graph, resume there. Skipped where no GPU exists."""

from __future__ import annotations

import pytest
import torch
from resume_utils import ctrl_c_then_resume
from test_changed_models import check_changed_vae, check_dropout_discriminator

from genlab import GANConfig, VAEConfig
from genlab.device import resolve_device
from genlab.train.cuda_graph import CUDAGraphStep
from genlab.train.gan import GANTrainer, train_gan
from genlab.train.progress import Progress
from genlab.train.vae import VAETrainer, train_vae

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.slow,  # trains models
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]
TINY_VAE = dict(train_limit=2048 + 100, test_limit=512, epochs=2, eval_samples=0, progress=False)


def test_auto_picks_the_gpu_unless_no_cuda():
    assert resolve_device("auto").type == "cuda"
    assert resolve_device("auto", no_cuda=True).type == "cpu"


def test_the_vae_step_is_captured_once_and_agrees_with_eager_and_the_cpu(tmp_path):
    graphed = train_vae(run_dir=tmp_path / "graph", **TINY_VAE)
    eager = train_vae(run_dir=tmp_path / "eager", cuda_graph="off", **TINY_VAE)
    cpu = train_vae(run_dir=tmp_path / "cpu", no_cuda=True, **TINY_VAE)
    assert graphed.metrics["device"] == eager.metrics["device"] == "cuda"
    assert cpu.metrics["device"] == "cpu"
    # same seed, same data order: the three agree up to floating-point differences
    for run in (eager, cpu):
        assert graphed.series("test_loss")[-1] == pytest.approx(
            run.series("test_loss")[-1], rel=0.02
        )


def test_the_graph_replays_full_batches_and_runs_the_last_one_eagerly():
    config = VAEConfig(train_limit=64 * 5 + 10, batch_size=64, test_limit=100, eval_samples=0)
    trainer = VAETrainer(config, torch.device("cuda"))
    assert isinstance(trainer.step, CUDAGraphStep)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    for epoch in (1, 2):
        record = trainer.train_epoch(epoch, Progress(6, 0, 10, False, "test"))
        assert torch.isfinite(torch.tensor(record["train_loss"]))
    graph = trainer.step.graph
    assert graph is not None and trainer.step.static_input.shape == (64,)
    # the graph updates the model's own parameters in place
    after = trainer.model.state_dict()
    assert all(not torch.equal(before[k], after[k]) for k in before)
    trainer.train_epoch(3, Progress(6, 0, 10, False, "test"))
    assert trainer.step.graph is graph  # never captured again


def test_gan_and_cgan_train_on_the_gpu_with_the_graph(tmp_path):
    for conditional in (False, True):
        run = train_gan(
            run_dir=tmp_path / f"gan{conditional}",
            conditional=conditional,
            train_limit=1024,
            epochs=2,
            eval_samples=256,
            progress=False,
        )
        assert run.metrics["device"] == "cuda" and run.status == "complete"
        assert run.metrics["evaluation"]["samples"]["n"] == 256
        assert all(0 < e["d_real"] < 1 for e in run.metrics["epochs"])
    trainer = GANTrainer(GANConfig(train_limit=256, g_steps=3), torch.device("cuda"))
    trainer.train_epoch(1, Progress(4, 0, 100, False, "test"))
    assert trainer.step.graph is not None
    steps = {int(s["step"]) for s in trainer.opt_g.state.values()}
    assert steps == {3 * 4}  # 3 generator updates per batch, inside the graph too


def test_an_interrupted_gpu_run_resumes_there(tmp_path, monkeypatch):
    reference = train_vae(run_dir=tmp_path / "reference", **TINY_VAE)
    resumed = ctrl_c_then_resume(
        monkeypatch, train_vae, VAETrainer, tmp_path / "resumed", **TINY_VAE
    )
    assert resumed.status == "complete"
    # within floating-point noise of the uninterrupted run (GPU kernels are not bit-exact)
    assert resumed.series("test_loss") == pytest.approx(reference.series("test_loss"), rel=1e-3)


def test_a_vae_with_one_more_layer_trains_on_the_gpu(tmp_path, monkeypatch):
    check_changed_vae(tmp_path, monkeypatch, "cuda")


def test_a_discriminator_with_dropout_trains_on_the_gpu(tmp_path, monkeypatch):
    check_dropout_discriminator(tmp_path, monkeypatch, "cuda")


def test_the_averaged_generator_is_updated_inside_the_graph(tmp_path):
    config = GANConfig(
        conditional=True,
        ema_decay=0.9,
        train_limit=1024,
        epochs=1,
        eval_samples=0,
        quality_samples=0,
        cuda_graph="on",
    )
    trainer = GANTrainer(config, torch.device("cuda"))
    start = [p.clone() for p in trainer.G_average.parameters()]
    trainer.train_epoch(1, Progress(16, 0, 10, False, "test"))
    assert isinstance(trainer.step, CUDAGraphStep) and trainer.step.graph is not None
    for average, initial, now in zip(
        trainer.G_average.parameters(), start, trainer.G.parameters(), strict=True
    ):
        assert torch.isfinite(average).all()
        assert not torch.equal(average, initial) and not torch.equal(average, now)
    assert all(p.requires_grad for p in trainer.D.parameters())
