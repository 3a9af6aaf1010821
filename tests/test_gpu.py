"""The CUDA path (no_cuda=False really training on the GPU). Skipped where no GPU exists."""

from __future__ import annotations

import pytest
import torch

from genlab.device import resolve_device
from genlab.train.gan import train_gan
from genlab.train.vae import train_vae

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


def test_auto_picks_the_gpu_unless_no_cuda():
    assert resolve_device("auto").type == "cuda"
    assert resolve_device("auto", no_cuda=True).type == "cpu"


def test_vae_trains_on_the_gpu_and_resumes_there(tmp_path):
    tiny = dict(train_limit=2048, test_limit=512, epochs=2, eval_samples=0, progress=False)
    gpu = train_vae(run_dir=tmp_path / "gpu", **tiny)
    assert gpu.metrics["device"] == "cuda" and gpu.status == "complete"
    cpu = train_vae(run_dir=tmp_path / "cpu", no_cuda=True, **tiny)
    assert cpu.metrics["device"] == "cpu"
    # same seed, same data order: the two devices agree up to floating-point differences
    assert gpu.series("test_loss")[-1] == pytest.approx(cpu.series("test_loss")[-1], rel=0.02)


def test_gan_and_cgan_train_on_the_gpu(tmp_path):
    for conditional in (False, True):
        run = train_gan(run_dir=tmp_path / f"gan{conditional}", conditional=conditional,
                        train_limit=1024, epochs=1, eval_samples=256, progress=False)  # fmt: skip
        assert run.metrics["device"] == "cuda" and run.status == "complete"
        assert run.metrics["evaluation"]["samples"]["n"] == 256
