"""The GAN and cGAN: networks, losses, one batch, g_steps, divergence, resume, parameters."""

from __future__ import annotations

import math

import pytest
import torch
from resume_utils import assert_same_results, ctrl_c_then_resume

from genlab import ConfigError, GANConfig
from genlab.course.report.values import run_values
from genlab.data import FASHION_CLASSES
from genlab.models.gan import Discriminator, Generator, discriminator_loss, generator_loss
from genlab.runs import load_metrics
from genlab.train.gan import GANTrainer, sample_epochs, train_gan

TINY = dict(train_limit=256, batch_size=64, device="cpu", eval_samples=0, quality_samples=0)
GAN_SERIES = ("generator_loss", "discriminator_loss", "d_real", "d_fake")
GAN_NETWORKS = ("generator", "discriminator", "generator_average")


pytestmark = pytest.mark.usefixtures("one_thread")


def test_shapes_of_both_networks():
    G, D = Generator(), Discriminator()
    images = G(torch.randn(5, 100))
    assert images.shape == (5, 1, 28, 28)
    assert -1 <= images.min() and images.max() <= 1  # tanh output
    assert D(images).shape == (5,) and D(images.flatten(1)).shape == (5,)
    # 100 -> 128 -> 256 -> 512 -> 1024 -> 784 with batch norm on the three hidden layers
    # after the first; 784 -> 512 -> 256 -> 1
    widths = [m.out_features for m in G.modules() if isinstance(m, torch.nn.Linear)]
    assert widths == [128, 256, 512, 1024, 784]
    assert [m.num_features for m in G.modules() if isinstance(m, torch.nn.BatchNorm1d)] == [
        256,
        512,
        1024,
    ]
    assert [m.out_features for m in D.modules() if isinstance(m, torch.nn.Linear)] == [
        512,
        256,
        1,
    ]
    assert all(m.negative_slope == 0.2 for m in G.modules() if isinstance(m, torch.nn.LeakyReLU))


def test_the_conditional_networks_take_the_label():
    G, D = Generator(100, num_classes=10, embed_dim=10), Discriminator(10, embed_dim=10)
    assert G.net[0].in_features == 110 and D.net[0].in_features == 784 + 10
    z, labels = torch.randn(4, 100), torch.tensor([0, 3, 7, 9])
    G.eval()
    images = G(z, labels)
    assert images.shape == (4, 1, 28, 28) and D(images, labels).shape == (4,)
    # the label changes the image for the same noise, and D's verdict for the same image
    other = G(z, torch.tensor([1, 4, 8, 0]))
    assert not torch.allclose(images, other)
    assert not torch.allclose(D(images, labels), D(images, torch.tensor([1, 4, 8, 0])))
    with pytest.raises(ValueError, match="labels"):
        G(z)
    with pytest.raises(ValueError, match="labels"):
        Generator()(z, labels)


def test_the_projection_discriminator_takes_the_label_in_its_last_layer():
    D = Discriminator(10, label_input="projection")
    assert D.net[0].in_features == 784 and D.projection.weight.shape == (10, 256)
    x, labels = torch.randn(4, 784), torch.tensor([0, 3, 7, 9])
    h = D.net[:-1](x)
    expected = D.net[-1](h).squeeze(1) + (D.projection(labels) * h).sum(1)
    torch.testing.assert_close(D(x, labels), expected)
    assert not torch.allclose(D(x, labels), D(x, torch.tensor([1, 4, 8, 0])))
    with pytest.raises(ValueError, match="labels"):
        D(x)
    with pytest.raises(ValueError, match="accepted: concat, projection"):
        Discriminator(10, label_input="sum")


