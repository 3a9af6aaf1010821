"""A change to a model is a change to training, with no other edit (CPU; the GPU in test_gpu)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from genlab import GANConfig
from genlab.models import gan as gan_module
from genlab.models import vae as vae_module
from genlab.models.gan import Discriminator
from genlab.models.vae import VAE
from genlab.train.gan import GANTrainer, train_gan
from genlab.train.vae import train_vae

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_thread")]  # trains models
TINY = dict(train_limit=256, batch_size=64, eval_samples=0, quality_samples=0)


def count_forward_calls(module: nn.Module, calls: list[int]) -> None:
    module.register_forward_hook(lambda m, args, out: calls.append(len(args[0])))


class DeeperVAE(VAE):
    """The course's VAE with one more hidden layer in the encoder (a student's change)."""

    built: list[DeeperVAE] = []

    def __init__(self, latent_dim: int = 20, hidden_dim: int = 400, image_size: int = 784):
        super().__init__(latent_dim, hidden_dim, image_size)
        self.fc_extra = nn.Linear(hidden_dim, hidden_dim)
        self.initial_extra = self.fc_extra.weight.detach().clone()
        DeeperVAE.built.append(self)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = F.relu(self.fc_extra(F.relu(self.fc1(x))))
        return self.fc21(h), self.fc22(h)


class DropoutDiscriminator(Discriminator):
    """The discriminator with Dropout(0.4) and one more hidden layer (a student's change)."""

    built: list[DropoutDiscriminator] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        extra = nn.Linear(256, 256)
        self.net = nn.Sequential(
            *self.net[:-1], extra, nn.LeakyReLU(0.2), nn.Dropout(0.4), self.net[-1]
        )
        self.initial_extra = extra.weight.detach().clone()
        DropoutDiscriminator.built.append(self)


def check_changed_vae(tmp_path, monkeypatch, device: str) -> None:
    """Editing the model is all it takes: training runs whatever ``VAE`` now is."""
    monkeypatch.setattr(vae_module, "VAE", DeeperVAE)
    run = train_vae(
        run_dir=tmp_path / "vae",
        train_limit=2048,
        test_limit=256,
        epochs=2,
        eval_samples=0,
        progress=False,
        device=device,
    )
    model = DeeperVAE.built[-1]
    assert run.status == "complete"
    assert model.fc_extra.weight.grad is not None and model.fc_extra.weight.grad.abs().sum() > 0
    assert not torch.equal(model.fc_extra.weight.detach().cpu(), model.initial_extra.cpu())
    saved = torch.load(run.path / "checkpoint.pt", weights_only=True)["trainer"]["model"]
    assert "fc_extra.weight" in saved
    first, last = run.series("test_loss")
    assert last < first


def check_dropout_discriminator(tmp_path, monkeypatch, device: str) -> None:
    monkeypatch.setattr(gan_module, "Discriminator", DropoutDiscriminator)
    dropped: list[int] = []
    trainer = GANTrainer(GANConfig(device=device, **TINY), torch.device(device))
    D = DropoutDiscriminator.built[-1]
    assert trainer.D is D
    for m in D.modules():
        if isinstance(m, nn.Dropout):
            count_forward_calls(m, dropped)
    extra = D.net[-4]
    index = torch.arange(256, device=device).split(64)
    losses = [trainer.step(i)[1].item() for i in index]  # the CUDA graph too, where there is one
    assert dropped, "the Dropout layers ran"
    assert extra.weight.grad is not None
    assert not torch.equal(extra.weight.detach().cpu(), D.initial_extra.cpu())
    assert losses[-1] < losses[0]  # the discriminator learns to tell real from generated
    run = train_gan(run_dir=tmp_path / "gan", epochs=1, progress=False, device=device, **TINY)
    assert run.status == "complete" and run.metrics["device"] == device


def test_a_vae_with_one_more_layer_trains_on_the_cpu(tmp_path, monkeypatch):
    check_changed_vae(tmp_path, monkeypatch, "cpu")


def test_a_discriminator_with_dropout_trains_on_the_cpu(tmp_path, monkeypatch):
    check_dropout_discriminator(tmp_path, monkeypatch, "cpu")
