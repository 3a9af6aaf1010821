"""The hand-written training passes against autograd, and LeanAdam against torch's Adam."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from genlab.models.gan import IMAGE_SIZE, Discriminator, Generator
from genlab.models.vae import VAE, vae_loss
from genlab.train.backprop import MLPPass
from genlab.train.optim import LeanAdam
from genlab.train.vae_step import VAEStep


@pytest.mark.parametrize("n", [128, 37])  # a full batch, and a smaller last batch
def test_vae_step_gives_autograds_loss_and_gradients(n):
    torch.manual_seed(0)
    model = VAE()
    reference = copy.deepcopy(model)
    x = torch.rand(n, 784)
    step = VAEStep(model)
    step(torch.rand(128, 784))  # buffers sized for another batch first
    torch.manual_seed(5)
    loss = step(x)
    torch.manual_seed(5)  # the same reparameterisation noise
    logits, mu, logvar = reference(x)
    expected = vae_loss(logits, x, mu, logvar)
    expected.backward()
    torch.testing.assert_close(loss, expected.detach())
    for (name, p), q in zip(model.named_parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, msg=lambda m, name=name: f"{name}: {m}")


def _autograd(model: nn.Module, x: torch.Tensor, labels, grad: torch.Tensor):
    """The output of one forward pass and d (output . grad) / d x, parameters' too."""
    x = x.clone().requires_grad_(True)
    out = model(x, labels).reshape(len(x), -1)
    (out * grad.reshape(out.shape)).sum().backward()
    return out.detach(), x.grad


@pytest.mark.parametrize("conditional", [False, True])
def test_generator_pass_gives_autograds_output_gradients_and_running_statistics(conditional):
    torch.manual_seed(0)
    classes = 10 if conditional else 0
    model = Generator(100, classes)
    reference = copy.deepcopy(model)
    z = torch.randn(64, 100)
    labels = torch.randint(10, (64,)) if conditional else None
    grad = torch.randn(64, IMAGE_SIZE)
    network = MLPPass(model)
    out = network.forward(z, labels)
    network.backward(grad)
    expected, _ = _autograd(reference, z, labels, grad)
    torch.testing.assert_close(out, expected)
    for (name, p), q in zip(model.named_parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, msg=lambda m, name=name: f"{name}: {m}")
    for name, buffer in model.named_buffers():  # running mean/var, batches tracked
        torch.testing.assert_close(buffer, reference.get_buffer(name))


@pytest.mark.parametrize("conditional", [False, True])
def test_discriminator_pass_gives_autograds_gradients_for_chosen_rows_and_columns(conditional):
    torch.manual_seed(0)
    classes = 10 if conditional else 0
    model = Discriminator(classes)
    reference = copy.deepcopy(model)
    x = torch.rand(128, IMAGE_SIZE) * 2 - 1
    labels = torch.randint(10, (128,)) if conditional else None
    grad = torch.randn(128, 1)
    network = MLPPass(model)
    out = network.forward(x, labels)
    # all rows, weights' gradients written
    assert network.backward(grad) is None
    expected, _ = _autograd(reference, x, labels, grad)
    torch.testing.assert_close(out, expected)
    for (name, p), q in zip(model.named_parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, msg=lambda m, name=name: f"{name}: {m}")
    # the last 64 rows only, input gradient of the image columns, weights left alone
    kept = [p.grad.clone() for p in model.parameters()]
    got = network.backward(grad[64:], weights=False, input_columns=slice(0, IMAGE_SIZE),
                           rows=slice(64, None))  # fmt: skip
    _, want = _autograd(reference, x, labels, torch.cat([torch.zeros(64, 1), grad[64:]]))
    torch.testing.assert_close(got, want[64:])
    assert all(torch.equal(p.grad, k) for p, k in zip(model.parameters(), kept, strict=True))


def test_mlp_pass_refuses_what_it_cannot_run():
    with pytest.raises(TypeError, match="Dropout"):
        model = Discriminator()
        model.net.insert(1, nn.Dropout(0.3))
        MLPPass(model)
    network = MLPPass(Generator())
    network.forward(torch.randn(8, 100))
    with pytest.raises(ValueError, match="batch norm"):
        network.backward(torch.randn(4, IMAGE_SIZE), rows=slice(4, None))


def _train(optimizer_class, model: nn.Module, grads: list[list[torch.Tensor]], **kwargs):
    optimizer = optimizer_class(model.parameters(), lr=1e-2, betas=(0.5, 0.999), **kwargs)
    for step_grads in grads:
        for p, g in zip(model.parameters(), step_grads, strict=True):
            p.grad = g.clone()
        optimizer.step()
    return optimizer


def test_lean_adam_is_bit_identical_to_torchs_fused_adam_and_shares_its_checkpoints():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 30), nn.ReLU(), nn.Linear(30, 5))
    reference = copy.deepcopy(model)
    grads = [[torch.randn_like(p) for p in model.parameters()] for _ in range(6)]
    lean = _train(LeanAdam, model, grads[:3])
    torch_adam = _train(torch.optim.Adam, reference, grads[:3], fused=True)
    for p, q in zip(model.parameters(), reference.parameters(), strict=True):
        assert torch.equal(p, q)
    # a checkpoint of either loads into the other, and they go on in step
    resumed = LeanAdam(model.parameters(), lr=1e-2, betas=(0.5, 0.999))
    resumed.load_state_dict(torch_adam.state_dict())
    reloaded = torch.optim.Adam(reference.parameters(), lr=1e-2, betas=(0.5, 0.999), fused=True)
    reloaded.load_state_dict(lean.state_dict())
    for step_grads in grads[3:]:
        for optimizer, network in ((resumed, model), (reloaded, reference)):
            for p, g in zip(network.parameters(), step_grads, strict=True):
                p.grad = g.clone()
            optimizer.step()
    for p, q in zip(model.parameters(), reference.parameters(), strict=True):
        assert torch.equal(p, q)
    for a, b in zip(resumed.state.values(), reloaded.state.values(), strict=True):
        assert all(torch.equal(a[k], b[k]) for k in ("step", "exp_avg", "exp_avg_sq"))
    assert float(next(iter(resumed.state.values()))["step"]) == 6