def test_losses_from_logits_equal_the_tutorials_sigmoid_bce():
    torch.manual_seed(0)
    real, fake = torch.randn(6), torch.randn(6)
    bce = torch.nn.BCELoss()
    ones, zeros = torch.ones(6), torch.zeros(6)
    expected_d = (bce(torch.sigmoid(real), ones) + bce(torch.sigmoid(fake), zeros)) / 2
    got_d = discriminator_loss(real, fake)
    assert got_d.item() == pytest.approx(expected_d.item(), rel=1e-6)
    assert generator_loss(fake).item() == pytest.approx(
        bce(torch.sigmoid(fake), ones).item(), rel=1e-6
    )
    smoothed = (bce(torch.sigmoid(real), 0.9 * ones) + bce(torch.sigmoid(fake), zeros)) / 2
    assert discriminator_loss(real, fake, 0.9).item() == pytest.approx(smoothed.item(), rel=1e-6)
    # non-saturating: -log D(G(z)) at logit 0 is ln 2
    assert generator_loss(torch.zeros(3)).item() == pytest.approx(math.log(2))


def test_defaults():
    c = GANConfig()
    assert (c.lr_g, c.lr_d, c.g_steps, c.beta1, c.latent_dim) == (2e-4, 2e-4, 1, 0.5, 100)
    assert (c.batch_size, c.seed, c.dataset, c.conditional) == (64, 1, "fashion-mnist", False)
    assert c.epochs == 40  # read off the quality curves (GANConfig docstring)


@pytest.mark.parametrize(
    ("bad", "name"),
    [
        ({"lr_g": 0.0}, "lr_g"),
        ({"lr_d": -2e-4}, "lr_d"),
        ({"g_steps": 0}, "g_steps"),
        ({"batch_size": 0}, "batch_size"),
        ({"epochs": 0}, "epochs"),
        ({"latent_dim": 0}, "latent_dim"),
        ({"g_steps": 1.5}, "g_steps"),
        ({"dataset": "cifar10"}, "dataset"),
        ({"lr_g": "fast"}, "lr_g"),
    ],
)
def test_bad_parameters_fail_before_anything_is_written(tmp_path, bad, name):
    with pytest.raises(ConfigError, match=name):
        train_gan(run_dir=tmp_path / "run", **bad)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("conditional", [False, True])
def test_a_few_steps_change_both_networks(conditional):
    trainer = GANTrainer(GANConfig(conditional=conditional, **TINY), torch.device("cpu"))
    before = {k: v.clone() for k, v in trainer.state_dict()["generator"].items()}
    before_d = {k: v.clone() for k, v in trainer.state_dict()["discriminator"].items()}
    stats = torch.stack([trainer.train_step(torch.arange(i * 64, (i + 1) * 64)) for i in range(3)])
    after, after_d = trainer.G.state_dict(), trainer.D.state_dict()
    assert all(not torch.equal(before[k], after[k]) for k in before if k.endswith("weight"))
    assert all(not torch.equal(before_d[k], after_d[k]) for k in before_d)
    assert torch.isfinite(stats).all() and ((stats[:, 2:] > 0) & (stats[:, 2:] < 1)).all()
    if conditional:
        assert not torch.equal(
            before["condition.embedding.weight"], after["condition.embedding.weight"]
        )


def test_the_averaged_generator_moves_by_its_decay_and_makes_the_samples():
    trainer = GANTrainer(GANConfig(ema_decay=0.75, **TINY), torch.device("cpu"))
    start = [p.clone() for p in trainer.G.parameters()]
    averages = trainer.G_average.parameters()
    assert all(torch.equal(a, p) for a, p in zip(averages, start, strict=True))
    trainer.train_step(torch.arange(64))
    for average, initial, now in zip(
        trainer.G_average.parameters(), start, trainer.G.parameters(), strict=True
    ):
        torch.testing.assert_close(average, 0.75 * initial + 0.25 * now)
        assert not average.requires_grad
    for average, now in zip(trainer.G_average.buffers(), trainer.G.buffers(), strict=True):
        assert torch.equal(average, now)  # batch-norm statistics: copied, not averaged
    # the step leaves the discriminator trainable, and the samples come from the average
    assert all(p.requires_grad for p in trainer.D.parameters())
    assert trainer.sampler is trainer.G_average
    trainer.G_average.eval()
    expected = (trainer.G_average(trainer.fixed_z) + 1) / 2
    assert torch.equal(trainer.samples(), expected)
    assert GANTrainer(GANConfig(**TINY), torch.device("cpu")).G_average is None


def count_forward_calls(module: torch.nn.Module, calls: list[int]) -> None:
    module.register_forward_hook(lambda m, args, out: calls.append(len(args[0])))


def test_g_steps_three_updates_the_generator_three_times_per_discriminator_update():
    trainer = GANTrainer(GANConfig(g_steps=3, **TINY), torch.device("cpu"))
    g_forward: list[int] = []
    d_forward: list[int] = []
    count_forward_calls(trainer.G, g_forward)
    count_forward_calls(trainer.D, d_forward)
    for i in range(2):
        trainer.train_step(torch.arange(i * 64, (i + 1) * 64))

    def steps(optimizer):
        return {int(s["step"]) for s in optimizer.state.values()}

    assert steps(trainer.opt_g) == {6} and steps(trainer.opt_d) == {2}
    # per batch: D on the real and the generated batch; then G three times (the first on the
    # batch D just saw, then fresh noise twice), each generated batch judged once by D
    assert g_forward == [64] * 6 and d_forward == [64] * 10


def test_with_g_steps_three_the_discriminator_still_learns_at_every_step():
    """5.3's 3-generator-steps run sits at D(x) = D(G(z)) = 1/2 (loss ln 2) for 40 epochs.
    That is the game, not a frozen discriminator: its weights change at every step, and its
    loss on a held-out batch responds to them."""
    torch.manual_seed(0)
    trainer = GANTrainer(GANConfig(g_steps=3, **TINY), torch.device("cpu"))
    held_out = trainer.train_x[-64:]
    z = torch.randn(64, trainer.config.latent_dim)

    def held_out_loss() -> float:
        with torch.no_grad():
            return float(discriminator_loss(trainer.D(held_out), trainer.D(trainer.G(z))))

    losses = [held_out_loss()]
    for i in range(3):  # batches 0-191; the held-out batch is 192-255
        before = [p.clone() for p in trainer.D.parameters()]
        trainer.train_step(torch.arange(i * 64, (i + 1) * 64))
        assert all(
            not torch.equal(b, p) for b, p in zip(before, trainer.D.parameters(), strict=True)
        )
        losses.append(held_out_loss())
    assert all(a != b for a, b in zip(losses, losses[1:], strict=False))
    assert max(losses) - min(losses) > 1e-3


@pytest.mark.slow
def test_run_folder_metrics_and_grids(tmp_path):
    run = train_gan(run_dir=tmp_path / "gan", epochs=2, progress=False, **TINY)
    assert run.status == "complete"
    metrics = load_metrics(run.path)
    assert metrics["device"] == "cpu" and metrics["config"]["lr_g"] == 2e-4
    for e in metrics["epochs"]:
        for key in (
            "generator_loss",
            "discriminator_loss",
            "d_real",
            "d_fake",
            "seconds",
            "images_per_second",
        ):
            assert math.isfinite(e[key]) and e[key] > 0, key
        assert 0 < e["d_real"] < 1 and 0 < e["d_fake"] < 1
    files = {p.name for p in run.path.iterdir()}
    assert {"sample_1.png", "sample_2.png", "checkpoint.pt"} <= files
    assert not {"loss_curves.png", "quality_curves.png"} & files  # drawn when shown
    assert not [f for f in files if f.endswith(".tmp")]
    assert sample_epochs(metrics) == [1, 2]
    values = run_values(metrics)
    assert {"generator_loss", "d_fake", "chance_gap", "adam_steps"} <= set(values)


def test_the_fixed_noise_gives_the_same_grid_each_time(tmp_path):
    trainer = GANTrainer(GANConfig(conditional=True, **TINY), torch.device("cpu"))
    first = trainer.samples()
    assert first.shape == (100, 1, 28, 28) and 0 <= first.min() and first.max() <= 1
    assert torch.equal(first, trainer.samples())
    # the same 10 noise vectors in every class row
    assert torch.equal(trainer.fixed_z[:10], trainer.fixed_z[90:])
    assert trainer.fixed_labels.tolist() == [c for c in range(10) for _ in range(10)]
    assert trainer.classes == FASHION_CLASSES


@pytest.mark.slow
def test_an_absurd_learning_rate_diverges_cleanly(tmp_path):
    run = train_gan(
        run_dir=tmp_path / "run", epochs=2, lr_g=1e30, lr_d=1e30, progress=False, **TINY
    )
    metrics = load_metrics(run.path)
    assert run.status == metrics["status"] == "diverged"
    d = metrics["diverged"]
    assert d["epoch"] == 1 and 1 <= d["batch"] <= 4
    assert not all(math.isfinite(v) for v in d["losses"].values())
    assert (run.path / "config.json").exists() and metrics["epochs"] == []
    assert run_values(metrics) == {}  # no epoch finished: no statistic to show


def test_a_finite_but_exploding_loss_ends_the_run_diverged(tmp_path):
    """lr = 1e6: losses of 1e19 and more, all finite. The run stops within two epochs."""
    run = train_gan(
        GANConfig(epochs=3, lr_g=1e6, lr_d=1e6, **TINY), run_dir=tmp_path / "run", progress=False
    )
    metrics = load_metrics(run.path)
    assert metrics["status"] == "diverged" and metrics["diverged"]["epoch"] <= 2
    assert "epoch mean loss above 10000" in metrics["diverged"]["reason"]
    assert all(math.isfinite(v) for v in metrics["diverged"]["losses"].values())


@pytest.mark.slow
def test_divergence_in_a_later_epoch_keeps_the_earlier_ones(tmp_path, monkeypatch):
    original = GANTrainer.train_step

    def nan_in_epoch_2_batch_3(self, index):
        stats = original(self, index)
        calls.append(1)
        if len(calls) == self.batches_per_epoch + 3:
            stats = stats.clone()
            stats[0] = float("nan")
        return stats

    calls: list[int] = []
    monkeypatch.setattr(GANTrainer, "train_step", nan_in_epoch_2_batch_3)
    run = train_gan(run_dir=tmp_path / "run", epochs=3, progress=False, **TINY)
    assert run.status == "diverged"
    assert run.metrics["diverged"]["epoch"] == 2 and run.metrics["diverged"]["batch"] == 3
    assert [e["epoch"] for e in run.metrics["epochs"]] == [1]
    assert (run.path / "sample_1.png").exists() and not (run.path / "sample_2.png").exists()
    # reopening a diverged run does not train it again: the divergence is its result
    trained = len(calls)
    again = train_gan(run_dir=tmp_path / "run", epochs=3, progress=False, **TINY)
    assert again.status == "diverged" and len(calls) == trained
    assert (again.metrics["diverged"]["epoch"], again.metrics["diverged"]["batch"]) == (2, 3)


@pytest.mark.slow
def test_ctrl_c_mid_epoch_then_resume_matches_an_uninterrupted_run(tmp_path, monkeypatch):
    config = dict(epochs=2, conditional=True, progress=False, **TINY)
    reference = train_gan(run_dir=tmp_path / "reference", **config)
    resumed = ctrl_c_then_resume(
        monkeypatch, train_gan, GANTrainer, tmp_path / "resumed", batch=2, **config
    )
    assert_same_results(reference.path, resumed.path, GAN_SERIES, GAN_NETWORKS)


@pytest.mark.slow
@pytest.mark.parametrize("ema_decay", [0.0, 0.9])
def test_resume_from_a_checkpoint_matches_an_uninterrupted_run(tmp_path, monkeypatch, ema_decay):
    config = dict(epochs=2, g_steps=2, progress=False, ema_decay=ema_decay, **TINY)
    reference = train_gan(run_dir=tmp_path / "reference", **config)
    resumed = ctrl_c_then_resume(monkeypatch, train_gan, GANTrainer, tmp_path / "resumed", **config)
    assert_same_results(reference.path, resumed.path, GAN_SERIES, GAN_NETWORKS)
    # a complete run is reused as it is
    before = (resumed.path / "metrics.json").read_text()
    assert train_gan(run_dir=tmp_path / "resumed", **config).status == "complete"
    assert (resumed.path / "metrics.json").read_text() == before
